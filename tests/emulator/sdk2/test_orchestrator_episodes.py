"""2.x orchestrators through the engine's own episode step: our history -> OrchestratorRequest,
durabletask's executor (the 2.x SDK's engine) runs the orchestrator, its OrchestratorResponse ->
the step's decision. Each test drives episodes as the engine would, feeding completions back."""

import json
from datetime import timedelta

from durabletask import task

from emulator.core.episode import step
from emulator.protocol import history as h
from emulator.protocol.entities import OperationResult, Request, response_input
from emulator.protocol.enums import EventType, RuntimeStatus, WorkKind
from emulator.worker.sdk2 import invoke_orchestrator

from .durabletask_functions import orchestrator_handler
from .episodes import NOW, Episodes


def chain(ctx: task.OrchestrationContext, name: str):
    first = yield ctx.call_activity("hello", input=name)
    second = yield ctx.call_activity("hello", input=first + "!")
    return [first, second]


def approval(ctx: task.OrchestrationContext, _):
    ctx.set_custom_status("waiting")
    answer = yield ctx.wait_for_external_event("approval")
    yield ctx.create_timer(ctx.current_utc_datetime + timedelta(seconds=5))
    return answer


def fails(ctx: task.OrchestrationContext, _):
    yield ctx.call_activity("hello", input="x")
    raise ValueError("boom")


def parent(ctx: task.OrchestrationContext, n: int):
    child = yield ctx.call_sub_orchestrator("child", input={"n": n}, instance_id="kid")
    if n < 2:
        ctx.continue_as_new(n + 1)
        return None
    return child


def counter_caller(ctx: task.OrchestrationContext, _):
    entity = task.EntityInstanceId("counter", "c1")
    ctx.signal_entity(entity, "add", 3)
    value = yield ctx.call_entity(entity, "get")
    return value


HANDLER = orchestrator_handler(chain, approval, fails, parent, counter_caller)


def episodes_of(name, input_text):
    return Episodes(HANDLER, "context", name, input_text)


def test_an_activity_chain_schedules_one_activity_per_episode_and_completes_with_the_output():
    run = episodes_of("chain", json.dumps("Tokyo"))
    first = run.episode()
    assert run.record.status == RuntimeStatus.Running
    [work] = first.new_work  # durabletask numbers its tasks from 1
    assert (work.kind, work.name, work.input) == (WorkKind.ACTIVITY, "hello", '"Tokyo"')
    scheduled = [e for e in first.new_events if e["EventType"] == EventType.TASK_SCHEDULED]
    assert scheduled[0]["EventId"] == work.seq and scheduled[0]["Name"] == "hello"

    second = run.episode(h.task_completed(run.now, work.seq, json.dumps("Hello Tokyo")))
    [then] = second.new_work
    assert (then.seq, then.input) == (work.seq + 1, '"Hello Tokyo!"')

    last = run.episode(h.task_completed(run.now, then.seq, json.dumps("Hello Hello Tokyo!")))
    assert last.completed and run.record.status == RuntimeStatus.Completed
    assert json.loads(run.record.output) == ["Hello Tokyo", "Hello Hello Tokyo!"]
    completed = [e for e in last.new_events if e["EventType"] == EventType.EXECUTION_COMPLETED]
    assert completed[0]["OrchestrationStatus"] == RuntimeStatus.Completed.code


def test_custom_status_an_external_event_and_a_timer():
    run = episodes_of("approval", None)
    first = run.episode()
    assert first.new_work == [] and json.loads(run.record.custom_status) == "waiting"

    second = run.episode(h.event_raised(run.now, "Approval", json.dumps({"ok": True})))
    assert [w.kind for w in second.new_work] == [WorkKind.TIMER]
    timer = second.new_work[0]
    assert timer.fire_at == run.now + timedelta(seconds=5)

    last = run.episode(h.timer_fired(run.now, timer.seq, h.format_ts(timer.fire_at)))
    assert last.completed and json.loads(run.record.output) == {"ok": True}


def test_an_orchestrator_exception_fails_the_instance_with_its_type_and_message():
    run = episodes_of("fails", None)
    [work] = run.episode().new_work
    last = run.episode(h.task_completed(run.now, work.seq, json.dumps("done")))
    assert last.completed and run.record.status == RuntimeStatus.Failed
    assert run.record.output == "builtins.ValueError: boom"  # DTFx FailureDetails.ToString()
    completed = [e for e in last.new_events if e["EventType"] == EventType.EXECUTION_COMPLETED]
    details = completed[0]["FailureDetails"]
    assert (details["ErrorType"], details["ErrorMessage"]) == ("builtins.ValueError", "boom")


def test_a_changed_orchestrator_is_non_deterministic_and_fails():
    run = episodes_of("chain", json.dumps("x"))
    [work] = run.episode().new_work
    for event in run.history:  # the stored history names another activity
        if event["EventType"] == EventType.TASK_SCHEDULED:
            event["Name"] = "goodbye"
    last = run.episode(h.task_completed(run.now, work.seq, json.dumps("y")))
    assert last.completed and run.record.status == RuntimeStatus.Failed
    assert "NonDeterminism" in run.record.output


def test_sub_orchestration_and_continue_as_new_keep_the_sdk_payload_text():
    run = episodes_of("parent", "0")
    first = run.episode()
    [child] = first.new_work
    assert (child.kind, child.name, child.instance_id) == (WorkKind.SUB_ORCHESTRATION, "child",
                                                           "kid")
    created = [e for e in first.new_events
               if e["EventType"] == EventType.SUB_ORCHESTRATION_CREATED]
    assert created[0]["Input"] == '{"n": 0}'  # the SDK's JSON text, not a JSON string of it

    second = run.episode(h.sub_orchestration_completed(run.now, child.seq, '"done"'))
    assert second.continued_as_new is not None
    assert second.continued_as_new["Input"] == "1"


def test_entity_signal_and_call_use_the_legacy_event_shapes_and_the_sdk_request_id():
    run = episodes_of("counter_caller", None)
    first = run.episode()
    signal, call = first.new_work
    assert (signal.kind, signal.signal, signal.name, signal.instance_id) == (
        WorkKind.ENTITY, True, "add", "@counter@c1")
    assert (call.signal, call.name) == (False, "get")
    sent = [e for e in first.new_events if e["EventType"] == EventType.EVENT_SENT]
    requests = [Request.from_json(e["Input"]) for e in sent]
    assert requests[0].input == "3"  # the operation input travels as the SDK's JSON text
    assert requests[1].id == call.request_id and requests[1].parent == "i1"

    response = h.event_raised(run.now, call.request_id, response_input(OperationResult("3")))
    last = run.episode(response)
    assert last.completed and json.loads(run.record.output) == 3


def test_an_entity_error_response_fails_the_call_in_the_orchestrator():
    run = episodes_of("counter_caller", None)
    first = run.episode()
    call = first.new_work[1]
    error = OperationResult(json.dumps("no such operation"), is_error=True)
    last = run.episode(h.event_raised(run.now, call.request_id, response_input(error)))
    assert last.completed and run.record.status == RuntimeStatus.Failed
    assert "no such operation" in run.record.output


def test_a_gone_function_fails_the_instance():
    run = episodes_of("chain", None)
    result = step(run.record, [], [], run.next, NOW,
                  invoke=lambda r, hist, texts: invoke_orchestrator(None, r, hist),
                  check_work=lambda work: None, clock_now=lambda: NOW)
    assert result.record.status == RuntimeStatus.Failed
    assert "no longer exists" in result.record.output


def test_an_answer_that_is_not_a_response_fails_the_instance():
    run = episodes_of("chain", None)
    result = step(run.record, [], [], run.next, NOW,
                  invoke=lambda r, hist, texts: invoke_orchestrator(
                      lambda value: {"not": "protobuf"}, r, hist),
                  check_work=lambda work: None, clock_now=lambda: NOW)
    assert result.record.status == RuntimeStatus.Failed
    assert "base64 protobuf response" in result.record.output


def _recorded_chain():
    run = episodes_of("chain", json.dumps("Tokyo"))
    [work] = run.episode().new_work
    [then] = run.episode(h.task_completed(run.now, work.seq, json.dumps("a"))).new_work
    run.episode(h.task_completed(run.now, then.seq, json.dumps("b")))
    assert run.record.status == RuntimeStatus.Completed
    return {"instance_id": "i1", "name": "chain", "execution_id": "e1"}, run.history


def test_the_replay_check_accepts_the_same_code_and_names_a_changed_step():
    from emulator.worker.replay_check import check_replay
    from emulator.worker.sdk2 import SdkGeneration

    record, history = _recorded_chain()
    ok, report = check_replay(HANDLER, record, history, sdk=SdkGeneration.V2)
    assert ok and "reproduces all 2 recorded steps" in report

    def chain(ctx: task.OrchestrationContext, name: str):  # today's code calls another activity
        first = yield ctx.call_activity("goodbye", input=name)
        return [first]

    ok, report = check_replay(orchestrator_handler(chain), record, history,
                              sdk=SdkGeneration.V2)
    assert not ok and report.startswith("NON-DETERMINISTIC") and "goodbye" in report

"""Each instance's request kept between episodes (``sdk2/history_cache.py``): every request
built with it equals the request built from scratch, whatever happened to the history in between
(appends, a rewind rewriting events in place, continue-as-new, a purge and a new instance with
the same id, a split point that moves back), and it converts only what is new."""

import asyncio
import base64
import json
from datetime import timedelta

import pytest
from durabletask import task

from emulator.core.rewind import rewind_history
from emulator.protocol import history as h
from emulator.protocol.enums import RuntimeStatus
from emulator.runtime.assembly import build_engine
from emulator.runtime.clock import make_clock
from emulator.runtime.engine import Limits
from emulator.store import MemoryStore
from emulator.worker import sdk2
from emulator.worker.index import ActivityFunction, FunctionIndex, OrchestratorFunction
from emulator.worker.invoke import activity_failure
from emulator.worker.sdk2.adapter import history_cache
from emulator.worker.sdk2.history_cache import ProtoHistoryCache
from emulator.worker.sdk2.messages import pb
from emulator.worker.sdk2.proto_history import (
    orchestrator_request,
    serialized_orchestrator_request,
    split_new_events,
)

from .durabletask_functions import orchestrator_handler
from .episodes import NOW


def _history(steps: int, execution_id: str = "e1", start=NOW) -> list[dict]:
    """A chain's stored history: started, then per step an episode scheduling one task and
    the completion of the previous one."""
    events = [h.orchestrator_started(start),
              h.execution_started(start, name="chain", instance_id="i1",
                                  execution_id=execution_id, input_json='"x"')]
    now = start
    for seq in range(steps):
        events.append(h.task_scheduled(now, seq, "hello", '["\\"x\\""]'))
        events.append(h.orchestrator_completed(now))
        now += timedelta(seconds=1)
        events.append(h.orchestrator_started(now))
        events.append(h.task_completed(now, seq, json.dumps(f"r{seq}")))
    return events


def _texts(history):
    return [json.dumps(e) for e in history]


def _request(cache, history, execution_id="e1", texts=None, instance_id="i1"):
    request = pb.OrchestratorRequest()
    request.ParseFromString(serialized_orchestrator_request(instance_id, execution_id, history,
                                                            cache=cache, texts=texts))
    return request


@pytest.mark.parametrize("with_texts", [True, False])
def test_appended_history_reuses_earlier_conversions_and_equals_a_fresh_request(with_texts):
    cache = ProtoHistoryCache()
    history = _history(1)
    texts = _texts(history) if with_texts else None
    assert _request(cache, history, texts=texts) == orchestrator_request("i1", "e1", history)
    assert cache.converted == len(history)
    for steps in range(2, 6):
        longer = _history(steps)
        texts = _texts(longer) if with_texts else None
        assert _request(cache, longer, texts=texts) == orchestrator_request("i1", "e1", longer)
        assert cache.converted == len(longer)  # each event converted once, in all
        history = longer


@pytest.mark.parametrize("with_texts", [True, False])
def test_a_rewind_rewriting_events_in_place_is_never_served_stale(with_texts):
    cache = ProtoHistoryCache()
    history = _history(2)
    history[-1] = h.task_failed(h.parse_ts(history[-1]["Timestamp"]), 1, "boom", "{}")
    history.append(h.execution_completed(h.parse_ts(history[-1]["Timestamp"]), 2,
                                         RuntimeStatus.Failed, None))
    _request(cache, history, texts=_texts(history) if with_texts else None)
    rewound = rewind_history(history).history  # same length, same ids and timestamps
    assert len(rewound) == len(history)
    rewound.append(h.orchestrator_started(NOW + timedelta(minutes=1)))
    texts = _texts(rewound) if with_texts else None
    request = _request(cache, rewound, texts=texts)
    assert request == orchestrator_request("i1", "e1", rewound)
    kinds = [e.WhichOneof("eventType") for e in request.pastEvents]
    assert "taskFailed" not in kinds and "executionCompleted" not in kinds
    assert kinds.count("taskScheduled") == 1  # the failed activity's schedule was cleared


def test_a_nested_value_changed_in_place_is_seen_without_texts():
    cache = ProtoHistoryCache()
    history = _history(1)
    _request(cache, history)
    history[1] = dict(history[1], OrchestrationInstance={"InstanceId": "i1",
                                                         "ExecutionId": "other"})
    assert _request(cache, history) == orchestrator_request("i1", "e1", history)


def test_continue_as_new_and_a_new_instance_with_the_same_id_after_purge_start_afresh():
    cache = ProtoHistoryCache()
    first = _history(3, "e1")
    _request(cache, first, "e1", _texts(first))
    # continue-as-new: a new execution id, a new history
    second = _history(1, "e2", NOW + timedelta(hours=1))
    assert _request(cache, second, "e2", _texts(second)) == \
        orchestrator_request("i1", "e2", second)
    # purged and started again with the same instance id and (adversarially) the same
    # execution id: other timestamps, other input
    third = _history(2, "e2", NOW + timedelta(days=1))
    third[1] = dict(third[1], Input='"y"')
    request = _request(cache, third, "e2", _texts(third))
    assert request == orchestrator_request("i1", "e2", third)
    assert request.pastEvents[1].executionStarted.input.value == '"y"'


def test_the_least_recently_used_instance_is_dropped_past_capacity_and_forget_drops_one():
    cache = ProtoHistoryCache(capacity=2)
    history = _history(1)
    for instance in ("a", "b", "a", "c"):
        _request(cache, history, instance_id=instance)
    assert len(cache) == 2
    before = cache.converted
    _request(cache, history, instance_id="b")  # dropped: converted again
    assert cache.converted == before + len(history)
    cache.forget("b")
    cache.forget("missing")
    assert len(cache) == 1
    with pytest.raises(ValueError):
        ProtoHistoryCache(capacity=0)


def test_a_request_handed_out_is_never_changed_by_later_requests():
    cache = ProtoHistoryCache()
    history = _history(2)
    first = serialized_orchestrator_request("i1", "e1", history, cache=cache)
    longer = _history(3)
    serialized_orchestrator_request("i1", "e1", longer, cache=cache)
    assert first == orchestrator_request("i1", "e1", history).SerializeToString()


@pytest.mark.parametrize("cut", [0, 3, 7])
def test_a_split_point_that_moves_back_or_a_shorter_history_is_served_exactly(cut):
    """The split between past and new events is where this episode begins: a history cut back
    (a rewind that dropped events, ``cut`` of them) with the same prefix still gets every event
    on the right side."""
    cache = ProtoHistoryCache()
    history = _history(4)
    texts = _texts(history)
    _request(cache, history, texts=texts)
    shorter = history[:len(history) - cut] if cut else history[:]
    shorter.append(h.orchestrator_started(NOW + timedelta(hours=2)))
    shorter.append(h.event_raised(NOW + timedelta(hours=2), "go", None))
    request = _request(cache, shorter, texts=_texts(shorter))
    assert request == orchestrator_request("i1", "e1", shorter)
    assert len(request.newEvents) == len(shorter) - split_new_events(shorter) == 2
    # and the cached request keeps its events when the new ones become past
    shorter.append(h.orchestrator_completed(NOW + timedelta(hours=2)))
    shorter.append(h.orchestrator_started(NOW + timedelta(hours=3)))
    assert _request(cache, shorter, texts=_texts(shorter)) == \
        orchestrator_request("i1", "e1", shorter)


def test_past_events_that_become_new_again_keep_their_order():
    """The same prefix, but the episode now begins before where the cached request's past ended
    (its last OrchestratorStarted was dropped): the cached past's tail moves to the new events."""
    cache = ProtoHistoryCache()
    history = _history(3)
    _request(cache, history, texts=_texts(history))
    changed = history[:-2] + [h.event_raised(NOW + timedelta(hours=1), "go", None)]
    request = _request(cache, changed, texts=_texts(changed))
    assert request == orchestrator_request("i1", "e1", changed)
    # OrchestratorStarted, TaskCompleted, TaskScheduled, OrchestratorCompleted, EventRaised
    assert len(request.newEvents) == 5
    assert cache.converted == len(history) + 1  # only the raised event was converted


# --- through the engine: rewind, continue-as-new, purge and restart with the same id ---------

ATTEMPTS: dict[str, int] = {}


def flaky(ctx: task.OrchestrationContext, key: str):
    first = yield ctx.call_activity("echo", input=key)
    second = yield ctx.call_activity("echo", input=f"fail-once:{key}")
    return [first, second]


def collect(ctx: task.OrchestrationContext, seen: list):
    if len(seen) == 2:
        return seen
    item = yield ctx.wait_for_external_event("item")
    ctx.continue_as_new(seen + [item], save_events=True)


class CheckingWorker:
    """A 2.x worker (durabletask's executor) giving ``invoke_orchestrator`` the stored texts,
    as the engine does, and checking every request against one built from scratch."""

    def __init__(self) -> None:
        self.app = FunctionIndex(
            __import__("pathlib").Path("."), [],
            {n: OrchestratorFunction(n, n) for n in ("flaky", "collect")},
            {"echo": ActivityFunction("echo", "echo", False, "input", False)}, {}, {},
            sdk=sdk2.SdkGeneration.V2)
        self.handler = sdk2.in_process(orchestrator_handler(flaky, collect), "context")
        self.requests = 0
        self.stale: list[str] = []

    def orchestrator(self, name):
        def invoke(record, history, texts):
            def call(value: str):
                sent = pb.OrchestratorRequest()
                sent.ParseFromString(base64.b64decode(value))
                fresh = orchestrator_request(record.instance_id, record.execution_id, history)
                self.requests += 1
                if sent != fresh:
                    self.stale.append(record.instance_id)
                return self.handler(value)
            return sdk2.invoke_orchestrator(call, record, history, texts)
        return invoke

    def entity(self, name):
        return None

    async def run_activity(self, activity, input_text, timeout):
        value = json.loads(input_text)
        if isinstance(value, str) and value.startswith("fail-once:"):
            ATTEMPTS[value] = ATTEMPTS.get(value, 0) + 1
            if ATTEMPTS[value] == 1:
                raise RuntimeError("first attempt fails")
        return input_text

    def activity_failure(self, name, exc):
        return activity_failure(name, exc)

    async def run_http(self, function, call, timeout):
        raise NotImplementedError

    replaced_threads = 0

    def close(self) -> None:
        pass


def test_through_the_engine_every_request_equals_a_fresh_one():
    ATTEMPTS.clear()
    history_cache.clear()
    worker = CheckingWorker()

    async def terminal(engine, instance_id):
        inst = await engine.wait_for(instance_id, lambda i: i is not None and i.is_terminal, 30)
        assert inst is not None and inst.is_terminal
        return inst

    async def scenario():
        engine = build_engine(None, MemoryStore(), make_clock("off"), Limits(100, 10, 4),
                              worker=worker)
        await engine.start()
        engine.operations.start("flaky", json.dumps("k"), "f1")
        failed = await terminal(engine, "f1")
        assert failed.status == RuntimeStatus.Failed
        engine.operations.rewind("f1", "try again")
        await engine.wait_for("f1", lambda i: i is not None and not i.is_terminal, 30)
        rewound = await terminal(engine, "f1")
        assert rewound.status == RuntimeStatus.Completed
        assert json.loads(rewound.record.output) == ["k", "fail-once:k"]
        # purge, then a new instance with the same id (and another input)
        assert engine.operations.purge_one("f1") == 1
        engine.operations.start("flaky", json.dumps("z"), "f1")
        again = await terminal(engine, "f1")
        assert again.status == RuntimeStatus.Failed  # "fail-once:z" fails its first attempt
        assert "first attempt fails" in again.record.output
        # continue-as-new twice, the same instance id across executions
        engine.operations.start("collect", "[]", "c1")
        await engine.wait_for("c1", lambda i: i is not None and i.history, 30)
        engine.operations.raise_event("c1", "item", json.dumps("a"))
        engine.operations.raise_event("c1", "item", json.dumps("b"))
        done = await terminal(engine, "c1")
        await engine.stop()
        return done

    done = asyncio.run(scenario())
    assert json.loads(done.record.output) == ["a", "b"]
    assert worker.requests >= 8 and worker.stale == []
    assert len(history_cache) == 0  # every execution ended: nothing kept

"""A critical section a test can hold open: ``holds`` locks the ``counter`` entity of its input's
key, tells the test through an activity (the worker runs in the test's process) and waits for
the event ``go``. ``hold`` starts one and returns once the lock is taken; ``release`` ends it.
A worker serving them registers ``holds`` and ``note_locked`` (and a ``counter`` entity)."""

import threading

from durabletask import client, entities, task

locked = threading.Event()


def note_locked(_: task.ActivityContext, _input) -> None:
    locked.set()


def holds(ctx: task.OrchestrationContext, key: str):
    target = entities.EntityInstanceId("counter", key)
    with (yield ctx.lock_entities([target])):
        yield ctx.call_activity(note_locked)
        yield ctx.wait_for_external_event("go")


def hold(c: client.TaskHubGrpcClient, key: str) -> str:
    """Start ``holds`` on ``counter@key``; its instance id, once it holds the lock."""
    locked.clear()
    holder = c.schedule_new_orchestration(holds, input=key)
    assert locked.wait(30), "the critical section did not start"
    return holder


def release(c: client.TaskHubGrpcClient, holder: str) -> None:
    """End ``holder``'s critical section and wait for it to complete."""
    c.raise_orchestration_event(holder, "go")
    state = c.wait_for_orchestration_completion(holder, timeout=30)
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED

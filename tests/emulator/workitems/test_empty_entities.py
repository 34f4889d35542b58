"""The scheduler mode removes an entity as it empties, as the Durable Task Scheduler does: its
``CleanEntityStorage`` then finds nothing to remove ("DTS backend always returns 0, as it has
its own mechanism for entity state purge", durabletask-azuremanaged's
``test_dts_batch_actions.py``). An entity is empty with no state, no lock and nothing queued;
one that is only locked, or has requests queued, stays (transient) until it empties.

The Functions mode keeps the empty row until ``CleanEntityStorage`` (Azure Storage's way):
``tests/emulator/runtime/test_entities.py::test_destruct_on_exit_deletes_and_clean_storage_
removes_the_row`` holds it to that.

Each test waits on an orchestration that called the entity or ended its critical section: the
host removes the entity on its loop as that batch (or release) is committed, before the
orchestration's next episode can run. Nothing sleeps."""

from datetime import UTC, datetime

from durabletask import client, entities, task

from emulator.protocol.history import format_ts
from emulator.store import Batch, EntityRecord, open_store

from .conftest import scheduler_running, started_worker
from .critical_sections import hold, holds, note_locked, release


def counter(ctx: entities.EntityContext, value: int):
    if ctx.operation == "delete":
        ctx.set_state(None)
        return None
    state = ctx.get_state(int, 0) + value
    ctx.set_state(state)
    return state


def calls(ctx: task.OrchestrationContext, spec: list):
    key, operation, value = spec
    return (yield ctx.call_entity(entities.EntityInstanceId("counter", key), operation, value))


def _call(c: client.TaskHubGrpcClient, key: str, operation: str, value: int = 0) -> str:
    instance_id = c.schedule_new_orchestration(calls, input=[key, operation, value])
    state = c.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED, state.failure_details
    return state.serialized_output


def _listed(c: client.TaskHubGrpcClient) -> set[str]:
    """Every entity the host tracks, transient ones too."""
    return {str(m.id) for m in c.get_all_entities(client.EntityQuery(include_transient=True))}


def _worker(address: str):
    return started_worker(address, orchestrators=(calls, holds), activities=(note_locked,),
                          entities=(counter,))


def test_an_entity_whose_state_is_deleted_is_removed_and_clean_finds_nothing(tmp_path):
    state = str(tmp_path / "hub.db")
    with scheduler_running(state=state) as scheduler, _worker(scheduler.address):
        c = scheduler.client()
        assert _call(c, "gone", "add", 2) == "2"
        assert _call(c, "kept", "add", 5) == "5"
        assert _listed(c) == {"@counter@gone", "@counter@kept"}

        _call(c, "gone", "delete")
        assert _listed(c) == {"@counter@kept"}
        assert c.get_entity(entities.EntityInstanceId("counter", "gone")) is None
        cleaned = c.clean_entity_storage(remove_empty_entities=True, release_orphaned_locks=True)
        assert (cleaned.empty_entities_removed, cleaned.orphaned_locks_released) == (0, 0)
    store = open_store(state)  # the row is gone from the state, not only from memory
    try:
        assert set(store.load().entities) == {"@counter@kept"}
    finally:
        store.close()


def test_an_operation_that_leaves_no_state_leaves_no_entity(scheduler):
    with _worker(scheduler.address):
        c = scheduler.client()
        _call(c, "never", "delete")  # the first batch of an entity that never had state
        assert _listed(c) == set()
        assert _call(c, "never", "add", 3) == "3"  # and it can be used again from nothing
        assert _listed(c) == {"@counter@never"}


def test_a_locked_entity_without_state_stays_until_its_lock_is_released(scheduler):
    with _worker(scheduler.address):
        c = scheduler.client()
        holder = hold(c, "held")
        assert _listed(c) == {"@counter@held"}  # transient: locked, no state
        release(c, holder)
        assert _listed(c) == set()


def test_an_empty_row_in_the_state_is_removed_when_the_hub_starts(tmp_path):
    """A row left empty by a Functions-mode run of the same file, or by a crash between a
    batch's commit and the removal's."""
    state = str(tmp_path / "hub.db")
    store = open_store(state)
    now = format_ts(datetime.now(UTC))
    store.commit(Batch(put_entities=[EntityRecord("@counter@empty", False, None, now),
                                     EntityRecord("@counter@full", True, "7", now)]))
    store.close()
    with scheduler_running(state=state) as scheduler:
        assert _listed(scheduler.client()) == {"@counter@full"}
    store = open_store(state)
    try:
        assert set(store.load().entities) == {"@counter@full"}
    finally:
        store.close()

"""A pure step whose worker call is awaited (``runtime/awaited.py`` over ``core/calls.py``) ends
as the same step driven with a blocking call: the answer sent in, a raised call thrown in (the
step handles it where it calls out); cancelling the step cancels the call."""

import asyncio
import json
from datetime import UTC, datetime

import pytest

from emulator.core.calls import drive
from emulator.core.entity_episode import EntityState, batch_steps, run_batch
from emulator.protocol.entities import EntityId, Request
from emulator.runtime.awaited import drive_awaited

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ENTITY = EntityId.of("counter", "k")
REQUESTS = [Request(id="r1", operation="add", input="2", signal=False, parent="orch",
                    parent_execution="exec")]
ANSWER = json.dumps({"entityExists": True, "entityState": "2",
                     "results": [{"isError": False, "result": "2", "duration": 0}]})


def _steps():
    return batch_steps(ENTITY, EntityState(), REQUESTS, T0, new_request_id=lambda: "id")


async def _answers(trigger: str) -> str:
    await asyncio.sleep(0)  # a real suspension, as a worker's answer is
    assert json.loads(trigger)["self"] == {"name": "counter", "key": "k"}
    return ANSWER


async def _raises(_: str) -> str:
    await asyncio.sleep(0)
    raise ConnectionError("worker gone")


def test_an_awaited_answer_gives_the_step_a_blocking_call_gives():
    awaited = asyncio.run(drive_awaited(_steps(), _answers))
    blocking = run_batch(ENTITY, EntityState(), REQUESTS, lambda _: ANSWER, T0,
                         new_request_id=lambda: "id")
    assert awaited == blocking
    assert (awaited.state.state, awaited.failure) == ("2", None)


def test_a_call_that_raises_is_handled_by_the_step_where_it_calls_out():
    outcome = asyncio.run(drive_awaited(_steps(), _raises))
    assert outcome.failure == "ConnectionError: worker gone"  # run_batch's rule

    def raises(_: str) -> str:
        raise ConnectionError("worker gone")
    assert outcome == drive(_steps(), raises)


def test_a_cancelled_step_cancels_the_call_it_awaits():
    async def scenario() -> None:
        waiting = asyncio.get_running_loop().create_future()
        run = asyncio.ensure_future(drive_awaited(_steps(), lambda _: waiting))
        await asyncio.sleep(0)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        assert waiting.cancelled()  # the worker's call is given up too

    asyncio.run(scenario())

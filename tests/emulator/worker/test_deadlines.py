"""``Deadlines``: shared 10 ms buckets; a bucket nobody waits on any more leaves no timer."""

import asyncio

from emulator.worker.deadlines import Deadlines


def armed(loop):
    return [h for h in loop._scheduled if not h.cancelled()]  # the loop's pending timers


def test_the_last_call_to_leave_a_bucket_disarms_its_timer():
    async def main():
        loop = asyncio.get_running_loop()
        deadlines = Deadlines(loop)
        first = deadlines.add(1, 1800, lambda: None)
        second = deadlines.add(2, 1800, lambda: None)
        assert len(armed(loop)) == 1  # one timer for the bucket
        deadlines.discard(1, first)
        assert len(armed(loop)) == 1 and len(deadlines) == 1
        deadlines.discard(2, second)
        assert armed(loop) == [] and len(deadlines) == 0
        deadlines.discard(2, second)  # twice: harmless

    asyncio.run(main())


def test_calls_still_in_their_bucket_expire_once_it_is_due():
    expired = []

    async def main():
        loop = asyncio.get_running_loop()
        deadlines = Deadlines(loop)
        due = deadlines.add(1, 0.02, lambda: expired.append(1))
        deadlines.add(2, 0.02, lambda: expired.append(2))
        left = deadlines.add(3, 0.02, lambda: expired.append(3))
        deadlines.discard(3, left)
        await asyncio.sleep(0.05)
        assert sorted(expired) == [1, 2] and len(deadlines) == 0
        deadlines.discard(1, due)  # after it fired: harmless
        assert armed(loop) == []

    asyncio.run(main())

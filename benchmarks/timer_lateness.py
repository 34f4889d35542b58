"""How late a timer trigger fires after its occurrence, in real time and in skipped time.

    python -m benchmarks.timer_lateness               # 10 firings of "* * * * * *"
    python -m benchmarks.timer_lateness --firings 30

Real time: the timer source on the real clock with an every-second schedule; lateness is the
clock's time when the function starts minus the occurrence (the whole second). Target: every
firing within 50 ms. Skipped time: a nightly schedule on an always-skipping clock, a week of
firings; each must start at its occurrence (lateness below 1 ms: the clock jumps exactly there).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from datetime import datetime

from emulator.runtime.clock import Clock, SkippingClock, TimeSkipping
from emulator.triggers import MemoryStatusStore, Outcome, TimerSource, TimerSpec

TARGET_MS = 50.0
SKIPPED_TARGET_MS = 1.0


async def lateness(schedule: str, clock: Clock, firings: int) -> list[float]:
    source = TimerSource([TimerSpec("t", schedule, use_monitor=False)], None, clock,
                         MemoryStatusStore())
    late: list[float] = []
    done = asyncio.Event()

    async def invoke(call: object) -> Outcome:
        now = clock.now()
        due = source.due("t")  # the occurrence this run is for
        late.append((now - due).total_seconds() * 1000 if due else float("nan"))
        if len(late) >= firings:
            done.set()
        return Outcome.ok()

    source.invoke = invoke
    task = asyncio.create_task(source.run())
    try:
        await asyncio.wait_for(done.wait(), firings * 2 + 10)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return late[:firings]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.timer_lateness")
    parser.add_argument("--firings", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.firings < 1:
        parser.error("--firings must be at least 1")
    real = asyncio.run(lateness("* * * * * *", Clock(), args.firings))
    skipped = asyncio.run(lateness("0 0 2 * * *", SkippingClock(TimeSkipping.ALWAYS), 7))
    result = {"real_ms": {"median": statistics.median(real), "max": max(real)},
              "skipped_ms": {"median": statistics.median(skipped), "max": max(skipped)},
              "target_ms": TARGET_MS, "measured_at": datetime.now().isoformat()}
    ok = max(real) <= TARGET_MS and max(skipped) <= SKIPPED_TARGET_MS
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(f"timer lateness, real time ({args.firings} firings): median "
              f"{result['real_ms']['median']:.1f} ms, max {result['real_ms']['max']:.1f} ms "
              f"(target <= {TARGET_MS:.0f} ms); skipped time (7 nightly firings): max "
              f"{result['skipped_ms']['max']:.3f} ms {'ok' if ok else 'BELOW TARGET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

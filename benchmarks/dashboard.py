"""Time the dashboard in Chromium: request to rendered, for its two heaviest pages.

    python -m benchmarks.dashboard                 # medians of 5
    python -m benchmarks.dashboard --repeat 3 --instances 10000 --width 10000

1. the first page of a 10,000-instance list (target < 1 s): the instances are written straight
   into an SQLite state file, then the host starts on it;
2. the timeline of a 10,000-wide fan-out (target < 2 s): ``fan_out`` runs on the host first.

Each sample opens a fresh page and measures from ``page.goto`` until the page shows the data
(the list's rows / the fan-out's aggregated row); the figure includes the dashboard's own
requests, the JSON built by the host and the drawing. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from emulator.protocol.history import format_ts
from emulator.store import Batch, InstanceRecord, SqliteStore
from emulator.testing import LocalHost

APP = Path(__file__).parent / "app"
START = "/runtime/webhooks/durabletask/orchestrators/fan_out?timeout=600&pollingInterval=0.01"
CHROMIUM = "/usr/bin/chromium"


def seed_state(path: Path, count: int) -> None:
    """``count`` completed fan_out instances, one second apart, in a fresh state file."""
    store = SqliteStore(str(path))
    t0 = datetime.now(UTC) - timedelta(seconds=count)
    records = []
    for n in range(count):
        ts = format_ts(t0 + timedelta(seconds=n))
        records.append(InstanceRecord(
            instance_id=f"seeded-{n:06d}", name="fan_out", execution_id=f"e{n}",
            status="Completed" if n % 50 else "Failed", input='{"count":1,"seconds":0}',
            created=ts, last_updated=ts, output="1", custom_status=json.dumps(f"step {n}")))
    store.commit(Batch(put_instances=records))
    store.close()


def timed_render(browser, url: str, selector: str, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        started = time.perf_counter()
        page.goto(url)
        page.wait_for_selector(selector, timeout=60_000)
        samples.append(time.perf_counter() - started)
        context.close()
    return samples


def report(label: str, target: float, samples: list[float]) -> None:
    med = statistics.median(samples)
    verdict = "met" if med < target else "MISSED"
    print(f"{label:<44} median {med:6.3f} s  (target < {target:g} s: {verdict})  "
          f"samples {', '.join(f'{s:.3f}' for s in samples)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dashboard",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--width", type=int, default=10_000)
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        state = Path(tmp) / "state.db"
        started = time.perf_counter()
        seed_state(state, args.instances)
        print(f"seeded {args.instances} instances in {time.perf_counter() - started:.1f} s",
              flush=True)
        browser = playwright.chromium.launch(executable_path=args.chromium,
                                             args=["--no-sandbox"])
        with LocalHost(APP, subprocess=True, state=str(state)) as host:
            dash = f"{host.base_url}/dashboard/"
            newest = f"seeded-{args.instances - 1:06d}"
            listing = timed_render(browser, f"{dash}#/instances",
                                   f'#instances tr[data-id="{newest}"]', args.repeat)
            report(f"first page of a {args.instances}-instance list", 1.0, listing)

            started = time.perf_counter()
            response = host.request("POST", START, data=json.dumps(json.dumps(
                {"count": args.width, "seconds": 0})), headers={"Content-Type": "application/json"},
                timeout=700)
            fan_out = response.json()
            if fan_out.get("runtimeStatus") != "Completed":
                raise SystemExit(f"the fan-out did not complete: {fan_out}")
            print(f"ran a {args.width}-wide fan-out in {time.perf_counter() - started:.1f} s",
                  flush=True)
            instance_id = fan_out["instanceId"]
            json_started = time.perf_counter()
            host.request("GET", f"/admin/emulator/dashboard/instances/{instance_id}/timeline")
            print(f"(its timeline JSON alone: {time.perf_counter() - json_started:.3f} s)")
            timeline = timed_render(browser, f"{dash}#/instance/{instance_id}",
                                    'g.group[data-name="wait"]', args.repeat)
            report(f"timeline of a {args.width}-wide fan-out", 2.0, timeline)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

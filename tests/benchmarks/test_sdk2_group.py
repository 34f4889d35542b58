"""The 2.x SDK group of ``python -m benchmarks``: its report line (target on the ratio, the 1.x
host, the SDK's handler and the handler with the host's hand-offs beside), its skip line
without a 2.x interpreter, the rotating sample, and the 2.x driver running the benchmark app's
orchestrations to the right output each way (under the 2.x interpreter, skipped where there is
none)."""

import json
import os
import subprocess
import sys

import pytest

from benchmarks import sdk2
from benchmarks.__main__ import line, main, summarize
from benchmarks.processes import REPO_ROOT, SdkDriver
from benchmarks.suite import BENCHES, Sample


def _bench(name):
    return next(b for b in BENCHES if b.name == name)


def _result(name, host_s, base_s, v1_s, handler_s=None, handoffs_s=None):
    extra = {"v1_host_s": v1_s, "episodes": 2, "driver_episodes": 2, "host_cpu_s": 0.1,
             "base_cpu_s": 0.05}
    if handler_s is not None:
        extra["handler_s"] = handler_s
    if handoffs_s is not None:
        extra["handoffs_s"] = handoffs_s
    samples = [Sample(host_s, base_s, extra)]
    return summarize(_bench(name), samples)


def test_the_target_bounds_the_ratio_to_the_driver_and_the_1x_host_is_beside():
    bench = _bench("sdk2_fanout_1000x0s")
    shown = line(bench, _result("sdk2_fanout_1000x0s", 0.120, 0.100, 0.080))
    assert "0.120 s" in shown and "0.100 s" in shown and "1.20x" in shown
    assert "<= 1.30x" in shown and " ok " in shown
    assert "1.x host 0.080 s (2.x/1.x 1.50x)" in shown
    missed = line(bench, _result("sdk2_fanout_1000x0s", 0.140, 0.100, 0.080))
    assert "1.40x" in missed and "MISSED" in missed


def test_the_chain_is_per_step_in_ms():
    shown = line(_bench("sdk2_chain"), _result("sdk2_chain", 0.100, 0.050, 0.075))
    assert "2.0 ms" in shown and "1.0 ms" in shown and "2.00x" in shown and "MISSED" in shown
    assert "1.x host 1.5 ms (2.x/1.x 1.33x)" in shown


def test_the_sdk_handler_alone_is_beside_as_the_protocols_floor():
    shown = line(_bench("sdk2_chain"), _result("sdk2_chain", 0.100, 0.050, 0.075, 0.062))
    assert "SDK handler alone 1.2 ms (1.24x the driver)" in shown
    assert "hand-offs" not in shown


def test_the_handler_with_the_hosts_hand_offs_is_beside_as_the_designs_floor():
    shown = line(_bench("sdk2_chain"),
                 _result("sdk2_chain", 0.100, 0.050, 0.075, 0.062, 0.081))
    assert "SDK handler alone 1.2 ms (1.24x the driver) with the host's hand-offs 1.6 ms " \
        "(1.62x)" in shown


def test_without_a_2x_interpreter_the_group_says_why_and_measures_nothing(capsys, tmp_path):
    missing = str(tmp_path / "python")
    assert main(["--only", "sdk2", "--repeat", "1", "--sdk2-python", missing]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3  # the header and one line per benchmark
    assert all("skipped: no 2.x SDK interpreter at " + missing in row for row in out[1:])
    assert "has no azure-functions-durable 2.x" in sdk2.unusable(sys.executable)


def test_each_sample_is_five_runs_whose_first_rotates(monkeypatch):
    order = []

    def host_run(host, bench, extra, key, is_2x):
        order.append(key)
        return {"host": 0.3, "v1_host": 0.2}[key]

    class Driver:
        pid = os.getpid()

        def run(self, orchestrator, input_value, through="executor"):
            order.append({"executor": "driver", "handler": "handler",
                          "handoffs": "handoffs"}[through])
            return {"seconds": {"executor": 0.1, "handler": 0.12, "handoffs": 0.15}[through],
                    "episodes": 2}

    monkeypatch.setattr(sdk2, "host_run", host_run)
    bench = _bench("sdk2_fanout_1000x0s")
    firsts = []
    for turn in range(5):
        order.clear()
        sample = sdk2.sample(None, Driver(), None, bench, turn)
        firsts.append(order[0])
        assert sorted(order) == ["driver", "handler", "handoffs", "host", "v1_host"]
        assert (sample.host_s, sample.base_s, sample.extra["v1_host_s"],
                sample.extra["handler_s"], sample.extra["handoffs_s"]) == (
                    0.3, 0.1, 0.2, 0.12, 0.15)
    assert firsts == ["host", "driver", "v1_host", "handler", "handoffs"]


SDK2_PYTHON = sdk2.default_python()
NO_SDK2 = sdk2.unusable(SDK2_PYTHON) if os.path.exists(SDK2_PYTHON) else "no 2.x interpreter"


@pytest.mark.skipif(bool(NO_SDK2), reason=f"the 2.x driver needs a 2.x interpreter: {NO_SDK2}")
def test_the_2x_driver_runs_the_apps_orchestrations_to_their_output():
    with SdkDriver("benchmarks.sdk2_driver", SDK2_PYTHON) as driver:
        fan_out = driver.run("fan_out", {"count": 7, "seconds": 0})
        assert (fan_out["output"], fan_out["episodes"]) == (7, 2)
        chain = driver.run("chain", 3)
        assert (chain["output"], chain["episodes"]) == (3, 4)  # one episode per step, + 1
        assert chain["seconds"] > 0
        handled = driver.run("chain", 3, through="handler")  # the SDK's handler, base64 in/out
        assert (handled["output"], handled["episodes"]) == (3, 4)
        fan_in = driver.run("fan_out", {"count": 5, "seconds": 0}, through="handler")
        assert (fan_in["output"], fan_in["episodes"]) == (5, 2)
        # the handler in the host's orchestrator pool, the activities on an app loop
        crossed = driver.run("chain", 3, through="handoffs")
        assert (crossed["output"], crossed["episodes"]) == (3, 4)
        crossed_fan = driver.run("fan_out", {"count": 5, "seconds": 0}, through="handoffs")
        assert (crossed_fan["output"], crossed_fan["episodes"]) == (5, 2)


THREADS_PROBE = """
import asyncio, json, threading
from benchmarks.sdk2_driver import Sdk2App, Through, drive

app = Sdk2App()
handled, activity = app.handled, app.activity
seen = {}

def on_handled(*args):
    seen["episodes"].add(threading.current_thread().name)
    return handled(*args)

async def on_activity(**kwargs):
    seen["activities"].add(threading.current_thread().name)
    return await activity(**kwargs)

app.handled, app.activity = on_handled, on_activity
out = {}
for way in Through:
    seen.update(episodes=set(), activities=set())
    asyncio.run(drive(app, "chain", 2, way))
    out[way] = {key: sorted(names) for key, names in seen.items()}
print(json.dumps(out))
"""


@pytest.mark.skipif(bool(NO_SDK2), reason=f"the 2.x driver needs a 2.x interpreter: {NO_SDK2}")
def test_the_driver_crosses_the_hosts_threads_only_through_the_hand_offs():
    """Each way runs the episodes and activities where it says: the handler's episodes in the
    host's orchestrator pool and the activities on an app loop only "through handoffs"."""
    done = subprocess.run([SDK2_PYTHON, "-c", THREADS_PROBE], cwd=REPO_ROOT, timeout=120,
                          capture_output=True, text=True, check=True)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["executor"] == {"episodes": [], "activities": ["MainThread"]}
    assert seen["handler"] == {"episodes": ["MainThread"], "activities": ["MainThread"]}
    assert seen["handoffs"]["activities"] == ["app-loop"]
    assert seen["handoffs"]["episodes"] and all(
        name.startswith("orchestrator_") for name in seen["handoffs"]["episodes"])

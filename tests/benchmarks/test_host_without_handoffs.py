"""``benchmarks.host_without_handoffs``: the host it starts runs a 2.x app's episodes and async
activities on the host's loop, where the unchanged host runs them in its orchestrator pool and
on the app loop (each host under the 2.x interpreter; skipped where there is none); and it
refuses to measure when the code it patches has moved."""

import textwrap

import pytest

from benchmarks import host_without_handoffs, sdk2

SDK2_PYTHON = sdk2.default_python()
NO_SDK2 = sdk2.unusable(SDK2_PYTHON)

PROBE_APP = textwrap.dedent('''
    import threading

    import azure.durable_functions as df
    import azure.functions as func

    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


    @app.activity_trigger(input_name="unused")
    async def where(unused):
        return threading.current_thread().name


    @app.orchestration_trigger(context_name="ctx")
    def probe(ctx, _):
        activity = yield ctx.call_activity("where", input=0)
        return {"episode": threading.current_thread().name, "activity": activity}
''')


def _threads(app_dir, module):
    with sdk2.Sdk2Host(SDK2_PYTHON, app_dir, module=module, worker="in-process") as host:
        instance_id = host.start("probe", 0)
        status = host.wait(instance_id, timeout=60)
    assert status["runtimeStatus"] == "Completed", status
    return status["output"]


@pytest.mark.skipif(bool(NO_SDK2), reason=f"a 2.x host needs a 2.x interpreter: {NO_SDK2}")
def test_the_patched_host_runs_episodes_and_activities_on_its_loop(tmp_path):
    (tmp_path / "function_app.py").write_text(PROBE_APP)
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    unchanged = _threads(tmp_path, "emulator")
    assert unchanged["episode"].startswith("orchestrator_")
    assert unchanged["activity"] == "app-loop"
    patched = _threads(tmp_path, "benchmarks.host_without_handoffs")
    assert patched == {"episode": "MainThread", "activity": "MainThread"}


def test_it_refuses_to_patch_code_that_moved(monkeypatch):
    from emulator.runtime.orchestrations import Orchestrations
    monkeypatch.delattr(Orchestrations, "_in_thread")
    with pytest.raises(SystemExit, match="_in_thread is gone"):
        host_without_handoffs.take_out_handoffs()


def test_repeat_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        host_without_handoffs.main(["--repeat", "0"])
    assert "--repeat must be at least 1" in capsys.readouterr().err

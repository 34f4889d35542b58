"""The sidecar suite's driver and plugin (``scripts/run_durabletask_sidecar_e2e.py``,
``scripts/durabletask_sidecar_plugin.py``): what they find, and the backend the plugin gives the
suite - a scheduler host process that a durabletask client reaches and ``stop()`` ends."""

import sys
from pathlib import Path

import pytest
from durabletask import client

from emulator.host.child_process import free_port

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "scripts"))

import durabletask_sidecar_plugin as plugin  # noqa: E402
import run_durabletask_sidecar_e2e as driver  # noqa: E402


def test_the_plugin_backend_is_a_host_process_that_stop_ends(tmp_path, monkeypatch):
    monkeypatch.setattr(plugin, "_LOGS", tmp_path)
    port = free_port()
    backend = plugin.create_test_backend(port=port)
    try:
        c = client.TaskHubGrpcClient(host_address=f"localhost:{port}")
        instance_id = c.schedule_new_orchestration("anything", input=1)
        assert c.get_orchestration_state(instance_id).runtime_status == \
            client.OrchestrationStatus.PENDING  # no worker yet: it waits, as in the Scheduler
        c.close()
    finally:
        backend.stop()
        backend.reset()
    assert backend.process.poll() is not None
    assert "Scheduler listening" in backend.log_path.read_text()


def test_the_driver_finds_the_suite_and_splits_its_own_flags_from_pytest_ones(tmp_path):
    (tmp_path / "durabletask").mkdir()
    suite = tmp_path / "tests" / "durabletask"
    (suite / "entities").mkdir(parents=True)
    for name in ("test_a_e2e.py", "entities/test_b_e2e.py", "test_unit.py"):
        (suite / name).write_text("")
    (suite / "test_batch.py").write_text("backend = create_test_backend(port=PORT)\n")
    assert driver.test_files(tmp_path) == ["tests/durabletask/entities/test_b_e2e.py",
                                           "tests/durabletask/test_a_e2e.py",
                                           "tests/durabletask/test_batch.py"]
    args = driver.parse_args([str(tmp_path), "--no-azurite", "--", "-k", "x", "-x"])
    assert args.no_azurite and args.pytest_args == ["-k", "x", "-x"]


def test_the_driver_names_a_checkout_without_the_suite(tmp_path):
    (tmp_path / "durabletask").mkdir()
    with pytest.raises(driver.SetupError, match="CHECKOUT"):
        driver.test_files(tmp_path)


def test_the_driver_picks_the_scheduler_tests_of_durabletask_azuremanaged(tmp_path):
    suite = tmp_path / "tests" / "durabletask-azuremanaged"
    (suite / "entities").mkdir(parents=True)
    for name in ("test_dts_orchestration_e2e.py", "entities/test_dts_x_e2e.py",
                 "test_dts_batch_actions.py", "test_durabletask_grpc_interceptor.py"):
        (suite / name).write_text("")
    assert driver.test_files(tmp_path, azuremanaged=True) == [
        "tests/durabletask-azuremanaged/entities/test_dts_x_e2e.py",
        "tests/durabletask-azuremanaged/test_dts_batch_actions.py",
        "tests/durabletask-azuremanaged/test_dts_orchestration_e2e.py"]


def test_a_relative_python_is_kept_as_a_path_from_here_not_followed(tmp_path, monkeypatch):
    # The suite runs in the checkout, so a relative --python must mean one from here.
    venv_python = tmp_path / "venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.symlink_to(Path(sys.executable))
    monkeypatch.chdir(tmp_path)
    args = driver.parse_args(["checkout", "--python", "venv/bin/python"])
    assert args.python == venv_python and args.python.is_symlink()


def _checkout_with_an_async_test(root: Path) -> Path:
    suite = root / "tests" / "durabletask"
    suite.mkdir(parents=True)
    (suite / "test_sync_e2e.py").write_text("def test_a():\n    pass\n")
    (suite / "test_async_e2e.py").write_text("async def test_b():\n    pass\n")
    return root


def _python(tmp_path: Path, has_pytest_asyncio: bool) -> Path:
    """An interpreter stand-in whose ``-c "import pytest_asyncio"`` succeeds or fails."""
    python = tmp_path / ("with" if has_pytest_asyncio else "without") / "python"
    python.parent.mkdir()
    python.write_text(f"#!/bin/sh\nexit {0 if has_pytest_asyncio else 1}\n")
    python.chmod(0o755)
    return python


def test_the_driver_refuses_async_tests_without_pytest_asyncio_naming_the_flag(tmp_path):
    # Before, it warned and ran: each async test then failed minutes later with "async def
    # functions are not natively supported", 17 false failures in a whole run.
    checkout = _checkout_with_an_async_test(tmp_path / "checkout")
    selected = ["tests/durabletask/test_async_e2e.py", "tests/durabletask/test_sync_e2e.py"]
    assert driver.async_test_files(checkout, selected) == ["tests/durabletask/test_async_e2e.py"]
    without = _python(tmp_path, has_pytest_asyncio=False)
    with pytest.raises(driver.SetupError,
                       match=r"--python .*without/python has no pytest-asyncio.*"
                             r"test_async_e2e\.py"):
        driver.require_async_support(without, checkout, selected)
    # a node id of that file selects it too; other pytest arguments select nothing
    with pytest.raises(driver.SetupError):
        driver.require_async_support(
            without, checkout, ["tests/durabletask/test_async_e2e.py::test_b", "-x"])


def test_the_driver_runs_without_pytest_asyncio_when_no_selected_test_is_async(tmp_path):
    checkout = _checkout_with_an_async_test(tmp_path / "checkout")
    driver.require_async_support(_python(tmp_path, has_pytest_asyncio=False), checkout,
                                 ["tests/durabletask/test_sync_e2e.py::test_a", "-k", "a"])
    driver.require_async_support(_python(tmp_path, has_pytest_asyncio=True), checkout,
                                 ["tests/durabletask/test_async_e2e.py"])


def test_run_refuses_before_starting_anything(tmp_path, monkeypatch):
    checkout = _checkout_with_an_async_test(tmp_path / "checkout")
    (checkout / "durabletask").mkdir()
    started = []
    monkeypatch.setattr(driver, "start_azurite", lambda *a: started.append("azurite"))
    code = driver.main([str(checkout), "--python",
                        str(_python(tmp_path, has_pytest_asyncio=False))])
    assert code == 2 and started == []

"""The driver of Microsoft's 2.x e2e suite: its checks name what is missing, and it reads the
suite's results into counts and one-line causes."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[3] / "scripts" / "run_durabletask_e2e.py"
spec = importlib.util.spec_from_file_location("run_durabletask_e2e", SCRIPT)
e2e = importlib.util.module_from_spec(spec)
spec.loader.exec_module(e2e)

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="e2e.test_a" name="test_ok" time="1.5"/>
<testcase classname="e2e.test_a" name="test_bad" time="2">
  <failure message="AssertionError: assert 'FAILED' == 'COMPLETED'&#10;more">trace</failure>
</testcase>
<testcase classname="e2e.test_b" name="test_broken" time="0">
  <error message="failed on setup with &quot;TimeoutError: no ping&quot;">trace</error>
</testcase>
<testcase classname="e2e.test_b" name="test_skip" time="0"><skipped message="Docker"/></testcase>
</testsuite></testsuites>"""


def test_results_become_counts_and_one_line_causes(tmp_path):
    junit = tmp_path / "junit.xml"
    junit.write_text(JUNIT)
    rows = e2e.read_junit(junit)
    assert e2e.summarize(rows) == {"passed": 1, "failed": 1, "error": 1, "skipped": 1}
    bad = next(r for r in rows if r["outcome"] == "failed")
    assert bad["test"] == "e2e.test_a::test_bad"
    assert bad["cause"] == "AssertionError: assert 'FAILED' == 'COMPLETED'"


def test_a_checkout_without_the_suite_is_named(tmp_path):
    with pytest.raises(e2e.SetupError, match="CHECKOUT: .* has no tests/azure-functions"):
        e2e.check_checkout(tmp_path)


def test_an_app_python_without_the_2x_sdk_is_named(tmp_path):
    with pytest.raises(e2e.SetupError, match="--app-python"):
        e2e.check_app_python(tmp_path / "nope")


def test_without_bin_func_the_shim_runs_the_host_on_the_chosen_interpreter(tmp_path):
    args = e2e.parse_args([str(tmp_path), "--func", str(tmp_path / "absent"),
                           "--host-python", "/opt/py313/bin/python"])
    folder, env = e2e.func_dir(args, tmp_path)
    shim = (folder / "func").read_text()
    assert '"/opt/py313/bin/python" -m emulator --app . --state :memory: "$@"' in shim
    assert env == {}


def test_arguments_after_a_double_dash_go_to_pytest(tmp_path):
    args = e2e.parse_args([str(tmp_path), "--timeout", "60", "--", "--timeout", "90", "-x"])
    assert args.timeout == 60 and args.pytest_args == ["--timeout", "90", "-x"]


def test_the_tracing_test_is_left_out_and_history_export_runs_last(tmp_path):
    suite = tmp_path / "tests" / "azure-functions-durable" / "e2e"
    suite.mkdir(parents=True)
    for name in ("test_v1_style_e2e.py", "test_dtask_history_export_e2e.py",
                 "test_distributed_tracing_e2e.py", "test_dtask_client_e2e.py"):
        (suite / name).write_text("")
    names = [Path(f).name for f in e2e.test_files(suite, tmp_path)]
    assert names == ["test_dtask_client_e2e.py", "test_v1_style_e2e.py",
                     "test_dtask_history_export_e2e.py"]


def test_a_relative_app_python_is_kept_as_a_path_from_here_not_followed(tmp_path, monkeypatch):
    # The suite runs in another folder: `--app-python .venv-sdk2/bin/python` once failed there
    # with FileNotFoundError. The venv's symlink must not be resolved to the base interpreter.
    venv_python = tmp_path / "venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.symlink_to(Path(__file__))
    monkeypatch.chdir(tmp_path)
    args = e2e.parse_args(["checkout", "--app-python", "venv/bin/python"])
    assert args.app_python == venv_python and args.app_python.is_symlink()

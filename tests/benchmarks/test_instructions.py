"""``python -m benchmarks.instructions``: the count read from a callgrind dump, the dump the
measured runs wrote picked among the process's dumps, and a skip line (no measurement) where
valgrind or a 2.x interpreter is missing. The measurement itself takes minutes under valgrind:
run it by hand (emulator/README.md gives its figures)."""

import shutil
import sys

import pytest

from benchmarks import instructions


def test_the_count_is_the_dumps_summary_or_totals_line():
    assert instructions.callgrind_total("version: 1\ncmd: x\nsummary: 1234\n") == 1234
    assert instructions.callgrind_total("events: Ir\nfn=main\n1 5\ntotals: 99\n") == 99
    with pytest.raises(ValueError, match="not a callgrind dump"):
        instructions.callgrind_total("events: Ir\n")


def test_the_measured_dump_is_the_one_its_trigger_names(tmp_path):
    (tmp_path / "callgrind.7").write_text("desc: Trigger: Program termination\nsummary: 9\n")
    measured = tmp_path / "callgrind.7.1"
    measured.write_text("desc: I1 cache:\ndesc: Trigger: dump measured\nsummary: 5\n")
    assert instructions._measured_dump(tmp_path) == measured
    measured.unlink()
    assert instructions._measured_dump(tmp_path) is None


def test_without_valgrind_it_prints_why_and_measures_nothing(monkeypatch, capsys):
    monkeypatch.setattr(instructions, "unusable", lambda python: None)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(instructions, "count", lambda *a: pytest.fail("measured anyway"))
    assert instructions.main(["--sdk2-python", sys.executable]) == 0
    assert "skipped: no valgrind" in capsys.readouterr().out


def test_a_bad_runs_count_is_refused_naming_the_flag(capsys):
    with pytest.raises(SystemExit):
        instructions.main(["--runs", "0"])
    assert "--runs" in capsys.readouterr().err

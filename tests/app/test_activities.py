"""Activities called directly, without a host: site processing, booking, backup file handling."""

import asyncio
import os
import threading
import time

import pytest

from activities import backup, booking, sites
from orchestrators.booking_rules import parse_trip_request


def run(coroutine):
    """Run a coroutine on a private loop: unlike asyncio.run, leaves the thread's loop alone."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


TRIP = parse_trip_request({
    "traveler": "Ada", "conference": "PyCon", "origin": "Paris", "destination": "Berlin",
    "departure_date": "2026-05-10", "return_date": "2026-05-11",
    "simulate": {"flight": {"fail_times": 1}, "cancel": {"fail_times": 1}}})


def test_process_site_waits_connect_then_work_and_reports_the_measured_times():
    result = run(sites.process_site(
        {"site": "a", "connect_ms": 50, "work_ms": 100, "fail": False}))
    assert result["site"] == "a"
    assert 50 <= result["connect_ms"] < 150 and 100 <= result["work_ms"] < 200
    assert result["duration_ms"] == pytest.approx(result["connect_ms"] + result["work_ms"], abs=1)


def test_process_site_is_async_so_many_sites_overlap():
    async def many():
        return await asyncio.gather(*(sites.process_site(
            {"site": f"s{i}", "connect_ms": 100, "work_ms": 100, "fail": False})
            for i in range(200)))
    began = time.perf_counter()
    assert len(run(many())) == 200
    assert time.perf_counter() - began < 1.0  # 200 x 0.2 s in sequence would take 40 s


def test_process_site_raises_for_an_unreachable_site():
    with pytest.raises(sites.SiteUnreachableError, match="s1"):
        run(sites.process_site({"site": "s1", "connect_ms": 0, "work_ms": 0,
                                        "fail": True}))


def test_booking_activities_follow_the_simulate_script_per_attempt():
    payload = {"trip": TRIP, "key": "i:flight"}
    with pytest.raises(Exception, match="TransientProviderError|simulated"):
        booking.book_flight({**payload, "attempt": 1})
    assert booking.book_flight({**payload, "attempt": 2})["kind"] == "flight"
    assert booking.book_hotel({"trip": TRIP, "key": "i:hotel", "attempt": 1})["cost"] > 0


def test_cancel_booking_uses_the_cancel_script():
    payload = {"trip": TRIP, "key": "i:cancel:hotel",
               "booking": {"kind": "hotel", "reference": "HT-1"}}
    with pytest.raises(Exception, match="simulated failure 1 of 1"):
        booking.cancel_booking({**payload, "attempt": 1})
    assert booking.cancel_booking({**payload, "attempt": 2}) == {"kind": "hotel",
                                                                "reference": "HT-1"}


@pytest.fixture()
def tree(tmp_path):
    """base/{site/{a.txt, sub/b.bin, link-out -> outside, dir-out -> outside/}, outside.txt}"""
    base = tmp_path / "base"
    site = base / "site"
    (site / "sub").mkdir(parents=True)
    (site / "a.txt").write_text("hello")
    (site / "sub" / "b.bin").write_bytes(b"\0" * 1000)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (site / "link-out").symlink_to(outside / "secret.txt")
    (site / "dir-out").symlink_to(outside)
    (base / "outside-link").symlink_to(outside)
    return base


def test_roots_resolve_inside_the_base_only(tree):
    assert backup.resolve_root(None, tree) == tree.resolve()
    assert backup.resolve_root("site", tree) == (tree / "site").resolve()
    assert backup.resolve_root(str(tree / "site"), tree) == (tree / "site").resolve()
    for escape in ("..", "../outside", "/etc", "outside-link", "site/dir-out"):
        with pytest.raises(PermissionError):
            backup.resolve_root(escape, tree)
    with pytest.raises(NotADirectoryError):
        backup.resolve_root("site/a.txt", tree)


def test_listing_skips_links_and_uses_relative_posix_paths(tree):
    assert backup.list_files(tree / "site") == ["a.txt", "sub/b.bin"]


def test_open_inside_refuses_to_leave_the_root(tree):
    root = (tree / "site").resolve()
    with backup.open_inside(root, "sub/b.bin") as f:
        assert len(f.read()) == 1000
    for path in ("../outside-link", "/etc/passwd", "link-out", "dir-out/secret.txt"):
        with pytest.raises(PermissionError):
            backup.open_inside(root, path)


def test_the_allowed_base_is_the_setting_or_the_app_folder(tree):
    assert backup.allowed_base({"BACKUP_ROOT": str(tree)}) == tree.resolve()
    assert backup.allowed_base({}) == backup.APP_FOLDER
    assert (backup.APP_FOLDER / "function_app.py").is_file()


def test_without_storage_settings_the_backup_says_what_to_set():
    with pytest.raises(backup.BackupConfigError, match="BACKUP_STORAGE_CONNECTION"):
        backup.container_client({})


def test_activity_refuses_a_root_outside_the_base(tree, monkeypatch):
    monkeypatch.setenv("BACKUP_ROOT", str(tree / "site"))
    with pytest.raises(PermissionError):
        backup.list_backup_files({"root": str(tree)})
    assert backup.list_backup_files({"root": None})["files"] == ["a.txt", "sub/b.bin"]


def _open_in_thread(root, relative):
    """``open_inside`` in a thread: (finished within 5 s, its result or exception)."""
    outcome = []

    def run():
        try:
            outcome.append(backup.open_inside(root, relative))
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(5)
    return not thread.is_alive(), outcome


@pytest.fixture()
def fifo_for_a_file(tree):
    """``site/a.txt`` swapped for a FIFO (as after the listing); a blocked reader is let go."""
    path = tree / "site" / "a.txt"
    path.unlink()
    os.mkfifo(path)
    yield path
    try:  # a reader blocked in open() (the defect) is released by a writer's open
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


def test_a_file_swapped_for_a_fifo_fails_at_once_instead_of_blocking(tree, fifo_for_a_file):
    finished, outcome = _open_in_thread((tree / "site").resolve(), "a.txt")
    assert finished, "open_inside blocked on the FIFO"
    assert isinstance(outcome[0], backup.NotARegularFile) and "FIFO" in str(outcome[0])


def test_a_folder_where_a_file_was_is_refused_too(tree):
    (tree / "site" / "a.txt").unlink()
    (tree / "site" / "a.txt").mkdir()
    with pytest.raises(backup.NotARegularFile, match="directory"):
        backup.open_inside((tree / "site").resolve(), "a.txt")


def test_the_copy_activity_fails_the_swapped_file_without_touching_storage(
        tree, fifo_for_a_file, monkeypatch):
    monkeypatch.setenv("BACKUP_ROOT", str(tree))
    monkeypatch.delenv("BACKUP_STORAGE_CONNECTION", raising=False)  # storage is never reached
    with pytest.raises(backup.NotARegularFile, match="'a.txt' is a FIFO"):
        backup.copy_file_to_blob({"root": "site", "path": "a.txt"})


def test_check_copies_names_every_failed_file_and_passes_when_none_failed():
    from orchestrators.backup_rules import BackupIncomplete, check_copies

    check_copies([], 3)
    with pytest.raises(BackupIncomplete, match=r"2 of 5 file\(s\) were not copied: a: x; b: y"):
        check_copies([("a", "x"), ("b", "y")], 5)
    with pytest.raises(BackupIncomplete, match="and 5 more"):
        check_copies([(f"f{n}", "gone") for n in range(25)], 30)

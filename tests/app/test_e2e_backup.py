"""Backup end to end: the local host plus a real Azurite; blobs and byte counts checked."""

import json

from azure.storage.blob import BlobServiceClient

EXPECTED = {"index.html": 19, "img/logo.png": 10240, "img/deep/note.txt": 5000}


def test_backup_copies_every_file_to_a_blob_with_its_relative_path(host, azurite):
    response = host.request("POST", "/api/orchestrators/backup_site_content", json={"root": "www"})
    assert response.status_code == 202, response.text
    status = host.wait(response.json()["id"], timeout=60)
    assert status["runtimeStatus"] == "Completed", status
    output = status["output"]
    assert output["files"] == 3 and output["bytes"] == sum(EXPECTED.values())
    assert output["container"] == "conference-site"

    container = BlobServiceClient.from_connection_string(azurite.connection_string) \
        .get_container_client("conference-site")
    blobs = {b.name: b.size for b in container.list_blobs()}
    assert blobs == EXPECTED  # leak.txt, a link out of the base, is not copied
    assert container.download_blob("img/logo.png").readall() == bytes(range(256)) * 40


def test_an_empty_directory_backs_up_nothing(host):
    status = host.wait(host.start("backup_site_content", {"root": "empty"}))
    assert status["runtimeStatus"] == "Completed", status
    assert (status["output"]["files"], status["output"]["bytes"]) == (0, 0)


def test_a_root_outside_the_base_fails_even_when_the_starter_is_bypassed(host):
    status = host.wait(host.start("backup_site_content", {"root": "/etc"}))
    assert status["runtimeStatus"] == "Failed"
    assert "PermissionError" in json.dumps(status["output"])


def test_a_file_swapped_for_a_fifo_after_listing_fails_that_file_and_the_backup_finishes(
        in_process_host, azurite, backup_base, monkeypatch):
    """The race of a hostile folder: a listed file becomes a FIFO before its copy. The copy must
    not block on the open; every other file is copied, then the backup fails naming the file."""
    import os
    import shutil

    from activities import backup

    host = in_process_host  # the patch below changes the app's code in this process
    root = backup_base / "swapped"
    root.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (root / name).write_text(name * 10)
    listed = backup.list_files

    def list_then_swap(directory):
        files = listed(directory)
        (root / "b.txt").unlink()
        os.mkfifo(root / "b.txt")
        return files

    monkeypatch.setattr(backup, "list_files", list_then_swap)
    try:
        status = host.wait(host.start("backup_site_content", {"root": "swapped"}), timeout=60)
    finally:
        try:  # with the defect the copy is stuck in open(): a writer's open lets it go
            os.close(os.open(root / "b.txt", os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
        shutil.rmtree(root)  # the base is shared by the session's tests (the scheduled backup's)
    assert status["runtimeStatus"] == "Failed", status
    message = json.dumps(status["output"])
    assert "1 of 3 file(s) were not copied" in message and "b.txt" in message
    assert "FIFO" in message
    container = BlobServiceClient.from_connection_string(azurite.connection_string) \
        .get_container_client("conference-site")
    names = {b.name for b in container.list_blobs(name_starts_with="")}
    assert {"a.txt", "c.txt"} <= names and "b.txt" not in names

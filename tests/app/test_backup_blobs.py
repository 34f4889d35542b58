"""Backup activities against a real Azurite: the blobs, their names and their bytes."""

import pytest

from activities import backup


@pytest.fixture()
def settings(azurite, tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "css").mkdir(parents=True)
    (site / "index.html").write_text("<h1>hi</h1>")
    (site / "css" / "main.css").write_bytes(b"x" * (9 * 1024 * 1024 + 7))  # > 2 upload blocks
    (site / "empty").write_bytes(b"")
    monkeypatch.setenv("BACKUP_ROOT", str(tmp_path))
    monkeypatch.setenv("BACKUP_STORAGE_CONNECTION", azurite.connection_string)
    monkeypatch.setenv("BACKUP_CONTAINER", "site-backups")
    return site


def test_copy_streams_each_file_to_a_blob_named_by_its_relative_path(settings):
    prepared = backup.prepare_backup_container(None)
    assert prepared["container"] == "site-backups"
    assert backup.prepare_backup_container(None) == prepared  # existing container is fine

    listing = backup.list_backup_files({"root": "site"})
    assert listing["files"] == ["css/main.css", "empty", "index.html"]
    copied = [backup.copy_file_to_blob({"root": listing["root"], "path": p})
              for p in listing["files"]]
    assert [c["bytes"] for c in copied] == [9 * 1024 * 1024 + 7, 0, 11]

    container = backup.container_client()
    blobs = {b.name: b.size for b in container.list_blobs()}
    assert blobs == {"css/main.css": 9 * 1024 * 1024 + 7, "empty": 0, "index.html": 11}
    assert container.download_blob("index.html").readall() == b"<h1>hi</h1>"

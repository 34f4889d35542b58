"""Commit first, then change memory: a failed store write changes nothing, answers a JSON 503
(507 for a full disk) that says why, and the host keeps serving reads."""

import errno
import os
import shutil
import subprocess
import uuid

import pytest

from emulator.store import Store
from emulator.testing import LocalHost

from ..conftest import PROTOCOL_APP

BASE = "/runtime/webhooks/durabletask"


class SwitchableStore(Store):
    """Delegates to the host's store; every commit raises ``failure`` while it is set."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.failure: BaseException | None = None

    def load(self):
        return self.inner.load()

    def commit(self, batch) -> None:
        if self.failure is not None:
            raise self.failure
        self.inner.commit(batch)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture(scope="module")
def host():
    with LocalHost(PROTOCOL_APP) as running:
        engine = running.server.engine
        engine.store = SwitchableStore(engine.store)
        yield running


@pytest.fixture
def store(host):
    switch = host.server.engine.store
    yield switch
    switch.failure = None


def _waiting(host):
    instance_id = host.start("waiter")
    host.wait_until(instance_id, lambda s: s["customStatus"] == "waiting")
    return instance_id


def _assert_refused(response, status=503, cause="disk on fire"):
    assert response.status_code == status, response.text
    body = response.json()
    assert "store" in body["Message"] and cause in body["ExceptionMessage"]
    assert "nothing was changed" in body["ExceptionMessage"]


def test_a_start_whose_commit_fails_creates_nothing_and_answers_503(host, store):
    store.failure = OSError("disk on fire")
    instance_id = f"doomed-{uuid.uuid4().hex}"
    _assert_refused(host.request("POST", f"{BASE}/orchestrators/chain/{instance_id}",
                                 json="x"))
    # Reads keep working, and the refused instance exists nowhere.
    assert host.request("GET", f"{BASE}/instances/{instance_id}").status_code == 404
    listed = host.request("GET", f"{BASE}/instances")
    assert listed.status_code == 200
    assert instance_id not in {s["instanceId"] for s in listed.json()}
    assert instance_id not in host.server.engine.instances
    assert host.request("GET", "/admin/host/status").status_code == 200
    store.failure = None
    assert host.wait(host.start("chain", "x", instance_id))["runtimeStatus"] == "Completed"


def test_a_full_disk_answers_507(host, store):
    store.failure = OSError(errno.ENOSPC, "No space left on device")
    _assert_refused(host.request("POST", f"{BASE}/orchestrators/chain", json="x"), 507,
                    "No space left")


@pytest.mark.parametrize("operation", ["terminate", "suspend"])
def test_an_operation_whose_commit_fails_leaves_the_instance_as_it_was(host, store,
                                                                        operation):
    instance_id = _waiting(host)
    before = host.raw_history(instance_id)
    store.failure = OSError("disk on fire")
    _assert_refused(host.request("POST", f"{BASE}/instances/{instance_id}/{operation}"))
    store.failure = None
    assert host.raw_history(instance_id) == before
    assert host.server.engine.instances[instance_id].inbox == []
    host.raise_event(instance_id, "go", {"n": 1})
    status = host.wait(instance_id)
    assert status["runtimeStatus"] == "Completed" and status["output"] == {"n": 1}


def test_a_raised_event_whose_commit_fails_is_not_delivered(host, store):
    instance_id = _waiting(host)
    store.failure = OSError("disk on fire")
    _assert_refused(host.request("POST", f"{BASE}/instances/{instance_id}/raiseEvent/go",
                                 json={"n": "lost"}))
    store.failure = None
    assert host.status(instance_id)["runtimeStatus"] == "Running"
    host.raise_event(instance_id, "go", {"n": "kept"})
    assert host.wait(instance_id)["output"] == {"n": "kept"}


def test_resume_restart_and_purge_whose_commit_fails_change_nothing(host, store):
    suspended = _waiting(host)
    host.suspend(suspended)
    host.wait_until(suspended, lambda s: s["runtimeStatus"] == "Suspended")
    finished = host.start("chain", "p")
    host.wait(finished)
    count = len(host.server.engine.instances)
    store.failure = OSError("disk on fire")
    _assert_refused(host.request("POST", f"{BASE}/instances/{suspended}/resume"))
    _assert_refused(host.request("POST", f"{BASE}/instances/{finished}/restart"))
    _assert_refused(host.request("DELETE", f"{BASE}/instances/{finished}"))
    _assert_refused(host.request("DELETE", f"{BASE}/instances",
                                 params={"createdTimeFrom": "2000-01-01T00:00:00Z"}))
    store.failure = None
    assert len(host.server.engine.instances) == count
    assert host.status(suspended)["runtimeStatus"] == "Suspended"
    assert host.status(finished)["runtimeStatus"] == "Completed"
    host.resume(suspended)
    host.raise_event(suspended, "go", 1)
    assert host.wait(suspended)["output"] == 1
    assert host.purge(finished) == 1


def test_a_bad_timeout_is_refused_before_anything_is_created(host):
    before = set(host.server.engine.instances)
    for query in ("timeout=soon", "timeout=nan", "timeout=5&pollingInterval=inf"):
        response = host.request("POST", f"{BASE}/orchestrators/chain?{query}", json="x")
        assert response.status_code == 400, query
    assert set(host.server.engine.instances) == before


def _mount_tmpfs(path, size="1m") -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True)
    return done.returncode == 0


def test_a_real_full_disk_answers_507_and_the_host_keeps_serving(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if not _mount_tmpfs(disk):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        with LocalHost(PROTOCOL_APP, state=str(disk / "state.db")) as host:
            done = host.start("chain", "fits")
            host.wait(done)
            big = "x" * 100_000
            refused = None
            for index in range(40):
                response = host.request("POST", f"{BASE}/orchestrators/waiter/big-{index}",
                                        json=big)
                if response.status_code != 202:
                    refused = (index, response)
                    break
            assert refused is not None, "the 1 MB disk never filled up"
            index, response = refused
            assert response.status_code == 507, response.text
            assert "full" in response.json()["Message"]
            assert host.request("GET", f"{BASE}/instances/big-{index}").status_code == 404
            assert host.status(done)["runtimeStatus"] == "Completed"
            assert host.request("GET", f"{BASE}/instances").status_code == 200
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)

"""Fixtures for the app's tests: Azurite for the backup, and a history builder for replay tests."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def azurite(tmp_path_factory):
    """Azurite's blob service on a free loopback port, shared by the session."""
    from emulator.host.azurite import Azurite

    with Azurite(workdir=tmp_path_factory.mktemp("azurite")) as az:
        yield az


@pytest.fixture(scope="session")
def backup_base(tmp_path_factory) -> Path:
    """The allowed backup base: ``www/`` (3 files and a link out of the base), ``empty/``."""
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.txt").write_text("do not copy")
    base = tmp_path_factory.mktemp("backup-base")
    www = base / "www"
    (www / "img" / "deep").mkdir(parents=True)
    (www / "index.html").write_text("<h1>conference</h1>")
    (www / "img" / "logo.png").write_bytes(bytes(range(256)) * 40)
    (www / "img" / "deep" / "note.txt").write_text("x" * 5000)
    (www / "leak.txt").symlink_to(outside / "secret.txt")
    (base / "empty").mkdir()
    return base


BACKUP_CONTAINER = "conference-site"


def _app_settings(azurite, backup_base) -> dict[str, str]:
    return {"BACKUP_ROOT": str(backup_base),
            "BACKUP_STORAGE_CONNECTION": azurite.connection_string,
            "BACKUP_CONTAINER": BACKUP_CONTAINER, "BOOKING_PROVIDER": "simulator",
            "PROCESS_SITES_MAX_WIDTH": "1000"}


@pytest.fixture(scope="module")
def host(azurite, backup_base):
    """The app on the local host (time skipping), with Azurite for the backup."""
    from emulator.testing import LocalHost

    with LocalHost(REPO_ROOT, time_skipping=True,
                   settings=_app_settings(azurite, backup_base)) as local_host:
        yield local_host


@pytest.fixture()
def in_process_host(azurite, backup_base):
    """The same, with the app imported into the test's process: for tests that patch its code
    (``monkeypatch`` on the app's modules)."""
    from emulator.testing import LocalHost

    with LocalHost(REPO_ROOT, time_skipping=True, worker="in-process",
                   settings=_app_settings(azurite, backup_base)) as local_host:
        yield local_host


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class History:
    """Builds an orchestration history the way the Durable host writes it, one helper per event
    kind (after the SDK's ``tests/test_utils/ContextBuilder.py``). Times advance explicitly."""

    def __init__(self, orchestrator: str, orchestration_input, instance_id: str = "trip-1"):
        self.instance_id = instance_id
        self.input = orchestration_input
        self.now = EPOCH
        self.events: list[dict] = []
        self.episode()
        self._add(0, Name=orchestrator, Version="", Input=json.dumps(orchestration_input),
                  OrchestrationInstance={"InstanceId": instance_id,
                                         "ExecutionId": uuid.uuid4().hex},
                  ParentInstance=None, Tags=None)

    def _add(self, event_type: int, event_id: int = -1, **fields) -> History:
        self.events.append({"EventType": event_type, "EventId": event_id, "IsPlayed": False,
                            "Timestamp": _ts(self.now), **fields})
        return self

    def episode(self, after: timedelta = timedelta(0)) -> History:
        """Close the current episode and start a new one ``after`` later (OrchestratorStarted)."""
        if self.events:
            self._add(13)
        self.now += after
        return self._add(12)

    def scheduled(self, seq: int, name: str) -> History:
        return self._add(4, seq, Name=name, Version="", Input=None)

    def completed(self, seq: int, result) -> History:
        return self._add(5, TaskScheduledId=seq, Result=json.dumps(result))

    def failed(self, seq: int, name: str, error: str) -> History:
        return self._add(6, TaskScheduledId=seq,
                         Reason=f"Activity function '{name}' failed:  {error}",
                         Details=json.dumps({"Message": f" {error}"}))

    def sub_created(self, seq: int, name: str, instance_id: str) -> History:
        return self._add(7, seq, Name=name, Version="", InstanceId=instance_id, Input=None)

    def sub_completed(self, seq: int, result) -> History:
        return self._add(8, TaskScheduledId=seq, Result=json.dumps(result))

    def sub_failed(self, seq: int, name: str, error: str) -> History:
        return self._add(9, TaskScheduledId=seq,
                         Reason=f"Orchestrator function '{name}' failed: {error}", Details=None)

    def timer_created(self, seq: int, fire_at: datetime) -> History:
        return self._add(10, seq, FireAt=_ts(fire_at))

    def timer_fired(self, seq: int, fire_at: datetime) -> History:
        return self._add(11, TimerId=seq, FireAt=_ts(fire_at))

    def event_raised(self, name: str, data) -> History:
        return self._add(15, Name=name, Input=json.dumps(data))

    def context_json(self) -> str:
        return json.dumps({"history": self.events, "input": self.input,
                           "instanceId": self.instance_id, "isReplaying": False,
                           "parentInstanceId": None, "upperSchemaVersion": 1,
                           "upperSchemaVersionNew": 2,
                           "longRunningTimerIntervalDuration": "3.00:00:00",
                           "maximumShortTimerDuration": "6.00:00:00"})


def flatten(actions: list) -> list[dict]:
    """Atomic actions in order, with compound (WhenAll/WhenAny) actions expanded."""
    flat = []
    for action in actions:
        if "compoundActions" in action:
            flat.extend(flatten(action["compoundActions"]))
        else:
            flat.append(action)
    return flat


@pytest.fixture()
def make_history():
    """``make_history(input, orchestrator="book_trip")``: a fresh :class:`History`."""
    return lambda orchestration_input, orchestrator="book_trip": History(orchestrator,
                                                                        orchestration_input)


@pytest.fixture(scope="session")
def orchestrators():
    """Orchestrator handlers by name, indexed the way the worker does it.

    A fresh DFApp: ``get_functions()`` may run only once per app, and the local host may already
    have indexed ``function_app.app`` in this process.
    """
    import azure.durable_functions as df

    from orchestrators import backup, booking, sites

    app = df.DFApp()
    for blueprint in (booking.bp, backup.bp, sites.bp):
        app.register_functions(blueprint)
    return {f.get_function_name(): f.get_user_function() for f in app.get_functions()}


@pytest.fixture()
def replay(orchestrators):
    """``replay(name, history)`` runs one episode and returns the state: ``done``, ``output``,
    ``custom_status`` and the flattened ``actions`` since the execution began."""

    def run(name: str, history: History) -> dict:
        state = json.loads(orchestrators[name](history.context_json()))
        return {"done": state["isDone"], "output": state.get("output"),
                "custom_status": state.get("customStatus"),
                "actions": flatten(state["actions"][0] if state["actions"] else [])}

    return run

"""Run an app on the local host from tests: ``LocalHost`` starts it, drives it and stops it.

    from emulator.testing import LocalHost

    with LocalHost(app_dir, time_skipping=True) as host:
        instance_id = host.start("book_trip", {"traveler": "Ada"})
        status = host.wait(instance_id)             # a terminal status payload
        assert status["runtimeStatus"] == "Completed"

The host runs in process by default (a background thread with its own event loop, on a free
port) or, with ``subprocess=True``, as ``python -m emulator`` - the way to test crashes and to
measure without sharing a GIL with the test. Either way tests talk to it over HTTP, exactly as
users and the SDK's client do, so anything that passes here passes against ``func start``'s API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from ..host.child_process import REPO_ROOT, LocalHostError, child_env, start_listening
from ..host.server import HostOptions, LocalHostServer
from ..http.payloads import WEBHOOK_PATH
from ..protocol.enums import TERMINAL as _TERMINAL

TERMINAL = frozenset(s.value for s in _TERMINAL)
__all__ = ["REPO_ROOT", "TERMINAL", "LocalHost", "LocalHostError", "child_env",
           "start_listening"]
class LocalHost:
    """A local host for one app; a context manager.

    Args:
        app_dir: the app folder (``function_app.py``, ``host.json``).
        time_skipping: jump the clock to the next timer whenever nothing else can run:
            ``True``/``"always"``, or ``"while-waiting"`` (only while a client waits, e.g.
            ``wait``); ``False`` is real time.
        state: ``":memory:"`` (default) or an SQLite file path.
        settings: app settings that win over ``local.settings.json``.
        subprocess: run ``python -m emulator`` in a child process instead of in process.
        max_activities, max_orchestrators, threads: override host.json limits.
        log_level: the host's log level (``warning`` keeps test output short).
        worker, python: ``"process"`` (the default) or ``"in-process"`` (the app's module is then
            ``host.server.app.module``); the workers' interpreter or venv folder.
        queue_lease: seconds a running queue message stays invisible (default 30).
    """

    def __init__(self, app_dir: str | os.PathLike[str] = REPO_ROOT, *,
                 time_skipping: bool | str = False, state: str = ":memory:",
                 settings: dict[str, str] | None = None, subprocess: bool = False,
                 max_activities: int | None = None, max_orchestrators: int | None = None,
                 threads: int | None = None, log_level: str = "warning",
                 port: int = 0, worker: str | None = None, python: str | None = None,
                 queue_lease: float | None = None) -> None:
        self.options = HostOptions(app_dir=Path(app_dir), port=port, state=state,
                                   time_skipping=time_skipping, max_activities=max_activities,
                                   max_orchestrators=max_orchestrators, threads=threads,
                                   settings=dict(settings or {}), python=python,
                                   queue_lease=queue_lease,
                                   **({"worker": worker} if worker else {}))
        self.use_subprocess = subprocess
        self.log_level = log_level
        self.base_url = ""
        self.http = requests.Session()
        self._sdk_generation: str | None = None  # the app's durable SDK, once asked
        self.process: Any = None
        self.server: LocalHostServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> LocalHost:
        self.start_host()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_host()

    def start_host(self, timeout: float = 60.0) -> LocalHost:
        if self.use_subprocess:
            self._start_subprocess(timeout)
        else:
            self._start_in_process(timeout)
        return self

    def _start_in_process(self, timeout: float) -> None:
        import logging

        logging.getLogger("emulator").setLevel(self.log_level.upper())
        self.server = LocalHostServer(self.options)
        self.server.prepare()  # import errors surface here, in the caller's thread
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                port = loop.run_until_complete(self.server.start())
                self.base_url = f"http://127.0.0.1:{port}"
            except BaseException as exc:  # noqa: BLE001 - reported to the caller
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.server.stop())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="local-host", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise LocalHostError("the local host did not start in time")
        if failure:
            raise LocalHostError(f"the local host did not start: {failure[0]}") from failure[0]

    def _start_subprocess(self, timeout: float) -> None:
        command = [sys.executable, "-m", "emulator", *self.options.flags(self.log_level)]
        self.process, self.base_url = start_listening(command, "the local host", timeout)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        self.output: list[str] = []
        for line in self.process.stdout:
            self.output.append(line)

    def stop_host(self) -> None:
        self.http.close()
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.process.kill()
            self.process = None
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._loop = None

    def kill(self) -> None:
        """SIGKILL the subprocess host (crash tests)."""
        if self.process is None:
            raise LocalHostError("kill() needs subprocess=True")
        self.process.kill()
        self.process.wait()
        self.process = None

    # -- HTTP ------------------------------------------------------------------------------
    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """An HTTP request to the host; ``path`` starts with ``/``."""
        kwargs.setdefault("timeout", 60)
        return self.http.request(method, self.base_url + path, **kwargs)

    def _instance_path(self, instance_id: str, tail: str = "") -> str:
        return f"{WEBHOOK_PATH}/instances/{quote(instance_id, safe='')}{tail}"

    def start(self, name: str, input: Any = None, instance_id: str | None = None, *,
              version: str | None = None) -> str:
        """Start orchestration ``name`` with ``input``; its instance id.

        The input is encoded as the app's SDK client sends it, so any JSON value arrives
        intact, strings included: the 1.x ``DurableOrchestrationClient.start_new`` sends a JSON
        string holding the JSON text, the 2.x client the JSON text itself.
        ``version`` overrides host.json's ``defaultVersion`` (``start_new(version=)``).
        """
        path = f"{WEBHOOK_PATH}/orchestrators/{quote(name, safe='')}"
        if instance_id:
            path += f"/{quote(instance_id, safe='')}"
        if self._sdk() == "2.x":  # the 2.x client sends the JSON text itself (gRPC)
            body = None if input is None else json.dumps(input)
        else:
            body = None if input is None else json.dumps(json.dumps(input))
        response = self.request("POST", path, data=body,
                                params={"version": version} if version is not None else None,
                                headers={"Content-Type": "application/json"})
        if response.status_code != 202:
            raise LocalHostError(f"start {name}: HTTP {response.status_code} {response.text}")
        return response.json()["id"]

    def _sdk(self) -> str:
        """The app's durable SDK generation, as the host reports it (asked once)."""
        if self._sdk_generation is None:
            info = self.request("GET", "/admin/host/status").json()
            self._sdk_generation = info["extensions"]["durableTask"].get("sdk", "1.x")
        return self._sdk_generation

    def status(self, instance_id: str, *, history: bool = False,
               waiting: float | None = None) -> dict[str, Any] | None:
        """The status payload, or None for an unknown instance.

        ``waiting``: seconds this request counts as a client waiting on the instance (lets a
        ``while-waiting`` host skip time until then); None for a plain look.
        """
        params = {"showHistory": "true", "showHistoryOutput": "true"} if history else {}
        if waiting is not None:
            params["waitingSeconds"] = f"{waiting:g}"
        response = self.request("GET", self._instance_path(instance_id), params=params)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        """``historyEvents`` of the instance (with inputs and outputs)."""
        status = self.status(instance_id, history=True)
        if status is None:
            raise LocalHostError(f"no instance {instance_id}")
        return status.get("historyEvents", [])

    def raw_history(self, instance_id: str) -> dict[str, Any]:
        """The stored history as the engine keeps it: ``{"instance": ..., "history": [...]}``."""
        response = self.request("GET", f"/admin/emulator/instances/"
                                       f"{quote(instance_id, safe='')}/history")
        response.raise_for_status()
        return response.json()

    def wait_until(self, instance_id: str, predicate: Callable[[dict[str, Any]], bool], *,
                   timeout: float = 30.0, waiting: bool = True) -> dict[str, Any]:
        """Wait until ``predicate(status)`` holds; the status that satisfied it.

        The host answers each long poll when the instance changes (``/admin/emulator/instances
        /{id}/wait``), so this wakes on the change, not on a polling interval. The wait counts
        as a waiting client (time skips on a ``while-waiting`` host) unless ``waiting=False``:
        then the host is only watched, as a person would."""
        deadline = time.monotonic() + timeout
        path = f"/admin/emulator/instances/{quote(instance_id, safe='')}/wait"
        version, status = -1, None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            params = {"after": version, "timeout": f"{remaining:.3f}"}
            if not waiting:
                params["waiting"] = "false"
            response = self.request("GET", path, params=params, timeout=remaining + 30)
            response.raise_for_status()
            body = response.json()
            status = body["status"]
            if status is not None and predicate(status):
                return status
            if body["version"] <= version:
                break  # the host's wait ran out: nothing changed in time
            version = body["version"]
        raise LocalHostError(f"{instance_id}: condition not met within {timeout} s; "
                             f"last status: {status}")

    def wait(self, instance_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait for a terminal state (Completed, Failed, Terminated); the status payload.

        A waiting client: on a ``while-waiting`` host, time skips meanwhile.
        """
        return self.wait_until(instance_id, lambda s: s["runtimeStatus"] in TERMINAL,
                               timeout=timeout)

    def run_function(self, name: str, input: Any = None) -> None:
        """Run a timer-, queue-, blob- or other-triggered function now, as Core Tools'
        ``POST /admin/functions/{name}`` does (the run happens in the background)."""
        response = self.request("POST", f"/admin/functions/{quote(name, safe='')}",
                                json={"input": input})
        if response.status_code != 202:
            raise LocalHostError(f"running {name}: HTTP {response.status_code} "
                                 f"{response.text[:300]}")

    def triggers(self, depths: bool = True) -> dict[str, Any]:
        """The trigger sources' state (``GET /admin/emulator/triggers``)."""
        response = self.request("GET", "/admin/emulator/triggers",
                                params={"depths": str(depths).lower()})
        response.raise_for_status()
        return response.json()

    def raise_event(self, instance_id: str, name: str, data: Any = None) -> requests.Response:
        """Raise event ``name`` with ``data`` as the raw JSON body (arrives as a dict)."""
        response = self.request("POST", self._instance_path(instance_id,
                                                            f"/raiseEvent/{quote(name)}"),
                                data=json.dumps(data),
                                headers={"Content-Type": "application/json"})
        if response.status_code != 202:
            raise LocalHostError(f"raise {name}: HTTP {response.status_code} {response.text}")
        return response

    def _operation(self, instance_id: str, operation: str, reason: str | None) -> None:
        query = f"?reason={quote(reason)}" if reason else ""
        response = self.request("POST", self._instance_path(instance_id,
                                                            f"/{operation}{query}"))
        if response.status_code != 202:
            raise LocalHostError(f"{operation}: HTTP {response.status_code} {response.text}")

    def terminate(self, instance_id: str, reason: str | None = None) -> None:
        self._operation(instance_id, "terminate", reason)

    def suspend(self, instance_id: str, reason: str | None = None) -> None:
        self._operation(instance_id, "suspend", reason)

    def resume(self, instance_id: str, reason: str | None = None) -> None:
        self._operation(instance_id, "resume", reason)

    def rewind(self, instance_id: str, reason: str | None = None) -> None:
        """Rewind a Failed instance: it resumes from its failed activities and children."""
        self._operation(instance_id, "rewind", reason)

    def purge(self, instance_id: str) -> int:
        response = self.request("DELETE", self._instance_path(instance_id))
        return response.json()["instancesDeleted"] if response.status_code == 200 else 0

    # -- the clock (time-skipping hosts) -----------------------------------------------------
    @contextlib.contextmanager
    def clock_held(self) -> Iterator[None]:
        """Stop time skipping inside the block (e.g. to raise an event before a timeout)."""
        self.request("POST", "/admin/emulator/clock/hold").raise_for_status()
        try:
            yield
        finally:
            self.request("POST", "/admin/emulator/clock/release").raise_for_status()

    def advance(self, seconds: float) -> None:
        """Move a time-skipping host's clock forward."""
        self.request("POST", f"/admin/emulator/clock/advance?seconds={seconds}") \
            .raise_for_status()

    def now(self) -> str:
        return self.request("GET", "/admin/emulator/clock").json()["now"]

    # -- durable entities --------------------------------------------------------------------
    def _entity_path(self, name: str, key: str) -> str:
        return f"{WEBHOOK_PATH}/entities/{quote(name, safe='')}/{quote(key or '$', safe='')}"

    def signal_entity(self, name: str, key: str, operation: str, input: Any = None) -> None:
        """Signal an entity, with the input encoded as the SDK's client encodes it."""
        body = json.dumps(json.dumps(input)) if input is not None else None
        response = self.request("POST", self._entity_path(name, key),
                                params={"op": operation}, data=body,
                                headers={"Content-Type": "application/json"})
        if response.status_code != 202:
            raise LocalHostError(f"signal_entity {name}/{key} {operation}: "
                                 f"{response.status_code} {response.text}")

    def entity_state(self, name: str, key: str) -> Any:
        """The entity's state, or ``None`` when the entity does not exist."""
        response = self.request("GET", self._entity_path(name, key))
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def wait_entity(self, name: str, key: str, predicate: Callable[[Any], bool], *,
                    timeout: float = 30.0) -> Any:
        """Poll the entity's state until ``predicate(state)`` holds (state ``None``: absent)."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.entity_state(name, key)
            if predicate(state):
                return state
            if time.monotonic() > deadline:
                raise LocalHostError(f"entity {name}/{key} still has state {state!r}")
            time.sleep(0.005)

    def entities(self, name: str | None = None, *, fetch_state: bool = True) -> list[dict]:
        """Every existing entity (of one entity function), following continuation tokens."""
        path = f"{WEBHOOK_PATH}/entities" + (f"/{quote(name, safe='')}" if name else "")
        out: list[dict] = []
        token = None
        while True:
            response = self.request("GET", path, params={"fetchState": str(fetch_state).lower()},
                                    headers={"x-ms-continuation-token": token} if token else {})
            response.raise_for_status()
            out.extend(response.json())
            token = response.headers.get("x-ms-continuation-token")
            if not token:
                return out

    def clean_entity_storage(self) -> dict[str, int]:
        response = self.request("POST", "/admin/emulator/entities/clean")
        response.raise_for_status()
        return response.json()

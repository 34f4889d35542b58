"""Start Azurite (the Azure Storage emulator, installed by ``make setup`` from npm) on free ports.

Used by the tests, ``python -m emulator --azurite`` and ``make run``::

    with Azurite(workdir) as azurite:
        azurite.connection_string   # blob endpoint on 127.0.0.1:<free port>

``Azurite(workdir, queue=True, table=True)`` also serves the queue and table services (the
``azurite`` launcher with all three on free ports; the connection string names each endpoint).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .child_process import free_ports

ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public, documented; not a secret).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
REPO_ROOT = Path(__file__).resolve().parents[2]
START_ATTEMPTS = 3  # tries with freshly chosen ports when one was taken meanwhile
_IN_USE = re.compile(rb"EADDRINUSE[^\n]*?:(\d+)\s*$", re.MULTILINE)


class AzuriteError(RuntimeError):
    pass


class PortTaken(AzuriteError):
    """Azurite exited because a port it was to listen on is in use."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"Azurite could not listen on {host}:{port}: the port is in use")
        self.port = port


def find_azurite_blob(launcher: str = "azurite-blob") -> str:
    """The ``azurite-blob`` launcher (or another): node_modules of this repo first, then PATH."""
    local = REPO_ROOT / "node_modules" / ".bin" / launcher
    if local.exists():
        return str(local)
    found = shutil.which(launcher)
    if found:
        return found
    raise AzuriteError("Azurite is not installed: run `make setup` (npm install) first")


class Azurite:
    """Azurite's blob service in a subprocess; a context manager."""

    def __init__(self, workdir: str | os.PathLike[str] | None = None, *,
                 port: int | None = None, host: str = "127.0.0.1",
                 queue: bool = False, table: bool = False) -> None:
        self.host = host
        self._given_port = port
        self._serves = (queue, table)
        self._choose_ports()
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="azurite-")
        self.workdir = Path(workdir) if workdir else Path(self._tmp.name)
        self._process: subprocess.Popen | None = None

    def _choose_ports(self) -> None:
        """Free ports for every service not given one, all distinct (and none the given port).
        The all-in-one launcher (queue or table asked for) listens with all three services."""
        queue, table = self._serves
        all_in_one = queue or table
        wanted = (self._given_port is None) + 2 * all_in_one
        chosen = iter([p for p in free_ports(wanted + 1, self.host) if p != self._given_port])
        self.port = self._given_port or next(chosen)
        self._other_ports = (next(chosen), next(chosen)) if all_in_one else None
        self.queue_port = self._other_ports[0] if queue else None
        self.table_port = self._other_ports[1] if table else None

    @property
    def blob_endpoint(self) -> str:
        return f"http://{self.host}:{self.port}/{ACCOUNT}"

    @property
    def queue_endpoint(self) -> str | None:
        return f"http://{self.host}:{self.queue_port}/{ACCOUNT}" if self.queue_port else None

    @property
    def table_endpoint(self) -> str | None:
        return f"http://{self.host}:{self.table_port}/{ACCOUNT}" if self.table_port else None

    @property
    def connection_string(self) -> str:
        extra = "".join(f"{name}Endpoint={endpoint};" for name, endpoint in
                        (("Queue", self.queue_endpoint), ("Table", self.table_endpoint))
                        if endpoint)
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
                f"BlobEndpoint={self.blob_endpoint};{extra}")

    def _command(self) -> list[str]:
        common = ["--location", str(self.workdir), "--skipApiVersionCheck", "--loose",
                  "--silent"]
        blob = ["--blobHost", self.host, "--blobPort", str(self.port)]
        if self._other_ports is None:
            return [find_azurite_blob(), *blob, *common]
        # a service not asked for listens on its free port all the same
        queue_port, table_port = self._other_ports
        return [find_azurite_blob("azurite"), *blob, "--queueHost", self.host, "--queuePort",
                str(queue_port), "--tableHost", self.host, "--tablePort", str(table_port),
                *common]

    def start(self, timeout: float = 30.0) -> Azurite:
        """Start Azurite and wait until each service listens. A port it chose that something
        else took meanwhile is chosen again (up to ``START_ATTEMPTS`` times); a given port in
        use is an AzuriteError that names it."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        log_path = self.workdir / "azurite.log"
        attempt = 0
        while True:
            attempt += 1
            logged_before = log_path.stat().st_size if log_path.exists() else 0
            with open(log_path, "ab") as log:
                self._process = subprocess.Popen(self._command(), stdout=log,
                                                 stderr=subprocess.STDOUT,
                                                 stdin=subprocess.DEVNULL)
            try:
                self._wait_listening(log_path, logged_before, timeout)
                return self
            except PortTaken as taken:
                again = attempt < START_ATTEMPTS and taken.port != self._given_port
                self.stop(keep_workdir=again)  # the next try starts in the same workdir
                if not again:
                    raise
                self._choose_ports()
            except BaseException:  # including Ctrl-C while it starts: never leave it orphaned
                self.stop()
                raise

    def _wait_listening(self, log_path: Path, offset: int, timeout: float) -> None:
        """Wait for Azurite's own line "Blob service ... successfully listen... http://..." for
        each service it starts (in its log after ``offset``). A probe that connects cannot
        tell Azurite from another server, or one of its services from another on a port it is
        about to find taken."""
        deadline = time.monotonic() + timeout
        ports = {"Blob": self.port}
        if self._other_ports is not None:
            ports["Queue"], ports["Table"] = self._other_ports
        # "Blob service is successfully listening at http://..." (the azurite launcher) or
        # "Blob service successfully listens on http://..." (azurite-blob)
        awaited = [re.compile(rf"{name} service [^\n]*successfully listen[^\n]*"
                              rf"http://{re.escape(self.host)}:{port}\b".encode())
                   for name, port in ports.items()]
        while True:
            exited = self._process.poll() is not None
            with open(log_path, "rb") as log:
                log.seek(offset)
                logged = log.read()
            if all(line.search(logged) for line in awaited):
                return
            if exited:
                in_use = _IN_USE.search(logged)
                if in_use:
                    raise PortTaken(self.host, int(in_use.group(1)))
                raise AzuriteError(f"Azurite exited with code {self._process.returncode}; "
                                   f"see {log_path}")
            if time.monotonic() >= deadline:
                raise AzuriteError(f"Azurite did not listen on {self.host} in {timeout} s; "
                                   f"see {log_path}")
            time.sleep(0.05)

    def stop(self, *, keep_workdir: bool = False) -> None:
        if self._process is not None and self._process.poll() is None:
            # Azurite keeps serving idle keep-alive connections after SIGTERM for a long time;
            # its data is on disk already, so give it a moment, then kill it.
            self._process.terminate()
            try:
                self._process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        if self._tmp is not None and not keep_workdir:
            self._tmp.cleanup()

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

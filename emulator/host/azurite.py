"""Start Azurite (the Azure Storage emulator, installed by ``make setup`` from npm) on free ports.

Used by the tests, ``python -m emulator --azurite`` and ``make run``::

    with Azurite(workdir) as azurite:
        azurite.connection_string   # blob endpoint on 127.0.0.1:<free port>

``Azurite(workdir, queue=True, table=True)`` also serves the queue and table services (the
``azurite`` launcher with all three on free ports; the connection string names each endpoint).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .child_process import free_port

ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public, documented; not a secret).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
REPO_ROOT = Path(__file__).resolve().parents[2]


class AzuriteError(RuntimeError):
    pass


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
        self.port = port or free_port(host)
        self.queue_port = free_port(host) if queue else None
        self.table_port = free_port(host) if table else None
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="azurite-")
        self.workdir = Path(workdir) if workdir else Path(self._tmp.name)
        self._process: subprocess.Popen | None = None

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
        if not (self.queue_port or self.table_port):
            return [find_azurite_blob(), *blob, *common]
        # the all-in-one launcher; a service not asked for listens on a free port all the same
        queue_port = self.queue_port or free_port(self.host)
        table_port = self.table_port or free_port(self.host)
        return [find_azurite_blob("azurite"), *blob, "--queueHost", self.host, "--queuePort",
                str(queue_port), "--tableHost", self.host, "--tablePort", str(table_port),
                *common]

    def start(self, timeout: float = 30.0) -> Azurite:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "azurite.log", "ab")  # noqa: SIM115 - owned by the process
        self._process = subprocess.Popen(
            self._command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        try:
            self._wait_listening(timeout)
        except BaseException:  # including Ctrl-C while it starts: never leave it orphaned
            self.stop()
            raise
        return self

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for port in (p for p in (self.port, self.queue_port, self.table_port) if p):
            while True:
                if self._process.poll() is not None:
                    raise AzuriteError(f"Azurite exited with code {self._process.returncode}; "
                                       f"see {self.workdir / 'azurite.log'}")
                try:
                    with socket.create_connection((self.host, port), timeout=0.2):
                        break
                except OSError:
                    if time.monotonic() >= deadline:
                        raise AzuriteError(f"Azurite did not listen on {self.host}:{port} in "
                                           f"{timeout} s") from None
                    time.sleep(0.05)

    def stop(self) -> None:
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
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

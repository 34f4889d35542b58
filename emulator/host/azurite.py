"""Start Azurite (the Azure Storage emulator, installed by ``make setup`` from npm) on free ports.

Used by the tests, ``python -m emulator --azurite`` and ``make run``::

    with Azurite(workdir) as azurite:
        azurite.connection_string   # blob endpoint on 127.0.0.1:<free port>
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


def find_azurite_blob() -> str:
    """The ``azurite-blob`` launcher: node_modules of this repo first, then PATH."""
    local = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    found = shutil.which("azurite-blob")
    if found:
        return found
    raise AzuriteError("Azurite is not installed: run `make setup` (npm install) first")


class Azurite:
    """Azurite's blob service in a subprocess; a context manager."""

    def __init__(self, workdir: str | os.PathLike[str] | None = None, *,
                 port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port(host)
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="azurite-")
        self.workdir = Path(workdir) if workdir else Path(self._tmp.name)
        self._process: subprocess.Popen | None = None

    @property
    def blob_endpoint(self) -> str:
        return f"http://{self.host}:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
                f"BlobEndpoint={self.blob_endpoint};")

    def start(self, timeout: float = 30.0) -> Azurite:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "azurite.log", "ab")  # noqa: SIM115 - owned by the process
        self._process = subprocess.Popen(
            [find_azurite_blob(), "--blobHost", self.host, "--blobPort", str(self.port),
             "--location", str(self.workdir), "--skipApiVersionCheck", "--loose", "--silent"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        try:
            self._wait_listening(timeout)
        except BaseException:  # including Ctrl-C while it starts: never leave it orphaned
            self.stop()
            raise
        return self

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise AzuriteError(f"Azurite exited with code {self._process.returncode}; see "
                                   f"{self.workdir / 'azurite.log'}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AzuriteError(f"Azurite did not listen on {self.host}:{self.port} in {timeout} s")

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

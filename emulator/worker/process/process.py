"""One worker process seen from the host: start it, send invocations, route its replies and logs.

The process is the app's interpreter running ``child/__main__.py``; its standard input and
output carry frames (``child/wire.py``), its standard error is the app's ``print`` output and
anything Python writes before dying, logged line by line and kept (the last lines) for the
exit message, as the Functions host keeps a worker's standard error.

Writes are batched: frames sent during one turn of the event loop go out in one write.
Replies resolve the futures of their calls; when the process ends, every call still in flight
fails with ``WorkerExited``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .child import wire
from .errors import WorkerExited, WorkerRestarted, WorkerStartError, failed

log = logging.getLogger("emulator.worker")

STDERR_TAIL = 20


class Reply:
    """A worker's answer: the header's fields and the body."""

    __slots__ = ("fields", "body")

    def __init__(self, fields: dict[str, Any], body: bytes | None) -> None:
        self.fields = fields
        self.body = body

    @property
    def text(self) -> str | None:
        return None if self.body is None else self.body.decode()


class _Call:
    __slots__ = ("future", "function", "timer")

    def __init__(self, future: asyncio.Future, function: str) -> None:
        self.future = future
        self.function = function
        self.timer: asyncio.TimerHandle | None = None


class _Pipes(asyncio.SubprocessProtocol):
    def __init__(self, owner: WorkerProcess) -> None:
        self.owner = owner

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd == 1:
            self.owner._frames(data)
        else:
            self.owner._stderr(data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:
            self.owner._output_closed()

    def process_exited(self) -> None:
        self.owner._process_exited()


class WorkerProcess:
    """A started worker: ``start()`` answers its function index; ``call()`` one invocation."""

    def __init__(self, command: list[str], app_dir: Path, *, number: int,
                 on_exit: Callable[[WorkerProcess], None] | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.command = command
        self.app_dir = app_dir
        self.number = number
        self.on_exit = on_exit
        self.env = env
        self.pid: int | None = None
        self.python_version = ""
        self.executable = command[0]
        self.exit_code: int | None = None
        self.closing = False
        self.killed = False
        self.restarted = False  # killed for another call's timeout: its calls may run again
        self._stacks: dict[int, asyncio.Future] = {}
        self.inflight: dict[int, _Call] = {}
        self._next_id = 0
        self._reader = wire.FrameReader()
        self._outbox: list[bytes] = []
        self._stderr_partial = b""
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
        self._hello: asyncio.Future | None = None
        self._transport: asyncio.SubprocessTransport | None = None
        self._stdin: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._output_open = True
        self._finished = False
        self.exited: asyncio.Future | None = None

    @property
    def alive(self) -> bool:
        return (self.exit_code is None and not self.closing and not self.killed
                and self._transport is not None)

    async def start(self) -> list[dict[str, Any]]:
        """Spawn the process and wait for its index (WorkerStartError if it cannot index)."""
        loop = self._loop = asyncio.get_running_loop()
        self._hello = loop.create_future()
        self.exited = loop.create_future()
        try:
            self._transport, _ = await loop.subprocess_exec(
                lambda: _Pipes(self), *self.command, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(self.app_dir),
                env=self.env)
        except OSError as exc:
            raise WorkerStartError(f"cannot start the worker ({self.command[0]}): {exc}") from exc
        self.pid = self._transport.get_pid()
        self._stdin = self._transport.get_pipe_transport(0)
        hello = await self._hello
        if "error" in hello:
            raise WorkerStartError(hello["error"])
        self.python_version = hello.get("python", "")
        self.executable = hello.get("executable") or self.executable
        return hello["functions"]

    def call(self, kind: str, function: str, fields: dict[str, Any],
             body: bytes | None) -> asyncio.Future:
        """Send one invocation; the future resolves to a ``Reply`` or fails with
        ``FunctionFailed`` / ``WorkerExited``."""
        loop = self._loop
        future = loop.create_future()
        if not self.alive:
            future.set_exception(WorkerExited(self.executable, self.exit_code or -1))
            return future
        self._next_id += 1
        call_id = self._next_id
        self.inflight[call_id] = _Call(future, function)
        self._send(wire.encode({"t": "invoke", "id": call_id, "kind": kind, "fn": function,
                                **fields}, body))
        future.call_id = call_id  # type: ignore[attr-defined]
        return future

    def _send(self, frame: bytes) -> None:
        if not self._outbox:
            self._loop.call_soon(self._flush)
        self._outbox.append(frame)

    async def stack_of(self, future: asyncio.Future, timeout: float = 2.0) -> str:
        """Where the worker is in that call (its stack), or "" if it does not say in time."""
        call_id = getattr(future, "call_id", None)
        if call_id is None or not self.alive:
            return ""
        answer = self._loop.create_future()
        self._stacks[call_id] = answer
        self._send(wire.encode({"t": "stack", "id": call_id}))
        try:
            return await asyncio.wait_for(answer, timeout)
        except TimeoutError:
            return ""
        finally:
            self._stacks.pop(call_id, None)

    def restart(self) -> None:
        """Kill it for another call's timeout: the calls it still holds fail with
        ``WorkerRestarted`` (they may run again), not ``WorkerExited``."""
        self.restarted = True
        self.kill()

    def forget(self, future: asyncio.Future) -> None:
        self.inflight.pop(getattr(future, "call_id", -1), None)

    def _flush(self) -> None:
        frames, self._outbox = self._outbox, []
        if frames and self._stdin is not None and not self._stdin.is_closing():
            self._stdin.write(b"".join(frames))

    def kill(self) -> None:
        self.killed = True
        if self._transport is not None and self.exit_code is None:
            try:
                self._transport.kill()
            except ProcessLookupError:
                pass

    def close_now(self) -> None:
        """Close its input without waiting: the worker exits by itself (and within a couple of
        seconds even if the app holds its event loop)."""
        self.closing = True
        if self._stdin is not None:
            self._stdin.close()

    async def close(self, timeout: float = 5.0) -> None:
        """Close its input (the worker exits), and kill it if it does not within ``timeout``."""
        self.closing = True
        if self._transport is None:
            return
        if self._stdin is not None:
            self._stdin.close()
        try:
            await asyncio.wait_for(asyncio.shield(self.exited), timeout)
        except TimeoutError:
            self.kill()
            await self.exited
        self._transport.close()

    # -- the protocol's callbacks ------------------------------------------------------------

    def _frames(self, data: bytes) -> None:
        try:
            frames = self._reader.feed(data)
        except wire.WireError as exc:
            log.error("worker %d (pid %s) wrote something that is not a frame: %s; it is "
                      "replaced", self.number, self.pid, exc)
            self.kill()
            return
        for header, body in frames:
            kind = header.get("t")
            if kind == "done" or kind == "failed":
                call = self.inflight.pop(header["id"], None)
                if call is None or call.future.done():
                    continue
                if call.timer is not None:
                    call.timer.cancel()
                if kind == "done":
                    call.future.set_result(Reply(header, body))
                else:
                    call.future.set_exception(failed(
                        header.get("type", "Exception"), header.get("message", ""),
                        header.get("stack", "")))
            elif kind == "log":
                self._log(header)
            elif kind == "stack":
                answer = self._stacks.get(header["id"])
                if answer is not None and not answer.done():
                    answer.set_result(header.get("stack", ""))
            elif kind == "hello" and self._hello is not None and not self._hello.done():
                self._hello.set_result(header)

    def _log(self, header: dict[str, Any]) -> None:
        name = header.get("logger") or "root"
        logger = logging.getLogger(None if name == "root" else name)
        level = int(header.get("level", logging.INFO))
        if not logger.isEnabledFor(level):
            return
        record = logger.makeRecord(logger.name, level, "(worker)", 0, header.get("msg", ""),
                                   None, None)
        record.invocation_id = header.get("id")
        record.worker_pid = self.pid
        logger.handle(record)

    def _stderr(self, data: bytes) -> None:
        lines = (self._stderr_partial + data).split(b"\n")
        self._stderr_partial = lines.pop()
        for line in lines:
            text = line.decode(errors="replace").rstrip("\r")
            self._stderr_tail.append(text)
            log.info("%s", text)

    def _output_closed(self) -> None:
        self._output_open = False
        if self._transport is not None and self._transport.get_returncode() is not None:
            self._exited()

    def _process_exited(self) -> None:
        """Replies written just before the end are still in the pipe: finish once it is read
        (or after a second, when a child of the app holds the pipe open)."""
        if self._output_open:
            self._loop.call_later(1.0, self._exited)
        else:
            self._exited()

    def _exited(self) -> None:
        if self._finished:
            return
        self._finished = True
        code = self._transport.get_returncode() if self._transport else -1
        if code is not None and code < 0 and os.name != "nt":
            code = 128 - code  # killed by a signal: the exit code .NET reports (137 for KILL)
        self.exit_code = -1 if code is None else code
        if self._stderr_partial:
            self._stderr(b"\n")
        error = (WorkerRestarted if self.restarted else WorkerExited)(
            self.executable, self.exit_code, ",".join(t for t in self._stderr_tail if t)[-2000:])
        if self._hello is not None and not self._hello.done():
            self._hello.set_result({"error": f"the worker exited before indexing the app: "
                                             f"{error}"})
        calls, self.inflight = self.inflight, {}
        for call in calls.values():
            if call.timer is not None:
                call.timer.cancel()
            if not call.future.done():
                call.future.set_exception(error)
        if self.exited is not None and not self.exited.done():
            self.exited.set_result(self.exit_code)
        if self.on_exit is not None:
            self.on_exit(self)

"""A worker process: index the app, then run what the host sends until its pipe closes.

Like the Functions Python worker: synchronous functions run on a thread pool of
``PYTHON_THREADPOOL_THREAD_COUNT`` threads, ``async def`` functions on the event loop of the main
thread. (Orchestrator and entity handlers get two threads of their own, as in the in-process
host: the real worker runs them on the same pool, where hung activities can starve them.)
A reader thread cuts the host's stream into frames and hands them out; a writer thread sends
whatever replies and log records piled up in one write, so a burst of completions costs one
system call, not one per reply.

Standard output and input belong to the protocol: ``print()`` in the app goes to standard
error, which the host logs line by line. Log records of the app (the root logger) travel as
frames with the invocation they belong to.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import io
import logging
import os
import signal
import sys
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import sdk_compat, sdk_speedups, wire
from .index import AppIndexError, Indexed, index_app
from .invoke import prepare
from .watchdog import LoopWatchdog

CURRENT = contextvars.ContextVar("invocation", default=None)
REPLAY_THREADS = 2


class Writer:
    """Frames to the host, written by one thread in batches."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._cond = threading.Condition()
        self._pending: list[bytes] = []
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="host-writer", daemon=True)
        self._thread.start()

    def send(self, header: dict[str, Any], body: bytes | None = None) -> None:
        frame = wire.encode(header, body)
        with self._cond:
            self._pending.append(frame)
            if len(self._pending) == 1:
                self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(5)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                chunk, self._pending = self._pending, []
                if not chunk:
                    return
            data = memoryview(b"".join(chunk))
            try:
                while data:
                    data = data[os.write(self.fd, data):]
            except OSError:  # the host is gone: nothing left to answer to
                os._exit(0)


class HostLogHandler(logging.Handler):
    """The app's log records, sent to the host with the invocation they belong to."""

    def __init__(self, writer: Writer) -> None:
        super().__init__()
        self.writer = writer
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
        except Exception:
            message = str(record.msg)
        self.writer.send({"t": "log", "id": CURRENT.get(), "level": record.levelno,
                          "logger": record.name, "msg": message})


def failure(exc: BaseException) -> dict[str, Any]:
    return {"type": type(exc).__name__, "message": str(exc),
            "stack": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))}


class Dispatcher:
    """Runs invocations: sync ones on the pool, async ones on the loop."""

    def __init__(self, indexed: Indexed, pool: ThreadPoolExecutor,
                 loop: asyncio.AbstractEventLoop, writer: Writer) -> None:
        self.descriptions = {d["name"].lower(): d for d in indexed.functions}
        self.callables = indexed.callables
        self.pool = pool
        # Orchestrator episodes and entity batches are the SDK's replay, short and never
        # blocking: they get threads of their own (as in the in-process host), so activities
        # stuck on I/O cannot starve them past functionTimeout.
        self.replay_pool = ThreadPoolExecutor(REPLAY_THREADS, thread_name_prefix="replay")
        self.loop = loop
        self.writer = writer
        self.running: dict[int, Any] = {}  # call id -> its thread's ident, or its task

    def stack_of(self, call_id: int) -> str:
        """Where a running call is, for the host's timeout message (from the reader thread)."""
        running = self.running.get(call_id)
        if isinstance(running, int):
            frame = sys._current_frames().get(running)
            return "".join(traceback.format_stack(frame)) if frame is not None else ""
        if running is not None:
            out = io.StringIO()
            running.print_stack(file=out)
            return out.getvalue()
        return ""

    def dispatch(self, frames: list[tuple[dict[str, Any], bytes | None]]) -> None:
        on_loop = []
        for header, body in frames:
            if header.get("t") == "stack":
                self.writer.send({"t": "stack", "id": header["id"],
                                  "stack": self.stack_of(header["id"])})
                continue
            if header.get("t") != "invoke":
                continue
            key = str(header.get("fn", "")).lower()
            description = self.descriptions.get(key)
            if description is None:
                self.writer.send({"t": "failed", "id": header["id"], "type": "LookupError",
                                  "message": f"no function named {header.get('fn')!r}",
                                  "stack": ""})
            elif description["is_async"]:
                on_loop.append((header, body, description))
            elif header.get("kind") in ("orchestrator", "entity"):
                self.replay_pool.submit(self._run_sync, header, body, description)
            else:
                self.pool.submit(self._run_sync, header, body, description)
        if on_loop:
            self.loop.call_soon_threadsafe(self._start_async, on_loop)

    def _reply(self, call_id: int, finish: Any, returned: Any) -> None:
        fields, body = finish(returned)
        self.writer.send({"t": "done", "id": call_id, **fields}, body)

    def _run_sync(self, header: dict[str, Any], body: bytes | None,
                  description: dict[str, Any]) -> None:
        call_id = header["id"]
        token = CURRENT.set(header.get("invocation_id"))
        self.running[call_id] = threading.get_ident()
        try:
            call, finish = prepare(header["kind"], description,
                                   self.callables[description["name"].lower()], header, body)
            self._reply(call_id, finish, call())
        except BaseException as exc:  # noqa: BLE001 - every failure is the function's answer
            self.writer.send({"t": "failed", "id": call_id, **failure(exc)})
        finally:
            self.running.pop(call_id, None)
            CURRENT.reset(token)

    def _start_async(self, batch: list[tuple[dict[str, Any], bytes | None, dict]]) -> None:
        for header, body, description in batch:
            self.loop.create_task(self._run_async(header, body, description))

    async def _run_async(self, header: dict[str, Any], body: bytes | None,
                         description: dict[str, Any]) -> None:
        call_id = header["id"]
        CURRENT.set(header.get("invocation_id"))
        self.running[call_id] = asyncio.current_task()
        try:
            call, finish = prepare(header["kind"], description,
                                   self.callables[description["name"].lower()], header, body)
            self._reply(call_id, finish, await call())
        except BaseException as exc:  # noqa: BLE001
            self.writer.send({"t": "failed", "id": call_id, **failure(exc)})
        finally:
            self.running.pop(call_id, None)


def adapt_sdk(*, speedups: bool) -> None:
    """The local host's SDK adaptations, here where the SDK runs, each where it applies:
    ``sdk_compat`` (1.x: the client's polls count as waiting for time skipping) and
    ``sdk_speedups`` (1.x: fast timestamps; 1.x and 2.x: the codec's typing mode read once).
    An app without the durable SDK gets neither."""
    for install in (sdk_compat.install, *([sdk_speedups.install] if speedups else [])):
        try:
            install()
        except ImportError:
            pass


def take_stdio() -> tuple[int, int]:
    """The protocol's descriptors (the original stdin and stdout); the app's ``print`` goes
    to standard error from now on, and its reads of standard input find nothing."""
    proto_in, proto_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    try:
        sys.stdout.reconfigure(line_buffering=True)
        sys.stderr.reconfigure(line_buffering=True)
    except (AttributeError, ValueError):
        pass
    return proto_in, proto_out


EXIT_GRACE = 2.0  # seconds between the host closing the pipe and a forced exit


def read_frames(fd: int, dispatcher: Dispatcher, loop: asyncio.AbstractEventLoop) -> None:
    """Hand the host's frames out until its pipe closes; then stop the loop, and exit anyway
    after ``EXIT_GRACE`` (an ``async def`` of the app may hold the loop)."""
    reader = wire.FrameReader()
    try:
        while True:
            data = os.read(fd, 1 << 16)
            if not data:
                break
            dispatcher.dispatch(reader.feed(data))
    finally:
        loop.call_soon_threadsafe(loop.stop)
        threading.Timer(EXIT_GRACE, os._exit, args=(0,)).start()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="worker")
    parser.add_argument("--app", required=True)
    parser.add_argument("--threads", type=int, default=min(32, (os.cpu_count() or 1) + 4))
    parser.add_argument("--log-level", type=int, default=logging.INFO)
    parser.add_argument("--blocked-loop-seconds", type=float, default=2.0,
                        help="warn when an async function holds the loop this long (0: off)")
    parser.add_argument("--sdk-dateutil", action="store_true",
                        help="keep the SDK's own timestamp parsing (no sdk_speedups)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the host's to handle
    proto_in, proto_out = take_stdio()
    writer = Writer(proto_out)
    root = logging.getLogger()
    root.addHandler(HostLogHandler(writer))
    root.setLevel(args.log_level)
    hello: dict[str, Any] = {"t": "hello", "pid": os.getpid(),
                             "python": sys.version.split()[0], "executable": sys.executable}
    try:
        indexed = index_app(Path(args.app).resolve())
    except AppIndexError as exc:
        writer.send({**hello, "error": str(exc)})
        writer.close()
        return 1
    adapt_sdk(speedups=not args.sdk_dateutil)
    writer.send({**hello, "functions": indexed.functions})
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pool = ThreadPoolExecutor(max(1, args.threads), thread_name_prefix="worker")
    dispatcher = Dispatcher(indexed, pool, loop, writer)
    threading.Thread(target=read_frames, args=(proto_in, dispatcher, loop),
                     name="host-reader", daemon=True).start()
    if args.blocked_loop_seconds > 0:
        LoopWatchdog(loop, Path(args.app), threshold=args.blocked_loop_seconds).start()
    loop.run_forever()
    writer.close()
    os._exit(0)  # the host closed the pipe: functions still running have no one to answer

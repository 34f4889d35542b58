"""The worker processes of one app: start them, spread invocations, replace the ones that die.

``FUNCTIONS_WORKER_PROCESS_COUNT`` processes (1 to 10, default 1), each with a thread pool of
``PYTHON_THREADPOOL_THREAD_COUNT`` threads for synchronous functions and an event loop for
``async def`` ones, as the Functions host starts Python workers. Invocations go to the live
processes in turn (the host's round-robin load balancer).

A process that exits is replaced: its calls in flight fail with ``WorkerExited`` (the caller
decides what that means - an activity fails, an orchestration episode is retried) and a new
process takes its place. A call that passes its timeout fails with ``InvocationTimedOut`` and
its process is killed (the Functions host restarts after a ``functionTimeout``), which fails the
other calls in flight there with ``WorkerExited``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvocationTimedOut, PoolClosed, WorkerExited, WorkerStartError
from .interpreter import choose_python, interpreter_arguments, worker_command
from .process import Reply, WorkerProcess

log = logging.getLogger("emulator.worker")

PROCESS_COUNT = "FUNCTIONS_WORKER_PROCESS_COUNT"
THREAD_COUNT = "PYTHON_THREADPOOL_THREAD_COUNT"
MAX_PROCESSES = 10
RESTART_DELAYS = (0.0, 0.5, 1.0, 2.0, 5.0)


def default_threads() -> int:
    """The Python worker's default pool: min(32, processors + 4)."""
    return min(32, (os.cpu_count() or 1) + 4)


def _setting(environ: Mapping[str, str], name: str, low: int, high: int | None) -> int | None:
    text = environ.get(name)
    if text is None or not text.strip():
        return None
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        bound = f"{low} to {high}" if high is not None else f"at least {low}"
        raise WorkerStartError(f"app setting {name}={text!r}: expected a whole number {bound}")
    return value


@dataclass(frozen=True)
class PoolSettings:
    """How to start the workers of one app."""

    app_dir: Path
    python: str
    processes: int = 1
    threads: int = field(default_factory=default_threads)
    log_level: int = logging.INFO
    arguments: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None  # the workers' environment (None: the host's)
    sdk_dateutil: bool = False  # keep the SDK's slow timestamp parsing (no sdk_speedups)
    blocked_loop_seconds: float = 2.0  # the workers' loop watchdog (0: off)

    @classmethod
    def from_settings(cls, app_dir: str | os.PathLike[str], *, python: str | None = None,
                      environ: Mapping[str, str] | None = None, threads: int | None = None,
                      log_level: int = logging.INFO, sdk_dateutil: bool = False,
                      blocked_loop_seconds: float = 2.0) -> PoolSettings:
        """From the app settings (the environment, where ``local.settings.json`` is applied):
        process count, thread count and interpreter arguments; WorkerStartError naming a bad
        setting. ``threads`` (the ``--threads`` flag) wins over the setting."""
        environ = os.environ if environ is None else environ
        return cls(
            app_dir=Path(app_dir).resolve(),
            python=choose_python(python, environ),
            processes=_setting(environ, PROCESS_COUNT, 1, MAX_PROCESSES) or 1,
            threads=threads or _setting(environ, THREAD_COUNT, 1, None) or default_threads(),
            log_level=log_level, sdk_dateutil=sdk_dateutil,
            blocked_loop_seconds=blocked_loop_seconds,
            arguments=tuple(interpreter_arguments(environ)),
            env=dict(environ),  # as it is now: replacements start with the same settings
        )

    def command(self) -> list[str]:
        return worker_command(self.python, self.app_dir, threads=self.threads,
                              log_level=self.log_level, arguments=list(self.arguments),
                              sdk_dateutil=self.sdk_dateutil,
                              blocked_loop_seconds=self.blocked_loop_seconds)


class WorkerPool:
    """The app's worker processes; ``await start()`` returns the app's function index."""

    def __init__(self, settings: PoolSettings) -> None:
        self.settings = settings
        self.workers: list[WorkerProcess | None] = [None] * settings.processes
        self.functions: list[dict[str, Any]] = []
        self.restarts = 0
        self._turn = 0
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready: asyncio.Event | None = None
        self._replacing: set[asyncio.Task] = set()

    @property
    def live(self) -> list[WorkerProcess]:
        return [w for w in self.workers if w is not None and w.alive]

    def _new_process(self, slot: int) -> WorkerProcess:
        env = None if self.settings.env is None else dict(self.settings.env)
        return WorkerProcess(self.settings.command(), self.settings.app_dir, number=slot + 1,
                             on_exit=self._on_exit, env=env)

    async def start(self) -> list[dict[str, Any]]:
        self._loop = asyncio.get_running_loop()
        self._ready = asyncio.Event()
        processes = [self._new_process(slot) for slot in range(len(self.workers))]
        results = await asyncio.gather(*(p.start() for p in processes), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            self._closed = True
            await asyncio.gather(*(p.close(timeout=2) for p in processes))
            raise failures[0] if isinstance(failures[0], WorkerStartError) else \
                WorkerStartError(f"the worker did not start: {failures[0]!r}")
        self.workers = list(processes)
        self.functions = results[0]
        self._ready.set()
        first = processes[0]
        log.info("%d worker process(es) of %s (Python %s), %d thread(s) each; pids %s",
                 len(processes), first.executable, first.python_version, self.settings.threads,
                 ", ".join(str(p.pid) for p in processes))
        return self.functions

    def _pick(self) -> WorkerProcess | None:
        workers = self.workers
        for _ in range(len(workers)):
            self._turn = (self._turn + 1) % len(workers)
            worker = workers[self._turn]
            if worker is not None and worker.alive:
                return worker
        return None

    async def invoke(self, kind: str, function: str, fields: dict[str, Any] | None = None,
                     body: bytes | None = None, timeout: float | None = None) -> Reply:
        """Run one invocation on the next live worker; its ``Reply``. Raises ``FunctionFailed``
        (the function raised), ``WorkerExited``, ``InvocationTimedOut`` or ``PoolClosed``."""
        worker = self._pick()
        while worker is None:
            if self._closed:
                raise PoolClosed("the worker processes are shut down")
            self._ready.clear()
            await self._ready.wait()
            worker = self._pick()
        future = worker.call(kind, function, fields or {}, body)
        if timeout is None:
            return await future
        timer = self._loop.call_later(timeout, self._timed_out, worker, future, function,
                                      timeout)
        # Shielded: a caller that gives up (cancels) leaves the call running in the worker,
        # and its timeout still restarts the worker if it never returns.
        result = await asyncio.shield(future)
        timer.cancel()
        return result

    def invoke_blocking(self, kind: str, function: str, fields: dict[str, Any] | None = None,
                        body: bytes | None = None, timeout: float | None = None) -> Reply:
        """``invoke`` from a thread other than the pool's event loop (waits for the answer).
        Raises ``PoolClosed`` when that loop is closed (an orchestrator thread that outlived the
        host), without leaving the call's coroutine unawaited."""
        call = self.invoke(kind, function, fields, body, timeout)
        try:
            answer = asyncio.run_coroutine_threadsafe(call, self._loop)
        except RuntimeError as exc:  # the loop is closed
            call.close()
            raise PoolClosed("the worker processes are shut down") from exc
        return answer.result()

    def _timed_out(self, worker: WorkerProcess, future: asyncio.Future, function: str,
                   timeout: float) -> None:
        if not future.done():
            task = self._loop.create_task(self._end_timed_out(worker, future, function, timeout))
            self._replacing.add(task)
            task.add_done_callback(self._replacing.discard)

    async def _end_timed_out(self, worker: WorkerProcess, future: asyncio.Future, function: str,
                             timeout: float) -> None:
        """Ask where the call is stuck, fail it with that, and restart its worker."""
        stack = await worker.stack_of(future)
        if future.done():
            return  # it answered meanwhile
        worker.forget(future)
        future.set_exception(InvocationTimedOut(function, timeout, stack))
        log.error("Functions.%s ran past its timeout (%g s): worker process %d (pid %s) is "
                  "restarted", function, timeout, worker.number, worker.pid)
        worker.restart()

    def _on_exit(self, worker: WorkerProcess) -> None:
        if self._closed or worker.closing:
            return
        slot = worker.number - 1
        if self.workers[slot] is not worker:
            return
        if not worker.killed:
            log.error("Worker process %d (pid %s) exited: %s; starting a new one",
                      worker.number, worker.pid,
                      WorkerExited(worker.executable, worker.exit_code or 0,
                                   worker._stderr_tail[-1] if worker._stderr_tail else ""))
        task = self._loop.create_task(self._replace(slot))
        self._replacing.add(task)
        task.add_done_callback(self._replacing.discard)

    async def _replace(self, slot: int) -> None:
        attempt = 0
        while not self._closed:
            await asyncio.sleep(RESTART_DELAYS[min(attempt, len(RESTART_DELAYS) - 1)])
            worker = self._new_process(slot)
            try:
                await worker.start()
            except WorkerStartError as exc:
                attempt += 1
                log.error("Worker process %d could not restart (attempt %d): %s", slot + 1,
                          attempt, exc)
                await worker.close(timeout=1)
                continue
            if self._closed:
                await worker.close()
                return
            self.workers[slot] = worker
            self.restarts += 1
            log.info("Worker process %d restarted (pid %s)", slot + 1, worker.pid)
            self._ready.set()
            return

    async def wait_replaced(self) -> None:
        """Until every worker that exited has its replacement running (or the pool closed)."""
        while self._replacing:
            await asyncio.gather(*list(self._replacing), return_exceptions=True)

    def close_now(self) -> None:
        """Stop every worker without waiting (they exit when their input closes); calls in
        flight are abandoned."""
        self._closed = True
        if self._ready is not None:
            self._ready.set()
        for task in list(self._replacing):
            task.cancel()
        for worker in self.workers:
            if worker is not None:
                worker.close_now()

    async def close(self) -> None:
        """Stop every worker (their input closes; killed after a grace period)."""
        self._closed = True
        if self._ready is not None:
            self._ready.set()
        for task in list(self._replacing):
            task.cancel()
        await asyncio.gather(*(w.close() for w in self.workers if w is not None),
                             return_exceptions=True)

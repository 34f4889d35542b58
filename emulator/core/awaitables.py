"""The C# shim's tasks in miniature, for ``replay.py``: a task that completes once (ok or not)
and runs its callbacks, a coroutine task driven by a generator that yields the tasks it awaits,
and the ``WhenAll`` / ``WhenAny`` combinators. Synchronous: nothing here waits for real."""

from __future__ import annotations

from collections.abc import Callable, Generator

__all__ = ["Coroutine", "Task", "done", "when_all", "when_any"]


class Task:
    __slots__ = ("done", "ok", "_callbacks")

    def __init__(self) -> None:
        self.done = False
        self.ok = False
        self._callbacks: list[Callable[[Task], None]] = []

    def resolve(self, ok: bool) -> None:
        if self.done:
            return
        self.done, self.ok = True, ok
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)

    def on_done(self, callback: Callable[[Task], None]) -> None:
        if self.done:
            callback(self)
        else:
            self._callbacks.append(callback)


class Coroutine(Task):
    """A task driven by a generator that yields the tasks it awaits (C# async, in miniature)."""

    __slots__ = ("_gen",)

    def __init__(self, gen: Generator[Task, None, bool]) -> None:
        super().__init__()
        self._gen = gen
        self._step(None)

    def _step(self, _: Task | None) -> None:
        while True:
            try:
                awaited = next(self._gen)
            except StopIteration as stop:
                self.resolve(bool(stop.value))
                return
            if not awaited.done:
                awaited.on_done(self._step)
                return


def done() -> Task:
    task = Task()
    task.resolve(True)
    return task


def when_all(children: list[Task]) -> Task:
    task = Task()
    remaining = [len(children)]
    if not children:
        task.resolve(True)
        return task

    def child_done(_: Task) -> None:
        remaining[0] -= 1
        if remaining[0] == 0:
            task.resolve(all(child.ok for child in children))

    for child in children:
        child.on_done(child_done)
    return task


def when_any(children: list[Task]) -> Task:
    task = Task()
    for child in children:
        child.on_done(lambda c: task.resolve(c.ok))
    return task

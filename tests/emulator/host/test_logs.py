"""The host's log thread: callers never wait for the stream, lines keep their order and what
was true when they were logged, and stopping writes out everything queued."""

import io
import logging
import threading

from emulator.host import logs
from emulator.host.logs import LogThread


class _BlockedStream(io.StringIO):
    """A terminal that does not drain until ``opened`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = threading.Event()
        self.writing = threading.Event()

    def write(self, text: str) -> int:
        self.writing.set()
        self.opened.wait(10)
        return super().write(text)


def _logger(output: LogThread, name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.propagate = False
    logger.handlers = [output.handler]
    logger.setLevel(logging.INFO)
    return logger


def test_logging_does_not_wait_for_a_blocked_stream_and_stop_writes_everything():
    stream = _BlockedStream()
    output = LogThread(stream)
    log = _logger(output, "test.logs.blocked")
    log.info("first %d", 1)
    assert stream.writing.wait(10)  # the writer thread is now stuck in write()
    for i in range(2, 6):
        log.info("line %d", i)  # each returns although nothing can be written
    stream.opened.set()
    output.stop()
    lines = stream.getvalue().splitlines()
    assert [line.split("INFO    ", 1)[1] for line in lines] == [
        "first 1", "line 2", "line 3", "line 4", "line 5"]


def test_mutable_arguments_are_rendered_when_logged():
    stream = _BlockedStream()
    output = LogThread(stream)
    log = _logger(output, "test.logs.mutable")
    log.info("first")
    assert stream.writing.wait(10)  # later records are formatted only after the mutation
    state = {"n": 1}
    log.info("state %s", state)
    state["n"] = 2
    log.warning("plain %s and %d", "text", 3)
    stream.opened.set()
    output.stop()
    text = stream.getvalue()
    assert "INFO    state {'n': 1}" in text
    assert "WARNING plain text and 3" in text


def test_stop_twice_is_harmless():
    output = LogThread(io.StringIO())
    output.stop()
    output.stop()


def test_flush_waits_until_everything_logged_so_far_is_written():
    stream = io.StringIO()
    output = LogThread(stream)
    log = _logger(output, "test.logs.flush")
    for i in range(3):
        log.info("line %d", i)
    output.flush()
    assert stream.getvalue().count("\n") == 3  # written before flush returned
    output.stop()


# -- holding lines while the host is busy ---------------------------------------------------------
class _Writes(io.StringIO):
    """Counts the writes and says what each one held."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[int] = []
        self.written = threading.Event()

    def write(self, text: str) -> int:
        self.writes.append(text.count("\n"))
        self.written.set()
        return super().write(text)


class _BusyHost:
    """A sleep for the writer thread in which the host logs ``per_window`` more lines, for
    the first ``busy_windows`` windows: a held clock for the writer's hold rule."""

    def __init__(self, per_window: int, busy_windows: int) -> None:
        self.per_window, self.busy_windows, self.windows = per_window, busy_windows, 0
        self.log: logging.Logger | None = None

    def __call__(self, seconds: float) -> None:
        self.windows += 1
        if self.windows <= self.busy_windows:
            for i in range(self.per_window):
                self.log.info("busy %d.%d", self.windows, i)


def _busy_output(name: str, per_window: int, busy_windows: int):
    stream, busy = _Writes(), _BusyHost(per_window, busy_windows)
    output = LogThread(stream, sleep=busy)
    busy.log = _logger(output, name)
    return stream, busy, output


def test_a_quiet_hosts_line_is_written_after_one_window():
    stream, busy, output = _busy_output("test.logs.quiet", per_window=0, busy_windows=0)
    busy.log.info("alone")
    assert stream.written.wait(10)
    assert (busy.windows, stream.writes) == (1, [1])
    output.stop()


def test_lines_of_a_busy_host_are_held_until_the_burst_is_over_and_written_at_once():
    stream, busy, output = _busy_output("test.logs.burst", per_window=20, busy_windows=6)
    busy.log.info("first")
    assert stream.written.wait(10)
    assert stream.writes == [1 + 6 * 20]  # one write, after the window that brought nothing
    assert busy.windows == 7
    output.stop()


def test_a_few_lines_per_window_do_not_hold_the_writer():
    stream, busy, output = _busy_output("test.logs.trickle", per_window=logs.BUSY_LINES,
                                        busy_windows=3)
    busy.log.info("first")
    assert stream.written.wait(10)
    assert stream.writes[0] == 1 + logs.BUSY_LINES  # not busy: written after one window
    output.stop()


def test_a_host_that_stays_busy_still_gets_its_lines_written_after_the_longest_hold():
    longest = round(logs.MAX_HOLD / logs.BATCH_WINDOW)
    stream, busy, output = _busy_output("test.logs.endless", per_window=20,
                                        busy_windows=10 * longest)
    busy.log.info("first")
    assert stream.written.wait(10)
    assert stream.writes[0] == 1 + longest * 20
    output.stop()  # stop does not wait out the holds of what is still queued
    assert sum(stream.writes) == 1 + busy.windows * 20


def test_hold_rule():
    assert not logs.hold_on(0, logs.BATCH_WINDOW)
    assert not logs.hold_on(logs.BUSY_LINES, logs.BATCH_WINDOW)
    assert logs.hold_on(logs.BUSY_LINES + 1, logs.BATCH_WINDOW)
    assert not logs.hold_on(1000, logs.MAX_HOLD)

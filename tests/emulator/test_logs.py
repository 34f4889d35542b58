"""The host's log thread: callers never wait for the stream, lines keep their order and what
was true when they were logged, and stopping writes out everything queued."""

import io
import logging
import threading

from emulator.logs import LogThread


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

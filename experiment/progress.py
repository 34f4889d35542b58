"""A one-line progress bar on stderr (no dependency): redrawn in place on a terminal, one line
per point otherwise (CI logs)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Call `start(i, label)` before point i of `total`, and `close(done)` at the end."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 24):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self._t0 = time.perf_counter()
        self._drawn = False

    def start(self, index: int, label: str) -> None:
        elapsed = time.perf_counter() - self._t0
        filled = self.width * index // max(1, self.total)
        bar = "#" * filled + "." * (self.width - filled)
        line = f"[{bar}] {index + 1}/{self.total} {label}  ({elapsed:.0f} s)"
        if self.tty:
            self.stream.write("\r\033[K" + line)
            self._drawn = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self, done: int) -> None:
        """End the bar on a terminal, saying how many of the points finished."""
        if self._drawn:
            elapsed = time.perf_counter() - self._t0
            bar = "#" * (self.width * done // max(1, self.total))
            self.stream.write(
                f"\r\033[K[{bar.ljust(self.width, '.')}] {done}/{self.total} points "
                f"in {elapsed:.0f} s\n"
            )
            self.stream.flush()
            self._drawn = False

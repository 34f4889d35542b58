"""Command-line value types shared by ``python -m emulator`` and ``func``."""

from __future__ import annotations

import argparse


def port_number(text: str) -> int:
    """A TCP port (0-65535; 0 picks a free one) for argparse, naming the bad value."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535, not {value}")
    return value

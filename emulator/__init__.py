"""The local host: serves a Python Durable Functions app like `func start` and runs its
orchestrations through the Durable extension's JSON protocol, with no Functions host.

Entry points: ``python -m emulator`` (see ``host/cli.py``) and ``emulator.testing.LocalHost``.
"""

__version__ = "0.1.0"

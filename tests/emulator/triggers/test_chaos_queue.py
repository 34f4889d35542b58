"""Chaos: SIGKILL the host (a child process) while a queue batch runs, start it again on the same
queue: every message is processed at least once, none is lost, and the queue ends empty."""

from __future__ import annotations

import base64
import time
import uuid
from pathlib import Path

from azure.storage.queue import QueueClient

from emulator.testing import LocalHost

APP = Path(__file__).resolve().parents[1] / "apps" / "triggers"
MESSAGES = 60


def test_sigkill_mid_batch_loses_nothing(azurite, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    log = markers / "slow.log"
    slow = QueueClient.from_connection_string(azurite.connection_string, "slow-work")
    try:
        slow.create_queue()
    except Exception:
        slow.clear_messages()
    run = uuid.uuid4().hex[:6]
    sent = {f"{run}-{n}" for n in range(MESSAGES)}
    for body in sorted(sent):
        slow.send_message(base64.b64encode(body.encode()).decode())
    settings = {"AzureWebJobsStorage": azurite.connection_string, "ORDERS": "unused-orders",
                "MARKERS": str(markers)}
    options = {"settings": settings, "subprocess": True, "queue_lease": 3,
               "state": str(tmp_path / "state.db")}
    first = LocalHost(APP, **options).start_host()
    try:
        deadline = time.monotonic() + 60
        while not (log.exists() and len(log.read_text().split()) >= 10):
            assert time.monotonic() < deadline, "the first host ran nothing"
            time.sleep(0.05)
    finally:
        first.kill()  # SIGKILL with a batch in flight
    before = log.read_text().split()
    assert len(set(before)) < MESSAGES, "the first host finished before the kill"
    with LocalHost(APP, **options):
        deadline = time.monotonic() + 120
        while not sent <= set(log.read_text().split()):
            assert time.monotonic() < deadline, \
                f"missing after restart: {sorted(sent - set(log.read_text().split()))[:5]}"
            time.sleep(0.1)
        deadline = time.monotonic() + 30
        while slow.peek_messages(max_messages=32):
            assert time.monotonic() < deadline, "messages were left on the queue"
            time.sleep(0.1)
    seen = log.read_text().split()
    assert set(seen) == sent            # every message processed at least once
    assert len(seen) >= MESSAGES        # (those in flight at the kill: more than once)

"""A 2.x app that stores large payloads in Blob Storage (``configure_large_payloads``, here on
Azurite): its activities get the values, not the references the history holds, in the host's
process and in a worker process. The host decodes an activity's input with the converter the
app's SDK registered, as the Python worker does (the 2.x SDK's hands its wrapper the raw text to
resolve). Skipped where the SDK is 1.x (``make test-sdk2`` runs it)."""

from pathlib import Path

import pytest

from emulator.protocol.enums import EventType

from .sdk_generation import needs_sdk2

pytestmark = needs_sdk2

APP_DIR = Path(__file__).parents[1] / "apps" / "sdk2_payloads"
TEXT = "large payload " * 400  # 5,600 characters: over the app's 1 KiB threshold


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    from emulator.host.azurite import Azurite

    with Azurite(workdir=tmp_path_factory.mktemp("azurite")) as running:
        yield running


@pytest.fixture
def forget_the_store():
    """The SDK keeps one payload store per process; an app loaded in this one leaves it set."""
    yield
    from azure.durable_functions.internal import payloads

    payloads._payload_store = None


def _externalized(text: str | None) -> bool:
    return text is not None and "blob:v1:" in text and len(text) < 200  # not the text itself


@pytest.mark.parametrize("worker", ["in-process", "process"])
def test_activities_get_the_stored_values_and_the_history_keeps_references(
        azurite, forget_the_store, worker):
    from emulator.testing import LocalHost

    with LocalHost(APP_DIR, worker=worker,
                   settings={"PayloadStorage": azurite.connection_string}) as host:
        status = host.wait(host.start("relay", TEXT))
        assert status["runtimeStatus"] == "Completed", status
        assert status["output"] == {"input": len(TEXT), "sync": len(TEXT),
                                    "async": len(TEXT), "echoed": True}
        history = host.raw_history(status["instanceId"])["history"]
    scheduled = [e for e in history if e["EventType"] == EventType.TASK_SCHEDULED]
    completed = [e for e in history if e["EventType"] == EventType.TASK_COMPLETED]
    assert [e["Name"] for e in scheduled] == ["measure_sync", "measure_async"]
    # The SDK stored both inputs and both results in the blob store: references in the history.
    assert all(_externalized(e.get("Input")) for e in scheduled), scheduled
    assert len(completed) == 2 and all(_externalized(e.get("Result")) for e in completed)

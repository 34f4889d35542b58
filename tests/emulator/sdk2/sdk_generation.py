"""Which durable SDK this interpreter has, for the tests that need the 2.x SDK itself: they skip
where it is 1.x (``make test-sdk2`` runs them on a Python 3.13 venv with 2.x)."""

from importlib.metadata import PackageNotFoundError, version

import pytest

try:
    SDK_MAJOR = int(version("azure-functions-durable").split(".")[0])
except PackageNotFoundError:  # pragma: no cover
    SDK_MAJOR = 0

needs_sdk2 = pytest.mark.skipif(SDK_MAJOR < 2, reason="needs azure-functions-durable 2.x")

"""The HTTP edge, the only layer that knows status codes: the durable management API, the app's
HTTP functions, the entity API, error mapping, request readers and the dashboard. It reaches the
runtime through ``runtime.operations`` only.
"""

from .api import create_app

__all__ = ["create_app"]

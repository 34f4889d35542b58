"""The app's side of the local host: loading and indexing the app, invoking its code, timeouts and
the SDK adaptations. The runtime reaches the app's code through ``Worker`` (``seam.py``) only.

Imports the protocol, the store's contract and the core.
"""

from .loader import AppLoadError, LoadedApp, load_app
from .seam import EntityCall, HttpCall, HttpReply, InProcessWorker, OrchestratorCall, Worker
from .timeouts import FunctionTimeout

__all__ = [
    # the seam
    "EntityCall", "HttpCall", "HttpReply", "InProcessWorker", "OrchestratorCall", "Worker",
    # the app's function index
    "AppLoadError", "LoadedApp", "load_app",
    "FunctionTimeout",
]

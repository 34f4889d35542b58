"""The local host's dashboard: a browser UI over the management API, served by the host.

``setup(app)`` mounts it: static files under ``/dashboard/``, read-only JSON under
``/admin/emulator/dashboard/``, and the cross-site request guard (``csrf.py``) in front of the
management API, ``/admin/`` and the dashboard. No build step, no CDN: ``static/`` is plain
HTML, CSS and ES modules. Each page shows one task hub: the ``taskHub`` query parameter of the
page's URL (``/dashboard/?taskHub=orders``) rides on every call it makes; none is the default
hub (``http/hubs.py``).
"""

from __future__ import annotations

from aiohttp import web

from .csrf import csrf_guard
from .routes import UI_PATH, routes

__all__ = ["UI_PATH", "setup"]


def setup(app: web.Application) -> None:
    """Mount the dashboard on the host's aiohttp application (before its catch-all routes)."""
    app.middlewares.append(csrf_guard)
    app.add_routes(routes())

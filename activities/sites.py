"""The ``process_site`` activity: connect to one site, then do its work.

``async def`` with ``asyncio.sleep`` standing in for the real network calls: while one site waits,
the worker's event loop runs the others, so a wide fan-out is bounded by host.json's
``maxConcurrentActivityFunctions``, not by a thread pool.
"""

from __future__ import annotations

import asyncio
import time

import azure.durable_functions as df

from activities import names

bp = df.Blueprint()


class SiteUnreachableError(Exception):
    """The site did not accept the connection (simulated through the input's ``fail`` list)."""


@bp.activity_trigger(input_name="payload", activity=names.PROCESS_SITE)
async def process_site(payload: dict) -> dict:
    """Process one site. Input ``{"site", "connect_ms", "work_ms", "fail"}``.

    Returns ``{"site", "connect_ms", "work_ms", "duration_ms"}`` as measured; raises
    SiteUnreachableError after the connect wait when ``fail`` is true.
    """
    site = payload["site"]
    began = time.perf_counter()
    await asyncio.sleep(payload["connect_ms"] / 1000)  # stands in for connecting
    connected = time.perf_counter()
    if payload.get("fail"):
        raise SiteUnreachableError(f"could not connect to {site}")
    await asyncio.sleep(payload["work_ms"] / 1000)  # stands in for the site's work
    done = time.perf_counter()
    return {
        "site": site,
        "connect_ms": round((connected - began) * 1000, 1),
        "work_ms": round((done - connected) * 1000, 1),
        "duration_ms": round((done - began) * 1000, 1),
    }

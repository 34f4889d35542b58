"""Site processing decisions, as plain functions: input rules, how to split a wide fan-out, and
how per-site results fold into the summary that ``process_sites`` returns."""

from __future__ import annotations

from typing import Any

from orchestrators.inputs import InputError, integer, reject_unknown, require_object

DEFAULT_CONNECT_MS = 1000
DEFAULT_WORK_MS = 2000
# One fan-out of at most this many activities per orchestration: wider inputs are split into
# sub-orchestrations, so no single history (replayed at every completion) grows without bound.
DEFAULT_MAX_WIDTH = 1000
MAX_SITES = 100_000
MAX_LISTED_FAILURES = 100
_FIELDS = {"sites", "count", "connect_ms", "work_ms", "max_width", "fail"}


def parse_sites_request(raw: Any, default_max_width: int = DEFAULT_MAX_WIDTH) -> dict[str, Any]:
    """Validate a ``process_sites`` input and return it normalized.

    Exactly one of ``sites`` (a list of names or URLs) or ``count`` (sites named ``site-0`` ...);
    optional ``connect_ms`` (default 1000), ``work_ms`` (default 2000), ``max_width`` (default
    ``default_max_width``) and ``fail`` (site names whose connection fails: a simulation hook).
    Raises :class:`InputError` naming the bad field.
    """
    data = require_object(raw)
    reject_unknown(data, _FIELDS)
    if ("sites" in data) == ("count" in data):
        raise InputError("sites", "give either 'sites' (a list) or 'count' (a number), not both")
    request: dict[str, Any] = {}
    if "sites" in data:
        request["sites"] = _names(data["sites"], "sites", allow_empty=False)
    else:
        request["count"] = integer(data, "count", 0, 1, MAX_SITES)
    request["connect_ms"] = integer(data, "connect_ms", DEFAULT_CONNECT_MS, 0, 60_000)
    request["work_ms"] = integer(data, "work_ms", DEFAULT_WORK_MS, 0, 600_000)
    request["max_width"] = integer(data, "max_width", default_max_width, 1, 10_000)
    request["fail"] = _names(data.get("fail", []), "fail", allow_empty=True)
    return request


def _names(value: Any, field: str, allow_empty: bool) -> list[str]:
    if not isinstance(value, list) or (not value and not allow_empty):
        raise InputError(field, "must be a non-empty list of site names or URLs")
    if len(value) > MAX_SITES:
        raise InputError(field, f"must hold at most {MAX_SITES} entries")
    for i, name in enumerate(value):
        if not isinstance(name, str) or not name.strip() or len(name) > 2048:
            raise InputError(f"{field}[{i}]", "must be a non-empty string of at most 2048 chars")
    return [name.strip() for name in value]


def site_names(request: dict[str, Any]) -> list[str]:
    """The sites to process, in order."""
    if "sites" in request:
        return list(request["sites"])
    return [f"site-{i}" for i in range(request["count"])]


def batches(sites: list[str], max_width: int) -> list[list[str]]:
    """Split ``sites`` into consecutive chunks of at most ``max_width`` (one chunk if it fits)."""
    return [sites[i:i + max_width] for i in range(0, len(sites), max_width)]


def summarize(
    results: list[dict[str, Any]],
    failures: list[dict[str, str]],
    elapsed_ms: float,
    request: dict[str, Any],
    batch_count: int = 0,
) -> dict[str, Any]:
    """The fan-in summary of one fan-out.

    ``results`` are ``process_site`` outputs, ``failures`` are ``{"site", "error"}``;
    ``elapsed_ms`` is the orchestration's own time from fan-out to fan-in. ``total_ms`` is that
    elapsed time; ``sequential_estimate_ms`` is the sum of the sites' durations, i.e. what a
    loop doing one site after another would have taken.
    """
    slowest = max(results, key=lambda r: r["duration_ms"], default=None)
    return {
        "sites": len(results) + len(failures),
        "processed": len(results),
        "failed": len(failures),
        "failures": failures[:MAX_LISTED_FAILURES],
        "slowest_site": slowest["site"] if slowest else None,
        "slowest_ms": slowest["duration_ms"] if slowest else 0.0,
        "total_ms": round(elapsed_ms, 1),
        "sequential_estimate_ms": round(sum(r["duration_ms"] for r in results), 1),
        "batches": batch_count,
        "connect_ms": request["connect_ms"],
        "work_ms": request["work_ms"],
    }


def merge(summaries: list[dict[str, Any]], elapsed_ms: float, request: dict[str, Any],
          batch_count: int) -> dict[str, Any]:
    """Combine the summaries of sub-orchestrations (batches) into one, with the parent's
    elapsed time as ``total_ms``."""
    slowest = max(summaries, key=lambda s: s["slowest_ms"], default=None)
    failures = [f for s in summaries for f in s["failures"]]
    return {
        "sites": sum(s["sites"] for s in summaries),
        "processed": sum(s["processed"] for s in summaries),
        "failed": sum(s["failed"] for s in summaries),
        "failures": failures[:MAX_LISTED_FAILURES],
        "slowest_site": slowest["slowest_site"] if slowest else None,
        "slowest_ms": slowest["slowest_ms"] if slowest else 0.0,
        "total_ms": round(elapsed_ms, 1),
        "sequential_estimate_ms": round(sum(s["sequential_estimate_ms"] for s in summaries), 1),
        "batches": batch_count,
        "connect_ms": request["connect_ms"],
        "work_ms": request["work_ms"],
    }

"""Saving and loading results: results.json (everything), results.csv (one row per point) and the
printed table. The JSON holds the parameters, the target and its settings, machine and commit
info, a timestamp and every run, so `summarize` and `plot` can redo their work from it alone."""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from experiment.stats import ROW_FIELDS, summarize_point

SCHEMA = 1
JSON_NAME = "results.json"
CSV_NAME = "results.csv"


def machine_info() -> dict[str, Any]:
    """Where the client ran: enough to compare runs across machines."""
    return {
        "hostname": socket.gethostname(),
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }


def commit_info(repo: Path) -> dict[str, Any]:
    """The repository's commit and whether the tree had changes; `{}` outside a git checkout."""

    def git(*args: str) -> str:
        out = subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, timeout=10, check=True
        )
        return out.stdout.strip()

    try:
        return {
            "id": git("rev-parse", "HEAD"),
            "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        }
    except (OSError, subprocess.SubprocessError):
        return {}


def new_document(parameters: dict[str, Any], target: dict[str, Any], repo: Path) -> dict[str, Any]:
    """An empty results document; the caller fills `points` as they are measured."""
    return {
        "schema": SCHEMA,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": parameters,
        "target": target,
        "machine": machine_info(),
        "commit": commit_info(repo),
        "interrupted": False,
        "points": [],
    }


def rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """One summary row (stats.ROW_FIELDS) per measured point."""
    return [summarize_point(point) for point in document["points"]]


def save(document: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write results.json and results.csv into `out_dir` (created); returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = out_dir / JSON_NAME, out_dir / CSV_NAME
    json_path.write_text(json.dumps(document, indent=1) + "\n")
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ROW_FIELDS)
        writer.writeheader()
        for row in rows(document):
            writer.writerow({k: _csv_value(v) for k, v in row.items()})
    return [json_path, csv_path]


def _csv_value(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else round(value, 3)
    return "" if value is None else value


class ResultsError(ValueError):
    """A results file that cannot be read; the message names the path."""


def load(path: Path) -> dict[str, Any]:
    """Read a results.json (or the results.json inside a directory); ResultsError if it is not
    one this version can read."""
    if path.is_dir():
        path = path / JSON_NAME
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise ResultsError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path} is not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise ResultsError(f"{path} is not a results.json of schema {SCHEMA}")
    return document


# (header, row key, format) for the printed table.
_COLUMNS = (
    ("mode", "mode", "{}"),
    ("N", "n", "{}"),
    ("d ms", "delay_ms", "{}"),
    ("cap", "max_connections", "{}"),
    ("F2", "f2", "{}"),
    ("e2e s", "e2e_ms", "ms->s"),
    ("server s", "server_ms", "ms->s"),
    ("over ms", "overhead_ms", "{:.0f}"),
    ("call p50/p95/max s", None, "calls"),
    ("waves", "waves", "{}"),
    ("conc=speedup", "effective_concurrency", "{:.1f}"),
    ("act/s", "activities_per_s", "{:.0f}"),
    ("sequential", "sequential_s", "duration"),
)


def _cell(row: dict[str, Any], key: str | None, fmt: str) -> str:
    if fmt == "calls":
        if row["call_p50_ms"] is None:
            return "-"
        return "/".join(
            f"{row[k] / 1000:.2f}" for k in ("call_p50_ms", "call_p95_ms", "call_max_ms")
        )
    value = row[key]
    if value is None:
        return "-"
    if fmt == "ms->s":
        return f"{value / 1000:.3f}"
    if fmt == "duration":
        return f"{value / 60:.1f} min" if value >= 120 else f"{value:.1f} s"
    return fmt.format(value)


def settings_in_force(target: dict[str, Any]) -> dict[str, Any]:
    """The worker settings to print next to the figures: host.json's durable settings (local
    targets), overridden by what the host itself reports under `extensions.durableTask`, plus
    the local host's thread pool size when it reports one."""
    status = target.get("host_status") or {}
    reported = (status.get("extensions") or {}).get("durableTask") or {}
    settings = {**(target.get("host_json") or {}), **reported}
    for key in ("threadPoolSize", "workerProcessCount"):
        value = (status.get("emulator") or {}).get(key)
        if value is not None:
            settings[key] = value
    return settings


def render_table(document: dict[str, Any]) -> str:
    """The printed table: one line per point, then the target and its settings."""
    table = [[header for header, _, _ in _COLUMNS]]
    table += [[_cell(row, key, fmt) for _, key, fmt in _COLUMNS] for row in rows(document)]
    widths = [max(len(line[i]) for line in table) for i in range(len(_COLUMNS))]
    lines = [
        "  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True)) for line in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    target = document["target"]
    lines.append("")
    lines.append(f"target: {target.get('base_url')}   measured: {document['timestamp']}")
    settings = settings_in_force(target)
    if settings:
        lines.append("settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
    if document.get("interrupted"):
        lines.append("interrupted: only the points above were measured")
    return "\n".join(lines)

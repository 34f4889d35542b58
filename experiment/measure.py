"""Measure a list of points against a base URL, then save, plot and print the results: what
`python -m experiment run` (``cli.py``) and `python -m experiment demo` (``demo.py``) share."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from experiment import results
from experiment.progress import Progress
from experiment.runner import (
    Client,
    ExperimentError,
    PointSpec,
    SweepOptions,
    host_json_settings,
    host_status,
    is_loopback,
    sweep,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_out_dir() -> Path:
    return Path("results") / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def parameters_of(args: argparse.Namespace) -> dict[str, Any]:
    """The flags worth saving with the results (never the key)."""
    return {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in vars(args).items()
        if k not in ("key", "command")
    }


def execute(
    specs: list[PointSpec],
    base_url: str,
    key: str | None,
    options: SweepOptions,
    out_dir: Path,
    parameters: dict[str, Any],
    app_dir: Path,
    draw: bool = True,
) -> int:
    """Measure `specs`, then save, plot and print whatever finished. Returns the exit status."""
    target = {"base_url": base_url, "local": is_loopback(base_url)}
    if target["local"]:
        target["host_json"] = host_json_settings(app_dir)
    document = results.new_document(parameters, target, REPO_ROOT)
    progress = Progress(len(specs))
    status, message = 0, None

    async def go() -> None:
        async with Client(base_url, key, options.timeout_s) as client:
            target["host_status"] = await host_status(client)
            await sweep(
                client,
                specs,
                options,
                document["points"],
                on_start=lambda i, spec: progress.start(i, spec.label),
            )

    try:
        asyncio.run(go())
    except ExperimentError as exc:
        status, message = 1, f"error: {exc}"
    except KeyboardInterrupt:
        document["interrupted"] = True
        status, message = 130, "interrupted: keeping the points measured so far"
    finally:
        progress.close(len(document["points"]))
    if message:
        print(message, file=sys.stderr)
    if document["points"]:
        paths = results.save(document, out_dir)
        if draw:
            from experiment.plot import plot_all

            paths += plot_all(document, out_dir)
        print(results.render_table(document))
        print("\nwrote " + ", ".join(str(p) for p in paths))
    return status

"""latency.png: measured latency against N (log-log), one panel per mode, with the ideal line
(= d: everything at once) and the sequential line (= N x d); capped HTTP series also get their
expected staircase ceil(N / cap) x d. batches.png: when each F2 call started, for the HTTP runs
that recorded per-call details, which shows waves when a cap is set.

matplotlib is a development dependency (requirements-dev.txt); importing this module without it
raises an ImportError that says so."""

from __future__ import annotations

import math
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("plotting needs matplotlib: pip install -r requirements-dev.txt") from exc

from experiment.results import rows, settings_in_force

LATENCY_PNG = "latency.png"
BATCHES_PNG = "batches.png"


def _series(document: dict[str, Any]) -> dict[tuple, list[dict[str, Any]]]:
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for row in rows(document):
        groups[(row["mode"], row["delay_ms"], row["max_connections"], row["f2"])].append(row)
    return {
        key: sorted(group, key=lambda r: r["n"])
        for key, group in sorted(
            groups.items(),
            key=lambda item: (item[0][0], item[0][1], item[0][2] or 0, item[0][3] or ""),
        )
    }


def plot_latency(document: dict[str, Any], out_dir: Path) -> Path:
    """Write latency.png into `out_dir`; returns its path. Works for one or both modes."""
    series = _series(document)
    settings = settings_in_force(document["target"])
    activity_limit = settings.get("maxConcurrentActivityFunctions")
    threads = settings.get("threadPoolSize")
    processes = settings.get("workerProcessCount")
    modes = [m for m in ("http", "durable") if any(key[0] == m for key in series)]
    fig, axes = plt.subplots(
        1, max(1, len(modes)), figsize=(6.4 * max(1, len(modes)), 4.8), squeeze=False
    )
    for ax, mode in zip(axes[0], modes, strict=False):
        all_n: list[int] = []
        delays = set()
        for (m, delay_ms, cap, f2), group in series.items():
            if m != mode:
                continue
            ns = [r["n"] for r in group]
            all_n += ns
            delays.add(delay_ms)
            if mode == "durable":
                limit = (
                    f", maxConcurrentActivityFunctions={activity_limit}" if activity_limit else ""
                )
                label = f"measured, {delay_ms / 1000:g} s per site{limit}"
            else:
                label = f"measured, d = {delay_ms / 1000:g} s, {_setting(cap, f2)}"
            ax.plot(ns, [r["e2e_ms"] / 1000 for r in group], marker="o", lw=2, label=label)
            # Expected staircase when k calls at most can run at once: ceil(N / k) x d.
            k, why = (cap, f"cap {cap}") if cap else (threads, f"{threads} threads")
            if f2 == "cpu" and not cap:  # one call per worker process at a time, on the cores
                k = min(os.cpu_count() or 1, processes or 1)
                why = f"{processes or 1} worker process(es) on {os.cpu_count()} cores"
            if mode == "http" and (cap or (f2 == "sync" and threads) or f2 == "cpu"):
                grid = _grid(ns)
                ax.plot(
                    grid,
                    [math.ceil(n / k) * delay_ms / 1000 for n in grid],
                    ls=":",
                    drawstyle="steps-post",
                    color=ax.lines[-1].get_color(),
                    lw=1,
                    label=f"expected with {why}: ceil(N/{k}) x d",
                )
        grid = _grid(all_n)
        for delay_ms in sorted(delays):
            d = delay_ms / 1000
            ax.plot(
                grid, [d] * len(grid), color="green", ls="--", lw=1, label=f"ideal: d = {d:g} s"
            )
            ax.plot(
                grid,
                [n * d for n in grid],
                color="red",
                ls="--",
                lw=1,
                label=f"sequential: N x {d:g} s",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            axis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlabel("sites (N)" if mode == "durable" else "calls from F1 to F2 (N)")
        ax.set_ylabel("end-to-end latency (s)")
        ax.set_title("HTTP fan-out F1 -> F2" if mode == "http" else "Durable fan-out process_sites")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    target = document["target"].get("base_url", "")
    fig.suptitle(f"Fan-out latency against N ({target}, {document['timestamp'][:16]})", fontsize=10)
    fig.tight_layout()
    path = out_dir / LATENCY_PNG
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _setting(cap: int | None, f2: str | None) -> str:
    """How an HTTP series limits concurrency, for legends."""
    parts = [f"cap {cap}" if cap else "no cap"] + ([f"{f2} F2"] if f2 in ("sync", "cpu") else [])
    return ", ".join(parts)


def _grid(ns: list[int]) -> list[float]:
    low, high = min(ns), max(ns)
    steps = 60
    if high <= low:
        return [low]
    return sorted({round(low * (high / low) ** (i / steps)) for i in range(steps + 1)})


def started_over_time(start_ms: list[float]) -> tuple[list[float], list[float]]:
    """Staircase of the fraction of calls started: times (s) and the fraction from each on."""
    ordered = sorted(start_ms)
    n = len(ordered)
    return [0.0] + [t / 1000 for t in ordered], [0.0] + [(i + 1) / n for i in range(n)]


def plot_batches(document: dict[str, Any], out_dir: Path) -> Path | None:
    """Write batches.png: the fraction of F2 calls started against time since F1 began, for the
    largest N of each setting (cap, sync F2) among HTTP runs with per-call details. All at once
    is one step at t = 0; a limit of k gives ceil(N / k) steps one d apart. Returns None without
    details."""
    chosen: dict[Any, dict[str, Any]] = {}
    for point in document["points"]:
        runs = [r for r in point["runs"] if r.get("details")]
        if point["mode"] != "http" or not runs:
            continue
        key = (point.get("max_connections") or 0, point.get("f2", "async"))
        if key not in chosen or point["n"] > chosen[key]["n"]:
            chosen[key] = {"n": point["n"], "d": point["delay_ms"], "run": runs[0]}
    if not chosen:
        return None
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for (cap, f2), pick in sorted(chosen.items()):
        times, fractions = started_over_time(pick["run"]["details"]["start_ms"])
        label = f"N={pick['n']}, d={pick['d'] / 1000:g} s, {_setting(cap, f2)}"
        ax.step(times, fractions, where="post", lw=2, label=label)
    ax.set_xlabel("time since F1 started the fan-out (s)")
    ax.set_ylabel("fraction of F2 calls started")
    ax.set_ylim(0, 1.05)
    ax.set_title("Waves: when each F2 call started (one step = one batch)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path = out_dir / BATCHES_PNG
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_all(document: dict[str, Any], out_dir: Path) -> list[Path]:
    """Every figure this document supports; returns the paths written."""
    paths = [plot_latency(document, out_dir)]
    batches = plot_batches(document, out_dir)
    return paths + ([batches] if batches else [])

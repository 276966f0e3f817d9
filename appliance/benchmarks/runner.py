"""``appliance bench``: run every benchmark module and print one table.

Each module in :mod:`appliance.benchmarks` exposes ``run(ctx) -> list[(metric, value, goal)]``.
Benchmarks measure; they never assert. Figures go into the README with the command that
reproduced them.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from appliance import benchmarks

log = logging.getLogger(__name__)

Row = tuple[str, str, str]


@dataclass
class BenchContext:
    """What a benchmark module gets: a scratch folder and whether to run a short version."""

    tmp: Path
    quick: bool = False


def median_ms(fn: Callable[[], object], repeat: int, *, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def percentile(samples: list[float], p: float) -> float:
    """The p-th percentile (0..100) of ``samples``, nearest-rank."""
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def module_names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if not m.name.startswith("_") and m.name != "runner")


def run(only: list[str] | None = None, *, quick: bool = False) -> list[tuple[str, list[Row]]]:
    """Run the named benchmark modules (all by default); a failing module reports its error as a row."""
    results = []
    names = only or module_names()
    with tempfile.TemporaryDirectory(prefix="appliance-bench-") as tmp:
        for name in names:
            module = importlib.import_module(f"appliance.benchmarks.{name}")
            folder = Path(tmp) / name
            folder.mkdir()
            t0 = time.perf_counter()
            try:
                rows = list(module.run(BenchContext(tmp=folder, quick=quick)))
            except Exception as exc:  # a benchmark that breaks must not hide the others
                log.exception("benchmark %s failed", name)
                rows = [("error", f"{type(exc).__name__}: {exc}", "")]
            log.info("benchmark %s took %.1f s", name, time.perf_counter() - t0)
            results.append((name, rows))
    return results


def format_table(results: list[tuple[str, list[Row]]]) -> str:
    """A Markdown table, ready for the README."""
    lines = ["| area | metric | value | goal |", "|---|---|---|---|"]
    for name, rows in results:
        for metric, value, goal in rows:
            lines.append(f"| {name} | {metric} | {value} | {goal} |")
    return "\n".join(lines)

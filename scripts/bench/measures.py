"""Numbers from samples (percentiles, summaries, elapsed time) and from /proc (CPU time, RSS)."""

from __future__ import annotations

import math
import os
import statistics
import time


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks."""
    ordered = sorted(samples)
    if not ordered:
        return math.nan
    k = (len(ordered) - 1) * q / 100
    low, high = math.floor(k), math.ceil(k)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def stats(samples_ms: list[float]) -> dict[str, float]:
    return {
        "n": len(samples_ms),
        "p50": round(percentile(samples_ms, 50), 4),
        "p99": round(percentile(samples_ms, 99), 4),
        "mean": round(statistics.fmean(samples_ms), 4),
        "min": round(min(samples_ms), 4),
        "max": round(max(samples_ms), 4),
    }


def ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return math.nan

"""`scripts/bench --quick` runs end to end and writes a complete report. No timing is asserted:
the benchmark measures, docs/benchmarks.md records, and tests only check that every figure is there."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

from mcp_registry_server.server.tools import REGISTRY_TOOLS
from tests.e2e.support import REPO_ROOT

# Every figure, and the measures each must carry.
EXPECTED: dict[str, tuple[str, ...]] = {
    "P1": ("latency_ms", "added"),
    "P2": ("calls_per_second", "ours_ratio", "sdk_ratio"),
    "P3": (
        "bare_ms",
        "add_cold_ms",
        "add_cold_over_bare_ms",
        "readd_ms",
        "first_call_after_readd_ms",
        "package_build_add_ms",
        "package_cached_add_ms",
    ),
    "P4": ("remove_ms", "containers_left_max"),
    "P5": ("import_mcp_ms", "initialize_answered_ms", "first_tools_list_ms", "tools_list_ratio"),
    "P6": ("tools_list_ms", "registry_rss_mb", "search_ms", "tools_exposed_total", "catalog_entries"),
    "P7": ("direct_ms", "relayed_ms", "relayed_ratio", "other_mount_idle_ms", "other_mount_during_big_ms"),
    "P8": ("tool_list", "tool_search_ms", "catalog_entries"),
}
LATENCY_PATHS = (
    "direct_ours",
    "direct_sdk",
    "registry_ours_exposed",
    "registry_ours_exec",
    "registry_sdk_exposed",
    "registry_sdk_exec",
    "relay_ours",
)


def numbers(value: Any) -> list[float]:
    if isinstance(value, dict):
        return [n for item in value.values() for n in numbers(item)]
    if isinstance(value, list):
        return [n for item in value for n in numbers(item)]
    return [value] if isinstance(value, int | float) and not isinstance(value, bool) else []


def test_quick_bench_writes_every_figure(
    podman_env: dict[str, str], test_images: dict[str, str], tmp_path: Path
) -> None:
    report_path = tmp_path / "bench.json"
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "bench"), "--quick", "--json", str(report_path)],
        capture_output=True,
        text=True,
        env=podman_env,
        timeout=420,  # P3 builds a PyPI package entry once
        check=False,
    )
    assert completed.returncode == 0, f"bench failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-5000:]}"
    report = json.loads(report_path.read_text())

    figures = report["figures"]
    for figure, measures in EXPECTED.items():
        assert figure in figures, f"{figure} missing"
        for measure in measures:
            assert measure in figures[figure], f"{figure}.{measure} missing"
    assert set(figures["P1"]["latency_ms"]) == set(LATENCY_PATHS)
    assert all(stats["n"] > 0 for stats in figures["P1"]["latency_ms"].values())
    assert set(figures["P1"]["cpu_us_per_call"]) == {"registry_ours_exposed", "relay_ours"}
    assert figures["P6"]["tools_exposed_total"] >= 1000
    assert figures["P6"]["catalog_entries"] >= 1000
    searched, direct = figures["P8"]["tool_list"]["search_5_mounts"], figures["P8"]["tool_list"]["direct_5_mounts"]
    assert searched["tools"] == len(REGISTRY_TOOLS) and direct["tools"] >= 1000 > searched["tokens_estimate"] / 10
    every_number = numbers(figures)
    assert every_number and all(math.isfinite(n) for n in every_number)

    assert {verdict["figure"] for verdict in report["targets"]} == set(EXPECTED)
    assert report["machine"]["cores"] and report["command"]
    # The table printed for people names every figure too.
    for figure in EXPECTED:
        assert f"| {figure} |" in completed.stdout

"""The targets each figure is judged by, the markdown table of a run, and two runs side by side."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scripts.bench.environment import Setup

TARGETS: list[tuple[str, str, Callable[[dict], float], str, float]] = [
    # figure, what, value getter, comparison, target
    ("P1", "added p50 ms (exposed name)", lambda f: f["P1"]["added"]["ours_exposed"]["p50_added_ms"], "<=", 0.2),
    ("P1", "added p99 ms (exposed name)", lambda f: f["P1"]["added"]["ours_exposed"]["p99_added_ms"], "<=", 1.0),
    ("P1", "added p50 ms (registry_exec)", lambda f: f["P1"]["added"]["ours_exec"]["p50_added_ms"], "<=", 0.2),
    ("P1", "added p99 ms (registry_exec)", lambda f: f["P1"]["added"]["ours_exec"]["p99_added_ms"], "<=", 1.0),
    ("P2", "throughput vs direct", lambda f: f["P2"]["ours_ratio"], ">=", 0.9),
    ("P3", "add over bare ms (p50)", lambda f: f["P3"]["add_cold_over_bare_ms"], "<=", 100),
    ("P3", "re-add ms (p50)", lambda f: f["P3"]["readd_ms"]["p50"], "<=", 50),
    ("P4", "remove ms (p50)", lambda f: f["P4"]["remove_ms"]["p50"], "<=", 300),
    ("P4", "containers left", lambda f: f["P4"]["containers_left_max"], "<=", 0),
    ("P5", "first tools/list vs import mcp", lambda f: f["P5"]["tools_list_ratio"], "<=", 1.2),
    ("P6", "tools/list ms (p50, 1,000 tools)", lambda f: f["P6"]["tools_list_ms"]["p50"], "<=", 20),
    ("P6", "registry RSS MB", lambda f: f["P6"]["registry_rss_mb"], "<=", 150),
    ("P6", "search ms (p50)", lambda f: f["P6"]["search_ms"]["p50"], "<=", 5),
    ("P8", "tool search ms (p50)", lambda f: f["P8"]["tool_search_ms"]["p50"], "<=", 5),
    ("P7", "20 MB relayed vs direct", lambda f: f["P7"]["relayed_ratio"], "<=", 2.0),
    ("P7", "other mount p50 vs idle", lambda f: f["P7"]["other_mount_p50_ratio"], "<=", 2.0),
]


def judge(figures: dict[str, Any]) -> list[dict[str, Any]]:
    verdicts = []
    for figure, what, getter, comparison, target in TARGETS:
        if figure not in figures:
            continue
        value = getter(figures)
        met = value <= target if comparison == "<=" else value >= target
        verdicts.append(
            {"figure": figure, "what": what, "value": value, "target": f"{comparison} {target:g}", "met": met}
        )
    return verdicts


def markdown(setup: Setup, verdicts: list[dict[str, Any]]) -> str:
    f = setup.figures
    lines = ["| figure | measure | direct | registry | target | met |", "| --- | --- | --- | --- | --- | --- |"]

    def row(figure: str, what: str, direct: str, registry: str, target: str = "", met: str = "") -> None:
        lines.append(f"| {figure} | {what} | {direct} | {registry} | {target} | {met} |")

    if "P1" in f:
        lat = f["P1"]["latency_ms"]
        for client in ("ours", "sdk"):
            d = lat[f"direct_{client}"]
            for route in ("exposed", "exec"):
                r = lat[f"registry_{client}_{route}"]
                a = f["P1"]["added"][f"{client}_{route}"]
                row(
                    "P1",
                    f"echo p50 / p99 ms, {client} client, {route}",
                    f"{d['p50']:.3f} / {d['p99']:.3f}",
                    f"{r['p50']:.3f} / {r['p99']:.3f}",
                    f"+{a['p50_added_ms']:.3f} / +{a['p99_added_ms']:.3f} (x{a['p50_ratio']:.2f})",
                )
    if "P1" in f:
        floor = f["P1"]["added"]["relay_floor"]
        relay_lat = f["P1"]["latency_ms"]["relay_ours"]
        cpu = f["P1"]["cpu_us_per_call"]
        row(
            "P1",
            "echo p50 / p99 ms through a byte relay (the floor for one more process)",
            f"{f['P1']['latency_ms']['direct_ours']['p50']:.3f}",
            f"{relay_lat['p50']:.3f} / {relay_lat['p99']:.3f}",
            f"+{floor['p50_added_ms']:.3f} / +{floor['p99_added_ms']:.3f}",
        )
        row(
            "P1",
            "CPU per call (us) of the process in the middle",
            f"relay {cpu['relay_ours']:.0f}",
            f"registry {cpu['registry_ours_exposed']:.0f}",
        )
    if "P2" in f:
        rates = f["P2"]["calls_per_second"]
        row(
            "P2",
            "calls/s, 16 in flight, ours",
            f"{rates['direct_ours']:.0f}",
            f"{rates['registry_ours_exposed']:.0f}",
            f"x{f['P2']['ours_ratio']:.2f}",
        )
        row(
            "P2",
            "calls/s, 16 in flight, sdk",
            f"{rates['direct_sdk']:.0f}",
            f"{rates['registry_sdk_exposed']:.0f}",
            f"x{f['P2']['sdk_ratio']:.2f}",
        )
    if "P3" in f:
        p3 = f["P3"]
        row(
            "P3",
            "add, cold (p50 ms)",
            f"{p3['bare_ms']['p50']:.0f} bare",
            f"{p3['add_cold_ms']['p50']:.0f}",
            f"+{p3['add_cold_over_bare_ms']:.0f}",
        )
        row("P3", "re-add (p50 ms)", "", f"{p3['readd_ms']['p50']:.1f}")
        row("P3", "re-add → first result (p50 ms)", "", f"{p3['readd_to_first_result_ms']:.1f}")
        row("P3", "worst tools/list during add (ms)", "", f"{p3['tools_list_max_during_add_ms']:.1f}")
        if "package_build_add_ms" in p3:
            row(
                "P3",
                "package entry: first add (build) / second (cached) ms",
                f"{p3['package_same_server_image_add_ms']:.0f} same server, image entry",
                f"{p3['package_build_add_ms']:.0f} / {p3['package_cached_add_ms']:.0f}",
                "",
            )
    if "P4" in f:
        row(
            "P4",
            "remove (p50 ms), containers left",
            "",
            f"{f['P4']['remove_ms']['p50']:.0f}, {f['P4']['containers_left_max']} left",
        )
    if "P5" in f:
        p5 = f["P5"]
        row(
            "P5",
            "start → initialize (p50 ms)",
            f"{p5['import_mcp_ms']['p50']:.0f} import mcp",
            f"{p5['initialize_answered_ms']['p50']:.0f}",
            f"x{p5['initialize_ratio']:.2f}",
        )
        row(
            "P5",
            "start → first tools/list (p50 ms)",
            f"{p5['import_mcp_ms']['p50']:.0f} import mcp",
            f"{p5['first_tools_list_ms']['p50']:.0f}",
            f"x{p5['tools_list_ratio']:.2f}",
        )
    if "P6" in f:
        p6 = f["P6"]
        row(
            "P6",
            f"tools/list, {p6['mounts']} mounts, {p6['tools_exposed_total']} tools (p50 ms)",
            "",
            f"{p6['tools_list_ms']['p50']:.2f}",
        )
        row("P6", "registry RSS (MB)", "", f"{p6['registry_rss_mb']:.0f}")
        row("P6", f"search over {p6['catalog_entries']} entries (p50 ms)", "", f"{p6['search_ms']['p50']:.2f}")
    if "P8" in f:
        p8 = f["P8"]
        for key, size in p8["tool_list"].items():
            mode, count, _ = key.split("_")
            row(
                "P8",
                f"tools/list, {count} mounts exposed {mode}: {size['tools']} tools",
                "",
                f"~{size['tokens_estimate']:,} tokens",
            )
        row(
            "P8",
            f"tool search, {p8['mounts']} mounts + {p8['catalog_entries']} entries (p50 ms)",
            "",
            f"{p8['tool_search_ms']['p50']:.2f}",
        )
    if "P7" in f:
        p7 = f["P7"]
        row(
            "P7",
            f"{p7['megabytes']} MB result (p50 ms)",
            f"{p7['direct_ms']['p50']:.0f}",
            f"{p7['relayed_ms']['p50']:.0f}",
            f"x{p7['relayed_ratio']:.2f}",
        )
        row(
            "P7",
            "other mount echo p50 (ms), idle → during",
            f"{p7['other_mount_idle_ms']['p50']:.2f}",
            f"{p7['other_mount_during_big_ms']['p50']:.2f}",
            f"x{p7['other_mount_p50_ratio']:.2f}",
        )
    lines += ["", "| figure | target | value | met |", "| --- | --- | --- | --- |"]
    for v in verdicts:
        lines.append(
            f"| {v['figure']} | {v['what']} {v['target']} | {v['value']:g} | {'yes' if v['met'] else '**no**'} |"
        )
    return "\n".join(lines)


def compare(before_path: Path, after_path: Path) -> str:
    """A markdown table of every judged figure in two reports, side by side."""
    before, after = (json.loads(path.read_text()) for path in (before_path, after_path))
    lines = ["| figure | measure | target | before | after | met |", "| --- | --- | --- | --- | --- | --- |"]
    old = {(v["figure"], v["what"]): v for v in before["targets"]}
    for verdict in after["targets"]:
        earlier = old.get((verdict["figure"], verdict["what"]))
        shown = f"{earlier['value']:g}" if earlier else "n/a"
        met = "yes" if verdict["met"] else "**no**"
        lines.append(
            f"| {verdict['figure']} | {verdict['what']} | {verdict['target']} | {shown} | {verdict['value']:g} | {met} |"
        )
    return "\n".join(lines)

"""P1 (per-call latency, and the CPU per call of the process in the middle) and P2 (throughput)."""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import anyio

from scripts.bench.clients import Call
from scripts.bench.environment import ECHO_ARGS, ENTRY, Setup
from scripts.bench.measures import cpu_seconds, ms_since, stats

IN_FLIGHT = 16


async def timed_calls(call: Call, tool: str, arguments: dict[str, Any], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call(tool, arguments)
        samples.append(ms_since(started))
    return samples


async def throughput(call: Call, tool: str, arguments: dict[str, Any], total: int) -> float:
    """Calls per second with IN_FLIGHT calls outstanding at all times."""
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call(tool, arguments)

    started = time.perf_counter()
    async with anyio.create_task_group() as workers:
        for _ in range(IN_FLIGHT):
            workers.start_soon(worker)
    return total / (time.perf_counter() - started)


async def bench_p1_p2(setup: Setup, paths: dict[str, tuple[Call, str]], pids: dict[str, int]) -> None:
    """Paths are measured in interleaved rounds, so a noisy moment on the machine hits them all.

    `pids` names the process in the middle of a path (the registry, the relay); its CPU time per
    call is recorded, which load on the machine disturbs far less than latency.
    """
    sizes = setup.sizes
    for call, tool in paths.values():  # warm-up: first calls pay for imports, caches, thread pools
        await timed_calls(call, tool, ECHO_ARGS, 30)
    samples: dict[str, list[float]] = {key: [] for key in paths}
    cpu: dict[str, float] = dict.fromkeys(pids, 0.0)
    for _ in range(sizes.p1_rounds):
        for key, (call, tool) in paths.items():
            before = cpu_seconds(pids[key]) if key in pids else 0.0
            samples[key] += await timed_calls(call, tool, ECHO_ARGS, sizes.p1_calls)
            if key in pids:
                cpu[key] += cpu_seconds(pids[key]) - before
    latency = {key: stats(values) for key, values in samples.items()}

    def added(registry_key: str, direct_key: str) -> dict[str, float]:
        reg, direct = latency[registry_key], latency[direct_key]
        return {
            "p50_added_ms": round(reg["p50"] - direct["p50"], 4),
            "p99_added_ms": round(reg["p99"] - direct["p99"], 4),
            "p50_ratio": round(reg["p50"] / direct["p50"], 3),
        }

    setup.figures["P1"] = {
        "tool": f"{ENTRY}.echo {json.dumps(ECHO_ARGS)}",
        "latency_ms": latency,
        "added": {
            "ours_exposed": added("registry_ours_exposed", "direct_ours"),
            "ours_exec": added("registry_ours_exec", "direct_ours"),
            "sdk_exposed": added("registry_sdk_exposed", "direct_sdk"),
            "sdk_exec": added("registry_sdk_exec", "direct_sdk"),
            "relay_floor": added("relay_ours", "direct_ours"),
        },
        "cpu_us_per_call": {key: round(seconds * 1e6 / len(samples[key]), 1) for key, seconds in cpu.items()},
    }
    # P2: rounds again, alternating the paths; each path's figure is the median of its rounds.
    round_rates: dict[str, list[float]] = {}
    keys = ("direct_ours", "registry_ours_exposed", "direct_sdk", "registry_sdk_exposed")
    per_round = max(IN_FLIGHT * 4, sizes.p2_calls // sizes.p2_rounds)
    for key in keys:
        call, tool = paths[key]
        await throughput(call, tool, ECHO_ARGS, IN_FLIGHT * 4)  # warm-up
    for _ in range(sizes.p2_rounds):
        for key in keys:
            call, tool = paths[key]
            round_rates.setdefault(key, []).append(await throughput(call, tool, ECHO_ARGS, per_round))
    rates = {key: round(statistics.median(values), 1) for key, values in round_rates.items()}
    setup.figures["P2"] = {
        "in_flight": IN_FLIGHT,
        "calls": per_round * sizes.p2_rounds,
        "rounds": sizes.p2_rounds,
        "calls_per_second": rates,
        "ours_ratio": round(rates["registry_ours_exposed"] / rates["direct_ours"], 3),
        "sdk_ratio": round(rates["registry_sdk_exposed"] / rates["direct_sdk"], 3),
    }

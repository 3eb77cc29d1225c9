#!/usr/bin/env python3
"""Benchmarks of every cost a user of mcp-registry feels, against the physical limit in the same run.

The physical limit is a *direct pipe*: the same container, started with the same `podman run` argv the
registry builds (`podman.command.build_run_argv`, same labels and env), driven by the same client code.
Each figure is measured both ways in one run, so machine noise hits both sides alike.

Clients, and why two: an editor talks to `mcp-registry` with the `mcp` SDK's stdio client, so the
SDK client is measured through the registry *and* on the direct pipe (its own cost is on both sides).
Our `MCPClient` (a thin JSON-RPC client, itself an MCP client to any stdio server, the registry
included) is measured the same two ways; with it, registry - direct is the registry's own cost,
undiluted by the SDK client's validation. Targets are judged on the `MCPClient` pair; SDK figures
are shown beside them.

Figures (see docs/benchmarks.md for the targets and the recorded runs):
- P1 per-call latency (p50/p99) of a trivial tool (misbehave `echo`), direct vs registry, through
  `registry_exec` and through the directly exposed name, in interleaved rounds. Also the floor for
  any process in the path (the direct pipe through `bench.py --relay`, a two-thread byte copier)
  and the CPU time per call of the process in the middle (registry or relay).
- P2 throughput with 16 calls in flight, direct vs registry (median of interleaved rounds).
- P3 `registry_add` wall time (image local) vs a bare `podman run -i` + initialize + tools/list, cold
  (tool cache emptied) and re-added (same entry and config again); also the first call after the
  add, and the worst tools/list latency while an add is in flight.
- P4 `registry_remove` wall time, and containers left once it returned.
- P5 registry process start → initialize answered → first tools/list, vs `python -c "import mcp"`
  (measured first, before anything else of the run competes for the CPU).
- P6 20 mounts exposing 1,000 tools: tools/list latency, registry RSS; search over 1,000+ entries.
- P7 a 20 MB result relayed vs direct, and p50 of calls on another mount meanwhile vs idle.

Usage: `.venv/bin/python scripts/bench.py [--quick] [--json PATH] [--only P1,P3]`. Needs Podman and
the test images (`scripts/build_test_images.py`). Prints a markdown table and writes JSON (default
`build/bench/latest.json`). `bench.py --compare BEFORE.json AFTER.json` prints the judged figures
of two runs side by side. Containers it starts carry the label `io.mcp-registry.bench=<run id>`
(not the test suite's label, which concurrent test sessions remove) and are removed at the end.
Benchmarks, not tests: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import secrets
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from mcp_registry_server.catalog import load_catalog  # noqa: E402
from mcp_registry_server.mcp_client import MCPClient  # noqa: E402
from mcp_registry_server.podman.command import build_run_argv, container_name, registry_labels  # noqa: E402
from mcp_registry_server.podman.ownership import own_owner_label  # noqa: E402

TEST_CATALOG = REPO_ROOT / "tests" / "catalog"
WORKAROUND_CONF = REPO_ROOT / "build" / "podman" / "containers.conf"
REGISTRY_EXE = Path(sys.executable).with_name("mcp-registry")
ENTRY = "misbehave"
CLIENT_INFO = {"name": "mcp-registry-bench", "version": "1"}
ECHO_ARGS = {"text": "ping"}
IN_FLIGHT = 16
BIG_MB = 20
TOTAL_TOOLS = 1000
SEARCH_CATALOG = 1000
SEARCH_QUERIES = ("sqlite", "list tables", "time zone", "synthetic 0421", "git log", "fetch web page", "memory")

Call = Callable[[str, dict[str, Any]], Awaitable[Any]]


# --- numbers ---------------------------------------------------------------------------------------


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


@dataclass
class Sizes:
    """How much of each figure to run; `--quick` keeps the whole suite well under a minute."""

    p1_rounds: int
    p1_calls: int
    p2_calls: int
    p2_rounds: int
    p3_reps: int
    p5_reps: int
    p6_mounts: int
    p6_lists: int
    p6_searches: int
    p7_reps: int

    @classmethod
    def pick(cls, quick: bool) -> Sizes:
        if quick:
            return cls(2, 60, 320, 2, 1, 2, 5, 10, 100, 1)
        return cls(10, 300, 6000, 6, 5, 7, 20, 50, 500, 4)


# --- the environment -------------------------------------------------------------------------------


@dataclass
class Setup:
    run_id: str
    workdir: Path
    env: dict[str, str]
    sizes: Sizes
    quick: bool
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def registry_label(self) -> str:
        return f"io.mcp-registry.bench={self.run_id}"

    @property
    def direct_label(self) -> str:
        return f"io.mcp-registry.bench-direct={self.run_id}"

    def registry_env(self, *catalog_dirs: Path, cache: Path | None = None) -> dict[str, str]:
        """The environment of a registry process: private dirs, the given catalogs, our labels."""
        home = self.workdir / "xdg"
        return {
            **self.env,
            "MCP_REGISTRY_CATALOG_PATH": os.pathsep.join(str(d) for d in catalog_dirs),
            # Not the test suite's label: a concurrent pytest session removes containers that carry it.
            "MCP_REGISTRY_LABELS": self.registry_label,
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_CACHE_HOME": str(cache or self.cache_dir),
        }

    @property
    def cache_dir(self) -> Path:
        return self.workdir / "xdg" / "cache"

    def clear_cache(self) -> None:
        shutil.rmtree(self.cache_dir, ignore_errors=True)


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    if "CONTAINERS_CONF" not in env and WORKAROUND_CONF.exists():
        env["CONTAINERS_CONF"] = str(WORKAROUND_CONF)
    return env


def containers_with_label(label: str, env: dict[str, str]) -> list[str]:
    listing = subprocess.run(
        ["podman", "ps", "-a", "--filter", f"label={label}", "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return listing.stdout.split()


def remove_containers(label: str, env: dict[str, str]) -> None:
    names = containers_with_label(label, env)
    if names:
        subprocess.run(["podman", "rm", "-f", "--ignore", "--time", "0", *names], capture_output=True, env=env)


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    podman = subprocess.run(["podman", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "host": socket.gethostname(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "podman": podman,
    }


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return math.nan


# --- ways to talk to a server ----------------------------------------------------------------------


def direct_command(setup: Setup, entry_id: str = ENTRY, catalog_dirs: tuple[Path, ...] = ()) -> tuple[list[str], dict]:
    """The argv and env the registry would use for `entry_id`, labelled as a direct-pipe container."""
    catalog = load_catalog([TEST_CATALOG, *catalog_dirs])
    entry = catalog[entry_id]
    values = {var.name: var.default for var in entry.env if var.default is not None}
    prefix = entry_id.replace(".", "-")
    labels = registry_labels(
        instance_id=f"bench-{setup.run_id}",
        owner=own_owner_label(socket.gethostname()),
        entry_id=entry.id,
        prefix=prefix,
        extra={setup.direct_label.split("=")[0]: setup.run_id},
    )
    argv = build_run_argv(
        entry,
        podman="podman",
        name=container_name(prefix),
        labels=labels,
        env_names=list(values),
        enabled_volumes={},
    )
    return argv, {**setup.env, **values}


@asynccontextmanager
async def mcp_client(argv: list[str], env: dict[str, str], name: str) -> AsyncIterator[MCPClient]:
    """Our MCPClient over a fresh process, initialized."""
    process = await anyio.open_process(argv, env=env)
    async with MCPClient.connect(process, name=name, default_timeout=120, init_timeout=120) as client:
        await client.initialize(CLIENT_INFO, {})
        yield client


@asynccontextmanager
async def sdk_client(argv: list[str], env: dict[str, str]) -> AsyncIterator[Any]:
    """The mcp SDK's stdio client over a fresh process, initialized (as an editor does it)."""
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=argv[0], args=argv[1:], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def ours(client: MCPClient) -> Call:
    async def call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = await client.call_tool(name, arguments)
        if result.get("isError"):
            raise RuntimeError(f"{name} failed: {json.dumps(result)[:500]}")
        return result

    return call


def sdk(session: Any) -> Call:
    async def call(name: str, arguments: dict[str, Any]) -> Any:
        result = await session.call_tool(name, arguments)
        if result.is_error:
            raise RuntimeError(f"{name} failed: {result.content!r:.500}")
        return result

    return call


def via_exec(call: Call) -> Call:
    async def exec_call(name: str, arguments: dict[str, Any]) -> Any:
        return await call("registry_exec", {"tool_name": name, "arguments": arguments})

    return exec_call


async def registry_json(call: Call, tool: str, arguments: dict[str, Any]) -> Any:
    """A registry tool's structured result (our client's raw dict or the SDK's model)."""
    result = await call(tool, arguments)
    structured = result.get("structuredContent") if isinstance(result, dict) else result.structured_content
    if structured is not None:
        return structured
    content = result["content"] if isinstance(result, dict) else [c.model_dump() for c in result.content]
    return json.loads(content[0]["text"])


async def wait_for_podman(call: Call) -> None:
    """Waits until the registry has connected to Podman, so adds measure the add, not the connect."""
    with anyio.fail_after(60):
        while True:
            status = await registry_json(call, "registry_status", {})
            if status["podman"]["available"] is not None:
                return
            await anyio.sleep(0.05)


async def add(call: Call, entry_id: str, prefix: str | None = None) -> dict[str, Any]:
    arguments: dict[str, Any] = {"entry_id": entry_id}
    if prefix:
        arguments["prefix"] = prefix
    return await registry_json(call, "registry_add", arguments)


async def remove(call: Call, target: str) -> dict[str, Any]:
    return await registry_json(call, "registry_remove", {"entry_id_or_prefix": target})


# --- P1, P2 ----------------------------------------------------------------------------------------


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


# --- P3, P4 ----------------------------------------------------------------------------------------


async def bare_start(setup: Setup) -> float:
    """`podman run -i` + initialize + tools/list by our client, in ms; the container is then stopped."""
    argv, env = direct_command(setup)
    started = time.perf_counter()
    process = await anyio.open_process(argv, env=env)
    async with MCPClient.connect(process, name="bare", default_timeout=120) as client:
        await client.initialize(CLIENT_INFO, {})
        await client.list_tools()
        elapsed = ms_since(started)
    return elapsed


async def max_list_latency_during(client: MCPClient, action: Awaitable[Any]) -> tuple[Any, float]:
    """Runs `action` while polling tools/list; returns its result and the slowest tools/list (ms)."""
    worst = 0.0
    done = anyio.Event()
    outcome: list[Any] = []

    async def run_action() -> None:
        try:
            outcome.append(await action)
        finally:
            done.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(run_action)
        while not done.is_set():
            started = time.perf_counter()
            await client.list_tools()
            worst = max(worst, ms_since(started))
            await anyio.sleep(0.005)
    return outcome[0], worst


async def bench_p3_p4(setup: Setup, registry: MCPClient) -> None:
    call = ours(registry)
    bare, cold, warm, first_call_cold, first_call_warm, removes, left = [], [], [], [], [], [], []
    worst_list = 0.0
    for _ in range(setup.sizes.p3_reps):
        bare.append(await bare_start(setup))
        setup.clear_cache()
        started = time.perf_counter()
        added, list_ms = await max_list_latency_during(registry, add(call, ENTRY))
        cold.append(ms_since(started))
        worst_list = max(worst_list, list_ms)
        started = time.perf_counter()
        await call(f"{ENTRY}_echo", ECHO_ARGS)
        first_call_cold.append(ms_since(started))

        started = time.perf_counter()
        removed = await remove(call, ENTRY)
        removes.append(ms_since(started))
        left.append(len(containers_with_label(setup.registry_label, setup.env)))
        assert removed["container_removed"], removed

        started = time.perf_counter()
        await add(call, ENTRY)
        warm.append(ms_since(started))
        started = time.perf_counter()
        await call(f"{ENTRY}_echo", ECHO_ARGS)
        first_call_warm.append(ms_since(started))
        started = time.perf_counter()
        await remove(call, ENTRY)
        removes.append(ms_since(started))
        left.append(len(containers_with_label(setup.registry_label, setup.env)))
    del added
    setup.figures["P3"] = {
        "bare_ms": stats(bare),
        "add_cold_ms": stats(cold),
        "add_cold_over_bare_ms": round(percentile(cold, 50) - percentile(bare, 50), 2),
        "readd_ms": stats(warm),
        "first_call_after_cold_add_ms": stats(first_call_cold),
        "first_call_after_readd_ms": stats(first_call_warm),
        "readd_to_first_result_ms": round(percentile(warm, 50) + percentile(first_call_warm, 50), 2),
        "tools_list_max_during_add_ms": round(worst_list, 3),
    }
    setup.figures["P4"] = {"remove_ms": stats(removes), "containers_left_max": max(left)}


# --- P5 --------------------------------------------------------------------------------------------


async def bench_p5(setup: Setup) -> None:
    env = setup.registry_env(TEST_CATALOG, cache=setup.workdir / "p5-cache")
    baseline, init, listed = [], [], []
    for _ in range(setup.sizes.p5_reps):
        started = time.perf_counter()
        await anyio.run_process([sys.executable, "-c", "import mcp"], env=env)
        baseline.append(ms_since(started))

        started = time.perf_counter()
        process = await anyio.open_process([str(REGISTRY_EXE)], env=env)
        async with MCPClient.connect(process, name="registry", default_timeout=60) as client:
            await client.initialize(CLIENT_INFO, {})
            init.append(ms_since(started))
            await client.list_tools()
            listed.append(ms_since(started))
    base50 = percentile(baseline, 50)
    setup.figures["P5"] = {
        "import_mcp_ms": stats(baseline),
        "initialize_answered_ms": stats(init),
        "first_tools_list_ms": stats(listed),
        "initialize_ratio": round(percentile(init, 50) / base50, 3),
        "tools_list_ratio": round(percentile(listed, 50) / base50, 3),
    }


# --- P6, P7 ----------------------------------------------------------------------------------------


def write_bench_catalog(directory: Path, mounts: int, synthetic_per_mount: int) -> None:
    """`mounts` copies of the misbehave entry (bench-mNN) and SEARCH_CATALOG synthetic entries."""
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(1, mounts + 1):
        (directory / f"bench-m{i:02d}.toml").write_text(
            f'id = "bench-m{i:02d}"\nname = "Bench mount {i}"\n'
            f'description = "Misbehave copy {i} for the benchmark."\n'
            'image = "localhost/mcp-registry-test/misbehave"\n'
            f'[[env]]\nname = "MISBEHAVE_TOOL_COUNT"\ndefault = "{synthetic_per_mount}"\n'
        )
    words = ("files", "database", "search", "git", "browser", "notes", "calendar", "weather", "issues", "chat")
    for i in range(SEARCH_CATALOG):
        a, b = words[i % len(words)], words[(i * 7 + 3) % len(words)]
        tools = "".join(
            f'[[tools]]\nname = "{a}_tool_{j}"\ndescription = "Does {b} thing {j} for synthetic {i:04d}."\n'
            for j in range(3)
        )
        (directory / f"synthetic-{i:04d}.toml").write_text(
            f'id = "synthetic-{i:04d}"\nname = "Synthetic {a} {i:04d}"\n'
            f'description = "A synthetic {a} server about {b}, entry {i:04d} of the benchmark catalog."\n'
            f'image = "localhost/bench/synthetic-{i:04d}"\ntags = ["{a}", "{b}", "synthetic"]\n{tools}'
        )


async def bench_p6_p7(setup: Setup, registry: MCPClient, registry_pid: int, base_tools: int) -> None:
    sizes = setup.sizes
    call = ours(registry)
    per_mount = TOTAL_TOOLS // sizes.p6_mounts
    rss_before = rss_mb(registry_pid)
    started = time.perf_counter()
    for i in range(1, sizes.p6_mounts + 1):
        await add(call, f"bench-m{i:02d}")
    add_all_ms = ms_since(started)
    exposed = await registry.list_tools()
    mount_tools = sum(1 for tool in exposed if tool["name"].startswith("bench-m"))
    for _ in range(5):
        await registry.list_tools()
    lists = []
    for _ in range(sizes.p6_lists):
        started = time.perf_counter()
        await registry.list_tools()
        lists.append(ms_since(started))
    searches = []
    for i in range(sizes.p6_searches):
        query = SEARCH_QUERIES[i % len(SEARCH_QUERIES)]
        started = time.perf_counter()
        await call("registry_search", {"query": query})
        searches.append(ms_since(started))
    status = await registry_json(call, "registry_status", {})
    catalog_size = status["catalog"]["entries"]
    setup.figures["P6"] = {
        "mounts": sizes.p6_mounts,
        "tools_per_mount": per_mount,
        "mount_tools_exposed": mount_tools,
        "tools_exposed_total": len(exposed),
        "add_all_mounts_ms": round(add_all_ms, 1),
        "tools_list_ms": stats(lists),
        "registry_rss_mb": rss_mb(registry_pid),
        "registry_rss_before_mounts_mb": rss_before,
        "catalog_entries": catalog_size,
        "search_ms": stats(searches),
    }

    # P7: mount 1 relays big results; mount 2 answers echo meanwhile.
    big, other = "bench-m01", "bench-m02"
    argv, env = direct_command(setup, big, (setup.workdir / "catalog",))
    direct_big = []
    async with mcp_client(argv, env, "direct-big") as direct:
        await direct.call_tool("big_result", {"megabytes": 1})
        for _ in range(sizes.p7_reps):
            started = time.perf_counter()
            result = await direct.call_tool("big_result", {"megabytes": BIG_MB})
            direct_big.append(ms_since(started))
            assert len(result["content"][0]["text"]) == BIG_MB << 20
    await call(f"{big}_big_result", {"megabytes": 1})
    relayed = []
    for _ in range(sizes.p7_reps):
        started = time.perf_counter()
        result = await call(f"{big}_big_result", {"megabytes": BIG_MB})
        relayed.append(ms_since(started))
        assert len(result["content"][0]["text"]) == BIG_MB << 20
    del result
    idle = await timed_calls(call, f"{other}_echo", ECHO_ARGS, 200 if not setup.quick else 60)
    loaded: list[float] = []
    big_done = anyio.Event()

    async def keep_relaying() -> None:
        try:
            for _ in range(max(2, sizes.p7_reps)):
                await call(f"{big}_big_result", {"megabytes": BIG_MB})
        finally:
            big_done.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(keep_relaying)
        while not big_done.is_set():
            started = time.perf_counter()
            await call(f"{other}_echo", ECHO_ARGS)
            loaded.append(ms_since(started))
    setup.figures["P7"] = {
        "megabytes": BIG_MB,
        "direct_ms": stats(direct_big),
        "relayed_ms": stats(relayed),
        "relayed_ratio": round(percentile(relayed, 50) / percentile(direct_big, 50), 3),
        "other_mount_idle_ms": stats(idle),
        "other_mount_during_big_ms": stats(loaded),
        "other_mount_p50_ratio": round(percentile(loaded, 50) / percentile(idle, 50), 3),
    }
    for i in range(1, sizes.p6_mounts + 1):
        await remove(call, f"bench-m{i:02d}")


# --- the run ---------------------------------------------------------------------------------------


async def run(setup: Setup, only: set[str]) -> None:
    want = lambda *names: not only or any(name in only for name in names)  # noqa: E731
    if want("P5"):
        # First, while nothing else of ours runs (containers stopping would compete for the CPU).
        await bench_p5(setup)
    if only and not only - {"P5"}:
        return
    async with AsyncExitStack() as stack:
        argv, env = direct_command(setup)
        direct = await stack.enter_async_context(mcp_client(argv, env, "direct"))
        base_tools = len(await direct.list_tools())
        catalog_dir = setup.workdir / "catalog"
        per_mount = TOTAL_TOOLS // setup.sizes.p6_mounts
        write_bench_catalog(catalog_dir, setup.sizes.p6_mounts, per_mount - base_tools)

        registry_env = setup.registry_env(TEST_CATALOG, catalog_dir)
        process = await anyio.open_process([str(REGISTRY_EXE)], env=registry_env)
        registry_pid = process.pid
        registry = await stack.enter_async_context(
            MCPClient.connect(process, name="registry", default_timeout=300, init_timeout=120)
        )
        await registry.initialize(CLIENT_INFO, {})
        await wait_for_podman(ours(registry))

        if want("P1", "P2"):
            sdk_argv, sdk_env = direct_command(setup)  # a container name is used once
            direct_sdk = await stack.enter_async_context(sdk_client(sdk_argv, sdk_env))
            relay_argv, relay_env = direct_command(setup)
            relayed = await stack.enter_async_context(
                mcp_client([sys.executable, __file__, "--relay", *relay_argv], relay_env, "relay")
            )
            registry_sdk = await stack.enter_async_context(sdk_client([str(REGISTRY_EXE)], registry_env))
            await wait_for_podman(sdk(registry_sdk))
            await add(ours(registry), ENTRY)
            await add(sdk(registry_sdk), ENTRY)
            exposed = f"{ENTRY}_echo"
            paths = {
                "direct_ours": (ours(direct), "echo"),
                "registry_ours_exposed": (ours(registry), exposed),
                "registry_ours_exec": (via_exec(ours(registry)), exposed),
                "direct_sdk": (sdk(direct_sdk), "echo"),
                "registry_sdk_exposed": (sdk(registry_sdk), exposed),
                "registry_sdk_exec": (via_exec(sdk(registry_sdk)), exposed),
                "relay_ours": (ours(relayed), "echo"),
            }
            await bench_p1_p2(setup, paths, {"registry_ours_exposed": registry_pid, "relay_ours": relayed.pid})
            await remove(ours(registry), ENTRY)
            await remove(sdk(registry_sdk), ENTRY)
        if want("P3", "P4"):
            await bench_p3_p4(setup, registry)
        if want("P6", "P7"):
            await bench_p6_p7(setup, registry, registry_pid, base_tools)


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


def relay(argv: list[str]) -> int:
    """The floor for any process in the path: copies stdin → child → stdout, one blocking thread each way.

    It neither parses nor buffers; the cost it adds over a direct pipe is what one more process
    costs on this machine (two more pipe hops, each a wake-up of a sleeping process).
    """
    child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    assert child.stdin is not None and child.stdout is not None

    def pump(source: int, target: int) -> None:
        while data := os.read(source, 1 << 20):
            view = memoryview(data)
            while view:
                view = view[os.write(target, view) :]

    def to_child() -> None:
        pump(0, child.stdin.fileno())  # type: ignore[union-attr]
        child.stdin.close()  # type: ignore[union-attr]

    threading.Thread(target=to_child, daemon=True).start()
    pump(child.stdout.fileno(), 1)
    return child.wait()


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


def main() -> int:
    if sys.argv[1:2] == ["--relay"]:
        return relay(sys.argv[2:])
    if sys.argv[1:2] == ["--compare"]:
        print(compare(Path(sys.argv[2]), Path(sys.argv[3])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (under a minute): fewer samples")
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "build" / "bench" / "latest.json")
    parser.add_argument("--only", default="", help="comma-separated figures to run, e.g. P1,P5")
    options = parser.parse_args()
    only = {name.strip().upper() for name in options.only.split(",") if name.strip()}
    run_id = secrets.token_hex(4)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mcp-registry-bench-") as workdir:
        setup = Setup(run_id, Path(workdir), base_env(), Sizes.pick(options.quick), options.quick)
        try:
            anyio.run(run, setup, only)
        finally:
            for label in (setup.registry_label, setup.direct_label):
                remove_containers(label, setup.env)
    verdicts = judge(setup.figures)
    report = {
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "quick": options.quick,
        "run_id": run_id,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "duration_s": round(time.perf_counter() - started, 1),
        "machine": machine_info(),
        "figures": setup.figures,
        "targets": verdicts,
    }
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(setup, verdicts))
    print(f"\n{report['duration_s']} s; JSON written to {options.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

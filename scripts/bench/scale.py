"""P6 (20 mounts, 1,000 tools, a 1,000-entry catalog), P7 (a 20 MB result beside another mount's calls)
and P8 (the tool list's size with 5 and 20 mounts, exposed direct and search; tool search latency)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import anyio

from mcp_registry_server.mcp_client import MCPClient
from scripts.bench.clients import add, direct_command, mcp_client, ours, registry_json, remove
from scripts.bench.environment import ECHO_ARGS, Setup
from scripts.bench.latency import timed_calls
from scripts.bench.measures import ms_since, percentile, rss_mb, stats

BIG_MB = 20
TOTAL_TOOLS = 1000
SEARCH_CATALOG = 1000
SEARCH_QUERIES = ("sqlite", "list tables", "time zone", "synthetic 0421", "git log", "fetch web page", "memory")
TOOL_QUERIES = ("echo the text", "synthetic tool 0042", "sleep for a while", "crash", "list tables", "big result")


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


async def bench_p8(setup: Setup, registry: MCPClient) -> None:
    """tools/list size (bytes, tokens ~ bytes/4) with 5 and all bench mounts, in each exposure mode,
    and `registry_search(kind="tools")` latency over every tool of the mounts and the catalog."""
    call = ours(registry)
    mounts = setup.sizes.p6_mounts
    sizes: dict[str, dict[str, int]] = {}
    searches: list[float] = []
    for mode in ("direct", "search"):
        for i in range(1, mounts + 1):
            await registry_json(call, "registry_add", {"entry_id": f"bench-m{i:02d}", "expose": mode})
            if i in {5, mounts}:
                listed = await registry.list_tools()
                size = len(json.dumps(listed, separators=(",", ":")))
                sizes[f"{mode}_{i}_mounts"] = {"tools": len(listed), "bytes": size, "tokens_estimate": size // 4}
        if mode == "search":
            for n in range(setup.sizes.p6_searches):
                started = time.perf_counter()
                await call("registry_search", {"query": TOOL_QUERIES[n % len(TOOL_QUERIES)], "kind": "tools"})
                searches.append(ms_since(started))
        for i in range(1, mounts + 1):
            await remove(call, f"bench-m{i:02d}")
    status = await registry_json(call, "registry_status", {})
    setup.figures["P8"] = {
        "mounts": mounts,
        "tools_per_mount": TOTAL_TOOLS // mounts,
        "tool_list": sizes,
        "tool_search_ms": stats(searches),
        "catalog_entries": status["catalog"]["entries"],
    }

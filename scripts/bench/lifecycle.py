"""P3 (`registry_add` against a bare `podman run`), P4 (`registry_remove`) and P5 (registry start-up).

P3 also adds a package entry (`bench-pkg`: mcp-server-time from PyPI, built on the base image
MCP_REGISTRY_PYTHON_IMAGE) twice: the first add builds its image (earlier bench runs' builds of it
are removed first), the second finds it by its inputs. Beside them, the same server from a
prebuilt image (the test catalog's `time`), so the cached add is compared with its own server's
start. Tool caches are cleared before each, so each add is a full start. This run's build is
removed at the end.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import anyio

from mcp_registry_server.mcp_client import MCPClient
from mcp_registry_server.podman.labelled import labelled_container_names
from scripts.bench.clients import add, direct_command, ours, remove
from scripts.bench.environment import CLIENT_INFO, ECHO_ARGS, ENTRY, REGISTRY_EXE, TEST_CATALOG, Setup
from scripts.bench.measures import ms_since, percentile, stats

PACKAGE_ENTRY = "bench-pkg"
PACKAGE_LABEL = "io.mcp-registry.package=pypi:mcp-server-time@2026.10.19"


def write_package_entry(catalog_dir: Path) -> None:
    catalog_dir.mkdir(parents=True, exist_ok=True)
    (catalog_dir / f"{PACKAGE_ENTRY}.toml").write_text(
        f'id = "{PACKAGE_ENTRY}"\nname = "Time, from PyPI"\ndescription = "P3: a package entry."\n'
        'args = ["--local-timezone", "UTC"]\n\n'
        '[package]\nregistry = "pypi"\nname = "mcp-server-time"\nversion = "2026.10.19"\n'
    )


def remove_package_images(setup: Setup, label: str) -> None:
    """Remove the bench's builds of the package entry that carry `label` (`key` or `key=value`)."""
    listed = subprocess.run(
        ["podman", "images", "--format", "json", "--filter", f"label={PACKAGE_LABEL}", "--filter", f"label={label}"],
        capture_output=True, text=True, env=setup.env, check=True, timeout=60,
    )  # fmt: skip
    if ids := [image["Id"] for image in json.loads(listed.stdout or "[]") or []]:
        subprocess.run(["podman", "rmi", "--force", *ids], capture_output=True, env=setup.env, check=False, timeout=60)


async def bench_package_add(setup: Setup, registry: MCPClient) -> dict[str, Any]:
    """The package entry's first add (a build), its second (found by its inputs), and an image add's, in ms."""
    call = ours(registry)
    await anyio.to_thread.run_sync(remove_package_images, setup, "io.mcp-registry.bench")
    try:
        figures: dict[str, Any] = {}
        for name, entry in (
            ("package_build_add_ms", PACKAGE_ENTRY),
            ("package_cached_add_ms", PACKAGE_ENTRY),
            ("package_same_server_image_add_ms", "time"),
        ):
            setup.clear_cache()
            started = time.perf_counter()
            await add(call, entry)
            figures[name] = round(ms_since(started), 1)
            await call(f"{entry}_get_current_time", {"timezone": "UTC"})
            await remove(call, entry)
        return figures
    finally:
        await anyio.to_thread.run_sync(remove_package_images, setup, setup.registry_label)


async def bare_start(setup: Setup) -> float:
    """`podman run -i` + initialize + tools/list by our client, in ms; the container is then stopped."""
    argv, env = direct_command(setup)
    started = time.perf_counter()
    process = await anyio.open_process(argv, env=env)
    async with MCPClient.connect(process, name="bare", default_timeout=120) as client:
        await client.initialize(CLIENT_INFO, {}, discover=False)
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
        left.append(len(labelled_container_names(setup.registry_label, setup.env)))
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
        left.append(len(labelled_container_names(setup.registry_label, setup.env)))
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
        **await bench_package_add(setup, registry),
    }
    setup.figures["P4"] = {"remove_ms": stats(removes), "containers_left_max": max(left)}


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
            await client.initialize(CLIENT_INFO, {}, discover=False)
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

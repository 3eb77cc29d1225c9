"""One benchmark run from the command line: which figures, in which order, against which processes.

`run` starts the direct pipes, a registry (our client and the SDK's), and the relay, then
measures the figures asked for; P5 comes first, while nothing else of the run competes for the
CPU. `main` parses the command line, writes the JSON report and prints the markdown table;
`--relay ARGV...` and `--compare BEFORE AFTER` are the other two modes.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shlex
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

import anyio

from mcp_registry_server.mcp_client import MCPClient
from scripts.bench import __doc__ as bench_doc
from scripts.bench.clients import (
    add,
    direct_command,
    mcp_client,
    ours,
    remove,
    sdk,
    sdk_client,
    via_exec,
    wait_for_podman,
)
from scripts.bench.environment import (
    CLIENT_INFO,
    ENTRY,
    REGISTRY_EXE,
    REPO_ROOT,
    TEST_CATALOG,
    Setup,
    Sizes,
    base_env,
    machine_info,
    remove_labelled_containers,
)
from scripts.bench.latency import bench_p1_p2
from scripts.bench.lifecycle import bench_p3_p4, bench_p5, write_package_entry
from scripts.bench.relay import relay
from scripts.bench.report import compare, judge, markdown
from scripts.bench.scale import TOTAL_TOOLS, bench_p6_p7, bench_p8, write_bench_catalog

# `python scripts/bench` runs this directory; the relay is started the same way.
BENCH_DIR = Path(__file__).resolve().parent


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
        write_package_entry(catalog_dir)

        registry_env = setup.registry_env(TEST_CATALOG, catalog_dir)
        process = await anyio.open_process([str(REGISTRY_EXE)], env=registry_env)
        registry_pid = process.pid
        registry = await stack.enter_async_context(
            MCPClient.connect(process, name="registry", default_timeout=300, init_timeout=120)
        )
        await registry.initialize(CLIENT_INFO, {}, discover=False)
        await wait_for_podman(ours(registry))

        if want("P1", "P2"):
            sdk_argv, sdk_env = direct_command(setup)  # a container name is used once
            direct_sdk = await stack.enter_async_context(sdk_client(sdk_argv, sdk_env))
            relay_argv, relay_env = direct_command(setup)
            relayed = await stack.enter_async_context(
                mcp_client([sys.executable, str(BENCH_DIR), "--relay", *relay_argv], relay_env, "relay")
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
        if want("P8"):
            await bench_p8(setup, registry)


def main() -> int:
    if sys.argv[1:2] == ["--relay"]:
        return relay(sys.argv[2:])
    if sys.argv[1:2] == ["--compare"]:
        print(compare(Path(sys.argv[2]), Path(sys.argv[3])))
        return 0
    parser = argparse.ArgumentParser(description=bench_doc.split("\n\n")[0])
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
                remove_labelled_containers(label, setup.env)
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

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
  any process in the path (the direct pipe through `relay.py`, a two-thread byte copier)
  and the CPU time per call of the process in the middle (registry or relay).
- P2 throughput with 16 calls in flight, direct vs registry (median of interleaved rounds).
- P3 `registry_add` wall time (image local) vs a bare `podman run -i` + initialize + tools/list, cold
  (tool cache emptied) and re-added (same entry and config again); also the first call after the
  add, and the worst tools/list latency while an add is in flight.
- P4 `registry_remove` wall time, and containers left once it returned.
- P5 registry process start → initialize answered → first tools/list, vs `python -c "import mcp"`
  (measured first, before anything else of the run competes for the CPU).
- P6 20 mounts exposing 1,000 tools: tools/list latency, registry RSS; search over 1,000+ entries.
- P7 a 20 MB result relayed vs direct, and p50 of calls on another mount meanwhile vs idle (the registry
  runs with MCP_REGISTRY_OFFLOAD_BYTES=0 unless it is set, so the result is relayed whole).
- P8 the model's context: tools/list size (tokens ~ bytes/4) with 5 and 20 mounts, each exposed
  direct and search; `registry_search(kind="tools")` latency with 20 search mounts active.

Usage: `.venv/bin/python scripts/bench [--quick] [--json PATH] [--only P1,P3]` (or `python -m
scripts.bench` from the repository root). Needs Podman and the test images
(`scripts/build_test_images.py`). Prints a markdown table and writes JSON (default
`build/bench/latest.json`). `scripts/bench --compare BEFORE.json AFTER.json` prints the judged
figures of two runs side by side. Containers it starts carry the label `io.mcp-registry.bench=<run id>`
(not the test suite's label, which concurrent test sessions remove) and are removed at the end.
Benchmarks, not tests: nothing here asserts a timing.

Modules: `environment` (what a run uses: sizes, dirs, labels, the machine), `measures` (numbers
from samples), `clients` (the ways to talk to a server), one module per group of figures
(`latency` P1-P2, `lifecycle` P3-P5, `scale` P6-P7), `report` (targets, markdown, comparison),
`relay` (the byte copier) and `cli` (the run and the command line). No module is named after a
standard one: `python scripts/bench` puts this directory first on sys.path.
"""

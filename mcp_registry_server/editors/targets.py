"""The clients we can wire `mcp-registry` into: where each keeps its MCP config, and what our entry looks like.

Contract: `EDITORS` maps a client id to an `Editor`. `Editor.config_path(platform, environ, home)`
is a pure function of its arguments (so every platform can be tested anywhere) and returns the
user-level file the client reads: Zed `settings.json` (`context_servers`), Claude Desktop
`claude_desktop_config.json` (`mcpServers`), VS Code's user `mcp.json` (`servers`, type stdio),
Cursor `~/.cursor/mcp.json` and Claude Code `~/.claude.json` (both `mcpServers`), Gemini CLI
`~/.gemini/settings.json` (`mcpServers`), Codex `~/.codex/config.toml` (`[mcp_servers.NAME]`,
TOML) and opencode `~/.config/opencode/opencode.json` (`mcp`). `Editor.format` is the file's
format; `Editor.entry(launch)` is the object that makes the client start the registry over stdio,
built by the client's `EntryShape` (`entries`).

`server_launch(environ)` decides what that entry runs: the absolute path of the `mcp-registry`
executable being used now (a virtualenv or `uv tool` shim keeps working across upgrades), with
`serve`, and an `env` that carries the variables that change how the registry or Podman behave
(`is_carried`: CONTAINERS_CONF, CONTAINER_HOST and every MCP_REGISTRY_*) when they are set here:
editors started from a desktop session do not see a shell's exports. Nothing else from the
environment is copied, and no secret ever is (secrets live in the registry's secrets file).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal

from mcp_registry_server.editors.entries import CommandArgs, CommandList, EntryShape, ServerLaunch
from mcp_registry_server.editors.formats import JSONC, TOML, DocumentFormat

__all__ = [
    "CARRIED_ENV",
    "CODEX_FORWARDED_ENV",
    "EDITORS",
    "EDITOR_IDS",
    "Editor",
    "ServerLaunch",
    "is_carried",
    "server_launch",
]

Platform = Literal["linux", "darwin", "win32"]

# Variables that decide how the registry and Podman behave. An editor launched from the desktop
# does not inherit them from a shell, so `install` writes the ones that are set into the entry.
CARRIED_ENV = ("CONTAINERS_CONF", "CONTAINER_HOST")
CARRIED_PREFIX = "MCP_REGISTRY_"
# Directories on the PATH of an app started by the macOS or Linux desktop; podman elsewhere
# (Homebrew, the Podman installer) must be named by absolute path.
_DESKTOP_PATH = ("/usr/bin", "/bin", "/usr/sbin", "/sbin")
_PATH_VALUED = {"CONTAINERS_CONF", "MCP_REGISTRY_PODMAN"}


def is_carried(name: str) -> bool:
    """Whether `install` copies the variable `name` from the shell into the editor's entry."""
    return name in CARRIED_ENV or name.startswith(CARRIED_PREFIX)


def current_platform() -> Platform:
    if sys.platform.startswith("win"):
        return "win32"
    return "darwin" if sys.platform == "darwin" else "linux"


def _own_executable() -> str:
    """The `mcp-registry` being run now, by absolute (not symlink-resolved) path; else python -m."""
    candidates = [Path(sys.argv[0])] if sys.argv and sys.argv[0] else []
    candidates.append(Path(sys.executable).with_name("mcp-registry"))
    for candidate in candidates:
        for path in (candidate, candidate.with_name(candidate.name + ".exe")):
            if path.name.startswith("mcp-registry") and path.is_file() and os.access(path, os.X_OK):
                return os.path.abspath(path)
    found = shutil.which("mcp-registry")
    return os.path.abspath(found) if found else ""


def server_launch(
    environ: Mapping[str, str],
    *,
    command: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    carry_env: bool = True,
    platform: Platform | None = None,
) -> ServerLaunch:
    """The launch an editor entry should hold; see the module contract."""
    env: dict[str, str] = {}
    if carry_env:
        for name in sorted(filter(is_carried, environ)):
            value = environ[name].strip()
            if value:
                env[name] = os.path.abspath(os.path.expanduser(value)) if name in _PATH_VALUED else value
        if "MCP_REGISTRY_PODMAN" not in env and (platform or current_platform()) != "win32":
            podman = shutil.which("podman", path=environ.get("PATH"))
            if podman and os.path.dirname(podman) not in _DESKTOP_PATH:
                env["MCP_REGISTRY_PODMAN"] = os.path.abspath(podman)
    env.update(extra_env or {})
    if command:
        return ServerLaunch(os.path.abspath(os.path.expanduser(command)), ("serve",), env)
    executable = _own_executable()
    if executable:
        return ServerLaunch(executable, ("serve",), env)
    return ServerLaunch(os.path.abspath(sys.executable), ("-m", "mcp_registry_server", "serve"), env)


def _xdg_config(environ: Mapping[str, str], home: Path) -> Path:
    configured = environ.get("XDG_CONFIG_HOME", "")
    return Path(configured) if os.path.isabs(configured) else home / ".config"


def _appdata(environ: Mapping[str, str], home: Path) -> Path:
    return Path(environ["APPDATA"]) if environ.get("APPDATA") else home / "AppData" / "Roaming"


def _zed_path(platform: Platform, environ: Mapping[str, str], home: Path) -> Path:
    if platform == "win32":
        return _appdata(environ, home) / "Zed" / "settings.json"
    if platform == "linux":
        flatpak = environ.get("FLATPAK_XDG_CONFIG_HOME")
        return (Path(flatpak) if flatpak else _xdg_config(environ, home)) / "zed" / "settings.json"
    return home / ".config" / "zed" / "settings.json"


def _claude_desktop_path(platform: Platform, environ: Mapping[str, str], home: Path) -> Path:
    if platform == "win32":
        return _appdata(environ, home) / "Claude" / "claude_desktop_config.json"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    return _xdg_config(environ, home) / "Claude" / "claude_desktop_config.json"


def _vscode_path(platform: Platform, environ: Mapping[str, str], home: Path) -> Path:
    if environ.get("VSCODE_PORTABLE"):
        return Path(environ["VSCODE_PORTABLE"]) / "user-data" / "User" / "mcp.json"
    if environ.get("VSCODE_APPDATA"):
        base = Path(environ["VSCODE_APPDATA"])
    elif platform == "win32":
        base = _appdata(environ, home)
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = _xdg_config(environ, home)
    return base / "Code" / "User" / "mcp.json"


def _cursor_path(platform: Platform, environ: Mapping[str, str], home: Path) -> Path:
    return home / ".cursor" / "mcp.json"


def _claude_code_path(platform: Platform, environ: Mapping[str, str], home: Path) -> Path:
    if environ.get("CLAUDE_CONFIG_DIR"):
        return Path(environ["CLAUDE_CONFIG_DIR"]).expanduser() / ".claude.json"
    return home / ".claude.json"


def _gemini_path(platform: Platform, environ: Mapping[str, str], home: Path) -> Path:
    # Gemini CLI's home directory is GEMINI_CLI_HOME when that is set (its `homedir()`).
    base = Path(environ["GEMINI_CLI_HOME"]) if environ.get("GEMINI_CLI_HOME") else home
    return base / ".gemini" / "settings.json"


# What the registry and Podman read from the user's session that Codex does not pass on to an MCP
# server (it passes HOME, PATH, USER, LANG, TMPDIR and a few more): the runtime dir (rootless
# Podman's socket), the XDG dirs (the registry's config and secrets, Podman's storage), the session
# bus (Podman's cgroup manager), and proxy and CA settings for image pulls. `env_vars` makes Codex
# forward the ones that are set, by name, so none of their values is written into its file.
CODEX_FORWARDED_ENV = (
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_CACHE_HOME",
    "DBUS_SESSION_BUS_ADDRESS",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REGISTRY_AUTH_FILE",
)


def _codex_path(platform: Platform, environ: Mapping[str, str], home: Path) -> Path:
    configured = environ.get("CODEX_HOME", "").strip()
    return (Path(configured) if configured else home / ".codex") / "config.toml"


def _opencode_path(platform: Platform, environ: Mapping[str, str], home: Path) -> Path:
    # opencode finds its config dir through xdg-basedir on every platform, macOS and Windows too.
    return _xdg_config(environ, home) / "opencode" / "opencode.json"


@dataclass(frozen=True)
class Editor:
    id: str
    name: str
    # The keys from the file's root to the object that holds one member per MCP server.
    servers_path: tuple[str, ...]
    shape: EntryShape
    # What the user does after `install` so the client picks the entry up, and how to check it.
    next_step: str
    _path: Any = field(repr=False)
    format: DocumentFormat = JSONC

    def config_path(
        self, platform: Platform | None = None, environ: Mapping[str, str] | None = None, home: Path | None = None
    ) -> Path:
        return self._path(
            platform or current_platform(), os.environ if environ is None else environ, home or Path.home()
        )

    def entry(self, launch: ServerLaunch) -> dict[str, Any]:
        return self.shape.build(launch)

    @property
    def managed_fields(self) -> frozenset[str]:
        """Fields of our entry that `install` owns; others a user added (like Zed's "enabled") are kept."""
        return self.shape.managed_fields


EDITORS: Mapping[str, Editor] = {
    editor.id: editor
    for editor in (
        Editor(
            "zed",
            "Zed",
            ("context_servers",),
            CommandArgs({"source": "custom"}),
            "Zed reloads settings.json by itself: open the Agent Panel and check that mcp-registry has a green dot.",
            _zed_path,
        ),
        Editor(
            "claude-desktop",
            "Claude Desktop",
            ("mcpServers",),
            CommandArgs(),
            "Quit Claude Desktop completely and start it again; mcp-registry then shows under the tools icon.",
            _claude_desktop_path,
        ),
        Editor(
            "vscode",
            "VS Code",
            ("servers",),
            CommandArgs({"type": "stdio"}),
            "In VS Code run `MCP: List Servers`, pick mcp-registry and start it (or use it from Copilot Chat's agent mode).",
            _vscode_path,
        ),
        Editor(
            "cursor",
            "Cursor",
            ("mcpServers",),
            CommandArgs(),
            "In Cursor open Settings > MCP and make sure mcp-registry is enabled.",
            _cursor_path,
        ),
        Editor(
            "claude-code",
            "Claude Code",
            ("mcpServers",),
            CommandArgs({"type": "stdio"}, always_env=True),
            "Start a new `claude` session; `claude mcp list` shows mcp-registry.",
            _claude_code_path,
        ),
        Editor(
            "gemini",
            "Gemini CLI",
            ("mcpServers",),
            CommandArgs(timeouts={"timeout": attrgetter("longest_ms")}),
            "Run `gemini mcp list`: mcp-registry shows as Connected (in a new `gemini` session, `/mcp` lists its tools).",
            _gemini_path,
        ),
        Editor(
            "codex",
            "Codex",
            ("mcp_servers",),
            CommandArgs(
                timeouts={"startup_timeout_sec": attrgetter("startup"), "tool_timeout_sec": attrgetter("call")},
                tail={"env_vars": list(CODEX_FORWARDED_ENV)},
            ),
            "Start `codex` and type `/mcp`: mcp-registry is listed with its tools (`codex mcp list` shows the entry).",
            _codex_path,
            TOML,
        ),
        Editor(
            "opencode",
            "opencode",
            ("mcp",),
            CommandList(),
            "Run `opencode mcp list`: mcp-registry shows as connected; a new `opencode` session can use it.",
            _opencode_path,
        ),
    )
}
EDITOR_IDS = tuple(EDITORS)

"""The doctor's checks of files and settings: the environment, the catalog, config and secrets, editors.

None of these needs Podman. `check_config` reports what `ConfigStore` warns about (unreadable
files, a secrets file others may read), a config dir that is not 0700, and settings kept for
entries that left the catalog. `check_editors` reads each editor's config file the way `install`
does and says whether our entry is there, whether its command still exists, and whether it lacks
variables (CONTAINERS_CONF, MCP_REGISTRY_*) that are set in this shell.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp_registry_server.doctor.check import Check
from mcp_registry_server.editors.formats import DocumentError
from mcp_registry_server.editors.installer import DEFAULT_NAME
from mcp_registry_server.editors.targets import EDITORS, Platform, is_carried
from mcp_registry_server.settings import RegistrySettings

if TYPE_CHECKING:
    from mcp_registry_server.catalog import Catalog

__all__ = ["check_catalog", "check_config", "check_editors", "check_environment", "file_mode"]


def check_environment(environ: Mapping[str, str]) -> tuple[Check, RegistrySettings | None]:
    try:
        settings = RegistrySettings.from_environ(environ)
    except ValueError as error:
        return Check("environment", "fail", str(error), fix="Fix or unset that variable."), None
    relevant = sorted(name for name in environ if is_carried(name) or name == "XDG_RUNTIME_DIR")
    shown = tuple(f"{name}={environ[name]}" for name in relevant if environ[name])
    python = f"Python {sys.version.split()[0]}"
    return Check("environment", "ok", python + (f", {len(shown)} relevant variable(s) set" if shown else ""), shown), (
        settings
    )


def check_catalog(settings: RegistrySettings) -> tuple[Check, Catalog]:
    from mcp_registry_server.catalog import load_catalog

    catalog = load_catalog(settings.catalog_dirs)
    dirs = [str(directory) for directory in settings.catalog_dirs if directory.is_dir()]
    summary = f"{len(catalog)} entries from {len(dirs)} director{'y' if len(dirs) == 1 else 'ies'}"
    data = {"entries": len(catalog), "dirs": dirs}
    if catalog.warnings:
        return (
            Check(
                "catalog",
                "warn",
                f"{summary}; {len(catalog.warnings)} file(s) skipped",
                tuple(str(warning) for warning in catalog.warnings),
                fix="Fix or remove the files above; `mcp-registry catalog validate <file>` shows the details.",
                data=data,
            ),
            catalog,
        )
    if not catalog:
        return (
            Check(
                "catalog",
                "fail",
                "the catalog is empty: this installation has no bundled catalog files",
                tuple(str(directory) for directory in settings.catalog_dirs),
                fix="Install from a checkout with `pipx install --editable .` (or `uv tool install --editable .`), "
                "or point MCP_REGISTRY_CATALOG_PATH at a directory of catalog *.toml files.",
            ),
            catalog,
        )
    return Check("catalog", "ok", summary, tuple(dirs), data=data), catalog


def file_mode(path: Path) -> int | None:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return None


def _entry_ids(path: Path) -> set[str]:
    """The entries a settings file holds values for: its `[entries]`, and in secrets.toml the
    `[keyring]` index of values kept in the OS keyring (`config.keyring_secrets`)."""
    from mcp_registry_server.config.keyring_secrets import INDEX_TABLE

    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    ids: set[str] = set()
    for table in ("entries", INDEX_TABLE):
        if isinstance(values := document.get(table), dict):
            ids |= set(values)
    return ids


def check_config(settings: RegistrySettings, known_ids: set[str]) -> Check:
    from mcp_registry_server.config import CONFIG_FILE, SECRETS_FILE, ConfigStore

    directory = settings.config_dir
    if not directory.exists():
        return Check("config", "ok", f"no settings stored yet ({directory} does not exist)")
    problems: list[str] = []
    store = ConfigStore(directory)
    store.load()
    problems.extend(store.warnings)
    if os.name == "posix":
        mode = file_mode(directory)
        if mode is not None and mode & 0o077:
            problems.append(f"{directory} has mode {mode:04o}; others may list it (0700 expected)")
    configured = _entry_ids(directory / CONFIG_FILE) | _entry_ids(directory / SECRETS_FILE)
    stale = sorted(configured - known_ids)
    if stale:
        problems.append(f"settings for entries that are not in the catalog (ignored): {', '.join(stale)}")
    secrets_mode = file_mode(directory / SECRETS_FILE)
    summary = f"{directory}: settings for {len(configured)} entr{'y' if len(configured) == 1 else 'ies'}" + (
        f", secrets file mode {secrets_mode:04o}" if secrets_mode is not None else ""
    )
    if problems:
        return Check(
            "config",
            "warn",
            summary,
            tuple(problems),
            fix="`mcp-registry doctor --fix` tightens the permissions; stale entries can be removed with "
            "`mcp-registry config unset <entry> <KEY>` before the entry goes, or by editing the file.",
        )
    return Check("config", "ok", summary)


def check_editors(environ: Mapping[str, str], platform: Platform, home: Path) -> Check:
    installed: list[str] = []
    details: list[str] = []
    broken: list[str] = []
    stale_env: list[str] = []
    for editor in EDITORS.values():
        path = editor.config_path(platform, environ, home)
        try:
            node: Any = editor.format.load(path.read_text(encoding="utf-8")) if path.is_file() else {}
        except (OSError, UnicodeDecodeError, DocumentError) as error:
            details.append(f"{editor.id}: {path} cannot be read ({error})")
            continue
        for key in (*editor.servers_path, DEFAULT_NAME):
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        installed.append(editor.id)
        command = editor.shape.command_of(node)
        remote = node.get("url") or node.get("httpUrl")
        if not command and isinstance(remote, str):  # an HTTP entry (`install --url`): nothing to run here
            details.append(f"{editor.id}: {path} reaches {remote} over HTTP")
            continue
        if not (os.path.isfile(command) and os.access(command, os.X_OK)):
            broken.append(editor.id)
            details.append(f"{editor.id}: {path} runs {command!r}, which is not an executable file")
            continue
        details.append(f"{editor.id}: {path} runs {command}")
        env = node.get(editor.shape.env_key)
        entry_env = env if isinstance(env, dict) else {}
        for name in sorted(filter(is_carried, environ)):
            if environ[name] and entry_env.get(name) is None:
                stale_env.append(f"{editor.id} (no {name})")
    if broken:
        return Check(
            "editors",
            "fail",
            f"the entry in {', '.join(broken)} points at a missing executable",
            tuple(details),
            fix=" ; ".join(f"mcp-registry install {editor_id}" for editor_id in broken),
        )
    if not installed:
        return Check(
            "editors",
            "warn",
            "no editor is set up to run mcp-registry yet",
            tuple(details),
            fix="mcp-registry install <editor>, with one of: " + ", ".join(EDITORS),
        )
    if stale_env:
        return Check(
            "editors",
            "warn",
            f"set up in {', '.join(installed)}, but the entry lacks variables set in this shell",
            (*details, *stale_env),
            fix="Run `mcp-registry install <editor>` again to carry them over (or --no-env if they are not meant for it).",
        )
    return Check("editors", "ok", f"set up in {', '.join(installed)}", tuple(details))

"""`config get|set|unset`: an entry's settings, secrets and volumes, through `ConfigStore`.

Secret values never travel on the command line and are never printed. `set` refuses
`SECRET=value` (it would land in shell history and in /proc/<pid>/cmdline, readable by other
users); a secret named without a value is prompted for without echo on a terminal, or read from
stdin with `--stdin`. `get` says only whether a secret is set. Everything `ConfigStore` refuses
comes back as its own message, which names the key and the reason.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from mcp_registry_server.cli.common import find_entry, load_catalog, load_settings
from mcp_registry_server.cli.output import CLIError, Style, emit_json, warn


def _context(entry_id: str) -> tuple[Any, Any]:
    from mcp_registry_server.config import ConfigStore

    settings = load_settings()
    entry = find_entry(load_catalog(settings), entry_id)
    return entry, ConfigStore(settings.config_dir)


def get(options: argparse.Namespace) -> int:
    entry, store = _context(options.entry)
    described = store.describe_entry_config(entry)
    for problem in described["warnings"]:
        warn(problem)
    if options.key is not None:
        return _get_one(entry, described, options.key, as_json=options.json)
    if options.json:
        emit_json(described)
        return 0
    style = Style(sys.stdout)
    if not described["settable_keys"]:
        print(f"{entry.id} takes no settings.")
        return 0
    for var in [*described["parameters"], *described["env"]]:
        value = "(unset)" if var["value"] is None else var["value"]
        print(
            f"{var['name']} = {value}  {style.dim('(' + var['from'] + (', required' if var['required'] else '') + ')')}"
        )
    for secret in described["secrets"]:
        print(f"{secret['name']}  {style.dim('(secret)')} {style.green('set') if secret['set'] else 'not set'}")
    for volume in described["volumes"]:
        state = f"on, {volume['source']} → {volume['target']}" if volume["enabled"] else f"off ({volume['target']})"
        print(f"volume:{volume['name']} {state}")
    if described["missing_required"]:
        print(f"\n{style.yellow('missing')}: {', '.join(described['missing_required'])}")
    return 0


def _get_one(entry: Any, described: dict[str, Any], key: str, *, as_json: bool) -> int:
    for var in [*described["parameters"], *described["env"]]:
        if var["name"] == key:
            if as_json:
                emit_json(var)
            elif var["value"] is not None:
                print(var["value"])
            return 0 if var["value"] is not None else 1
    for secret in described["secrets"]:
        if secret["name"] == key:
            if as_json:
                emit_json(secret)
                return 0
            raise CLIError(
                f"{key} is a secret of {entry.id}; its value is never printed. It is {'set' if secret['set'] else 'not set'}.",
                hint=f"Replace it with `mcp-registry config set {entry.id} {key}`.",
            )
    for volume in described["volumes"]:
        if f"volume:{volume['name']}" == key:
            if as_json:
                emit_json(volume)
            else:
                print(volume["source"] if volume["enabled"] else "off")
            return 0
    raise CLIError(
        f"{key!r} is not a setting of {entry.id}.",
        hint=f"Its settings: {', '.join(described['settable_keys']) or 'none'}.",
    )


def _read_value(entry: Any, key: str, *, from_stdin: bool) -> str:
    secret = key in entry.secret_names
    if from_stdin:
        value = sys.stdin.read()
        value = value[:-2] if value.endswith("\r\n") else value[:-1] if value.endswith("\n") else value
    elif sys.stdin.isatty():
        prompt = f"{key} for {entry.id}{' (input hidden)' if secret else ''}: "
        try:
            value = getpass.getpass(prompt) if secret else input(prompt)
        except EOFError:
            value = ""
    else:
        raise CLIError(
            f"No value for {key}, and stdin is not a terminal to ask on.",
            hint=f"Pipe it in: `... | mcp-registry config set {entry.id} {key} --stdin`"
            + ("" if secret else f", or write `{key}=value`"),
            exit_code=2,
        )
    if value == "":
        raise CLIError(
            f"The value for {key} is empty; nothing was changed.",
            hint=f"To remove a stored value, run `mcp-registry config unset {entry.id} {key}`.",
        )
    return value


def set_values(options: argparse.Namespace) -> int:
    entry, store = _context(options.entry)
    values: dict[str, str] = {}
    prompted: list[str] = []
    for assignment in options.assignments:
        key, sep, value = assignment.partition("=")
        if sep and key in entry.secret_names:
            raise CLIError(
                f"{key} is a secret: its value is not taken from the command line, where it would stay in your "
                "shell history and be visible to other users in the process list. Nothing was changed.",
                hint=f"Run `mcp-registry config set {entry.id} {key}` to type it without echo, or pipe it: "
                f'`printf %s "$VALUE" | mcp-registry config set {entry.id} {key} --stdin`. Consider rotating it '
                "if this was a real value.",
                exit_code=2,
            )
        if sep:
            values[key] = value
        else:
            prompted.append(key)
    if options.stdin and len(prompted) != 1:
        raise CLIError("--stdin reads one value: name exactly one KEY without '='.", exit_code=2)
    if prompted:
        from mcp_registry_server.config import settable_keys

        valid = settable_keys(entry)
        for key in prompted:
            if key not in valid:  # fail before asking for a value that cannot be stored
                values[key] = ""
                continue
            values[key] = _read_value(entry, key, from_stdin=options.stdin)
    return _store(store, entry, values, as_json=options.json)


def unset(options: argparse.Namespace) -> int:
    entry, store = _context(options.entry)
    return _store(store, entry, dict.fromkeys(options.keys), as_json=options.json)


def _store(store: Any, entry: Any, values: dict[str, Any], *, as_json: bool) -> int:
    from mcp_registry_server.config import ConfigError

    try:
        result = store.set_values(entry, values)
    except ConfigError as error:
        raise CLIError(str(error), hint=f"See the settings with `mcp-registry config get {entry.id}`.") from None
    if as_json:
        emit_json(
            {
                "entry": entry.id,
                "changes": [
                    {"key": c.key, "kind": c.kind, "action": c.action, "value": c.shown} for c in result.changes
                ],
                "warnings": list(result.warnings),
            }
        )
        return 0
    for change in result.changes:
        print(change.describe())
    for problem in result.warnings:
        warn(problem)
    print(Style(sys.stdout).dim(f"Applies the next time {entry.id} is activated (remove and add it if it is active)."))
    return 0

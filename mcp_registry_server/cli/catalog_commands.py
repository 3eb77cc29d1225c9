"""`search`, `list`, `info` and `catalog validate`: the catalog, read the way the registry reads it.

None of these needs Podman or a running registry. `catalog validate` reports exactly what the
registry would skip (it uses the same loader), plus lints that do not stop an entry from loading
but make it harder to use: a file name that differs from the id, a short image name, no tools.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mcp_registry_server.cli.common import find_entry, load_catalog, load_settings
from mcp_registry_server.cli.output import CLIError, Style, emit_json, print_table


def _one_line(text: str, limit: int = 200) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"


def search(options: argparse.Namespace) -> int:
    from mcp_registry_server.catalog import search as search_catalog

    settings = load_settings()
    catalog = load_catalog(settings)
    query = " ".join(options.words)
    if options.limit < 1:
        raise CLIError("--limit must be at least 1.", exit_code=2)
    hits = search_catalog(catalog, query, limit=options.limit)
    results: list[dict[str, Any]] = [
        {
            "id": hit.entry.id,
            "name": hit.entry.name,
            "description": _one_line(hit.entry.description),
            "score": hit.score,
            "tools": [tool.name for tool in hit.entry.tools],
            "matched_tools": list(hit.matched_tools),
        }
        for hit in hits
    ]
    if options.json:
        emit_json(results)
        return 0
    if not results:
        raise CLIError(
            f"Nothing in the catalog ({len(catalog)} entries) matches {query!r}.",
            hint="Try fewer or other words, or `mcp-registry list` to see everything.",
        )
    rows: list[list[str]] = []
    for result in results:
        matched = f" [tools: {', '.join(result['matched_tools'])}]" if result["matched_tools"] else ""
        rows.append([result["id"], result["name"], result["description"] + matched])
    print_table(["ID", "NAME", "DESCRIPTION"], rows, shrink=2)
    print(Style(sys.stdout).dim("\nmcp-registry info <id> for details; mcp-registry try <id> to activate one."))
    return 0


def list_entries(options: argparse.Namespace) -> int:
    from mcp_registry_server.config import ConfigStore

    settings = load_settings()
    catalog = load_catalog(settings)
    store = ConfigStore(settings.config_dir)
    entries: list[dict[str, Any]] = []
    for entry in catalog.values():
        missing = store.resolved_values(entry).missing_required
        entries.append(
            {
                "id": entry.id,
                "name": entry.name,
                "image": entry.image,
                "tags": list(entry.tags),
                "tools": [tool.name for tool in entry.tools],
                "missing_required": list(missing),
                "cannot_activate": entry.not_runnable_reason(),
                "file": str(catalog.source_of(entry.id) or ""),
            }
        )
    if options.json:
        emit_json(entries)
        return 0
    rows = [
        [
            entry["id"],
            entry["name"],
            str(len(entry["tools"])),
            _setup(entry),
        ]
        for entry in entries
    ]
    print_table(["ID", "NAME", "TOOLS", "SETUP"], rows, shrink=1)
    return 0


def _setup(listed: dict[str, Any]) -> str:
    if listed["cannot_activate"]:
        return "not runnable yet (mcp-registry info)"
    return f"needs {', '.join(listed['missing_required'])}" if listed["missing_required"] else "ready"


def _entry_details(entry: Any, catalog: Any, config: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": entry.id,
        "name": entry.name,
        "description": entry.description,
        "image": entry.image,
        "runs": entry.runs,
        "source": entry.source,
        "tags": list(entry.tags),
        "network": entry.network,
        "allow_hosts": list(entry.allow_hosts),
        "network_access": entry.network_access,
        "tools": [{"name": tool.name, "description": tool.description} for tool in entry.tools],
        "env": config["env"],
        "parameters": config["parameters"],
        "remote": entry.remote.model_dump() if entry.remote is not None else None,
        "oauth": entry.oauth_note() or None,
        "cannot_activate": entry.not_runnable_reason(),
        "imported": entry.imported.model_dump() if entry.imported is not None else None,
        "secrets": [
            {"name": secret.name, "description": secret.description, "required": secret.required, "set": state["set"]}
            for secret, state in zip(entry.secrets, config["secrets"], strict=True)
        ],
        "volumes": [
            {**state, "description": volume.description}
            for volume, state in zip(entry.volumes, config["volumes"], strict=True)
        ],
        "missing_required": config["missing_required"],
        "resources": {"memory": entry.memory, "cpus": entry.cpus, "pids_limit": entry.pids_limit},
        "file": str(catalog.source_of(entry.id) or ""),
    }


def info(options: argparse.Namespace) -> int:
    from mcp_registry_server.config import ConfigStore

    settings = load_settings()
    catalog = load_catalog(settings)
    entry = find_entry(catalog, options.entry)
    details = _entry_details(entry, catalog, ConfigStore(settings.config_dir).describe_entry_config(entry))
    if options.json:
        emit_json(details)
        return 0
    style = Style(sys.stdout)
    print(f"{style.bold(entry.id)} — {entry.name}")
    print(f"  {entry.description.strip()}\n")
    fields = [("runs", entry.runs), ("network", entry.network_access), ("source", entry.source or "-")]
    fields += [("tags", ", ".join(entry.tags) or "-"), ("file", details["file"] or "-")]
    for label, value in fields:
        print(f"{label:<9} {value}")
    print(f"\n{style.bold('tools')} ({len(entry.tools)} known before activation)")
    width = max((len(tool.name) for tool in entry.tools), default=0)
    for tool in entry.tools:
        print(f"  {tool.name:<{width}}  {_one_line(tool.description, 100)}")
    for label, value in (("remote", details["remote"] and details["remote"]["url"]), ("oauth", details["oauth"])):
        if value:
            print(f"{label:<9} {value}")
    if details["cannot_activate"]:
        print(f"\n{style.yellow('cannot activate')}: {details['cannot_activate']}")
    if details["env"] or details["parameters"]:
        print(f"\n{style.bold('settings')}")
        for var in [*details["parameters"], *details["env"]]:
            value = "(unset)" if var["value"] is None else repr(var["value"])
            need = ", required" if var["required"] else ""
            print(f"  {var['name']} = {value} ({var['from']}{need})  {style.dim(var['description'])}")
    if details["secrets"]:
        print(f"\n{style.bold('secrets')} (values are never shown)")
        for secret in details["secrets"]:
            state = style.green("set") if secret["set"] else (style.red("not set") if secret["required"] else "not set")
            print(f"  {secret['name']}: {state}  {style.dim(secret['description'])}")
    if details["volumes"]:
        print(f"\n{style.bold('volumes')} (off unless enabled)")
        for volume in details["volumes"]:
            state = f"on, from {volume['source']}" if volume["enabled"] else "off"
            print(f"  {volume['name']} → {volume['target']} ({state})  {style.dim(volume['description'])}")
            if not volume["enabled"]:
                print(style.dim(f"    enable: mcp-registry config set {entry.id} volume:{volume['name']}=on"))
    if details["cannot_activate"]:
        pass  # said above
    elif details["missing_required"]:
        first = details["missing_required"][0]
        print(
            f"\n{style.yellow('needs')}: {', '.join(details['missing_required'])} — "
            f"set with `mcp-registry config set {entry.id} {first}`"
        )
    else:
        print(f"\nready: `mcp-registry try {entry.id}`, or ask your editor to activate {entry.id}")
    return 0


# --- catalog validate ------------------------------------------------------------------------


def _lints(entry: Any, path: Path) -> list[str]:
    problems = []
    if path.stem != entry.id:
        problems.append(f"the file name does not match the id: name it {entry.id}.toml so overrides are easy to find")
    first = entry.image.split("/", 1)[0]
    if (entry.image and "/" not in entry.image) or (
        entry.image and not ("." in first or ":" in first or first == "localhost")
    ):
        problems.append(
            f"image {entry.image!r} is a short name; Podman may refuse it or ask which registry to use. "
            f"Write it in full, e.g. docker.io/{entry.image if '/' in entry.image else 'library/' + entry.image}"
        )
    if not entry.tools:
        problems.append("no [[tools]] are listed, so searching by tool name cannot find this entry")
    if not entry.description.strip():
        problems.append("the description is empty, so search has little to match")
    return problems


def validate(options: argparse.Namespace) -> int:
    from mcp_registry_server.catalog import load_catalog as load

    results: list[dict[str, Any]] = []
    for raw in options.paths:
        path = Path(raw).expanduser()
        if not path.exists():
            results.append(
                {"path": str(path), "id": None, "status": "error", "problems": ["no such file or directory"]}
            )
            continue
        if path.is_file() and path.suffix != ".toml":
            results.append(
                {
                    "path": str(path),
                    "id": None,
                    "status": "error",
                    "problems": ["not a .toml file: the registry ignores it"],
                }
            )
            continue
        directory = path if path.is_dir() else path.parent
        catalog = load([directory])
        wanted = None if path.is_dir() else path.resolve()
        by_file: dict[Path, dict[str, Any]] = {}
        for entry_id, source in catalog.sources.items():
            if wanted is None or source.resolve() == wanted:
                entry = catalog[entry_id]
                lints = _lints(entry, source)
                by_file[source] = {
                    "path": str(source),
                    "id": entry_id,
                    "status": "warn" if lints else "ok",
                    "problems": lints,
                }
        for warning in catalog.warnings:
            if wanted is None or warning.path.resolve() == wanted:
                by_file[warning.path] = {
                    "path": str(warning.path),
                    "id": None,
                    "status": "error",
                    "problems": [warning.message],
                    "fields": list(warning.fields),
                }
        if not by_file:
            results.append(
                {"path": str(path), "id": None, "status": "error", "problems": ["no *.toml entry files here"]}
            )
        results.extend(by_file[key] for key in sorted(by_file))
    failed = [r for r in results if r["status"] == "error" or (options.strict and r["status"] == "warn")]
    if options.json:
        emit_json({"ok": not failed, "files": results})
        return 1 if failed else 0
    style = Style(sys.stdout)
    for result in results:
        label = f"{result['path']}" + (f"  ({result['id']})" if result["id"] else "")
        print(f"{style.mark(result['status'])} {label}")
        for problem in result["problems"]:
            print(f"    {problem}")
    valid = sum(r["status"] != "error" for r in results)
    warned = sum(r["status"] == "warn" for r in results)
    print(f"\n{len(results)} file(s): {valid} valid ({warned} with warnings), {len(results) - valid} invalid")
    return 1 if failed else 0

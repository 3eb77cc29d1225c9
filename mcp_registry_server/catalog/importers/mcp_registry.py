"""Import the official MCP registry's server.json records (camelCase schema, 2025-09-29 … 2025-12-11).

Contract: `import_server_json(path, imported_at=…)` reads one JSON file, or every `*.json` under a
directory (name order, hidden files skipped), and returns an `ImportResult`. A file may hold one
server.json record, one API response (`{"server": {...}, "_meta": {...}}`), an API list
(`{"servers": [...], "metadata": {...}}`) or a JSON array of either. `select_records` keeps one
record per name: the registry's `isLatest` one, else the newest `publishedAt`, else the last
seen; a name whose chosen record is `deleted` is dropped (and reported). `entry_from_server_json`
maps one record; `entry_ids` gives readable, unique ids. Pure: no network, no Podman.

How a record maps (server.json → ours):
- `name` (`io.github.user/weather`) → id `user-weather` (`entry_ids`); `title` or the name →
  `name`; `description` plus the full name and version → `description`; `repository.url`
  (+ `subfolder`) or `websiteUrl` → `source`; `_meta` status `deprecated` is noted in the description.
- Which way to run it: the first package the registry can run (npm / pypi → `package`, built into
  an image at its exact version; oci → `image`, `identifier[:version]`), else the first remote
  (`remote`), else the first package's reason as `unsupported`. A local package wins over a remote:
  it runs in a hardened container the user controls. mcpb and nuget packages, packages serving
  streamable-http / sse, and npm / pypi packages without an exact version are `unsupported`.
- `environmentVariables` → `[[secrets]]` when `isSecret` (or a variable of its value is), else
  `[[env]]` with `isRequired`, `value` or `default`; `choices`, `format` and `placeholder` are
  noted in the description. `{var}` in a value becomes the parameter `{{var}}`.
- `packageArguments` → `args` (`arguments`): positional → the value, named → `--flag`, `value` as
  two items. A fixed `value` is kept; an argument without one becomes a parameter (its `default`,
  `isRequired`) named after `valueHint` / the flag; `variables` become parameters too. An optional
  argument with neither value nor default is left off (an empty parameter would still pass `--flag ""`);
  the description lists it. `isRepeated` arguments are passed once.
- `runtimeArguments`: for npx / uvx, the ones that only select or confirm the package (`-y`,
  `--yes`, `-q`, `--from <the package>` …) are dropped, since the registry builds the package;
  any other makes the record unsupported, because the built image has no place for runtime flags.
  (`runtimeHint` only says which flags those are; the image builder picks the runtime itself.)
  For docker (oci), `-e NAME=value` becomes `[[env]]`, `-v` / `--mount` a `[[volumes]]` entry (off
  until enabled), `--rm` / `-i` / `--init` are dropped (the registry sets them); others: unsupported.
- `remotes[]` → `remote` (streamable-http preferred over sse): `{var}` in the url becomes `{{var}}`
  with a parameter; `headers` → `remote.headers`, a secret header (or secret variable) as `${NAME}`
  naming a `[[secrets]]` entry.
- Packages keep `network = "none"`: server.json says nothing about what a server reaches, and an
  entry gets network only by declaring it (edit the imported file: `network = "bridge"` or
  `allow_hosts`). Anything whose secret would land on the command line is unsupported.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp_registry_server.catalog.entry import ENTRY_ID_PATTERN, CatalogEntry
from mcp_registry_server.catalog.importers import ImportProblem, ImportResult, validated_entry
from mcp_registry_server.catalog.importers.server_json_inputs import InputMapper, RecordUnsupported, text
from mcp_registry_server.files import read_regular_file

__all__ = [
    "OFFICIAL_META",
    "RegistryImportError",
    "ServerRecord",
    "entry_from_server_json",
    "entry_ids",
    "find_json_files",
    "import_server_json",
    "records_from_json",
    "select_records",
]

FORMAT = "mcp-registry"
OFFICIAL_META = "io.modelcontextprotocol.registry/official"
MAX_FILE_BYTES = 64 * 1024 * 1024  # a saved list of the whole registry is tens of MiB
_ID_ALPHABET = re.compile(r"[^a-z0-9._-]+")
# Forges whose namespace is `io.github.<user>`: the user is the readable part.
_FORGE_PREFIXES = ("io.github.", "io.gitlab.", "com.github.", "org.codeberg.")
_TRANSPORT_ORDER = {"streamable-http": 0, "sse": 1}


class RegistryImportError(ValueError):
    """A record or file that cannot be read as server.json; the message says why."""


@dataclass(frozen=True)
class ServerRecord:
    """One server.json record with the registry's metadata about it (empty for a plain file)."""

    server: dict[str, Any]
    official: dict[str, Any]
    source: str  # the file (or URL) it was read from, for provenance and problems

    @property
    def name(self) -> str:
        return text(self.server.get("name"))

    @property
    def version(self) -> str:
        return text(self.server.get("version"))

    @property
    def status(self) -> str:
        return text(self.official.get("status")) or text(self.server.get("status")) or "active"


# --- reading --------------------------------------------------------------------------------------


def find_json_files(path: Path) -> list[Path]:
    """`path` itself when it is a file, else every `*.json` below it (hidden ones skipped), in name order."""
    if path.is_file():
        return [path]
    return sorted(
        found
        for found in path.rglob("*.json")
        if found.is_file() and not any(part.startswith(".") for part in found.relative_to(path).parts)
    )


def records_from_json(data: object, source: str) -> list[ServerRecord]:
    """The records in one parsed document: a record, an API response, an API list, or an array of them."""
    if isinstance(data, list):
        return [record for item in data for record in records_from_json(item, source)]
    if not isinstance(data, dict):
        raise RegistryImportError("it holds neither a server.json object nor a list of them")
    if isinstance(data.get("servers"), list):
        return [record for item in data["servers"] for record in records_from_json(item, source)]
    meta = data.get("_meta") if isinstance(data.get("_meta"), dict) else {}
    if isinstance(data.get("server"), dict):
        server = data["server"]
    elif "name" in data:
        server = data  # a publisher's server.json; older API answers put the registry's _meta in it
        meta = server.get("_meta") if isinstance(server.get("_meta"), dict) else {}
    else:
        raise RegistryImportError("an object has neither `name` (server.json) nor `server` (API response)")
    official = meta.get(OFFICIAL_META) if isinstance(meta, dict) else None
    return [ServerRecord(server, official if isinstance(official, dict) else {}, source)]


def _read_records(path: Path, shown: str) -> list[ServerRecord]:
    try:
        raw = read_regular_file(path, MAX_FILE_BYTES)
    except OSError as error:
        raise RegistryImportError(f"it could not be read ({error.strerror or error})") from None
    if raw is None or len(raw) > MAX_FILE_BYTES:
        raise RegistryImportError(f"it is not a regular file under {MAX_FILE_BYTES // 1024 // 1024} MiB")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise RegistryImportError("it is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise RegistryImportError(f"it is not valid JSON ({error})") from None
    return records_from_json(data, shown)


def import_server_json(path: Path, *, imported_at: str) -> ImportResult:
    """Every record in the file or directory `path`, one entry per name; see the module docstring."""
    result = ImportResult()
    records: list[ServerRecord] = []
    for file in find_json_files(path):
        shown = file.name if file == path else file.relative_to(path).as_posix()
        try:
            records += _read_records(file, shown)
        except RegistryImportError as error:
            result.problems.append(ImportProblem(file.name, shown, str(error)))
    chosen, deleted = select_records(records)
    result.problems += [
        ImportProblem(record.name, record.source, "the registry marks it deleted") for record in deleted
    ]
    ids = entry_ids([record.name for record in chosen])
    for record in chosen:
        try:
            entry = entry_from_server_json(
                record, entry_id=ids[record.name], imported_at=imported_at, source_file=record.source
            )
        except RegistryImportError as error:
            result.problems.append(ImportProblem(record.name or "(no name)", record.source, str(error)))
            continue
        result.entries.append(entry)
    return result


def select_records(records: Iterable[ServerRecord]) -> tuple[list[ServerRecord], list[ServerRecord]]:
    """One record per name (latest wins, see the module docstring), and the names whose latest is deleted.

    Records without a name are kept as they are, so `entry_from_server_json` reports them.
    """
    by_name: dict[str, list[ServerRecord]] = {}
    nameless: list[ServerRecord] = []
    for record in records:
        if record.name:
            by_name.setdefault(record.name, []).append(record)
        else:
            nameless.append(record)
    chosen: list[ServerRecord] = []
    deleted: list[ServerRecord] = []
    for versions in by_name.values():
        record = latest_record(versions)
        (deleted if record.status == "deleted" else chosen).append(record)
    return chosen + nameless, deleted


def latest_record(versions: list[ServerRecord]) -> ServerRecord:
    """The registry's `isLatest` version, else the newest `publishedAt`, else the last one given."""
    marked = [record for record in versions if record.official.get("isLatest") is True]
    if marked:
        return marked[-1]
    # RFC 3339 times in UTC sort as text; records without one sort first, in the order given.
    return max(enumerate(versions), key=lambda pair: (text(pair[1].official.get("publishedAt")), pair[0]))[1]


# --- ids ------------------------------------------------------------------------------------------


def readable_id(name: str) -> str:
    """`io.github.user/weather` → `user-weather`; `com.example/x` → `example-x`; `io.github.acme/acme-mcp` → `acme-mcp`."""
    namespace, _, server = name.lower().partition("/")
    owner = namespace
    for prefix in _FORGE_PREFIXES:
        if namespace.startswith(prefix):
            owner = namespace.removeprefix(prefix)
            break
    else:
        parts = namespace.split(".")
        owner = "-".join(parts[1:]) if len(parts) > 1 else namespace  # drop the TLD: com.example → example
    owner, server = _ID_ALPHABET.sub("-", owner), _ID_ALPHABET.sub("-", server)
    candidate = server if server == owner or server.startswith(owner + "-") else f"{owner}-{server}"
    return _fit_id(candidate.strip("-._"))


def _fit_id(candidate: str, suffix: str = "") -> str:
    room = 64 - len(suffix)
    return (candidate[:room].rstrip("-._") or "server") + suffix


def entry_ids(names: Iterable[str], taken: Iterable[str] = ()) -> dict[str, str]:
    """A readable id per name, unique among them and apart from `taken`; stable for a given name.

    Names sharing a readable id are told apart by a short hash of the full name; the first in
    name order keeps the plain one.
    """
    used = set(taken)
    ids: dict[str, str] = {}
    for name in sorted(set(names)):
        candidate = readable_id(name)
        if candidate in used:
            digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
            candidate = _fit_id(candidate, f"-{digest}")
        assert re.fullmatch(ENTRY_ID_PATTERN, candidate), candidate
        used.add(candidate)
        ids[name] = candidate
    return ids


# --- one record -----------------------------------------------------------------------------------


def entry_from_server_json(
    record: ServerRecord, *, entry_id: str, imported_at: str, source_file: str = "", source_url: str = ""
) -> CatalogEntry:
    """One record as a `CatalogEntry`; RegistryImportError when it cannot be one."""
    server = record.server
    name = record.name
    if not name:
        raise RegistryImportError("it has no name")
    if _is_snake_case_schema(server):
        raise RegistryImportError(
            "it is written in the 2025-07-09 schema (snake_case: registry_type, transport_type, version_detail); "
            "this importer reads the camelCase schema of 2025-09-29 and later (registryType, …)"
        )
    provenance = {"format": FORMAT, "imported_at": imported_at, "source_file": source_file, "source_url": source_url}
    data: dict[str, Any] = {
        "id": entry_id,
        "name": text(server.get("title")) or name,
        "description": _description(record),
        "source": _source(server),
        "imported": {key: value for key, value in provenance.items() if value},
    }
    packages = [p for p in server.get("packages") or [] if isinstance(p, dict)]
    remotes = sorted(
        (r for r in server.get("remotes") or [] if isinstance(r, dict)),
        key=lambda remote: _TRANSPORT_ORDER.get(text(remote.get("type")), 9),
    )
    fields, inputs = _way_to_run(packages, remotes)
    data |= fields
    data |= inputs.declarations()
    if inputs.omitted:
        data["description"] += "\n\nOptional arguments left off (not settable here): " + "; ".join(inputs.omitted)
    try:
        return validated_entry(data)
    except ValueError as error:
        raise RegistryImportError(str(error)) from None


def _way_to_run(packages: list[dict[str, Any]], remotes: list[dict[str, Any]]) -> tuple[dict[str, Any], InputMapper]:
    """The fields of the first package the registry can run, else of the first usable remote, else `unsupported`."""
    reasons: list[str] = []
    for package in packages:
        inputs = InputMapper()
        try:
            return inputs.package(package), inputs
        except RecordUnsupported as why:
            reasons.append(str(why))
    for remote in remotes:
        inputs = InputMapper()
        try:
            return {"remote": inputs.remote(remote)}, inputs
        except RecordUnsupported as why:
            reasons.append(str(why))
    if not reasons:
        raise RegistryImportError("it names neither a package nor a remote to run")
    return {"unsupported": reasons[0]}, InputMapper()  # the first package's reason: what a user would try


def _is_snake_case_schema(server: dict[str, Any]) -> bool:
    old_keys = {"registry_type", "transport_type", "package_arguments", "environment_variables"}
    items = [*(server.get("packages") or []), *(server.get("remotes") or [])]
    return "version_detail" in server or any(isinstance(item, dict) and old_keys & item.keys() for item in items)


def _description(record: ServerRecord) -> str:
    described = text(record.server.get("description")) or text(record.server.get("title")) or record.name
    version = f" {record.version}" if record.version else ""
    notes = [f"MCP registry: {record.name}{version}."]
    if record.status == "deprecated":
        notes.append("Deprecated by its publisher.")
    return f"{described}\n\n{' '.join(notes)}"


def _source(server: dict[str, Any]) -> str:
    repository = server.get("repository")
    if not isinstance(repository, dict):
        repository = {}
    url = text(repository.get("url"))
    subfolder = text(repository.get("subfolder")).strip("/")
    if url and subfolder:
        return f"{url.rstrip('/')}/tree/HEAD/{subfolder}"
    return url or text(server.get("websiteUrl"))

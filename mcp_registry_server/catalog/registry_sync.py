"""Sync catalog entries from an MCP registry's API (`GET …/servers`): page by cursor, import, write.

Contract: `sync_registry(url, out_dir, now=…)` reads every page of the server list at `url`
(`?limit=…&cursor=…`, following `metadata.nextCursor`), keeps one record per server name (the
registry's `isLatest`; `importers.mcp_registry.latest_record` when none is marked), and writes
each as `<out_dir>/<id>.toml` through `importers.mcp_registry`. It returns a `SyncReport`.

- Incremental: a small state file in `out_dir` (`.mcp-registry-sync.json`, hidden, so the loader
  ignores it) remembers per URL when it last synced (the newest `updatedAt` it saw) and which
  entry file holds which server name. The next run passes `updated_since` and touches only what
  changed. A server whose latest version is `deleted` loses its file; so does, on a full sync, a
  server the list no longer has. An update of an older version (not `isLatest`) changes nothing.
- Ownership: sync writes and removes only files it recorded. A new server whose id is taken by a
  file it did not write gets the id with a short hash of its name (`entry_ids`).
- Failure: every page is fetched and parsed before anything is written, so a network error, an
  HTTP error answer or bad JSON raises `SyncError` and leaves the dir as it was. Files are written
  atomically, and the state names a file before the file is written, so an interrupted run is
  finished by the next one. A record that cannot be imported is reported, not written; an earlier
  file for it stays.
- `on_page(pages, records)` is called after each page, for a progress display.

Uses httpx (sync client); it imports nothing above `catalog`.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2 as httpx

from mcp_registry_server import __version__
from mcp_registry_server.catalog.entry import CatalogEntry
from mcp_registry_server.catalog.importers import ImportProblem
from mcp_registry_server.catalog.importers.mcp_registry import (
    RegistryImportError,
    ServerRecord,
    entry_from_server_json,
    entry_ids,
    latest_record,
    records_from_json,
)
from mcp_registry_server.catalog.importers.writing import entry_toml
from mcp_registry_server.files import read_regular_file, write_atomic

__all__ = ["DEFAULT_REGISTRY_URL", "STATE_FILE", "SyncError", "SyncReport", "sync_registry"]

# The official registry's frozen API (v0.1; /v0 answers the same shape).
DEFAULT_REGISTRY_URL = "https://registry.modelcontextprotocol.io/v0.1/servers"
STATE_FILE = ".mcp-registry-sync.json"
PAGE_LIMIT = 100
MAX_PAGES = 10_000
MAX_STATE_BYTES = 16 * 1024 * 1024
_ERROR_PREVIEW_CHARS = 200


class SyncError(Exception):
    """The sync failed before writing anything; `hint` says what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass
class SyncReport:
    url: str
    out_dir: Path
    incremental: bool
    pages: int = 0
    records: int = 0
    written: list[CatalogEntry] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # entry ids whose files were removed
    problems: list[ImportProblem] = field(default_factory=list)


@dataclass
class _Held:
    id: str
    version: str


def sync_registry(
    url: str,
    out_dir: Path,
    *,
    now: str,
    client: httpx.Client | None = None,
    on_page: Callable[[int, int], None] | None = None,
) -> SyncReport:
    """Sync `out_dir` with the server list at `url`; see the module docstring. `now` is an RFC 3339 UTC time."""
    state = _load_state(out_dir / STATE_FILE)
    registries = state.setdefault("registries", {})
    mine = registries.get(url, {})
    since = mine.get("last_sync") if isinstance(mine.get("last_sync"), str) else None
    held = {
        name: _Held(str(item["id"]), str(item.get("version", "")))
        for name, item in (mine.get("servers") or {}).items()
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    }
    report = SyncReport(url, out_dir, incremental=since is not None)
    owns_client = client is None
    client = client or _client()
    try:
        records, newest = _fetch_all(client, url, since, report, on_page)
    finally:
        if owns_client:
            client.close()

    by_name: dict[str, list[ServerRecord]] = {}
    for record in records:
        if record.name:
            by_name.setdefault(record.name, []).append(record)
        else:
            report.problems.append(ImportProblem("(no name)", record.source, "it has no name"))
    chosen: dict[str, ServerRecord] = {}
    gone: set[str] = set()
    for name, versions in by_name.items():
        decided = _decide(versions, held.get(name), report.incremental)
        if decided is None:
            if name in held and any(r.version == held[name].version and r.status == "deleted" for r in versions):
                gone.add(name)
        elif decided.status == "deleted":
            gone |= {name} & held.keys()
        else:
            chosen[name] = decided
    if not report.incremental:
        gone |= held.keys() - by_name.keys()  # a full list that no longer names it: removed upstream

    owned = {item.id for item in held.values()}
    others = {
        str(item.get("id"))
        for other_url, other in registries.items()
        if other_url != url and isinstance(other, dict)
        for item in (other.get("servers") or {}).values()
        if isinstance(item, dict)
    }
    foreign = {path.stem for path in _toml_files(out_dir)} - owned
    new_ids = entry_ids([name for name in chosen if name not in held], taken=owned | others | foreign)

    entries: dict[str, CatalogEntry] = {}
    for name, record in chosen.items():
        entry_id = held[name].id if name in held else new_ids[name]
        record_url = f"{url.rstrip('/')}/{quote(name, safe='')}/versions/{quote(record.version or 'latest', safe='')}"
        try:
            entries[name] = entry_from_server_json(record, entry_id=entry_id, imported_at=now, source_url=record_url)
        except RegistryImportError as error:
            report.problems.append(ImportProblem(name, record_url, str(error)))

    out_dir.mkdir(parents=True, exist_ok=True)
    for name in sorted(gone):
        (out_dir / f"{held[name].id}.toml").unlink(missing_ok=True)
        report.removed.append(held[name].id)
        del held[name]
    for name, entry in entries.items():
        held[name] = _Held(entry.id, chosen[name].version)
    # The state names every file before it is written: a run cut short is finished by the next one.
    _save_state(out_dir / STATE_FILE, state, url, since, held)
    for name, entry in sorted(entries.items()):
        header = [f"Synced by `mcp-registry catalog sync` from {url}: {name} {chosen[name].version}".rstrip()]
        write_atomic(out_dir / f"{entry.id}.toml", entry_toml(entry, header).encode("utf-8"), mode=0o644)
        report.written.append(entry)
    # The registry's own clock, so ours being ahead cannot skip an update; `now` only when it gave none.
    last_sync = max(newest, since) if newest and since else newest or since or now
    _save_state(out_dir / STATE_FILE, state, url, last_sync, held)
    return report


def _decide(versions: list[ServerRecord], held: _Held | None, incremental: bool) -> ServerRecord | None:
    """The record that now stands for a name, or None to leave it as it is."""
    if marked := [record for record in versions if record.official.get("isLatest") is True]:
        return marked[-1]
    if incremental and held is not None and any("isLatest" in record.official for record in versions):
        return None  # only older versions changed
    return latest_record(versions)


# --- HTTP -----------------------------------------------------------------------------------------


def _client() -> httpx.Client:
    return httpx.Client(
        # The system's trust store (and SSL_CERT_FILE), so a company's TLS proxy works as for curl.
        verify=ssl.create_default_context(),
        timeout=httpx.Timeout(30.0, connect=10.0),
        follow_redirects=True,
        headers={"Accept": "application/json", "User-Agent": f"mcp-registry/{__version__}"},
    )


def _fetch_all(
    client: httpx.Client,
    url: str,
    since: str | None,
    report: SyncReport,
    on_page: Callable[[int, int], None] | None,
) -> tuple[list[ServerRecord], str | None]:
    records: list[ServerRecord] = []
    newest: str | None = None
    cursor: str | None = None
    seen_cursors: set[str] = set()
    while True:
        params: dict[str, str | int] = {"limit": PAGE_LIMIT}
        if cursor:
            params["cursor"] = cursor
        if since:
            params["updated_since"] = since
        page = _get_page(client, url, params)
        report.pages += 1
        try:
            found = records_from_json({"servers": page["servers"]}, url)
        except RegistryImportError as error:
            raise SyncError(f"page {report.pages} of {url} is not a server list: {error}") from None
        records += found
        for record in found:
            updated = record.official.get("updatedAt")
            if isinstance(updated, str) and (newest is None or updated > newest):
                newest = updated
        report.records = len(records)
        if on_page is not None:
            on_page(report.pages, len(records))
        metadata = page.get("metadata")
        if not isinstance(metadata, dict):
            metadata = {}
        cursor = metadata.get("nextCursor") or metadata.get("next_cursor")
        if not cursor or not isinstance(cursor, str):
            return records, newest
        if cursor in seen_cursors or report.pages >= MAX_PAGES:
            raise SyncError(f"{url} keeps paging (cursor {cursor[:40]!r} again, or over {MAX_PAGES} pages)")
        seen_cursors.add(cursor)


def _get_page(client: httpx.Client, url: str, params: dict[str, str | int]) -> dict[str, Any]:
    hint = "Check the URL and your network (or proxy), then run the sync again; nothing was changed."
    try:
        response = client.get(url, params=params)
    except httpx.HTTPError as error:
        raise SyncError(f"could not reach {url}: {error or type(error).__name__}", hint) from None
    if response.status_code != 200:
        preview = " ".join(response.text[:_ERROR_PREVIEW_CHARS].split())
        if response.status_code == 404:
            hint = f"Give the registry's server list URL, like {DEFAULT_REGISTRY_URL}; nothing was changed."
        raise SyncError(f"{response.url} answered HTTP {response.status_code}: {preview or '(empty)'}", hint)
    try:
        page = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        kind = response.headers.get("content-type", "unknown type")
        raise SyncError(
            f"{response.url} did not answer JSON ({kind}); is it a registry's /servers URL?", hint
        ) from None
    if not isinstance(page, dict) or not isinstance(page.get("servers"), list):
        raise SyncError(
            f"{response.url} answered JSON without a `servers` list; is it a registry's /servers URL?",
            "The official registry's is " + DEFAULT_REGISTRY_URL,
        )
    return page


# --- state ----------------------------------------------------------------------------------------


def _toml_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return [path for path in directory.iterdir() if path.suffix == ".toml" and not path.name.startswith(".")]


def _load_state(path: Path) -> dict[str, Any]:
    hint = f"Remove {path} to sync afresh (files written by earlier syncs are then left as they are)."
    try:
        raw = read_regular_file(path, MAX_STATE_BYTES)
    except FileNotFoundError:
        return {"version": 1, "registries": {}}
    except OSError as error:
        raise SyncError(f"the sync state {path} could not be read ({error.strerror or error})", hint) from None
    try:
        state = json.loads(raw or b"")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SyncError(f"the sync state {path} is not valid JSON", hint) from None
    if not isinstance(state, dict) or not isinstance(state.get("registries", {}), dict):
        raise SyncError(f"the sync state {path} is not a sync state", hint)
    return state


def _save_state(path: Path, state: dict[str, Any], url: str, last_sync: str | None, held: dict[str, _Held]) -> None:
    mine: dict[str, Any] = {"servers": {name: {"id": h.id, "version": h.version} for name, h in sorted(held.items())}}
    if last_sync:
        mine["last_sync"] = last_sync
    state["version"] = 1
    state["registries"][url] = mine
    write_atomic(path, (json.dumps(state, indent=2, sort_keys=True) + "\n").encode("utf-8"), mode=0o644)

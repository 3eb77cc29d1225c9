"""`catalog import docker|mcp-registry …` and `catalog sync`: other catalogs' records as our entry files.

Each imported entry becomes `<out>/<id>.toml` (default out: the user catalog dir, which overrides
the bundled catalog), headed by where it came from, and records its provenance. Records that cannot
be imported are listed with the reason on stderr; the rest are written. An import exits 1 only when
nothing could be imported.

`catalog sync [URL]` pages through a registry's server list (`catalog.registry_sync`) into the
user catalog dir, with progress on stderr; a second run fetches only what changed. It exits 1 when
the registry cannot be read (nothing is changed then).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp_registry_server.cli.output import CLIError, ProgressBar, emit_json

if TYPE_CHECKING:
    from mcp_registry_server.catalog.importers import ImportResult


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _out_dir(options: argparse.Namespace) -> Path:
    from mcp_registry_server.catalog import user_catalog_dir

    return Path(options.out).expanduser() if options.out else user_catalog_dir()


def _write_imported(options: argparse.Namespace, result: ImportResult, out: Path, headline: str) -> int:
    from mcp_registry_server.catalog.importers.writing import entry_toml
    from mcp_registry_server.files import write_atomic

    written: list[dict[str, Any]] = []
    out.mkdir(parents=True, exist_ok=True)
    for entry in result.entries:
        path = out / f"{entry.id}.toml"
        shown = entry.imported.source_file if entry.imported else ""
        text = entry_toml(entry, [f"{headline}: {shown}"])
        write_atomic(path, text.encode("utf-8"), mode=0o644)
        written.append({"id": entry.id, "file": str(path), "runnable": entry.not_runnable_reason() is None})
    for problem in result.problems:
        print(f"not imported: {problem}", file=sys.stderr)
    if options.json:
        emit_json(
            {
                "out": str(out),
                "imported": written,
                "problems": [
                    {"name": p.name, "source_file": p.source_file, "reason": p.reason} for p in result.problems
                ],
            }
        )
    else:
        unrunnable = sum(not item["runnable"] for item in written)
        note = f" ({unrunnable} known but not runnable yet: remote, OAuth-only or unsupported)" if unrunnable else ""
        print(f"imported {len(written)} entries into {out}{note}; {len(result.problems)} not imported")
    if not written:
        raise CLIError("No record could be imported.", hint="See the reasons above.")
    return 0


def import_docker(options: argparse.Namespace) -> int:
    from mcp_registry_server.catalog.importers.docker import find_server_files, import_docker_catalog

    source = Path(options.dir).expanduser()
    if not source.is_dir() or not find_server_files(source):
        raise CLIError(
            f"{source} holds no Docker catalog records (<name>/server.yaml).",
            hint="Point it at a checkout of github.com/docker/mcp-registry, its servers/ dir, or one server's dir.",
            exit_code=2,
        )
    out = _out_dir(options)
    result = import_docker_catalog(source, imported_at=_now())
    return _write_imported(options, result, out, f"Imported by `mcp-registry catalog import docker` from {source}")


def import_mcp_registry(options: argparse.Namespace) -> int:
    from mcp_registry_server.catalog.importers.mcp_registry import find_json_files, import_server_json

    source = Path(options.path).expanduser()
    if not source.exists() or not find_json_files(source):
        raise CLIError(
            f"{source} is neither a server.json file nor a directory holding *.json records.",
            hint="Give a server.json, a saved API answer (…/v0.1/servers), or a directory of them.",
            exit_code=2,
        )
    out = _out_dir(options)
    result = import_server_json(source, imported_at=_now())
    return _write_imported(
        options, result, out, f"Imported by `mcp-registry catalog import mcp-registry` from {source}"
    )


def sync(options: argparse.Namespace) -> int:
    from mcp_registry_server.catalog.registry_sync import DEFAULT_REGISTRY_URL, SyncError, sync_registry

    url = options.url or DEFAULT_REGISTRY_URL
    if not url.startswith(("https://", "http://")):
        raise CLIError(f"{url!r} is not an http(s) URL.", hint=f"For example {DEFAULT_REGISTRY_URL}", exit_code=2)
    out = _out_dir(options)
    progress = ProgressBar(f"syncing {url}")
    try:
        report = sync_registry(
            url,
            out,
            now=_now(),
            on_page=lambda pages, records: progress.update(None, None, f"page {pages}: {records} records"),
        )
    except SyncError as error:
        progress.finish("sync failed")
        raise CLIError(error.message, hint=error.hint or None) from None
    kind = "changes since the last sync" if report.incremental else "full list"
    progress.finish(f"read {report.records} records in {report.pages} pages ({kind})")
    for problem in report.problems:
        print(f"not imported: {problem}", file=sys.stderr)
    if options.json:
        emit_json(
            {
                "url": url,
                "out": str(out),
                "incremental": report.incremental,
                "pages": report.pages,
                "records": report.records,
                "written": [
                    {"id": e.id, "file": str(out / f"{e.id}.toml"), "runnable": e.not_runnable_reason() is None}
                    for e in report.written
                ],
                "removed": report.removed,
                "problems": [{"name": p.name, "source": p.source_file, "reason": p.reason} for p in report.problems],
            }
        )
        return 0
    unrunnable = sum(entry.not_runnable_reason() is not None for entry in report.written)
    note = f" ({unrunnable} known but not runnable yet)" if unrunnable else ""
    print(
        f"synced {url} into {out}: {len(report.written)} written{note}, {len(report.removed)} removed, "
        f"{len(report.problems)} not imported"
    )
    return 0

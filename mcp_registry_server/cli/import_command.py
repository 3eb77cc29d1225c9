"""`catalog import docker DIR [--out DIR]`: other catalogs' records written as our entry files.

Each imported entry becomes `<out>/<id>.toml` (default out: the user catalog dir, which overrides
the bundled catalog), headed by where it came from, and records its provenance. Records that cannot
be imported are listed with the reason on stderr; the rest are written. Exits 1 only when nothing
could be imported.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcp_registry_server.cli.output import CLIError, emit_json


def import_docker(options: argparse.Namespace) -> int:
    from mcp_registry_server.catalog import user_catalog_dir
    from mcp_registry_server.catalog.importers.docker import find_server_files, import_docker_catalog
    from mcp_registry_server.catalog.importers.writing import entry_toml
    from mcp_registry_server.files import write_atomic

    source = Path(options.dir).expanduser()
    if not source.is_dir() or not find_server_files(source):
        raise CLIError(
            f"{source} holds no Docker catalog records (<name>/server.yaml).",
            hint="Point it at a checkout of github.com/docker/mcp-registry, its servers/ dir, or one server's dir.",
            exit_code=2,
        )
    out = Path(options.out).expanduser() if options.out else user_catalog_dir()
    imported_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = import_docker_catalog(source, imported_at=imported_at)
    written: list[dict[str, Any]] = []
    out.mkdir(parents=True, exist_ok=True)
    for entry in result.entries:
        path = out / f"{entry.id}.toml"
        shown = entry.imported.source_file if entry.imported else ""
        text = entry_toml(entry, [f"Imported by `mcp-registry catalog import docker` from {source}: {shown}"])
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

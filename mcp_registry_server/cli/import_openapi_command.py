"""`catalog import openapi SPEC --name ID`: a REST API's OpenAPI document written as an openapi entry.

SPEC is a file (JSON or YAML) or an http(s) URL, fetched now. A Swagger 2.0 document is converted to
OpenAPI 3.0 with swagger2openapi (npm, run by `npx`, so Node.js must be installed for 2.0 only). The
document is stored as `<out>/<ID>.openapi.json` (mounted read-only into the server's container) and
the entry as `<out>/<ID>.toml` (default out: the user catalog dir), written last, so an entry never
names a document that is not there. Prints the tools the entry will have and the secrets to set.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcp_registry_server.cli.output import CLIError, emit_json

MAX_SPEC_BYTES = 32 * 1024 * 1024
FETCH_TIMEOUT = 30.0
# The Swagger 2.0 → OpenAPI 3.0 converter (Mermade's swagger2openapi, the one most tools use), pinned.
SWAGGER2OPENAPI = "swagger2openapi@7.0.8"
CONVERT_TIMEOUT = 300.0


def import_openapi_command(options: argparse.Namespace) -> int:
    from mcp_registry_server.catalog import user_catalog_dir
    from mcp_registry_server.catalog.entry import ENTRY_ID_PATTERN
    from mcp_registry_server.catalog.importers.openapi import OpenAPIImportError, OpenAPIImportOptions, import_openapi
    from mcp_registry_server.catalog.importers.writing import entry_toml
    from mcp_registry_server.files import write_atomic

    if not re.fullmatch(ENTRY_ID_PATTERN, options.name):
        raise CLIError(
            f"--name {options.name!r} is not an entry id.",
            hint="Use lower-case letters, digits, '.', '_' and '-' (like petstore).",
            exit_code=2,
        )
    is_url = options.spec.startswith(("http://", "https://"))
    raw, source = (_fetch(options.spec), options.spec) if is_url else (_read(Path(options.spec)), options.spec)
    document = _parse(raw, source)
    converted = False
    if str(document.get("swagger", "")).startswith("2."):
        document, converted = _convert_swagger2(document, source), True
    out = (Path(options.out).expanduser() if options.out else user_catalog_dir()).resolve()
    spec_path = out / f"{options.name}.openapi.json"
    import_options = OpenAPIImportOptions(
        entry_id=options.name,
        spec_path=str(spec_path),
        imported_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        source_file="" if is_url else str(Path(options.spec).expanduser().resolve()),
        source_url=options.spec if is_url else "",
        base_url=options.base_url or "",
        include_paths=options.include_path or [],
        exclude_paths=options.exclude_path or [],
        include_tags=options.include_tag or [],
        max_tools=options.max_tools,
        strict=options.strict,
        with_auth=not options.no_auth,
    )
    try:
        imported = import_openapi(document, import_options)
    except OpenAPIImportError as error:
        raise CLIError(f"{source}: {error}", hint="Nothing was written.") from None
    entry = imported.entry
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(spec_path, json.dumps(document, indent=1, sort_keys=False).encode("utf-8"), mode=0o644)
    entry_path = out / f"{entry.id}.toml"
    origin = "converted from Swagger 2.0, " if converted else ""
    header = [f"Imported by `mcp-registry catalog import openapi` from {source} ({origin}document in {spec_path.name})"]
    write_atomic(entry_path, entry_toml(entry, header).encode("utf-8"), mode=0o644)
    tools = [
        {"name": op.name, "method": op.method.upper(), "path": op.path, "summary": op.summary}
        for op in imported.selection.operations
    ]
    secrets = [secret.name for secret in entry.secrets]
    if options.json:
        emit_json(
            {
                "id": entry.id,
                "file": str(entry_path),
                "spec": str(spec_path),
                "base_url": entry.openapi.base_url if entry.openapi else "",
                "allow_hosts": entry.allow_hosts,
                "secrets": secrets,
                "tools": tools,
                "notes": imported.notes,
            }
        )
        return 0
    for note in imported.notes:
        print(note)
    print(f"wrote {entry_path} ({len(tools)} tools; reaches only {', '.join(entry.allow_hosts)})")
    for tool in tools:
        print(f"  {tool['name']:<32} {tool['method']:<6} {tool['path']}  {tool['summary']}".rstrip())
    if secrets:
        print(f"set its credentials (prompted, no echo): mcp-registry config set {entry.id} {' '.join(secrets)}")
    return 0


def _read(path: Path) -> bytes:
    from mcp_registry_server.files import read_regular_file

    try:
        raw = read_regular_file(path.expanduser(), MAX_SPEC_BYTES)
    except OSError as error:
        raise CLIError(f"{path} could not be read ({error.strerror or error}).", exit_code=2) from None
    if raw is None or len(raw) > MAX_SPEC_BYTES:
        raise CLIError(f"{path} is not a regular file under {MAX_SPEC_BYTES // 2**20} MiB.", exit_code=2)
    return raw


def _fetch(url: str) -> bytes:
    import httpx2

    try:
        with httpx2.stream("GET", url, follow_redirects=True, timeout=FETCH_TIMEOUT) as response:
            if response.status_code != 200:
                raise CLIError(f"{url} answered HTTP {response.status_code}.", hint="Check the URL.", exit_code=2)
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_SPEC_BYTES:
                    raise CLIError(f"{url} is over {MAX_SPEC_BYTES // 2**20} MiB.", exit_code=2)
                chunks.append(chunk)
    except httpx2.HTTPError as error:
        raise CLIError(f"{url} could not be fetched ({error}).", hint="Check the URL and the network.") from None
    return b"".join(chunks)


def _parse(raw: bytes, source: str) -> dict[str, Any]:
    import yaml

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CLIError(f"{source} is not UTF-8 text.", exit_code=2) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise CLIError(f"{source} is neither JSON nor YAML ({error}).", exit_code=2) from None
    if not isinstance(data, dict):
        raise CLIError(f"{source} does not hold an OpenAPI document (a mapping).", exit_code=2)
    # YAML reads `200:` as a number and dates as dates; the document as JSON has only strings for keys.
    normalized: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return normalized


def _convert_swagger2(document: dict[str, Any], source: str) -> dict[str, Any]:
    """The Swagger 2.0 `document` as OpenAPI 3.0, by swagger2openapi."""
    with tempfile.TemporaryDirectory(prefix="mcp-registry-swagger-") as scratch:
        given, converted = Path(scratch, "swagger.json"), Path(scratch, "openapi.json")
        given.write_text(json.dumps(document), encoding="utf-8")
        argv = ["npx", "--yes", SWAGGER2OPENAPI, "--patch", "--outfile", str(converted), str(given)]
        try:
            completed = subprocess.run(
                argv, capture_output=True, text=True, timeout=CONVERT_TIMEOUT, env=os.environ.copy(), check=False
            )
        except FileNotFoundError:
            raise CLIError(
                f"{source} is Swagger 2.0, which is converted to OpenAPI 3.0 with {SWAGGER2OPENAPI} (npm), but "
                "npx is not installed.",
                hint="Install Node.js, or convert the document yourself and import the OpenAPI 3 file.",
            ) from None
        except subprocess.TimeoutExpired:
            raise CLIError(f"Converting {source} from Swagger 2.0 took over {CONVERT_TIMEOUT:.0f} s.") from None
        if completed.returncode != 0 or not converted.is_file():
            detail = (completed.stderr or completed.stdout).strip().splitlines()[-5:]
            raise CLIError(
                f"{source} is Swagger 2.0 and {SWAGGER2OPENAPI} could not convert it:\n  " + "\n  ".join(detail),
                hint="Fix the document (the message names the place), or convert it yourself.",
            )
        result: dict[str, Any] = json.loads(converted.read_text(encoding="utf-8"))
        return result

"""Importers: other catalogs' formats turned into our catalog entries, one module per format.

- `docker`: Docker's MCP catalog (`servers/<name>/server.yaml` + `tools.json`).
- `openapi`: one OpenAPI document as one entry (`OpenAPIImport`); a document that cannot be used
  raises, naming the places in it, instead of returning problems.
- `mcp_registry`: the official MCP registry's server.json records and API answers, with
  `server_json_inputs` for their arguments, env vars and headers.
- `writing`: an entry as a TOML file, the shape `catalog.loader` reads back.

Contract shared by every importer: it returns an `ImportResult` holding the entries it could build,
each with its provenance (`CatalogEntry.imported`: format, source file, import time), and an
`ImportProblem` (the record's name and the reason) for each record it could not import; one bad
record never stops the others. Importers read files and never touch the network or Podman.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from mcp_registry_server.catalog.entry import CatalogEntry

__all__ = ["ImportProblem", "ImportResult", "validated_entry"]


@dataclass(frozen=True)
class ImportProblem:
    """A record that was not imported: its name, the file, and why."""

    name: str
    source_file: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name} ({self.source_file}): {self.reason}"


@dataclass
class ImportResult:
    entries: list[CatalogEntry] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)


def validated_entry(data: dict[str, Any]) -> CatalogEntry:
    """`data` (empty fields left out) as an entry; ValueError naming each field at fault when it is not one."""
    try:
        return CatalogEntry.model_validate({key: value for key, value in data.items() if value not in ([], "", None)})
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, d['loc'])) or 'entry'}: {d['msg'].removeprefix('Value error, ')}"
            for d in error.errors(include_url=False, include_input=False)
        )
        raise ValueError(f"it does not make a valid entry ({problems})") from None

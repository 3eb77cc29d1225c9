"""Load the catalog: one TOML file per entry, from an ordered list of directories.

Contract:
- `load_catalog(dirs)` reads every `*.toml` file directly inside each directory (hidden files
  excluded), directories in the order given and files in name order. Each file holds one
  `CatalogEntry`, parsed with `tomllib` and validated by pydantic.
- A later directory's entry replaces an earlier one with the same id; `default_catalog_dirs` gives
  the usual order: bundled < user data dir < each dir of `MCP_REGISTRY_CATALOG_PATH`, left to right.
  Two files in one directory with the same id are a mistake: the second is skipped.
- A file that cannot be read, is not UTF-8, is not TOML or does not validate is skipped with a
  `CatalogWarning` naming the file and the fields at fault. So is anything that is not a regular
  file (a FIFO would block the read forever) or is larger than `MAX_ENTRY_BYTES`. Loading never
  raises or hangs for bad content, and a directory that does not exist contributes nothing.
- The result is an immutable `Catalog` (`collection`): id -> entry, the file each entry came
  from, the warnings, and a search index built once, on first use.

Directories are passed in by the caller (from its settings object); nothing here reads global
configuration except `default_catalog_dirs`, which is given the environment explicitly.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

import platformdirs
from pydantic import ValidationError

from mcp_registry_server.catalog.collection import Catalog, CatalogWarning
from mcp_registry_server.catalog.entry import CatalogEntry
from mcp_registry_server.files import read_regular_file

CATALOG_PATH_ENV = "MCP_REGISTRY_CATALOG_PATH"
APP_NAME = "mcp-registry"
_PACKAGE_DIR = Path(__file__).resolve().parent.parent
_FIX_HINT = "Fix or remove the file; until then its entry is not in the catalog."
# An entry is a few KiB of TOML; anything much larger is not one.
MAX_ENTRY_BYTES = 1024 * 1024


def bundled_catalog_dir() -> Path:
    """The catalog shipped with the project: `<project root>/catalog`, else `<package>/catalog_data`."""
    top_level = _PACKAGE_DIR.parent / "catalog"
    if top_level.is_dir():
        return top_level
    packaged = _PACKAGE_DIR / "catalog_data"
    if packaged.is_dir():
        return packaged
    return top_level


def user_catalog_dir() -> Path:
    """Where the user's own entries and overrides live (platform user data dir)."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / "catalog"


def default_catalog_dirs(environ: Mapping[str, str], *, user_dir: Path | None = None) -> list[Path]:
    """Bundled dir, then the user dir, then each dir listed in `MCP_REGISTRY_CATALOG_PATH`."""
    dirs = [bundled_catalog_dir(), user_dir if user_dir is not None else user_catalog_dir()]
    extra = environ.get(CATALOG_PATH_ENV, "")
    dirs.extend(Path(part).expanduser() for part in extra.split(os.pathsep) if part.strip())
    return dirs


def load_catalog(dirs: Iterable[Path]) -> Catalog:
    """Read the entries in `dirs` (later dirs override earlier ones); never raises for bad files."""
    entries: dict[str, CatalogEntry] = {}
    sources: dict[str, Path] = {}
    warnings: list[CatalogWarning] = []
    for directory in dirs:
        files, listing_warning = _entry_files(directory)
        if listing_warning is not None:
            warnings.append(listing_warning)
        seen_here: dict[str, Path] = {}
        for path in files:
            result = _read_entry_file(path)
            if isinstance(result, CatalogWarning):
                warnings.append(result)
                continue
            if result.id in seen_here:
                warnings.append(
                    CatalogWarning(
                        path,
                        f"skipped: id {result.id!r} is already declared by {seen_here[result.id].name} "
                        f"in the same directory. Give one of them another id, or remove one.",
                        ("id",),
                    )
                )
                continue
            seen_here[result.id] = path
            entries[result.id] = result
            sources[result.id] = path
    return Catalog(entries.values(), sources=sources, warnings=warnings)


def _entry_files(directory: Path) -> tuple[list[Path], CatalogWarning | None]:
    try:
        if not directory.exists():
            return [], None
        if not directory.is_dir():
            return [], CatalogWarning(
                directory,
                "skipped: catalog path is not a directory. Point it at a directory of *.toml files.",
            )
        # Hidden files include editors' and macOS's `._name.toml` droppings, which are not entries.
        files = sorted(path for path in directory.iterdir() if path.suffix == ".toml" and not path.name.startswith("."))
    except OSError as error:
        return [], CatalogWarning(
            directory, f"skipped: catalog directory could not be listed ({error.strerror or error})."
        )
    return files, None


def _read_entry_file(path: Path) -> CatalogEntry | CatalogWarning:
    try:
        raw = read_regular_file(path, MAX_ENTRY_BYTES)
    except OSError as error:
        return CatalogWarning(path, f"skipped: could not be read ({error.strerror or error}). {_FIX_HINT}")
    if raw is None:
        return CatalogWarning(path, f"skipped: could not be read (not a regular file). {_FIX_HINT}")
    if len(raw) > MAX_ENTRY_BYTES:
        return CatalogWarning(path, f"skipped: larger than {MAX_ENTRY_BYTES // 1024} KiB. {_FIX_HINT}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return CatalogWarning(path, f"skipped: not UTF-8 text (byte {error.start}). {_FIX_HINT}")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return CatalogWarning(path, f"skipped: invalid TOML: {error}. {_FIX_HINT}")
    try:
        return CatalogEntry.model_validate(data)
    except ValidationError as error:
        return _validation_warning(path, error)


def _validation_warning(path: Path, error: ValidationError) -> CatalogWarning:
    fields: list[str] = []
    problems: list[str] = []
    for detail in error.errors(include_url=False, include_input=False):
        location = _format_location(detail["loc"])
        message = detail["msg"].removeprefix("Value error, ")
        if location:
            fields.append(location)
            problems.append(f"field {location!r}: {message}")
        else:
            problems.append(f"entry: {message}")
    return CatalogWarning(
        path,
        f"skipped: invalid catalog entry: {'; '.join(problems)}. {_FIX_HINT}",
        tuple(dict.fromkeys(fields)),
    )


def _format_location(location: tuple[int | str, ...]) -> str:
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text

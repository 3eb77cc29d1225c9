"""Loading entries from directories: override order, skipped files and their warnings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from mcp_registry_server.catalog import (
    CATALOG_PATH_ENV,
    Catalog,
    CatalogEntry,
    bundled_catalog_dir,
    default_catalog_dirs,
    load_catalog,
)


def write_entry(directory: Path, entry_id: str, filename: str | None = None, **fields: Any) -> Path:
    data: dict[str, Any] = {
        "id": entry_id,
        "name": entry_id.title(),
        "description": f"The {entry_id} server.",
        "image": f"docker.io/mcp/{entry_id}",
    }
    data.update(fields)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (filename or f"{entry_id}.toml")
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def test_loads_entries_and_remembers_their_files(tmp_path: Path) -> None:
    alpha = write_entry(tmp_path, "alpha", tags=["one"])
    beta = write_entry(tmp_path, "beta")
    catalog = load_catalog([tmp_path])
    assert list(catalog) == ["alpha", "beta"]
    assert catalog["alpha"].tags == ["one"]
    assert catalog.sources == {"alpha": alpha, "beta": beta}
    assert catalog.source_of("beta") == beta and catalog.source_of("nope") is None
    assert catalog.warnings == ()


def test_missing_directories_are_fine(tmp_path: Path) -> None:
    write_entry(tmp_path / "real", "alpha")
    catalog = load_catalog([tmp_path / "absent", tmp_path / "real", tmp_path / "also-absent"])
    assert list(catalog) == ["alpha"] and catalog.warnings == ()


def test_a_file_given_as_a_directory_is_reported(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "catalog.toml"
    not_a_dir.write_text("", encoding="utf-8")
    catalog = load_catalog([not_a_dir])
    assert len(catalog) == 0
    [warning] = catalog.warnings
    assert warning.path == not_a_dir and "not a directory" in warning.message


def test_only_visible_toml_files_are_read(tmp_path: Path) -> None:
    write_entry(tmp_path, "alpha")
    (tmp_path / "notes.txt").write_text("not an entry", encoding="utf-8")
    (tmp_path / "._alpha.toml").write_bytes(b"\x00\x05\x16\x07 resource fork")
    write_entry(tmp_path, "hidden", filename=".hidden.toml")
    catalog = load_catalog([tmp_path])
    assert list(catalog) == ["alpha"] and catalog.warnings == ()


INVALID_FILES: dict[str, tuple[str, tuple[str, ...], str]] = {
    # file name: (content, fields named in the warning, text in the message)
    "bad-toml.toml": ('id = "bad-toml"\nname = \n', (), "invalid TOML"),
    "missing-field.toml": (
        'id = "missing-field"\nname = "M"\ndescription = "No image."\n',
        ("image",),
        "Field required",
    ),
    "wrong-type.toml": (
        'id = "wrong-type"\nname = "W"\ndescription = "d"\nimage = "docker.io/mcp/w"\npids_limit = "many"\n'
        'tags = "not-a-list"\n',
        ("pids_limit", "tags"),
        "valid integer",
    ),
    "bad-image.toml": (
        'id = "bad-image"\nname = "B"\ndescription = "d"\nimage = "docker.io/mcp/x; rm -rf /"\n',
        ("image",),
        "image reference",
    ),
    "traversal.toml": (
        'id = "traversal"\nname = "T"\ndescription = "d"\nimage = "docker.io/mcp/t"\n\n'
        '[[volumes]]\nname = "data"\nsource = "vol"\ntarget = "/data/../../etc"\n',
        ("volumes[0].target",),
        "must not contain '..'",
    ),
    "unknown-key.toml": (
        'id = "unknown-key"\nname = "U"\ndescription = "d"\nimage = "docker.io/mcp/u"\nprivileged = true\n',
        ("privileged",),
        "Extra inputs",
    ),
}


def test_invalid_files_are_skipped_with_a_warning_naming_file_and_field(tmp_path: Path) -> None:
    good = write_entry(tmp_path, "good")
    for name, (content, _, _) in INVALID_FILES.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    catalog = load_catalog([tmp_path])

    assert list(catalog) == ["good"] and catalog.source_of("good") == good
    by_file = {warning.path.name: warning for warning in catalog.warnings}
    assert set(by_file) == set(INVALID_FILES)
    for name, (_, fields, text) in INVALID_FILES.items():
        warning = by_file[name]
        assert warning.fields == fields, name
        assert text in warning.message, (name, warning.message)
        assert str(warning).startswith(str(tmp_path / name))
        for field in fields:
            assert repr(field) in warning.message
        assert "Fix or remove the file" in warning.message


def test_syntax_error_warning_points_at_the_line(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text('id = "broken"\nname = \n', encoding="utf-8")
    [warning] = load_catalog([tmp_path]).warnings
    assert "line 2" in warning.message


def test_non_utf8_and_unreadable_files_are_skipped(tmp_path: Path) -> None:
    write_entry(tmp_path, "good")
    (tmp_path / "latin1.toml").write_bytes('id = "caf\xe9"\n'.encode("latin-1"))
    (tmp_path / "directory.toml").mkdir()  # reading it fails like an unreadable file would
    catalog = load_catalog([tmp_path])
    assert list(catalog) == ["good"]
    messages = {warning.path.name: warning.message for warning in catalog.warnings}
    assert "not UTF-8" in messages["latin1.toml"]
    assert "could not be read" in messages["directory.toml"]


def test_fifos_devices_and_huge_files_are_skipped_without_blocking(tmp_path: Path) -> None:
    write_entry(tmp_path, "good")
    os.mkfifo(tmp_path / "fifo.toml")  # no writer: a plain read would block forever
    (tmp_path / "zero.toml").symlink_to("/dev/zero")  # a read would never end
    (tmp_path / "huge.toml").write_text("# padding\n" * 200_000)
    catalog = load_catalog([tmp_path])
    assert list(catalog) == ["good"]
    messages = {warning.path.name: warning.message for warning in catalog.warnings}
    assert "not a regular file" in messages["fifo.toml"] and "not a regular file" in messages["zero.toml"]
    assert "larger than 1024 KiB" in messages["huge.toml"]


def test_duplicate_id_in_one_directory_keeps_the_first_file(tmp_path: Path) -> None:
    first = write_entry(tmp_path, "alpha", filename="a.toml", name="First")
    write_entry(tmp_path, "alpha", filename="b.toml", name="Second")
    catalog = load_catalog([tmp_path])
    assert catalog["alpha"].name == "First" and catalog.source_of("alpha") == first
    [warning] = catalog.warnings
    assert warning.path.name == "b.toml" and warning.fields == ("id",) and "a.toml" in warning.message


def test_later_directories_override_earlier_ones(tmp_path: Path) -> None:
    write_entry(tmp_path / "one", "shared", name="From one")
    write_entry(tmp_path / "one", "only-one")
    write_entry(tmp_path / "two", "shared", name="From two")
    catalog = load_catalog([tmp_path / "one", tmp_path / "two"])
    assert catalog["shared"].name == "From two"
    assert catalog.source_of("shared") == tmp_path / "two" / "shared.toml"
    assert "only-one" in catalog


def test_an_invalid_override_leaves_the_earlier_entry_in_place(tmp_path: Path) -> None:
    write_entry(tmp_path / "one", "shared", name="Valid")
    write_entry(tmp_path / "two", "shared", image="not an image")
    catalog = load_catalog([tmp_path / "one", tmp_path / "two"])
    assert catalog["shared"].name == "Valid"
    assert [warning.fields for warning in catalog.warnings] == [("image",)]


def test_default_dirs_order_bundled_user_then_env_left_to_right(tmp_path: Path) -> None:
    user = tmp_path / "user"
    first, second = tmp_path / "first", tmp_path / "second"
    environ = {CATALOG_PATH_ENV: os.pathsep.join([str(first), "", str(second)])}
    dirs = default_catalog_dirs(environ, user_dir=user)
    assert dirs == [bundled_catalog_dir(), user, first, second]


def test_default_dirs_without_env_or_user_dir() -> None:
    dirs = default_catalog_dirs({})
    assert dirs[0] == bundled_catalog_dir()
    assert dirs[1].name == "catalog" and "mcp-registry" in str(dirs[1])
    assert len(dirs) == 2


def test_override_order_bundled_then_user_then_catalog_path(tmp_path: Path) -> None:
    user, first, second = tmp_path / "user", tmp_path / "first", tmp_path / "second"
    write_entry(user, "sqlite", name="User SQLite")
    write_entry(user, "mine", name="Mine")
    write_entry(first, "sqlite", name="First SQLite")
    write_entry(first, "mine", name="First Mine")
    write_entry(second, "sqlite", name="Second SQLite")
    environ = {CATALOG_PATH_ENV: f"{first}{os.pathsep}{second}"}

    catalog = load_catalog(default_catalog_dirs(environ, user_dir=user))

    assert catalog.warnings == ()
    assert catalog["sqlite"].name == "Second SQLite"
    assert catalog.source_of("sqlite") == second / "sqlite.toml"
    assert catalog["mine"].name == "First Mine"
    assert catalog.source_of("time") == bundled_catalog_dir() / "time.toml"  # untouched bundled entry

    only_user = load_catalog(default_catalog_dirs({}, user_dir=user))
    assert only_user["sqlite"].name == "User SQLite"


def test_catalog_is_an_immutable_mapping(tmp_path: Path) -> None:
    write_entry(tmp_path, "alpha")
    catalog = load_catalog([tmp_path])
    with pytest.raises(TypeError):
        catalog["beta"] = catalog["alpha"]  # type: ignore[index]
    with pytest.raises(TypeError):
        catalog.sources["alpha"] = tmp_path  # type: ignore[index]
    assert isinstance(catalog.warnings, tuple)


def test_catalog_built_in_memory_later_entry_wins() -> None:
    def entry(name: str) -> CatalogEntry:
        return CatalogEntry(id="same", name=name, description="d", image="docker.io/mcp/same")

    catalog = Catalog([entry("first"), entry("second")])
    assert catalog["same"].name == "second" and catalog.sources == {} and catalog.warnings == ()

"""`mcp-registry build` and `pull` with package entries: what each refuses (the builds themselves: e2e)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import home, run  # noqa: F401 (home is a fixture)

PACKAGE_ENTRY = """\
id = "time-pypi"
name = "Time"
description = "From PyPI."

[package]
registry = "pypi"
name = "mcp-server-time"
version = "2026.10.19"
"""


@pytest.fixture
def package_home(home: Path) -> Path:  # noqa: F811
    (home / "extra-catalog" / "time-pypi.toml").write_text(PACKAGE_ENTRY)
    return home


def test_build_refuses_an_entry_without_a_package(package_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "build", "time-pypi", "sqlite")
    assert code == 2 and "sqlite name no package" in err and "mcp-registry pull" in err


def test_build_names_the_closest_entries_for_an_unknown_one(
    package_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "build", "time-pyp")
    assert code == 1 and "'time-pyp' is not in the catalog" in err and "time-pypi" in err


def test_pull_points_a_package_entry_at_build(package_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "pull", "time-pypi")
    assert (
        code == 2
        and "runs a package built into an image, not an image to pull" in err
        and "mcp-registry build time-pypi" in err
    )

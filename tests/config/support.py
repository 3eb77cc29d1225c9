"""What the config tests share: a catalog entry with every kind of setting, and file helpers."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest

from mcp_registry_server.catalog import CatalogEntry

SECRET = "ghp_TopSecretValue1234567890"
POSIX_ONLY = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def make_entry(entry_id: str = "github", **overrides: Any) -> CatalogEntry:
    data: dict[str, Any] = {
        "id": entry_id,
        "name": "GitHub",
        "description": "GitHub API.",
        "image": "docker.io/mcp/github:1.0",
        "env": [
            {"name": "LOG_LEVEL", "default": "info"},
            {"name": "GITHUB_HOST", "required": True},
        ],
        "secrets": [
            {"name": "GITHUB_PERSONAL_ACCESS_TOKEN"},
            {"name": "OPTIONAL_KEY", "required": False},
        ],
        "volumes": [{"name": "projects", "source": "mcp-projects", "target": "/projects"}],
    }
    data.update(overrides)
    return CatalogEntry.model_validate(data)


ENTRY = make_entry()


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def parse(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text("utf-8"))

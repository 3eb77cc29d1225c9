"""Fixtures for the config tests: a config dir that does not exist yet, and a store on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_registry_server.config import ConfigStore


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "home" / "mcp-registry"


@pytest.fixture
def store(config_dir: Path) -> ConfigStore:
    return ConfigStore(config_dir)

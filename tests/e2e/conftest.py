"""Fixtures for end-to-end tests against real Podman and real MCP servers.

- `podman_env` (session): makes `podman run` work (sets CONTAINERS_CONF only where the known
  rlimit/cgroup workaround is needed) and removes leftover test containers, found by the label
  `io.mcp-registry.test`, before and after the session, and after it the package images its
  registries built (labelled with this run's label). Without a working Podman every e2e test
  errors with what is wrong and what to run, with or without CI=true: a skipped acceptance test
  looks like a passing one. (`pytest -m "not e2e"` runs the rest on a machine without Podman.)
- `test_images` (session): builds the `localhost/mcp-registry-test/*` images (cached).
- `registry_env`: the environment for a registry subprocess: the test catalog, private config
  and data dirs, the test label on every container it starts (and image it builds), and the
  local base images package entries are built on.
Helpers that are not fixtures live in `support.py`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from mcp_registry_server.podman.diagnostics import ensure_podman_runs
from tests.e2e.support import (
    IMAGE_NAMES,
    IMAGE_PREFIX,
    NODE_BASE_IMAGE,
    PYTHON_BASE_IMAGE,
    REPO_ROOT,
    TEST_CATALOG_DIR,
    TEST_RUN_LABEL,
    WORKAROUND_CONF,
    remove_test_containers,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    e2e_dir = Path(__file__).parent
    for item in items:
        if e2e_dir in item.path.parents:
            item.add_marker(pytest.mark.e2e)


def _unavailable(reason: str) -> NoReturn:
    pytest.fail(
        f'e2e tests need a working Podman: {reason}\n(to run only the tests that need no Podman: pytest -m "not e2e")',
        pytrace=False,
    )


@pytest.fixture(scope="session")
def podman_env() -> Iterator[dict[str, str]]:
    if shutil.which("podman") is None:
        _unavailable("podman is not installed (run scripts/setup.sh)")
    try:
        additions = ensure_podman_runs(WORKAROUND_CONF)
    except RuntimeError as error:
        _unavailable(str(error))
    # Every subprocess (podman, the registry, its podman service) must see the workaround.
    os.environ.update(additions)
    remove_test_containers()
    yield dict(os.environ)
    remove_test_containers()
    remove_built_images()


def remove_built_images() -> None:
    """Remove the package images this session's registries built (they carry its run label)."""
    listed = subprocess.run(
        ["podman", "images", "--quiet", "--no-trunc", "--filter", f"label={TEST_RUN_LABEL}"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    if ids := sorted(set(listed.stdout.split())):
        subprocess.run(["podman", "rmi", "--force", "--ignore", *ids], capture_output=True, check=False, timeout=120)


@pytest.fixture(scope="session")
def test_images(podman_env: dict[str, str]) -> dict[str, str]:
    """Image references by short name, built (or found cached) once per session."""
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "build_test_images.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        _unavailable(f"building the test images failed:\n{completed.stdout}\n{completed.stderr}")
    return {name: f"{IMAGE_PREFIX}/{name}" for name in IMAGE_NAMES}


@pytest.fixture
def registry_env(podman_env: dict[str, str], test_images: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Environment for a registry subprocess: test catalog, private dirs, test label."""
    return {
        **podman_env,
        "MCP_REGISTRY_CATALOG_PATH": str(TEST_CATALOG_DIR),
        "MCP_REGISTRY_LABELS": TEST_RUN_LABEL,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "MCP_REGISTRY_NODE_IMAGE": NODE_BASE_IMAGE,
        "MCP_REGISTRY_PYTHON_IMAGE": PYTHON_BASE_IMAGE,
    }

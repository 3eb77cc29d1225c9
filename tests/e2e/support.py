"""Helpers shared by the end-to-end tests: constants, test containers, registry connection."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from mcp_registry_server.podman.command import LABEL_OWNER
from mcp_registry_server.podman.labelled import labelled_container_names, remove_containers
from mcp_registry_server.podman.labelled import labelled_containers as podman_labelled_containers
from mcp_registry_server.podman.ownership import Owner, own_owner_label, owner_is_alive

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_CATALOG_DIR = REPO_ROOT / "tests" / "catalog"
WORKAROUND_CONF = REPO_ROOT / "build" / "podman" / "containers.conf"
IMAGE_PREFIX = "localhost/mcp-registry-test"
TEST_LABEL = "io.mcp-registry.test"
# This test run's containers: runs from several checkouts at once must not see each other's.
TEST_RUN_LABEL = f"{TEST_LABEL}=run-{os.getpid()}"
SMOKE_LABEL = f"{TEST_LABEL}=smoke-{os.getpid()}"
IMAGE_NAMES = ("time", "sqlite", "git", "everything", "memory", "misbehave", "modern", "proxy")
# The base images package entries are built on in tests (MCP_REGISTRY_NODE_IMAGE / _PYTHON_IMAGE).
NODE_BASE_IMAGE = f"{IMAGE_PREFIX}/node-base"
PYTHON_BASE_IMAGE = f"{IMAGE_PREFIX}/python-base"


def labelled_containers(label: str = TEST_LABEL) -> list[str]:
    """Names of all containers, running or not, that carry `label`."""
    return labelled_container_names(label)


def remove_test_containers() -> None:
    """Remove leftover test containers, but not those a live registry runs (a concurrent test session's)."""
    names: list[str] = []
    for info in podman_labelled_containers(TEST_LABEL):
        owner = Owner.parse((info.get("Labels") or {}).get(LABEL_OWNER, ""))
        if owner is not None and owner.host == socket.gethostname() and owner_is_alive(owner):
            continue
        names += info.get("Names") or []
    remove_containers(names)


REGISTRY_EXECUTABLE = Path(sys.executable).with_name("mcp-registry")


@asynccontextmanager
async def connect_registry(
    env: dict[str, str], *args: str, errlog: TextIO | None = None, **session_options: Any
) -> AsyncIterator[ClientSession]:
    """Start `mcp-registry` (this venv's console script) over stdio; yield an initialised SDK session.

    `errlog` receives the registry's stderr (its log); by default it goes to ours. Used inside a
    test body, so the SDK's task groups open and close in the same task.
    """
    params = StdioServerParameters(command=str(REGISTRY_EXECUTABLE), args=list(args), env=env)
    async with (
        stdio_client(params, errlog=errlog or sys.stderr) as (read, write),
        ClientSession(read, write, **session_options) as session,
    ):
        with anyio.fail_after(60):  # a registry that hangs at startup fails the test, not the run
            await session.initialize()
        yield session


def owned_by_this_process() -> str:
    """A `--label` that marks a test's own container (a bystander) as in use by this live process,
    so that a concurrent test session's cleanup (`remove_test_containers`) leaves it alone."""
    return f"--label={LABEL_OWNER}={own_owner_label(socket.gethostname())}"


def podman_stdio_params(image: str, *extra_args: str, env: dict[str, str]) -> StdioServerParameters:
    """`podman run -i --rm` with the registry's hardening flags, this run's smoke label and our owner label."""
    return StdioServerParameters(
        command="podman",
        args=[
            "run",
            "-i",
            "--rm",
            "--init",
            f"--label={SMOKE_LABEL}",
            owned_by_this_process(),
            "--cap-drop=ALL",
            "--security-opt=no-new-privileges",
            "--read-only",
            "--tmpfs",
            "/tmp",
            "--network=none",
            "--memory=512m",
            "--cpus=1",
            "--pids-limit=256",
            image,
            *extra_args,
        ],
        env=env,
    )


def run_repo_script(script: str, env: dict[str, str], *, timeout: float = 300) -> str:
    """Run `scripts/<script>` with this venv's Python; assert it succeeded and return its stdout."""
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    print(completed.stdout)
    assert completed.returncode == 0, f"{completed.stdout[-6000:]}\n{completed.stderr[-4000:]}"
    return completed.stdout


def text_of(result: Any) -> str:
    """All text content of a tool result, joined (for assertions)."""
    return "\n".join(item.text for item in result.content if getattr(item, "type", None) == "text")


def as_json(result: Any) -> Any:
    return json.loads(text_of(result))

"""Package entries (npm, PyPI): built into local images on the first add, reused on the next.

Real packages from npm and PyPI (reachable here, through a TLS-intercepting proxy: the build gets
the host's CA bundle), built on the test bed's node-base and python-base images, activated through
`mcp-registry serve` with the SDK client, their tools called. The images a test builds carry this
run's test label (MCP_REGISTRY_LABELS) and are removed at the end.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp_registry_server.catalog import Package
from mcp_registry_server.podman.image_build import LABEL_BUILD_INPUTS, PKG_IMAGE_PREFIX, BuildRecipe
from tests.e2e.harness import structured, with_catalog, write_catalog
from tests.e2e.support import (
    PYTHON_BASE_IMAGE,
    REGISTRY_EXECUTABLE,
    TEST_RUN_LABEL,
    connect_registry,
    labelled_containers,
    owned_by_this_process,
    text_of,
)

# Current exact versions (npm: registry.npmjs.org/@modelcontextprotocol/server-memory; PyPI:
# pypi.org/pypi/mcp-server-time/json), the same as the test bed's prebuilt memory and time images.
MEMORY_VERSION = "2026.8.31"
TIME_VERSION = "2026.10.19"
BUILD_TIMEOUT = 600


def podman(*args: str) -> str:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=True, timeout=120).stdout


def registry_cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`mcp-registry <args>` (this venv's), asserted to succeed."""
    completed = subprocess.run(
        [str(REGISTRY_EXECUTABLE), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-4000:]
    return completed


def run_images() -> list[str]:
    """Ids of the images this test run built (they carry its label)."""
    return podman("images", "--all", "--quiet", "--no-trunc", "--filter", f"label={TEST_RUN_LABEL}").split()


def build_containers() -> list[str]:
    """Containers from the PyPI base image, build containers (`--external`) included: only builds use it
    (other test sessions may be starting containers of their own meanwhile)."""
    listed = podman("ps", "--all", "--external", "--format", "{{.ID}} {{.Image}}")
    return [row.split()[0] for row in listed.splitlines() if row.split()[1:] == [f"{PYTHON_BASE_IMAGE}:latest"]]


def remove_images(ids: list[str]) -> None:
    if ids:
        subprocess.run(["podman", "rmi", "--force", "--ignore", *ids], check=False, timeout=120, capture_output=True)


@pytest.fixture(scope="module")
def built_images() -> Iterator[None]:
    """Removes the package images of earlier test runs first (the tests expect to build them), and
    those this module's builds made at the end, however the tests ended."""
    listed = podman("images", "--format", "{{.ID}} {{.Repository}}", "--filter", "label=io.mcp-registry.test")
    remove_images([row.split()[0] for row in listed.splitlines() if row.split()[1].startswith(PKG_IMAGE_PREFIX)])
    yield
    remove_images(run_images())


def reference_of(package: dict[str, str]) -> str:
    """The image a package entry of the test catalog builds into, on the python-base image."""
    base_id = podman("image", "inspect", "--format", "{{.Id}}", PYTHON_BASE_IMAGE).strip()
    return BuildRecipe(Package(**package), PYTHON_BASE_IMAGE, f"sha256:{base_id}").reference


def entries() -> list[dict[str, Any]]:
    return [
        {
            "id": "memory-npm",
            "name": "Memory (npm package)",
            "description": "The reference knowledge-graph memory server, from npm.",
            "package": {
                "registry": "npm",
                "name": "@modelcontextprotocol/server-memory",
                "version": MEMORY_VERSION,
            },
            "env": [{"name": "MEMORY_FILE_PATH", "default": "/tmp/memory.jsonl"}],
        },
        {
            "id": "time-pypi",
            "name": "Time (PyPI package)",
            "description": "The reference time server, from PyPI.",
            "package": {"registry": "pypi", "name": "mcp-server-time", "version": TIME_VERSION},
            "args": ["--local-timezone", "UTC"],
        },
        {
            "id": "time-missing-version",
            "name": "Time at a version that does not exist",
            "description": "Its build must fail and say so.",
            "package": {"registry": "pypi", "name": "mcp-server-time", "version": "1999.1.1"},
        },
        {
            # The same package with its bin named: other inputs, so its own build (the leak check's).
            "id": "time-pypi-bin",
            "name": "Time (PyPI package, bin named)",
            "description": "The reference time server, from PyPI, its console script named.",
            "package": {
                "registry": "pypi",
                "name": "mcp-server-time",
                "version": TIME_VERSION,
                "bin": "mcp-server-time",
            },
        },
    ]


@pytest.fixture
def package_env(registry_env: dict[str, str], tmp_path: Path, built_images: None) -> dict[str, str]:
    catalog = write_catalog(tmp_path / "packages", entries())
    return {**with_catalog(registry_env, catalog), "MCP_REGISTRY_BUILD_TIMEOUT": str(BUILD_TIMEOUT)}


async def add(session: Any, entry_id: str) -> tuple[dict[str, Any], list[str], float]:
    """registry_add with a progress token: its result, the progress messages and how long it took."""
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    started = time.monotonic()
    result = await session.call_tool("registry_add", {"entry_id": entry_id}, progress_callback=on_progress)
    return structured(result), messages, time.monotonic() - started


def image_of(entry_id: str, package_prefix: str) -> dict[str, Any]:
    listed = json.loads(podman("images", "--format", "json", "--filter", f"label={TEST_RUN_LABEL}") or "[]")
    matching = [
        image
        for image in listed
        for name in image.get("Names") or []
        if name.startswith(f"{PKG_IMAGE_PREFIX}/{package_prefix}")
    ]
    assert len(matching) == 1, f"{entry_id}: expected one built image, found {matching}"
    return matching[0]


async def test_npm_and_pypi_entries_build_run_and_are_reused(package_env: dict[str, str]) -> None:
    async with connect_registry(package_env) as session:
        memory, memory_progress, _ = await add(session, "memory-npm")
        # The build's own lines reached the editor as progress (podman's steps, npm's output).
        assert any(message.startswith("STEP ") for message in memory_progress), memory_progress
        created = await session.call_tool(
            "memory-npm_create_entities",
            {"entities": [{"name": "registry", "entityType": "project", "observations": ["built from npm"]}]},
        )
        assert not created.is_error, text_of(created)
        graph = await session.call_tool("memory-npm_read_graph", {})
        assert "built from npm" in text_of(graph)

        pypi, pypi_progress, _ = await add(session, "time-pypi")
        assert any(message.startswith("STEP ") for message in pypi_progress), pypi_progress
        now = await session.call_tool("time-pypi_get_current_time", {"timezone": "UTC"})
        assert not now.is_error and "UTC" in text_of(now), text_of(now)
        for added in (memory, pypi):
            assert any(name.startswith(f"{added['prefix']}_") for name in added["tools"]), added
    npm_image = image_of("memory-npm", "npm-modelcontextprotocol-server-memory:")
    pypi_image = image_of("time-pypi", "pypi-mcp-server-time:")

    # A new registry (its own process, nothing in memory) adds both again from the images it finds.
    async with connect_registry(package_env) as session:
        for entry_id, image in (("memory-npm", npm_image), ("time-pypi", pypi_image)):
            _, progress, seconds = await add(session, entry_id)
            assert not any(message.startswith("STEP ") or "building" in message for message in progress), progress
            assert seconds < 30, f"{entry_id}: the cached add took {seconds:.1f} s"
            assert image_of(entry_id, image["Names"][0].split("/")[-1].split(":")[0] + ":")["Id"] == image["Id"]
        now = await session.call_tool("time-pypi_get_current_time", {"timezone": "UTC"})
        assert not now.is_error, text_of(now)
    assert labelled_containers(TEST_RUN_LABEL) == []


async def test_a_failing_build_says_why_and_leaves_nothing(package_env: dict[str, str]) -> None:
    images_before, containers_before = set(run_images()), set(build_containers())
    async with connect_registry(package_env) as session:
        result = await session.call_tool("registry_add", {"entry_id": "time-missing-version"})
        assert result.is_error
        message = text_of(result)
        # The package, the step and the end of the build log (pip's own words).
        assert "pypi package mcp-server-time 1999.1.1" in message, message
        assert "step 2/" in message and "install.sh" in message, message
        assert "No matching distribution found for mcp-server-time==1999.1.1" in message, message
        status = structured(await session.call_tool("registry_status", {}))
        assert not any(mount["entry"] == "time-missing-version" for mount in status["mounts"]), status
    assert set(run_images()) == images_before
    assert set(build_containers()) - containers_before == set()
    assert labelled_containers(TEST_RUN_LABEL) == []


def test_build_command_builds_once_and_keeps_proxy_and_ca_out_of_the_image(package_env: dict[str, str]) -> None:
    # A proxy with a password that must not reach the image; PyPI itself is reached around it.
    proxy = "http://builder:s3cret-proxy-password@proxy.invalid:3128"
    around = "pypi.org,files.pythonhosted.org"
    env = {**package_env, "HTTPS_PROXY": proxy, "https_proxy": proxy, "NO_PROXY": around, "no_proxy": around}
    env["SSL_CERT_FILE"] = env.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt"
    [entry] = [entry for entry in entries() if entry["id"] == "time-pypi-bin"]
    remove_images([reference_of(entry["package"])])  # another test of this module may have built it
    first = registry_cli(env, "build", "time-pypi-bin", "--json", timeout=BUILD_TIMEOUT)
    [built] = json.loads(first.stdout)
    assert built["cached"] is False and built["image"].startswith(f"{PKG_IMAGE_PREFIX}/pypi-mcp-server-time:")
    second = registry_cli(env, "build", "time-pypi-bin", "--json")
    assert json.loads(second.stdout) == [{**built, "cached": True}]
    assert "STEP " not in second.stderr  # no podman build ran

    inspected = podman("image", "inspect", built["image"])
    history = podman("history", "--no-trunc", "--format", "{{.CreatedBy}} {{.Comment}}", built["image"])
    for text in (inspected, history):
        for leak in ("s3cret", "proxy.invalid", "PROXY", "proxy=", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "PIP_CERT"):
            assert leak not in text, f"{leak!r} is in the image's inspect/history"
        assert env["SSL_CERT_FILE"] not in text
    config = json.loads(inspected)[0]["Config"]
    assert config["Entrypoint"] == ["/opt/mcp-package/entrypoint"]
    assert config["Labels"][LABEL_BUILD_INPUTS] in built["image"]
    # It runs, under the registry's hardening (read-only root, no network), from its entrypoint.
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}  # fmt: skip
    ran = subprocess.run(
        ["podman", "run", "-i", "--rm", "--read-only", "--network=none", "--cap-drop=ALL",
         f"--label={TEST_RUN_LABEL}", owned_by_this_process(), built["image"]],
        input=json.dumps(hello) + "\n", capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert '"name":"mcp-time"' in ran.stdout.replace(" ", ""), ran.stdout + ran.stderr


async def test_a_package_entry_is_pinned_by_its_built_image(package_env: dict[str, str]) -> None:
    def catalog_lock(*args: str) -> list[dict[str, Any]]:
        rows = json.loads(registry_cli(package_env, "catalog", "lock", "--json", *args).stdout)
        return [row for row in rows if row["entry"] == "time-pypi-bin"]

    built = registry_cli(package_env, "build", "time-pypi-bin", "--json", timeout=BUILD_TIMEOUT)
    [image] = json.loads(built.stdout)
    [row] = catalog_lock()
    assert (row["status"], row["image"], row["digest"]) == ("pinned", image["image"], image["id"])
    async with connect_registry(package_env) as session:
        added, _, _ = await add(session, "time-pypi-bin")
        assert "warning" not in added, added  # pinned, and the image matches its pin
        await session.call_tool("registry_remove", {"entry_id_or_prefix": "time-pypi-bin"})
        # The same inputs built again are not the same bits (a package's own dependencies float):
        # the new image is refused until it is locked again.
        podman("rmi", "--force", image["image"])
        refused = await session.call_tool("registry_add", {"entry_id": "time-pypi-bin"})
        assert refused.is_error and image["id"] in text_of(refused) and "catalog lock --update" in text_of(refused)
    [row] = catalog_lock("--update")
    assert row["status"] == "repinned" and row["digest"] != image["id"]


def test_a_build_past_its_timeout_is_stopped_and_leaves_nothing(package_env: dict[str, str]) -> None:
    # 8 s: pip is still downloading the dependency tree when the install step's own bound ends it.
    env = {**package_env, "MCP_REGISTRY_BUILD_TIMEOUT": "8"}
    [entry] = [entry for entry in entries() if entry["id"] == "time-pypi-bin"]
    remove_images([reference_of(entry["package"])])
    images_before, containers_before = set(run_images()), set(build_containers())
    completed = subprocess.run(
        [str(REGISTRY_EXECUTABLE), "build", "time-pypi-bin"], env=env, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "did not finish within 8 s" in completed.stderr and "MCP_REGISTRY_BUILD_TIMEOUT" in completed.stderr
    assert set(run_images()) == images_before
    assert set(build_containers()) - containers_before == set()


def test_concurrent_builds_of_one_package_build_it_once(package_env: dict[str, str]) -> None:
    [entry] = [entry for entry in entries() if entry["id"] == "time-pypi-bin"]
    remove_images([reference_of(entry["package"])])
    command = [str(REGISTRY_EXECUTABLE), "build", "time-pypi-bin", "--json"]
    both = [subprocess.Popen(command, env=package_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]  # fmt: skip
    outputs = [process.communicate(timeout=BUILD_TIMEOUT) for process in both]
    assert all(process.returncode == 0 for process in both), outputs
    results = [json.loads(stdout)[0] for stdout, _ in outputs]
    assert sorted(result["cached"] for result in results) == [False, True]  # the second waited, then found it
    assert results[0]["id"] == results[1]["id"]
    assert sum("STEP 1/" in stderr for _, stderr in outputs) == 1

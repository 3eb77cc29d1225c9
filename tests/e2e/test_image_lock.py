"""Pinned images (issue 14): `catalog lock` pins each entry's local image; activation refuses a changed one.

Real Podman and the SDK client through `mcp-registry serve`. A test-only tag first names the time
image and is locked; re-tagging it to the misbehave image (what a compromised or silently updated
`:latest` looks like) makes `registry_add` refuse, naming the entry, both ids and the re-lock
command; after `catalog lock --update` the same add works.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

from tests.e2e.harness import structured, with_catalog, write_catalog
from tests.e2e.support import IMAGE_PREFIX, REGISTRY_EXECUTABLE, connect_registry, text_of


def podman(*args: str) -> str:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=True, timeout=60).stdout.strip()


def image_id(reference: str) -> str:
    return podman("image", "inspect", reference, "--format", "{{.Id}}")


def untag(tag: str) -> None:
    """Remove the test-only name; the images it pointed to keep their own names."""
    subprocess.run(["podman", "rmi", tag], capture_output=True, check=False, timeout=60)


def lock(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    argv = [str(REGISTRY_EXECUTABLE), "catalog", "lock", "--json", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)


async def test_a_retagged_image_is_refused_until_it_is_locked_again(
    registry_env: dict[str, str], test_images: dict[str, str], tmp_path: Path
) -> None:
    tag = f"{IMAGE_PREFIX}/pin-probe:run-{os.getpid()}"
    entry = {"id": "pinned", "name": "Pinned", "description": "An image under a tag that moves.", "image": tag}
    env = with_catalog(registry_env, write_catalog(tmp_path / "extra", [entry]))
    podman("tag", test_images["time"], tag)
    try:
        locked = lock(env)
        assert locked.returncode == 0, locked.stderr
        rows = {row["entry"]: row for row in json.loads(locked.stdout)}
        time_id, misbehave_id = image_id(test_images["time"]), image_id(test_images["misbehave"])
        assert rows["pinned"]["digest"].removeprefix("sha256:") == time_id.removeprefix("sha256:")
        lock_file = Path(env["XDG_CONFIG_HOME"]) / "mcp-registry" / "images.lock.json"
        assert stat.S_IMODE(lock_file.stat().st_mode) == 0o600

        podman("tag", test_images["misbehave"], tag)  # the same name, another image
        async with connect_registry(env) as session:
            refused = await session.call_tool("registry_add", {"entry_id": "pinned"})
            message = text_of(refused)
            assert refused.is_error, message
            assert "pinned" in message and "mcp-registry catalog lock --update" in message
            assert time_id.removeprefix("sha256:") in message and misbehave_id.removeprefix("sha256:") in message

            kept = lock(env)  # a plain lock keeps the pin and says it no longer matches
            assert kept.returncode == 1 and "mismatch" in kept.stdout
            relocked = lock(env, "--update")
            assert relocked.returncode == 0, relocked.stderr

            added = structured(await session.call_tool("registry_add", {"entry_id": "pinned"}))
            assert "pinned_echo" in added["tools"]  # the misbehave server, now trusted
            assert "warning" not in added
    finally:
        untag(tag)
    assert tag not in podman("images", "--format", "{{.Repository}}:{{.Tag}}").split()

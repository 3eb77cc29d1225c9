"""A stand-in for the registry's Podman connection, for tests that need no Podman.

`FakePodman` has the interface `MountLifecycle` and `Registry` use (`run`, `connect`, `runner`,
`status`): its "containers" are local processes, by default `tests/fake_servers/scripted_child.py`
with the script given for the entry, so a registry runs end to end against a scripted child.
It records what was started and removed (and the started processes), for assertions.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import Process

from mcp_registry_server.catalog import CatalogEntry
from mcp_registry_server.podman.runner import StartedContainer

SCRIPTED_CHILD = Path(__file__).parent / "fake_servers" / "scripted_child.py"


class FakeImages:
    """The image side of the Podman API: every image is local."""

    async def image_digest(self, image: str) -> str:
        return f"sha256:fake-{image}"

    async def pull(self, image: str, on_progress: Any = None) -> None:  # pragma: no cover - images are local
        raise AssertionError("the fake never pulls")


class FakeRunner:
    """Starts each entry as a local process running its script."""

    def __init__(self, scripts: Mapping[str, dict[str, Any]], workdir: Path) -> None:
        self.scripts = scripts
        self.workdir = workdir
        self.started: list[str] = []
        self.gone: list[str] = []
        self.env: dict[str, str] = {}
        self.processes: dict[str, Process] = {}

    async def start_interactive_container(
        self,
        entry: CatalogEntry,
        *,
        prefix: str,
        values: Mapping[str, str],
        enabled_volumes: Mapping[str, str],
        egress: object = None,
    ) -> StartedContainer:
        name = f"fake-{prefix}-{len(self.started)}"
        script = self.workdir / f"{name}.json"
        script.write_text(json.dumps(self.scripts.get(entry.id, {})))
        argv = [sys.executable, str(SCRIPTED_CHILD), str(script)]
        process: Process = await anyio.open_process(argv, env={**self.env, **values} or None)
        self.started.append(name)
        self.processes[name] = process
        return StartedContainer(name, entry.id, argv, process, anyio.current_time(), {})

    async def ensure_gone(self, name: str, *, grace: float) -> bool:
        self.gone.append(name)
        return True


class FakePodman:
    """Drop-in for `PodmanLink`; see the module docstring."""

    def __init__(self, scripts: Mapping[str, dict[str, Any]], workdir: Path) -> None:
        self.api = FakeImages()
        self.runner = FakeRunner(scripts, workdir)

    async def run(self) -> None:
        await anyio.sleep_forever()

    async def connect(self) -> tuple[Any, Any]:
        return self.api, self.runner

    async def status(self) -> dict[str, Any]:
        return {"available": True, "detail": "fake"}

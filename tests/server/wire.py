"""An in-process registry with fake containers, driven by raw JSON-RPC lines as an editor would send them.

`running_registry(tmp_path, scripts, lane=...)` starts `server.app.serve` on a pair of pipes with
`FakePodman` (each catalog entry in `scripts` runs `scripted_child.py` with that script) and
yields an `EditorWire`: `send(line)` writes raw bytes, `exchange(line, request_id)` writes a line
and returns every message the registry wrote until the response to `request_id`. No Podman.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp_registry_server.server.app import Serving, serve
from mcp_registry_server.settings import RegistrySettings
from tests.fake_podman import FakePodman

MODERN = "2026-07-28"
VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", MODERN)
CLIENT_INFO = {"name": "wire-test", "version": "1"}


def envelope(version: str, capabilities: dict[str, Any] | None = None) -> dict[str, Any]:
    """The `_meta` a 2026-07-28 request carries; empty for handshake-era versions."""
    if version != MODERN:
        return {}
    return {
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
        "io.modelcontextprotocol/clientCapabilities": capabilities or {},
    }


def request(version: str, request_id: Any, method: str, params: dict[str, Any] | None = None) -> bytes:
    """A request line; on 2026-07-28 its params carry the envelope (merged into any `_meta`)."""
    params = dict(params or {})
    if version == MODERN:
        params["_meta"] = {**envelope(version), **(params.get("_meta") or {})}
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params:
        message["params"] = params
    return json.dumps(message).encode() + b"\n"


class EditorWire:
    def __init__(self, to_registry: int, from_registry: int) -> None:
        self._out = to_registry
        self._in = from_registry
        self._buffer = b""
        self.unclaimed: list[dict[str, Any]] = []

    async def send(self, line: bytes) -> None:
        view = memoryview(line)
        while view:
            try:
                view = view[os.write(self._out, view) :]
            except BlockingIOError:
                await anyio.wait_writable(self._out)

    async def next_message(self) -> dict[str, Any]:
        while b"\n" not in self._buffer:
            await anyio.wait_readable(self._in)
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise EOFError("the registry closed its output")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    async def exchange(self, line: bytes, request_id: Any, *, seconds: float = 20) -> list[dict[str, Any]]:
        """Sends `line`; returns the messages until (and with) the response to `request_id`."""
        await self.send(line)
        return await self.until_response(request_id, seconds=seconds)

    async def until_response(self, request_id: Any, *, seconds: float = 20) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        with anyio.fail_after(seconds):
            while True:
                message = await self.next_message()
                seen.append(message)
                if "method" not in message and message.get("id") == request_id:
                    return seen

    async def until_any_response(self, *, seconds: float = 20) -> list[dict[str, Any]]:
        """The messages up to and with the next response, whichever request it answers."""
        seen: list[dict[str, Any]] = []
        with anyio.fail_after(seconds):
            while True:
                message = await self.next_message()
                seen.append(message)
                if "method" not in message:
                    return [m for m in seen if "method" not in m]

    async def handshake(self, version: str, capabilities: dict[str, Any] | None = None) -> None:
        """initialize + initialized for handshake-era versions; nothing for 2026-07-28."""
        if version == MODERN:
            return
        params = {"protocolVersion": version, "capabilities": capabilities or {}, "clientInfo": CLIENT_INFO}
        (response,) = await self.exchange(request(version, "init", "initialize", params), "init")
        assert response["result"]["protocolVersion"] == version, response
        await self.send(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')

    async def call(self, version: str, request_id: Any, name: str, arguments: dict[str, Any] | None = None) -> Any:
        """A tools/call; returns the response's result (asserting there was no error)."""
        params: dict[str, Any] = {"name": name, "arguments": arguments or {}}
        messages = await self.exchange(request(version, request_id, "tools/call", params), request_id, seconds=60)
        assert "result" in messages[-1], messages
        return messages[-1]["result"]


def write_catalog(directory: Path, entry_ids: list[str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for entry_id in entry_ids:
        (directory / f"{entry_id}.toml").write_text(
            f'id = "{entry_id}"\nname = "{entry_id}"\ndescription = "A scripted fake server."\n'
            f'image = "localhost/fake/{entry_id}:1"\n'
        )
    return directory


@asynccontextmanager
async def running_registry(
    tmp_path: Path,
    scripts: dict[str, dict[str, Any]],
    *,
    lane: bool = True,
    autostart: tuple[tuple[str, str | None], ...] = (),
    call_timeout: float = 30.0,
    max_tasks: int = 16,
    task_ttl: float = 3600.0,
) -> AsyncIterator[tuple[EditorWire, Serving]]:
    home = tmp_path / ("lane" if lane else "sdk")
    settings = RegistrySettings(
        catalog_dirs=(write_catalog(home / "catalog", list(scripts)),),
        config_dir=home / "config",
        runtime_dir=home / "run",
        state_dir=home / "state",
        call_timeout=call_timeout,
        autostart=autostart,
        stop_grace=0.5,
        max_tasks=max_tasks,
        task_ttl=task_ttl,
    )
    podman = FakePodman(scripts, home)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(home / "state"))  # the children's stderr logs
        to_registry_r, to_registry_w = os.pipe()
        from_registry_r, from_registry_w = os.pipe()
        for fd in (to_registry_w, from_registry_r):
            os.set_blocking(fd, False)
        serving: list[Serving] = []
        started = anyio.Event()

        def on_start(what: Serving) -> None:
            serving.append(what)
            started.set()

        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(
                    lambda: serve(
                        settings,
                        fds=(to_registry_r, from_registry_w),
                        podman=podman,  # type: ignore[arg-type]
                        lane=lane,
                        started=on_start,
                    )
                )
                with anyio.fail_after(10):
                    await started.wait()
                yield EditorWire(to_registry_w, from_registry_r), serving[0]
                os.close(to_registry_w)  # EOF: the registry shuts down and serve returns
                to_registry_w = -1
        finally:
            for fd in (to_registry_r, to_registry_w, from_registry_r, from_registry_w):
                if fd >= 0:
                    try:
                        os.close(fd)
                    except OSError:
                        pass

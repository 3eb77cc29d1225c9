"""Helpers for the reliability tests (faults, lifecycle, hostile input, secrets, hardening, load).

- `RawRegistry`: `mcp-registry` spoken to line by line, for what the SDK client cannot do: send
  malformed JSON-RPC, close stdin at a chosen moment, time a shutdown, signal the process.
- `write_catalog` / `misbehave_entry`: an extra catalog dir (put after the test catalog in
  MCP_REGISTRY_CATALOG_PATH) with copies of the misbehave entry under other ids and policies.
- Process and container inspection: descendants of a pid, every process's argv, the containers
  of one registry instance, `podman inspect`.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import time
import tomllib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import tomli_w
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

from tests.e2e.support import REGISTRY_EXECUTABLE, TEST_CATALOG_DIR, labelled_containers, text_of

MAX_LINE = 256 * 1024 * 1024


def structured(result: Any) -> dict[str, Any]:
    """The structured content of a successful registry tool result."""
    assert not result.is_error, text_of(result)
    return result.structured_content


async def wait_for(predicate: Callable[[], bool], seconds: float, interval: float = 0.05) -> bool:
    """Poll a blocking predicate (in a thread) until it holds or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while True:
        if await anyio.to_thread.run_sync(predicate):
            return True
        if time.monotonic() > deadline:
            return False
        await anyio.sleep(interval)


# --- catalogs ------------------------------------------------------------------------------------


def misbehave_entry(entry_id: str, **fields: Any) -> dict[str, Any]:
    """The test catalog's misbehave entry under another id, with `fields` replaced."""
    entry = tomllib.loads((TEST_CATALOG_DIR / "misbehave.toml").read_text())
    return {**entry, "id": entry_id, "name": f"Misbehave copy {entry_id}", **fields}


def write_catalog(directory: Path, entries: list[dict[str, Any]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        (directory / f"{entry['id']}.toml").write_text(tomli_w.dumps(entry))
    return directory


def with_catalog(env: dict[str, str], directory: Path) -> dict[str, str]:
    """`env` with `directory` added after the catalogs it already names."""
    return {**env, "MCP_REGISTRY_CATALOG_PATH": os.pathsep.join([env["MCP_REGISTRY_CATALOG_PATH"], str(directory)])}


# --- processes and containers --------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    children_file = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        children = [int(c) for c in children_file.read_text().split()]
    except OSError:
        return []
    return children + [grandchild for child in children for grandchild in descendants(child)]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\x00", b" ").decode(errors="replace")
    except OSError:
        return ""


def all_cmdlines() -> dict[int, bytes]:
    """Every process's raw argv (NUL-separated), by pid."""
    found: dict[int, bytes] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = (entry / "cmdline").read_bytes()
            except OSError:
                continue
    return found


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def instance_containers(instance: str) -> list[str]:
    return labelled_containers(f"io.mcp-registry.instance={instance}")


def podman_inspect(name: str) -> dict[str, Any]:
    completed = subprocess.run(
        ["podman", "inspect", "--format", "json", name], capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout)[0]


# --- the registry, spoken to raw -----------------------------------------------------------------


class RawRegistry:
    """A registry process with our own JSON-RPC framing. Build it with `RawRegistry.start`."""

    def __init__(self, process: Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self._stdin = process.stdin
        self._stdout = BufferedByteReceiveStream(process.stdout)
        self._ids = itertools.count(1)
        self._responses: dict[Any, dict[str, Any]] = {}
        self.notifications: list[dict[str, Any]] = []

    @classmethod
    @asynccontextmanager
    async def start(
        cls, env: dict[str, str], log_path: Path, *args: str, own_process_group: bool = False
    ) -> AsyncIterator[RawRegistry]:
        """`own_process_group`: start it as an editor does, as the leader of its own process group."""
        with log_path.open("ab") as log:
            process = await anyio.open_process(
                [str(REGISTRY_EXECUTABLE), *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                start_new_session=own_process_group,
            )
            try:
                yield cls(process)
            finally:
                with anyio.CancelScope(shield=True):
                    await process.stdin.aclose() if process.stdin else None
                    with anyio.move_on_after(15):
                        await process.wait()
                    if process.returncode is None:
                        process.kill()
                        await process.wait()

    @property
    def pid(self) -> int:
        return self.process.pid

    async def send_line(self, data: bytes) -> None:
        await self._stdin.send(data + b"\n")

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_line(json.dumps(message).encode())

    async def close_stdin(self) -> None:
        await self._stdin.aclose()

    async def receive(self) -> dict[str, Any]:
        """The next message from the registry; notifications are also kept in `notifications`."""
        message = json.loads(await self._stdout.receive_until(b"\n", MAX_LINE))
        if "id" not in message:
            self.notifications.append(message)
        return message

    async def response(self, request_id: Any, within: float = 30) -> dict[str, Any]:
        with anyio.fail_after(within):
            while request_id not in self._responses:
                message = await self.receive()
                if "id" in message and "method" not in message:
                    self._responses[message["id"]] = message
        return self._responses.pop(request_id)

    def pending_responses(self) -> dict[Any, dict[str, Any]]:
        """Responses read but not yet claimed by `response` (answers nobody waited for)."""
        return dict(self._responses)

    async def send_request(self, method: str, params: dict[str, Any] | None = None) -> str:
        request_id = f"raw-{next(self._ids)}"  # never equal to an id a test sends by hand
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        await self.send(message)
        return request_id

    async def request(self, method: str, params: dict[str, Any] | None = None, within: float = 30) -> dict[str, Any]:
        return await self.response(await self.send_request(method, params), within)

    async def initialize(self) -> dict[str, Any]:
        reply = await self.request(
            "initialize",
            {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw-test", "version": "1"}},
        )
        await self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return reply["result"]

    async def call_tool(self, name: str, arguments: Any = None, within: float = 60) -> dict[str, Any]:
        """A tools/call result (which may have isError); fails the test on a JSON-RPC error."""
        params: dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = arguments
        reply = await self.request("tools/call", params, within)
        assert "result" in reply, reply
        return reply["result"]

    async def structured(self, name: str, arguments: Any = None, within: float = 60) -> dict[str, Any]:
        result = await self.call_tool(name, arguments, within)
        assert not result.get("isError"), result
        return result["structuredContent"]

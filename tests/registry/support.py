"""Fakes for the registry's unit tests: an editor, a child's client, mounts, and a whole registry.

- `FakeEditor` is an `EditorLink` that records what the registry tells it and answers relayed
  requests from `answers` (method → result), or refuses them with `refusal`.
- `FakeClient` stands in for `MCPClient`: each `request` takes the next of its scripted replies
  (a value to return, an exception to raise, or an async function of (method, params, options)
  whose result is returned); the last reply repeats. It records every request.
- `make_mount` puts a `FakeClient` in an `ActiveMount`.
- `open_test_registry` opens a real `Registry` on `FakePodman` (scripted child processes as the
  "containers"), with catalog entries given as dicts.
"""

# ruff: noqa: ASYNC109 - the fake keeps MCPClient's `timeout=` keyword, which its callers pass.

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import anyio
import pytest

from mcp_registry_server.catalog import Catalog, CatalogEntry
from mcp_registry_server.config import ConfigStore
from mcp_registry_server.mcp_client import MCPClient
from mcp_registry_server.registry import Registry, RequestError, open_registry
from mcp_registry_server.registry.router import ActiveMount
from mcp_registry_server.settings import RegistrySettings
from tests.fake_podman import FakePodman

Reply = Any  # a value, an exception, or an async function (method, params, options) -> value


class FakeEditor:
    """An `EditorLink` that records everything; see the module docstring."""

    def __init__(self, capabilities: dict[str, Any] | None = None) -> None:
        self.capabilities = capabilities if capabilities is not None else {}
        self.answers: dict[str, dict[str, Any]] = {}
        self.refusal: RequestError | None = None
        self.changed: list[str] = []
        self.updated: list[str] = []
        self.logs: list[tuple[str, Any, str]] = []
        self.completed: list[str] = []
        self.asked: list[tuple[str, dict[str, Any] | None]] = []

    def client_capabilities(self) -> dict[str, Any]:
        return dict(self.capabilities)

    async def list_changed(self, kind: str) -> None:
        self.changed.append(kind)

    async def resource_updated(self, uri: str) -> None:
        self.updated.append(uri)

    async def log(self, level: str, data: Any, logger_name: str) -> None:
        self.logs.append((level, data, logger_name))

    async def elicitation_complete(self, elicitation_id: str) -> None:
        self.completed.append(elicitation_id)

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        self.asked.append((method, params))
        if self.refusal is not None:
            raise self.refusal
        return self.answers.get(method, {"answered": method})


class FakeClient:
    """An `MCPClient` stand-in with scripted replies; see the module docstring."""

    def __init__(
        self,
        *replies: Reply,
        capabilities: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
        modern: bool = False,
    ) -> None:
        self.replies = list(replies) or [{"content": []}]
        self.requests: list[tuple[str, dict[str, Any] | None, dict[str, Any]]] = []
        self.server_capabilities = capabilities if capabilities is not None else {}
        self.tools = tools if tools is not None else []
        self.list_error: Exception | None = None
        self.lists: dict[str, list[dict[str, Any]]] = {}
        self.list_calls: list[str] = []
        self.notified: list[str] = []
        self.notify_error: Exception | None = None
        self.is_alive = True
        self.is_modern = modern
        self.stderr = ""
        self.connection_failure: str | None = None

    def stderr_tail(self, max_chars: int = 4000) -> str:
        return self.stderr[-max_chars:]

    async def request(self, method: str, params: dict[str, Any] | None = None, **options: Any) -> Any:
        self.requests.append((method, params, options))
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, BaseException):
            raise reply
        if callable(reply):
            return await reply(method, params, options)
        return reply

    async def list_tools(self, *, timeout: float | None = None) -> list[dict[str, Any]]:
        if self.list_error is not None:
            raise self.list_error
        return self.tools

    async def list_paged(self, method: str, key: str, params: Any = None, *, timeout: float | None = None) -> list[Any]:
        self.list_calls.append(method)
        return self.lists.get(key, [])

    async def wait_initialized(self) -> None:
        pass

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        if self.notify_error is not None:
            raise self.notify_error
        self.notified.append(method)


def make_entry(entry_id: str = "demo", **fields: Any) -> CatalogEntry:
    return CatalogEntry.model_validate(
        {"id": entry_id, "name": entry_id.title(), "description": "A fake server.", "image": "localhost/fake", **fields}
    )


def make_mount(
    prefix: str = "demo", client: FakeClient | None = None, *, tools: tuple[str, ...] = ("echo",), **entry: Any
) -> ActiveMount:
    return ActiveMount(
        entry=make_entry(entry.pop("entry_id", prefix), **entry),
        prefix=prefix,
        container_name=f"c-{prefix}",
        client=cast(MCPClient, client if client is not None else FakeClient()),
        tools=[{"name": name, "inputSchema": {"type": "object"}} for name in tools],
    )


def client_of(mount: ActiveMount) -> FakeClient:
    return cast(FakeClient, mount.client)


@dataclass
class OpenRegistry:
    registry: Registry
    editor: FakeEditor
    podman: FakePodman


@asynccontextmanager
async def open_test_registry(
    tmp_path: Path,
    scripts: dict[str, dict[str, Any]],
    *,
    entries: dict[str, dict[str, Any]] | None = None,
    editor: FakeEditor | None = None,
    **settings: Any,
) -> AsyncIterator[OpenRegistry]:
    """A registry whose catalog has one entry per script (with `entries`' extra fields), on fake Podman."""
    await anyio.Path(tmp_path).mkdir(parents=True, exist_ok=True)
    entries = entries or {}
    catalog = Catalog(make_entry(entry_id, **entries.get(entry_id, {})) for entry_id in {**scripts, **entries})
    options: dict[str, Any] = {"stop_grace": 0.5, "init_timeout": 10.0, **settings}
    registry_settings = RegistrySettings(
        catalog_dirs=(), config_dir=tmp_path / "config", runtime_dir=tmp_path / "run", **options
    )
    podman = FakePodman(scripts, tmp_path)
    editor = editor or FakeEditor()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # the children's stderr logs
        async with open_registry(
            registry_settings,
            catalog,
            ConfigStore(registry_settings.config_dir),
            editor,
            podman=podman,  # type: ignore[arg-type]
        ) as registry:
            yield OpenRegistry(registry, editor, podman)


async def eventually(predicate: Callable[[], bool], *, seconds: float = 5.0) -> None:
    """Waits (polling) until `predicate()` holds; fails after `seconds`."""
    with anyio.fail_after(seconds):
        while True:
            if predicate():
                return
            await anyio.sleep(0.01)

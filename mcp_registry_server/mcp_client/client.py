"""MCP on top of the JSON-RPC session: the protocol era, paginated listings, tool calls.

`MCPClient` is a `JSONRPCSession` (see `jsonrpc` for requests, timeouts, cancellation and the
process lifecycle) with the MCP methods the registry needs.

`initialize()` finds the server's protocol era as the SDK's `Client(mode="auto")` does: it
first asks `server/discover` (2026-07-28). A server that answers with a version we speak is a
2026-07-28 server: no handshake follows (such servers refuse `initialize` on that connection),
every later request carries the per-request envelope in `_meta` (version, client info,
capabilities), and, when the server offers change notifications, one `subscriptions/listen`
stream stays open so its `list_changed` notifications arrive like a handshake-era server's. Any
error answer (old servers say -32601 or -32602) or no answer in time means a handshake-era
server: `initialize` follows, accepting only versions the SDK negotiates by handshake.
Either way the client records what the server declared (`server_capabilities`, …).

List methods follow `nextCursor` and stop with `MCPProtocolError` on a repeated cursor or after
1000 pages. Results are returned as the server sent them (a 2026-07-28 server's
`InputRequiredResult` included): validation belongs to the caller at the edge.

`hold_until_initialized()` lets a caller run the handshake in the background and use the client
at once: until `initialize()` has finished, other requests and notifications wait for it, and if
it fails they fail with its error instead of reaching a server that was never initialized.
"""

# ruff: noqa: ASYNC109 - `timeout=` is passed through to JSONRPCSession.request; see jsonrpc.py.

from __future__ import annotations

import logging
import math
from typing import Any

import anyio
from mcp_types import (
    CLIENT_CAPABILITIES_META_KEY,
    CLIENT_INFO_META_KEY,
    PROTOCOL_VERSION_META_KEY,
    SERVER_INFO_META_KEY,
)
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION, MODERN_PROTOCOL_VERSIONS

from .errors import MCPClientError, MCPProcessExitedError, MCPProtocolError, MCPRemoteError, MCPTimeoutError
from .jsonrpc import JSONRPCSession, ProgressHandler

__all__ = ["MCPClient"]

logger = logging.getLogger(__name__)

_MAX_PAGES = 1000
# What may go out while the handshake is held: the handshake itself, and liveness/cancellation.
_UNHELD = frozenset({"initialize", "server/discover", "ping", "notifications/initialized", "notifications/cancelled"})
# What a 2026-07-28 server may tell us about through a `subscriptions/listen` stream.
_LISTEN_KINDS = {"tools": "toolsListChanged", "prompts": "promptsListChanged", "resources": "resourcesListChanged"}


class MCPClient(JSONRPCSession):
    """A session with one MCP server. `async with MCPClient.connect(process, name=...) as client:`."""

    _initialize_result: dict[str, Any] | None = None
    _held: anyio.Event | None = None
    _handshake_error: MCPClientError | None = None
    _envelope: dict[str, Any] | None = None
    """The `_meta` every request carries to a 2026-07-28 server; None for a handshake-era one."""

    @property
    def is_modern(self) -> bool:
        """Whether the server speaks 2026-07-28 (found by `initialize()`)."""
        return self._envelope is not None

    @property
    def protocol_version(self) -> str | None:
        """The negotiated protocol version; None before `initialize()`."""
        return self._initialize_result["protocolVersion"] if self._initialize_result else None

    @property
    def server_info(self) -> dict[str, Any]:
        return _dict_or_empty((self._initialize_result or {}).get("serverInfo"))

    @property
    def server_capabilities(self) -> dict[str, Any]:
        return _dict_or_empty((self._initialize_result or {}).get("capabilities"))

    @property
    def instructions(self) -> str | None:
        instructions = (self._initialize_result or {}).get("instructions")
        return instructions if isinstance(instructions, str) else None

    def hold_until_initialized(self) -> None:
        """Makes requests sent from now on wait until `initialize()` has finished; see the module docstring."""
        if self._held is None and self._initialize_result is None:
            self._held = anyio.Event()

    async def wait_initialized(self) -> None:
        """Returns once a held handshake has finished (at once when none is pending); never raises."""
        if self._held is not None:
            await self._held.wait()

    async def _pass_hold(self, method: str) -> None:
        held = self._held
        if held is None or method in _UNHELD:
            return
        await held.wait()
        if self._handshake_error is not None:
            raise MCPClientError(
                f"{method!r} was not sent because the server did not complete the MCP handshake: "
                f"{self._handshake_error}",
                client_name=self.name,
            )

    async def request(self, method: str, params: dict[str, Any] | None = None, **options: Any) -> Any:
        if self._held is not None:
            await self._pass_hold(method)
        if self._envelope is not None:
            params = dict(params or {})
            params["_meta"] = {**self._envelope, **(params.get("_meta") or {})}
        return await super().request(method, params, **options)

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        if self._held is not None:
            await self._pass_hold(method)
        await super().notify(method, params)

    async def initialize(
        self,
        client_info: dict[str, Any],
        capabilities: dict[str, Any],
        protocol_version: str = LATEST_HANDSHAKE_VERSION,
        *,
        timeout: float | None = None,
        discover: bool = True,
    ) -> dict[str, Any]:
        """Finds the server's era and records what it said; see the module docstring.

        Returns the initialize result, or for a 2026-07-28 server one built from its discover
        result (`protocolVersion`, `capabilities`, `instructions`). `discover=False` skips the probe.
        """
        try:
            result = None
            if discover:
                result = await self._discover(client_info, capabilities, timeout=timeout)
            if result is None:
                result = await self._initialize(client_info, capabilities, protocol_version, timeout=timeout)
        except MCPClientError as error:
            self._handshake_error = error
            raise
        except BaseException:
            self._handshake_error = MCPClientError("the handshake was interrupted", client_name=self.name)
            raise
        finally:
            if self._held is not None:
                self._held.set()
        self._held = None
        return result

    async def _discover(
        self, client_info: dict[str, Any], capabilities: dict[str, Any], *, timeout: float | None
    ) -> dict[str, Any] | None:
        """The server's discover result as an initialize result, or None: a handshake-era server."""
        version = MODERN_PROTOCOL_VERSIONS[-1]
        envelope = {
            PROTOCOL_VERSION_META_KEY: version,
            CLIENT_INFO_META_KEY: client_info,
            CLIENT_CAPABILITIES_META_KEY: capabilities,
        }
        try:
            found = await super().request(
                "server/discover",
                {"_meta": envelope},
                timeout=timeout if timeout is not None else self.init_timeout,
            )
        except (MCPRemoteError, MCPTimeoutError, MCPProtocolError):
            return None  # every refusal (or silence) is an old server's answer
        supported = found.get("supportedVersions")
        if not isinstance(supported, list) or version not in supported:
            return None  # it speaks discover but offers no version we do: the handshake decides
        self._envelope = envelope
        result = {
            "protocolVersion": version,
            "capabilities": _dict_or_empty(found.get("capabilities")),
            "serverInfo": _dict_or_empty((found.get("_meta") or {}).get(SERVER_INFO_META_KEY)),
        }
        if isinstance(found.get("instructions"), str):
            result["instructions"] = found["instructions"]
        self._initialize_result = result
        self._listen_for_changes()
        return result

    def _listen_for_changes(self) -> None:
        """Opens the `subscriptions/listen` stream a 2026-07-28 server sends its change notifications on."""
        wanted = {
            flag: True
            for kind, flag in _LISTEN_KINDS.items()
            if _dict_or_empty(self.server_capabilities.get(kind)).get("listChanged")
        }
        if not wanted:
            return

        async def listen() -> None:
            try:
                await self.request("subscriptions/listen", {"notifications": wanted}, timeout=math.inf)
            except (MCPRemoteError, MCPProcessExitedError, MCPProtocolError) as error:
                logger.info("%s: no change notifications from the server: %s", self.name, error)
            except MCPClientError:
                pass  # closed

        self._task_group.start_soon(listen, name=f"{self.name}: subscriptions/listen")

    async def _initialize(
        self,
        client_info: dict[str, Any],
        capabilities: dict[str, Any],
        protocol_version: str,
        *,
        timeout: float | None,
    ) -> dict[str, Any]:
        params = {
            "protocolVersion": protocol_version,
            "capabilities": capabilities,
            "clientInfo": client_info,
        }
        result = await self.request("initialize", params, timeout=timeout if timeout is not None else self.init_timeout)
        version = result.get("protocolVersion")
        if not isinstance(version, str) or version not in HANDSHAKE_PROTOCOL_VERSIONS:
            raise MCPProtocolError(
                f"the server wants protocol version {version!r}, which this client does not speak "
                f"(it speaks {', '.join(HANDSHAKE_PROTOCOL_VERSIONS)}); use a newer or older server image",
                client_name=self.name,
            )
        self._initialize_result = result
        await self.notify("notifications/initialized")
        return result

    async def list_paged(
        self, method: str, key: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> list[Any]:
        """Calls a paginated list method, following `nextCursor`, and returns all `key` items."""
        items: list[Any] = []
        seen: set[str] = set()
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            page_params = dict(params or {})
            if cursor is not None:
                page_params["cursor"] = cursor
            result = await self.request(method, page_params or None, timeout=timeout)
            page = result.get(key)
            if not isinstance(page, list):
                raise MCPProtocolError(f"{method!r} returned no {key!r} list", client_name=self.name)
            items.extend(page)
            cursor = result.get("nextCursor")
            if cursor is None or cursor == "":
                return items
            if not isinstance(cursor, str) or cursor in seen:
                raise MCPProtocolError(
                    f"{method!r} pagination loops (cursor {cursor!r} repeated); the server is faulty",
                    client_name=self.name,
                )
            seen.add(cursor)
        raise MCPProtocolError(f"{method!r} returned more than {_MAX_PAGES} pages", client_name=self.name)

    async def list_tools(self, *, timeout: float | None = None) -> list[dict[str, Any]]:
        return await self.list_paged("tools/list", "tools", timeout=timeout)

    async def list_resources(self, *, timeout: float | None = None) -> list[dict[str, Any]]:
        return await self.list_paged("resources/list", "resources", timeout=timeout)

    async def list_resource_templates(self, *, timeout: float | None = None) -> list[dict[str, Any]]:
        return await self.list_paged("resources/templates/list", "resourceTemplates", timeout=timeout)

    async def list_prompts(self, *, timeout: float | None = None) -> list[dict[str, Any]]:
        return await self.list_paged("prompts/list", "prompts", timeout=timeout)

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        max_timeout: float | None = None,
        on_progress: ProgressHandler | None = None,
        raw: bool = False,
    ) -> Any:
        """Calls a tool and returns the server's result dict untouched (including `isError`).

        With `raw`, a large result comes back as `RawJSON`: the server's bytes, not parsed.
        """
        params: dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = arguments
        return await self.request(
            "tools/call", params, timeout=timeout, max_timeout=max_timeout, on_progress=on_progress, raw=raw
        )


def _dict_or_empty(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}

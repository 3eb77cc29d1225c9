"""MCP on top of the JSON-RPC session: the initialize handshake, paginated listings, tool calls.

`MCPClient` is a `JSONRPCSession` (see `jsonrpc` for requests, timeouts, cancellation and the
process lifecycle) with the MCP methods the registry needs. `initialize()` accepts only protocol
versions the SDK can negotiate by handshake and records what the server declared. List methods
follow `nextCursor` and stop with `MCPProtocolError` on a repeated cursor or after 1000 pages.
Results are returned as the server sent them: validation belongs to the caller at the edge.

`hold_until_initialized()` lets a caller run the handshake in the background and use the client
at once: until `initialize()` has finished, other requests and notifications wait for it, and if
it fails they fail with its error instead of reaching a server that was never initialized.
"""

# ruff: noqa: ASYNC109 - `timeout=` is passed through to JSONRPCSession.request; see jsonrpc.py.

from __future__ import annotations

from typing import Any

import anyio
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION

from .errors import MCPClientError, MCPProtocolError
from .jsonrpc import JSONRPCSession, ProgressHandler

__all__ = ["MCPClient"]

_MAX_PAGES = 1000
# What may go out while the handshake is held: the handshake itself, and liveness/cancellation.
_UNHELD = frozenset({"initialize", "ping", "notifications/initialized", "notifications/cancelled"})


class MCPClient(JSONRPCSession):
    """A session with one MCP server. `async with MCPClient.connect(process, name=...) as client:`."""

    _initialize_result: dict[str, Any] | None = None
    _held: anyio.Event | None = None
    _handshake_error: MCPClientError | None = None

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
    ) -> dict[str, Any]:
        """Performs the initialize handshake, records what the server said, sends initialized."""
        try:
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

"""Who the editor is and how to reach it, in both protocol eras: the registry's `EditorLink`.

The SDK's server owns the editor's connection; this module watches it as a server middleware
(`observe`, cheap on every request) and keeps what the registry and the direct lane need:
- a handshake-era editor (2024-11-05 … 2025-11-25): at `initialize`, its client parameters, the
  negotiated version (`handshake_version`, which opens the direct lane) and the SDK session whose
  standalone channel reaches the editor. It hears `list_changed` for a kind only once it has been
  answered a list of that kind (`listed`): until then its first list shows the current state, and
  a notice before it makes clients such as Gemini CLI register every tool twice;
- a 2026-07-28 editor (no handshake; each request carries its envelope): the capabilities and
  version of its latest request. Change notifications reach it only on `subscriptions/listen`
  streams, so they are published on the subscription bus; it cannot be sent requests, so
  `request` refuses (a call's questions reach it as an `InputRequiredResult`, see `asks`) and
  log messages outside a request are dropped, as the 2026-07-28 protocol says.

As `EditorLink`: `client_capabilities()` are what children may use through us (sampling,
elicitation, roots); notifications are best effort (an editor that went away never breaks the
registry); `request` raises the registry's `RequestError` with the editor's own error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated,
    ServerEvent,
    ToolsListChanged,
)
from mcp.shared.exceptions import MCPError
from mcp_types import METHOD_NOT_FOUND
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from mcp_registry_server.registry import RequestError

__all__ = ["EditorSession"]

logger = logging.getLogger(__name__)

# Client capabilities a child may use through the registry; the editor's other extensions stay with it.
_RELAYABLE_CAPABILITIES = frozenset({"sampling", "elicitation", "roots"})
_SERVER_REQUEST = TypeAdapter(types.ServerRequest)
_EVENTS: dict[str, Callable[[], ServerEvent]] = {
    "tools": ToolsListChanged,
    "resources": ResourcesListChanged,
    "prompts": PromptsListChanged,
}


@dataclass
class _HandshakeEditor:
    session: ServerSession
    protocol_version: str
    client_params: types.InitializeRequestParams


class EditorSession:
    """The editor as seen through the SDK server; see the module docstring."""

    def __init__(self, bus: InMemorySubscriptionBus) -> None:
        self.bus = bus
        self._handshake: _HandshakeEditor | None = None
        # The latest 2026-07-28 request's declared capabilities, kept as the SDK parsed them and
        # put on the wire only when a child needs them (`client_capabilities`).
        self._modern_capabilities: types.ClientCapabilities | None = None
        self.protocol_version: str | None = None
        """The editor's protocol version: negotiated at initialize, or its latest request's."""
        self._listed: set[str] = set()

    # -- watching the SDK server ------------------------------------------------------------

    async def observe(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """Server middleware: passes everything on, and learns who the editor is."""
        method = ctx.method
        if method == "initialize":
            result = await call_next(ctx)
            self._handshake_done(ctx, result)
            return result
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS and ctx.request_id is not None:
            self.protocol_version = ctx.protocol_version
            self._modern_capabilities = ctx.session.client_capabilities
        return await call_next(ctx)

    def _handshake_done(self, ctx: ServerRequestContext[Any, Any], result: HandlerResult) -> None:
        version = result.get("protocolVersion") if isinstance(result, Mapping) else None
        try:
            params = types.InitializeRequestParams.model_validate(ctx.params or {}, by_name=False)
        except ValidationError:
            return  # the SDK answered it with an error; nothing was negotiated
        if isinstance(version, str):
            self.protocol_version = version
            self._handshake = _HandshakeEditor(ctx.session, version, params)

    def handshake_version(self) -> str | None:
        """The negotiated version of a handshake-era editor, once its `initialize` was answered."""
        return self._handshake.protocol_version if self._handshake is not None else None

    def listed(self, kind: str) -> None:
        """The editor is being answered a list of `kind` ("tools", "resources", "prompts")."""
        self._listed.add(kind)

    @property
    def is_modern(self) -> bool:
        return self.protocol_version in MODERN_PROTOCOL_VERSIONS

    # -- EditorLink ---------------------------------------------------------------------------

    def client_capabilities(self) -> dict[str, Any]:
        declared = self._handshake.client_params.capabilities if self._handshake else self._modern_capabilities
        if declared is None:
            return {}
        wire = declared.model_dump(by_alias=True, mode="json", exclude_none=True)
        return {k: v for k, v in wire.items() if k in _RELAYABLE_CAPABILITIES}

    async def list_changed(self, kind: str) -> None:
        if self.is_modern:
            await self.bus.publish(_EVENTS[kind]())
            return
        if self._handshake is not None and kind in self._listed:
            senders = {
                "tools": self._handshake.session.send_tool_list_changed,
                "resources": self._handshake.session.send_resource_list_changed,
                "prompts": self._handshake.session.send_prompt_list_changed,
            }
            await _best_effort(senders[kind]())

    async def resource_updated(self, uri: str) -> None:
        if self.is_modern:
            await self.bus.publish(ResourceUpdated(uri=uri))
        elif self._handshake is not None:
            await _best_effort(self._handshake.session.send_resource_updated(uri))

    async def log(self, level: str, data: Any, logger_name: str) -> None:
        if self._handshake is None or self.is_modern:
            return  # 2026-07-28 delivers log messages only within the request that opted in
        params = types.LoggingMessageNotificationParams(level=level, data=data, logger=logger_name)  # type: ignore[arg-type]
        await _best_effort(self._handshake.session.send_notification(types.LoggingMessageNotification(params=params)))

    async def elicitation_complete(self, elicitation_id: str) -> None:
        # Defined from 2025-11-25 on; 2026-07-28 has no such notification (the retry carries the answer).
        if self._handshake is not None and not self.is_modern and self.protocol_version == "2025-11-25":
            await _best_effort(self._handshake.session.send_elicit_complete(elicitation_id))

    async def task_status(self, task: dict[str, Any]) -> None:
        """`notifications/tasks/status`: defined only in 2025-11-25."""
        if self._handshake is not None and self.protocol_version == "2025-11-25":
            params = types.TaskStatusNotificationParams.model_validate(task, by_name=False)
            notification = types.TaskStatusNotification(params=params)
            await _best_effort(self._handshake.session.send_notification(notification))  # type: ignore[arg-type]

    async def progress(
        self, token: types.ProgressToken, progress: float, total: float | None, message: str | None
    ) -> None:
        """Progress under `token` after its request was answered (a task's, 2025-11-25)."""
        if self._handshake is not None and not self.is_modern:
            params = types.ProgressNotificationParams(
                progress_token=token, progress=progress, total=total, message=message
            )
            await _best_effort(self._handshake.session.send_notification(types.ProgressNotification(params=params)))

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        if self._handshake is None or self.is_modern:
            raise RequestError(
                METHOD_NOT_FOUND,
                f"{method} cannot reach this editor now: it speaks {self.protocol_version or 'no protocol yet'}, "
                "where a server's questions reach the editor only as part of a call's result.",
            )
        return await _send_request(self._handshake.session, method, params)


async def _send_request(session: ServerSession, method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """A raw server→client request through the SDK session, typed on the way out and back."""
    try:
        request = _SERVER_REQUEST.validate_python({"method": method, "params": params}, by_name=False)
    except ValidationError as error:
        raise RequestError(types.INVALID_PARAMS, f"Invalid {method} params: {error}") from error
    try:
        # The SDK checks the editor's answer against the editor's protocol version; `_AnyResult`
        # then keeps it whole (sampling answers come in two shapes, with and without tool use).
        result = await session.send_request(request, _AnyResult)
    except MCPError as error:
        raise RequestError(error.error.code, error.error.message, error.error.data) from error
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


async def _best_effort(send: Any) -> None:
    try:
        await send
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, MCPError, OSError) as error:
        logger.debug("could not notify the editor: %s", error)


class _AnyResult(BaseModel):
    model_config = ConfigDict(extra="allow")

"""The editors of one workspace, as one `EditorLink`: several HTTP sessions share a registry.

Under `serve --http`, every session of a workspace talks to the same registry, so the registry's
calls back to "the editor" must be spread over them. `WorkspaceEditors` is an `EditorSession`
(the server middleware and the handlers' view stay the same) that keeps one `EditorSession` per
handshake-era HTTP session, by its `Mcp-Session-Id` (forgotten once `live_sessions()` no longer
lists it: the session was deleted or expired), and acts itself as the 2026-07-28 editor (stateless requests; their change notifications go out
on the workspace's subscription bus, so every `subscriptions/listen` stream of the workspace
hears them).
- Notifications (`list_changed`, `resource_updated`, `log`, `elicitation_complete`) go to every
  session of the workspace, each under its own rules (a session hears `list_changed` only for a
  kind it has listed).
- A relayed request (sampling, elicitation, roots) goes to one session. A child's request reaches
  the registry on the child's connection, not inside the editor's call, so which call caused it
  cannot be known for sure: it goes to the session with the most recently started tool call
  still running, else to the session heard from last. `client_capabilities` are that session's.
- Per-request bookkeeping (`listed`) goes to the session the request came on.
"""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Awaitable, Callable, Collection
from typing import Any

import mcp_types as types
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.subscriptions import InMemorySubscriptionBus
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from mcp_registry_server.server.editor_session import EditorSession

__all__ = ["WorkspaceEditors"]

_current: contextvars.ContextVar[EditorSession | None] = contextvars.ContextVar("http_editor", default=None)


class WorkspaceEditors(EditorSession):
    """Every editor session of one workspace; see the module docstring."""

    def __init__(self, bus: InMemorySubscriptionBus) -> None:
        super().__init__(bus)
        self.live_sessions: Callable[[], Collection[str]] = lambda: self._sessions.keys()
        """The ids of the sessions still open (set by the workspace, from its session manager)."""
        self._sessions: dict[str, EditorSession] = {}
        self._heard: dict[int, int] = {}  # id(EditorSession) → order of the last request heard on it
        self._calls: dict[int, EditorSession] = {}  # running tool calls: order started → session
        self._order = itertools.count()

    def _live(self) -> list[EditorSession]:
        """The sessions still open; those that ended are forgotten here."""
        live = self.live_sessions()
        for ended in [session_id for session_id in self._sessions if session_id not in live]:
            editor = self._sessions.pop(ended)
            self._heard.pop(id(editor), None)
        return list(self._sessions.values())

    # -- watching the SDK server ------------------------------------------------------------

    async def observe(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        # A new `ServerSession` is made per request; the connection behind it is the HTTP session.
        session_id = ctx.session._connection.session_id
        if session_id is None or (ctx.method != "initialize" and ctx.protocol_version in MODERN_PROTOCOL_VERSIONS):
            return await super().observe(ctx, call_next)
        editor = self._sessions.get(session_id)
        if editor is None:
            editor = self._sessions[session_id] = EditorSession(self.bus)
        order = next(self._order)
        self._heard[id(editor)] = order
        token = _current.set(editor)
        try:
            if ctx.method != "tools/call":
                return await editor.observe(ctx, call_next)
            self._calls[order] = editor
            try:
                return await editor.observe(ctx, call_next)
            finally:
                del self._calls[order]
        finally:
            _current.reset(token)

    def listed(self, kind: str) -> None:
        editor = _current.get()
        if editor is not None:
            editor.listed(kind)
        else:
            super().listed(kind)

    def handshake_version(self) -> str | None:
        editor = _current.get()
        return editor.handshake_version() if editor is not None else None

    # -- EditorLink ---------------------------------------------------------------------------

    def _target(self) -> EditorSession | None:
        """The session a relayed request goes to; see the module docstring."""
        if self._calls:
            return self._calls[max(self._calls)]
        live = self._live()
        if not live:
            return None
        return max(live, key=lambda editor: self._heard.get(id(editor), -1))

    def client_capabilities(self) -> dict[str, Any]:
        target = self._target()
        return target.client_capabilities() if target is not None else super().client_capabilities()

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        target = self._target()
        if target is None:
            return await super().request(method, params)  # refuses, saying why
        return await target.request(method, params)

    async def _each(self, send: Callable[[EditorSession], Awaitable[None]]) -> None:
        for editor in self._live():
            await send(editor)

    async def list_changed(self, kind: str) -> None:
        if self.is_modern:
            await super().list_changed(kind)
        await self._each(lambda editor: editor.list_changed(kind))

    async def resource_updated(self, uri: str) -> None:
        if self.is_modern:
            await super().resource_updated(uri)
        await self._each(lambda editor: editor.resource_updated(uri))

    async def log(self, level: str, data: Any, logger_name: str) -> None:
        await self._each(lambda editor: editor.log(level, data, logger_name))

    async def elicitation_complete(self, elicitation_id: str) -> None:
        await self._each(lambda editor: editor.elicitation_complete(elicitation_id))

    async def task_status(self, task: dict[str, Any]) -> None:
        await self._each(lambda editor: editor.task_status(task))

    async def progress(
        self, token: types.ProgressToken, progress: float, total: float | None, message: str | None
    ) -> None:
        target = _current.get() or self._target()
        if target is not None:
            await target.progress(token, progress, total, message)

"""Requests routed to a mount: tool calls by exposed name, prompts and resource reads, and their questions.

`CallRouter.call_tool(name, arguments, progress, mode=...)` resolves the exposed name in the
router (a dict lookup: this is every call's path) and sends the child's tool the call;
`request(mount, method, params, ...)` does the same for a `prompts/get` or `resources/read`
that `Passthrough` routed. While the child works, its questions to the editor (see `asks`) are
relayed (`mode="relay"`) or parked for the editor's retry (`mode="defer"`, then `resume`); a
2026-07-28 child's `InputRequiredResult` is answered the same way and the child is asked again
with the answers, at most `MAX_INPUT_ROUNDS` times.

Outcomes: a `CallOutcome` with the child's result as the child sent it, `InputRequired` while
parked, or, when the request could
not be made or did not finish (unknown name, arguments that are not an object, a timeout after
which the child was told to cancel, the server exiting mid-call, the child's JSON-RPC error),
the registry's own error: tool error text for `tools/call`, a `RequestError` for the others
(a child's JSON-RPC error keeps its code, message and data). A child's -32042 (URL elicitation
required, 2025-11-25) is a `RequestError` for `tools/call` too: the editor must see it to open
the URL. Shaping a result for the editor's protocol version belongs to the server layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from mcp_types import INTERNAL_ERROR
from mcp_types.jsonrpc import URL_ELICITATION_REQUIRED

from mcp_registry_server.mcp_client import (
    MCPClientError,
    MCPProcessExitedError,
    MCPRemoteError,
    MCPTimeoutError,
)
from mcp_registry_server.registry.asks import AskMode, InputRequired, OpenRequest, ParkedRequests
from mcp_registry_server.registry.editor_link import EditorLink, ProgressCallback
from mcp_registry_server.registry.errors import RequestError
from mcp_registry_server.registry.router import ActiveMount, ToolRouter, exposed_name
from mcp_registry_server.settings import LOCAL_HOST, RegistrySettings

__all__ = ["MAX_INPUT_ROUNDS", "CallOutcome", "CallRouter"]

MAX_INPUT_ROUNDS = 10


@dataclass(frozen=True)
class CallOutcome:
    """A routed request's result, as the child sent it, or the registry's own error text."""

    result: dict[str, Any]
    server: str | None = None
    """Who produced `result`, e.g. "sqlite server (prefix 'sqlite')"; None for the registry's own errors."""

    @classmethod
    def error(cls, text: str) -> CallOutcome:
        return cls({"content": [{"type": "text", "text": text}], "isError": True})


def _note_failure(mount: ActiveMount, text: str) -> None:
    """The mount's latest failure, unless the registry already marked it failed with a remedy."""
    if mount.state != "failed":
        mount.last_error = text


class _Failed(Exception):
    """A routed request that could not finish; `text` says why and what to do."""

    def __init__(self, text: str, remote: MCPRemoteError | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.remote = remote


class CallRouter:
    """Routes requests to the mounts in the router. See the module docstring."""

    def __init__(
        self, router: ToolRouter, settings: RegistrySettings, editor: EditorLink, parked: ParkedRequests
    ) -> None:
        self._router = router
        self._settings = settings
        self._editor = editor
        self._parked = parked

    async def call_tool(
        self,
        tool_name: Any,
        arguments: Any = None,
        progress: ProgressCallback | None = None,
        *,
        mode: AskMode = "relay",
    ) -> CallOutcome | InputRequired:
        """Routes a call to its mount; see the module docstring for the outcomes."""
        route = self._router.resolve(tool_name) if isinstance(tool_name, str) else None
        if route is None:
            return CallOutcome.error(self.unknown_tool_message(tool_name))
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            return CallOutcome.error(f"arguments must be a JSON object, not {type(arguments).__name__}.")
        mount, child_tool = route
        params = {"name": child_tool, "arguments": arguments}
        return await self.request(mount, "tools/call", params, progress, mode=mode, label=tool_name)

    async def request(
        self,
        mount: ActiveMount,
        method: str,
        params: dict[str, Any],
        progress: ProgressCallback | None = None,
        *,
        mode: AskMode = "relay",
        label: str | None = None,
        shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> CallOutcome | InputRequired:
        """Sends `method` to `mount`'s child; see the module docstring for the outcomes.

        `shape` maps the child's final result before it becomes the outcome."""
        open_request = OpenRequest(mode, self._editor, progress)
        drive = partial(self._drive, mount, method, params, label=label or method, shape=shape)
        if mode == "relay":
            return await drive(open_request)
        return await self._parked.start(open_request, drive)

    async def resume(
        self, state: str, responses: dict[str, Any], progress: ProgressCallback | None = None
    ) -> CallOutcome | InputRequired:
        """The editor's retry of a parked request, with its answers."""
        return await self._parked.resume(state, responses, progress)

    async def _drive(
        self,
        mount: ActiveMount,
        method: str,
        params: dict[str, Any],
        open_request: OpenRequest,
        *,
        label: str,
        shape: Callable[[dict[str, Any]], dict[str, Any]] | None,
    ) -> CallOutcome:
        # A relayed question needs no request to belong to (it goes to the editor at once).
        deferred = open_request.mode == "defer"
        if deferred:
            mount.open_requests.append(open_request)
        try:
            result = await self._send(mount, method, params, open_request, label=label)
            rounds = 0
            while isinstance(result, dict) and result.get("resultType") == "input_required":
                if rounds == MAX_INPUT_ROUNDS:
                    raise _Failed(f"{label}: the server kept asking for input after {rounds} rounds; gave up.")
                rounds += 1
                result = await self._answer_and_retry(mount, method, params, result, open_request, label=label)
        except _Failed as failure:
            remote = failure.remote
            if method == "tools/call" and (remote is None or remote.code != URL_ELICITATION_REQUIRED):
                return CallOutcome.error(failure.text)
            if remote is not None:
                raise RequestError(remote.code, remote.message, remote.data) from None
            raise RequestError(INTERNAL_ERROR, failure.text) from None
        finally:
            if deferred:
                mount.open_requests.remove(open_request)
        mount.calls_served += 1
        return CallOutcome(
            shape(result) if shape else result, server=f"{mount.entry.id} server (prefix {mount.prefix!r})"
        )

    async def _answer_and_retry(
        self,
        mount: ActiveMount,
        method: str,
        params: dict[str, Any],
        input_required: dict[str, Any],
        open_request: OpenRequest,
        *,
        label: str,
    ) -> Any:
        """A 2026-07-28 child's `InputRequiredResult`: ask the editor, then send the request again."""
        requests = input_required.get("inputRequests") or {}
        questions = {
            key: (request.get("method"), request.get("params"))
            for key, request in requests.items()
            if isinstance(request, dict) and isinstance(request.get("method"), str)
        }
        answers = await open_request.ask_all(questions)  # type: ignore[arg-type]
        refused = [answer for answer in answers if isinstance(answer, RequestError)]
        if refused:
            raise _Failed(f"{label}: the editor did not answer the server's question: {refused[0].message}")
        retry = {**params, "inputResponses": dict(zip(questions, answers, strict=True))}
        if input_required.get("requestState") is not None:
            retry["requestState"] = input_required["requestState"]
        return await self._send(mount, method, retry, open_request, label=label)

    async def _send(
        self,
        mount: ActiveMount,
        method: str,
        params: dict[str, Any],
        open_request: OpenRequest,
        *,
        label: str,
    ) -> Any:
        async def on_progress(update: dict[str, Any]) -> None:
            if open_request.progress is not None:  # the editor's latest request for it, after a resume
                await open_request.progress(update.get("progress", 0), update.get("total"), update.get("message"))

        try:
            return await mount.client.request(
                method,
                params,
                max_timeout=self._settings.call_timeout_bound,
                on_progress=on_progress if open_request.progress is not None or open_request.mode == "defer" else None,
            )
        except MCPTimeoutError as error:
            _note_failure(mount, str(error))
            raise _Failed(f"{label} timed out: {error}. The server was told to cancel the call.") from None
        except MCPProcessExitedError as error:
            # The mount's supervisor marks it failed and restarts it if its entry says so.
            next_step = (
                "It is being restarted (its entry says restart = on-failure); try again in a moment."
                if mount.entry.restart == "on-failure" and mount.restarts < mount.entry.max_restarts
                else f'Remove it with registry_remove("{mount.prefix}") and add it again.'
            )
            # On a remote host the usual cause is the host or its ssh link going away: say which.
            where = f" on the Podman host {mount.host!r}" if mount.host != LOCAL_HOST else ""
            raise _Failed(
                f"The {mount.entry.id} server (prefix {mount.prefix!r}){where} exited during {label}: {error}. "
                f"{next_step}"
            ) from None
        except MCPRemoteError as error:
            _note_failure(mount, str(error))
            raise _Failed(f"{label} failed in the server: {error}", remote=error) from None
        except MCPClientError as error:
            _note_failure(mount, str(error))
            raise _Failed(f"{label} failed: {error}") from None

    def unknown_tool_message(self, tool_name: Any) -> str:
        names = self._router.exposed_names()
        shown = repr(tool_name)[:80]
        for mount in self._router.mounts.values():
            for child_name in self._router.filtered_out(mount):
                if exposed_name(mount.prefix, child_name) == tool_name:
                    return (
                        f"Tool {shown} of {mount.entry.id} is not offered: {mount.tool_filter.why_not(child_name)}. "
                        f"The user can change tools_allow / tools_deny for {mount.entry.id} in the registry's config.toml."
                    )
        if not names:
            return f"Unknown tool {shown}: no server is active. Activate one with registry_add (see registry_search)."
        listing = ", ".join(names[:200]) + (f" … and {len(names) - 200} more" if len(names) > 200 else "")
        return f"Unknown tool {shown}. Available tools: {listing}."

"""Child → editor: a mount's notifications and server-to-client requests, and the editor's settings for children.

- `on_notification(prefix, method, params)`: a child's `list_changed` refreshes our tables first
  (the router's tools, the passthrough caches), then the editor is told; `resources/updated`
  reaches the editor under the URI the editor knows, `elicitation/complete` as it is; log
  messages are tagged `<prefix>/<child's logger>`. Anything else is dropped.
- `on_request(prefix, method, params)`: a child's sampling, elicitation or roots request (only
  those, and only when the editor declared the capability) is relayed to the editor at once,
  unless a 2026-07-28 request waits on that mount: then it is a question of the oldest such
  request (see `asks`). The editor's answer or error goes
  back to the child. Everything else is refused with -32601.
- `set_logging_level` / `roots_list_changed`: the editor's logging level and roots changes,
  passed to every mount that can use them; the level is remembered for mounts added later.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from mcp_types import METHOD_NOT_FOUND

from mcp_registry_server.mcp_client import MCPClientError, MCPRemoteError
from mcp_registry_server.registry.editor_link import RELAYED_REQUESTS, EditorLink
from mcp_registry_server.registry.errors import RequestError
from mcp_registry_server.registry.passthrough import Passthrough
from mcp_registry_server.registry.router import ActiveMount, ToolRouter

__all__ = ["LOG_LEVELS", "ChildEvents"]

logger = logging.getLogger(__name__)

LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


class ChildEvents:
    """Routes what children send on their own, and the editor's settings for them."""

    def __init__(self, router: ToolRouter, passthrough: Passthrough, editor: EditorLink) -> None:
        self._router = router
        self._passthrough = passthrough
        self._editor = editor
        self.log_level: str | None = None
        """The editor's last logging/setLevel, sent to each mount during its handshake."""

    async def on_notification(self, prefix: str, method: str, params: dict[str, Any] | None) -> None:
        mount = self._router.mounts.get(prefix)
        if mount is None:
            return
        params = params or {}
        match method:
            case "notifications/tools/list_changed":
                try:
                    tools = await mount.client.list_tools()
                except MCPClientError as error:
                    mount.last_error = f"refreshing tools after list_changed failed: {error}"
                    return
                shown = self._router.exposed_tools()
                self._router.replace_tools(mount, tools)
                if self._router.exposed_tools() is not shown:  # a "search" mount's tools are not listed
                    await self._editor.list_changed("tools")
            case "notifications/resources/list_changed":
                self._passthrough.invalidate(prefix, "resources")
                self._passthrough.invalidate(prefix, "resourceTemplates")
                await self._editor.list_changed("resources")
            case "notifications/prompts/list_changed":
                self._passthrough.invalidate(prefix, "prompts")
                await self._editor.list_changed("prompts")
            case "notifications/resources/updated" if isinstance(params.get("uri"), str):
                await self._editor.resource_updated(self._passthrough.exposed_uri_of(prefix, params["uri"]))
            case "notifications/elicitation/complete" if isinstance(params.get("elicitationId"), str):
                await self._editor.elicitation_complete(params["elicitationId"])
            case "notifications/message":
                child_logger = params.get("logger")
                name = f"{prefix}/{child_logger}" if isinstance(child_logger, str) and child_logger else prefix
                level = params["level"] if params.get("level") in LOG_LEVELS else "info"
                await self._editor.log(level, params.get("data"), name)

    async def on_request(self, prefix: str, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        """A child's server→client request: relayed to the editor, or refused (MCPRemoteError)."""
        capability = RELAYED_REQUESTS.get(method)
        if capability is None or capability not in self._editor.client_capabilities():
            raise MCPRemoteError(METHOD_NOT_FOUND, f"Method not found: {method} (the editor did not declare it)")
        mount = self._router.mounts.get(prefix)
        try:
            if mount is not None and mount.open_requests:
                return await mount.open_requests[0].ask(method, params)
            return await self._editor.request(method, params)
        except RequestError as error:
            raise MCPRemoteError(error.code, error.message, error.data) from error

    async def set_logging_level(self, level: str) -> None:
        """Editor's logging/setLevel: remembered for new mounts and sent to every mount that logs."""
        self.log_level = level

        async def send(mount: ActiveMount) -> None:
            try:
                await mount.client.request("logging/setLevel", {"level": level})
            except MCPClientError as error:
                mount.last_error = f"logging/setLevel failed: {error}"

        async with anyio.create_task_group() as tasks:
            for mount in list(self._router.mounts.values()):
                if mount.client.is_alive and "logging" in mount.client.server_capabilities:
                    tasks.start_soon(send, mount)

    async def roots_list_changed(self) -> None:
        """Editor's notifications/roots/list_changed, passed on to every mount."""
        if "roots" not in self._editor.client_capabilities():
            return
        for mount in list(self._router.mounts.values()):
            if mount.client.is_alive and not mount.client.is_modern:  # 2026-07-28 has no such notification
                try:
                    await mount.client.notify("notifications/roots/list_changed")
                except MCPClientError as error:
                    mount.last_error = f"roots/list_changed failed: {error}"

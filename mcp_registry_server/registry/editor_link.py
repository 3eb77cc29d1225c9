"""What the registry needs from the editor-facing side: the `EditorLink` protocol.

The server layer implements it for the editor it serves. The registry calls it to tell the
editor that its lists changed, to pass on a child's log messages and resource updates, and to
relay a child's server-to-client request (sampling, elicitation, roots) to the editor.
`request` raises `RequestError` with the editor's own error when the editor refuses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

__all__ = ["RELAYED_REQUESTS", "EditorLink", "ProgressCallback"]

ProgressCallback = Callable[[float, float | None, str | None], Awaitable[None]]
"""(progress, total, message) → forwarded to the editor when it gave a progressToken."""

# Server→client requests a child may relay to the editor, and the client capability each needs.
RELAYED_REQUESTS = {"sampling/createMessage": "sampling", "elicitation/create": "elicitation", "roots/list": "roots"}


class EditorLink(Protocol):
    """What the registry asks of the editor side (implemented in `server/`)."""

    def client_capabilities(self) -> dict[str, Any]:
        """The client capabilities the editor declared that children may use (wire JSON)."""
        ...

    async def list_changed(self, kind: str) -> None:
        """Tell the editor that our `tools`, `resources` or `prompts` list changed."""
        ...

    async def resource_updated(self, uri: str) -> None: ...

    async def log(self, level: str, data: Any, logger_name: str) -> None: ...

    async def elicitation_complete(self, elicitation_id: str) -> None:
        """A URL-mode elicitation the editor opened has been completed (2025-11-25)."""
        ...

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        """Relay a server→client request to the editor now; raise `RequestError` with its error."""
        ...

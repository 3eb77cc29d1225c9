"""Errors the registry layer reports upward, in its own types (no protocol library's).

- `RegistryError`: a failure to show the user as it is: what happened and what to do. The server
  layer turns it into a tool result with `isError: true`, which the model can read and act on.
- `RequestError`: the JSON-RPC error an editor's request should get (`code`, `message`, `data`),
  e.g. a resource no mount offers, or the error an editor or a child answered a relayed request
  with. The server layer turns it into the protocol's error response.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RegistryError", "RequestError"]


class RegistryError(Exception):
    """A failure to report to the user as is: what happened and what to do."""


class RequestError(Exception):
    """A JSON-RPC error for the request being answered."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        self.code = code
        self.message = message
        self.data = data
        super().__init__(f"error {code}: {message}")

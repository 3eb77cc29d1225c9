"""Errors raised by `MCPClient`.

Every error names the MCP server it came from (the client's `name`) and, where the server's own
output explains it (a crash, a hang), ends with the tail of the server's stderr, so a message that
reaches a user says what happened, to which server, and what to look at next.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "MCPClientClosedError",
    "MCPClientError",
    "MCPConnectionError",
    "MCPProcessExitedError",
    "MCPProtocolError",
    "MCPRemoteError",
    "MCPRequestCancelledError",
    "MCPTimeoutError",
]


class MCPClientError(Exception):
    """Base class: something went wrong talking to one MCP server."""

    def __init__(self, message: str, *, client_name: str = "", stderr_tail: str = "") -> None:
        self.client_name = client_name
        self.stderr_tail = stderr_tail
        text = f"MCP server {client_name!r}: {message}" if client_name else message
        if stderr_tail:
            text += f"\n--- last stderr output of {client_name or 'the server'} ---\n{stderr_tail}"
        super().__init__(text)


class MCPRemoteError(MCPClientError):
    """The server answered with a JSON-RPC error object.

    Request handlers (`on_request`) may raise it too: its code, message and data become the reply.
    """

    def __init__(self, code: int, message: str, data: Any = None, *, client_name: str = "") -> None:
        self.code = code
        self.message = message
        self.data = data
        super().__init__(f"error {code}: {message}", client_name=client_name)


class MCPTimeoutError(MCPClientError, TimeoutError):
    """No response arrived in time; the server was sent notifications/cancelled for the request."""

    def __init__(self, method: str, timeout: float, *, client_name: str = "", stderr_tail: str = "") -> None:
        self.method = method
        self.timeout = timeout
        super().__init__(
            f"{method!r} got no response within {timeout:g} s; the request was cancelled. "
            "The server may be overloaded or stuck; retry with a longer timeout or restart it.",
            client_name=client_name,
            stderr_tail=stderr_tail,
        )


class MCPProcessExitedError(MCPClientError):
    """The server process ended (its stdout closed); no request to it can complete."""

    def __init__(self, exit_code: int | None, *, client_name: str = "", stderr_tail: str = "") -> None:
        self.exit_code = exit_code
        how = "closed its output" if exit_code is None else f"exited with code {exit_code}"
        super().__init__(
            f"the server process {how}, so the request cannot complete. "
            "Restart the server; its stderr (below, if any) usually says why it stopped.",
            client_name=client_name,
            stderr_tail=stderr_tail,
        )


class MCPConnectionError(MCPClientError):
    """The connection to a remote server failed or ended; no request to it can complete."""

    def __init__(self, failure: str, *, client_name: str = "") -> None:
        self.failure = failure
        super().__init__(f"{failure} The request cannot complete.", client_name=client_name)


class MCPClientClosedError(MCPClientError):
    """The client was closed by its owner while the request was pending, or before it was sent."""


class MCPRequestCancelledError(MCPClientError):
    """The request was cancelled through `MCPClient.cancel()`."""


class MCPProtocolError(MCPClientError):
    """The server broke the protocol: unsupported version, malformed result, endless pagination."""

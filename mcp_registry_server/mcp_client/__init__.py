"""Our own small JSON-RPC 2.0 MCP client over a child process's stdio or a remote server's HTTP.

Layers, lowest first: `transport` moves newline-delimited JSON objects through the process's pipes
and stops the process; `http_transport` moves them through the MCP SDK's HTTP clients (streamable
HTTP, SSE) to a remote server; `jsonrpc` pipelines requests, responses and notifications over one
transport (with `pending` for a request awaiting its response, and `incoming` for what the
server sends unasked); `client` adds MCP's methods (the protocol era: discover or initialize,
listings, tools); `manager` runs many clients side by side, one task each. `wire` encodes and
decodes lines; errors live in `errors`.
"""

from .client import MCPClient
from .errors import (
    MCPClientClosedError,
    MCPClientError,
    MCPConnectionError,
    MCPProcessExitedError,
    MCPProtocolError,
    MCPRemoteError,
    MCPRequestCancelledError,
    MCPTimeoutError,
)
from .http_transport import HTTPTransport, RemoteKind, display_url
from .jsonrpc import JSONRPCSession, NotificationHandler, ProgressHandler, RequestHandler
from .manager import ClientManager, ConnectOptions, ProcessSource
from .transport import ShutdownTimeouts, StdioTransport, TransportClosedError
from .wire import RawJSON

__all__ = [
    "ClientManager",
    "ConnectOptions",
    "HTTPTransport",
    "JSONRPCSession",
    "MCPClient",
    "MCPClientClosedError",
    "MCPClientError",
    "MCPConnectionError",
    "MCPProcessExitedError",
    "MCPProtocolError",
    "MCPRemoteError",
    "MCPRequestCancelledError",
    "MCPTimeoutError",
    "NotificationHandler",
    "ProcessSource",
    "ProgressHandler",
    "RawJSON",
    "RemoteKind",
    "RequestHandler",
    "ShutdownTimeouts",
    "StdioTransport",
    "TransportClosedError",
    "display_url",
]

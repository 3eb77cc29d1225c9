"""JSON-RPC messages to a remote MCP server through the MCP SDK's HTTP clients: the layer below
`JSONRPCSession` for a URL, as `StdioTransport` is for a child process.

The SDK's clients (`streamable_http_client`, `sse_client`) own the HTTP side: the session id
(Mcp-Session-Id, and the DELETE that ends it), SSE streams, resumption, same-origin redirects.
They move `SessionMessage`s through memory streams; `HTTPTransport` turns those into the plain
dicts the session sends and receives, so timeouts, cancellation, progress and server requests
work as they do over stdio.

Contract:
- `run()` must run in a task for the transport's whole life (the session starts it): the SDK
  client is opened and closed there, so its task group lives in one task. `send()` waits for
  the connection, up to its deadline.
- Every request carries the fixed `headers` (the entry's credentials; never logged) and the
  headers of the MCP HTTP binding: `MCP-Protocol-Version` (negotiated by `initialize`, or the
  version in a 2026-07-28 request's `_meta`) and, for 2026-07-28, `Mcp-Method` and `Mcp-Name`.
- Sizes: a JSON response or SSE event over `max_message_bytes` fails the request it answers
  with a message saying so (the connection stays usable: HTTP framing cannot be lost). The
  legacy SSE client caps each event at 1 MiB by itself.
- A failure that leaves the connection unusable ends it: no connection, TLS, HTTP 401/403, a
  404 for `initialize` or for a known session, an answer that is not MCP, the server closing
  the stream. `failure` then says what happened, naming `display_url` (the URL without
  credentials, query or fragment); `receive()` ends and `send()` raises `TransportClosedError`.
  A 401 with `WWW-Authenticate: Bearer` says that OAuth is needed.
- `aclose()` closes the SDK client (for streamable HTTP it DELETEs the session) and waits for
  `run()` to finish, bounded and shielded; safe to call more than once.
"""

from __future__ import annotations

import json
import logging
import math
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Literal

import anyio
import httpx2
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.inbound import (
    MCP_METHOD_HEADER,
    MCP_NAME_HEADER,
    MCP_PROTOCOL_VERSION_HEADER,
    NAME_BEARING_METHODS,
    encode_header_value,
)
from mcp.shared.message import ClientMessageMetadata, SessionMessage
from mcp_types import PROTOCOL_VERSION_META_KEY, jsonrpc_message_adapter
from pydantic import ValidationError

from mcp_registry_server.urls import display_url

from .transport import DEFAULT_MAX_MESSAGE_BYTES, TransportClosedError

__all__ = ["HTTPTransport", "RemoteKind", "display_url"]

logger = logging.getLogger(__name__)
# httpx2 logs every request's full URL (its query too) at INFO, the level `serve` logs at: a line per
# tool call, and the URL may carry what status and logs show only without. Warnings still come through.
if logging.getLogger("httpx2").level == logging.NOTSET:
    logging.getLogger("httpx2").setLevel(logging.WARNING)

RemoteKind = Literal["streamable-http", "sse"]

# Connecting and writing may take this long; reading is unbounded (a response or the server's
# event stream may stay open for as long as a call runs; the session's deadlines bound calls).
CONNECT_TIMEOUT = 30.0
# How long closing may take, the DELETE of the session included.
CLOSE_TIMEOUT = 5.0
_SESSION_HEADER = "mcp-session-id"


class _MessageTooLarge(httpx2.StreamError):
    """A response body over the limit; the SDK answers the request it belongs to with this message."""


class _ConnectionUnusable(Exception):
    """Raised inside the SDK client when an answer shows the connection cannot work; `failure` says why."""


class HTTPTransport:
    """JSON objects to and from one remote MCP server. See the module docstring."""

    def __init__(
        self,
        url: str,
        *,
        kind: RemoteKind = "streamable-http",
        headers: Mapping[str, str] | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        http_transport: httpx2.AsyncBaseTransport | None = None,
        shown_url: str | None = None,
    ) -> None:
        """`http_transport` replaces the network under the checks (tests pass an `httpx2.MockTransport`);
        `shown_url` is what failures name (default: `url` without credentials, query or fragment)."""
        self.url = url
        self._http_transport = http_transport
        self.display_url = shown_url or display_url(url)
        self.kind: RemoteKind = kind
        self._headers = dict(headers or {})
        self._max_message_bytes = max_message_bytes
        self._write: Any = None
        self._ready = anyio.Event()
        self._close_requested = anyio.Event()
        self._done = anyio.Event()
        self._inbox_in, self._inbox_out = anyio.create_memory_object_stream[dict[str, Any]](16)
        self._eof = False
        self._started = False
        self._closing = False
        self._protocol_version: str | None = None
        self._initialize_ids: set[Any] = set()
        self._last_network_error: str | None = None
        self.failure: str | None = None
        """Why the connection ended, naming the URL; None while it works or after our own close."""
        self.garbage_lines = 0
        """Messages from the server that could not be read and were skipped."""
        self.raw_lines: Callable[[bytes], dict[str, Any] | None] | None = None
        """Unused: there are no lines to keep as bytes (`StdioTransport.raw_lines`)."""

    def __repr__(self) -> str:  # never the headers or the full URL: they may hold credentials
        return f"HTTPTransport({self.display_url!r}, kind={self.kind!r})"

    # --- state, as StdioTransport offers it --------------------------------------------------

    @property
    def pid(self) -> None:
        return None

    @property
    def returncode(self) -> None:
        return None

    @property
    def at_eof(self) -> bool:
        return self._eof

    def stderr_tail(self, max_chars: int = 4000) -> str:
        return ""

    async def wait_exit_settled(self) -> None:
        """Nothing to wait for: `failure` is set before `receive()` ends."""

    # --- the connection ----------------------------------------------------------------------

    async def run(self) -> None:
        """Opens the SDK client, hands its messages to `receive()`, and closes it on `aclose()`."""
        self._started = True
        if self._close_requested.is_set():
            return self._finish()
        try:
            async with self._open() as (read_stream, write_stream):
                self._write = write_stream
                self._ready.set()
                async with anyio.create_task_group() as pump:
                    pump.start_soon(self._pump, read_stream, pump.cancel_scope)
                    await self._close_requested.wait()
                    pump.cancel_scope.cancel()
        except Exception as error:
            if not self._closing:
                self._fail(self._describe(error))
        finally:
            self._finish()

    def _finish(self) -> None:
        if not self._closing and self.failure is None:
            self._fail(
                self._last_network_error
                or f"{self.display_url} closed the connection (the server stopped, or dropped the session)"
            )
        self._eof = True
        self._inbox_in.close()
        self._ready.set()
        self._done.set()

    def _open(self) -> AbstractAsyncContextManager[tuple[Any, Any]]:
        if self.kind == "sse":
            return sse_client(self.url, timeout=CONNECT_TIMEOUT, httpx_client_factory=self._http_client)
        return self._streamable()

    @asynccontextmanager
    async def _streamable(self) -> AsyncIterator[tuple[Any, Any]]:
        async with (
            self._http_client() as client,
            streamable_http_client(self.url, http_client=client, max_sse_event_size=self._max_message_bytes) as streams,
        ):
            yield streams

    def _http_client(
        self, headers: dict[str, str] | None = None, timeout: httpx2.Timeout | None = None, auth: Any = None
    ) -> httpx2.AsyncClient:
        """The client the SDK uses: our headers, our timeouts, every answer checked (`_ResponseGuard`)."""
        return httpx2.AsyncClient(
            headers=self._headers,
            timeout=httpx2.Timeout(CONNECT_TIMEOUT, read=None),
            transport=_ResponseGuard(self._http_transport or httpx2.AsyncHTTPTransport(), self),
        )

    async def _pump(self, read_stream: Any, scope: anyio.CancelScope) -> None:
        async for item in read_stream:
            if isinstance(item, Exception):
                self.garbage_lines += 1
                logger.warning("%s sent a message that could not be read: %.200s", self.display_url, item)
                continue
            message = item.message.model_dump(by_alias=True, mode="json", exclude_unset=True)
            self._note_version(message)
            await self._inbox_in.send(message)
        # The SDK closed its stream: the connection ended (the SDK's failure, if any, follows).
        if not self._closing and self.failure is None:
            self._fail(
                self._last_network_error
                or f"{self.display_url} closed the connection (the server stopped, or dropped the session)"
            )
        scope.cancel()

    def _fail(self, reason: str) -> None:
        if self.failure is None:
            self.failure = reason
            logger.warning("remote MCP server: %s", reason)

    # --- messages ----------------------------------------------------------------------------

    async def receive(self) -> dict[str, Any]:
        """The next message from the server; `anyio.EndOfStream` once the connection has ended."""
        try:
            return await self._inbox_out.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise anyio.EndOfStream from None

    async def send(self, message: dict[str, Any], *, deadline: float = math.inf) -> None:
        """Hands one message to the SDK client; `TransportClosedError` once the connection ended,
        `TimeoutError` if it was not taken by `deadline` (an `anyio.current_time()`)."""
        with anyio.move_on_after(deadline - anyio.current_time()) as scope:
            await self._ready.wait()
            if self._eof or self._write is None:
                raise TransportClosedError(self.failure or f"the connection to {self.display_url} is closed")
            try:
                parsed = jsonrpc_message_adapter.validate_python(message)
            except ValidationError as error:
                logger.error("not sending a malformed message to %s: %s", self.display_url, error)
                return
            outgoing = SessionMessage(parsed, metadata=ClientMessageMetadata(headers=self._binding_headers(message)))
            try:
                await self._write.send(outgoing)
            except (anyio.ClosedResourceError, anyio.BrokenResourceError) as error:
                self._fail(self._last_network_error or f"the connection to {self.display_url} ended")
                raise TransportClosedError(self.failure) from error
        if scope.cancelled_caught:
            raise TimeoutError(f"the connection to {self.display_url} did not take the message in time")

    def _binding_headers(self, message: dict[str, Any]) -> dict[str, str] | None:
        """The MCP HTTP binding's per-message headers (`MCP-Protocol-Version`, and 2026-07-28's)."""
        method = message.get("method")
        params = message.get("params")
        meta = params.get("_meta") if isinstance(params, dict) else None
        version = meta.get(PROTOCOL_VERSION_META_KEY) if isinstance(meta, dict) else None
        if isinstance(method, str) and isinstance(version, str):
            # A 2026-07-28 request names its version itself; the method and name go in headers too.
            headers = {MCP_PROTOCOL_VERSION_HEADER: version, MCP_METHOD_HEADER: method}
            name_key = NAME_BEARING_METHODS.get(method)
            if name_key is not None and isinstance(params, dict) and isinstance(name := params.get(name_key), str):
                headers[MCP_NAME_HEADER] = encode_header_value(name)
            if method != "server/discover":
                self._protocol_version = version
            return headers
        if method == "initialize" and "id" in message:
            self._initialize_ids.add(message["id"])
            return None  # the negotiation itself carries no version header
        return {MCP_PROTOCOL_VERSION_HEADER: self._protocol_version} if self._protocol_version else None

    def _note_version(self, message: dict[str, Any]) -> None:
        """Keeps the version an `initialize` result settled on, for the headers of what follows."""
        if self._initialize_ids and message.get("id") in self._initialize_ids:
            self._initialize_ids.discard(message.get("id"))
            result = message.get("result")
            if isinstance(result, dict) and isinstance(version := result.get("protocolVersion"), str):
                self._protocol_version = version

    # --- shutdown ----------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Closes the SDK client (ending the session) and waits for `run()`; bounded, shielded."""
        if self._closing:
            return
        self._closing = True
        with anyio.CancelScope(shield=True):
            self._close_requested.set()
            if self._started:
                with anyio.move_on_after(CLOSE_TIMEOUT):
                    await self._done.wait()
            self._eof = True
            self._inbox_in.close()

    # --- what went wrong, in words -----------------------------------------------------------

    def _describe(self, error: BaseException) -> str:
        """What `error` (raised by the SDK client, maybe in a group) means for the user."""
        leaf = _first_leaf(error)
        if self.failure is not None:
            return self.failure
        if isinstance(leaf, _ConnectionUnusable):
            return str(leaf)
        if isinstance(leaf, httpx2.HTTPStatusError):
            return self._status_problem(leaf.response, always=True) or f"{self.display_url} refused the connection"
        if isinstance(leaf, httpx2.SSEError):
            return (
                f"{self.display_url} did not answer with an event stream ({leaf}), so it is not an MCP SSE "
                "endpoint: check the entry's url (SSE servers often end in /sse) and its transport."
            )
        if isinstance(leaf, httpx2.TransportError):
            return self._network_problem(leaf)
        return f"the connection to {self.display_url} failed: {type(leaf).__name__}: {leaf}"

    def _network_problem(self, error: httpx2.TransportError) -> str:
        where = self.display_url
        cause: BaseException | None = error
        while cause is not None:
            if isinstance(cause, ssl.SSLError):
                detail = getattr(cause, "verify_message", None) or getattr(cause, "reason", None) or cause
                return (
                    f"TLS with {where} failed ({detail}). If the server's certificate comes from a private CA, "
                    "point SSL_CERT_FILE at a bundle that holds it when starting the registry."
                )
            cause = cause.__cause__ or cause.__context__
        if isinstance(error, httpx2.ConnectTimeout):
            return f"could not connect to {where} within {CONNECT_TIMEOUT:g} s; check the URL and the network."
        if isinstance(error, httpx2.ConnectError):
            return f"could not connect to {where} ({error or type(error).__name__}); check the URL and that the server runs."
        return f"the connection to {where} broke ({type(error).__name__}: {error})."

    def _status_problem(self, response: httpx2.Response, *, always: bool = False) -> str | None:
        """Why this HTTP status means the connection cannot work, or None when the SDK copes with it."""
        status, where = response.status_code, self.display_url
        request = response.request
        if self.kind != "sse" and request.method != "POST" and not always:
            return None  # the standalone GET stream and the DELETE: the SDK copes with their refusals
        if status == 401:
            challenge = response.headers.get("www-authenticate", "")
            if challenge.strip().lower().startswith("bearer"):
                return (
                    f"{where} answered HTTP 401 and asks for an OAuth bearer token (WWW-Authenticate: Bearer). "
                    "The registry does not handle OAuth sign-in yet; if the entry declares a token secret or an "
                    "Authorization header, set that secret with registry_config_set and add it again."
                )
            return (
                f"{where} answered HTTP 401 Unauthorized: the credentials sent (the entry's headers, filled from "
                "its secrets) are missing or refused. Check the secrets with registry_info."
            )
        if status == 403:
            return f"{where} answered HTTP 403 Forbidden: the credentials sent are not allowed to use this server."
        method = _jsonrpc_method(request)
        if always or self.kind == "sse":
            # Legacy SSE: the GET opens the event stream and each POST only delivers a message, so
            # any error status means the connection cannot carry the session.
            if status == 404:
                return (
                    f"{where} answered HTTP 404: there is no MCP endpoint at this URL. Check the entry's url "
                    "(SSE servers often end in /sse, streamable HTTP servers in /mcp) and its transport."
                )
            if status >= 400:
                return f"{where} answered HTTP {status} {response.reason_phrase} to {method or request.method}."
            return None
        if method == "server/discover":
            return None  # a refused probe only means an older server
        if status == 404:
            if _SESSION_HEADER in request.headers:
                return (
                    f"{where} answered HTTP 404 for the session: the server has forgotten it (it probably restarted)."
                )
            if method == "initialize":
                return (
                    f"{where} answered HTTP 404: there is no MCP endpoint at this URL. Check the entry's url "
                    "(streamable HTTP servers often end in /mcp, SSE servers in /sse) and its transport."
                )
            return None
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if status >= 400 and content_type != "application/json":
            return f"{where} answered HTTP {status} {response.reason_phrase} to {method or request.method}."
        if 200 <= status < 300 and status != 202 and _is_request(request):
            if content_type not in ("application/json", "text/event-stream"):
                return (
                    f"{where} answered {method} with {content_type or 'no content type'}, not JSON or an event "
                    "stream, so it is not an MCP server: check the entry's url and transport."
                )
        return None


class _ResponseGuard(httpx2.AsyncBaseTransport):
    """Checks each HTTP answer before the SDK sees it: ends the connection on a fatal one (`failure`),
    remembers network errors, and bounds JSON bodies to `max_message_bytes`."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, owner: HTTPTransport) -> None:
        self._inner = inner
        self._owner = owner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        owner = self._owner
        try:
            response = await self._inner.handle_async_request(request)
        except httpx2.TransportError as error:
            owner._last_network_error = owner._network_problem(error)
            raise
        response.request = request
        if (problem := owner._status_problem(response)) is not None:
            await response.aclose()
            owner._fail(problem)
            raise _ConnectionUnusable(problem)
        if response.headers.get("content-type", "").lower().startswith("text/event-stream"):
            return response  # each event is bounded by the SDK (max_sse_event_size)
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            stream=_BoundedStream(response.stream, owner._max_message_bytes),
            extensions=response.extensions,
            request=request,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


class _BoundedStream(httpx2.AsyncByteStream):
    def __init__(self, inner: Any, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        total = 0
        async for chunk in self._inner:
            total += len(chunk)
            if total > self._limit:
                raise _MessageTooLarge(
                    f"the server sent a message larger than {self._limit} bytes (MCP_REGISTRY_MAX_MESSAGE_BYTES), "
                    "so the registry stopped reading it"
                )
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def _jsonrpc_method(request: httpx2.Request) -> str | None:
    body = _jsonrpc_body(request)
    method = body.get("method") if body is not None else None
    return method if isinstance(method, str) else None


def _is_request(request: httpx2.Request) -> bool:
    body = _jsonrpc_body(request)
    return body is not None and "id" in body and "method" in body


def _jsonrpc_body(request: httpx2.Request) -> dict[str, Any] | None:
    try:
        body = json.loads(request.content) if request.method == "POST" else None
    except (httpx2.RequestNotRead, ValueError):
        return None
    return body if isinstance(body, dict) else None


def _first_leaf(error: BaseException) -> BaseException:
    """The first exception in a (nested) exception group, or `error` itself."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error

"""`mcp_client.http_transport`: `MCPClient` over the SDK's streamable HTTP client, against a scripted
HTTP server (an `httpx2.MockTransport`, no network): the JSON-RPC layer works unchanged (requests,
server requests relayed, notifications), the MCP HTTP headers and the entry's own go out, the
session is DELETEd on close, and each way a connection cannot work ends it with a clear reason
naming the URL without its credentials. The e2e version is tests/e2e/test_remote_servers.py."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import pytest

from mcp_registry_server.mcp_client import (
    HTTPTransport,
    MCPClient,
    MCPConnectionError,
    MCPRemoteError,
    TransportClosedError,
    display_url,
)

URL = "https://user:pw@mcp.example.test/mcp?token=abc#frag"
SHOWN = "https://mcp.example.test/mcp"
CLIENT_INFO = {"name": "test", "version": "1"}
SESSION = "session-1"


def result(request_id: Any, value: dict[str, Any], **headers: str) -> httpx2.Response:
    return httpx2.Response(200, json={"jsonrpc": "2.0", "id": request_id, "result": value}, headers=headers)


class ScriptedServer:
    """A small streamable HTTP MCP server: `handlers[method](body)` answers; every request is kept."""

    def __init__(self, **handlers: Callable[[dict[str, Any]], httpx2.Response]) -> None:
        self.requests: list[httpx2.Request] = []
        self.bodies: list[dict[str, Any]] = []
        self.handlers = handlers

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if request.method == "GET":
            return httpx2.Response(405)  # no standalone event stream
        if request.method == "DELETE":
            return httpx2.Response(200)
        body = json.loads(request.content)
        self.bodies.append(body)
        method = body.get("method")
        if method in self.handlers:
            return self.handlers[method](body)
        if method == "server/discover":
            return httpx2.Response(
                400, json={"jsonrpc": "2.0", "id": body["id"], "error": {"code": -32601, "message": "unknown"}}
            )
        if method == "initialize":
            answer = {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}}, "serverInfo": {"name": "s"}}
            return result(body["id"], answer, **{"mcp-session-id": SESSION})
        if "id" not in body or method is None:
            return httpx2.Response(202)  # a notification or our reply to the server's request
        return result(body["id"], {"echo": method})

    def sent(self, method: str) -> httpx2.Request:
        return next(r for r, b in zip(self.posts(), self.bodies, strict=True) if b.get("method") == method)

    def posts(self) -> list[httpx2.Request]:
        return [r for r in self.requests if r.method == "POST"]


def transport(server: Callable[[httpx2.Request], Any], url: str = URL, **options: Any) -> HTTPTransport:
    return HTTPTransport(
        url, headers={"Authorization": "Bearer tok-123"}, http_transport=httpx2.MockTransport(server), **options
    )


async def test_the_session_works_over_http_with_the_bindings_headers_and_ends_with_a_delete() -> None:
    server = ScriptedServer()
    with anyio.fail_after(10):
        # Without user info in the URL: httpx would send that as Basic auth instead of our header.
        remote = transport(server, url="https://mcp.example.test/mcp?token=abc")
        async with MCPClient.connect(remote, name="far", default_timeout=5) as client:
            initialized = await client.initialize(CLIENT_INFO, {})
            assert initialized["protocolVersion"] == "2025-11-25" and not client.is_modern
            assert await client.call_tool("echo", {"x": 1}) == {"echo": "tools/call"}
            assert client.pid is None and client.is_alive
    initialize, listed = server.sent("initialize"), server.sent("tools/call")
    assert "mcp-protocol-version" not in initialize.headers  # the negotiation carries none
    assert listed.headers["mcp-protocol-version"] == "2025-11-25"
    assert listed.headers["mcp-session-id"] == SESSION
    assert {r.headers["authorization"] for r in server.requests} == {"Bearer tok-123"}
    assert server.sent("notifications/initialized").headers["mcp-protocol-version"] == "2025-11-25"
    deleted = [r for r in server.requests if r.method == "DELETE"]
    assert len(deleted) == 1 and deleted[0].headers["mcp-session-id"] == SESSION


async def test_a_server_request_in_an_event_stream_is_answered_through_on_request() -> None:
    def call(body: dict[str, Any]) -> httpx2.Response:
        ask = {"jsonrpc": "2.0", "id": "s1", "method": "sampling/createMessage", "params": {"messages": []}}
        done = {"jsonrpc": "2.0", "id": body["id"], "result": {"content": [{"type": "text", "text": "ok"}]}}
        events = f"event: message\ndata: {json.dumps(ask)}\n\nevent: message\ndata: {json.dumps(done)}\n\n"
        return httpx2.Response(200, content=events.encode(), headers={"content-type": "text/event-stream"})

    asked: list[tuple[str, Any]] = []

    async def on_request(method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        asked.append((method, params))
        return {"role": "assistant", "content": {"type": "text", "text": "sampled"}, "model": "m"}

    server = ScriptedServer(**{"tools/call": call})
    with anyio.fail_after(10):
        async with MCPClient.connect(transport(server), name="far", on_request=on_request) as client:
            await client.initialize(CLIENT_INFO, {"sampling": {}})
            called = await client.call_tool("ask", {})
            await anyio.sleep(0.1)  # the reply POST runs in the SDK's task
    assert called == {"content": [{"type": "text", "text": "ok"}]}
    assert asked == [("sampling/createMessage", {"messages": []})]
    reply = next(body for body in server.bodies if body.get("id") == "s1")
    assert reply["result"]["content"]["text"] == "sampled"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            httpx2.Response(401, headers={"www-authenticate": 'Bearer resource_metadata="x"'}),
            "asks for an OAuth bearer token (WWW-Authenticate: Bearer). The registry does not handle OAuth",
        ),
        (httpx2.Response(401), "answered HTTP 401 Unauthorized: the credentials sent"),
        (httpx2.Response(403), "answered HTTP 403 Forbidden"),
        (httpx2.Response(404, text="no"), "answered HTTP 404: there is no MCP endpoint at this URL"),
        (httpx2.Response(200, html="<html>hi</html>"), "with text/html, not JSON or an event stream"),
        (httpx2.Response(502, text="bad gateway"), "answered HTTP 502 Bad Gateway to initialize"),
    ],
)
async def test_an_answer_that_cannot_be_mcp_ends_the_connection_naming_the_url(
    answer: httpx2.Response, expected: str
) -> None:
    server = ScriptedServer(initialize=lambda body: answer)
    with anyio.fail_after(10):
        async with MCPClient.connect(transport(server), name="far") as client:
            with pytest.raises(MCPConnectionError) as raised:
                await client.initialize(CLIENT_INFO, {})
            assert not client.is_alive
            assert client.connection_failure is not None and expected in client.connection_failure
            with pytest.raises(MCPConnectionError):
                await client.request("ping")
    assert f"{SHOWN} " in str(raised.value) and expected in str(raised.value)
    assert "pw" not in str(raised.value) and "token=abc" not in str(raised.value)


async def test_a_refused_probe_is_an_older_server_not_a_failure() -> None:
    server = ScriptedServer(**{"server/discover": lambda body: httpx2.Response(404, text="not found")})
    with anyio.fail_after(10):
        async with MCPClient.connect(transport(server), name="far") as client:
            assert (await client.initialize(CLIENT_INFO, {}))["protocolVersion"] == "2025-11-25"
            assert client.connection_failure is None


async def test_a_forgotten_session_ends_the_connection() -> None:
    server = ScriptedServer(**{"tools/call": lambda body: httpx2.Response(404)})
    with anyio.fail_after(10):
        async with MCPClient.connect(transport(server), name="far") as client:
            await client.initialize(CLIENT_INFO, {})
            with pytest.raises(MCPConnectionError, match="HTTP 404 for the session: the server has forgotten it"):
                await client.call_tool("echo", {})


async def test_a_message_over_the_limit_fails_its_request_and_the_connection_goes_on() -> None:
    big = {"text": "x" * 5000}
    server = ScriptedServer(**{"tools/call": lambda body: result(body["id"], big)})
    with anyio.fail_after(10):
        async with MCPClient.connect(transport(server, max_message_bytes=2048), name="far") as client:
            await client.initialize(CLIENT_INFO, {})
            with pytest.raises(MCPRemoteError, match=r"larger than 2048 bytes \(MCP_REGISTRY_MAX_MESSAGE_BYTES\)"):
                await client.call_tool("big", {})
            assert await client.request("ping") == {"echo": "ping"}


async def test_no_connection_is_named_and_sending_after_it_is_refused() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("[Errno 111] Connection refused", request=request)

    remote = transport(refuse)
    with anyio.fail_after(10):
        async with MCPClient.connect(remote, name="far") as client:
            with pytest.raises(MCPConnectionError, match=f"could not connect to {SHOWN} \\(\\[Errno 111\\]"):
                await client.initialize(CLIENT_INFO, {})
        with pytest.raises(TransportClosedError):
            await remote.send({"jsonrpc": "2.0", "method": "notifications/initialized"})


def test_2026_requests_carry_their_version_method_and_name_in_headers() -> None:
    remote = HTTPTransport(URL)
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}
    call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "caf\u00e9", "_meta": meta}}
    headers = remote._binding_headers(call)
    assert headers is not None
    assert headers["mcp-protocol-version"] == "2026-07-28" and headers["mcp-method"] == "tools/call"
    assert headers["mcp-name"].startswith("=?base64?")  # not plain ASCII, so encoded
    reply = remote._binding_headers({"jsonrpc": "2.0", "id": "s1", "result": {}})
    assert reply == {"mcp-protocol-version": "2026-07-28"}


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:secret@host.example:8443/mcp?key=1#x", "https://host.example:8443/mcp"),
        ("http://[::1]:9000/sse", "http://[::1]:9000/sse"),
        ("http://127.0.0.1/mcp", "http://127.0.0.1/mcp"),
    ],
)
def test_the_url_is_shown_without_credentials_query_or_fragment(url: str, shown: str) -> None:
    assert display_url(url) == shown


def test_the_transport_never_shows_its_headers() -> None:
    remote = HTTPTransport(URL, headers={"Authorization": "Bearer tok-123"})
    assert "tok-123" not in repr(remote) and "pw" not in repr(remote)


async def test_a_tls_failure_says_so_and_what_to_do() -> None:
    def untrusted(request: httpx2.Request) -> httpx2.Response:
        cause = ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed certificate")
        raise httpx2.ConnectError("TLS handshake failed", request=request) from cause

    with anyio.fail_after(10):
        async with MCPClient.connect(transport(untrusted), name="far") as client:
            with pytest.raises(MCPConnectionError) as raised:
                await client.initialize(CLIENT_INFO, {})
    assert f"TLS with {SHOWN} failed" in str(raised.value)
    assert "self-signed certificate" in str(raised.value) and "SSL_CERT_FILE" in str(raised.value)

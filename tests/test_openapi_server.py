"""The OpenAPI server script's credentials on real httpx2 requests (a mock transport stands in for the API),
its runtime wiring (`runtime_entry`, `missing_document`), and the `[openapi]` entry model.

FastMCP itself runs only in the runtime image; tests/e2e/test_openapi.py serves through it."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import ValidationError

from mcp_registry_server.catalog.entry import CatalogEntry
from mcp_registry_server.openapi_server import missing_document, runtime_entry
from mcp_registry_server.openapi_server.server import _client, _client_credentials_auth

BASE = "https://api.example.com/v1"


def entry_with(**openapi: Any) -> dict[str, Any]:
    return {
        "id": "api",
        "name": "API",
        "description": "d",
        "openapi": {"spec": "/c/api.openapi.json", "base_url": BASE, **openapi},
    }


async def send_through(client: httpx2.AsyncClient, seen: list[httpx2.Request], answer: Any = None) -> httpx2.Response:
    def handle(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return answer(request) if answer else httpx2.Response(200, json={})

    # The configured client's headers, params, cookies and auth, on a transport that records the request.
    mocked = httpx2.AsyncClient(
        base_url=client.base_url,
        headers=client.headers,
        params=client.params,
        cookies=client.cookies,
        auth=client.auth,
        transport=httpx2.MockTransport(handle),
    )
    async with mocked:
        return await mocked.get("/things")


@pytest.mark.parametrize(
    ("auth", "check"),
    [
        (
            {"type": "api_key", "location": "header", "name": "X-Key", "secret": "K"},
            lambda r: r.headers["x-key"] == "v",
        ),
        ({"type": "api_key", "location": "query", "name": "key", "secret": "K"}, lambda r: r.url.params["key"] == "v"),
        (
            {"type": "api_key", "location": "cookie", "name": "sid", "secret": "K"},
            lambda r: r.headers["cookie"] == "sid=v",
        ),
        ({"type": "bearer", "secret": "K"}, lambda r: r.headers["authorization"] == "Bearer v"),
        (
            {"type": "basic", "username_secret": "U", "password_secret": "K"},
            lambda r: r.headers["authorization"] == "Basic " + base64.b64encode(b"me:v").decode(),
        ),
    ],
    ids=["header", "query", "cookie", "bearer", "basic"],
)
async def test_credentials_go_where_the_auth_says(
    auth: dict[str, Any], check: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("K", "v")
    monkeypatch.setenv("U", "me")
    seen: list[httpx2.Request] = []
    await send_through(_client({"base_url": BASE, "auth": auth}), seen)
    assert len(seen) == 1 and str(seen[0].url).startswith(f"{BASE}/things") and check(seen[0])


def test_a_missing_secret_stops_the_server_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE", raising=False)
    with pytest.raises(SystemExit, match="the secret NOPE is not set"):
        _client({"base_url": BASE, "auth": {"type": "bearer", "secret": "NOPE"}})


async def test_client_credentials_fetch_a_token_reuse_it_and_fetch_anew_when_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CID", "client-1")
    monkeypatch.setenv("CSECRET", "s3cret")
    auth = _client_credentials_auth(
        httpx2,
        {
            "token_url": "https://auth.example.com/token",
            "scopes": ["read", "write"],
            "client_id_secret": "CID",
            "client_secret_secret": "CSECRET",
        },
    )
    issued: list[str] = []
    valid = {"current": ""}

    def answer(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "auth.example.com":
            assert request.headers["authorization"] == "Basic " + base64.b64encode(b"client-1:s3cret").decode()
            form = dict(item.split("=") for item in request.content.decode().split("&"))
            assert form == {"grant_type": "client_credentials", "scope": "read+write"}
            valid["current"] = f"token-{len(issued) + 1}"
            issued.append(valid["current"])
            return httpx2.Response(200, json={"access_token": valid["current"], "expires_in": 3600})
        ok = request.headers.get("authorization") == f"Bearer {valid['current']}"
        return httpx2.Response(200 if ok else 401, json={})

    seen: list[httpx2.Request] = []
    client = httpx2.AsyncClient(auth=auth, base_url=BASE)
    assert (await send_through(client, seen, answer)).status_code == 200
    assert (await send_through(client, seen, answer)).status_code == 200
    assert issued == ["token-1"]  # fetched once, then reused
    valid["current"] = "revoked-on-the-server"
    assert (await send_through(client, seen, answer)).status_code == 200
    assert issued == ["token-1", "token-2"]
    assert [r.url.host for r in seen].count("auth.example.com") == 2


def test_runtime_entry_names_the_image_script_spec_and_a_config_without_values() -> None:
    entry = CatalogEntry.model_validate(
        entry_with(include_paths=["/a/*"], max_tools=5, auth={"type": "bearer", "secret": "API_TOKEN"})
        | {"secrets": [{"name": "API_TOKEN"}]}
    )
    running = runtime_entry(entry, "localhost/runtime")
    assert running.image == "localhost/runtime"
    assert running.command == ["python3", "/opt/mcp-registry-openapi/server.py"]
    assert running.args[0] == "/opt/mcp-registry-openapi/openapi.json"
    assert json.loads(running.args[1]) == {
        "base_url": BASE,
        "include_paths": ["/a/*"],
        "exclude_paths": [],
        "include_tags": [],
        "max_tools": 5,
        "auth": {"type": "bearer", "secret": "API_TOKEN"},
    }
    plain = CatalogEntry.model_validate({"id": "x", "name": "x", "description": "x", "image": "docker.io/a/b:1"})
    assert runtime_entry(plain, "localhost/runtime") is plain


def test_a_missing_document_is_named_with_the_way_back(tmp_path: Path) -> None:
    spec = tmp_path / "api.openapi.json"
    entry = CatalogEntry.model_validate(entry_with(spec=str(spec)))
    assert missing_document(entry) == (
        f"api's OpenAPI document {spec} is missing, so it cannot start. Import it again: "
        "mcp-registry catalog import openapi SPEC --name api"
    )
    spec.write_text("{}")
    assert missing_document(entry) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"image": "docker.io/a/b:1"}, "names one of image, package, openapi and remote, not openapi and image"),
        ({"openapi": {"spec": "relative.json", "base_url": BASE}}, "must be an absolute host path"),
        ({"openapi": {"spec": "/a:b.json", "base_url": BASE}}, "which would break the mount"),
        ({"openapi": {"spec": "/a.json", "base_url": "ftp://x"}}, "base_url"),
        ({"openapi": {"spec": "/a.json", "base_url": "https://me:pw@api.example.com/v1"}}, "must not carry a user"),
        (
            {"openapi": {"spec": "/a.json", "base_url": BASE, "auth": {"type": "bearer", "secret": "TOKEN"}}},
            "openapi.auth reads the secrets TOKEN, which \\[\\[secrets\\]\\] does not declare",
        ),
        ({"args": ["--x"]}, "drop command and args"),
        (
            {"openapi": {"spec": "/a.json", "base_url": BASE, "auth": {"type": "digest"}}},
            "does not match any of the expected tags",
        ),
    ],
)
def test_bad_openapi_entries_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CatalogEntry.model_validate(entry_with() | change)


def test_referenced_path_items_are_inlined_for_fastmcp() -> None:
    from mcp_registry_server.openapi_server.server import with_path_items_inlined

    item = {"get": {"operationId": "show", "responses": {}}}
    document = {
        "openapi": "3.1.0",
        "paths": {"/p": {"$ref": "#/components/pathItems/P"}},
        "components": {"pathItems": {"P": item}},
    }
    assert with_path_items_inlined(document)["paths"] == {"/p": item}
    assert document["paths"] == {"/p": {"$ref": "#/components/pathItems/P"}}  # the stored document is left as it is


def test_only_a_json_answer_keeps_an_output_schema() -> None:
    from mcp_registry_server.openapi_server.server import answers_json

    assert answers_json({"200": ["application/json; charset=utf-8"], "422": ["application/json"]})
    assert answers_json({"201": ["application/problem+json"]})
    assert not answers_json({"200": ["text/plain"], "422": ["application/json"]})  # the error's JSON does not count
    assert not answers_json({"204": []})

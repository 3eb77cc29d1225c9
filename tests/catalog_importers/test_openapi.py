"""OpenAPI import: real public documents (3.0, 3.1; Swagger 2.0 in tests/test_cli_openapi.py), filters,
auth from security schemes, tool names, and bad documents named by their place in the document."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mcp_registry_server.catalog.importers.openapi import (
    OpenAPIImportError,
    OpenAPIImportOptions,
    import_openapi,
)
from mcp_registry_server.openapi_server.server import annotation_hints, select_operations, tool_name

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openapi"
PETSTORE_TOOLS = ["listPets", "createPets", "showPetById"]


def load(name: str) -> dict[str, Any]:
    # As the CLI reads YAML: numeric status codes become strings.
    document: dict[str, Any] = json.loads(json.dumps(yaml.safe_load((FIXTURES / name).read_text()), default=str))
    return document


def options(**fields: Any) -> OpenAPIImportOptions:
    return OpenAPIImportOptions(
        **{"entry_id": "petstore", "spec_path": "/catalog/petstore.openapi.json", "imported_at": "2026-12-02T00:00:00Z"}
        | {"source_file": "/specs/petstore.yaml"}
        | fields
    )


def minimal(**paths: Any) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "T"},
        "servers": [{"url": "https://api.example.com/v2"}],
        "paths": paths,
    }


@pytest.mark.parametrize("name", ["petstore-3.0.yaml", "petstore-3.1.yaml"])
def test_the_petstore_becomes_an_entry_with_one_tool_per_operation(name: str) -> None:
    imported = import_openapi(load(name), options())
    entry = imported.entry
    assert [tool.name for tool in entry.tools] == PETSTORE_TOOLS
    assert [tool.description for tool in entry.tools] == ["List all pets", "Create a pet", "Info for a specific pet"]
    assert entry.tools[0].argument_names == ["limit"] and entry.tools[2].argument_names == ["petId"]
    assert entry.name == "Swagger Petstore" and entry.image == "" and entry.not_runnable_reason() is None
    assert entry.openapi is not None and entry.openapi.base_url == "http://petstore.swagger.io/v1"
    assert entry.openapi.spec == "/catalog/petstore.openapi.json" and entry.openapi.auth is None
    assert entry.allow_hosts == ["petstore.swagger.io:80"] and entry.network_access.startswith("only petstore")
    assert entry.imported is not None and entry.imported.format == "openapi"
    assert imported.notes == []


def test_filters_choose_the_operations_and_max_tools_leaves_the_rest_out() -> None:
    document = load("petstore-3.0.yaml")
    assert [t.name for t in import_openapi(document, options(include_paths=["/pets/*"])).entry.tools] == ["showPetById"]
    assert [t.name for t in import_openapi(document, options(exclude_paths=["/pets/*"])).entry.tools] == PETSTORE_TOOLS[
        :2
    ]
    assert [t.name for t in import_openapi(document, options(include_tags=["pets"])).entry.tools] == PETSTORE_TOOLS
    limited = import_openapi(document, options(max_tools=1, base_url="https://pets.example.com:8443/api/"))
    assert [tool.name for tool in limited.entry.tools] == ["listPets"]
    assert limited.notes == [
        "left out: POST /pets (#/paths/~1pets/post): over max_tools = 1",
        "left out: GET /pets/{petId} (#/paths/~1pets~1{petId}/get): over max_tools = 1",
    ]
    assert limited.entry.openapi is not None and limited.entry.openapi.max_tools == 1
    assert limited.entry.openapi.base_url == "https://pets.example.com:8443/api"
    assert limited.entry.allow_hosts == ["pets.example.com:8443"]
    with pytest.raises(OpenAPIImportError, match="No operation of the document is left"):
        import_openapi(document, options(include_tags=["nope"]))


def test_tool_names_follow_mcp_rules() -> None:
    assert tool_name("list pets / all!", "get", "/pets") == "list_pets_all"
    assert tool_name("", "get", "/pets/{petId}/toys") == "get_pets_petId_toys"
    assert tool_name("a" * 80, "get", "/") == "a" * 64
    assert tool_name("", "delete", "/") == "delete"
    document = minimal(
        **{
            "/a": {
                "get": {"operationId": "same id", "responses": {}},
                "post": {"operationId": "same-id!", "responses": {}},
            },
            "/b/{x}": {"put": {"parameters": [{"name": "x", "in": "path", "required": True}], "responses": {}}},
        }
    )
    assert [op.name for op in select_operations(document).operations] == ["same_id", "same-id", "put_b_x"]
    document["paths"]["/a"]["post"]["operationId"] = "same.id?"
    document["paths"]["/a"]["get"]["operationId"] = "same.id!"
    assert [op.name for op in select_operations(document).operations] == ["same.id", "same.id_2", "put_b_x"]


def test_annotations_follow_the_method() -> None:
    assert annotation_hints("GET")["readOnlyHint"] is True
    assert annotation_hints("delete") == {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True}
    assert annotation_hints("put")["idempotentHint"] is True and annotation_hints("put")["destructiveHint"] is False
    assert annotation_hints("post") == {"readOnlyHint": False, "destructiveHint": False, "idempotentHint": False}


def with_scheme(scheme: dict[str, Any], servers: list[Any] | None = None) -> dict[str, Any]:
    document = minimal(**{"/x": {"get": {"operationId": "x", "responses": {}}}})
    document["components"] = {"securitySchemes": {"main": scheme}}
    if servers is not None:
        document["servers"] = servers
    return document


def test_security_schemes_become_auth_with_secrets_named_after_the_entry() -> None:
    query = import_openapi(with_scheme({"type": "apiKey", "in": "query", "name": "api_key"}), options()).entry
    assert query.openapi is not None and query.openapi.auth is not None
    assert query.openapi.auth.model_dump() == {
        "type": "api_key",
        "location": "query",
        "name": "api_key",
        "secret": "PETSTORE_API_KEY",
    }
    assert [secret.name for secret in query.secrets] == ["PETSTORE_API_KEY"]
    bearer = import_openapi(with_scheme({"type": "http", "scheme": "Bearer"}), options(entry_id="my-api")).entry
    assert bearer.openapi is not None and bearer.openapi.secret_names == ["MY_API_TOKEN"]
    basic = import_openapi(with_scheme({"type": "http", "scheme": "basic"}), options()).entry
    assert basic.openapi is not None and basic.openapi.secret_names == ["PETSTORE_USERNAME", "PETSTORE_PASSWORD"]
    oauth = with_scheme(
        {
            "type": "oauth2",
            "flows": {
                "clientCredentials": {"tokenUrl": "https://auth.example.com/token", "scopes": {"w": "", "r": ""}}
            },
        }
    )
    entry = import_openapi(oauth, options()).entry
    assert entry.openapi is not None and entry.openapi.auth is not None
    assert entry.openapi.auth.model_dump()["scopes"] == ["r", "w"]
    assert entry.allow_hosts == ["api.example.com:443", "auth.example.com:443"]  # the token URL's host too
    assert entry.openapi.secret_names == ["PETSTORE_CLIENT_ID", "PETSTORE_CLIENT_SECRET"]
    unusable = import_openapi(with_scheme({"type": "openIdConnect", "openIdConnectUrl": "https://x"}), options())
    assert unusable.entry.openapi is not None and unusable.entry.openapi.auth is None
    assert unusable.notes == ["security schemes the registry cannot use (left out): main"]
    assert (
        import_openapi(with_scheme({"type": "http", "scheme": "bearer"}), options(with_auth=False)).entry.secrets == []
    )


def test_a_relative_server_url_is_resolved_against_the_url_the_document_came_from() -> None:
    document = with_scheme(
        {"type": "http", "scheme": "bearer"},
        servers=[{"url": "/api/{version}", "variables": {"version": {"default": "v3"}}}],
    )
    entry = import_openapi(
        document, options(source_file="", source_url="https://petstore3.example.com/api/v3/openapi.json")
    ).entry
    assert entry.openapi is not None and entry.openapi.base_url == "https://petstore3.example.com/api/v3"
    with pytest.raises(OpenAPIImportError, match=r"#/servers/0/url: '/api/v3' is relative .* Pass --base-url"):
        import_openapi(document, options())


BROKEN: list[tuple[str, Any, str]] = [
    (
        "unresolvable $ref",
        lambda d: d["paths"]["/pets"]["get"]["responses"]["200"]["content"]["application/json"]["schema"].update(
            {"$ref": "#/components/schemas/Nope"}
        ),
        r"#/paths/~1pets/get/responses/200/content/application~1json/schema: \$ref '#/components/schemas/Nope' "
        r"names nothing in the document",
    ),
    (
        "external $ref",
        lambda d: d["components"]["schemas"]["Pet"].update({"$ref": "common.yaml#/Pet"}),
        r"#/components/schemas/Pet: \$ref 'common.yaml#/Pet' points outside the document; bundle it",
    ),
    (
        "duplicate operationId",
        lambda d: d["paths"]["/pets/{petId}"]["get"].update({"operationId": "listPets"}),
        r"#/paths/~1pets~1\{petId\}/get: operationId 'listPets' is used again \(first at #/paths/~1pets/get\)",
    ),
    ("no servers", lambda d: d.pop("servers"), r"#/servers: the document names no server URL.*--base-url"),
    ("Swagger left unconverted", lambda d: d.update({"openapi": "2.0"}), r"#/openapi: '2.0' is not OpenAPI 3.0 or 3.1"),
    ("no paths", lambda d: d.pop("paths"), r"#/paths: missing or not a mapping"),
]


@pytest.mark.parametrize(("what", "break_it", "message"), BROKEN, ids=[case[0] for case in BROKEN])
def test_bad_documents_are_refused_naming_the_place(what: str, break_it: Any, message: str) -> None:
    document = copy.deepcopy(load("petstore-3.0.yaml"))
    break_it(document)
    with pytest.raises(OpenAPIImportError, match=message):
        import_openapi(document, options())


def unmappable_document() -> dict[str, Any]:
    return minimal(
        **{
            "/upload": {
                "post": {
                    "operationId": "upload",
                    "requestBody": {"content": {"application/octet-stream": {"schema": {"type": "string"}}}},
                    "responses": {},
                }
            },
            "/items/{id}": {"get": {"operationId": "getItem", "responses": {}}},
            "/ok": {
                "post": {
                    "operationId": "ok",
                    "requestBody": {"content": {"application/json": {"schema": {}}}},
                    "responses": {},
                }
            },
        }
    )


def test_strict_refuses_operations_that_cannot_be_mapped_and_says_why() -> None:
    with pytest.raises(OpenAPIImportError) as raised:
        import_openapi(unmappable_document(), options(strict=True))
    assert str(raised.value).splitlines() == [
        "--strict: these operations cannot be mapped to tools:",
        "  POST /upload (#/paths/~1upload/post): its request body is only application/octet-stream; only JSON and "
        "form bodies can be sent",
        "  GET /items/{id} (#/paths/~1items~1{id}/get): its path names id, which no path parameter declares",
        "Leave them out with --exclude-path, or import without --strict to skip them.",
    ]
    # Without --strict they are skipped and said; excluded, --strict passes.
    lenient = import_openapi(unmappable_document(), options())
    assert [tool.name for tool in lenient.entry.tools] == ["ok"]
    assert [note.split(" (")[0] for note in lenient.notes] == [
        "not mapped: POST /upload",
        "not mapped: GET /items/{id}",
    ]
    strict = import_openapi(unmappable_document(), options(strict=True, exclude_paths=["/upload", "/items/*"]))
    assert [tool.name for tool in strict.entry.tools] == ["ok"]

"""Import an OpenAPI document as an openapi entry: a REST API whose operations the registry serves as tools.

Contract: `import_openapi(document, options)` takes a parsed OpenAPI 3.0 or 3.1 document (Swagger 2.0
is converted before, by the caller) and returns an `OpenAPIImport`: the entry, the selection of
operations that become its tools (the same `select_operations` the server runs, so the list shown
is the list served), and notes for the user. It raises `OpenAPIImportError` naming each place in the
document that makes it unusable (an unresolvable `$ref`, a repeated operationId, no server URL and
no base URL), or, with `strict`, each operation that cannot be mapped and why.

How the document maps: `info.title` → `name`, `info.description` (or the title) → `description`,
`servers[0].url` (its variables at their defaults; relative ones against the URL the document came
from) or `base_url` → `openapi.base_url`, whose host:port becomes `allow_hosts` (with the token URL's
for OAuth2). The first security scheme the registry can use (API key in header, query or cookie;
HTTP bearer or basic; OAuth2 client credentials) becomes `openapi.auth`, its values `[[secrets]]`
named `<ID>_API_KEY`, `<ID>_TOKEN`, `<ID>_USERNAME`/`<ID>_PASSWORD`, `<ID>_CLIENT_ID`/`<ID>_CLIENT_SECRET`.
Each selected operation is a known tool (name, description, parameter names) for search.
Importers never touch the network or Podman: the CLI fetches and converts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from mcp_registry_server.catalog.entry import CatalogEntry
from mcp_registry_server.catalog.importers import validated_entry
from mcp_registry_server.openapi_server.server import Selection, resolve, select_operations, spec_problems

__all__ = ["OpenAPIImport", "OpenAPIImportError", "OpenAPIImportOptions", "import_openapi"]

FORMAT = "openapi"


class OpenAPIImportError(ValueError):
    """The document cannot become an entry; the message names the places and what to do."""


@dataclass(frozen=True)
class OpenAPIImportOptions:
    entry_id: str
    spec_path: str  # where the caller stores the document (absolute), mounted read-only at run time
    imported_at: str
    source_file: str = ""
    source_url: str = ""
    base_url: str = ""
    include_paths: list[str] = field(default_factory=list)
    exclude_paths: list[str] = field(default_factory=list)
    include_tags: list[str] = field(default_factory=list)
    max_tools: int | None = None
    strict: bool = False
    with_auth: bool = True


@dataclass(frozen=True)
class OpenAPIImport:
    entry: CatalogEntry
    selection: Selection
    notes: list[str]


def import_openapi(document: dict[str, Any], options: OpenAPIImportOptions) -> OpenAPIImport:
    if problems := spec_problems(document):
        raise OpenAPIImportError(_listed("The OpenAPI document cannot be imported:", problems))
    selection = select_operations(
        document,
        include_paths=options.include_paths,
        exclude_paths=options.exclude_paths,
        include_tags=options.include_tags,
        max_tools=options.max_tools,
    )
    if options.strict and selection.unmappable:
        raise OpenAPIImportError(
            _listed("--strict: these operations cannot be mapped to tools:", selection.unmappable)
            + "\nLeave them out with --exclude-path, or import without --strict to skip them."
        )
    if not selection.operations:
        raise OpenAPIImportError(
            "No operation of the document is left to become a tool"
            + (" (all were filtered out or cannot be mapped)." if _has_operations(document) else ": it has no paths.")
            + " Check --include-path, --exclude-path and the tags."
        )
    base_url = _base_url(document, options)
    notes = [f"not mapped: {reason}" for reason in selection.unmappable]
    notes += [f"left out: {reason}" for reason in selection.left_out]
    auth, secrets, auth_note = _auth(document, options.entry_id) if options.with_auth else (None, [], "")
    if auth_note:
        notes.append(auth_note)
    hosts = [_host_port(base_url)]
    if auth and auth.get("token_url"):
        hosts.append(_host_port(auth["token_url"]))
    info = _mapping(document.get("info"))
    title = str(info.get("title") or options.entry_id).strip()
    openapi: dict[str, Any] = {"spec": options.spec_path, "base_url": base_url}
    for key in ("include_paths", "exclude_paths", "include_tags", "max_tools"):
        if value := getattr(options, key):
            openapi[key] = value
    if auth:
        openapi["auth"] = auth
    data: dict[str, Any] = {
        "id": options.entry_id,
        "name": title,
        "description": " ".join(str(info.get("description") or title).split())[:2000],
        "openapi": openapi,
        "secrets": secrets,
        "allow_hosts": list(dict.fromkeys(hosts)),
        "tags": ["openapi"],
        "tools": [_known_tool(document, operation) for operation in selection.operations],
        "imported": {
            "format": FORMAT,
            "source_file": options.source_file,
            "source_url": options.source_url,
            "imported_at": options.imported_at,
        },
    }
    try:
        entry = validated_entry(data)
    except ValueError as error:
        raise OpenAPIImportError(f"The document cannot be imported: {error}") from None
    return OpenAPIImport(entry=entry, selection=selection, notes=notes)


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _listed(title: str, lines: list[str]) -> str:
    return "\n".join([title, *(f"  {line}" for line in lines)])


def _has_operations(document: dict[str, Any]) -> bool:
    return any(isinstance(item, dict) and item for item in (document.get("paths") or {}).values())


def _base_url(document: dict[str, Any], options: OpenAPIImportOptions) -> str:
    if options.base_url:
        url = options.base_url
    else:
        servers = document.get("servers")
        server = servers[0] if isinstance(servers, list) and servers and isinstance(servers[0], dict) else {}
        url = str(server.get("url") or "")
        if not url:
            raise OpenAPIImportError(
                "#/servers: the document names no server URL, so the registry does not know where the API is. "
                "Pass --base-url https://api.example.com."
            )
        for name, variable in (server.get("variables") or {}).items():
            default = variable.get("default", "") if isinstance(variable, dict) else ""
            url = url.replace("{" + str(name) + "}", str(default))
        if not urlsplit(url).scheme:
            if not options.source_url:
                raise OpenAPIImportError(
                    f"#/servers/0/url: {url!r} is relative and the document was read from a file. "
                    "Pass --base-url with the API's full URL."
                )
            url = urljoin(options.source_url, url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OpenAPIImportError(f"The base URL {url!r} is not an http(s) URL with a host. Pass --base-url.")
    return url.rstrip("/")


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def _secret_prefix(entry_id: str) -> str:
    prefix = re.sub(r"[^A-Z0-9]+", "_", entry_id.upper()).strip("_")
    return prefix if prefix and not prefix[0].isdigit() else f"API_{prefix}"


def _auth(document: dict[str, Any], entry_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]], str]:
    """The first usable security scheme as `openapi.auth`, the secrets it reads, and a note for the user."""
    schemes = _mapping(_mapping(document.get("components")).get("securitySchemes"))
    prefix = _secret_prefix(entry_id)
    skipped = []
    for scheme_name, scheme in schemes.items():
        if isinstance(scheme, dict) and "$ref" in scheme:
            scheme = resolve(document, scheme["$ref"])
        if not isinstance(scheme, dict):
            continue
        kind, http_scheme = scheme.get("type"), str(scheme.get("scheme", "")).lower()
        described = f"from the document's security scheme {scheme_name!r}"
        if kind == "apiKey" and scheme.get("in") in ("header", "query", "cookie") and scheme.get("name"):
            secret = f"{prefix}_API_KEY"
            auth = {"type": "api_key", "location": scheme["in"], "name": scheme["name"], "secret": secret}
            return auth, [_secret(secret, f"API key ({scheme['in']} {scheme['name']}) {described}")], ""
        if kind == "http" and http_scheme == "bearer":
            secret = f"{prefix}_TOKEN"
            return {"type": "bearer", "secret": secret}, [_secret(secret, f"Bearer token {described}")], ""
        if kind == "http" and http_scheme == "basic":
            user, password = f"{prefix}_USERNAME", f"{prefix}_PASSWORD"
            auth = {"type": "basic", "username_secret": user, "password_secret": password}
            return auth, [_secret(user, f"User name {described}"), _secret(password, f"Password {described}")], ""
        flow = (scheme.get("flows") or {}).get("clientCredentials") if kind == "oauth2" else None
        if isinstance(flow, dict) and flow.get("tokenUrl"):
            client_id, client_secret = f"{prefix}_CLIENT_ID", f"{prefix}_CLIENT_SECRET"
            auth = {
                "type": "oauth2_client_credentials",
                "token_url": urljoin(_base_for_token(document), str(flow["tokenUrl"])),
                "scopes": sorted(map(str, flow.get("scopes") or {})),
                "client_id_secret": client_id,
                "client_secret_secret": client_secret,
            }
            secrets = [_secret(client_id, f"OAuth2 client id {described}"), _secret(client_secret, "OAuth2 secret")]
            return auth, secrets, ""
        skipped.append(str(scheme_name))
    note = f"security schemes the registry cannot use (left out): {', '.join(skipped)}" if skipped else ""
    return None, [], note


def _base_for_token(document: dict[str, Any]) -> str:
    servers = document.get("servers")
    return str(servers[0].get("url", "")) if isinstance(servers, list) and servers else ""


def _secret(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "description": description}


def _known_tool(document: dict[str, Any], operation: Any) -> dict[str, Any]:
    """A tool for search: its name, description and argument names (FastMCP builds the full schema)."""
    item = _resolved(document, document["paths"][operation.path])
    spec = _resolved(document, item[operation.method])
    properties: dict[str, Any] = {}
    for parameter in [*(item.get("parameters") or []), *(spec.get("parameters") or [])]:
        parameter = _resolved(document, parameter)
        if isinstance(parameter, dict) and isinstance(parameter.get("name"), str):
            properties[parameter["name"]] = {"description": str(parameter.get("description") or "")}
    body = _resolved(document, spec.get("requestBody") or {})
    for media in (body.get("content") or {}).values():
        schema = _resolved(document, (media or {}).get("schema") or {})
        for name in schema.get("properties") or {}:
            properties.setdefault(str(name), {})
        break
    description = operation.description or operation.summary or f"{operation.method.upper()} {operation.path}"
    return {
        "name": operation.name,
        "description": " ".join(description.split())[:1000],
        "input_schema": {"type": "object", "properties": properties},
    }


def _resolved(document: dict[str, Any], node: Any) -> dict[str, Any]:
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        node = resolve(document, node["$ref"])
    return node if isinstance(node, dict) else {}

"""The registry's OpenAPI MCP server: one REST API's operations as MCP tools over stdio, built with FastMCP.

Runs inside an openapi entry's container as `python3 server.py SPEC CONFIG_JSON`: SPEC is the
entry's stored OpenAPI 3.x document (JSON, mounted read-only) and CONFIG_JSON the entry's
`[openapi]` table without its spec path (base URL, filters, and the *names* of the environment
variables that hold the credentials; never a value). It must stay standalone: at module level it
imports only the standard library, because `catalog import openapi` imports it on the host to list
the same tools (`select_operations`, `spec_problems`); fastmcp and httpx2 are imported to serve.

Contract: one tool per selected operation (`select_operations`), named from its operationId
sanitised to MCP's tool-name rules (`[A-Za-z0-9_.-]`, at most 64 characters) or from method and
path; FastMCP builds the input schema (path, query, header and body parameters, $refs resolved),
the description (description, else summary) and the call. Annotations follow the method: GET and
HEAD read only, DELETE destructive, PUT idempotent. A JSON response with a response schema is
structured content, anything else text; an HTTP error status is a tool error with the status and
the start of the body. Credentials go on the request only (header, query, cookie, basic, or an
OAuth2 client-credentials token fetched at the token URL and fetched again when it expires or is
refused); the request log is kept at WARNING so no URL carrying a query key is written.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import sys
import time
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_TOOL_NAME = 64
_NOT_IN_TOOL_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
_PATH_TEMPLATE = re.compile(r"\{([^}/]+)\}")
# Request bodies FastMCP sends: JSON (of any +json flavour) and forms.
_JSON_MEDIA = re.compile(r"^(application/(.+\+)?json|text/json)$")
_SENDABLE_BODY = re.compile(r"^(application/(.+\+)?json|application/x-www-form-urlencoded|multipart/form-data)$")


@dataclass(frozen=True)
class Operation:
    """One operation of the document and the tool it becomes."""

    method: str  # lower case, as the document's key
    path: str
    name: str
    pointer: str  # JSON pointer of the operation in the document, for messages
    summary: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()


@dataclass
class Selection:
    """The operations that become tools, and those left out with the reason (`pointer: reason`)."""

    operations: list[Operation] = field(default_factory=list)
    unmappable: list[str] = field(default_factory=list)  # what --strict refuses
    left_out: list[str] = field(default_factory=list)  # over max_tools: a choice, not a fault


def pointer(*parts: str) -> str:
    """The JSON pointer (RFC 6901) of `parts`, like `#/paths/~1pets/get`."""
    return "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def tool_name(operation_id: str, method: str, path: str) -> str:
    """The operationId, or `method_path`, made a valid MCP tool name."""
    raw = operation_id or f"{method}_{path}"
    name = _NOT_IN_TOOL_NAME.sub("_", raw).strip("_.-")
    return re.sub(r"_+", "_", name)[:MAX_TOOL_NAME] or method


def resolve(document: dict[str, Any], ref: str) -> Any:
    """The target of a local `$ref` (`#/components/...`); KeyError when it names nothing."""
    if not ref.startswith("#"):
        raise KeyError(ref)
    node: Any = document
    for raw in ref[1:].lstrip("/").split("/") if ref != "#" else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(ref)
    return node


def spec_problems(document: dict[str, Any]) -> list[str]:
    """What makes the document unusable, each naming its place: version, paths, $refs, operationIds."""
    version = document.get("openapi")
    if not isinstance(version, str) or not re.match(r"3\.[01]\.", version + "."):
        return [f"#/openapi: {version!r} is not OpenAPI 3.0 or 3.1"]
    paths = document.get("paths")
    if not isinstance(paths, dict):
        return ["#/paths: missing or not a mapping of paths to operations"]
    problems = [f"{where}: $ref {ref!r} {why}" for where, ref, why in _broken_refs(document, document, "#")]
    seen: dict[str, str] = {}
    for method, path, operation in _operations(document):
        operation_id = operation.get("operationId")
        if not isinstance(operation_id, str):
            continue
        here = pointer("paths", path, method)
        if operation_id in seen:
            problems.append(f"{here}: operationId {operation_id!r} is used again (first at {seen[operation_id]})")
        else:
            seen[operation_id] = here
    return problems


def _broken_refs(document: dict[str, Any], node: Any, where: str) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith("#"):
                found.append((where, ref, "points outside the document; bundle it into one file first"))
            else:
                try:
                    resolve(document, ref)
                except KeyError:
                    found.append((where, ref, "names nothing in the document"))
        for key, value in node.items():
            found += _broken_refs(document, value, f"{where}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _broken_refs(document, value, f"{where}/{index}")
    return found


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in (document.get("paths") or {}).items():
        if isinstance(item, dict) and isinstance(item.get("$ref"), str):
            try:
                item = resolve(document, item["$ref"])
            except KeyError:
                continue  # spec_problems names it
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            if isinstance(item.get(method), dict):
                found.append((method, str(path), item[method]))
    return found


def _unmappable_reason(document: dict[str, Any], path: str, operation: dict[str, Any], shared: list[Any]) -> str:
    body = operation.get("requestBody")
    if isinstance(body, dict) and "$ref" in body:
        body = resolve(document, body["$ref"])
    content = body.get("content") if isinstance(body, dict) else None
    if isinstance(content, dict) and content and not any(_SENDABLE_BODY.match(kind) for kind in content):
        return f"its request body is only {', '.join(sorted(content))}; only JSON and form bodies can be sent"
    declared = set()
    for parameter in [*shared, *(operation.get("parameters") or [])]:
        if isinstance(parameter, dict) and "$ref" in parameter:
            parameter = resolve(document, parameter["$ref"])
        if isinstance(parameter, dict) and parameter.get("in") == "path":
            declared.add(parameter.get("name"))
    if missing := [name for name in _PATH_TEMPLATE.findall(path) if name not in declared]:
        return f"its path names {', '.join(missing)}, which no path parameter declares"
    return ""


def select_operations(
    document: dict[str, Any],
    *,
    include_paths: list[str] | None = None,
    exclude_paths: list[str] | None = None,
    include_tags: list[str] | None = None,
    max_tools: int | None = None,
) -> Selection:
    """The operations that become tools, in document order, with unique names.

    A path is kept when it matches one of `include_paths` (all when empty) and none of
    `exclude_paths` (globs, `*` crossing `/`); an operation when it has one of `include_tags`
    (all when empty) and can be mapped; at most `max_tools` of them.
    """
    selection = Selection()
    used: set[str] = set()
    for method, path, operation in _operations(document):
        if include_paths and not any(fnmatchcase(path, glob) for glob in include_paths):
            continue
        if any(fnmatchcase(path, glob) for glob in exclude_paths or ()):
            continue
        tags = tuple(str(tag) for tag in operation.get("tags") or [])
        if include_tags and not set(tags) & set(include_tags):
            continue
        here = pointer("paths", path, method)
        item = (document.get("paths") or {}).get(path) or {}
        if isinstance(item.get("$ref"), str):
            item = resolve(document, item["$ref"])
        try:
            reason = _unmappable_reason(document, path, operation, list(item.get("parameters") or []))
        except KeyError as error:
            reason = f"$ref {error.args[0]!r} names nothing in the document"
        if reason:
            selection.unmappable.append(f"{method.upper()} {path} ({here}): {reason}")
            continue
        if max_tools is not None and len(selection.operations) >= max_tools:
            selection.left_out.append(f"{method.upper()} {path} ({here}): over max_tools = {max_tools}")
            continue
        name = base = tool_name(str(operation.get("operationId") or ""), method, path)
        counter = 1
        while name in used:  # two ids that sanitise alike
            counter += 1
            name = f"{base[: MAX_TOOL_NAME - len(str(counter)) - 1]}_{counter}"
        used.add(name)
        selection.operations.append(
            Operation(
                method=method,
                path=path,
                name=name,
                pointer=here,
                summary=str(operation.get("summary") or ""),
                description=str(operation.get("description") or ""),
                tags=tags,
            )
        )
    return selection


def with_path_items_inlined(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with each path item that is a `$ref` (3.1's `components/pathItems`) replaced by its target.

    FastMCP reads path items as they stand, so it would serve none of a referenced item's operations.
    """
    paths = document.get("paths")
    if not isinstance(paths, dict):
        return document
    inlined = {
        path: resolve(document, item["$ref"]) if isinstance(item, dict) and isinstance(item.get("$ref"), str) else item
        for path, item in paths.items()
    }
    return {**document, "paths": inlined}


def answers_json(content_types_by_status: dict[str, list[str]]) -> bool:
    """Whether a success response (2xx) declares a JSON media type, so an output schema can be kept.

    FastMCP takes the schema of a text/plain answer as the output schema too, and then answers with
    text only, which clients refuse (a tool with an output schema must give structured content).
    """
    return any(
        status.startswith("2") and any(_JSON_MEDIA.match(kind.split(";")[0].strip().lower()) for kind in kinds)
        for status, kinds in content_types_by_status.items()
    )


def annotation_hints(method: str) -> dict[str, bool]:
    """MCP tool annotations for an HTTP method."""
    method = method.lower()
    if method in ("get", "head", "options"):
        return {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True}
    if method == "delete":
        return {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True}
    if method == "put":
        return {"readOnlyHint": False, "destructiveHint": False, "idempotentHint": True}
    return {"readOnlyHint": False, "destructiveHint": False, "idempotentHint": False}


# --- serving (inside the container) -------------------------------------------------------------------


def _environment_value(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(
            f"openapi server: the secret {name} is not set; set it with `mcp-registry config set ENTRY NAME`"
        )
    return value


def _client(config: dict[str, Any]) -> Any:
    import httpx2

    auth = config.get("auth") or {}
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    cookies: dict[str, str] = {}
    client_auth: Any = None
    kind = auth.get("type")
    if kind == "api_key":
        target = {"header": headers, "query": params, "cookie": cookies}[auth.get("location", "header")]
        target[auth["name"]] = _environment_value(auth["secret"])
    elif kind == "bearer":
        headers["Authorization"] = f"Bearer {_environment_value(auth['secret'])}"
    elif kind == "basic":
        client_auth = httpx2.BasicAuth(
            _environment_value(auth["username_secret"]), _environment_value(auth["password_secret"])
        )
    elif kind == "oauth2_client_credentials":
        client_auth = _client_credentials_auth(httpx2, auth)
    return httpx2.AsyncClient(
        base_url=config["base_url"],
        headers=headers,
        params=params,
        cookies=cookies,
        auth=client_auth,
        timeout=30.0,
    )


def _client_credentials_auth(httpx2: Any, auth: dict[str, Any]) -> Any:
    client_id = _environment_value(auth["client_id_secret"])
    client_secret = _environment_value(auth["client_secret_secret"])

    class ClientCredentials(httpx2.Auth):
        """A bearer token from the token URL, fetched again shortly before it expires or when refused."""

        requires_response_body = True

        def __init__(self) -> None:
            self.token = ""
            self.expires_at = 0.0

        def _token_request(self) -> Any:
            form = {"grant_type": "client_credentials"}
            if auth.get("scopes"):
                form["scope"] = " ".join(auth["scopes"])
            # Client id and secret by HTTP basic, as RFC 6749 section 2.3.1 asks servers to accept.
            return httpx2.Request("POST", auth["token_url"], data=form, headers=_basic(client_id, client_secret))

        def _take(self, response: Any) -> None:
            if response.status_code != 200:
                raise httpx2.HTTPStatusError(
                    f"the token URL answered HTTP {response.status_code}", request=response.request, response=response
                )
            body = response.json()
            self.token = str(body["access_token"])
            self.expires_at = time.monotonic() + float(body.get("expires_in") or 3600) - 30

        def auth_flow(self, request: Any) -> Any:
            if not self.token or time.monotonic() >= self.expires_at:
                self._take((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {self.token}"
            response = yield request
            if response.status_code == 401:  # revoked early: one fresh token, one retry
                self._take((yield self._token_request()))
                request.headers["Authorization"] = f"Bearer {self.token}"
                yield request

    return ClientCredentials()


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def build_server(document: dict[str, Any], config: dict[str, Any]) -> Any:
    """The FastMCP server for `document` under `config` (the entry's [openapi] table)."""
    # Installed in the runtime image, not on the host (mypy cannot see them there).
    from fastmcp import FastMCP  # type: ignore[import-not-found]
    from fastmcp.server.providers.openapi import MCPType, OpenAPITool  # type: ignore[import-not-found]
    from mcp_types import ToolAnnotations

    selection = select_operations(
        document,
        include_paths=config.get("include_paths"),
        exclude_paths=config.get("exclude_paths"),
        include_tags=config.get("include_tags"),
        max_tools=config.get("max_tools"),
    )
    wanted = {(operation.method.upper(), operation.path): operation for operation in selection.operations}

    def route_type(route: Any, mcp_type: Any) -> Any:
        return MCPType.TOOL if (route.method, route.path) in wanted else MCPType.EXCLUDE

    def customise(route: Any, component: Any) -> None:
        # The provider files the tool under its name after this, so our name is the one served.
        if isinstance(component, OpenAPITool):
            operation = wanted[(route.method, route.path)]
            component.name = operation.name
            component.annotations = ToolAnnotations.model_validate(annotation_hints(operation.method))
            kinds = {status: list(info.content_schema or {}) for status, info in (route.responses or {}).items()}
            if not answers_json(kinds):
                component.output_schema = None  # its answer is text

    title = str((document.get("info") or {}).get("title") or "OpenAPI server")
    return FastMCP.from_openapi(
        with_path_items_inlined(document),
        client=_client(config),
        name=title,
        route_map_fn=route_type,
        mcp_component_fn=customise,
    )


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit("usage: server.py SPEC.json CONFIG_JSON")
    with open(argv[0], encoding="utf-8") as spec_file:
        document = json.load(spec_file)
    config = json.loads(argv[1])
    if problems := spec_problems(document):
        raise SystemExit("openapi server: the document cannot be served:\n" + "\n".join(problems))
    for noisy in ("httpx2", "httpcore", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)  # request lines would show query keys
    build_server(document, config).run(transport="stdio", show_banner=False)


if __name__ == "__main__":
    main(sys.argv[1:])

"""Everything an active server offers besides tools: resources, resource templates, prompts, completion.

Contract:
- Lists are fetched from a mount lazily, on the editor's first request, following the child's
  `nextCursor`, and cached until the child says the list changed (`invalidate`) or the mount goes.
- Resource URIs pass through unchanged while exactly one mount lists them. When two mounts list
  the same URI (or the same template), each copy is namespaced as
  `mcp-registry://<prefix>/<percent-encoded original>`; every aggregated resource and template
  carries `_meta["io.mcp-registry/origin"] = {"prefix", "uri" | "uriTemplate"}` to say where it
  came from. Reads of a namespaced URI go to that prefix with the original URI, and the
  contents' `uri` fields are mapped back, so the bytes are exactly the child's.
- `resources/read` and `prompts/get` go through `CallRouter.request`, so a child's questions
  during them reach the editor as for a tool call (see `asks`).
- `mcp-registry://results/<ref>[/<part>]` is an offloaded tool result (`offload`), read from the
  registry's own store; `results` is a reserved prefix, so no mount's URIs can take it.
- A URI that no list names (e.g. expanded from a template) is routed by matching the mounts'
  templates; failing that, to the only mount that offers resources; otherwise it is unknown.
- Prompts are exposed as `<prefix>_<name>` (the same naming as tools; an unprefixed mount's keep
  their names); `get` and completion
  route by that name, or by resource URI/template for `ref/resource`.
- Every failure reaching the editor is a `RequestError` with a message that says what to do; a
  child's own JSON-RPC error goes back with its code, message and data.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote, unquote

import anyio
from mcp_types.jsonrpc import INTERNAL_ERROR, INVALID_PARAMS

from mcp_registry_server.mcp_client import MCPClientError, MCPRemoteError
from mcp_registry_server.registry.asks import AskMode, InputRequired
from mcp_registry_server.registry.calls import CallOutcome, CallRouter
from mcp_registry_server.registry.editor_link import ProgressCallback
from mcp_registry_server.registry.errors import RequestError
from mcp_registry_server.registry.offload import RESULTS_URI, OffloadError, OffloadStore
from mcp_registry_server.registry.router import ActiveMount, mount_exposed_name, unique_name

logger = logging.getLogger(__name__)

NAMESPACE = "mcp-registry://"
ORIGIN_META = "io.mcp-registry/origin"
RESOURCE_NOT_FOUND = -32002
LIST_TIMEOUT = 30.0


def namespaced_uri(prefix: str, uri: str) -> str:
    return f"{NAMESPACE}{prefix}/{quote(uri, safe='')}"


def namespaced_template(prefix: str, template: str) -> str:
    # Templates cannot be percent-encoded without breaking their {expressions}; the read path
    # unquotes, which leaves an unencoded expansion as it is.
    return f"{NAMESPACE}{prefix}/{template}"


def template_pattern(template: str) -> re.Pattern[str]:
    """A regex matching the URIs an RFC 6570 template (levels 1-2) can expand to."""
    pattern, position = [], 0
    for match in re.finditer(r"\{([+#./;?&]?)([^}]*)\}", template):
        pattern.append(re.escape(template[position : match.start()]))
        operator = match.group(1)
        pattern.append(".+" if operator in {"+", "#"} else ".*" if operator in {"?", "&", ";"} else "[^/?#]+")
        position = match.end()
    pattern.append(re.escape(template[position:]))
    return re.compile("".join(pattern) + r"\Z")


def _with_origin(item: dict[str, Any], prefix: str, key: str, original: str) -> dict[str, Any]:
    meta = dict(item.get("_meta") or {})
    meta[ORIGIN_META] = {"prefix": prefix, key: original}
    return {**item, "_meta": meta}


class Passthrough:
    """Routes resources, templates, prompts and completions of the active mounts."""

    def __init__(self, mounts: dict[str, ActiveMount], calls: CallRouter, offload: OffloadStore | None = None) -> None:
        self._mounts = mounts  # the router's live mapping: prefix → mount
        self._calls = calls  # prompts/get and resources/read go through it, questions and all
        self._offload = offload
        self._cache: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._resource_routes: dict[str, tuple[ActiveMount, str]] = {}
        self._exposed_uri: dict[tuple[str, str], str] = {}
        self._template_routes: list[tuple[re.Pattern[str], ActiveMount, str, str]] = []
        self._prompt_routes: dict[str, tuple[ActiveMount, str]] = {}

    # -- cache ----------------------------------------------------------------------------

    def invalidate(self, prefix: str, kind: str | None = None) -> None:
        """Forget cached lists of a mount (one kind: resources, resourceTemplates, prompts; or all)."""
        for key in [key for key in self._cache if key[0] == prefix and kind in (None, key[1])]:
            del self._cache[key]

    async def _offering(self, capability: str) -> list[ActiveMount]:
        """Live mounts that declared `capability`; a mount still in its handshake is waited for."""
        mounts = list(self._mounts.values())
        with anyio.move_on_after(LIST_TIMEOUT):
            for mount in mounts:
                await mount.client.wait_initialized()
        return [m for m in mounts if m.client.is_alive and capability in m.client.server_capabilities]

    async def _lists(self, capability: str, kind: str, method: str) -> list[tuple[ActiveMount, list[dict[str, Any]]]]:
        """Each offering mount's list of `kind`, fetched concurrently where not cached."""
        mounts = await self._offering(capability)

        async def fetch(mount: ActiveMount) -> None:
            try:
                self._cache[(mount.prefix, kind)] = await mount.client.list_paged(method, kind, timeout=LIST_TIMEOUT)
            except MCPClientError as error:
                mount.last_error = f"{method} failed: {error}"
                logger.warning("%s of %s failed: %s", method, mount.prefix, error)

        async with anyio.create_task_group() as tasks:
            for mount in mounts:
                if (mount.prefix, kind) not in self._cache:
                    tasks.start_soon(fetch, mount)
        return [(mount, self._cache.get((mount.prefix, kind), [])) for mount in mounts]

    # -- resources ------------------------------------------------------------------------

    async def list_resources(self) -> list[dict[str, Any]]:
        lists = await self._lists("resources", "resources", "resources/list")
        claims: dict[str, int] = {}
        for _, resources in lists:
            for uri in {r["uri"] for r in resources if isinstance(r.get("uri"), str)}:
                claims[uri] = claims.get(uri, 0) + 1
        routes: dict[str, tuple[ActiveMount, str]] = {}
        exposed_uri: dict[tuple[str, str], str] = {}
        exposed: list[dict[str, Any]] = []
        for mount, resources in lists:
            for resource in resources:
                uri = resource.get("uri")
                if not isinstance(uri, str):
                    continue
                public = uri if claims[uri] == 1 else namespaced_uri(mount.prefix, uri)
                routes[public] = (mount, uri)
                exposed_uri[(mount.prefix, uri)] = public
                exposed.append(_with_origin({**resource, "uri": public}, mount.prefix, "uri", uri))
        self._resource_routes, self._exposed_uri = routes, exposed_uri
        return exposed

    async def list_resource_templates(self) -> list[dict[str, Any]]:
        lists = await self._lists("resources", "resourceTemplates", "resources/templates/list")
        claims: dict[str, int] = {}
        for _, templates in lists:
            for template in {t["uriTemplate"] for t in templates if isinstance(t.get("uriTemplate"), str)}:
                claims[template] = claims.get(template, 0) + 1
        routes: list[tuple[re.Pattern[str], ActiveMount, str, str]] = []
        exposed: list[dict[str, Any]] = []
        for mount, templates in lists:
            for template in templates:
                original = template.get("uriTemplate")
                if not isinstance(original, str):
                    continue
                public = original if claims[original] == 1 else namespaced_template(mount.prefix, original)
                routes.append((template_pattern(original), mount, original, public))
                exposed.append(_with_origin({**template, "uriTemplate": public}, mount.prefix, "uriTemplate", original))
        self._template_routes = routes
        return exposed

    async def route_uri(self, uri: str) -> tuple[ActiveMount, str]:
        """The mount that owns `uri`, and the URI as that mount knows it."""
        if uri.startswith(NAMESPACE):
            prefix, _, rest = uri[len(NAMESPACE) :].partition("/")
            mount = self._mounts.get(prefix)
            if mount is None:
                raise RequestError(RESOURCE_NOT_FOUND, f"Resource {uri!r}: no active server has prefix {prefix!r}.")
            return mount, unquote(rest)
        if uri not in self._resource_routes:  # rebuilt from the cached lists: cheap unless a list changed
            await self.list_resources()
            await self.list_resource_templates()
        if uri in self._resource_routes:
            return self._resource_routes[uri]
        matches = [(mount, uri) for pattern, mount, _, _ in self._template_routes if pattern.match(uri)]
        if len({mount.prefix for mount, _ in matches}) == 1:
            return matches[0]
        offering = await self._offering("resources")
        if len(offering) == 1 and not matches:
            return offering[0], uri
        if matches:
            prefixes = ", ".join(sorted({mount.prefix for mount, _ in matches}))
            raise RequestError(
                RESOURCE_NOT_FOUND,
                f"Resource {uri!r} matches templates of several servers ({prefixes}); read it as "
                f"{NAMESPACE}<prefix>/<uri> to choose one.",
            )
        raise RequestError(
            RESOURCE_NOT_FOUND, f"Resource {uri!r} is not offered by any active server (see resources/list)."
        )

    def exposed_uri_of(self, prefix: str, child_uri: str) -> str:
        """The URI the editor knows for a child's URI (for notifications/resources/updated)."""
        return self._exposed_uri.get((prefix, child_uri), child_uri)

    async def read_resource(
        self, uri: str, progress: ProgressCallback | None = None, *, mode: AskMode = "relay"
    ) -> CallOutcome | InputRequired:
        if uri.startswith(RESULTS_URI) and self._offload is not None:
            try:
                # Never cached nor shared (2026-07-28 requires saying so): the reference dies with the registry.
                contents = await self._offload.contents(uri)
                return CallOutcome({"contents": contents, "ttlMs": 0, "cacheScope": "private"})
            except OffloadError as error:
                raise RequestError(RESOURCE_NOT_FOUND, str(error)) from None
        mount, child_uri = await self.route_uri(uri)

        def expose(result: dict[str, Any]) -> dict[str, Any]:
            """The contents under the URI the editor asked for, so the bytes are exactly the child's."""
            if child_uri == uri or not isinstance(result.get("contents"), list):
                return result
            contents = [
                {**item, "uri": uri} if isinstance(item, dict) and item.get("uri") == child_uri else item
                for item in result["contents"]
            ]
            return {**result, "contents": contents}

        return await self._calls.request(mount, "resources/read", {"uri": child_uri}, progress, mode=mode, shape=expose)

    async def subscribe(self, uri: str, method: str) -> dict[str, Any]:
        mount, child_uri = await self.route_uri(uri)
        self._exposed_uri.setdefault((mount.prefix, child_uri), uri)
        return await _relay(mount, method, {"uri": child_uri})

    async def unsubscribe_quietly(self, uri: str) -> None:
        """Best effort, bounded and shielded: for a subscription whose editor stream has ended."""
        with anyio.CancelScope(shield=True), anyio.move_on_after(LIST_TIMEOUT):
            try:
                await self.subscribe(uri, "resources/unsubscribe")
            except RequestError as error:
                logger.debug("unsubscribing %s failed: %s", uri, error.message)

    # -- prompts --------------------------------------------------------------------------

    async def list_prompts(self) -> list[dict[str, Any]]:
        lists = await self._lists("prompts", "prompts", "prompts/list")
        routes: dict[str, tuple[ActiveMount, str]] = {}
        exposed: list[dict[str, Any]] = []
        for mount, prompts in lists:
            for prompt in prompts:
                name = prompt.get("name")
                if not isinstance(name, str) or not name:
                    continue
                public = unique_name(mount_exposed_name(mount, name), routes)
                routes[public] = (mount, name)
                exposed.append({**prompt, "name": public})
        self._prompt_routes = routes
        return exposed

    async def route_prompt(self, name: str) -> tuple[ActiveMount, str]:
        if name not in self._prompt_routes:
            await self.list_prompts()
        if name in self._prompt_routes:
            return self._prompt_routes[name]
        known = ", ".join(self._prompt_routes) or "none"
        raise RequestError(INVALID_PARAMS, f"Unknown prompt {name!r}. Available prompts: {known}.")

    async def get_prompt(
        self,
        name: str,
        arguments: dict[str, Any] | None,
        progress: ProgressCallback | None = None,
        *,
        mode: AskMode = "relay",
    ) -> CallOutcome | InputRequired:
        mount, child_name = await self.route_prompt(name)
        params: dict[str, Any] = {"name": child_name}
        if arguments:
            params["arguments"] = arguments
        return await self._calls.request(mount, "prompts/get", params, progress, mode=mode)

    # -- completion -----------------------------------------------------------------------

    async def complete(self, params: dict[str, Any]) -> dict[str, Any]:
        ref = params.get("ref") or {}
        if ref.get("type") == "ref/prompt":
            mount, child_name = await self.route_prompt(str(ref.get("name")))
            child_ref = {**ref, "name": child_name}
        elif ref.get("type") == "ref/resource":
            mount, child_uri = await self._route_template_ref(str(ref.get("uri")))
            child_ref = {**ref, "uri": child_uri}
        else:
            raise RequestError(INVALID_PARAMS, f"completion/complete: unknown ref type {ref.get('type')!r}.")
        await mount.client.wait_initialized()
        if "completions" not in mount.client.server_capabilities:
            return {"completion": {"values": [], "hasMore": False}}
        return await _relay(mount, "completion/complete", {**params, "ref": child_ref})

    async def _route_template_ref(self, uri_or_template: str) -> tuple[ActiveMount, str]:
        if not self._template_routes:
            await self.list_resource_templates()
        for _, mount, original, public in self._template_routes:
            if uri_or_template in (public, original):
                return mount, original
        return await self.route_uri(uri_or_template)


async def _relay(mount: ActiveMount, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """One request to a child; its JSON-RPC errors go back to the editor as they were."""
    try:
        return await mount.client.request(method, params)
    except MCPRemoteError as error:
        raise RequestError(error.code, error.message, error.data) from error
    except MCPClientError as error:
        mount.last_error = str(error)
        raise RequestError(INTERNAL_ERROR, f"{method} to {mount.prefix!r} failed: {error}") from error

"""Names to servers: the active mounts and the table from exposed tool names to (mount, tool).

Contract: a mount is one running MCP server under a unique prefix. Each of its tools that its
tool filter allows is routed as `<prefix>_<tool>`, made to fit `[A-Za-z0-9_.-]{1,128}`; when two tools would map to
the same exposed name (only possible after that sanitising), the later one gets a numeric
suffix (`unique_name`), so collisions are never fatal. An *unprefixed* mount (`unprefixed=True`,
for clients that call a server's exact names, such as a conformance suite) routes its tools and
prompts under the child's own names; `conflict` says why such a mount cannot join (a name in the
registry's own `registry_` namespace, or one another mount already routes), and `add` refuses it
then, so a name never silently changes. Its prefix still keys it (containers, logs, removal). Every routed tool is callable (through
`registry_exec` and by name); only those of mounts exposed "direct" are in `exposed_tools`, the
editor's tools/list ("search" mounts are found with registry_search). The routed tool definitions
keep the child's inputSchema, outputSchema, annotations and icons unchanged. The lists are ordered
by prefix, then by the child's tool name, so the same mounts always give the same list, byte for
byte, whatever order they were added in (editors' prompt caches stay valid). `resolve` and
`declares_output_schema` are lookups in tables built when the mounts change: they are on every
call's path. The router holds no I/O; the registry mutates it and tells the editor.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Literal

from mcp_registry_server.catalog import CatalogEntry, ToolFilter
from mcp_registry_server.mcp_client import MCPClient
from mcp_registry_server.settings import LOCAL_HOST

PREFIX_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
# "registry": the registry's own tools; "results": its offloaded results (mcp-registry://results/…).
RESERVED_PREFIXES = frozenset({"registry", "results"})
RESERVED_TOOL_PREFIX = "registry"  # the registry's own tools are all registry_<verb>
_EXPOSED_FORBIDDEN = re.compile(r"[^A-Za-z0-9_.-]")
MAX_EXPOSED_NAME = 128

MountState = Literal["running", "failed", "restarting"]
Exposure = Literal["direct", "search"]


def check_prefix(prefix: str) -> str | None:
    """Return why `prefix` is unusable, or None if it is fine."""
    if not isinstance(prefix, str) or not PREFIX_PATTERN.fullmatch(prefix):
        return (
            f"invalid prefix {prefix!r}: use 1-31 characters, a lowercase letter first, then lowercase "
            "letters, digits or '-' (pattern ^[a-z][a-z0-9-]{0,30}$)"
        )
    if prefix in RESERVED_PREFIXES:
        return f"prefix {prefix!r} is reserved for the registry's own tools and results; choose another"
    return None


def default_prefix(entry_id: str) -> str:
    """A valid prefix derived from an entry id (`brave-search` stays, `aws.docs` → `aws-docs`)."""
    candidate = re.sub(r"[^a-z0-9-]", "-", entry_id.lower()).strip("-") or "server"
    if not candidate[0].isalpha():
        candidate = f"s-{candidate}"
    candidate = candidate[:31].rstrip("-")
    return "server" if candidate in RESERVED_PREFIXES else candidate


@dataclass(eq=False)
class ActiveMount:
    entry: CatalogEntry
    prefix: str
    container_name: str
    client: MCPClient
    tools: list[dict[str, Any]] = field(default_factory=list)
    started_at: float = field(default_factory=time.monotonic)
    calls_served: int = 0
    last_error: str | None = None
    state: MountState = "running"
    restarts: int = 0
    expose: Exposure = "direct"
    unprefixed: bool = False
    """Its tools and prompts keep the child's names (no `<prefix>_`)."""
    host: str = LOCAL_HOST
    """The Podman host its container runs on (`podman_hosts`)."""
    tool_filter: ToolFilter = field(default_factory=ToolFilter)
    open_requests: list[Any] = field(default_factory=list)
    """2026-07-28 editor requests waiting on this mount, oldest first (`asks.OpenRequest`): a
    child's question mid-call belongs to the oldest."""

    @property
    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_at


def exposed_name(prefix: str, tool_name: str) -> str:
    return _EXPOSED_FORBIDDEN.sub("_", f"{prefix}_{tool_name}")[:MAX_EXPOSED_NAME]


def mount_exposed_name(mount: ActiveMount, name: str) -> str:
    """The name a mount's tool or prompt is routed under, before any `unique_name` suffix."""
    if mount.unprefixed:
        return _EXPOSED_FORBIDDEN.sub("_", name)[:MAX_EXPOSED_NAME]
    return exposed_name(mount.prefix, name)


def unique_name(name: str, taken: Collection[str]) -> str:
    """`name`, or `name_2`, `name_3`, ... (still at most 128 characters): the first not in `taken`."""
    candidate, suffix = name, 2
    while candidate in taken:
        tail = f"_{suffix}"
        candidate = name[: MAX_EXPOSED_NAME - len(tail)] + tail
        suffix += 1
    return candidate


class ToolRouter:
    """The active mounts by prefix, and exposed tool name → (mount, child tool name)."""

    def __init__(self) -> None:
        self.mounts: dict[str, ActiveMount] = {}
        self._routes: dict[str, tuple[ActiveMount, str]] = {}
        self._schema_bound: set[str] = set()  # routed names whose tool declares an outputSchema
        self._routed_tools: list[dict[str, Any]] = []
        self._exposed_tools: list[dict[str, Any]] = []

    def add(self, mount: ActiveMount) -> list[str]:
        """Register a mount; return its exposed tool names."""
        if mount.prefix in self.mounts:
            raise ValueError(f"prefix {mount.prefix!r} is already mounted")
        if (problem := self.conflict(mount)) is not None:
            raise ValueError(problem)
        self.mounts[mount.prefix] = mount
        self._rebuild()
        return self.names_of(mount)

    def remove(self, prefix: str) -> ActiveMount | None:
        mount = self.mounts.pop(prefix, None)
        if mount is not None:
            self._rebuild()
        return mount

    def conflict(self, mount: ActiveMount) -> str | None:
        """Why `mount` cannot join unchanged: a name of an unprefixed mount (it or one already in)
        that is the registry's or another mount's; None when it can."""
        wanted = self._wanted_names(mount)
        if mount.unprefixed:
            if reserved := sorted(name for name in wanted if name.startswith(f"{RESERVED_TOOL_PREFIX}_")):
                return (
                    f"{mount.entry.id} cannot be mounted unprefixed: its tool {reserved[0]!r} is in the registry's "
                    "own registry_ namespace. Mount it with a prefix instead."
                )
        for other in sorted(self.mounts.values(), key=lambda other: other.prefix):
            if not (mount.unprefixed or other.unprefixed):
                continue  # prefixed names differ by prefix; sanitising clashes get a suffix
            if shared := sorted(wanted & self._wanted_names(other)):
                unprefixed = mount if mount.unprefixed else other
                return (
                    f"{mount.entry.id} cannot be mounted: its tool name {shared[0]!r} is also routed for "
                    f"{other.entry.id} (prefix {other.prefix!r}), and {unprefixed.entry.id} is mounted unprefixed, "
                    "so the name cannot change. Remove one of them, or mount it with a prefix."
                )
        return None

    def replace_tools(self, mount: ActiveMount, tools: list[dict[str, Any]]) -> None:
        """Take a mount's new tool list (after the child said its list changed)."""
        mount.tools = tools
        self._rebuild()

    def resolve(self, name: str) -> tuple[ActiveMount, str] | None:
        return self._routes.get(name)

    def declares_output_schema(self, name: str) -> bool:
        """Whether the routed tool `name` declares an outputSchema: its results must carry structuredContent."""
        return name in self._schema_bound

    def names_of(self, mount: ActiveMount) -> list[str]:
        return [name for name, (owner, _) in self._routes.items() if owner is mount]

    def exposed_names(self) -> list[str]:
        return list(self._routes)

    def exposed_tools(self) -> list[dict[str, Any]]:
        """The tools/list part: routed tools of "direct" mounts (the same list until the next change)."""
        return self._exposed_tools

    def routed_tools(self) -> list[dict[str, Any]]:
        """Every callable child tool under its exposed name (a new list after every change)."""
        return self._routed_tools

    def filtered_out(self, mount: ActiveMount) -> list[str]:
        """The child's tool names its tool filter keeps out."""
        return [tool["name"] for tool in mount.tools if _named(tool) and not mount.tool_filter.allows(tool["name"])]

    def _rebuild(self) -> None:
        routes: dict[str, tuple[ActiveMount, str]] = {}
        schema_bound: set[str] = set()
        routed: list[dict[str, Any]] = []
        exposed: list[dict[str, Any]] = []
        for mount in sorted(self.mounts.values(), key=lambda mount: mount.prefix):
            offered = [tool for tool in mount.tools if _named(tool) and mount.tool_filter.allows(tool["name"])]
            for tool in sorted(offered, key=lambda tool: tool["name"]):
                name = unique_name(mount_exposed_name(mount, tool["name"]), routes)
                routes[name] = (mount, tool["name"])
                if tool.get("outputSchema") is not None:
                    schema_bound.add(name)
                routed.append(definition := {**tool, "name": name})
                if mount.expose == "direct":
                    exposed.append(definition)
        self._routes, self._schema_bound = routes, schema_bound
        self._routed_tools = routed
        if exposed != self._exposed_tools:  # kept when unchanged, so tools/list pages stay cached
            self._exposed_tools = exposed

    @staticmethod
    def _wanted_names(mount: ActiveMount) -> set[str]:
        return {
            mount_exposed_name(mount, tool["name"])
            for tool in mount.tools
            if _named(tool) and mount.tool_filter.allows(tool["name"])
        }


def _named(tool: dict[str, Any]) -> bool:
    return isinstance(tool.get("name"), str) and bool(tool["name"])

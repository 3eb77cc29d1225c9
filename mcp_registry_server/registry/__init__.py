"""The registry layer: mounts of catalog entries in Podman, and everything routed to them.

Free of the MCP SDK: it speaks to children through `mcp_client` and to the editor through the
`EditorLink` the server layer implements. Parts, one job each:
- `service`: `Registry` (the parts put together) and `open_registry` (its lifetime);
- `catalog_view`: entry lookup, search, listing, details;
- `podman_link`: the Podman connection, made in the background;
- `mounts`: add, handshake, restart and remove a mount (with `supervisor` and `tool_cache`);
- `calls`: routing a tool call (or a prompt or resource read) to its mount;
- `tasks`: background tool calls (2025-11-25 tasks, `registry_exec(background=true)`);
- `asks`: a child's questions during a request, relayed or parked for the editor's retry;
- `child_events`: what children send on their own, and the editor's settings for them;
- `router`: exposed tool names; `passthrough`: resources, templates, prompts, completion;
- `offload`: large tool results kept on disk, read back in slices and parts;
- `editor_link`: what the registry needs from the editor side; `errors`: what it raises.
"""

from mcp_registry_server.registry.asks import AskMode, InputRequired
from mcp_registry_server.registry.calls import CallOutcome
from mcp_registry_server.registry.editor_link import EditorLink, ProgressCallback
from mcp_registry_server.registry.errors import RegistryError, RequestError
from mcp_registry_server.registry.service import Registry, open_registry

__all__ = [
    "AskMode",
    "CallOutcome",
    "EditorLink",
    "InputRequired",
    "ProgressCallback",
    "Registry",
    "RegistryError",
    "RequestError",
    "open_registry",
]

"""The registry's own tools as the editor sees them: names, descriptions, input schemas.

Each definition is a plain MCP tool dict. `parse_arguments` is the one place where editor
arguments are checked against these schemas, so every registry tool rejects wrong types,
missing fields and unknown fields with the same clear message.
"""

from __future__ import annotations

from typing import Any

_STRING = {"type": "string"}

REGISTRY_TOOLS: list[dict[str, Any]] = [
    {
        "name": "registry_search",
        "description": "Search the catalog of MCP servers by name, tag, description or tool name. "
        "Returns ranked entries with their known tools and whether they are active.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "query": {**_STRING, "description": "Words to look for, e.g. 'sqlite' or 'list tables'."},
                "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        "annotations": {"readOnlyHint": True, "openWorldHint": False},
    },
    {
        "name": "registry_list",
        "description": "List every catalog entry (id and name), marking the active ones.",
        "inputSchema": {"type": "object", "properties": {}, "additionalProperties": False},
        "annotations": {"readOnlyHint": True, "openWorldHint": False},
    },
    {
        "name": "registry_info",
        "description": "Show one catalog entry in full: description, image, known tools, the configuration "
        "and secrets it needs (names only), volumes and network.",
        "inputSchema": {
            "type": "object",
            "properties": {"entry_id": {**_STRING, "description": "Catalog entry id, e.g. 'sqlite'."}},
            "required": ["entry_id"],
            "additionalProperties": False,
        },
        "annotations": {"readOnlyHint": True, "openWorldHint": False},
    },
    {
        "name": "registry_add",
        "description": "Activate a catalog entry: start its MCP server in a hardened Podman container and "
        "make its tools callable as <prefix>_<tool> (directly, and through registry_exec).",
        "inputSchema": {
            "type": "object",
            "properties": {
                "entry_id": {**_STRING, "description": "Catalog entry id, e.g. 'sqlite'."},
                "prefix": {
                    **_STRING,
                    "pattern": "^[a-z][a-z0-9-]{0,30}$",
                    "description": "Name prefix for the server's tools (default: derived from the entry id).",
                },
            },
            "required": ["entry_id"],
            "additionalProperties": False,
        },
        "annotations": {"readOnlyHint": False, "destructiveHint": False, "openWorldHint": True},
    },
    {
        "name": "registry_exec",
        "description": "Call a tool of an active server by its exposed name, e.g. "
        "registry_exec('sqlite_list_tables', {}). Returns the server's result unchanged.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "tool_name": {**_STRING, "description": "Exposed tool name: <prefix>_<tool>."},
                "arguments": {"type": "object", "description": "The tool's arguments.", "default": {}},
            },
            "required": ["tool_name"],
            "additionalProperties": False,
        },
        "annotations": {"openWorldHint": True},
    },
    {
        "name": "registry_remove",
        "description": "Deactivate a server: stop its container (nothing is left behind) and withdraw its tools.",
        "inputSchema": {
            "type": "object",
            "properties": {"entry_id_or_prefix": {**_STRING, "description": "The entry id or the prefix."}},
            "required": ["entry_id_or_prefix"],
            "additionalProperties": False,
        },
        "annotations": {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True},
    },
    {
        "name": "registry_status",
        "description": "Podman availability, and for each active server: entry, prefix, container, image, "
        "uptime, tool count, calls served and last error.",
        "inputSchema": {"type": "object", "properties": {}, "additionalProperties": False},
        "annotations": {"readOnlyHint": True, "openWorldHint": False},
    },
    {
        "name": "registry_config_set",
        "description": "Store configuration for a catalog entry: environment values and secrets by name "
        "(secret values are kept in a private file and never shown), or 'volume:<name>' to enable a "
        "declared volume. An empty value unsets. Applied the next time the entry is added.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "entry_id": {**_STRING, "description": "Catalog entry id."},
                "values": {"type": "object", "description": "NAME: value pairs."},
            },
            "required": ["entry_id", "values"],
            "additionalProperties": False,
        },
        "annotations": {"readOnlyHint": False, "destructiveHint": False, "openWorldHint": False},
    },
]

REGISTRY_TOOL_NAMES = frozenset(tool["name"] for tool in REGISTRY_TOOLS)
_SCHEMAS = {tool["name"]: tool["inputSchema"] for tool in REGISTRY_TOOLS}
_JSON_TYPES: dict[str, type | tuple[type, ...]] = {"string": str, "integer": int, "object": dict}
_TYPE_WORDS = {"string": "a string", "integer": "an integer", "object": "an object"}


class ArgumentError(ValueError):
    """The editor's arguments do not fit the tool's input schema."""


def parse_arguments(tool_name: str, arguments: Any) -> dict[str, Any]:
    """Check `arguments` against the tool's schema and fill defaults; raise ArgumentError."""
    schema = _SCHEMAS[tool_name]
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ArgumentError(f"{tool_name}: arguments must be an object, not {type(arguments).__name__}")
    properties: dict[str, dict[str, Any]] = schema["properties"]
    unknown = sorted(set(arguments) - set(properties))
    if unknown:
        expected = ", ".join(properties) or "none"
        raise ArgumentError(
            f"{tool_name}: unexpected argument(s) {', '.join(map(repr, unknown))[:200]}; expected: {expected}"
        )
    missing = [name for name in schema.get("required", []) if arguments.get(name) is None]
    if missing:
        raise ArgumentError(f"{tool_name}: missing required argument(s): {', '.join(missing)}")
    parsed: dict[str, Any] = {}
    for name, spec in properties.items():
        value = arguments.get(name)
        if value is None:  # an explicit null means "not given", as the required check above assumes
            value = spec.get("default")
        if value is None:
            parsed[name] = None
            continue
        expected_type = _JSON_TYPES[spec["type"]]
        if not isinstance(value, expected_type) or (spec["type"] == "integer" and isinstance(value, bool)):
            raise ArgumentError(f"{tool_name}: {name} must be {_TYPE_WORDS[spec['type']]}, not {type(value).__name__}")
        if spec["type"] == "integer" and not spec.get("minimum", value) <= value <= spec.get("maximum", value):
            raise ArgumentError(f"{tool_name}: {name} must be between {spec['minimum']} and {spec['maximum']}")
        if spec["type"] == "string" and ("\x00" in value or len(value) > 4096):
            raise ArgumentError(f"{tool_name}: {name} must be at most 4096 characters without NUL bytes")
        parsed[name] = value
    return parsed

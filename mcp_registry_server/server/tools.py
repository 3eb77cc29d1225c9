"""The registry's own tools as the editor sees them: names, descriptions, annotations, arguments.

Each tool's arguments are a pydantic model, which is both the `inputSchema` the editor gets
(`model_json_schema`, titles left out to keep the list small) and the one place editor arguments
are checked (`parse_arguments`): strict JSON types, every `pattern` and bound in the schema,
unknown fields refused, defaults filled (a fresh `{}` for each call). An explicit `null` counts
as "not given", so the default applies. Failures raise `ArgumentError` with one clear line per
problem, which the caller returns as a tool error for the model to read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import CoreSchema

__all__ = [
    "REGISTRY_TOOLS",
    "REGISTRY_TOOL_NAMES",
    "AddArgs",
    "ArgumentError",
    "ConfigSetArgs",
    "ExecArgs",
    "GetContentArgs",
    "InfoArgs",
    "NoArgs",
    "RemoveArgs",
    "SearchArgs",
    "TaskArgs",
    "ToolInfoArgs",
    "parse_arguments",
]

_NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(max_length=4096, pattern=_NO_NUL)]
"""A string argument: at most 4096 characters, no NUL bytes."""


class ArgumentError(ValueError):
    """The editor's arguments do not fit the tool's input schema."""


class _Arguments(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _null_means_absent(cls, data: Any) -> Any:
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


class NoArgs(_Arguments):
    pass


class SearchArgs(_Arguments):
    query: Text = Field(description="Words to look for, e.g. 'sqlite' or 'create a table'.")
    kind: Literal["all", "servers", "tools"] = Field(
        "all", description="servers: catalog entries; tools: tools of active and not yet active servers; all: both."
    )
    limit: int = Field(10, ge=1, le=100, description="At most this many of each kind.")


class InfoArgs(_Arguments):
    entry_id: Text = Field(description="Catalog entry id, e.g. 'sqlite'.")


class ToolInfoArgs(_Arguments):
    tool_name: Text = Field(description="An active tool's exposed name, or a catalog tool's name with entry_id.")
    entry_id: Text | None = Field(None, description="The catalog entry, for a tool of a server not active yet.")


class AddArgs(_Arguments):
    entry_id: Text = Field(description="Catalog entry id, e.g. 'sqlite'.")
    prefix: str | None = Field(
        None,
        pattern=r"^([a-z][a-z0-9-]{0,30})?$",
        description='Name prefix for the server\'s tools (default: derived from the entry id); "" keeps '
        "the server's own tool and prompt names (refused if one clashes with another tool).",
    )
    expose: Literal["direct", "search"] | None = Field(
        None,
        description="direct: its tools join the tool list; search: they stay out of it (found with "
        "registry_search, called with registry_exec), which keeps the context small. Default: the "
        "registry's setting.",
    )
    host: str | None = Field(
        None,
        max_length=63,
        description="The Podman host to run it on, one the user configured (see registry_status); default: local.",
    )


class ExecArgs(_Arguments):
    tool_name: Text = Field(description="Exposed tool name: <prefix>_<tool>.")
    arguments: dict[str, Any] = Field(default_factory=dict, description="The tool's arguments.")
    background: bool = Field(
        False, description="Return a task id at once and run the call in the background (see registry_task)."
    )


class RemoveArgs(_Arguments):
    entry_id_or_prefix: Text = Field(description="The entry id or the prefix.")


class ConfigSetArgs(_Arguments):
    entry_id: Text = Field(description="Catalog entry id.")
    values: dict[str, Any] = Field(description="NAME: value pairs.")


MAX_SLICE_CHARS = 1024 * 1024


class GetContentArgs(_Arguments):
    ref: Text = Field(description="The reference of an offloaded result, e.g. '3fa9c1-1' (or its mcp-registry:// URI).")
    offset: int = Field(0, ge=0, description="The first character to return (Unicode code points from 0).")
    length: int = Field(32 * 1024, ge=1, le=MAX_SLICE_CHARS, description="How many characters, at most.")
    part: int | None = Field(
        None,
        ge=0,
        description="A part's index, as the result listed its parts: a text part is sliced on its own, "
        "any other part (image, structured content, …) comes back whole.",
    )


class TaskArgs(_Arguments):
    task_id: Text = Field(description="The id registry_exec(..., background=true) returned.")
    wait_seconds: float = Field(0, ge=0, le=300, description="Wait up to this long for the task to finish.")
    cancel: bool = Field(False, description="Cancel the task instead.")


class _CompactSchema(GenerateJsonSchema):
    """JSON Schema without the generated `title`s and with `X | None` shown as plain `X`."""

    def generate(self, schema: CoreSchema, mode: Any = "validation") -> JsonSchemaValue:
        return _compact(super().generate(schema, mode))


def _compact(node: Any) -> Any:
    if isinstance(node, dict):
        variants = node.get("anyOf")
        if isinstance(variants, list) and {"type": "null"} in variants and len(variants) == 2:
            (kept,) = [v for v in variants if v != {"type": "null"}]
            node = {**{k: v for k, v in node.items() if k != "anyOf"}, **kept}
            if node.get("default", ...) is None:
                del node["default"]
        return {k: _compact(v) for k, v in node.items() if k != "title"}
    if isinstance(node, list):
        return [_compact(v) for v in node]
    return node


@dataclass(frozen=True)
class RegistryTool:
    name: str
    description: str
    arguments: type[_Arguments]
    annotations: dict[str, bool]

    def definition(self) -> dict[str, Any]:
        schema = self.arguments.model_json_schema(schema_generator=_CompactSchema)
        schema.setdefault("properties", {})
        return {
            "name": self.name,
            "description": self.description,
            "inputSchema": schema,
            "annotations": self.annotations,
        }


_READ_ONLY = {"readOnlyHint": True, "openWorldHint": False}
_TOOLS = (
    RegistryTool(
        "registry_search",
        "Find MCP servers and tools by what they do, e.g. 'sqlite' or 'create a table'. Returns ranked "
        "servers (results: with their known tools; an active one's live tools, by the names to call) and "
        "tools (tools: of active servers by exposed name, callable now; of others by entry and tool name).",
        SearchArgs,
        _READ_ONLY,
    ),
    RegistryTool(
        "registry_list", "List every catalog entry (id and name), marking the active ones.", NoArgs, _READ_ONLY
    ),
    RegistryTool(
        "registry_info",
        "Show one catalog entry in full: description, image, known tools, the configuration "
        "and secrets it needs (names only), volumes and network.",
        InfoArgs,
        _READ_ONLY,
    ),
    RegistryTool(
        "registry_tool_info",
        "Show one tool in full: an active tool's definition (input and output schema, annotations) by "
        "its exposed name, or what the catalog knows of a tool of a server not active yet.",
        ToolInfoArgs,
        _READ_ONLY,
    ),
    RegistryTool(
        "registry_add",
        "Activate a catalog entry: start its MCP server in a hardened Podman container and "
        "make its tools callable as <prefix>_<tool> (directly, and through registry_exec).",
        AddArgs,
        {"readOnlyHint": False, "destructiveHint": False, "openWorldHint": True},
    ),
    RegistryTool(
        "registry_exec",
        "Call a tool of an active server by its exposed name, e.g. "
        "registry_exec('sqlite_list_tables', {}). Returns the server's result.",
        ExecArgs,
        {"openWorldHint": True},
    ),
    RegistryTool(
        "registry_remove",
        "Deactivate a server: stop its container (nothing is left behind) and withdraw its tools.",
        RemoveArgs,
        {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True},
    ),
    RegistryTool(
        "registry_status",
        "Podman availability, and for each active server: entry, prefix, container, image, "
        "uptime, tool count, calls served and last error; and the size of the tool list (an estimate "
        "of its tokens).",
        NoArgs,
        _READ_ONLY,
    ),
    RegistryTool(
        "registry_config_set",
        "Store configuration for a catalog entry: environment values and secrets by name "
        "(secret values are kept in a private file and never shown). An empty value unsets; a stored "
        "value is replaced. 'volume:<name>' turns a declared volume off, or on only when the user "
        "allows it in the editor (it mounts part of their machine). Applied the next time the entry is added.",
        ConfigSetArgs,
        {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True, "openWorldHint": False},
    ),
    RegistryTool(
        "registry_get_content",
        "Read more of a large tool result the registry offloaded (its reply gave a preview and a ref). "
        "Text comes in slices by character offset: the result's text items joined in order, offsets in "
        "Unicode code points, e.g. registry_get_content(ref, offset=4096, length=32768). Other parts "
        "(images, structured content, …) come back whole with part=<index>. References last until the "
        "registry exits or evicts the result (oldest first).",
        GetContentArgs,
        _READ_ONLY,
    ),
    RegistryTool(
        "registry_task",
        "A background call's status, progress so far and, once it finished, its result "
        "(start one with registry_exec(..., background=true)); wait_seconds waits for it, cancel=true cancels it.",
        TaskArgs,
        {"readOnlyHint": False, "destructiveHint": False, "openWorldHint": False},
    ),
)

REGISTRY_TOOLS: list[dict[str, Any]] = [tool.definition() for tool in _TOOLS]
REGISTRY_TOOL_NAMES = frozenset(tool.name for tool in _TOOLS)
_ARGUMENTS = {tool.name: tool.arguments for tool in _TOOLS}

_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "dict_type": "an object",
    "bool_type": "a boolean",
}


def parse_arguments(tool_name: str, arguments: Any) -> Any:
    """`arguments` checked against the tool's model and returned as that model; raise ArgumentError."""
    model = _ARGUMENTS[tool_name]
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ArgumentError(f"{tool_name}: arguments must be an object, not {type(arguments).__name__}")
    try:
        return model.model_validate(arguments)
    except ValidationError as error:
        raise ArgumentError(_describe(tool_name, model, error)) from None


def _describe(tool_name: str, model: type[_Arguments], error: ValidationError) -> str:
    problems = error.errors(include_url=False, include_input=False)
    missing = [str(p["loc"][0]) for p in problems if p["type"] == "missing"]
    unknown = [str(p["loc"][0]) for p in problems if p["type"] == "extra_forbidden"]
    lines = []
    if missing:
        lines.append(f"missing required argument(s): {', '.join(missing)}")
    if unknown:
        expected = ", ".join(model.model_fields) or "none"
        lines.append(f"unexpected argument(s) {', '.join(map(repr, unknown))[:200]}; expected: {expected}")
    for problem in problems:
        if problem["type"] in {"missing", "extra_forbidden"}:
            continue
        name = ".".join(str(part) for part in problem["loc"])
        if (word := _TYPE_WORDS.get(problem["type"])) is not None:
            lines.append(f"{name} must be {word}")
        elif problem["type"] == "string_pattern_mismatch" and problem.get("ctx", {}).get("pattern") == _NO_NUL:
            lines.append(f"{name} must not contain NUL bytes")
        else:
            lines.append(f"{name}: {problem['msg']}")
    return f"{tool_name}: " + "; ".join(lines)

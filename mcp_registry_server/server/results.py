"""Every tool result the editor sees, built in one place, for every dispatch path and protocol version.

- `routed_result(outcome, method, version)`: what a child answered to a routed request
  (`tools/call`, `prompts/get`, `resources/read`), checked against the SDK's per-version
  surface for the editor's protocol version (`mcp_types.methods.SERVER_RESULTS`). This is the
  registry's one rule for a child that breaks the protocol: a tools/call result the surface
  rejects becomes a tool error that names the server and says what was wrong, so the model
  reads it and the call does not look like a registry crash; for the other methods, which
  have no error result, it is a JSON-RPC error (-32603) with the same text. A valid result
  goes on in the surface's shape (`ShapedResult`: fields the editor's version does not define
  are dropped), as the SDK's runner would give it on every path.
- 2026-07-28 editors require `resultType`; a handshake-era child's results get
  `"complete"` before they are checked. A 2026-07-28 child's `serverInfo` stamp is taken off:
  to the editor, the registry is the server (the SDK stamps the registry's).
- `offload_large(result, version, store)`: a routed tool result past `MCP_REGISTRY_OFFLOAD_BYTES`
  (`registry.offload`) becomes its preview: the first `PREVIEW_CHARS` characters of its text, a
  note with its size, its parts and how to read on (`registry_get_content`), its
  `structuredContent` kept inline when it is small or the tool declares an outputSchema (editors
  then refuse a result without it; the SDK's client does), and (editors on 2025-06-18 or later, which know the type) a
  `resource_link` to `mcp-registry://results/<ref>`. `isError`, `_meta` and `resultType` stay.
  Below the threshold it costs one `result_size` (a few dict lookups per content item).
  `slice_result` and `part_result` are `registry_get_content`'s answers.
- `text_result(payload)` and `error_result(text)`: the registry's own tool results.
"""

from __future__ import annotations

import json
from functools import cache
from types import UnionType
from typing import Any, cast, get_args

from mcp_types import INTERNAL_ERROR, SERVER_INFO_META_KEY
from mcp_types.methods import CACHEABLE_METHODS, SERVER_RESULTS
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import TypeAdapter, ValidationError

from mcp_registry_server.registry import CallOutcome, RequestError
from mcp_registry_server.registry.offload import (
    PREVIEW_CHARS,
    OffloadError,
    OffloadStore,
    Part,
    TextSlice,
    result_size,
)

__all__ = [
    "ShapedResult",
    "error_result",
    "offload_large",
    "part_result",
    "routed_result",
    "slice_result",
    "text_result",
]

# How much of the surface's complaint an invalid-result error quotes.
_PROBLEM_CHARS = 300
# The first version that defines `resource_link` content; older editors may refuse the whole result.
_RESOURCE_LINK_SINCE = "2025-06-18"
SLICE_META = "io.mcp-registry/slice"


@cache
def _surface(method: str, version: str, input_required: bool) -> TypeAdapter[Any]:
    """The surface model of one result arm. 2026-07-28 rows are unions (complete | input_required);
    checking against the union would let a broken complete result pass as an empty
    input_required one, so the arm is chosen by `resultType`."""
    row = SERVER_RESULTS[(method, version)]
    arms = get_args(row) if isinstance(row, UnionType) else (row,)
    chosen = [arm for arm in arms if (arm.__name__ == "InputRequiredResult") == input_required]
    return TypeAdapter(cast(Any, chosen[0] if chosen else row))


def error_result(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": True}


def text_result(payload: Any, *, is_error: bool = False) -> dict[str, Any]:
    """A registry tool's result: text for the model, and the same data as structuredContent."""
    if isinstance(payload, str):
        return {"content": [{"type": "text", "text": payload}], "isError": is_error}
    return {
        "content": [{"type": "text", "text": json.dumps(payload, indent=2, ensure_ascii=False)}],
        "structuredContent": payload,
        "isError": is_error,
    }


def routed_result(outcome: CallOutcome, method: str, version: str) -> dict[str, Any]:
    """The result to send the editor for a routed `method`; see the module docstring."""
    result = outcome.result
    meta = result.get("_meta")
    if isinstance(meta, dict) and SERVER_INFO_META_KEY in meta:
        # A 2026-07-28 child's identity stamp: the editor's server is the registry, which stamps its own.
        result = {**result, "_meta": {k: v for k, v in meta.items() if k != SERVER_INFO_META_KEY}}
    if version in MODERN_PROTOCOL_VERSIONS and "resultType" not in result:
        result = {**result, "resultType": "complete"}
    if version in MODERN_PROTOCOL_VERSIONS and method in CACHEABLE_METHODS and result.get("resultType") == "complete":
        # An older child's read carries no cache hint; the registry's own (never fresh, never shared) applies.
        result = {"ttlMs": 0, "cacheScope": "private", **result}
    surface = _surface(method, version, result.get("resultType") == "input_required")
    try:
        validated = surface.validate_python(result, by_name=False)
    except ValidationError as error:
        return _invalid(outcome, method, _first_problem(error))
    return ShapedResult(surface.dump_python(validated, by_alias=True, mode="json", exclude_none=True))


class ShapedResult(dict[str, Any]):
    """A result already in the surface's shape for the editor's version: the sieve would not
    change it (it is idempotent), so the direct lane does not run it again."""


def _invalid(outcome: CallOutcome, method: str, problem: str) -> dict[str, Any]:
    server = f"The {outcome.server}" if outcome.server else "The server"
    text = (
        f"{server} returned an invalid {method} result ({problem}), so it was not passed on. "
        "This is a bug in that server; its log (mcp-registry logs) may say more."
    )
    if method != "tools/call":
        raise RequestError(INTERNAL_ERROR, text)
    return error_result(text)


def _first_problem(error: ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "result"
    return f"{where}: {first['msg']}"[:_PROBLEM_CHARS]


# --- large results ------------------------------------------------------------------------------


async def offload_large(
    result: dict[str, Any], version: str, store: OffloadStore, *, schema_bound: bool = False
) -> dict[str, Any]:
    """`result`, or its preview when it is past the store's threshold; see the module docstring.
    `schema_bound`: the tool declares an outputSchema, so the structuredContent stays inline whatever its size."""
    if not store.wants(result):
        return result
    too_big = f"this result is {result_size(result):,} bytes, more than the {store.threshold:,} sent at once"
    try:
        offloaded = await store.put(result)
    except OffloadError as error:
        note = f"{too_big}; only this preview could be kept: {error}."
        return _with_structured(_kept_around(result, _leading_text(result), note, []), result, schema_bound)
    read_on = (
        f'Read on with registry_get_content(ref="{offloaded.ref}", offset={len(offloaded.preview)}).'
        if offloaded.text_chars > len(offloaded.preview)
        else ""
    )
    shown = (
        f"Above: characters 0 to {len(offloaded.preview) - 1:,} of its {offloaded.text_chars:,} characters of text. "
    )
    note = (
        f"{too_big}, so it is kept as reference {offloaded.ref!r} ({offloaded.uri}). "
        + (shown if offloaded.preview else "")
        + read_on
        + " Parts: "
        + "; ".join(_describe_part(offloaded.ref, part) for part in offloaded.parts)
        + "."
    )
    extra: list[dict[str, Any]] = []
    if version >= _RESOURCE_LINK_SINCE:
        only_text = all(part.type == "text" for part in offloaded.parts)
        extra.append(
            {
                "type": "resource_link",
                "uri": offloaded.uri,
                "name": f"result-{offloaded.ref}",
                "description": "A large tool result the registry kept; resources/read gives all of it.",
                **({"mimeType": "text/plain"} if only_text else {}),
                "size": offloaded.size,
            }
        )
    structured = next((p for p in offloaded.parts if p.type == "structuredContent"), None)
    small = structured is not None and structured.size <= PREVIEW_CHARS
    return _with_structured(_kept_around(result, offloaded.preview, note, extra), result, schema_bound or small)


def _with_structured(preview: dict[str, Any], result: dict[str, Any], keep: bool) -> dict[str, Any]:
    if keep and "structuredContent" in result:
        preview["structuredContent"] = result["structuredContent"]
    return preview


def _kept_around(result: dict[str, Any], preview: str, note: str, extra: list[dict[str, Any]]) -> dict[str, Any]:
    """The preview result: `preview`, the note, `extra` items, and the result's own flags."""
    content: list[dict[str, Any]] = [{"type": "text", "text": preview}] if preview else []
    content.append({"type": "text", "text": f"[mcp-registry: {note}]"})
    kept: dict[str, Any] = {key: result[key] for key in ("_meta", "resultType", "isError") if key in result}
    return {**kept, "content": content + extra}


def _leading_text(result: dict[str, Any]) -> str:
    taken: list[str] = []
    room = PREVIEW_CHARS
    for item in result.get("content") or ():
        if room > 0 and isinstance(item, dict) and item.get("type") == "text" and isinstance(item.get("text"), str):
            taken.append(item["text"][:room])
            room -= len(taken[-1])
    return "".join(taken)


def _describe_part(ref: str, part: Part) -> str:
    if part.type == "text":
        span = f"characters {part.start:,} to {part.start + part.chars - 1:,}" if part.chars else "empty"
        return f"{part.index} text ({span})"
    what = f"{part.type} {part.mime_type}" if part.mime_type and part.type != "structuredContent" else part.type
    return f'{part.index} {what}, {part.size:,} bytes: registry_get_content(ref="{ref}", part={part.index})'


def slice_result(ref: str, piece: TextSlice, part: int | None) -> dict[str, Any]:
    """`registry_get_content`'s answer for text: the characters as they are, then where they were."""
    end = piece.offset + len(piece.text)
    where = f"text part {part}" if part is not None else "the text"
    after = (
        f'next: registry_get_content(ref="{ref}", offset={piece.next_offset}'
        + (f", part={part})" if part is not None else ")")
        if piece.next_offset is not None
        else "that is the end"
    )
    meta = {"ref": ref, "offset": piece.offset, "length": len(piece.text), "total_chars": piece.total_chars}
    return {
        "content": [
            {"type": "text", "text": piece.text},
            {
                "type": "text",
                "text": f"[mcp-registry: characters {piece.offset:,} to {end - 1:,} of the "
                f"{piece.total_chars:,} of {where} of result {ref!r}; {after}.]",
            },
        ],
        "_meta": {SLICE_META: {**meta, "next_offset": piece.next_offset}},
        "isError": False,
    }


def part_result(part: Part, value: Any) -> dict[str, Any]:
    """`registry_get_content`'s answer for a whole part: the content item, or the structured content."""
    if part.type == "structuredContent":
        return text_result(value)
    return {"content": [value], "isError": False}

"""Edit one table of a TOML document (Codex's `config.toml`), leaving the rest as it was.

Contract:
- `parse(text)` returns the document as plain data (parsed by tomlkit); anything that is not
  TOML raises `TOMLError` with the line and column.
- `set_member(text, path, key, value)` returns `text` with the table `path.key` set to `value`
  (a dict: scalars and arrays become keys of `[path.key]`, dicts its sub-tables, e.g.
  `[mcp_servers.NAME.env]`, the layout Codex writes itself). `remove_member(text, path, key)`
  returns `text` without it. Both return `text` itself when there is nothing to change.
- In the usual layout (each server under its own `[path.key]` headers) the new tables are rendered
  by tomlkit and spliced in as one block after the last table under `path` (else after the
  document's last line), one blank line before it; an existing entry's block is replaced where it
  is. Every other byte stays: comments, blank lines, key order, quoting. Removal cuts the block and
  that blank line out again, so `remove_member(set_member(t, ...), ...) == t`. Line endings
  (LF or CRLF) follow the document.
- tomlkit's own structural edit (it keeps comments and order, though blank lines may move)
  handles what a block cannot: servers written as an inline table, an entry written as dotted
  keys. Either way the result is parsed again and must hold exactly the intended data.
- Comments inside our own tables are not kept on update: those tables are ours.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

__all__ = ["TOMLError", "parse", "remove_member", "set_member"]


class TOMLError(ValueError):
    """The text is not TOML, or the edit does not fit its structure."""


def parse(text: str) -> dict[str, Any]:
    """The document as plain Python data; {} for an empty one."""
    try:
        return tomlkit.parse(text).unwrap()
    except TOMLKitError as error:
        raise TOMLError(str(error)) from None


# --- where the tables are --------------------------------------------------------------------


@dataclass(frozen=True)
class _Section:
    """A `[table]` or `[[array]]` header and its body, up to the next header."""

    path: tuple[str, ...]
    start: int  # where the header's line starts
    end: int  # where its last line holding a key or value ends (before the line break)
    # Where its last line that is not blank ends, leaving out comments that sit right on top
    # of the next header (they belong to that one): a new table goes here.
    tail: int


@dataclass(frozen=True)
class _Layout:
    sections: list[_Section]
    last_line_end: int | None  # where the document's last line that is not blank ends


def _header_path(header: str) -> tuple[str, ...]:
    # The header line alone is a TOML document: {"a": {"b": {}}} for [a.b], {"a": [{}]} for [[a]].
    node: Any = tomllib.loads(header)
    path: list[str] = []
    while isinstance(node, dict) and len(node) == 1:
        key, node = next(iter(node.items()))
        path.append(key)
        node = node[0] if isinstance(node, list) and node else node
    return tuple(path)


def _scan(text: str) -> _Layout:
    """Where the tables are. A lexer just deep enough to tell a header from a `[` inside a string or
    an array: it follows the four kinds of strings, comments, and bracket depth."""
    lines: list[tuple[int, str]] = []  # per line: where it ends, and "blank", "comment" or "content"
    headers: list[tuple[int, int, tuple[str, ...]]] = []  # line number, where its line starts, path
    size, i, depth, line_start, kind = len(text), 0, 0, 0, "blank"

    def close_line(newline_at: int) -> None:
        lines.append((newline_at - 1 if text.endswith("\r", 0, newline_at) else newline_at, kind))

    while i < size:
        char = text[i]
        if char == "\n":
            close_line(i)
            i, line_start, kind = i + 1, i + 1, "blank"
        elif char in " \t\r":
            i += 1
        elif char == "#":
            kind = "comment" if kind == "blank" else kind
            newline = text.find("\n", i)
            i = size if newline < 0 else newline
        elif char == "[" and depth == 0 and kind == "blank":
            newline = text.find("\n", i)
            end = size if newline < 0 else newline
            headers.append((len(lines), line_start, _header_path(text[i:end].rstrip("\r"))))
            kind, i = "content", end
        elif char in "\"'":
            kind = "content"
            quote = char * 3 if text.startswith(char * 3, i) else char
            i += len(quote)
            while i < size and not text.startswith(quote, i):
                if text[i] == "\\" and char == '"':
                    i += 1
                elif text[i] == "\n":  # only a multi-line string gets here; its lines are content
                    close_line(i)
                    line_start = i + 1
                i += 1
            i += len(quote)
            while len(quote) == 3 and i < size and text[i] == char:  # """a"""" ends with a quote inside
                i += 1
        else:
            kind = "content"
            depth += (char in "[{") - (char in "]}")
            i += 1
    close_line(size)

    sections = []
    for index, (first, start, path) in enumerate(headers):
        last = headers[index + 1][0] if index + 1 < len(headers) else len(lines)
        body = lines[first:last]
        end = max(line_end for line_end, line_kind in body if line_kind == "content")
        keep = len(body)
        if index + 1 < len(headers):
            while body[keep - 1][1] == "comment":
                keep -= 1
        tail = max(line_end for line_end, line_kind in body[:keep] if line_kind != "blank")
        sections.append(_Section(path, start, end, tail))
    filled = [line_end for line_end, line_kind in lines if line_kind != "blank"]
    return _Layout(sections, filled[-1] if filled else None)


def _block_of(sections: list[_Section], full: tuple[str, ...]) -> tuple[int, int] | None:
    """The span of the tables under `full`, when they are all there is of it and sit together."""
    ours = [index for index, section in enumerate(sections) if section.path[: len(full)] == full]
    if not ours or ours != list(range(ours[0], ours[-1] + 1)):
        return None
    return sections[ours[0]].start, sections[ours[-1]].end


# --- rendering and checking ------------------------------------------------------------------


def _render(full: tuple[str, ...], value: dict[str, Any], newline: str) -> str:
    """`value` as the tables `[full]`, `[full.sub]`…, without a final line break."""
    document = tomlkit.document()
    parent: Any = document
    for segment in full[:-1]:
        table = tomlkit.table(is_super_table=True)
        parent.add(segment, table)
        parent = table
    # Plain keys first: one written after a sub-table header would belong to that sub-table.
    ordered = sorted(value.items(), key=lambda item: isinstance(item[1], dict))
    parent.add(full[-1], tomlkit.item(dict(ordered)))
    return tomlkit.dumps(document).strip("\n").replace("\n", newline)


def _node(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = data
    for depth, segment in enumerate(path):
        if not isinstance(node, dict) or segment not in node:
            return None
        node = node[segment]
        if not isinstance(node, dict):
            raise TOMLError(f"'{'.'.join(path[: depth + 1])}' is a {type(node).__name__}, not a table")
    return node


def _holds(text: str, *expected: dict[str, Any]) -> bool:
    try:
        return parse(text) in expected
    except TOMLError:
        return False


def _inline(value: Any) -> Any:
    """`value` with every dict as an inline table, for a parent that is one."""
    if not isinstance(value, dict):
        return value
    table = tomlkit.inline_table()
    table.update({key: _inline(item) for key, item in value.items()})
    return table


def _structural_edit(text: str, path: tuple[str, ...], key: str, value: dict[str, Any] | None) -> str:
    """tomlkit's own edit: for layouts a block cannot express (see the module contract)."""
    document = tomlkit.parse(text)
    node: Any = document
    try:
        for segment in path:
            if segment not in node:
                node.add(segment, tomlkit.table(is_super_table=True))
            node = node[segment]
        if value is None:
            del node[key]
        else:
            node[key] = _inline(value) if isinstance(node, tomlkit.items.InlineTable) else tomlkit.item(value)
    except (TOMLKitError, ValueError) as error:
        raise TOMLError(f"tomlkit cannot edit '{'.'.join((*path, key))}' here ({error})") from None
    return document.as_string()


def _before_break(text: str, position: int) -> int:
    """`position` moved back over the line break that ends there, if one does."""
    if text.endswith("\r\n", 0, position):
        return position - 2
    return position - 1 if text.endswith("\n", 0, position) else position


# --- edits -----------------------------------------------------------------------------------


def set_member(text: str, path: tuple[str, ...], key: str, value: dict[str, Any]) -> str:
    """`text` with the table `path.key` set to `value`; see the module contract."""
    data = parse(text)
    servers = _node(data, path)
    if isinstance(servers, dict) and servers.get(key) == value:
        return text
    expected = copy.deepcopy(data)
    node = expected
    for segment in path:
        node = node.setdefault(segment, {})
    node[key] = value

    newline = "\r\n" if "\r\n" in text else "\n"
    block = _render((*path, key), value, newline)
    layout = _scan(text)
    if isinstance(servers, dict) and key in servers:
        span = _block_of(layout.sections, (*path, key))
        after = None if span is None else text[: span[0]] + block + text[span[1] :]
    else:
        siblings = [section for section in layout.sections if section.path[: len(path)] == path]
        anchor = siblings[-1].tail if siblings else layout.last_line_end
        after = block + newline + text if anchor is None else text[:anchor] + newline * 2 + block + text[anchor:]
    if after is not None and _holds(after, expected):
        return after
    after = _structural_edit(text, path, key, value)
    if not _holds(after, expected):
        raise TOMLError(f"the table '{'.'.join(path)}' cannot take another entry in this layout")
    return after


def remove_member(text: str, path: tuple[str, ...], key: str) -> str:
    """`text` without the table `path.key`; see the module contract."""
    data = parse(text)
    servers = _node(data, path)
    if not isinstance(servers, dict) or key not in servers:
        return text
    kept = copy.deepcopy(data)
    node = kept
    for segment in path:
        node = node[segment]
    del node[key]
    # A servers table left empty goes away with our block unless it has a header of its own.
    pruned = copy.deepcopy(kept)
    if path and not _node(pruned, path):
        parent = _node(pruned, path[:-1]) if len(path) > 1 else pruned
        del parent[path[-1]]

    span = _block_of(_scan(text).sections, (*path, key))
    if span is not None:
        start, end = span
        if start == 0:  # our block opens the document: take the line break after it
            end += 2 if text.startswith("\r\n", end) else int(text.startswith("\n", end))
        else:  # take the line break before the header, and the blank line before it if there is one
            start = _before_break(text, start)
            if text.endswith("\n", 0, start):
                start = _before_break(text, start)
        after = text[:start] + text[end:]
        if _holds(after, pruned, kept):
            return after
    after = _structural_edit(text, path, key, None)
    if not _holds(after, pruned, kept):
        raise TOMLError(f"the entry '{key}' cannot be removed from '{'.'.join(path)}' in this layout")
    return after

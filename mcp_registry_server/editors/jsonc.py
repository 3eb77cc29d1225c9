"""Edit one member of a JSONC document (JSON with comments and trailing commas), leaving the rest as it was.

Contract:
- `parse(text)` reads JSON plus `//` and `/* */` comments and trailing commas in objects and
  arrays (what Zed and VS Code accept), and returns a tree in which every value knows its span in
  `text`. Anything else that is not JSON (single quotes, unquoted keys, NaN, a second top-level
  value) raises `JSONCError` with the line and column.
- `set_member(text, path, key, value)` returns `text` with `key` set to `value` in the object at
  `path` (a tuple of keys from the root), creating the objects on `path` that are missing.
  `remove_member(text, path, key)` returns `text` without `key`, and then removes the objects on
  `path` that were left with nothing but whitespace inside (they were, as a rule, created by
  `set_member`). Both return `text` itself when there is nothing to change.
- Only the edited member's own bytes change, plus the one separating comma that must appear or
  go, and the line break and indentation that set the new member on its own line. Comments,
  trailing commas, blank lines, key order and formatting elsewhere stay byte-for-byte. The
  member's indentation, the indent unit and the line ending (LF or CRLF) follow the document.
  Removal is the exact inverse of insertion: `remove_member(set_member(t, ...), ...) == t` when the
  object at `path` already held another member (or did not exist). Comments inside the edited
  member itself are not kept: that member is ours.
- When a key occurs more than once in an object (JSON parsers keep the last), `set_member`
  edits the last occurrence and `remove_member` removes them all.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["JSONCError", "Member", "Node", "empty_document", "parse", "remove_member", "set_member", "to_python"]

_MAX_DEPTH = 200
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"', re.DOTALL)
_LITERALS = {"true": True, "false": False, "null": None}
_SPACE = " \t\r\n\ufeff"


class JSONCError(ValueError):
    """The text is not JSON with comments; `line` and `column` (1-based) say where it went wrong."""

    def __init__(self, message: str, text: str = "", position: int = 0) -> None:
        self.line = text.count("\n", 0, position) + 1
        self.column = position - (text.rfind("\n", 0, position) + 1) + 1
        self.reason = message
        super().__init__(f"{message} (line {self.line}, column {self.column})" if text else message)


@dataclass
class Member:
    key: str
    key_start: int
    value: Node


@dataclass
class Node:
    """A value and its span: `text[start:end]` is exactly the value's source."""

    kind: Literal["object", "array", "string", "number", "literal"]
    start: int
    end: int
    scalar: Any = None
    members: list[Member] = field(default_factory=list)
    items: list[Node] = field(default_factory=list)

    def last_member(self, key: str) -> Member | None:
        return next((member for member in reversed(self.members) if member.key == key), None)


def to_python(node: Node) -> Any:
    """The node as plain Python data; a repeated key keeps its last value, as JSON parsers do."""
    if node.kind == "object":
        return {member.key: to_python(member.value) for member in node.members}
    if node.kind == "array":
        return [to_python(item) for item in node.items]
    return node.scalar


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str, position: int | None = None) -> JSONCError:
        return JSONCError(message, self.text, self.pos if position is None else position)

    def skip(self) -> None:
        """Skip whitespace and comments."""
        text, size = self.text, len(self.text)
        while self.pos < size:
            char = text[self.pos]
            if char in _SPACE:
                self.pos += 1
            elif text.startswith("//", self.pos):
                newline = text.find("\n", self.pos)
                self.pos = size if newline < 0 else newline
            elif text.startswith("/*", self.pos):
                close = text.find("*/", self.pos + 2)
                if close < 0:
                    raise self.fail("a /* comment is never closed")
                self.pos = close + 2
            else:
                return

    def document(self) -> Node | None:
        self.skip()
        if self.pos == len(self.text):
            return None
        root = self.value(0)
        self.skip()
        if self.pos != len(self.text):
            raise self.fail("unexpected text after the end of the document")
        return root

    def value(self, depth: int) -> Node:
        if depth > _MAX_DEPTH:
            raise self.fail(f"values are nested more than {_MAX_DEPTH} deep")
        text, start = self.text, self.pos
        char = text[start] if start < len(text) else ""
        if char == "{":
            return self.container(depth, "object")
        if char == "[":
            return self.container(depth, "array")
        if char == '"':
            return Node("string", start, self.string_end(), scalar=self.string_value(start, self.pos))
        if match := _NUMBER.match(text, start):
            self.pos = match.end()
            return Node("number", start, self.pos, scalar=json.loads(match.group()))
        for word, scalar in _LITERALS.items():
            if text.startswith(word, start):
                self.pos = start + len(word)
                return Node("literal", start, self.pos, scalar=scalar)
        if not char:
            raise self.fail("the document ends where a value should be")
        if char == "'":
            raise self.fail("strings must use double quotes")
        raise self.fail(f"unexpected {char!r} where a value should be")

    def string_end(self) -> int:
        match = _STRING.match(self.text, self.pos)
        if match is None:
            raise self.fail("a string is not closed, or holds a raw control character")
        self.pos = match.end()
        return self.pos

    def string_value(self, start: int, end: int) -> str:
        try:
            return json.loads(self.text[start:end])
        except json.JSONDecodeError as error:
            raise self.fail(f"bad escape in a string ({error.msg})", start) from None

    def container(self, depth: int, kind: Literal["object", "array"]) -> Node:
        node = Node(kind, self.pos, -1)
        close = "}" if kind == "object" else "]"
        self.pos += 1
        while True:
            self.skip()
            if self.pos >= len(self.text):
                raise self.fail(
                    f"the {kind} opened at line {self.text.count(chr(10), 0, node.start) + 1} is not closed"
                )
            if self.text[self.pos] == close:
                self.pos += 1
                node.end = self.pos
                return node
            if kind == "object":
                node.members.append(self.member(depth))
            else:
                node.items.append(self.value(depth + 1))
            self.skip()
            if self.pos < len(self.text) and self.text[self.pos] == ",":
                self.pos += 1  # a comma before the closing bracket is a trailing comma, which JSONC allows
            elif self.pos >= len(self.text) or self.text[self.pos] != close:
                raise self.fail(f"expected ',' or '{close}'")

    def member(self, depth: int) -> Member:
        key_start = self.pos
        if self.text[key_start] != '"':
            raise self.fail("object keys must be strings in double quotes")
        key = self.string_value(key_start, self.string_end())
        self.skip()
        if self.pos >= len(self.text) or self.text[self.pos] != ":":
            raise self.fail("expected ':' after the key")
        self.pos += 1
        self.skip()
        return Member(key, key_start, self.value(depth + 1))


def parse(text: str) -> Node | None:
    """The document's root value, or None when `text` holds only whitespace and comments."""
    return _Parser(text).document()


# --- formatting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Style:
    newline: str
    unit: str
    compact: bool  # the whole document is on one line

    @classmethod
    def of(cls, text: str) -> _Style:
        newline = "\r\n" if "\r\n" in text else "\n"
        unit = "  "
        for line in text.splitlines():
            stripped = line.lstrip(" \t")
            if stripped.startswith('"') and len(stripped) < len(line):
                unit = line[: len(line) - len(stripped)]
                break
        return cls(newline, unit, "\n" not in text.strip())

    def dump(self, value: Any, indent: str) -> str:
        if self.compact:
            return json.dumps(value, ensure_ascii=False)
        return json.dumps(value, indent=self.unit, ensure_ascii=False).replace("\n", self.newline + indent)


def _line_start(text: str, position: int) -> int:
    return text.rfind("\n", 0, position) + 1


def _indent_of_line(text: str, position: int) -> str:
    start = _line_start(text, position)
    line = text[start:position]
    return line[: len(line) - len(line.lstrip(" \t"))]


def _starts_line(text: str, position: int) -> bool:
    return text[_line_start(text, position) : position].strip(" \t") == ""


def _skip_space_and_comments(text: str, position: int) -> int:
    parser = _Parser(text)
    parser.pos = position
    parser.skip()
    return parser.pos


def _end_of_line(text: str, position: int) -> int:
    """Where the line of `position` ends, if only spaces and comments follow on it; else `position`.

    A new member goes there, so a comment that trails the previous member stays with it.
    """
    cursor = position
    while cursor < len(text):
        if text[cursor] in " \t":
            cursor += 1
        elif text.startswith("//", cursor):
            newline = text.find("\n", cursor)
            cursor = len(text) if newline < 0 else newline
        elif text.startswith("/*", cursor):
            close = text.find("*/", cursor + 2)
            if close < 0 or "\n" in text[cursor:close]:
                return position
            cursor = close + 2
        else:
            break
    if cursor >= len(text) or text[cursor] == "\n":
        return cursor - 1 if cursor > 0 and text[cursor - 1 : cursor] == "\r" else cursor
    if text.startswith("\r\n", cursor):
        return cursor
    return position


def _comma_after(text: str, position: int) -> int | None:
    """The index of the comma that follows a value ending at `position`, if any."""
    cursor = _skip_space_and_comments(text, position)
    return cursor if cursor < len(text) and text[cursor] == "," else None


def _splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


# --- edits -----------------------------------------------------------------------------------


def empty_document(newline: str = "\n") -> str:
    """What `remove_member` leaves of a document that `set_member` created from nothing."""
    return "{" + newline + "}" + newline


def _insert_member(text: str, obj: Node, key: str, value: Any, style: _Style) -> str:
    compact = style.compact or (bool(obj.members) and "\n" not in text[obj.start : obj.end])
    if compact:
        member = f"{json.dumps(key, ensure_ascii=False)}: {json.dumps(value, ensure_ascii=False)}"
        if not obj.members:
            return _splice(text, [(obj.start + 1, obj.start + 1, member)])
        last_end = obj.members[-1].value.end
        comma = _comma_after(text, last_end)
        if comma is not None:
            return _splice(text, [(comma + 1, comma + 1, f" {member},")])
        return _splice(text, [(last_end, last_end, f", {member}")])

    if not obj.members:
        outer = _indent_of_line(text, obj.start)
        inner = outer + style.unit
        member = f"{json.dumps(key, ensure_ascii=False)}: {style.dump(value, inner)}"
        closing = "" if "\n" in text[obj.start : obj.end] else style.newline + outer
        return _splice(text, [(obj.start + 1, obj.start + 1, style.newline + inner + member + closing)])

    last = obj.members[-1]
    if _starts_line(text, last.key_start):
        indent = _indent_of_line(text, last.key_start)
    else:
        indent = _indent_of_line(text, obj.start) + style.unit
    member = f"{json.dumps(key, ensure_ascii=False)}: {style.dump(value, indent)}"
    comma = _comma_after(text, last.value.end)
    if comma is not None:  # the object uses trailing commas: so does the new last member
        at = _end_of_line(text, comma + 1)
        return _splice(text, [(at, at, style.newline + indent + member + ",")])
    at = _end_of_line(text, last.value.end)
    if at == last.value.end:
        return _splice(text, [(at, at, "," + style.newline + indent + member)])
    return _splice(text, [(last.value.end, last.value.end, ","), (at, at, style.newline + indent + member)])


def _remove_member_at(text: str, obj: Node, index: int) -> str:
    member = obj.members[index]
    start = member.key_start
    while start > 0 and text[start - 1] in " \t":
        start -= 1
    if start == 0 or text[start - 1] == "\n":  # the member began its line: take the line break before it too
        if start > 0:
            start -= 2 if start > 1 and text[start - 2] == "\r" else 1
    comma = _comma_after(text, member.value.end)
    if comma is not None:
        return _splice(text, [(start, comma + 1, "")])
    edits = [(start, member.value.end, "")]
    if index > 0:
        previous_comma = _comma_after(text, obj.members[index - 1].value.end)
        if previous_comma is not None:
            edits.append((previous_comma, previous_comma + 1, ""))
    return _splice(text, edits)


def _require_object(node: Node, where: str) -> Node:
    if node.kind != "object":
        raise JSONCError(f"{where} is {'an' if node.kind in {'object', 'array'} else 'a'} {node.kind}, not an object")
    return node


def _where(path: tuple[str, ...]) -> str:
    return "the document" if not path else "'" + ".".join(path) + "'"


def set_member(text: str, path: tuple[str, ...], key: str, value: Any) -> str:
    """`text` with `key` set to `value` in the object at `path`; see the module contract."""
    style = _Style.of(text)
    root = parse(text)
    if root is None:
        nested: Any = {key: value}
        for segment in reversed(path):
            nested = {segment: nested}
        document = json.dumps(nested, indent=style.unit, ensure_ascii=False).replace("\n", style.newline)
        body = text.rstrip(_SPACE)
        return (body + style.newline if body else "") + document + style.newline
    obj = _require_object(root, "the document")
    for depth, segment in enumerate(path):
        member = obj.last_member(segment)
        if member is None:
            nested = {key: value}
            for rest in reversed(path[depth + 1 :]):
                nested = {rest: nested}
            return _insert_member(text, obj, segment, nested, style)
        obj = _require_object(member.value, _where(path[: depth + 1]))
    existing = obj.last_member(key)
    if existing is None:
        return _insert_member(text, obj, key, value, style)
    if to_python(existing.value) == value:
        return text
    if style.compact or "\n" not in text[obj.start : obj.end]:
        replacement = json.dumps(value, ensure_ascii=False)
    else:
        replacement = style.dump(value, _indent_of_line(text, existing.key_start))
    return _splice(text, [(existing.value.start, existing.value.end, replacement)])


def remove_member(text: str, path: tuple[str, ...], key: str) -> str:
    """`text` without `key` in the object at `path`, and without objects on `path` left empty."""
    root = parse(text)
    if root is None:
        return text
    trail = _find_path(root, path)
    if trail is None or trail[-1].last_member(key) is None:
        return text
    while (trail := _find_path(parse(text), path)) is not None and (obj := trail[-1]).last_member(key) is not None:
        index = max(i for i, member in enumerate(obj.members) if member.key == key)
        text = _remove_member_at(text, obj, index)
    for depth in range(len(path), 0, -1):
        trail = _find_path(parse(text), path[:depth])
        if trail is None:
            break
        obj, parent = trail[-1], trail[-2]
        if obj.members or text[obj.start + 1 : obj.end - 1].strip(_SPACE):
            break
        index = max(i for i, member in enumerate(parent.members) if member.key == path[depth - 1])
        text = _remove_member_at(text, parent, index)
    return text


def _find_path(root: Node | None, path: tuple[str, ...]) -> list[Node] | None:
    """The objects from the root down to the one at `path`, or None when one of them is missing."""
    if root is None or root.kind != "object":
        return None
    trail = [root]
    for segment in path:
        member = trail[-1].last_member(segment)
        if member is None or member.value.kind != "object":
            return None
        trail.append(member.value)
    return trail

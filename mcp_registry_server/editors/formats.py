"""The file formats editor configs come in, behind the one interface `installer` edits through.

Contract: a `DocumentFormat` reads a config as plain data (`load`: {} when it holds nothing, a
`DocumentError` when it is not a document of its kind or its root is not an object/table), edits
one member of the object at a path while every other byte stays (`set_member`, `remove_member`,
with `remove_member(set_member(t, ...), ...) == t`), and says what `remove_member` leaves of a
document that `set_member` created from nothing (`empty`), so uninstall can delete such a file.
`JSONC` (`jsonc`: Zed, VS Code, Claude, Cursor, Gemini, opencode) and `TOML` (`toml_doc`: Codex)
implement it. A `DocumentError` message completes "<file> …" and says where the problem is.
"""

from __future__ import annotations

from typing import Any, Protocol

from mcp_registry_server.editors import jsonc

__all__ = ["JSONC", "TOML", "DocumentError", "DocumentFormat"]


class DocumentError(ValueError):
    """The file cannot be read as its format, or cannot take the edit."""


class DocumentFormat(Protocol):
    name: str

    def load(self, text: str) -> dict[str, Any]: ...

    def set_member(self, text: str, path: tuple[str, ...], key: str, value: Any) -> str: ...

    def remove_member(self, text: str, path: tuple[str, ...], key: str) -> str: ...

    def empty(self, newline: str) -> str: ...


class _JSONC:
    name = "JSON"

    def load(self, text: str) -> dict[str, Any]:
        try:
            root = jsonc.parse(text)
        except jsonc.JSONCError as error:
            raise DocumentError(f"is not valid JSON: {error}") from None
        if root is None:
            return {}
        if root.kind != "object":
            raise DocumentError(f"holds a JSON {root.kind}, not an object")
        data: dict[str, Any] = jsonc.to_python(root)
        return data

    def set_member(self, text: str, path: tuple[str, ...], key: str, value: Any) -> str:
        try:
            return jsonc.set_member(text, path, key, value)
        except jsonc.JSONCError as error:
            raise DocumentError(str(error)) from None

    def remove_member(self, text: str, path: tuple[str, ...], key: str) -> str:
        try:
            return jsonc.remove_member(text, path, key)
        except jsonc.JSONCError as error:
            raise DocumentError(str(error)) from None

    def empty(self, newline: str) -> str:
        return jsonc.empty_document(newline)


class _TOML:
    # toml_doc (tomlkit) is imported on first use: only Codex's file needs it, and every start of
    # the command line, `serve` included, would pay for it otherwise.
    name = "TOML"

    def load(self, text: str) -> dict[str, Any]:
        from mcp_registry_server.editors import toml_doc

        try:
            return toml_doc.parse(text)
        except toml_doc.TOMLError as error:
            raise DocumentError(f"is not valid TOML: {error}") from None

    def set_member(self, text: str, path: tuple[str, ...], key: str, value: Any) -> str:
        from mcp_registry_server.editors import toml_doc

        try:
            return toml_doc.set_member(text, path, key, value)
        except toml_doc.TOMLError as error:
            raise DocumentError(str(error)) from None

    def remove_member(self, text: str, path: tuple[str, ...], key: str) -> str:
        from mcp_registry_server.editors import toml_doc

        try:
            return toml_doc.remove_member(text, path, key)
        except toml_doc.TOMLError as error:
            raise DocumentError(str(error)) from None

    def empty(self, newline: str) -> str:
        return ""  # toml_doc leaves nothing of a document it created


JSONC: DocumentFormat = _JSONC()
TOML: DocumentFormat = _TOML()

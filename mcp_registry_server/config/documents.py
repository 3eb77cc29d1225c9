"""The shape of `config.toml` and `secrets.toml`, as pydantic models that validate a parsed file once.

`config.toml`:  `[entries.<id>]` with `env = {NAME = "value"}`, `volumes = {name = true | false | "source"}`
                and optionally `tools_allow` / `tools_deny` (lists of tool names or globs; each replaces the
                catalog entry's list).
`secrets.toml`: `[entries.<id>]` with `NAME = "value"`.

Contract: `ConfigDocument.model_validate` / `SecretsDocument.model_validate` accept a parsed TOML
document whose values are strings an environment variable can hold (`keys.text_problem`) and whose
volume sources pass `catalog.entry.volume_source_problem`; anything else raises `ValidationError`,
which `shape_problem` words for a warning ("has [entries.github] env LOG_LEVEL that is not a string").
Keys the models do not know (top-level notes, extra fields in an entry's table) are kept and written
back by `to_toml`, so a write never drops what a user or a newer version put there. `to_toml`
leaves out an entry's empty `env` and `volumes` tables.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from mcp_registry_server.catalog.entry import volume_source_problem
from mcp_registry_server.config.keys import text_problem

__all__ = ["ConfigDocument", "EntryConfig", "SecretsDocument", "TomlDocument", "shape_problem"]


def _storable_text(text: str) -> str:
    if problem := text_problem(text):
        raise ValueError(problem)
    return text


def _mountable_source(source: str) -> str:
    if problem := volume_source_problem(source):
        raise ValueError(problem)
    return source


StoredText = Annotated[StrictStr, AfterValidator(_storable_text)]
StoredSource = Annotated[StrictStr, AfterValidator(_mountable_source)]


class TomlDocument(BaseModel):
    """A parsed TOML table; keys it does not declare are kept (extra="allow"), so a rewrite loses nothing."""

    model_config = ConfigDict(extra="allow")

    # How deep a stored value sits in the file's key path; `loc` parts past it name a union member.
    VALUE_DEPTH: ClassVar[int]

    def _extras(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class EntryConfig(TomlDocument):
    """One `[entries.<id>]` table of config.toml: plain env values and volume choices."""

    env: dict[str, StoredText] = Field(default_factory=dict)
    # True: on, from the source the catalog declares; a string: on, from that source; False: off.
    volumes: dict[str, StrictBool | StoredSource] = Field(default_factory=dict)
    # Set only by hand or the CLI (never by the model): each replaces the catalog entry's list.
    tools_allow: list[StoredText] | None = None
    tools_deny: list[StoredText] | None = None

    def to_toml(self) -> dict[str, Any]:
        table: dict[str, Any] = {"env": dict(self.env)} if self.env else {}
        if self.volumes:
            table["volumes"] = dict(self.volumes)
        for key in ("tools_allow", "tools_deny"):
            if (patterns := getattr(self, key)) is not None:
                table[key] = list(patterns)
        return table | self._extras()


class ConfigDocument(TomlDocument):
    """config.toml: plain settings per entry."""

    VALUE_DEPTH = 4  # entries, <id>, env | volumes, NAME

    entries: dict[str, EntryConfig] = Field(default_factory=dict)

    def to_toml(self) -> dict[str, Any]:
        return self._extras() | {"entries": {entry_id: table.to_toml() for entry_id, table in self.entries.items()}}


class SecretsDocument(TomlDocument):
    """secrets.toml: secret values per entry, `NAME = "value"`."""

    VALUE_DEPTH = 3  # entries, <id>, NAME

    entries: dict[str, dict[str, StoredText]] = Field(default_factory=dict)

    def to_toml(self) -> dict[str, Any]:
        return self._extras() | {"entries": {entry_id: dict(values) for entry_id, values in self.entries.items()}}


def shape_problem(error: ValidationError, document: type[TomlDocument]) -> str:
    """The first thing wrong with a file, worded to follow its path: "has [entries.x] env A that is not a string"."""
    details = error.errors(include_url=False, include_input=False)
    where = details[0]["loc"][: document.VALUE_DEPTH]
    # A `true | "source"` value fails each alternative; the failed check on the string says the most.
    same_place = [detail for detail in details if detail["loc"][: document.VALUE_DEPTH] == where]
    detail = next((detail for detail in same_place if detail["type"] == "value_error"), same_place[0])
    return f"has {_where(where)} that {_what(detail['type'], detail.get('ctx', {}), len(same_place) > 1)}"


def _where(loc: tuple[int | str, ...]) -> str:
    if len(loc) == 1:
        return repr(str(loc[0]))
    return " ".join([f"[{loc[0]}.{loc[1]}]", *map(str, loc[2:])])


def _what(error_type: str, context: dict[str, Any], alternatives: bool) -> str:
    if error_type == "value_error":
        return str(context["error"])
    if error_type in {"dict_type", "model_type"}:
        return "is not a table"
    if alternatives:
        return "is not true, false or a source string"
    return "is not a string"

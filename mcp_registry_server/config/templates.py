"""Fill in an entry's templates: `{{parameter}}` and `$NAME` / `${NAME}` in args and env defaults.

Contract: `render(text, parameters, variables)` replaces each `{{name}}` with `parameters[name]`
and each `$NAME` / `${NAME}` with `variables[NAME]`; a name with no value becomes "" (as Docker's
gateway does), and `$$` is a literal `$`. It reports which variables it used, so a value built from
a secret can be kept with the secrets. Pure: the caller decides which names are visible (for args:
parameters, plain env values and HOME, never a secret, since argv is readable by every user).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from mcp_registry_server.catalog.entry import PARAMETER_REFERENCE, VARIABLE_REFERENCE

__all__ = ["Rendered", "render"]


@dataclass(frozen=True)
class Rendered:
    text: str
    variables_used: frozenset[str] = frozenset()


def render(text: str, parameters: Mapping[str, str], variables: Mapping[str, str]) -> Rendered:
    """`text` with its templates filled in; see the module docstring."""
    used: set[str] = set()

    def variable(match: re.Match[str]) -> str:
        if match.group(3):
            return "$"
        name = match.group(1) or match.group(2)
        used.add(name)
        return variables.get(name, "")

    # Parameters first, so a parameter's value is never read as a `$NAME` of its own.
    pieces = PARAMETER_REFERENCE.split(text)
    out: list[str] = []
    for index, piece in enumerate(pieces):
        out.append(parameters.get(piece, "") if index % 2 else VARIABLE_REFERENCE.sub(variable, piece))
    return Rendered("".join(out), frozenset(used))

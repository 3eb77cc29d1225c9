"""Which keys an entry's settings have and which values they accept, checked before anything is stored.

Contract: an entry's settable keys are its env names, its secret names, its parameter names and
`volume:<name>` for each volume it declares (`settable_keys`). `text_value` and `volume_value` turn what a user sent into what
is stored (a string, `True` for "on with the declared source", or None for "unset") or raise
`ConfigError` saying what is wrong; they never echo the value, since it may be a secret.
`text_problem` is the same rule for text read back from a file. `unknown_key_message` lists the valid
keys and suggests the closest one.
"""

from __future__ import annotations

import difflib
from typing import Literal

from mcp_registry_server.catalog.entry import CatalogEntry, volume_source_problem

__all__ = [
    "MAX_VALUE_BYTES",
    "VOLUME_KEY_PREFIX",
    "ConfigError",
    "VolumeChoice",
    "settable_keys",
    "text_problem",
    "text_value",
    "unknown_key_message",
    "volume_value",
]

MAX_VALUE_BYTES = 64 * 1024
VOLUME_KEY_PREFIX = "volume:"
_ON, _OFF = frozenset({"on", "true"}), frozenset({"off", "false"})

# What a volume setting stores: its own source, or True for the source the catalog declares.
VolumeChoice = str | Literal[True]


class ConfigError(ValueError):
    """A setting was refused or could not be saved; the message says why and what to do."""


def settable_keys(entry: CatalogEntry) -> tuple[str, ...]:
    """The keys `set_values` accepts for `entry`: env names, secret names, parameters, `volume:<name>`."""
    return (
        *(var.name for var in entry.env),
        *(parameter.name for parameter in entry.parameters),
        *(secret.name for secret in entry.secrets),
        *(VOLUME_KEY_PREFIX + volume.name for volume in entry.volumes),
    )


def text_problem(text: str) -> str | None:
    """Why `text` cannot be an environment value, or None. Reads after "the value": "the value {reason}"."""
    if "\x00" in text:
        return "contains a NUL character, which no environment variable can hold"
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return "is not valid Unicode text (it contains a lone surrogate)"
    if size > MAX_VALUE_BYTES:
        return f"is {size} bytes long; the limit is {MAX_VALUE_BYTES}"
    return None


def text_value(key: str, value: object) -> str | None:
    """The text to store for an env or secret `key`, None to unset it; ConfigError if `value` will not do."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConfigError(f"{key} takes text, not a boolean; send the string {str(value).lower()!r} if that is meant")
    if isinstance(value, int | float):
        try:
            value = str(value)
        except ValueError:  # ints past sys.get_int_max_str_digits()
            raise ConfigError(f"{key}: the number is too large to store; send it as a string") from None
    if not isinstance(value, str):
        raise ConfigError(f"{key} takes text; got a {type(value).__name__}")
    if value == "":
        return None
    if problem := text_problem(value):
        raise ConfigError(f"the value for {key} {problem}")
    return value


def volume_value(key: str, value: object) -> VolumeChoice | None:
    """What to store for a `volume:<name>` key: a source, True (declared source) or None (off)."""
    if isinstance(value, bool):
        return True if value else None
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key} takes on/off or a source path or volume name; got a {type(value).__name__}")
    if value == "":
        return None
    if value.strip().lower() in _ON:
        return True
    if value.strip().lower() in _OFF:
        return None
    if problem := volume_source_problem(value):
        raise ConfigError(f"the source for {key} {problem}")
    return value


def unknown_key_message(entry: CatalogEntry, key: object) -> str:
    """Why `key` cannot be set on `entry`: the valid keys, and the closest one when there is one."""
    valid = settable_keys(entry)
    if not valid:
        return f"{entry.id} takes no settings, so {_preview(key)} cannot be set"
    listed = [name + (" (secret)" if name in entry.secret_names else "") for name in valid]
    message = f"{_preview(key)} is not a setting of {entry.id}; valid keys: {', '.join(listed)}"
    folded = {name.lower(): name for name in valid}  # `github_token` should find GITHUB_TOKEN
    close = difflib.get_close_matches(key.lower(), folded, n=1) if isinstance(key, str) and len(key) < 200 else []
    return message + (f" (did you mean {folded[close[0]]}?)" if close else "")


def _preview(key: object) -> str:
    text = repr(key)
    return text if len(text) <= 60 else text[:57] + "..."

"""The entry each client takes: how it spells "run this command with this environment", and how long it waits.

Contract: a `ServerLaunch` (command, args, env) is what every entry runs. An `EntryShape` builds
one client's entry from it (`build`), names the fields `install` owns (`managed_fields`; others a
user added are kept) and the field that holds the environment (`env_key`), and reads the command
back out of an installed entry (`command_of`, for `doctor`). `CommandArgs` is the usual
`command` + `args` + `env` (with optional fields first, like VS Code's "type", then timeout
fields and fixed ones, like Codex's "env_vars"); `CommandList` is opencode's local server, a command list with `environment`.

`ClientWaits.of(env)` says how long a client should wait for the registry whose environment is
`env`, for the clients whose own defaults are shorter than the registry's bounds (Codex: 10 s to
start, 60-120 s a call; opencode: 5-30 s; Gemini CLI: 10 min a call). It is the registry's own bound
plus a margin, so the registry's answer, which says what timed out and what to do, comes before
the client gives up: start-up is the init timeout (the first `tools/list` waits that long for
MCP_REGISTRY_AUTOSTART), a call the registry's hard bound on one call, or, when longer, what the
first registry_add of a package entry may take (its build, MCP_REGISTRY_BUILD_TIMEOUT, then the
server's start, the init timeout). Pure functions throughout.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["ClientWaits", "CommandArgs", "CommandList", "EntryShape", "ServerLaunch"]


@dataclass(frozen=True)
class ServerLaunch:
    """How an editor starts the registry: `command args…` with `env` added to its environment."""

    command: str
    args: tuple[str, ...] = ("serve",)
    env: Mapping[str, str] = field(default_factory=dict)


# The registry's own bounds when the variables are not set (RegistrySettings' defaults; a test
# keeps the two in step), and what a client should add to them: the registry's own start-up,
# and its answer travelling back.
DEFAULT_INIT_TIMEOUT = 60.0
DEFAULT_CALL_TIMEOUT = 120.0
DEFAULT_BUILD_TIMEOUT = 600.0
CALL_BOUND_FACTOR = 10
_WAIT_MARGIN = 30


def _seconds(env: Mapping[str, str], name: str) -> float | None:
    try:
        value = float(env.get(name, ""))
    except ValueError:
        return None  # the registry refuses to start with it anyway, and says why
    return value if 0 < value <= 86_400 else None


@dataclass(frozen=True)
class ClientWaits:
    """How long a client should wait for the registry, in seconds; see the module contract."""

    # `initialize` and the first `tools/list`, which waits for MCP_REGISTRY_AUTOSTART up to the
    # registry's init timeout.
    startup: int
    # One tool call: the registry's hard bound (MCP_REGISTRY_MAX_CALL_TIMEOUT, default ten times
    # MCP_REGISTRY_CALL_TIMEOUT), or a package build and start-up when that is longer: registry_add
    # waits for the build rather than failing at the call bound.
    call: int

    @classmethod
    def of(cls, env: Mapping[str, str]) -> ClientWaits:
        init = _seconds(env, "MCP_REGISTRY_INIT_TIMEOUT") or DEFAULT_INIT_TIMEOUT
        call = _seconds(env, "MCP_REGISTRY_CALL_TIMEOUT") or DEFAULT_CALL_TIMEOUT
        bound = _seconds(env, "MCP_REGISTRY_MAX_CALL_TIMEOUT")
        bound = max(bound, call) if bound else call * CALL_BOUND_FACTOR
        build = _seconds(env, "MCP_REGISTRY_BUILD_TIMEOUT") or DEFAULT_BUILD_TIMEOUT
        bound = max(bound, build + init)
        return cls(math.ceil(init) + _WAIT_MARGIN, math.ceil(bound) + _WAIT_MARGIN)

    @property
    def longest_ms(self) -> int:
        """For clients with one timeout for starting and calling alike (opencode, Gemini CLI)."""
        return max(self.startup, self.call) * 1000


class EntryShape(Protocol):
    """How one client spells "run this command with this environment"."""

    @property
    def env_key(self) -> str:
        """The field that holds the environment."""
        ...

    @property
    def managed_fields(self) -> frozenset[str]:
        """The fields `install` owns; others a user added are kept."""
        ...

    def build(self, launch: ServerLaunch) -> dict[str, Any]: ...

    def command_of(self, entry: Mapping[str, Any]) -> str: ...


@dataclass(frozen=True)
class CommandArgs:
    """`{**head, "command": …, "args": […], "env": {…}, **timeouts}`: what most clients take."""

    head: Mapping[str, Any] = field(default_factory=dict)  # fields that go first (VS Code's "type")
    # Whether to write "env": {} when there is nothing to pass (what the client itself writes).
    always_env: bool = False
    # Timeout fields, from what the client should wait for the registry.
    timeouts: Mapping[str, Callable[[ClientWaits], int]] = field(default_factory=dict)
    tail: Mapping[str, Any] = field(default_factory=dict)  # fields that go last (Codex's "env_vars")
    env_key = "env"

    def build(self, launch: ServerLaunch) -> dict[str, Any]:
        entry: dict[str, Any] = {**self.head, "command": launch.command, "args": list(launch.args)}
        if launch.env or self.always_env:
            entry["env"] = dict(launch.env)
        waits = ClientWaits.of(launch.env)
        entry.update({name: timeout(waits) for name, timeout in self.timeouts.items()})
        entry.update(copy.deepcopy(dict(self.tail)))
        return entry

    @property
    def managed_fields(self) -> frozenset[str]:
        return frozenset({*self.head, "command", "args", "env", *self.timeouts, *self.tail})

    def command_of(self, entry: Mapping[str, Any]) -> str:
        return str(entry.get("command", ""))


@dataclass(frozen=True)
class CommandList:
    """opencode's local server: `{"type": "local", "command": [executable, *args], "environment": {…},
    "enabled": true, "timeout": ms}`."""

    @property
    def env_key(self) -> str:
        return "environment"

    @property
    def managed_fields(self) -> frozenset[str]:
        return frozenset({"type", "command", "environment", "enabled", "timeout"})

    def build(self, launch: ServerLaunch) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": "local", "command": [launch.command, *launch.args]}
        if launch.env:
            entry["environment"] = dict(launch.env)
        entry["enabled"] = True
        entry["timeout"] = ClientWaits.of(launch.env).longest_ms
        return entry

    def command_of(self, entry: Mapping[str, Any]) -> str:
        command = entry.get("command")
        return str(command[0]) if isinstance(command, list) and command else ""

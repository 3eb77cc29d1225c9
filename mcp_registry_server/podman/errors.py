"""Errors raised by the Podman layer, worded for the person who has to act on them.

Contract: every failure that leaves `mcp_registry_server.podman` is a `PodmanError` (or its
subclass `PodmanUnavailable` when Podman cannot be used at all). Each carries `summary` (what
happened and what it affects), `remedy` (what to do next) and `detail` (Podman's own words, if
any); `str()` joins them, so a caller can show the error as it is.
"""

from __future__ import annotations

__all__ = ["PodmanError", "PodmanUnavailable"]

# Podman's stderr can be long (a whole Go stack); the user needs its end, not all of it.
_DETAIL_LIMIT = 2000


class PodmanError(Exception):
    """A Podman operation failed; the message says what failed and what to do."""

    def __init__(self, summary: str, *, remedy: str | None = None, detail: str | None = None) -> None:
        self.summary = summary
        self.remedy = remedy
        self.detail = _tail(detail.strip()) if detail and detail.strip() else None
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [self.summary]
        if self.detail:
            parts.append(f"Podman said: {self.detail}")
        if self.remedy:
            parts.append(f"What to do: {self.remedy}")
        return "\n".join(parts)


class PodmanUnavailable(PodmanError):
    """Podman is missing or its API cannot be reached: no MCP server can be started."""


def _tail(text: str) -> str:
    return text if len(text) <= _DETAIL_LIMIT else "…" + text[-_DETAIL_LIMIT:]

"""What the model may change on its own, and the user's consent for what would widen a server's reach.

Through the registry's MCP tools (`registry_config_set`), the model sets the plain settings and
secrets an entry declares. Enabling a volume mounts something of the host into a container, so
it widens what the server can reach: the registry then asks the user, through an elicitation that
shows exactly what would be mounted, where, and whether writable, and stores nothing unless the
user accepts. An editor that cannot be asked (no form elicitation, or a 2026-07-28 editor, which
the registry cannot send requests outside a call's result) gets a refusal that names the CLI
command the user can run instead. Turning a volume off narrows access and needs no consent.
Network, writable paths and allowed hosts are not settings at all: they change only in catalog
files, which no tool writes.

Contract: `consent_to_widen(editor, entry, planned)` returns when nothing in `planned` widens
access or the user accepted; otherwise it raises `RegistryError` (declined, or cannot be asked).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

from mcp_registry_server.catalog import CatalogEntry
from mcp_registry_server.config import VOLUME_KEY_PREFIX
from mcp_registry_server.config.changes import PlannedChange
from mcp_registry_server.registry.editor_link import EditorLink
from mcp_registry_server.registry.errors import RegistryError, RequestError

__all__ = ["consent_to_widen"]

_CONSENT_SCHEMA = {
    "type": "object",
    "properties": {"allow": {"type": "boolean", "title": "Allow this", "default": False}},
    "required": ["allow"],
}


def _mounts(entry: CatalogEntry, planned: Sequence[PlannedChange]) -> list[str]:
    """One line per volume the change would enable: what of the host goes where, and how."""
    lines = []
    for change in planned:
        if change.kind != "volume" or change.value is None:
            continue
        name = change.key.removeprefix(VOLUME_KEY_PREFIX)
        volume = next(volume for volume in entry.volumes if volume.name == name)
        source = volume.source if change.value is True else change.value
        what = f"the host directory {source}" if source.startswith("/") else f"the Podman volume {source!r}"
        mode = "read-only" if volume.read_only else "read-write"
        lines.append(f"{what} at {volume.target} ({mode}, volume {name!r})")
    return lines


def _can_be_asked(editor: EditorLink) -> bool:
    elicitation = editor.client_capabilities().get("elicitation")
    # `{}` is form mode (what 2025-06-18 meant by it); from 2025-11-25 on, "form" is named.
    return isinstance(elicitation, dict) and (not elicitation or "form" in elicitation)


async def consent_to_widen(editor: EditorLink, entry: CatalogEntry, planned: Sequence[PlannedChange]) -> None:
    """Ask the user to allow the volumes `planned` would enable; see the module contract."""
    mounts = _mounts(entry, planned)
    if not mounts:
        return
    pairs = " ".join(
        shlex.quote(f"{change.key}={'on' if change.value is True else change.value}")
        for change in planned
        if change.kind == "volume" and change.value is not None
    )
    refusal = (
        f"Enabling a volume of {entry.id} would give its server {'; '.join(mounts)}. Only the user can allow "
        "that, and this editor cannot ask them here. Nothing was changed. To allow it, the user runs in a "
        f"terminal: mcp-registry config set {shlex.quote(entry.id)} {pairs}"
    )
    if not _can_be_asked(editor):
        raise RegistryError(refusal)
    message = (
        f"The assistant asks to let the {entry.name} server ({entry.id}) reach more of this machine. "
        f"The next time it starts, its container would get: {'; '.join(mounts)}. Allow this?"
    )
    try:
        answer: dict[str, Any] = await editor.request(
            "elicitation/create", {"message": message, "requestedSchema": _CONSENT_SCHEMA}
        )
    except RequestError as error:
        raise RegistryError(f"{refusal} (The editor did not show the question: {error.message}.)") from None
    content = answer.get("content")
    if answer.get("action") != "accept" or not (isinstance(content, dict) and content.get("allow") is True):
        raise RegistryError(
            f"The user did not allow {entry.id} to get {'; '.join(mounts)}. Nothing was changed; do not ask again "
            "unless the user asks for it."
        )

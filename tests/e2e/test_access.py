"""The model cannot widen a server's reach on its own (issue 14), with a real SDK client and real Podman.

A hostile prompt asks `registry_config_set` to mount a host directory read-write. The registry
asks the user through an elicitation that shows exactly what would be mounted; only their yes
stores it, and `podman inspect` of the next container shows the mount exactly then.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mcp_types as types

from tests.e2e.harness import misbehave_entry, podman_inspect, structured, with_catalog, write_catalog
from tests.e2e.support import connect_registry, text_of


class User:
    """The person at the editor: answers the registry's question with `allow`, and remembers it."""

    def __init__(self, allow: bool) -> None:
        self.allow = allow
        self.questions: list[str] = []

    async def elicitation(self, context: Any, params: Any) -> types.ElicitResult:
        self.questions.append(params.message)
        if not self.allow:
            return types.ElicitResult(action="decline")
        return types.ElicitResult(action="accept", content={"allow": True})


def mounted_at(container: str, target: str) -> list[str]:
    return [mount["Source"] for mount in podman_inspect(container)["Mounts"] if mount["Destination"] == target]


async def add_and_look(session: Any, target: str) -> list[str]:
    added = structured(await session.call_tool("registry_add", {"entry_id": "vault"}))
    mounts = mounted_at(added["container"], target)
    await session.call_tool("registry_remove", {"entry_id_or_prefix": "vault"})
    return mounts


def vault_env(registry_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    volume = {"name": "projects", "source": "mcp-registry-test-unused", "target": "/projects"}
    return with_catalog(registry_env, write_catalog(tmp_path / "extra", [misbehave_entry("vault", volumes=[volume])]))


async def test_an_editor_that_cannot_ask_gets_a_refusal_and_nothing_is_mounted(
    registry_env: dict[str, str], tmp_path: Path
) -> None:
    home = tmp_path / "home-you"
    home.mkdir()
    async with connect_registry(vault_env(registry_env, tmp_path)) as session:  # no elicitation callback
        refused = await session.call_tool(
            "registry_config_set", {"entry_id": "vault", "values": {"volume:projects": str(home)}}
        )
        assert refused.is_error
        assert f"mcp-registry config set vault volume:projects={home}" in text_of(refused)
        assert await add_and_look(session, "/projects") == []


async def test_the_users_no_mounts_nothing_and_their_yes_mounts_exactly_what_they_saw(
    registry_env: dict[str, str], tmp_path: Path
) -> None:
    home = tmp_path / "home-you"
    home.mkdir()
    env = vault_env(registry_env, tmp_path)
    asked = {"entry_id": "vault", "values": {"volume:projects": str(home)}}
    no = User(allow=False)
    async with connect_registry(env, elicitation_callback=no.elicitation) as session:
        declined = await session.call_tool("registry_config_set", asked)
        assert declined.is_error and "did not allow vault" in text_of(declined)
        assert await add_and_look(session, "/projects") == []
    yes = User(allow=True)
    async with connect_registry(env, elicitation_callback=yes.elicitation) as session:
        allowed = await session.call_tool("registry_config_set", asked)
        assert not allowed.is_error, text_of(allowed)
        assert await add_and_look(session, "/projects") == [str(home)]
    (question,) = yes.questions
    assert f"the host directory {home} at /projects (read-write, volume 'projects')" in question
    assert no.questions == yes.questions

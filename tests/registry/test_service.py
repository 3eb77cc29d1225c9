"""The registry service (`service.Registry`, `open_registry`) on fake Podman: status, config_set, lifetime."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp_registry_server.catalog import ToolFilter
from mcp_registry_server.registry.asks import InputRequired
from mcp_registry_server.registry.errors import RegistryError, RequestError
from tests.registry.support import FakeClient, FakeEditor, make_mount, open_test_registry

ENTRIES = {"demo": {"env": [{"name": "MODE", "default": "fast"}], "secrets": [{"name": "TOKEN", "required": False}]}}


async def test_status_shows_podman_and_every_mount(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}) as r:
        await r.registry.mounts.add("demo", "d")
        await r.registry.calls.call_tool("d_echo", {})
        status = await r.registry.status()
    assert status["podman"] == {"available": True, "detail": "fake"}
    assert status["instance"] == r.registry.settings.instance_id and status["pid"] == os.getpid()
    (mount,) = status["mounts"]
    assert {k: v for k, v in mount.items() if k != "uptime_seconds"} == {
        "entry": "demo",
        "prefix": "d",
        "container": "fake-d-0",
        "image": "localhost/fake",
        "state": "running",
        "restarts": 0,
        "tools": 1,
        "expose": "direct",
        "tools_callable": 1,
        "tools_listed": 1,
        "tool_list_tokens_estimate": len('[{"name":"d_echo","inputSchema":{"type":"object"}}]') // 4,
        "calls_served": 1,
        "last_error": None,
    }
    assert 0 <= mount["uptime_seconds"] < 60
    assert status["catalog"] == {"entries": 1, "warnings": []} and status["config"] == {"warnings": []}


async def test_status_counts_what_a_search_mount_and_a_tool_filter_keep_out_of_the_tool_list(
    tmp_path: Path,
) -> None:
    async with open_test_registry(tmp_path, {}) as r:
        hidden = make_mount("hidden", tools=("a", "b"))
        hidden.expose = "search"
        r.registry.router.add(hidden)
        narrowed = make_mount("narrow", tools=("keep", "drop_me"))
        narrowed.tool_filter = ToolFilter(deny=("drop_*",))
        r.registry.router.add(narrowed)
        first, second = (await r.registry.status())["mounts"]
    assert (first["tools_callable"], first["tools_listed"], first["tool_list_tokens_estimate"]) == (2, 0, 0)
    assert (second["tools_callable"], second["tools_listed"], second["tools_filtered_out"]) == (1, 1, ["drop_me"])
    assert second["tool_list_tokens_estimate"] > 0


async def test_status_shows_a_running_mount_whose_server_ended_as_failed(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {}) as r:
        ended = FakeClient()
        ended.is_alive, ended.stderr = False, "Traceback: boom"
        r.registry.router.add(make_mount("gone", ended))  # before its supervisor noticed
        noted = make_mount("noted", FakeClient())
        noted.last_error = "refreshing tools after list_changed failed: closed"
        r.registry.router.add(noted)
        gone, still = (await r.registry.status())["mounts"]
    assert gone["state"] == "failed" and gone["last_error"] == "exited: Traceback: boom"
    assert still["state"] == "running" and still["last_error"] == noted.last_error


async def test_status_reports_a_config_file_broken_since_startup(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}) as r:
        config_dir = r.registry.config.config_dir
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "config.toml").write_text("this is [not toml")
        status = await r.registry.status()
    assert any("config.toml" in warning for warning in status["config"]["warnings"]), status["config"]


async def test_config_set_stores_values_and_says_when_they_apply(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}, entries=ENTRIES) as r:
        stopped = await r.registry.config_set("demo", {"MODE": "slow"})
        assert r.registry.config.resolved_values(r.registry.catalog.entry("demo")).env == {"MODE": "slow"}
        await r.registry.mounts.add("demo", "d")
        running = await r.registry.config_set("demo", {"TOKEN": "s3cret"})
    assert stopped["entry"] == "demo" and stopped["message"].endswith(" They apply the next time it is added.")
    assert running["message"].endswith(
        " demo is running as 'd': the new values apply the next time it is added (registry_remove then registry_add)."
    )
    assert "s3cret" not in running["message"]


@pytest.mark.parametrize(
    ("entry_id", "values", "message"),
    [
        ("demo", ["MODE"], "values must be an object of NAME: value pairs, not list."),
        ("nope", {}, "Unknown catalog entry 'nope'"),
        ("demo", {"UNDECLARED": "x"}, "UNDECLARED"),
    ],
)
async def test_config_set_refusals_are_registry_errors(
    tmp_path: Path, entry_id: str, values: object, message: str
) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}, entries=ENTRIES) as r:
        with pytest.raises(RegistryError) as raised:
            await r.registry.config_set(entry_id, values)
    assert message in str(raised.value)


async def test_catalog_operations_work_without_podman(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}) as r:

        async def no_podman() -> None:
            raise AssertionError("catalog operations must not wait on Podman")

        r.podman.connect = no_podman  # type: ignore[method-assign]
        assert r.registry.catalog.list_entries() == [{"id": "demo", "name": "Demo", "active": False}]
        assert r.registry.catalog.info("demo")["id"] == "demo"
        assert [hit["id"] for hit in r.registry.catalog.search("demo")] == ["demo"]


async def test_leaving_the_registry_cancels_parked_requests(tmp_path: Path) -> None:
    script = {"calls": {"ask": {"ask": [{"method": "roots/list"}]}}, "tools": [{"name": "ask", "inputSchema": {}}]}
    async with open_test_registry(tmp_path, {"demo": {}, "asker": script}) as r:
        r.editor.capabilities["roots"] = {}
        await r.registry.mounts.add("asker")
        first = await r.registry.calls.call_tool("asker_ask", {}, mode="defer")
        assert isinstance(first, InputRequired) and first.asks == {"ask-1": {"method": "roots/list"}}
        parked = r.registry.parked
    with anyio.fail_after(2), pytest.raises(RequestError):  # cancelled on the way out, so no longer held
        await parked.resume(first.state, {"ask-1": {"roots": []}}, None)


async def test_the_registry_closes_its_children_even_when_cancelled(tmp_path: Path) -> None:
    with anyio.CancelScope() as scope:
        async with open_test_registry(tmp_path, {"demo": {}}) as r:
            await r.registry.mounts.add("demo")
            runner = r.podman.runner
            scope.cancel()
            await anyio.sleep(1)  # pragma: no cover - cancelled here
    assert runner.gone == ["fake-demo-0"]
    assert runner.processes["fake-demo-0"].returncode is not None


# -- the model cannot widen a server's reach on its own -----------------------------------------------

VOLUMES = {
    "demo": {
        "volumes": [
            {"name": "projects", "source": "demo-projects", "target": "/projects"},
            {"name": "ro", "source": "demo-ro", "target": "/ro", "read_only": True},
        ]
    }
}
ACCEPTED = {"action": "accept", "content": {"allow": True}}


def enabled(r: Any) -> dict[str, str]:
    return r.registry.config.resolved_values(r.registry.catalog.entry("demo")).enabled_volumes


async def test_a_volume_is_not_enabled_for_the_model_when_the_editor_cannot_ask_the_user(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}, entries=VOLUMES) as r:  # no elicitation
        with pytest.raises(RegistryError) as raised:
            await r.registry.config_set("demo", {"volume:projects": "/home/you"})
        assert enabled(r) == {} and r.editor.asked == []
    assert str(raised.value) == (
        "Enabling a volume of demo would give its server the host directory /home/you at /projects "
        "(read-write, volume 'projects'). Only the user can allow that, and this editor cannot ask them here. "
        "Nothing was changed. To allow it, the user runs in a terminal: "
        "mcp-registry config set demo volume:projects=/home/you"
    )


@pytest.mark.parametrize("capability", [{}, {"form": {}}])
async def test_the_user_is_shown_exactly_what_would_be_mounted_and_their_yes_enables_it(
    tmp_path: Path, capability: dict[str, Any]
) -> None:
    editor = FakeEditor({"elicitation": capability})
    editor.answers["elicitation/create"] = ACCEPTED
    async with open_test_registry(tmp_path, {"demo": {}}, entries=VOLUMES, editor=editor) as r:
        await r.registry.config_set("demo", {"volume:projects": "/home/you", "volume:ro": "on"})
        assert enabled(r) == {"projects": "/home/you", "ro": "demo-ro"}
    ((method, params),) = editor.asked
    assert method == "elicitation/create" and params is not None
    assert params["message"] == (
        "The assistant asks to let the Demo server (demo) reach more of this machine. The next time it starts, "
        "its container would get: the host directory /home/you at /projects (read-write, volume 'projects'); "
        "the Podman volume 'demo-ro' at /ro (read-only, volume 'ro'). Allow this?"
    )
    assert params["requestedSchema"]["required"] == ["allow"]


@pytest.mark.parametrize(
    "answer",
    [
        {"action": "decline"},
        {"action": "cancel"},
        {"action": "accept", "content": {"allow": False}},
        {"action": "accept", "content": {}},
        {"action": "accept"},
    ],
)
async def test_anything_but_the_users_yes_enables_nothing(tmp_path: Path, answer: dict[str, Any]) -> None:
    editor = FakeEditor({"elicitation": {}})
    editor.answers["elicitation/create"] = answer
    async with open_test_registry(tmp_path, {"demo": {}}, entries=VOLUMES, editor=editor) as r:
        with pytest.raises(RegistryError, match="The user did not allow demo to get the host directory /home/you"):
            await r.registry.config_set("demo", {"volume:projects": "/home/you"})
        assert enabled(r) == {}


async def test_an_editor_that_fails_to_ask_enables_nothing(tmp_path: Path) -> None:
    editor = FakeEditor({"elicitation": {"url": {}}})  # URL mode only: it cannot show the form
    async with open_test_registry(tmp_path, {"demo": {}}, entries=VOLUMES, editor=editor) as r:
        with pytest.raises(RegistryError, match="this editor cannot ask them here"):
            await r.registry.config_set("demo", {"volume:projects": "on"})
    refusing = FakeEditor({"elicitation": {}})
    refusing.refusal = RequestError(-1, "user closed the dialog")
    async with open_test_registry(tmp_path / "2", {"demo": {}}, entries=VOLUMES, editor=refusing) as r:
        with pytest.raises(RegistryError, match=r"The editor did not show the question: user closed the dialog"):
            await r.registry.config_set("demo", {"volume:projects": "on"})
        assert enabled(r) == {}


async def test_turning_a_volume_off_and_plain_settings_need_no_consent(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text('[entries.demo]\nvolumes = {projects = "/home/you"}\n')
    async with open_test_registry(
        tmp_path, {"demo": {}}, entries={"demo": {**VOLUMES["demo"], **ENTRIES["demo"]}}
    ) as r:
        await r.registry.config_set("demo", {"volume:projects": "off", "MODE": "slow"})
        assert enabled(r) == {} and r.editor.asked == []

"""Mount lifecycle (`mounts.MountLifecycle`) through a real registry on fake Podman: scripted child
processes stand in for containers (`tests/fake_podman.py`), so add, handshake, restart, remove
and shutdown run for real, without Podman."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp_registry_server.catalog import CatalogEntry
from mcp_registry_server.config.resolve import ResolvedValues
from mcp_registry_server.podman.errors import PodmanError, PodmanUnavailable
from mcp_registry_server.registry.errors import RegistryError
from mcp_registry_server.registry.remotes import remote_headers, remote_urls
from tests.fake_podman import FakeImages
from tests.registry.support import FakeEditor, eventually, open_test_registry

ECHO = {"name": "echo", "inputSchema": {"type": "object"}}
ANNOUNCED = ["tools", "resources", "prompts"]
BAD_HANDSHAKE = {"protocolVersion": "1999-01-01"}  # a version the client does not speak


def text_of(outcome: Any) -> str:
    return "".join(item["text"] for item in outcome.result["content"])


async def test_add_starts_the_server_routes_its_tools_and_tells_the_editor(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}) as r:
        added = await r.registry.mounts.add("demo")
        assert added == {"entry": "demo", "prefix": "demo", "container": "fake-demo-0", "tools": ["demo_echo"]}
        assert r.editor.changed == ANNOUNCED
        outcome = await r.registry.calls.call_tool("demo_echo", {"a": 1})
    assert text_of(outcome) == '{"a": 1}'


async def test_adding_an_active_entry_again_changes_nothing(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}) as r:
        await r.registry.mounts.add("demo", "first")
        again = await r.registry.mounts.add("demo", "second")
        assert r.podman.runner.started == ["fake-first-0"]
        assert "second" not in r.registry.router.mounts
    assert again == {
        "entry": "demo",
        "prefix": "first",
        "container": "fake-first-0",
        "already_active": True,
        "message": "demo is already active as prefix 'first'; nothing changed.",
        "tools": ["first_echo"],
    }


async def test_a_prefix_in_use_by_another_entry_is_refused(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}, "other": {}}) as r:
        await r.registry.mounts.add("demo", "shared")
        with pytest.raises(RegistryError) as raised:
            await r.registry.mounts.add("other", "shared")
        assert r.podman.runner.started == ["fake-shared-0"]
    assert str(raised.value) == (
        "Prefix 'shared' is already used by demo. Pass another prefix or remove that server first."
    )


@pytest.mark.parametrize(("prefix", "fragment"), [("Bad", "invalid prefix 'Bad'"), ("registry", "is reserved")])
async def test_an_unusable_prefix_is_refused_before_anything_starts(tmp_path: Path, prefix: str, fragment: str) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}) as r:
        with pytest.raises(RegistryError, match=fragment):
            await r.registry.mounts.add("demo", prefix)
        assert r.podman.runner.started == []


async def test_prefix_empty_mounts_the_server_under_its_own_names(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}) as r:
        added = await r.registry.mounts.add("demo", "")
        outcome = await r.registry.calls.call_tool("echo", {"a": 1})
        assert "demo" in r.registry.router.mounts  # still keyed (and removable) by its default prefix
    assert added == {
        "entry": "demo",
        "prefix": "demo",
        "container": "fake-demo-0",
        "tools": ["echo"],
        "unprefixed": True,
    }
    assert text_of(outcome) == '{"a": 1}'


async def test_an_unprefixed_mount_whose_name_clashes_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    clashing = {"tools": [{"name": "first_echo", "inputSchema": {"type": "object"}}]}
    async with open_test_registry(tmp_path, {"demo": {}, "other": clashing}) as r:
        await r.registry.mounts.add("demo", "first")
        with pytest.raises(RegistryError, match="its tool name 'first_echo' is also routed for demo"):
            await r.registry.mounts.add("other", "")
        assert list(r.registry.router.mounts) == ["first"]
        assert r.podman.runner.gone == ["fake-other-1"]


async def test_an_unknown_entry_is_refused(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}) as r:
        with pytest.raises(RegistryError, match=r"Unknown catalog entry 'dmeo'\. Closest matches: demo\."):
            await r.registry.mounts.add("dmeo")


async def test_missing_required_config_says_how_to_set_it_and_starts_nothing(tmp_path: Path) -> None:
    entries = {"demo": {"secrets": [{"name": "TOKEN"}], "env": [{"name": "REGION", "required": True}]}}
    async with open_test_registry(tmp_path, {"demo": {}}, entries=entries) as r:
        with pytest.raises(RegistryError) as raised:
            await r.registry.mounts.add("demo")
        assert r.podman.runner.started == [] and r.editor.changed == []
        await r.registry.config_set("demo", {"TOKEN": "s3cret", "REGION": "eu"})
        assert (await r.registry.mounts.add("demo"))["tools"] == ["demo_echo"]
    assert str(raised.value) == (
        'demo needs values for: REGION, TOKEN. Set them with registry_config_set("demo", {"NAME": "value"}), '
        "then add again."
    )


async def test_a_failed_handshake_leaves_nothing_behind(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"broken": BAD_HANDSHAKE}) as r:
        with pytest.raises(RegistryError) as raised:
            await r.registry.mounts.add("broken")
        runner = r.podman.runner
        assert runner.started == ["fake-broken-0"] and runner.gone == ["fake-broken-0"]
        assert r.registry.router.mounts == {} and r.registry.router.exposed_names() == []
        assert r.editor.changed == []
        with anyio.fail_after(5):
            await runner.processes["fake-broken-0"].wait()  # the child was closed
    message = str(raised.value)
    assert message.startswith("broken started but did not complete the MCP handshake: ")
    assert "1999-01-01" in message
    assert message.endswith("The container was removed. Check the entry's configuration (registry_info) and try again.")


async def test_a_container_that_cannot_start_is_a_registry_error(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}) as r:

        async def refuse(*args: Any, **kwargs: Any) -> Any:
            raise PodmanError("no space left on device")

        r.podman.runner.start_interactive_container = refuse  # type: ignore[method-assign]
        with pytest.raises(RegistryError, match=r"^Could not start a container for demo: no space left on device"):
            await r.registry.mounts.add("demo")
        assert r.registry.router.mounts == {}


class PullingImages(FakeImages):
    """No image is local until it was pulled; `failure` makes the pull fail."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.pulled: list[str] = []
        self.failure = failure

    async def image_digest(self, image: str) -> str | None:
        return f"sha256:pulled-{image}" if image in self.pulled else None

    async def pull(self, image: str, on_progress: Any = None) -> None:
        if self.failure is not None:
            raise self.failure
        await on_progress(5, 10, "layer 1")
        await on_progress(None, None, "done")
        self.pulled.append(image)


async def test_an_image_that_is_not_local_is_pulled_with_progress(tmp_path: Path) -> None:
    seen: list[Any] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        seen.append((value, total, message))

    async with open_test_registry(tmp_path, {"demo": {}}) as r:
        r.podman.api = PullingImages()  # type: ignore[assignment]
        await r.registry.mounts.add("demo", progress=progress)
    assert seen == [(0, None, "pulling localhost/fake"), (5, 10, "layer 1"), (0, None, "done")]


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (PodmanError("manifest unknown"), "Image localhost/fake is not available locally and could not be pulled"),
        (PodmanUnavailable("the socket went away"), "Podman stopped answering, so no server can be started."),
    ],
)
async def test_an_image_that_cannot_be_pulled_is_a_registry_error(
    tmp_path: Path, failure: Exception, message: str
) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}) as r:
        r.podman.api = PullingImages(failure)  # type: ignore[assignment]
        with pytest.raises(RegistryError) as raised:
            await r.registry.mounts.add("demo")
        assert r.podman.runner.started == []
    assert str(raised.value).startswith(message) and str(failure) in str(raised.value)


async def test_remove_by_prefix_or_entry_id_withdraws_the_tools_and_the_container(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}, "other": {}}) as r:
        await r.registry.mounts.add("demo", "d")
        await r.registry.mounts.add("other")
        r.editor.changed.clear()
        by_prefix = await r.registry.mounts.remove("d")
        by_entry = await r.registry.mounts.remove("other")
        assert r.registry.router.mounts == {} and r.podman.runner.gone == ["fake-d-0", "fake-other-1"]
        assert r.editor.changed == ANNOUNCED * 2
        gone = await r.registry.calls.call_tool("d_echo", {})
    assert by_prefix == {"entry": "demo", "prefix": "d", "container": "fake-d-0", "container_removed": True}
    assert by_entry["prefix"] == "other" and by_entry["container_removed"] is True
    assert "no server is active" in text_of(gone)


async def test_removing_what_is_not_active_lists_the_active_prefixes(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}) as r:
        with pytest.raises(RegistryError, match=r"^Nothing active matches 'x'\. Active prefixes: none\.$"):
            await r.registry.mounts.remove("x")
        await r.registry.mounts.add("demo", "d")
        with pytest.raises(RegistryError, match=r"^Nothing active matches 5\. Active prefixes: d \(demo\)\.$"):
            await r.registry.mounts.remove(5)


async def test_leaving_the_registry_closes_every_child_and_removes_its_container(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}, "other": {}}) as r:
        await r.registry.mounts.add("demo")
        await r.registry.mounts.add("other")
        runner = r.podman.runner
    assert sorted(runner.gone) == sorted(runner.started) and len(runner.started) == 2
    assert all(process.returncode is not None for process in runner.processes.values())
    assert r.registry.router.mounts == {}


async def test_autostart_adds_the_entries_and_logs_the_failures(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    autostart = (("nope", None), ("demo", "auto"), ("other", "Bad"))
    async with open_test_registry(tmp_path, {"demo": {}, "other": {}}, autostart=autostart) as r:
        with anyio.fail_after(10):
            await r.registry.mounts.wait_for_autostart()
        assert list(r.registry.router.mounts) == ["auto"]
        assert r.registry.router.exposed_names() == ["auto_echo"]
        status = (await r.registry.status())["autostart"]
    failures = [record.getMessage() for record in caplog.records if "autostart of" in record.getMessage()]
    assert len(failures) == 2
    assert failures[0].startswith("autostart of nope failed: Unknown catalog entry")
    assert failures[1].startswith("autostart of other failed: invalid prefix 'Bad'")
    assert status["entries"] == ["nope", "demo", "other"] and status["done"] is True
    assert [(failure["entry"], failure["error"][:25]) for failure in status["failed"]] == [
        ("nope", "Unknown catalog entry 'no"),
        ("other", "invalid prefix 'Bad': use"),
    ]


async def test_a_failed_autostart_stops_showing_once_the_entry_is_added(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}, autostart=(("demo", "Bad"),)) as r:
        with anyio.fail_after(10):
            await r.registry.mounts.wait_for_autostart()
        assert [failure["entry"] for failure in (await r.registry.status())["autostart"]["failed"]] == ["demo"]
        await r.registry.mounts.add("demo")
        assert (await r.registry.status())["autostart"]["failed"] == []


async def test_status_has_no_autostart_section_without_autostart(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}) as r:
        assert "autostart" not in await r.registry.status()


async def test_wait_for_autostart_returns_at_once_without_autostart(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}) as r:
        with anyio.fail_after(0.5):
            await r.registry.mounts.wait_for_autostart()


async def test_wait_for_autostart_is_bounded_by_the_init_timeout(tmp_path: Path) -> None:
    class SlowPull(PullingImages):
        async def pull(self, image: str, on_progress: Any = None) -> None:
            await anyio.sleep(10)

    async with open_test_registry(tmp_path, {"demo": {}}, autostart=(("demo", None),), init_timeout=0.2) as r:
        r.podman.api = SlowPull()  # type: ignore[assignment]  # before the autostart task first runs
        started = anyio.current_time()
        with anyio.fail_after(2):
            await r.registry.mounts.wait_for_autostart()
        assert anyio.current_time() - started >= 0.15
        assert r.registry.router.mounts == {}  # still pulling: the wait gave up, the autostart did not


async def test_the_editors_log_level_is_sent_during_the_handshake(tmp_path: Path) -> None:
    log = tmp_path / "child.jsonl"
    scripts = {"logs": {"capabilities": {"logging": {}}}, "quiet": {}}
    async with open_test_registry(tmp_path, scripts) as r:
        r.podman.runner.env["SCRIPTED_CHILD_LOG"] = str(log)
        r.registry.events.log_level = "warning"
        await r.registry.mounts.add("logs")
        await r.registry.mounts.add("quiet")
    received = [json.loads(line) for line in log.read_text().splitlines()]
    levels = [m["params"] for m in received if m.get("method") == "logging/setLevel"]
    assert levels == [{"level": "warning"}]  # the child without `logging` was not sent one


async def test_a_server_that_refuses_the_log_level_is_still_added(tmp_path: Path) -> None:
    scripts = {"picky": {"capabilities": {"logging": {}}, "refuseSetLevel": True}}
    async with open_test_registry(tmp_path, scripts) as r:
        r.registry.events.log_level = "debug"  # as after the editor's logging/setLevel
        added = await r.registry.mounts.add("picky")
        outcome = await r.registry.calls.call_tool("picky_echo", {"a": 1})
        assert r.podman.runner.gone == []
    assert added["tools"] == ["picky_echo"]
    assert text_of(outcome) == '{"a": 1}'


async def test_the_handshake_declares_the_editors_relayable_capabilities(tmp_path: Path) -> None:
    log = tmp_path / "child.jsonl"
    editor = FakeEditor({"sampling": {}, "roots": {"listChanged": True}})
    async with open_test_registry(tmp_path, {"demo": {}}, editor=editor) as r:
        r.podman.runner.env["SCRIPTED_CHILD_LOG"] = str(log)
        await r.registry.mounts.add("demo")
    received = [json.loads(line) for line in log.read_text().splitlines()]
    (initialize,) = [m for m in received if m.get("method") == "initialize"]
    assert initialize["params"]["capabilities"] == {"sampling": {}, "roots": {"listChanged": True}}
    assert initialize["params"]["clientInfo"]["name"] == "mcp-registry"


# -- the tool cache ---------------------------------------------------------------------------------


async def test_a_cached_tool_list_is_shown_at_once_and_corrected_by_the_live_one(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    async with open_test_registry(tmp_path / "first", {"demo": {"tools": [ECHO]}}, cache_dir=cache) as r:
        await r.registry.mounts.add("demo")
    assert list((cache / "tools").glob("*.json"))  # stored for the next run
    live = [ECHO, {"name": "extra", "inputSchema": {"type": "object"}}]
    async with open_test_registry(tmp_path / "second", {"demo": {"tools": live}}, cache_dir=cache) as r:
        added = await r.registry.mounts.add("demo")
        assert added["tools"] == ["demo_echo"]  # the cached list, before the child answered
        await eventually(lambda: r.registry.router.exposed_names() == ["demo_echo", "demo_extra"])
        await eventually(lambda: r.editor.changed == [*ANNOUNCED, "tools"])
        outcome = await r.registry.calls.call_tool("demo_extra", {"x": 1})
    assert text_of(outcome) == '{"x": 1}'


async def test_a_cached_mount_whose_handshake_fails_is_marked_failed_and_removed(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    async with open_test_registry(tmp_path / "first", {"demo": {}}, cache_dir=cache) as r:
        await r.registry.mounts.add("demo")
    async with open_test_registry(tmp_path / "second", {"demo": BAD_HANDSHAKE}, cache_dir=cache) as r:
        added = await r.registry.mounts.add("demo")  # from the cache: the handshake runs in the background
        assert added["tools"] == ["demo_echo"]
        mount = r.registry.router.mounts["demo"]
        await eventually(lambda: mount.state == "failed")
        await eventually(lambda: r.podman.runner.gone == ["fake-demo-0"])
        assert (mount.last_error or "").startswith("demo did not complete the MCP handshake: ")
        assert 'then registry_remove("demo") and add it again.' in (mount.last_error or "")
        outcome = await r.registry.calls.call_tool("demo_echo", {})
    assert outcome.result["isError"] is True and "did not complete the MCP handshake" in text_of(outcome)


async def test_a_call_waiting_on_a_failed_background_handshake_keeps_the_mounts_remedy(tmp_path: Path) -> None:
    # The call waits for the handshake (`hold_until_initialized`) and fails with it; the mount's
    # last_error (what registry_status shows) must still say what happened and what to do.
    cache = tmp_path / "cache"
    async with open_test_registry(tmp_path / "first", {"demo": {}}, cache_dir=cache) as r:
        await r.registry.mounts.add("demo")
    async with open_test_registry(tmp_path / "second", {"demo": BAD_HANDSHAKE}, cache_dir=cache) as r:
        await r.registry.mounts.add("demo")
        mount = r.registry.router.mounts["demo"]
        outcome = await r.registry.calls.call_tool("demo_echo", {})  # sent at once: waits, then fails
        await eventually(lambda: mount.state == "failed")
        status = await r.registry.status()
    assert outcome.result["isError"] is True and "1999-01-01" in text_of(outcome)
    (shown,) = status["mounts"]
    assert shown["state"] == "failed"
    assert 'then registry_remove("demo") and add it again.' in (shown["last_error"] or ""), shown["last_error"]


# -- restarts -----------------------------------------------------------------------------------------


async def test_a_server_that_exits_is_restarted_in_place_when_its_entry_says_so(tmp_path: Path) -> None:
    script = {"tools": [ECHO, {"name": "die", "inputSchema": {"type": "object"}}], "calls": {"die": {"exit": 3}}}
    entries = {"flaky": {"restart": "on-failure", "max_restarts": 2, "restart_backoff": 0.05}}
    async with open_test_registry(tmp_path, {"flaky": script}, entries=entries) as r:
        await r.registry.mounts.add("flaky")
        mount = r.registry.router.mounts["flaky"]
        died = await r.registry.calls.call_tool("flaky_die", {})
        assert "It is being restarted" in text_of(died)
        await eventually(lambda: mount.restarts == 1 and mount.state == "running")
        assert mount.container_name == "fake-flaky-1" and r.podman.runner.gone == ["fake-flaky-0"]
        assert (mount.last_error or "").startswith("Restarted (restart 1 of 2) after: The server exited with code 3")
        outcome = await r.registry.calls.call_tool("flaky_echo", {"again": True})
        # The restart announced itself too; the same tools as before leave tools/list as it was.
        assert r.editor.changed == [*ANNOUNCED, "resources", "prompts"]
    assert text_of(outcome) == '{"again": true}'


async def test_a_server_that_exits_without_restart_stays_failed(tmp_path: Path) -> None:
    script = {"tools": [{"name": "die", "inputSchema": {"type": "object"}}], "calls": {"die": {"exit": 4}}}
    async with open_test_registry(tmp_path, {"demo": script}) as r:
        await r.registry.mounts.add("demo")
        mount = r.registry.router.mounts["demo"]
        died = await r.registry.calls.call_tool("demo_die", {})
        await eventually(lambda: mount.state == "failed")
        assert r.podman.runner.started == ["fake-demo-0"]
    assert 'Remove it with registry_remove("demo") and add it again.' in text_of(died)
    assert (mount.last_error or "").startswith("The server exited with code 4.")


async def test_an_add_cancelled_mid_handshake_leaves_nothing_behind(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"slow": {"startDelay": 0.5}}) as r:
        with anyio.move_on_after(0.2):
            await r.registry.mounts.add("slow")  # the child does not answer before the cancel
        runner = r.podman.runner
        assert runner.started == ["fake-slow-0"] and runner.gone == ["fake-slow-0"]
        assert r.registry.router.mounts == {}


async def test_a_restart_that_lacks_required_config_leaves_the_mount_failed(tmp_path: Path) -> None:
    script = {"tools": [{"name": "die", "inputSchema": {"type": "object"}}], "calls": {"die": {"exit": 1}}}
    entries = {
        "flaky": {
            "restart": "on-failure",
            "max_restarts": 1,
            "restart_backoff": 0.05,
            "secrets": [{"name": "TOKEN"}],
        }
    }
    async with open_test_registry(tmp_path, {"flaky": script}, entries=entries) as r:
        await r.registry.config_set("flaky", {"TOKEN": "s3cret"})
        await r.registry.mounts.add("flaky")
        mount = r.registry.router.mounts["flaky"]
        await r.registry.config_set("flaky", {"TOKEN": ""})  # unset while it runs
        await r.registry.calls.call_tool("flaky_die", {})
        await eventually(lambda: mount.restarts == 1 and mount.state == "failed")
        assert r.podman.runner.started == ["fake-flaky-0"]  # no new container without the secret
    assert "The restart 1 of 1 failed: flaky needs values for: TOKEN." in (mount.last_error or "")


async def test_remove_says_when_podman_cannot_confirm_the_container_is_gone(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}) as r:
        await r.registry.mounts.add("demo")

        async def unsure(name: str, *, grace: float) -> bool:
            raise PodmanError("the API timed out")

        r.podman.runner.ensure_gone = unsure  # type: ignore[method-assign]
        removed = await r.registry.mounts.remove("demo")
        assert r.registry.router.mounts == {}
    assert removed["container_removed"] is False


# -- exposure and tool filters ----------------------------------------------------------------------

TWO_TOOLS = {"tools": [ECHO, {"name": "drop_all", "inputSchema": {"type": "object"}}]}


async def test_a_search_mount_stays_out_of_the_tool_list_and_the_editor_hears_no_tool_change(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"demo": {}}) as r:
        added = await r.registry.mounts.add("demo", expose="search")
        assert r.registry.router.exposed_tools() == []
        assert r.editor.changed == ["resources", "prompts"]
        outcome = await r.registry.calls.call_tool("demo_echo", {"a": 1})  # still callable
        await r.registry.mounts.remove("demo")
        assert r.editor.changed == ["resources", "prompts"] * 2
    assert added["tools"] == ["demo_echo"] and added["expose"] == "search"
    assert "registry_search(kind='tools')" in added["message"]
    assert text_of(outcome) == '{"a": 1}'


async def test_the_expose_setting_is_the_default_and_registry_add_overrides_it(tmp_path: Path) -> None:
    async with open_test_registry(tmp_path, {"hidden": {}, "shown": {}}, expose="search") as r:
        await r.registry.mounts.add("hidden")
        await r.registry.mounts.add("shown", expose="direct")
        assert [tool["name"] for tool in r.registry.router.exposed_tools()] == ["shown_echo"]
        assert [mount.expose for mount in r.registry.router.mounts.values()] == ["search", "direct"]


async def test_the_users_tool_filter_overrides_the_entrys(tmp_path: Path) -> None:
    entries = {"demo": {"tools_deny": ["echo"]}, "plain": {"tools_deny": ["echo"]}}
    async with open_test_registry(tmp_path, {"demo": TWO_TOOLS, "plain": TWO_TOOLS}, entries=entries) as r:
        config = r.registry.config.config_dir
        config.mkdir(parents=True)
        (config / "config.toml").write_text('[entries.demo]\ntools_deny = ["drop_*"]\n')
        added = await r.registry.mounts.add("demo")
        plain = await r.registry.mounts.add("plain")
    assert (added["tools"], added["filtered_out"]) == (["demo_echo"], ["drop_all"])
    assert (plain["tools"], plain["filtered_out"]) == (["plain_drop_all"], ["echo"])  # the entry's own filter


async def test_an_unreachable_remote_entry_is_named_and_nothing_stays(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/sse"
    remote = {"image": "", "remote": {"url": url, "transport": "sse"}}
    async with open_test_registry(tmp_path, {}, entries={"far": remote}) as r:
        with pytest.raises(RegistryError) as raised:
            await r.registry.mounts.add("far")
        assert r.podman.runner.started == []
        assert r.registry.router.mounts == {}
        assert "far" not in r.registry.mounts._clients
    assert f"Could not connect far to its remote server at {url}: could not connect to {url}" in str(raised.value)
    assert "Nothing was left running" in str(raised.value)


async def test_oauth_is_named_when_the_secret_standing_in_for_it_is_missing(tmp_path: Path) -> None:
    entry = {"secrets": [{"name": "GH_TOKEN"}], "oauth": [{"provider": "github", "env": "GH_TOKEN"}]}
    async with open_test_registry(tmp_path, {"gh": {}}, entries={"gh": entry}) as r:
        with pytest.raises(RegistryError) as raised:
            await r.registry.mounts.add("gh")
    assert "needs values for: GH_TOKEN" in str(raised.value)
    assert "signs in with OAuth (github), which the registry does not handle yet" in str(raised.value)
    assert "Set the secret GH_TOKEN instead" in str(raised.value)


async def test_the_container_gets_the_args_with_the_users_parameters_filled_in(tmp_path: Path) -> None:
    entry = {"args": ["--db", "/data/{{db_name}}"], "parameters": [{"name": "db_name", "required": True}]}
    async with open_test_registry(tmp_path, {"demo": {}}, entries={"demo": entry}) as r:
        with pytest.raises(RegistryError, match="needs values for: db_name"):
            await r.registry.mounts.add("demo")
        r.registry.config.set_values(r.registry.catalog.entry("demo"), {"db_name": "x.sqlite"})
        added = await r.registry.mounts.add("demo")
        assert r.podman.runner.entries[added["container"]].args == ["--db", "/data/x.sqlite"]


def remote_entry(**fields: Any) -> CatalogEntry:
    return CatalogEntry.model_validate(
        {"id": "far", "name": "Far", "description": "d", "remote": {"url": "https://mcp.example.test/mcp"}, **fields}
    )


def test_remote_headers_are_filled_from_secrets_and_env_and_an_unset_optional_one_is_left_out() -> None:
    entry = remote_entry(
        remote={
            "url": "https://mcp.example.test/mcp",
            "headers": {
                "Authorization": "Bearer ${TOKEN}",
                "X-Team": "$TEAM",
                "X-Optional": "${MAYBE}",
                "X-Fixed": "1",
            },
        },
        secrets=[{"name": "TOKEN"}, {"name": "MAYBE", "required": False}],
        env=[{"name": "TEAM"}],
    )
    resolved = ResolvedValues("far", env={"TEAM": "blue"}, secret_env={"TOKEN": "tok-1"})
    assert remote_headers(entry, resolved) == {"Authorization": "Bearer tok-1", "X-Team": "blue", "X-Fixed": "1"}


def test_a_header_value_with_a_line_break_is_refused_without_showing_it() -> None:
    entry = remote_entry(
        remote={"url": "https://mcp.example.test/mcp", "headers": {"Authorization": "Bearer ${TOKEN}"}},
        secrets=[{"name": "TOKEN"}],
    )
    with pytest.raises(RegistryError) as raised:
        remote_headers(entry, ResolvedValues("far", secret_env={"TOKEN": "tok-1\r\nX-Evil: 1"}))
    assert "'Authorization'" in str(raised.value) and "tok-1" not in str(raised.value)


async def test_a_remote_entry_whose_allow_hosts_miss_its_url_is_refused(tmp_path: Path) -> None:
    entry = {"image": "", "remote": {"url": "https://mcp.example.test/mcp"}, "allow_hosts": ["api.example.test:443"]}
    async with open_test_registry(tmp_path, {}, entries={"far": entry}) as r:
        with pytest.raises(RegistryError, match=r"connects to mcp.example.test:443, which its allow_hosts"):
            await r.registry.mounts.add("far")
        assert r.registry.router.mounts == {}


def test_a_remote_url_is_filled_in_to_connect_and_shown_without_its_secrets() -> None:
    entry = remote_entry(
        remote={"url": "https://mcp.example.test/{{region}}/${TOKEN}/mcp?key=${TOKEN}"},
        parameters=[{"name": "region", "default": "eu"}],
        secrets=[{"name": "TOKEN"}],
    )
    resolved = ResolvedValues("far", secret_env={"TOKEN": "tok-1"}, parameters={"region": "eu"})
    connect, shown = remote_urls(entry, resolved)
    assert connect == "https://mcp.example.test/eu/tok-1/mcp?key=tok-1"
    assert shown == "https://mcp.example.test/eu/${TOKEN}/mcp"


async def test_a_package_build_does_not_hold_up_other_adds(tmp_path: Path) -> None:
    package = {"image": "", "package": {"registry": "npm", "name": "slow-server", "version": "1.0.0"}}
    async with open_test_registry(tmp_path, {"demo": {}, "slow": {}}, entries={"slow": package}) as r:
        images = r.registry.mounts._images
        original, building, built = images.ensure, anyio.Event(), anyio.Event()

        async def ensure(entry: CatalogEntry, api: Any, progress: Any) -> tuple[CatalogEntry, str | None]:
            if entry.package is None:
                return await original(entry, api, progress)
            building.set()
            await built.wait()  # the build takes its time
            return entry.model_copy(update={"image": "localhost/fake"}), "sha256:built"

        images.ensure = ensure  # type: ignore[method-assign]
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(r.registry.mounts.add, "slow")
            await building.wait()
            with anyio.fail_after(5):  # not behind the build
                added = await r.registry.mounts.add("demo")
            assert added["prefix"] == "demo" and "slow" not in r.registry.router.mounts
            built.set()
        assert set(r.registry.router.mounts) == {"demo", "slow"}

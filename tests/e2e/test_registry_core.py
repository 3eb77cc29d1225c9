"""The core registry end to end: real Podman, real third-party MCP servers, the SDK's stdio client.

Each test starts `mcp-registry` as a subprocess (as an editor does) with the test catalog, and
drives it only through MCP: registry_* tools, tools/list, and directly exposed tool names.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest

from tests.e2e.support import (
    TEST_LABEL,
    TEST_RUN_LABEL,
    connect_registry,
    labelled_containers,
    owned_by_this_process,
    text_of,
)


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    return result.structured_content


async def call(session: Any, tool: str, **arguments: Any) -> Any:
    return await session.call_tool(tool, arguments)


def wait_until(predicate: Callable[[], bool], seconds: float = 30.0) -> bool:
    """Poll for an effect that happens asynchronously (container removal); not a timing assert."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def instance_containers(instance: str) -> list[str]:
    return labelled_containers(f"io.mcp-registry.instance={instance}")


# Per entry: one real call through registry_exec and what its text must contain.
WORKFLOWS: dict[str, list[tuple[str, dict[str, Any], str]]] = {
    "time": [("get_current_time", {"timezone": "Europe/Paris"}, "Europe/Paris")],
    "sqlite": [
        ("create_table", {"query": "CREATE TABLE e2e (id INTEGER)"}, ""),
        ("write_query", {"query": "INSERT INTO e2e VALUES (42)"}, ""),
        ("read_query", {"query": "SELECT id FROM e2e"}, "42"),
    ],
    "git": [("git_log", {"repo_path": "/repo"}, "Add hello.py")],
    "memory": [
        ("create_entities", {"entities": [{"name": "e2e", "entityType": "test", "observations": ["x"]}]}, "e2e"),
        ("search_nodes", {"query": "e2e"}, "e2e"),
    ],
}


@pytest.mark.parametrize("entry_id", list(WORKFLOWS))
async def test_add_exec_remove(entry_id: str, registry_env: dict[str, str]) -> None:
    notifications: list[str] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ServerNotification):
            notifications.append(message.method)

    async with connect_registry(registry_env, message_handler=on_message) as session:
        await session.list_tools()  # as editors do at once; from now on it hears of changes
        added = structured(await call(session, "registry_add", entry_id=entry_id))
        assert added["prefix"] == entry_id
        container = added["container"]
        assert container.startswith(f"mcp-registry-{entry_id}-")
        assert labelled_containers(TEST_RUN_LABEL) == [container]

        listed = {tool.name: tool for tool in (await session.list_tools()).tools}
        for tool, _, _ in WORKFLOWS[entry_id]:
            assert f"{entry_id}_{tool}" in listed
            assert f"{entry_id}_{tool}" in added["tools"]

        for tool, arguments, expected in WORKFLOWS[entry_id]:
            result = await call(session, "registry_exec", tool_name=f"{entry_id}_{tool}", arguments=arguments)
            assert not result.is_error, text_of(result)
            assert expected in text_of(result)

        # Directly exposed name: the same as registry_exec.
        tool, arguments, expected = WORKFLOWS[entry_id][-1]
        direct = await session.call_tool(f"{entry_id}_{tool}", arguments)
        assert not direct.is_error and expected in text_of(direct)

        again = structured(await call(session, "registry_add", entry_id=entry_id))
        assert again["already_active"] is True and again["tools"] == added["tools"]

        status = structured(await call(session, "registry_status"))
        (mount,) = status["mounts"]
        assert mount["entry"] == entry_id and mount["container"] == container and mount["state"] == "running"
        assert mount["calls_served"] == len(WORKFLOWS[entry_id]) + 1
        assert status["podman"]["available"] is True

        removed = structured(await call(session, "registry_remove", entry_id_or_prefix=entry_id))
        assert removed["container_removed"] is True
        assert labelled_containers(TEST_RUN_LABEL) == []
        assert all(not tool.name.startswith(f"{entry_id}_") for tool in (await session.list_tools()).tools)
        await anyio.sleep(0.1)  # let the last notification arrive
    assert notifications.count("notifications/tools/list_changed") >= 2


async def test_two_mounts_and_fifty_concurrent_calls(registry_env: dict[str, str]) -> None:
    async with connect_registry(registry_env) as session:
        structured(await call(session, "registry_add", entry_id="time"))
        structured(await call(session, "registry_add", entry_id="misbehave", prefix="chaos"))
        names = {tool.name for tool in (await session.list_tools()).tools}
        assert {"time_get_current_time", "time_convert_time", "chaos_echo", "chaos_add"} <= names

        zones = ["UTC", "Europe/Paris", "Asia/Tokyo", "America/New_York", "Australia/Sydney"]
        answers: dict[int, tuple[str, Any]] = {}

        async def one_call(i: int) -> None:
            if i % 2:
                result = await call(session, "registry_exec", tool_name="chaos_add", arguments={"a": i, "b": 1000})
                answers[i] = ("add", result)
            else:
                zone = zones[i % len(zones)]
                result = await session.call_tool("time_get_current_time", {"timezone": zone})
                answers[i] = (zone, result)

        async with anyio.create_task_group() as tasks:
            for i in range(50):
                tasks.start_soon(one_call, i)

        assert len(answers) == 50
        for i, (kind, result) in answers.items():
            assert not result.is_error, text_of(result)
            if kind == "add":
                assert result.structured_content == {"sum": i + 1000}
            else:
                assert json.loads(text_of(result))["timezone"] == kind

        status = structured(await call(session, "registry_status"))
        assert sorted(m["prefix"] for m in status["mounts"]) == ["chaos", "time"]
        assert sum(m["calls_served"] for m in status["mounts"]) == 50


async def test_bad_input_gets_clear_errors(registry_env: dict[str, str]) -> None:
    async with connect_registry(registry_env) as session:
        unknown = await call(session, "registry_add", entry_id="sqlit")
        assert unknown.is_error and "Unknown catalog entry" in text_of(unknown) and "sqlite" in text_of(unknown)

        for prefix in ["Bad_Prefix", "registry", "1abc", "x" * 40]:  # "" is an unprefixed mount now
            bad = await call(session, "registry_add", entry_id="time", prefix=prefix)
            assert bad.is_error and "prefix" in text_of(bad), prefix

        none_active = await call(session, "registry_exec", tool_name="nope_tool", arguments={})
        assert none_active.is_error and "no server is active" in text_of(none_active)

        structured(await call(session, "registry_add", entry_id="time"))
        missing = await call(session, "registry_exec", tool_name="time_nope", arguments={})
        assert missing.is_error and "time_get_current_time" in text_of(missing)

        wrong_type = await session.call_tool("registry_search", {"query": 42})
        assert wrong_type.is_error and "query must be a string" in text_of(wrong_type)
        extra = await session.call_tool("registry_info", {"entry_id": "time", "extra": 1})
        assert extra.is_error and "unexpected argument" in text_of(extra)
        not_object = await call(session, "registry_exec", tool_name="time_get_current_time", arguments=None)
        assert not_object.is_error  # the child rejects the missing timezone, and says so

        gone = await call(session, "registry_remove", entry_id_or_prefix="never-added")
        assert gone.is_error and "time" in text_of(gone)

        # Still serving after all of that.
        still = await session.call_tool("time_get_current_time", {"timezone": "UTC"})
        assert not still.is_error


async def test_search_list_info_work_without_podman(registry_env: dict[str, str]) -> None:
    env = {**registry_env, "MCP_REGISTRY_PODMAN": "/nonexistent/podman", "CONTAINER_HOST": "unix:///nonexistent.sock"}
    async with connect_registry(env) as session:
        hits = structured(await call(session, "registry_search", query="sqlite"))["results"]
        assert hits[0]["id"] == "sqlite"
        assert any(e["id"] == "time" for e in structured(await call(session, "registry_list"))["entries"])
        info = structured(await call(session, "registry_info", entry_id="misbehave"))
        assert info["secrets"] == [
            {"name": "MISBEHAVE_TOKEN", "description": "A secret for secret-handling tests.", "required": False}
        ]
        add = await call(session, "registry_add", entry_id="time")
        assert add.is_error and "Podman is not available" in text_of(add)
        status = structured(await call(session, "registry_status"))
        assert status["podman"]["available"] is False


def _descendants(pid: int) -> list[int]:
    children_file = Path(f"/proc/{pid}/task/{pid}/children")
    children = [int(c) for c in children_file.read_text().split()] if children_file.exists() else []
    return children + [grandchild for child in children for grandchild in _descendants(child)]


async def test_sigkill_then_restart_leaves_no_orphans(registry_env: dict[str, str]) -> None:
    async with connect_registry(registry_env) as session:
        status = structured(await call(session, "registry_add", entry_id="time"))
        assert status["container"]
        first = structured(await call(session, "registry_status"))
        instance, pid = first["instance"], first["pid"]
        assert instance_containers(instance)
        # A crash that takes the registry and its podman clients: the containers stay behind.
        # Its podman clients first: killed after the registry, they would get its parent-death
        # signal and stop their containers, which a crash must not be counted on to do.
        for victim in [*reversed(_descendants(pid)), pid]:
            os.kill(victim, signal.SIGKILL)
        with anyio.move_on_after(10):
            try:
                await session.list_tools()
            except Exception:
                pass
    assert instance_containers(instance), "the crash should have left the container behind"

    # A container that is not ours must survive the cleanup.
    bystander = f"mcp-registry-test-bystander-{os.getpid()}"
    bystander_argv = ["podman", "run", "-d", "--rm", "--name", bystander, f"--label={TEST_LABEL}=bystander"]
    bystander_argv.append(owned_by_this_process())  # so a concurrent test session's cleanup leaves it too
    bystander_argv += ["--entrypoint", "sleep", "localhost/mcp-registry-test/misbehave", "300"]
    await anyio.run_process(bystander_argv)
    try:
        async with connect_registry(registry_env) as session:
            await call(session, "registry_list")
            assert await anyio.to_thread.run_sync(lambda: wait_until(lambda: not instance_containers(instance)))
        assert bystander in labelled_containers(f"{TEST_LABEL}=bystander")
    finally:
        await anyio.run_process(["podman", "rm", "-f", "-t", "0", bystander], check=False)


async def test_config_set_applies_env_and_secrets_on_next_add(registry_env: dict[str, str], tmp_path: Path) -> None:
    secret = "s3cr3t-value-that-must-not-leak"
    async with connect_registry(registry_env) as session:
        stored = structured(
            await call(
                session,
                "registry_config_set",
                entry_id="misbehave",
                values={"MISBEHAVE_PAGE_SIZE": "2", "MISBEHAVE_TOOL_COUNT": "5", "MISBEHAVE_TOKEN": secret},
            )
        )
        assert secret not in json.dumps(stored) and "MISBEHAVE_TOKEN" in stored["message"]
        info = await call(session, "registry_info", entry_id="misbehave")
        assert secret not in text_of(info)

        added = structured(await call(session, "registry_add", entry_id="misbehave"))
        # The child pages tools/list two at a time; every page was followed.
        assert {f"misbehave_synthetic_000{i}" for i in range(5)} <= set(added["tools"])
        echoed = await call(session, "registry_exec", tool_name="misbehave_env", arguments={"name": "MISBEHAVE_TOKEN"})
        assert text_of(echoed) == secret  # the container got it (through the environment, not argv)

        unknown = await call(session, "registry_config_set", entry_id="misbehave", values={"NOT_DECLARED": "x"})
        assert unknown.is_error and "MISBEHAVE_PAGE_SIZE" in text_of(unknown)
        running = structured(
            await call(session, "registry_config_set", entry_id="misbehave", values={"MISBEHAVE_PAGE_SIZE": "3"})
        )
        assert "next time" in running["message"] and "running" in running["message"]
        status = await call(session, "registry_status")
        assert secret not in text_of(status)

    secrets_file = Path(registry_env["XDG_CONFIG_HOME"]) / "mcp-registry" / "secrets.toml"
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    assert secret in secrets_file.read_text()
    assert secret not in (Path(registry_env["XDG_CONFIG_HOME"]) / "mcp-registry" / "config.toml").read_text()

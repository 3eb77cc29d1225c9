"""Smoke test of every test image through the real SDK client: `podman run -i --rm` → handshake
→ tools/list → one real tool call → no container left behind. The `modern` image also answers every
asking tool, prompt and resource in both protocol eras (2026-07-28 input-required rounds, and 2025
mid-call requests)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import mcp_types as types
import pytest
from mcp import ClientSession
from mcp.client.client import Client
from mcp.client.stdio import stdio_client
from pydantic import FileUrl

from tests.e2e.support import SMOKE_LABEL, as_json, labelled_containers, podman_stdio_params, text_of


@dataclass
class SmokeCase:
    image: str
    expected_tools: set[str]
    calls: list[tuple[str, dict[str, Any]]]
    check: Any  # (last result) -> None
    extra_args: list[str] = field(default_factory=list)


def _check_time(result: Any) -> None:
    assert as_json(result)["timezone"] == "UTC"


def _check_sqlite(result: Any) -> None:
    assert "smoke" in text_of(result)


def _check_git(result: Any) -> None:
    assert "Add hello.py" in text_of(result) and "Add README" in text_of(result)


def _check_everything(result: Any) -> None:
    assert text_of(result) == "Echo: hello smoke"


def _check_memory(result: Any) -> None:
    graph = result.structured_content or as_json(result)
    assert [entity["name"] for entity in graph["entities"]] == ["smoke"]


def _check_misbehave(result: Any) -> None:
    assert result.structured_content == {"text": "hello smoke"}


def _check_modern(result: Any) -> None:
    assert text_of(result) == "hello smoke"


CASES = {
    "time": SmokeCase(
        "time", {"get_current_time", "convert_time"}, [("get_current_time", {"timezone": "UTC"})], _check_time
    ),
    "sqlite": SmokeCase(
        "sqlite",
        {"read_query", "write_query", "create_table", "list_tables", "describe_table"},
        [("create_table", {"query": "CREATE TABLE smoke (id INTEGER)"}), ("list_tables", {})],
        _check_sqlite,
    ),
    "git": SmokeCase("git", {"git_status", "git_log"}, [("git_log", {"repo_path": "/repo"})], _check_git),
    "everything": SmokeCase("everything", {"echo"}, [("echo", {"message": "hello smoke"})], _check_everything),
    "memory": SmokeCase(
        "memory",
        {"create_entities", "read_graph"},
        [
            ("create_entities", {"entities": [{"name": "smoke", "entityType": "test", "observations": ["ok"]}]}),
            ("read_graph", {}),
        ],
        _check_memory,
    ),
    "misbehave": SmokeCase(
        "misbehave", {"echo", "crash", "hang", "ask"}, [("echo", {"text": "hello smoke"})], _check_misbehave
    ),
    "modern": SmokeCase(
        "modern",
        {"echo", "ask_elicitation", "ask_sampling", "ask_roots_list", "ask_both", "ask_in_sequence"},
        [("echo", {"text": "hello smoke"})],
        _check_modern,
    ),
}


def _wait_until_gone(label: str, seconds: float = 10.0) -> list[str]:
    # `--rm` removal finishes just after the podman client exits; give it a moment.
    deadline = time.monotonic() + seconds
    while (remaining := labelled_containers(label)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return remaining


@pytest.mark.parametrize("name", list(CASES))
async def test_image_handshake_list_call_and_cleanup(
    name: str, test_images: dict[str, str], podman_env: dict[str, str]
) -> None:
    case = CASES[name]
    params = podman_stdio_params(test_images[case.image], *case.extra_args, env=podman_env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        init = await session.initialize()
        assert init.server_info.name
        tools = await session.list_tools()
        names = {tool.name for tool in tools.tools}
        assert case.expected_tools <= names, f"{name}: missing {case.expected_tools - names}"
        assert labelled_containers(SMOKE_LABEL), "the container should be running now"
        result = None
        for tool, arguments in case.calls:
            result = await session.call_tool(tool, arguments)
            assert not result.is_error, text_of(result)
        case.check(result)
    assert _wait_until_gone(SMOKE_LABEL) == []


async def _sample(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
    prompt = params.messages[0].content
    text = prompt.text if isinstance(prompt, types.TextContent) else "?"
    return types.CreateMessageResult(
        role="assistant", content=types.TextContent(type="text", text=f"re: {text}"), model="smoke-model"
    )


async def _elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"name": "Ada"})


async def _roots(context: Any) -> types.ListRootsResult:
    return types.ListRootsResult(roots=[types.Root(uri=FileUrl("file:///smoke"), name="smoke")])


MODERN_ASKS = {
    "ask_elicitation": "name=Ada",
    "ask_sampling": "sampled=re: modern asks: say hello model=smoke-model",
    "ask_roots_list": 'roots=["file:///smoke"]',
    "ask_both": "name=Ada; sampled=re: modern asks: say hello model=smoke-model",
    "ask_in_sequence": "name=Ada; sampled=re: modern asks: greet Ada model=smoke-model",
}


@pytest.mark.parametrize("mode", ["2026-07-28", "legacy"])
async def test_modern_image_asks_the_client_in_both_eras(
    mode: str, test_images: dict[str, str], podman_env: dict[str, str]
) -> None:
    """2026-07-28: InputRequiredResult rounds the SDK client retries; legacy: requests sent mid-call."""
    params = podman_stdio_params(test_images["modern"], env=podman_env)
    async with Client(
        params, mode=mode, sampling_callback=_sample, elicitation_callback=_elicit, list_roots_callback=_roots
    ) as client:
        assert client.protocol_version == ("2025-11-25" if mode == "legacy" else mode)
        for tool, expected in MODERN_ASKS.items():
            result = await client.call_tool(tool, {})
            assert not result.is_error and text_of(result) == expected, (tool, text_of(result))
        prompt = await client.get_prompt("greeting", {})
        assert [message.content for message in prompt.messages] == [
            types.TextContent(type="text", text="Please greet Ada.")
        ]
        resource = await client.read_resource("modern://greeting/en")
        assert [getattr(item, "text", None) for item in resource.contents] == ["[en] Hello, Ada!"]
    assert _wait_until_gone(SMOKE_LABEL) == []

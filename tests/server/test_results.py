"""Every result the editor sees (`results`): routed results checked per protocol version, and our own."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp_types import INTERNAL_ERROR, SERVER_INFO_META_KEY

from mcp_registry_server.registry import CallOutcome, RequestError
from mcp_registry_server.registry.offload import OffloadStore
from mcp_registry_server.server.results import ShapedResult, error_result, offload_large, routed_result, text_result

HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
MODERN = "2026-07-28"
SERVER = "db server (prefix 'db')"
TEXT = [{"type": "text", "text": "hi"}]


def routed(result: Any, method: str = "tools/call", version: str = "2025-11-25") -> dict[str, Any]:
    return routed_result(CallOutcome(result, server=SERVER), method, version)


@pytest.mark.parametrize("version", HANDSHAKE_VERSIONS)
def test_a_valid_result_goes_on_in_the_surfaces_shape(version: str) -> None:
    shaped = routed({"content": TEXT, "isError": False, "unknownField": 1}, version=version)
    assert isinstance(shaped, ShapedResult)
    assert shaped == {"content": TEXT, "isError": False}  # what the version does not define is dropped


@pytest.mark.parametrize("version", HANDSHAKE_VERSIONS)
def test_an_invalid_tools_call_result_is_a_tool_error_naming_the_server(version: str) -> None:
    shaped = routed({"content": "not a list"}, version=version)
    assert shaped["isError"] is True and not isinstance(shaped, ShapedResult)
    (item,) = shaped["content"]
    assert item["text"].startswith(f"The {SERVER} returned an invalid tools/call result (content: ")
    assert item["text"].endswith(
        "so it was not passed on. This is a bug in that server; its log (mcp-registry logs) may say more."
    )


@pytest.mark.parametrize(("method", "result"), [("prompts/get", {"messages": 5}), ("resources/read", {})])
def test_an_invalid_result_of_another_method_is_an_internal_error(method: str, result: dict[str, Any]) -> None:
    with pytest.raises(RequestError) as raised:
        routed(result, method)
    assert raised.value.code == INTERNAL_ERROR
    assert raised.value.message.startswith(f"The {SERVER} returned an invalid {method} result (")


def test_an_unnamed_server_is_the_server() -> None:
    shaped = routed_result(CallOutcome({"content": "oops"}), "tools/call", "2025-11-25")
    assert shaped["content"][0]["text"].startswith(
        "The server returned an invalid tools/call result (content: Input should be a valid list)"
    )


def test_a_long_complaint_is_cut_to_300_characters() -> None:
    shaped = routed({"content": [{"type": "text", "text": "x", "annotations": {"audience": ["x" * 1000]}}]})
    text = shaped["content"][0]["text"]
    problem = text[text.index("result (") + len("result (") : text.index("), so it was not")]
    assert 0 < len(problem) <= 300


def test_a_2026_editor_gets_result_type_complete() -> None:
    assert routed({"content": TEXT}, version=MODERN) == {"content": TEXT, "resultType": "complete"}
    messages = [{"role": "user", "content": TEXT[0]}]
    assert routed({"messages": messages}, "prompts/get", MODERN) == {"messages": messages, "resultType": "complete"}


def test_a_2026_editor_reading_an_older_childs_resource_gets_the_registrys_cache_hint() -> None:
    contents = [{"uri": "file:///a", "text": "a"}]
    assert routed({"contents": contents}, "resources/read", MODERN) == {
        "ttlMs": 0,
        "cacheScope": "private",
        "contents": contents,
        "resultType": "complete",
    }
    own = routed({"contents": contents, "ttlMs": 5, "cacheScope": "public"}, "resources/read", MODERN)
    assert (own["ttlMs"], own["cacheScope"]) == (5, "public")  # a 2026 child's own hint stays
    assert "cacheScope" not in routed({"contents": contents}, "resources/read", "2025-11-25")


def test_a_handshake_era_editor_gets_no_result_type() -> None:
    assert "resultType" not in routed({"content": TEXT, "resultType": "complete"}, version="2025-11-25")


def test_the_2026_arm_is_chosen_by_result_type() -> None:
    # A broken complete result must not pass as an (empty) input_required one.
    broken = routed({"resultType": "complete"}, version=MODERN)
    assert broken["isError"] is True and "content" in broken["content"][0]["text"]
    asks = {"resultType": "input_required", "inputRequests": {"q": {"method": "roots/list"}}, "requestState": "s"}
    assert routed(asks, version=MODERN) == asks
    bad_asks = routed({"resultType": "input_required", "inputRequests": 5}, version=MODERN)
    assert bad_asks["isError"] is True and "inputRequests" in bad_asks["content"][0]["text"]


@pytest.mark.parametrize("version", [*HANDSHAKE_VERSIONS, MODERN])
def test_a_childs_server_info_stamp_is_taken_off_and_other_meta_kept(version: str) -> None:
    meta = {SERVER_INFO_META_KEY: {"name": "child", "version": "1"}, "com.example/trace": "t-1"}
    shaped = routed({"content": TEXT, "_meta": meta}, version=version)
    assert shaped["_meta"] == {"com.example/trace": "t-1"}
    assert SERVER_INFO_META_KEY in meta  # the child's result itself is not changed


def test_error_result_and_text_result() -> None:
    assert error_result("no") == {"content": [{"type": "text", "text": "no"}], "isError": True}
    assert text_result("plain") == {"content": [{"type": "text", "text": "plain"}], "isError": False}
    payload = {"name": "Zoë", "n": [1]}
    shaped = text_result(payload, is_error=True)
    assert shaped["structuredContent"] is payload and shaped["isError"] is True
    assert json.loads(shaped["content"][0]["text"]) == payload and "Zoë" in shaped["content"][0]["text"]


# -- large results ----------------------------------------------------------------------------------


async def test_a_result_below_the_threshold_is_passed_on_as_it_is(tmp_path: Path) -> None:
    result = routed({"content": [{"type": "text", "text": "x" * 100}]})
    assert await offload_large(result, "2025-11-25", OffloadStore(tmp_path, threshold=100, max_bytes=1000)) is result
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("max_bytes", [10**6, 1000], ids=["offloaded", "cannot be kept"])
async def test_a_schema_bound_results_structured_content_stays_inline_whatever_its_size(
    tmp_path: Path, max_bytes: int
) -> None:
    # A tool with an outputSchema must return structuredContent: the SDK's client refuses a result without it.
    payload = {"text": "x" * 70_000}
    big = {"content": [{"type": "text", "text": json.dumps(payload)}], "structuredContent": payload, "isError": False}
    store = OffloadStore(tmp_path, threshold=64 * 1024, max_bytes=max_bytes)
    bound = await offload_large(big, "2025-11-25", store, schema_bound=True)
    assert bound["structuredContent"] is payload
    assert bound["content"][0]["text"] == json.dumps(payload)[:4096]  # the text is still only a preview
    unbound = await offload_large(big, "2025-11-25", store)
    assert "structuredContent" not in unbound  # large, and optional without a schema: kept in the store


async def test_a_result_that_cannot_be_kept_becomes_its_preview_with_the_reason(tmp_path: Path) -> None:
    big = {"content": [{"type": "text", "text": "ab" * 5000}], "isError": True, "_meta": {"k": 1}}
    preview = await offload_large(big, "2025-11-25", OffloadStore(tmp_path, threshold=10, max_bytes=1000))
    assert preview["isError"] is True and preview["_meta"] == {"k": 1}
    assert preview["content"][0] == {"type": "text", "text": ("ab" * 5000)[:4096]}
    assert (
        "only this preview could be kept: it takes 10,000 bytes, more than all offloaded results may take"
        in (preview["content"][1]["text"])
    )
    assert len(preview["content"]) == 2 and os.listdir(tmp_path) == []  # no reference to a result not kept

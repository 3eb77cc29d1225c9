"""What the SDK's runner does around a handler, as the direct lane calls it (`wire_shape`)."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.server.caching import CacheHint
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, METHOD_NOT_FOUND
from pydantic import ValidationError

from mcp_registry_server.server.results import ShapedResult
from mcp_registry_server.server.wire_shape import check_request, wire_result


async def _list_tools(ctx: Any, params: Any) -> dict[str, Any]:
    return {"tools": []}


def server() -> Server[Any]:
    return Server("test", cache_hints={"tools/list": CacheHint(ttl_ms=0, scope="private")}, on_list_tools=_list_tools)


@pytest.mark.parametrize(
    ("method", "version", "params"),
    [
        ("no/such", "2025-11-25", {}),  # no version defines it
        ("subscriptions/listen", "2025-11-25", {}),  # 2026-07-28 only
        ("logging/setLevel", "2026-07-28", {"level": "info"}),  # gone in 2026-07-28
        ("tools/call", "2025-11-25", {"name": "x"}),  # defined, but this server has no handler
    ],
)
def test_a_method_the_version_or_the_server_lacks_is_method_not_found(
    method: str, version: str, params: dict[str, Any]
) -> None:
    with pytest.raises(MCPError) as raised:
        check_request(server(), method, version, params)
    assert raised.value.error.code == METHOD_NOT_FOUND and raised.value.error.data == method


def test_params_are_checked_against_the_handlers_model() -> None:
    check_request(server(), "tools/list", "2025-11-25", None)  # no params: fine
    check_request(server(), "tools/list", "2025-11-25", {"cursor": "c"})
    with pytest.raises(ValidationError):
        check_request(server(), "tools/list", "2025-11-25", {"cursor": 5})


def test_the_cache_hint_comes_first_and_the_handlers_keys_win() -> None:
    page = {"tools": [], "resultType": "complete"}
    assert wire_result(server(), "tools/list", "2026-07-28", page) == {
        "tools": [],
        "resultType": "complete",
        "ttlMs": 0,
        "cacheScope": "private",
    }
    assert wire_result(server(), "tools/list", "2026-07-28", {**page, "ttlMs": 5})["ttlMs"] == 5


def test_fields_the_version_does_not_define_are_dropped() -> None:
    assert wire_result(server(), "tools/list", "2025-11-25", {"tools": [], "zzz": 1}) == {"tools": []}


def test_a_shaped_result_is_not_sieved_again() -> None:
    shaped = ShapedResult({"content": [], "zzz": "kept: the sieve already ran"})
    assert wire_result(server(), "tools/call", "2025-11-25", shaped) is shaped


def test_a_shaped_result_of_a_cached_method_still_gets_its_hint() -> None:
    shaped = ShapedResult({"tools": [], "resultType": "complete"})
    assert wire_result(server(), "tools/list", "2026-07-28", shaped)["cacheScope"] == "private"


def test_an_invalid_result_is_an_internal_error() -> None:
    with pytest.raises(MCPError) as raised:
        wire_result(server(), "tools/call", "2025-11-25", {"content": 5})
    assert raised.value.error.code == INTERNAL_ERROR
    assert raised.value.error.message == "Handler returned an invalid result"

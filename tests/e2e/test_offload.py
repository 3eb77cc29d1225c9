"""Large results through a real registry and a real container: a preview, a reference, and slices
that reassemble the result byte for byte, on both dispatch paths and in both protocol eras.

The misbehave image's `big_result` tool answers `megabytes` MiB of text on one line. `RawRegistry`
drives the registry (the SDK client reads a 20 MB line in quadratic time).
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import anyio

from tests.e2e.harness import RawRegistry

MIB = 1024 * 1024
BIG = 20 * MIB
MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "raw-test", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


async def call(registry: RawRegistry, name: str, arguments: dict[str, Any], *, modern: bool) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name, "arguments": arguments}
    if modern:
        params["_meta"] = MODERN_META
    reply = await registry.request("tools/call", params, within=120)
    assert "result" in reply, reply
    return reply["result"]


def ref_of(preview: dict[str, Any]) -> str:
    """The reference of an offloaded result, from its resource_link; checks the preview on the way."""
    head, note, link = preview["content"]
    assert head == {"type": "text", "text": "x" * 4096} and not preview.get("isError")
    assert f"this result is {BIG:,} bytes, more than the 65,536 sent at once, so it is kept as" in note["text"]
    assert link["type"] == "resource_link" and link["size"] == BIG
    assert link["uri"].startswith("mcp-registry://results/")
    return str(link["uri"]).removeprefix("mcp-registry://results/")


async def reassembled(registry: RawRegistry, ref: str, *, modern: bool) -> bytes:
    pieces: list[str] = []
    offset: int | None = 0
    while offset is not None:
        result = await call(
            registry, "registry_get_content", {"ref": ref, "offset": offset, "length": MIB}, modern=modern
        )
        assert not result.get("isError"), result
        pieces.append(result["content"][0]["text"])
        offset = result["_meta"]["io.mcp-registry/slice"]["next_offset"]
    return "".join(pieces).encode()


async def read_resource(registry: RawRegistry, uri: str, *, modern: bool) -> dict[str, Any]:
    params: dict[str, Any] = {"uri": uri, **({"_meta": MODERN_META} if modern else {})}
    return await registry.request("resources/read", params, within=120)


async def check_schema_bound_echo(registry: RawRegistry, *, modern: bool) -> None:
    """`echo` declares an outputSchema: past the threshold its text is offloaded, its structuredContent stays."""
    long_text = "y" * 70_000
    echoed = await call(registry, "chaos_echo", {"text": long_text}, modern=modern)
    assert echoed["structuredContent"] == {"text": long_text}
    assert echoed["content"][0] == {"type": "text", "text": long_text[:4096]}
    assert "so it is kept as reference" in echoed["content"][1]["text"]


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_20_mb_result_comes_back_as_a_preview_and_slices_on_the_lane(
    registry_env: dict[str, str], tmp_path: Path
) -> None:
    # Room for one 20 MiB result: the second evicts the first.
    env = {**registry_env, "MCP_REGISTRY_OFFLOAD_MAX_BYTES": str(30 * MIB)}
    results_dir = tmp_path / "state" / "mcp-registry" / "results"
    async with RawRegistry.start(env, tmp_path / "registry.log") as registry:
        await registry.initialize()
        await registry.structured("registry_add", {"entry_id": "misbehave", "prefix": "chaos"})

        with anyio.fail_after(120):
            first = ref_of(await call(registry, "chaos_big_result", {"megabytes": 20}, modern=False))
            assert await reassembled(registry, first, modern=False) == b"x" * BIG
            (instance_dir,) = results_dir.iterdir()
            assert mode_of(results_dir) == mode_of(instance_dir) == 0o700
            assert {mode_of(path) for path in instance_dir.iterdir()} == {0o600}

            past = await call(registry, "registry_get_content", {"ref": first, "offset": BIG}, modern=False)
            assert past["isError"] and f"past the end of the text of result '{first}'" in past["content"][0]["text"]

            # registry_exec gets the same; the second result evicts the first.
            exec_args = {"tool_name": "chaos_big_result", "arguments": {"megabytes": 20}}
            second = ref_of(await call(registry, "registry_exec", exec_args, modern=False))
            read = await read_resource(registry, f"mcp-registry://results/{second}", modern=False)
            (contents,) = read["result"]["contents"]
            assert contents["text"].encode() == b"x" * BIG
            del read, contents
            evicted = await call(registry, "registry_get_content", {"ref": first}, modern=False)
            assert evicted["isError"] and "is no longer kept" in evicted["content"][0]["text"]

        echoed = await call(registry, "chaos_echo", {"text": "small"}, modern=False)
        assert echoed["content"] == [{"type": "text", "text": "small"}]  # small results pass as they are
        await check_schema_bound_echo(registry, modern=False)
    assert list(results_dir.iterdir()) == []  # removed when the registry exits


async def test_a_20_mb_result_is_offloaded_on_the_sdk_loop_in_the_2026_era(
    registry_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**registry_env, "MCP_REGISTRY_DIRECT_LANE": "off"}
    async with RawRegistry.start(env, tmp_path / "registry.log") as registry:
        added = await call(registry, "registry_add", {"entry_id": "misbehave", "prefix": "chaos"}, modern=True)
        assert not added.get("isError"), added
        with anyio.fail_after(120):
            preview = await call(registry, "chaos_big_result", {"megabytes": 20}, modern=True)
            assert preview["resultType"] == "complete"
            ref = ref_of(preview)
            assert await reassembled(registry, ref, modern=True) == b"x" * BIG
            read = await read_resource(registry, f"mcp-registry://results/{ref}", modern=True)
            assert read["result"]["contents"][0]["text"].encode() == b"x" * BIG
        await check_schema_bound_echo(registry, modern=True)

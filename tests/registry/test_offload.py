"""The offload store (registry/offload.py): sizes, slices, parts, eviction, files and their lifetime."""

from __future__ import annotations

import os
import random
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mcp_registry_server.podman.ownership import own_owner_label
from mcp_registry_server.registry.offload import (
    OffloadError,
    OffloadStore,
    open_offload_store,
    result_size,
)
from mcp_registry_server.settings import RegistrySettings

SETTINGS = RegistrySettings(catalog_dirs=(), config_dir=Path("/nonexistent"), runtime_dir=Path("/nonexistent"))


def text_result(*texts: str, **extra: Any) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text} for text in texts], **extra}


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_result_size_counts_utf8_bytes_base64_and_structured_json() -> None:
    assert result_size(text_result("abc", "é")) == 3 + 2
    image = {"type": "image", "data": "QUJD", "mimeType": "image/png"}
    embedded = {"type": "resource", "resource": {"uri": "x:y", "blob": "QUJDRA=="}}
    assert result_size({"content": [image, embedded], "structuredContent": {"a": 1}}) == 4 + 8 + len('{"a":1}')
    assert result_size({"content": "not a list"}) == 0


async def test_files_are_private_and_gone_when_the_store_closes(tmp_path: Path) -> None:
    settings = replace(SETTINGS, state_dir=tmp_path / "state")
    async with open_offload_store(settings) as store:
        offloaded = await store.put(text_result("x" * 100))
        assert mode_of(tmp_path / "state" / "results") == 0o700 and mode_of(store.directory) == 0o700
        files = sorted(store.directory.iterdir())
        assert [f.name for f in files] == [f"{offloaded.ref}.text", "owner"]
        assert all(mode_of(f) == 0o600 for f in files)
    assert not store.directory.exists() and (tmp_path / "state" / "results").is_dir()


async def test_without_a_state_dir_a_temp_dir_is_used_and_removed() -> None:
    async with open_offload_store(SETTINGS) as store:
        await store.put(text_result("y"))
        directory = store.directory
        assert mode_of(directory) == 0o700
    assert not directory.exists() and not directory.parent.exists()


async def test_dead_registries_leftovers_are_swept_live_ones_kept(tmp_path: Path) -> None:
    results = tmp_path / "results"
    dead, alive, foreign = results / "dead", results / "alive", results / "elsewhere"
    for directory in (dead, alive, foreign):
        directory.mkdir(parents=True)
        (directory / "a-1.text").write_text("left behind")
    host = SETTINGS.hostname
    (dead / "owner").write_text(f"{host}:{2**22 + 12345}:1\n")  # above pid_max: no such process
    (alive / "owner").write_text(own_owner_label(host) + "\n")  # this process: alive
    (foreign / "owner").write_text(f"another-host:{2**22 + 12345}:1\n")
    async with open_offload_store(replace(SETTINGS, state_dir=tmp_path)):
        assert not dead.exists() and alive.exists() and foreign.exists()


async def test_slices_of_non_ascii_text_are_exact_across_checkpoints(tmp_path: Path) -> None:
    rng = random.Random(7)
    alphabet = "aé✓😀\n\ud800"  # 1- to 4-byte characters, and a lone surrogate (JSON allows it)
    first = "".join(rng.choice(alphabet) for _ in range(150_000))
    second = "".join(rng.choice(alphabet) for _ in range(70_001))
    store = OffloadStore(tmp_path, threshold=1, max_bytes=10**9)
    offloaded = await store.put(text_result(first, second))
    text = first + second
    assert offloaded.text_chars == len(text) and offloaded.preview == text[:4096]
    for _ in range(40):
        offset = rng.randrange(len(text))
        length = rng.randrange(1, 200_000)
        piece = await store.text_slice(offloaded.ref, offset, length)
        assert piece.text == text[offset : offset + length] and piece.total_chars == len(text)
    pieces, offset = [], 0
    while True:
        piece = await store.text_slice(offloaded.ref, offset, 65_536 + 17)
        pieces.append(piece.text)
        if piece.next_offset is None:
            break
        offset = piece.next_offset
    assert "".join(pieces) == text
    own = await store.text_slice(offloaded.ref, 5, 10, part=1)
    assert own.text == second[5:15] and own.total_chars == len(second)


async def test_parts_are_kept_whole_and_addressed_by_index(tmp_path: Path) -> None:
    image = {"type": "image", "data": "QUJD", "mimeType": "image/png"}
    store = OffloadStore(tmp_path, threshold=1, max_bytes=10**9)
    offloaded = await store.put(
        {
            "content": [{"type": "text", "text": "head"}, image, {"type": "text", "text": "tail"}],
            "structuredContent": {"k": [1]},
        }
    )
    assert [(p.index, p.type, p.start, p.chars) for p in offloaded.parts] == [
        (0, "text", 0, 4),
        (1, "image", 0, 0),
        (2, "text", 4, 4),
        (3, "structuredContent", 0, 0),
    ]
    assert (await store.part(offloaded.ref, 1))[1] == image
    assert (await store.part(offloaded.ref, 3))[1] == {"k": [1]}
    assert (await store.text_slice(offloaded.ref, 0, 100)).text == "headtail"
    contents = await store.contents(offloaded.uri)
    assert contents == [
        {"uri": offloaded.uri, "mimeType": "text/plain", "text": "headtail"},
        {"uri": f"{offloaded.uri}/1", "mimeType": "image/png", "blob": "QUJD"},
        {"uri": f"{offloaded.uri}/3", "mimeType": "application/json", "text": '{"k":[1]}'},
    ]
    assert await store.contents(f"{offloaded.uri}/2") == [
        {"uri": f"{offloaded.uri}/2", "mimeType": "text/plain", "text": "tail"}
    ]
    with pytest.raises(OffloadError, match="has parts 0 to 3, not 4"):
        await store.part(offloaded.ref, 4)
    with pytest.raises(OffloadError, match="is image, not text"):
        await store.text_slice(offloaded.ref, 0, 1, part=1)


async def test_oldest_are_evicted_first_and_evicted_or_unknown_refs_say_so(tmp_path: Path) -> None:
    store = OffloadStore(tmp_path, threshold=1, max_bytes=250)
    first = await store.put(text_result("a" * 100))
    second = await store.put(text_result("b" * 100))
    third = await store.put(text_result("c" * 100))  # 300 > 250: the first goes
    assert store.total_bytes == 200 and not (tmp_path / f"{first.ref}.text").exists()
    with pytest.raises(OffloadError, match=r"no longer kept.*MCP_REGISTRY_OFFLOAD_MAX_BYTES"):
        await store.text_slice(first.ref, 0, 10)
    assert (await store.text_slice(second.uri, 0, 3)).text == "bbb"  # the URI works as a ref too
    with pytest.raises(OffloadError, match="There is no offloaded result 'ffffff-1'"):
        store.find("ffffff-1")
    with pytest.raises(OffloadError, match=r"offset 100 is past the end of the text of result .*100 characters"):
        await store.text_slice(third.ref, 100, 10)


async def test_a_result_larger_than_the_bound_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    store = OffloadStore(tmp_path, threshold=1, max_bytes=50)
    kept = await store.put(text_result("k" * 40))
    with pytest.raises(OffloadError, match="more than all offloaded results may take together"):
        await store.put(text_result("z" * 51))
    assert sorted(os.listdir(tmp_path)) == [f"{kept.ref}.text"] and store.total_bytes == 40


def test_the_threshold_decides_and_zero_disables(tmp_path: Path) -> None:
    assert OffloadStore(tmp_path, threshold=3, max_bytes=10).wants(text_result("abcd"))
    assert not OffloadStore(tmp_path, threshold=4, max_bytes=10).wants(text_result("abcd"))
    assert not OffloadStore(tmp_path, threshold=0, max_bytes=10).wants(text_result("abcd" * 1000))

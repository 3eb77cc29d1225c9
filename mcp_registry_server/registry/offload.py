"""Large tool results kept on disk, so the editor gets a preview and reads the rest in pieces.

Contract:
- `open_offload_store(settings)` is an async context manager: the store's directory is
  `<state dir>/results/<instance id>/` (0700, its parent too; files 0600), created on entry and
  removed on exit, cancelled or not. On entry it also removes the directories of registries on
  this host that died without cleaning up (each directory names its owner in `owner`).
- `result_size(result)` is what the threshold compares, cheaply (one pass over the content list):
  the UTF-8 bytes of the text items, the length of base64 data (images, audio, embedded blobs and
  texts), and the JSON of `structuredContent`.
- `put(result)` keeps a tool result as parts: its text (the text items joined in order, nothing
  between them: character offsets count Unicode code points of that text), every other content
  item whole (its index in `content`), and `structuredContent` whole (index `len(content)`). It
  returns an `Offloaded` (the reference, sizes, the parts, the preview: the first
  `PREVIEW_CHARS` characters of the text). Then the oldest results are evicted until all fit
  in `max_bytes`. A result that cannot be kept (larger than the bound, a disk error) raises
  `OffloadError`, and nothing of it stays.
- `text_slice(ref, offset, length)`, `part(ref, index)` and `contents(uri)` (for
  `resources/read` of `mcp-registry://results/<ref>[/<index>]`) read it back; an unknown or
  evicted reference, an offset past the end or a part that does not exist is an `OffloadError`
  that says so. File I/O runs in worker threads; the bookkeeping stays on the event loop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from pydantic_core import from_json, to_json

from mcp_registry_server.podman.ownership import Owner, own_owner_label, owner_is_alive
from mcp_registry_server.settings import RegistrySettings

__all__ = [
    "PREVIEW_CHARS",
    "RESULTS_URI",
    "OffloadError",
    "OffloadStore",
    "Offloaded",
    "Part",
    "TextSlice",
    "open_offload_store",
    "result_size",
]

logger = logging.getLogger(__name__)

RESULTS_URI = "mcp-registry://results/"
PREVIEW_CHARS = 4096
# A non-ASCII text's byte offset is noted every this many characters, so a slice reads at most
# this much more than it returns.
_CHECKPOINT_CHARS = 64 * 1024
_REF = re.compile(r"(?P<token>[0-9a-f]{6})-(?P<seq>[1-9][0-9]{0,15})")
_BULK_KEYS = ("text", "data", "blob")


class OffloadError(Exception):
    """An offloaded result that cannot be kept or read; the message says why and what to do."""


@dataclass(frozen=True)
class Part:
    """One part of an offloaded result: a text item (`start`, `chars` in the result's text) or a whole one."""

    index: int
    type: str
    """The content item's type ("text", "image", …), or "structuredContent"."""
    size: int
    start: int = 0
    chars: int = 0
    mime_type: str | None = None


@dataclass(frozen=True)
class Offloaded:
    ref: str
    size: int
    """`result_size` of the whole result."""
    text_chars: int
    preview: str
    parts: tuple[Part, ...]

    @property
    def uri(self) -> str:
        return f"{RESULTS_URI}{self.ref}"


@dataclass(frozen=True)
class TextSlice:
    text: str
    offset: int
    total_chars: int

    @property
    def next_offset(self) -> int | None:
        end = self.offset + len(self.text)
        return end if end < self.total_chars else None


@dataclass(frozen=True)
class _Kept:
    offloaded: Offloaded
    disk_bytes: int
    checkpoints: tuple[int, ...] | None
    """Byte offsets of every `_CHECKPOINT_CHARS`-th character and the end; None for ASCII text."""


def result_size(result: dict[str, Any]) -> int:
    """The bulk of a tool result, in bytes; see the module docstring."""
    size = 0
    content = result.get("content")
    if isinstance(content, list):
        for item in content:
            if isinstance(item, dict):
                size += _item_size(item)
    structured = result.get("structuredContent")
    if structured is not None:
        size += len(to_json(structured))
    return size


def _item_size(item: dict[str, Any]) -> int:
    size = 0
    for holder in (item, item.get("resource")):
        if isinstance(holder, dict):
            for key in _BULK_KEYS:
                value = holder.get(key)
                if isinstance(value, str):
                    # isascii() is O(1) in CPython, so ASCII text (and all base64) costs a len().
                    size += len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))
    return size


class OffloadStore:
    """Offloaded results of one registry; build it with `open_offload_store`. See the module docstring."""

    def __init__(self, directory: Path, *, threshold: int, max_bytes: int) -> None:
        self.directory = directory
        self.threshold = threshold
        """Results larger than this many bytes are offloaded; 0: none are."""
        self.max_bytes = max_bytes
        self.total_bytes = 0
        self._kept: OrderedDict[str, _Kept] = OrderedDict()  # oldest first
        self._token = secrets.token_hex(3)
        self._issued = 0

    def wants(self, result: dict[str, Any]) -> bool:
        """Whether `result` is past the threshold (cheap: see `result_size`)."""
        return self.threshold > 0 and result_size(result) > self.threshold

    # --- keeping --------------------------------------------------------------------------------

    async def put(self, result: dict[str, Any]) -> Offloaded:
        # result_size is a lower bound of what goes to disk: a result past the bound is not written at all.
        if (size := result_size(result)) > self.max_bytes:
            raise self._too_large(size)
        self._issued += 1
        ref = f"{self._token}-{self._issued}"
        try:
            kept = await anyio.to_thread.run_sync(self._write, ref, result)
        except BaseException as error:
            self._remove_files(ref)  # a cancelled or failed write leaves nothing behind
            if isinstance(error, OSError):
                raise OffloadError(f"the registry could not write it to {self.directory}: {error}") from None
            raise
        if kept.disk_bytes > self.max_bytes:
            self._remove_files(ref)
            raise self._too_large(kept.disk_bytes)
        self._kept[ref] = kept
        self.total_bytes += kept.disk_bytes
        while self.total_bytes > self.max_bytes:
            oldest, _ = next(iter(self._kept.items()))
            self._evict(oldest)
        return kept.offloaded

    def _too_large(self, size: int) -> OffloadError:
        return OffloadError(
            f"it takes {size:,} bytes, more than all offloaded results may take together "
            f"(MCP_REGISTRY_OFFLOAD_MAX_BYTES={self.max_bytes:,})"
        )

    def _write(self, ref: str, result: dict[str, Any]) -> _Kept:
        content = result.get("content")
        items = content if isinstance(content, list) else []
        parts: list[Part] = []
        texts: list[str] = []
        chars = disk_bytes = 0
        for index, item in enumerate(items):
            if isinstance(item, dict) and item.get("type") == "text" and isinstance(item.get("text"), str):
                text = item["text"]
                parts.append(Part(index, "text", _item_size(item), start=chars, chars=len(text)))
                texts.append(text)
                chars += len(text)
            else:
                data = to_json(item)
                kind = item.get("type") if isinstance(item, dict) else None
                mime = item.get("mimeType") if isinstance(item, dict) else None
                parts.append(Part(index, str(kind), len(data), mime_type=mime if isinstance(mime, str) else None))
                disk_bytes += self._write_file(f"{ref}.{index}.json", data)
        if "structuredContent" in result:
            data = to_json(result["structuredContent"])
            parts.append(Part(len(items), "structuredContent", len(data), mime_type="application/json"))
            disk_bytes += self._write_file(f"{ref}.{len(items)}.json", data)
        text = "".join(texts)
        checkpoints: tuple[int, ...] | None = None
        if text.isascii():
            disk_bytes += self._write_file(f"{ref}.text", text.encode("ascii"))
        else:
            chunks = [
                text[i : i + _CHECKPOINT_CHARS].encode("utf-8", "surrogatepass")
                for i in range(0, len(text), _CHECKPOINT_CHARS)
            ]
            offsets = [0]
            for chunk in chunks:
                offsets.append(offsets[-1] + len(chunk))
            checkpoints = tuple(offsets)
            disk_bytes += self._write_file(f"{ref}.text", b"".join(chunks))
        offloaded = Offloaded(ref, result_size(result), chars, text[:PREVIEW_CHARS], tuple(parts))
        return _Kept(offloaded, disk_bytes, checkpoints)

    def _write_file(self, name: str, data: bytes) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(self.directory / name, flags, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return len(data)

    def _evict(self, ref: str) -> None:
        kept = self._kept.pop(ref)
        self.total_bytes -= kept.disk_bytes
        self._remove_files(ref)
        logger.info(
            "evicted offloaded result %s (%d bytes) to stay within %d bytes", ref, kept.disk_bytes, self.max_bytes
        )

    def _remove_files(self, ref: str) -> None:
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.directory):
                if entry.name.startswith(f"{ref}."):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)

    # --- reading --------------------------------------------------------------------------------

    def find(self, ref: str) -> Offloaded:
        return self._find(ref).offloaded

    def _find(self, ref: str) -> _Kept:
        if ref.startswith(RESULTS_URI):
            ref = ref[len(RESULTS_URI) :]
        kept = self._kept.get(ref)
        if kept is not None:
            return kept
        match = _REF.fullmatch(ref)
        if match and match["token"] == self._token and int(match["seq"]) <= self._issued:
            raise OffloadError(
                f"The offloaded result {ref!r} is no longer kept: the oldest results are evicted once all "
                f"together pass MCP_REGISTRY_OFFLOAD_MAX_BYTES ({self.max_bytes:,} bytes). Call the tool again."
            )
        raise OffloadError(
            f"There is no offloaded result {ref[:80]!r}: references look like "
            f"'{self._token}-1' and last only as long as the registry that gave them. Call the tool again."
        )

    async def text_slice(self, ref: str, offset: int, length: int, part: int | None = None) -> TextSlice:
        """Characters [offset, offset + length) of the result's text, or of one text part's."""
        kept = self._find(ref)
        start, total, what = 0, kept.offloaded.text_chars, "the text"
        if part is not None:
            found = self._part(kept, part)
            if found.type != "text":
                raise OffloadError(f"Part {part} of result {kept.offloaded.ref!r} is {found.type}, not text.")
            start, total, what = found.start, found.chars, f"text part {part}"
        if offset < 0 or length < 1:
            raise OffloadError("offset must be 0 or more and length 1 or more.")
        if offset >= total:
            others = " (read its other parts with part=<index>)" if total == 0 else ""
            raise OffloadError(
                f"offset {offset:,} is past the end of {what} of result {kept.offloaded.ref!r}, which has "
                f"{total:,} characters{others}."
            )
        end = min(offset + length, total)
        path = self.directory / f"{kept.offloaded.ref}.text"
        text = await anyio.to_thread.run_sync(_read_text, path, kept.checkpoints, start + offset, start + end)
        return TextSlice(text, offset, total)

    def _part(self, kept: _Kept, index: int) -> Part:
        parts = kept.offloaded.parts
        if not 0 <= index < len(parts):
            raise OffloadError(
                f"Result {kept.offloaded.ref!r} has parts 0 to {len(parts) - 1}, not {index}."
                if parts
                else f"Result {kept.offloaded.ref!r} has no parts."
            )
        return parts[index]

    async def part(self, ref: str, index: int) -> tuple[Part, Any]:
        """One part: a text part's text, a content item, or the structuredContent value."""
        kept = self._find(ref)
        part = self._part(kept, index)
        if part.type == "text":
            path = self.directory / f"{kept.offloaded.ref}.text"
            text = await anyio.to_thread.run_sync(
                _read_text, path, kept.checkpoints, part.start, part.start + part.chars
            )
            return part, text
        path = self.directory / f"{kept.offloaded.ref}.{index}.json"
        return part, from_json(await anyio.to_thread.run_sync(_read_bytes, path))

    async def contents(self, uri: str) -> list[dict[str, Any]]:
        """`resources/read` contents of `mcp-registry://results/<ref>` (every part) or `…/<ref>/<index>`."""
        ref, _, index = uri[len(RESULTS_URI) :].partition("/")
        offloaded = self.find(ref)
        if index:
            if not index.isdigit():
                raise OffloadError(f"{uri!r}: the part after the reference must be a part index.")
            part, value = await self.part(ref, int(index))
            return [_resource_contents(uri, part, value)]
        contents: list[dict[str, Any]] = []
        if offloaded.text_chars:
            text = await self.text_slice(ref, 0, offloaded.text_chars)
            contents.append({"uri": offloaded.uri, "mimeType": "text/plain", "text": text.text})
        for part in offloaded.parts:
            if part.type != "text":
                _, value = await self.part(ref, part.index)
                contents.append(_resource_contents(f"{offloaded.uri}/{part.index}", part, value))
        return contents


def _resource_contents(uri: str, part: Part, value: Any) -> dict[str, Any]:
    if part.type == "text":
        return {"uri": uri, "mimeType": "text/plain", "text": value}
    if part.type in ("image", "audio") and isinstance(value.get("data"), str):
        return {"uri": uri, "mimeType": part.mime_type or "application/octet-stream", "blob": value["data"]}
    if part.type == "resource" and isinstance(value.get("resource"), dict):
        return value["resource"]  # the embedded resource itself, under its own URI
    return {"uri": uri, "mimeType": "application/json", "text": to_json(value).decode()}


def _read_text(path: Path, checkpoints: tuple[int, ...] | None, start: int, end: int) -> str:
    """Characters [start, end) of a text file written by `_write`."""
    with open(path, "rb") as handle:
        if checkpoints is None:
            handle.seek(start)
            return handle.read(end - start).decode("ascii")
        first, last = start // _CHECKPOINT_CHARS, -(-end // _CHECKPOINT_CHARS)
        handle.seek(checkpoints[first])
        text = handle.read(checkpoints[last] - checkpoints[first]).decode("utf-8", "surrogatepass")
        skip = first * _CHECKPOINT_CHARS
        return text[start - skip : end - skip]


def _read_bytes(path: Path) -> bytes:
    return path.read_bytes()


# --- the store's lifetime ---------------------------------------------------------------------


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask, and an existing dir keeps its own


def _sweep_dead(results: Path, hostname: str) -> None:
    """Removes the directories of registries on this host that died without removing them."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(results):
            try:
                owner = Owner.parse((Path(entry.path) / "owner").read_text(encoding="utf-8").strip())
            except OSError:
                continue
            if owner is not None and owner.host == hostname and not owner_is_alive(owner):
                shutil.rmtree(entry.path, ignore_errors=True)


@asynccontextmanager
async def open_offload_store(settings: RegistrySettings) -> AsyncIterator[OffloadStore]:
    """The store, for as long as the context lasts; see the module docstring."""
    temp: str | None = None
    if settings.state_dir is not None:
        results = settings.state_dir / "results"
    else:
        temp = tempfile.mkdtemp(prefix="mcp-registry-results-")
        results = Path(temp)

    def prepare() -> OffloadStore:
        _private_dir(results)
        _sweep_dead(results, settings.hostname)
        directory = results / settings.instance_id
        _private_dir(directory)
        store = OffloadStore(directory, threshold=settings.offload_bytes, max_bytes=settings.offload_max_bytes)
        store._write_file("owner", own_owner_label(settings.hostname).encode())
        return store

    store = await anyio.to_thread.run_sync(prepare)
    directory = store.directory
    try:
        yield store
    finally:
        # Synchronous on purpose: it runs to the end even when the registry is being cancelled.
        shutil.rmtree(temp or directory, ignore_errors=True)

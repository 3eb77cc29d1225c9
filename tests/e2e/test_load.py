"""Load: 10,000 tool calls across 8 mounts with 32 in flight, through the editor-facing server.

Every call carries a value of its own (an echo of a unique text, or a sum with a unique operand),
so a call answered with another call's result is caught, not just a lost one. The registry's open
file descriptors and resident memory are measured after a warm-up and again at the end: both must
be flat. The numbers are printed (run with `-s` to see them).
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import anyio

from tests.e2e.harness import misbehave_entry, open_fds, rss_kib, structured, with_catalog, write_catalog
from tests.e2e.support import connect_registry, text_of

CALLS = 10_000
WARM_UP = 800
MOUNTS = 8
IN_FLIGHT = 32
# Memory the registry may gain over 10,000 calls without counting as growth (allocator noise).
RSS_SLACK_KIB = 16 * 1024


class Tally:
    def __init__(self) -> None:
        self.answered = 0
        self.wrong: list[str] = []


async def run_calls(session: Any, prefixes: list[str], first: int, count: int, tally: Tally) -> None:
    """`count` calls numbered from `first`, IN_FLIGHT at a time, spread round-robin over the mounts."""
    token = secrets.token_hex(4)
    numbers = iter(range(first, first + count))

    async def one(i: int) -> None:
        prefix = prefixes[i % len(prefixes)]
        if i % 2:
            result = await session.call_tool(f"{prefix}_echo", {"text": f"{i}-{token}"})
            ok = not result.is_error and result.structured_content == {"text": f"{i}-{token}"}
        else:
            result = await session.call_tool(f"{prefix}_add", {"a": i, "b": 0.5})
            ok = not result.is_error and result.structured_content == {"sum": i + 0.5}
        tally.answered += 1
        if not ok:
            tally.wrong.append(f"call {i} to {prefix}: {text_of(result)[:200]}")

    async def worker() -> None:
        for i in numbers:
            await one(i)

    async with anyio.create_task_group() as tasks:
        for _ in range(IN_FLIGHT):
            tasks.start_soon(worker)


async def test_ten_thousand_calls_across_eight_mounts(registry_env: dict[str, str], tmp_path: Path) -> None:
    entries = [misbehave_entry(f"load-{n}") for n in range(MOUNTS)]
    env = with_catalog(registry_env, write_catalog(tmp_path / "extra-catalog", entries))
    with (tmp_path / "registry.log").open("w") as log:
        async with connect_registry(env, errlog=log) as session:
            prefixes = []
            for entry in entries:
                prefixes.append(
                    structured(await session.call_tool("registry_add", {"entry_id": entry["id"]}))["prefix"]
                )
            pid = structured(await session.call_tool("registry_status", {}))["pid"]

            await run_calls(session, prefixes, 0, WARM_UP, Tally())
            fds_before, rss_before = open_fds(pid), rss_kib(pid)

            tally = Tally()
            started = time.monotonic()
            with anyio.fail_after(240):
                await run_calls(session, prefixes, WARM_UP, CALLS, tally)
            duration = time.monotonic() - started
            fds_after, rss_after = open_fds(pid), rss_kib(pid)

            status = structured(await session.call_tool("registry_status", {}))
            served = sum(mount["calls_served"] for mount in status["mounts"])
            states = {mount["state"] for mount in status["mounts"]}

    lost = CALLS - tally.answered
    print(
        f"\nload: {CALLS} calls over {MOUNTS} mounts, {IN_FLIGHT} in flight, in {duration:.1f} s "
        f"({CALLS / duration:.0f} calls/s); lost {lost}, wrong {len(tally.wrong)}; "
        f"registry fds {fds_before} -> {fds_after}, RSS {rss_before / 1024:.1f} -> {rss_after / 1024:.1f} MiB"
    )
    assert lost == 0
    assert tally.wrong == []
    assert served == WARM_UP + CALLS and states == {"running"}
    assert fds_after <= fds_before
    assert rss_after - rss_before <= RSS_SLACK_KIB

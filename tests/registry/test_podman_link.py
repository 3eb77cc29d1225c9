"""The registry's Podman connection (`podman_link.PodmanLink`), with `open_podman_api` faked.

(Against real Podman, a private service killed under a running registry is started again at the
next need: `tests/e2e/test_podman_service.py`.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

import anyio
import pytest

from mcp_registry_server.podman.errors import PodmanError, PodmanUnavailable
from mcp_registry_server.podman.runner import PodmanStatus
from mcp_registry_server.podman.service import PodmanEndpoint
from mcp_registry_server.registry import podman_link
from mcp_registry_server.registry.errors import RegistryError
from mcp_registry_server.registry.podman_link import PodmanLink
from mcp_registry_server.settings import RegistrySettings

SETTINGS = RegistrySettings(catalog_dirs=(), config_dir=Path("/nonexistent"), runtime_dir=Path("/nonexistent"))


class FakeRunner:
    orphans: ClassVar[list[str] | PodmanError] = []

    def __init__(self, settings: RegistrySettings, api: Any) -> None:
        self.api = api
        self.swept = False

    async def remove_orphans(self) -> list[str]:
        self.swept = True
        if isinstance(self.orphans, PodmanError):
            raise self.orphans
        return self.orphans

    async def podman_status(self) -> PodmanStatus:
        return PodmanStatus(available=True, version="5.0.0", socket="/run/fake.sock")


class FakeAPI:
    def __init__(self) -> None:
        self.answering = True
        self.endpoint = PodmanEndpoint("unix:///run/fake.sock", "private")

    async def answers(self) -> bool:
        return self.answering


@pytest.fixture
def api_state(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Fakes `open_podman_api` (and the runner): `state["error"]` makes it fail, `state["opened"]` and
    `state["closed"]` count connections made and closed, `state["api"]` is the one open last."""
    state: dict[str, Any] = {"error": None, "opened": 0, "closed": 0, "api": None}

    @asynccontextmanager
    async def fake_open(settings: RegistrySettings, connection: str | None = None) -> AsyncIterator[Any]:
        state["connection"] = connection
        state["opened"] += 1
        if state["error"] is not None:
            raise state["error"]
        state["api"] = FakeAPI()
        try:
            yield state["api"]
        finally:
            state["closed"] += 1

    monkeypatch.setattr(podman_link, "open_podman_api", fake_open)
    monkeypatch.setattr(podman_link, "PodmanRunner", FakeRunner)
    monkeypatch.setattr(FakeRunner, "orphans", [])
    return state


async def test_status_before_the_connection_says_it_is_connecting() -> None:
    assert await PodmanLink(SETTINGS).status() == {"available": None, "detail": "connecting to Podman"}


async def test_a_connection_is_published_and_held_until_cancelled(api_state: dict[str, Any]) -> None:
    link = PodmanLink(SETTINGS)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(link.run)
            api, runner = await link.connect()
            assert api is api_state["api"] and isinstance(runner, FakeRunner) and runner.api is api
            status = await link.status()
            assert status["available"] is True and status["version"] == "5.0.0"
            await anyio.sleep(0.01)
            assert runner.swept and api_state["closed"] == 0  # held open
            assert await link.connect() == (api, runner)  # still answering: the same connection
            tasks.cancel_scope.cancel()
    assert (api_state["opened"], api_state["closed"]) == (1, 1)


async def test_a_connection_that_stopped_answering_is_made_again_at_the_next_need(
    api_state: dict[str, Any],
) -> None:
    link = PodmanLink(SETTINGS)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(link.run)
            first, first_runner = await link.connect()
            first.answering = False  # the socket died, or the private service
            await anyio.sleep(0.01)
            assert api_state["opened"] == 1  # nothing happens until Podman is needed

            async def need_podman() -> None:
                api, runner = await link.connect()
                assert api is api_state["api"] and api is not first and runner is not first_runner

            async with anyio.create_task_group() as needs:  # two at once share one new connection
                needs.start_soon(need_podman)
                needs.start_soon(need_podman)
            assert (api_state["opened"], api_state["closed"]) == (2, 1)
            assert (await link.status())["available"] is True
            assert isinstance(first_runner, FakeRunner) and isinstance(link.runner, FakeRunner)
            assert first_runner.swept and not link.runner.swept  # orphans are removed once, at the start
            tasks.cancel_scope.cancel()


async def test_a_failed_connection_is_tried_again_at_the_next_need(api_state: dict[str, Any]) -> None:
    api_state["error"] = PodmanUnavailable("the Podman socket is gone", remedy="start it")
    link = PodmanLink(SETTINGS)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(link.run)
            with pytest.raises(RegistryError, match="the Podman socket is gone"):
                await link.connect()
            assert api_state["opened"] == 2  # the first attempt, and one more for this need
            api_state["error"] = None  # Podman is back
            api, _ = await link.connect()
            assert api is api_state["api"] and api_state["opened"] == 3
            tasks.cancel_scope.cancel()


async def test_a_failed_orphan_sweep_keeps_the_connection(api_state: dict[str, Any]) -> None:
    FakeRunner.orphans = PodmanError("listing containers failed")
    link = PodmanLink(SETTINGS)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(link.run)
            await link.connect()
            await anyio.sleep(0.01)
            assert (await link.status())["available"] is True
            tasks.cancel_scope.cancel()


async def test_without_podman_connect_says_how_to_fix_it_and_status_shows_the_error(
    api_state: dict[str, Any],
) -> None:
    api_state["error"] = PodmanUnavailable("podman is not installed", remedy="install podman")
    link = PodmanLink(SETTINGS)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(link.run)
            with pytest.raises(RegistryError) as raised:
                await link.connect()
            status = await link.status()
            tasks.cancel_scope.cancel()
    message = str(raised.value)
    assert message.startswith("Podman is not available, so no server can be started.\npodman is not installed")
    assert "What to do: install podman" in message
    assert message.endswith("Search, list and info still work. Run `mcp-registry doctor` for a diagnosis.")
    assert status["available"] is False and status["error"] == "podman is not installed"
    assert status["remedy"] == "install podman"


async def test_connect_gives_up_after_its_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(podman_link, "PODMAN_CONNECT_TIMEOUT", 0.05)
    with anyio.fail_after(5), pytest.raises(RegistryError) as raised:
        await PodmanLink(SETTINGS).connect()  # never run: no answer
    assert "no answer from the Podman API within 0 s" in str(raised.value)

"""The Podman REST API, as the registry needs it: images, pulls with progress, containers by label.

Contract: `open_podman_api(settings)` is an async context manager yielding a `PodmanAPI` bound to
the socket that `service.podman_service` found or started (and stops again on exit). Every method
is async: the synchronous podman-py call runs in a worker thread under a cancel scope of the
API timeout, and podman-py's own HTTP timeout is the same, so a call that is cancelled or times
out returns at once and its abandoned thread ends by itself within that timeout. A pull reads its
progress stream item by item the same way, bounded per item by `pull_stall_timeout`. Every failure
is a `PodmanError` whose message says what failed and what to do; `PodmanUnavailable` means no
Podman at all. Nothing here starts containers: that is `runner` and the `podman run` CLI.

Podman-py 5.8 against the Podman 4.3 service (verified): its `/v5.8.0/libpod/...` paths are
served; `compatMode` on pull is ignored, so the stream is libpod's (`stream`/`error`/`id` lines,
no byte counts); list results carry `State` as a string, so `Container.status` (which expects the
inspect shape) breaks and we read `attrs` instead; label filters must be passed as a list of
`label=k=v` strings (a dict of lists is mangled); `DELETE ?force&timeout=0&ignore` works.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import anyio
import podman
import requests
from podman.errors import APIError, ImageNotFound
from podman.errors import PodmanError as PodmanPyError

from mcp_registry_server.podman.diagnostics import explain
from mcp_registry_server.podman.errors import PodmanError, PodmanUnavailable
from mcp_registry_server.podman.helper_process import ping
from mcp_registry_server.podman.service import PodmanEndpoint, podman_service
from mcp_registry_server.settings import RegistrySettings

__all__ = ["ContainerInfo", "PodmanAPI", "PodmanVersion", "ProgressCallback", "open_podman_api"]

T = TypeVar("T")
ProgressCallback = Callable[[float | None, float | None, str], Awaitable[None]]


@dataclass(frozen=True)
class PodmanVersion:
    version: str
    api_version: str


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    status: str = ""
    # As Podman reports it (RFC 3339); only shown to people, never compared.
    created: str = ""


class PodmanAPI:
    """Async access to one Podman API endpoint. Build it with `open_podman_api`."""

    def __init__(self, endpoint: PodmanEndpoint, *, timeout: float = 30.0, pull_stall_timeout: float = 300.0) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.pull_stall_timeout = pull_stall_timeout
        self._client = podman.PodmanClient(base_url=endpoint.url, timeout=timeout)
        # Pull progress can pause for minutes on a big layer; its reads get their own, longer timeout.
        self._pull_client = podman.PodmanClient(base_url=endpoint.url, timeout=pull_stall_timeout)

    def close(self) -> None:
        self._client.close()
        self._pull_client.close()

    async def answers(self, within: float = 2.0) -> bool:
        """Whether the API still answers a ping within `within` s (a socket nobody listens on: at once)."""
        return await ping(self.endpoint.url, within)

    async def version(self) -> PodmanVersion:
        info = await self._call("asking Podman for its version", self._client.version)
        return PodmanVersion(version=str(info.get("Version", "")), api_version=str(info.get("ApiVersion", "")))

    async def image_exists(self, ref: str) -> bool:
        return await self._call(f"checking whether image {ref} exists", self._client.images.exists, ref)

    async def image_digest(self, ref: str) -> str | None:
        """The local image's id (content-addressed, so it changes when the image does), or None."""
        if not ref.strip():
            raise ValueError("an image reference is needed")  # an empty one would list every image

        def _image_id() -> str | None:
            try:
                image = self._client.images.get(ref)
            except ImageNotFound:
                return None
            image_id = str(image.attrs.get("Id") or image.id or "")
            return image_id if image_id.startswith("sha256:") or not image_id else f"sha256:{image_id}"

        return await self._call(f"inspecting image {ref}", _image_id)

    async def pull(self, ref: str, on_progress: ProgressCallback | None = None) -> None:
        """Pull `ref`, reporting progress; raise a `PodmanError` that names the cause when it fails."""

        def _open_stream() -> Any:
            # podman-py's `images.pull(stream=True)` hides the response; holding it lets us close it.
            params = {"reference": ref, "policy": "always", "tlsVerify": True, "compatMode": True}
            response = self._pull_client.api.post("/images/pull", params=params, stream=True)
            try:
                response.raise_for_status()
            except BaseException:
                response.close()
                raise
            return response

        response = None
        try:
            response = await self._call(f"pulling image {ref}", _open_stream, raw_errors=True)
            lines: Iterator[bytes] = response.iter_lines()
            while True:
                with anyio.fail_after(self.pull_stall_timeout + 1):
                    line: bytes | None = await anyio.to_thread.run_sync(next, lines, None, abandon_on_cancel=True)
                if line is None:
                    return
                if not line.strip():
                    continue
                item = json.loads(line)
                if error := item.get("error") or (item.get("errorDetail") or {}).get("message"):
                    raise _pull_error(ref, str(error))
                if on_progress is not None and (progress := _progress_of(item)) is not None:
                    await on_progress(*progress)
        except TimeoutError:
            raise PodmanError(
                f"Pulling image {ref} stalled: Podman reported nothing for {self.pull_stall_timeout:g} s, so the "
                "MCP server that needs it cannot start.",
                remedy=f"Check the network, then try again, or pull it yourself: `podman pull {ref}`.",
            ) from None
        except (APIError, PodmanPyError, requests.RequestException, ValueError) as error:
            raise _pull_error(ref, _error_text(error)) from error
        finally:
            if response is not None:
                # After a cancellation the abandoned reader thread may still hold the stream; closing it
                # here cannot wake that read, which ends within pull_stall_timeout on its own.
                with suppress(Exception):
                    response.close()

    async def list_containers(self, label_filters: Mapping[str, str | None]) -> list[ContainerInfo]:
        """All containers (running or not) that carry every label given (a None value: any value)."""
        filters = [f"label={key}" if value is None else f"label={key}={value}" for key, value in label_filters.items()]

        def _list() -> list[ContainerInfo]:
            return [_container_info(c.attrs) for c in self._client.containers.list(all=True, filters=filters)]

        return await self._call("listing containers", _list)

    async def container_exists(self, name: str) -> bool:
        return await self._call(f"checking whether container {name} exists", self._client.containers.exists, name)

    async def remove_container(self, name_or_id: str, *, timeout: int = 0) -> None:  # noqa: ASYNC109 podman's stop timeout
        """Stop (SIGKILL after `timeout` s) and remove a container; one that is already gone is fine."""

        def _remove() -> None:
            response = self._client.api.delete(
                f"/containers/{urllib.parse.quote(name_or_id, safe='')}",
                params={"force": True, "timeout": timeout, "ignore": True},
                timeout=self.timeout + timeout,
            )
            if response.status_code != 404:
                response.raise_for_status()

        await self._call(f"removing container {name_or_id}", _remove)

    async def _call(self, what: str, function: Callable[..., T], *args: Any, raw_errors: bool = False) -> T:
        try:
            with anyio.fail_after(self.timeout + 1):
                return await anyio.to_thread.run_sync(partial(function, *args), abandon_on_cancel=True)
        except TimeoutError:
            raise PodmanError(
                f"The Podman API at {self.endpoint.described} did not answer within {self.timeout:g} s while {what}.",
                remedy="Check that Podman works (`podman info`); restart the Podman service if it hangs.",
            ) from None
        except (APIError, PodmanPyError, requests.RequestException) as error:
            # podman-py wraps a refused or vanished socket in APIError("GET operation failed").
            if isinstance(error, requests.ConnectionError) or isinstance(error.__cause__, requests.ConnectionError):
                raise PodmanUnavailable(
                    f"The Podman API at {self.endpoint.described} cannot be reached ({what}).",
                    remedy="Check that the Podman service is running (`podman info`). The registry connects again "
                    "(or starts its own service again) the next time it needs Podman.",
                    detail=_error_text(error.__cause__ or error),
                ) from error
            if raw_errors:
                raise
            known = explain(_error_text(error))
            raise PodmanError(
                f"Podman failed while {what}.",
                remedy=known.remedy if known else "Run the same operation with the podman CLI to see more.",
                detail=_error_text(error),
            ) from error


@asynccontextmanager
async def open_podman_api(
    settings: RegistrySettings,
    *,
    environ: Mapping[str, str] | None = None,
    call_timeout: float = 30.0,
    pull_stall_timeout: float = 300.0,
    connection: str | None = None,
) -> AsyncIterator[PodmanAPI]:
    """Find or start the Podman API (see `service.podman_service`; `connection`: a named host) and yield a client."""
    async with podman_service(settings, environ=environ, connection=connection) as endpoint:
        api = PodmanAPI(endpoint, timeout=call_timeout, pull_stall_timeout=pull_stall_timeout)
        try:
            yield api
        finally:
            api.close()


def _container_info(attrs: Mapping[str, Any]) -> ContainerInfo:
    names = attrs.get("Names") or []
    state = attrs.get("State", "")
    return ContainerInfo(
        id=str(attrs.get("Id", "")),
        name=str(names[0] if names else attrs.get("Name", "")).lstrip("/"),
        labels=dict(attrs.get("Labels") or {}),
        status=str(state.get("Status", "") if isinstance(state, Mapping) else state),
        created=str(attrs.get("Created", "")),
    )


def _progress_of(item: Mapping[str, Any]) -> tuple[float | None, float | None, str] | None:
    """(completed, total, message) from a libpod (`stream`) or Docker-compatible (`status`) line."""
    if stream := str(item.get("stream", "")).strip():
        return None, None, stream
    if status := str(item.get("status", "")).strip():
        detail = item.get("progressDetail") or {}
        current, total = detail.get("current"), detail.get("total")
        message = f"{item['id']}: {status}" if item.get("id") else status
        return (
            float(current) if isinstance(current, int | float) else None,
            float(total) if isinstance(total, int | float) else None,
            message,
        )
    if images := item.get("images"):
        return None, None, f"pulled {', '.join(map(str, images))}"
    return None


_PULL_FAILURES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (
        re.compile(
            r"no such host|dial tcp|connection refused|network is unreachable|i/o timeout|"
            r"TLS handshake timeout|temporary failure in name resolution|server misbehaving",
            re.IGNORECASE,
        ),
        "cannot reach the image registry {registry}",
        "Check the network connection (and any proxy), or make the image available locally: "
        "`podman pull {ref}` on a connected machine, then `podman save` / `podman load`.",
    ),
    (
        re.compile(r"unauthorized|authentication required|access to the resource is denied|denied", re.IGNORECASE),
        "the image registry {registry} refused access (the image may be private or may not exist)",
        "Check the image name; if it is private, log in with `podman login {registry}` and try again.",
    ),
    (
        re.compile(r"manifest unknown|name unknown|not found|repository does not exist", re.IGNORECASE),
        "the image registry {registry} has no such image",
        "Check the image name and tag in the catalog entry.",
    ),
    (
        re.compile(r"short-name", re.IGNORECASE),
        "the image name is not fully qualified and no registry to search is configured",
        "Use a fully qualified name such as docker.io/library/{ref}.",
    ),
)


def _pull_error(ref: str, podman_says: str) -> PodmanError:
    registry = _registry_of(ref)
    for pattern, summary, remedy in _PULL_FAILURES:
        if pattern.search(podman_says):
            return PodmanError(
                f"Could not pull image {ref}: {summary.format(registry=registry)}. The MCP server that uses it "
                "cannot start until the image is available.",
                remedy=remedy.format(registry=registry, ref=ref),
                detail=podman_says,
            )
    known = explain(podman_says)
    return PodmanError(
        f"Could not pull image {ref}. The MCP server that uses it cannot start until the image is available.",
        remedy=known.remedy if known else f"Run `podman pull {ref}` by hand to see why.",
        detail=podman_says,
    )


def _registry_of(ref: str) -> str:
    first, sep, _ = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def _error_text(error: BaseException) -> str:
    explanation = getattr(error, "explanation", None)
    return str(explanation or error)

"""A child's questions during an editor's request, and how they reach the editor in either protocol era.

A child may need the editor to finish a request routed to it (`tools/call`, `prompts/get`,
`resources/read`): sampling, elicitation or roots. A handshake-era child asks with a
server-to-client request mid-call; a 2026-07-28 child answers with an `InputRequiredResult`
(its `inputRequests`, answered by retrying with `inputResponses` and its `requestState`). Both
become `Ask`s of the `OpenRequest` they belong to. For a mid-call request that is the oldest
open request on that mount: stdio carries no link between a child's request and ours, and when
several requests to one mount are open and one asks, the oldest is the likeliest to be waiting.

How an ask reaches the editor is decided per request, by the editor's protocol era:
- `relay` (handshake era): it is sent to the editor at once (`EditorLink.request`) and the
  answer, or the editor's error, goes back to the child.
- `defer` (2026-07-28: the editor cannot be sent requests): the request runs in the registry's
  task group and the editor's handler gets `InputRequired` (the open asks and a park id) as soon
  as the child asks; the request stays parked, its child still waiting, until the editor retries
  with the answers (`resume`), which go to the child, and the handler waits again for the
  result or the next asks.

Bounds: at most `MAX_PARKED` parked requests (the oldest is cancelled to make room) and each
expires `park_ttl` seconds after it was parked (cancelled: the child is told). A park id that is
unknown, expired or already resumed is a `RequestError` (-32602) that says to call again. Ask
keys are the child's own `inputRequests` keys, or `ask-1`, `ask-2`, … for mid-call requests.
"""

from __future__ import annotations

import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
from anyio.abc import TaskGroup
from mcp_types import INVALID_PARAMS

from mcp_registry_server.registry.editor_link import EditorLink, ProgressCallback
from mcp_registry_server.registry.errors import RequestError

__all__ = ["MAX_PARKED", "Ask", "AskMode", "InputRequired", "OpenRequest", "ParkedRequests"]

logger = logging.getLogger(__name__)

AskMode = Literal["relay", "defer"]
MAX_PARKED = 64


@dataclass(eq=False)
class Ask:
    """One question of a child, waiting for the editor's answer."""

    key: str
    method: str
    params: dict[str, Any] | None
    answered: anyio.Event = field(default_factory=anyio.Event)
    result: dict[str, Any] | None = None
    error: RequestError | None = None

    def answer(self, result: dict[str, Any] | None = None, error: RequestError | None = None) -> None:
        if not self.answered.is_set():
            self.result, self.error = result, error
            self.answered.set()

    def as_input_request(self) -> dict[str, Any]:
        request: dict[str, Any] = {"method": self.method}
        if self.params is not None:
            request["params"] = self.params
        return request


@dataclass(frozen=True)
class InputRequired:
    """The editor must answer `asks` (key → {method, params}) and retry with `state`."""

    asks: dict[str, dict[str, Any]]
    state: str


class OpenRequest:
    """One editor request routed to a child, while it runs; see the module docstring."""

    def __init__(self, mode: AskMode, editor: EditorLink, progress: ProgressCallback | None) -> None:
        self.mode = mode
        self.progress = progress
        self._editor = editor
        self._asked = 0
        self._waiting: dict[str, Ask] = {}
        self._changed: anyio.Event | None = None  # made when someone waits: most requests never ask
        self.done = False
        self.outcome: Any = None

    async def ask(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        """The editor's answer to one question (raises `RequestError` with its refusal)."""
        if self.mode == "relay":
            return await self._editor.request(method, params)
        self._asked += 1
        (answer,) = await self.ask_all({f"ask-{self._asked}": (method, params)})
        if isinstance(answer, RequestError):
            raise answer
        return answer

    async def ask_all(
        self, questions: dict[str, tuple[str, dict[str, Any] | None]]
    ) -> list[dict[str, Any] | RequestError]:
        """The answers (or refusals) to several questions, asked together, in their order."""
        if self.mode == "relay":
            answers: dict[str, dict[str, Any] | RequestError] = {}

            async def relay(key: str, method: str, params: dict[str, Any] | None) -> None:
                try:
                    answers[key] = await self._editor.request(method, params)
                except RequestError as error:
                    answers[key] = error

            async with anyio.create_task_group() as tasks:
                for key, (method, params) in questions.items():
                    tasks.start_soon(relay, key, method, params)
            return [answers[key] for key in questions]
        asks = [Ask(key, method, params) for key, (method, params) in questions.items()]
        self._waiting.update((ask.key, ask) for ask in asks)
        self._signal()
        try:
            for ask in asks:
                await ask.answered.wait()
        finally:
            for ask in asks:
                self._waiting.pop(ask.key, None)
        return [ask.error if ask.error is not None else (ask.result or {}) for ask in asks]

    def finish(self, outcome: Any) -> None:
        self.done, self.outcome = True, outcome
        self._signal()

    def _signal(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def next_event(self) -> dict[str, Ask] | None:
        """Waits until the request is done (None) or has unanswered asks (returned)."""
        while not self.done and not self._waiting:
            if self._changed is None:
                self._changed = anyio.Event()
            await self._changed.wait()
        return None if self.done else dict(self._waiting)

    def deliver(self, shown: frozenset[str], responses: dict[str, Any]) -> None:
        """The editor's answers (input key → response) to the asks it was shown."""
        for key in shown & self._waiting.keys():
            ask = self._waiting.pop(key)  # answered now: the next `next_event` must not show it again
            if isinstance(responses.get(key), dict):
                ask.answer(result=responses[key])
            else:
                ask.answer(error=RequestError(INVALID_PARAMS, f"The editor gave no answer to {ask.method} ({key})."))


@dataclass(eq=False)
class _Parked:
    request: OpenRequest
    scope: anyio.CancelScope
    deadline: float
    shown: frozenset[str]


class ParkedRequests:
    """Runs `defer` requests in the background and keeps them while the editor answers."""

    def __init__(self, tasks: TaskGroup, park_ttl: float) -> None:
        self._tasks = tasks
        self._ttl = park_ttl
        self._parked: OrderedDict[str, _Parked] = OrderedDict()

    async def start(self, request: OpenRequest, drive: Callable[[OpenRequest], Awaitable[Any]]) -> Any:
        """Runs `drive(request)` detached; returns its outcome or `InputRequired` once it asks."""
        scope = anyio.CancelScope()
        self._tasks.start_soon(self._run, request, drive, scope)
        return await self._wait(request, scope)

    async def resume(self, state: str, responses: dict[str, Any], progress: ProgressCallback | None) -> Any:
        parked = self._parked.pop(state, None)
        if parked is None or anyio.current_time() > parked.deadline:
            if parked is not None:
                parked.scope.cancel()
            raise RequestError(
                INVALID_PARAMS,
                "This request's answers came too late, or twice: the registry no longer holds it. Call it again.",
            )
        parked.request.progress = progress
        parked.request.deliver(parked.shown, responses)
        return await self._wait(parked.request, parked.scope)

    async def _run(self, request: OpenRequest, drive: Callable[[OpenRequest], Awaitable[Any]], scope: Any) -> None:
        with scope:
            try:
                request.finish(await drive(request))
            except Exception as error:  # a drive failure must not take the registry down
                logger.exception("a parked request failed")
                request.finish(error)
        if not request.done:
            request.finish(RequestError(INVALID_PARAMS, "The request was abandoned before it finished."))

    async def _wait(self, request: OpenRequest, scope: anyio.CancelScope) -> Any:
        try:
            asks = await request.next_event()
        except BaseException:
            scope.cancel()  # the editor gave up on the request itself
            raise
        if asks is None:
            if isinstance(request.outcome, Exception):
                raise request.outcome
            return request.outcome
        state = secrets.token_urlsafe(16)
        self._parked[state] = _Parked(request, scope, anyio.current_time() + self._ttl, frozenset(asks))
        while len(self._parked) > MAX_PARKED:
            _, oldest = self._parked.popitem(last=False)
            oldest.scope.cancel()
        self._tasks.start_soon(self._expire, state)
        return InputRequired({key: ask.as_input_request() for key, ask in asks.items()}, state)

    async def _expire(self, state: str) -> None:
        await anyio.sleep(self._ttl)
        parked = self._parked.pop(state, None)
        if parked is not None:
            logger.info("a request waiting for the editor's answers expired after %.0f s", self._ttl)
            parked.scope.cancel()

    def cancel_all(self) -> None:
        for parked in self._parked.values():
            parked.scope.cancel()
        self._parked.clear()

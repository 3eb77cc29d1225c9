"""A child's questions during a request (`asks`): relayed at once, or parked for the editor's retry.

The drive functions here play the routed request: they ask the `OpenRequest` what a child would
ask and return what the child would answer once it has the editor's answers.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp_types import INVALID_PARAMS

from mcp_registry_server.registry.asks import MAX_PARKED, InputRequired, OpenRequest, ParkedRequests
from mcp_registry_server.registry.errors import RequestError
from tests.registry.support import FakeEditor

SAMPLING = ("sampling/createMessage", {"messages": [], "maxTokens": 5})
ELICIT = ("elicitation/create", {"message": "name?", "requestedSchema": {"type": "object"}})


@asynccontextmanager
async def parking(park_ttl: float = 30.0) -> AsyncIterator[ParkedRequests]:
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:
            parked = ParkedRequests(tasks, park_ttl=park_ttl)
            yield parked
            parked.cancel_all()
            tasks.cancel_scope.cancel()


def deferred() -> OpenRequest:
    return OpenRequest("defer", FakeEditor(), None)


class Child:
    """A drive that asks `questions` (each an ask of its own, one after another) and records its fate."""

    def __init__(self, *questions: tuple[str, dict[str, Any]]) -> None:
        self.questions = questions
        self.answers: list[Any] = []
        self.cancelled = anyio.Event()

    async def __call__(self, request: OpenRequest) -> dict[str, Any]:
        try:
            for method, params in self.questions:
                try:
                    self.answers.append(await request.ask(method, params))
                except RequestError as error:
                    self.answers.append(error)
            return {"content": [], "answers": self.answers}
        except anyio.get_cancelled_exc_class():
            self.cancelled.set()
            raise


# -- OpenRequest -----------------------------------------------------------------------------


async def test_relay_sends_the_question_to_the_editor_at_once() -> None:
    editor = FakeEditor()
    editor.answers["sampling/createMessage"] = {"role": "assistant", "model": "m"}
    request = OpenRequest("relay", editor, None)
    assert await request.ask(*SAMPLING) == {"role": "assistant", "model": "m"}
    assert editor.asked == [SAMPLING]


async def test_relay_passes_the_editors_refusal_to_the_child() -> None:
    editor = FakeEditor()
    editor.refusal = RequestError(-32601, "no sampling here")
    request = OpenRequest("relay", editor, None)
    with pytest.raises(RequestError) as raised:
        await request.ask(*SAMPLING)
    assert raised.value.code == -32601 and raised.value.message == "no sampling here"


async def test_relay_ask_all_answers_in_question_order_with_refusals_in_place() -> None:
    editor = FakeEditor()
    editor.answers["roots/list"] = {"roots": []}

    async def answer(method: str, params: Any) -> dict[str, Any]:
        if method == "elicitation/create":
            raise RequestError(-1, "declined")
        return editor.answers.get(method, {})

    editor.request = answer  # type: ignore[method-assign]
    request = OpenRequest("relay", editor, None)
    answers = await request.ask_all({"b": ("roots/list", None), "a": ELICIT})
    assert answers[0] == {"roots": []}
    assert isinstance(answers[1], RequestError) and answers[1].message == "declined"


async def test_defer_never_calls_the_editor_and_waits_for_delivered_answers() -> None:
    editor = FakeEditor()
    request = OpenRequest("defer", editor, None)
    answers: list[Any] = []
    async with anyio.create_task_group() as tasks:

        async def child() -> None:
            answers.append(await request.ask(*ELICIT))

        tasks.start_soon(child)
        shown = await request.next_event()
        assert shown is not None and list(shown) == ["ask-1"]
        assert shown["ask-1"].as_input_request() == {"method": ELICIT[0], "params": ELICIT[1]}
        request.deliver(frozenset(shown), {"ask-1": {"action": "accept"}})
    assert answers == [{"action": "accept"}] and editor.asked == []


async def test_an_ask_without_params_is_shown_without_params() -> None:
    request = deferred()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(request.ask, "roots/list", None)
        shown = await request.next_event()
        assert shown is not None and shown["ask-1"].as_input_request() == {"method": "roots/list"}
        request.deliver(frozenset(shown), {"ask-1": {"roots": []}})


async def test_next_event_says_done_once_the_request_finished() -> None:
    request = deferred()
    request.finish({"content": []})
    assert await request.next_event() is None and request.outcome == {"content": []}


async def test_an_answered_ask_is_not_shown_again() -> None:
    request = deferred()
    async with anyio.create_task_group() as tasks:

        async def child() -> None:
            await request.ask(*SAMPLING)
            await request.ask(*ELICIT)

        tasks.start_soon(child)
        first = await request.next_event()
        assert first is not None and list(first) == ["ask-1"]
        request.deliver(frozenset(first), {"ask-1": {}})
        second = await request.next_event()
        assert second is not None and list(second) == ["ask-2"]  # ask-1 is gone
        request.deliver(frozenset(second), {"ask-2": {}})


# -- ParkedRequests --------------------------------------------------------------------------


async def test_a_request_that_never_asks_returns_its_outcome_and_parks_nothing() -> None:
    async with parking() as parked:

        async def drive(request: OpenRequest) -> str:
            return "done"

        assert await parked.start(deferred(), drive) == "done"
        with pytest.raises(RequestError):
            await parked.resume("any-state", {}, None)


async def test_a_request_that_asks_once_is_parked_and_resumed_with_the_answers() -> None:
    child = Child(ELICIT)
    async with parking() as parked:
        first = await parked.start(deferred(), child)
        assert isinstance(first, InputRequired)
        assert first.asks == {"ask-1": {"method": ELICIT[0], "params": ELICIT[1]}}
        assert child.answers == []  # the child still waits
        outcome = await parked.resume(first.state, {"ask-1": {"action": "accept", "content": {"n": 1}}}, None)
    assert outcome == {"content": [], "answers": [{"action": "accept", "content": {"n": 1}}]}


async def test_a_second_ask_parks_again_under_a_new_state() -> None:
    child = Child(SAMPLING, ELICIT)
    async with parking() as parked:
        first = await parked.start(deferred(), child)
        second = await parked.resume(first.state, {"ask-1": {"model": "m"}}, None)
        assert isinstance(second, InputRequired) and list(second.asks) == ["ask-2"]
        assert second.state != first.state
        with pytest.raises(RequestError):  # the first state was used up
            await parked.resume(first.state, {"ask-2": {}}, None)
        outcome = await parked.resume(second.state, {"ask-2": {"action": "decline"}}, None)
    assert outcome["answers"] == [{"model": "m"}, {"action": "decline"}]


async def test_several_asks_at_once_are_shown_together_and_answered_in_order() -> None:
    answers: list[Any] = []

    async def drive(request: OpenRequest) -> str:
        answers.extend(await request.ask_all({"q1": SAMPLING, "q2": ELICIT, "q3": ("roots/list", None)}))
        return "done"

    async with parking() as parked:
        first = await parked.start(deferred(), drive)
        assert isinstance(first, InputRequired)
        assert first.asks == {
            "q1": {"method": SAMPLING[0], "params": SAMPLING[1]},
            "q2": {"method": ELICIT[0], "params": ELICIT[1]},
            "q3": {"method": "roots/list"},
        }
        responses = {"q3": {"roots": []}, "q1": {"model": "m"}, "q2": {"action": "accept"}}
        assert await parked.resume(first.state, responses, None) == "done"
    assert answers == [{"model": "m"}, {"action": "accept"}, {"roots": []}]


async def test_an_answer_missing_from_the_retry_is_an_error_for_the_child() -> None:
    answers: list[Any] = []

    async def drive(request: OpenRequest) -> str:
        answers.extend(await request.ask_all({"q1": SAMPLING, "q2": ELICIT}))
        return "done"

    async with parking() as parked:
        first = await parked.start(deferred(), drive)
        # q2 missing, and an answer that is not an object counts as none.
        assert await parked.resume(first.state, {"q1": {"model": "m"}, "zzz": {}}, None) == "done"
        first = await parked.start(deferred(), drive)
        await parked.resume(first.state, {"q1": "not an object", "q2": {}}, None)
    assert answers[0] == {"model": "m"}
    assert isinstance(answers[1], RequestError) and answers[1].code == INVALID_PARAMS
    assert "elicitation/create (q2)" in answers[1].message
    assert isinstance(answers[2], RequestError) and "(q1)" in answers[2].message
    assert answers[3] == {}


async def test_a_single_ask_left_unanswered_raises_in_the_child() -> None:
    child = Child(SAMPLING)
    async with parking() as parked:
        first = await parked.start(deferred(), child)
        outcome = await parked.resume(first.state, {}, None)
    (answer,) = outcome["answers"]
    assert isinstance(answer, RequestError) and answer.code == INVALID_PARAMS


@pytest.mark.parametrize("state", ["never-issued", ""])
async def test_resuming_an_unknown_state_says_to_call_again(state: str) -> None:
    async with parking() as parked:
        with pytest.raises(RequestError) as raised:
            await parked.resume(state, {}, None)
    assert raised.value.code == INVALID_PARAMS and "Call it again" in raised.value.message


async def test_a_parked_request_expires_after_park_ttl_and_its_child_is_cancelled() -> None:
    child = Child(ELICIT)
    async with parking(park_ttl=0.05) as parked:
        first = await parked.start(deferred(), child)
        with anyio.fail_after(2):
            await child.cancelled.wait()
        with pytest.raises(RequestError) as raised:
            await parked.resume(first.state, {"ask-1": {}}, None)
    assert raised.value.code == INVALID_PARAMS


async def test_a_retry_after_the_deadline_is_refused_even_before_the_expiry_ran() -> None:
    child = Child(ELICIT)
    async with parking(park_ttl=0.05) as parked:
        first = await parked.start(deferred(), child)
        time.sleep(0.08)  # noqa: ASYNC251 - blocks the loop: the deadline passes before the expiry runs
        with pytest.raises(RequestError):
            await parked.resume(first.state, {"ask-1": {}}, None)
        with anyio.fail_after(2):
            await child.cancelled.wait()  # refused and cancelled, not resumed
    assert child.answers == []


async def test_the_oldest_parked_request_is_cancelled_beyond_max_parked() -> None:
    children = [Child(ELICIT) for _ in range(MAX_PARKED + 1)]
    async with parking() as parked:
        states = []
        for child in children:
            result = await parked.start(deferred(), child)
            states.append(result.state)
        with anyio.fail_after(2):
            await children[0].cancelled.wait()
        assert not any(child.cancelled.is_set() for child in children[1:])
        with pytest.raises(RequestError):
            await parked.resume(states[0], {"ask-1": {}}, None)
        assert (await parked.resume(states[1], {"ask-1": {"ok": 1}}, None))["answers"] == [{"ok": 1}]
        assert (await parked.resume(states[-1], {"ask-1": {"ok": 2}}, None))["answers"] == [{"ok": 2}]


async def test_cancel_all_cancels_every_parked_request() -> None:
    children = [Child(ELICIT), Child(SAMPLING)]
    async with parking() as parked:
        states = [(await parked.start(deferred(), child)).state for child in children]
        parked.cancel_all()
        with anyio.fail_after(2):
            for child in children:
                await child.cancelled.wait()
        for state in states:
            with pytest.raises(RequestError):
                await parked.resume(state, {"ask-1": {}}, None)


async def test_an_editor_that_gives_up_waiting_cancels_the_request() -> None:
    started = anyio.Event()
    cancelled = anyio.Event()

    async def drive(request: OpenRequest) -> str:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()
        return "never"  # pragma: no cover

    async with parking() as parked:
        with anyio.move_on_after(0.05):
            await parked.start(deferred(), drive)
        assert started.is_set()
        with anyio.fail_after(2):
            await cancelled.wait()


async def test_a_drive_that_fails_raises_its_error_to_the_waiting_editor() -> None:
    async def drive(request: OpenRequest) -> str:
        raise RequestError(-32000, "the child broke")

    async with parking() as parked:
        with pytest.raises(RequestError, match="the child broke"):
            await parked.start(deferred(), drive)


async def test_a_drive_that_fails_after_a_resume_raises_to_the_retry() -> None:
    async def drive(request: OpenRequest) -> str:
        await request.ask(*ELICIT)
        raise ValueError("late failure")

    async with parking() as parked:
        first = await parked.start(deferred(), drive)
        with pytest.raises(ValueError, match="late failure"):
            await parked.resume(first.state, {"ask-1": {}}, None)


async def test_resume_hands_the_retrys_progress_callback_to_the_request() -> None:
    seen: list[Any] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        seen.append((value, total, message))

    async def drive(request: OpenRequest) -> str:
        await request.ask(*ELICIT)
        assert request.progress is not None
        await request.progress(1, 2, "after the answer")
        return "done"

    async with parking() as parked:
        first = await parked.start(deferred(), drive)
        assert await parked.resume(first.state, {"ask-1": {}}, progress) == "done"
    assert seen == [(1, 2, "after the answer")]

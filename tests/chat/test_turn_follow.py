"""Following a turn from an offset and stopping it (StreamTurn, CancelTurn): the follower's
bookkeeping as a unit, then the chat service's logic on SQLite with the real inference service
and two "replicas" (two services on one store) talking over a real NATS server."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator
from pathlib import Path

import pytest

from chat_service.domain import (
    ChatOptions,
    MessageRecord,
    MessageStatus,
    Role,
    Sampling,
    utcnow,
)
from chat_service.service import ChatService, ReplyDelta, ReplyError, ReplyFinal
from chat_service.turn.events import ReplyEvent
from chat_service.turn.follow import _Position
from chat_service.turn.lifecycle import ReplyBuffer
from chat_service.turn.running import Progress, RunningTurns, StopRequested, TurnKey
from tests.fixtures.chat_stack import chat_stack, eventually
from tests.fixtures.nats import NatsServer
from tests.fixtures.services import RunningService

LONG = Sampling(temperature=0, max_tokens=160)
STORY = "Write a long story about a lighthouse keeper and a storm."


def apply(held: str, delta: ReplyDelta) -> str:
    """What a client holds after a delta: the text up to its offset, then its text."""
    assert delta.offset is not None
    assert delta.offset <= len(held), f"a gap: held {len(held)}, delta at {delta.offset}"
    return held[: delta.offset] + delta.text


# -- the follower's bookkeeping ----------------------------------------------------------


def test_a_caller_resuming_at_an_offset_gets_only_the_rest() -> None:
    position = _Position(5)
    delta = position.align("Hello, world", "a1")
    assert delta == ReplyDelta(", world") and delta.offset == 5
    step = position.progress(Progress("a1", 12, "!"))
    assert isinstance(step, ReplyDelta) and (step.text, step.offset) == ("!", 12)
    assert position.progress(Progress("a1", 5, ", world")) is None  # already held


def test_a_restarted_turn_replaces_the_text_from_zero() -> None:
    position = _Position(0)
    position.align("Once upon", "a1")
    assert position.progress(Progress("a2", 0, "Long ago")) is False  # another attempt
    delta = position.align("Long ago", "a2")
    assert delta is not None and (delta.text, delta.offset) == ("Long ago", 0)
    assert apply("Once upon", delta) == "Long ago"


def test_a_lagging_store_never_takes_text_back() -> None:
    position = _Position(0)
    position.align("The sea was calm", "a1")
    assert position.align("The sea", None) is None  # the store is behind the pushes
    delta = position.align("The sea was calm that night", None)
    assert delta is not None and (delta.text, delta.offset) == (" that night", 16)
    # A store text that is not a continuation: the turn restarted elsewhere.
    delta = position.align("Different", None)
    assert delta is not None and (delta.text, delta.offset) == ("Different", 0)


def test_an_ended_turn_leaves_the_caller_with_exactly_the_stored_text() -> None:
    position = _Position(0)
    position.align("It was a dark and", "a1")
    # Its replica died after pushing text it had not saved: the record is shorter.
    delta = position.settle("It was a dark")
    assert delta is not None and (delta.text, delta.offset) == ("", 13)
    assert apply("It was a dark and", delta) == "It was a dark"
    assert position.settle("It was a dark") is None
    resumed = _Position(4)  # a caller that brought text this follower never saw
    delta = resumed.settle("It was")
    assert delta is not None and apply("It w", delta) == "It was"
    shorter = _Position(9)
    delta = shorter.settle("It was")
    assert delta is not None and (delta.text, delta.offset) == ("It was", 0)


def test_a_caller_resuming_an_earlier_attempt_gets_the_new_one_from_zero() -> None:
    position = _Position(20, "a1")  # it held 20 code points of attempt a1
    delta = position.align("A different, longer beginning", "a2")
    assert delta is not None and delta.offset == 0 and delta.attempt == "a2"
    assert delta.text == "A different, longer beginning"
    same = _Position(5, "a1")
    delta = same.align("Hello, world", "a1")
    assert delta is not None and (delta.text, delta.offset) == (", world", 5)
    ended = _Position(5, "a1")  # the turn ended before this follower could confirm a1
    delta = ended.settle("Hello, world")
    assert delta is not None and (delta.text, delta.offset) == ("Hello, world", 0)


def test_a_gap_in_the_pushes_asks_again() -> None:
    position = _Position(0)
    position.align("abc", "a1")
    assert position.progress(Progress("a1", 10, "xyz")) is False


def test_offsets_count_code_points() -> None:
    position = _Position(0)
    position.align("é🙂", "a1")
    step = position.progress(Progress("a1", 2, "ü"))
    assert isinstance(step, ReplyDelta) and step.offset == 2


# -- the replica's running turns ----------------------------------------------------------


async def test_a_remembered_stop_applies_to_a_submission_made_before_it_only() -> None:
    running = RunningTurns()
    key = TurnKey("u", "c", "r")
    running.stop(key.token, asked_at=1000.0)  # the turn was not running here yet
    late = running.start(key, ReplyBuffer(_reply(), 0.0), False, submitted_at=1001.0)
    assert not late.stop_requested  # a resubmission after the stop
    running.finish(late)
    running.stop(key.token, asked_at=1000.0)

    async def attempt() -> None:  # an answerer's task: the stop cancels it at its next await
        early = running.start(key, ReplyBuffer(_reply(), 0.0), False, submitted_at=999.0)
        assert early.stop_requested
        try:
            await asyncio.sleep(10)
        finally:
            running.finish(early)

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(asyncio.ensure_future(attempt()), 5)
    running.stop(key.token, asked_at=1000.0)
    streamed = running.start(key, ReplyBuffer(_reply(), 0.0), False, submitted_at=None)
    assert not streamed.stop_requested  # a streamed turn is never queued before a stop


async def test_a_stop_between_deltas_is_noticed_when_the_caller_asks_for_the_next() -> None:
    running = RunningTurns()
    turn = running.start(TurnKey("u", "c", "r"), ReplyBuffer(_reply(), 0.0), False, None)
    turn.inside = False  # the caller holds a delta: cancelling its task would hit the caller
    running.stop(turn.key.token, asked_at=0.0)
    assert turn.stop_requested
    task = asyncio.current_task()
    assert task is not None and not task.cancelling()
    with pytest.raises(StopRequested):
        turn.enter()


def _reply() -> MessageRecord:
    now = utcnow()
    return MessageRecord("c", "m", Role.ASSISTANT, "", MessageStatus.PENDING, now, now)


# -- the service, with NATS between two replicas -------------------------------------------


async def collect_until(
    events: AsyncGenerator[ReplyEvent, None], held: str, enough: int
) -> tuple[str, ReplyEvent | None]:
    """Applies deltas until `enough` code points are held or the turn ends."""
    async for event in events:
        if isinstance(event, ReplyDelta):
            held = apply(held, event)
            if len(held) >= enough:
                return held, None
        else:
            return held, event
    return held, None


async def test_a_follower_resumes_from_its_offset_with_nothing_lost_or_repeated(
    tmp_path: Path,
    nats_server: NatsServer,
    inference_server: RunningService,
    embedding_server: RunningService,
) -> None:
    async with chat_stack(tmp_path, nats_server, inference_server, embedding_server) as stack:
        service, user = stack.service, "follow-user"
        chat_id = await stack.new_chat(user)
        turn = await service.submit(user, chat_id, STORY, "", LONG, True)
        request_id = turn.user.client_request_id
        first = service.follow_turn(user, chat_id, request_id)
        held, end = await collect_until(first, "", 20)
        await first.aclose()  # the caller goes away: the turn goes on
        assert end is None and len(held) >= 20
        await asyncio.sleep(0.5)  # it keeps generating meanwhile
        events = [e async for e in service.follow_turn(user, chat_id, request_id, len(held))]
        final = events[-1]
        assert isinstance(final, ReplyFinal), events
        for event in events[:-1]:
            assert isinstance(event, ReplyDelta)
            held = apply(held, event)
        assert held == final.assistant.content
        stored = await service.get_turn(user, chat_id, request_id)
        assert stored.assistant.status is MessageStatus.COMPLETE
        assert stored.assistant.content == held


@contextlib.asynccontextmanager
async def two_replicas(
    tmp_path: Path, nats: NatsServer, inference: RunningService, embedding: RunningService
) -> AsyncGenerator[tuple[ChatService, ChatService], None]:
    """Two services on one SQLite file and one NATS server; only the first runs workers."""
    shared = {"sqlite_path": str(tmp_path / "shared.db")}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    async with (
        chat_stack(tmp_path / "a", nats, inference, embedding, **shared) as runner,
        chat_stack(tmp_path / "b", nats, inference, embedding, **shared) as reader,
    ):
        for worker in reader.runtime.workers:
            await worker.stop()  # every submitted turn runs on the first replica
        yield runner.service, reader.service


async def test_a_stop_on_another_replica_stops_the_turn_and_keeps_its_text(
    tmp_path: Path,
    nats_server: NatsServer,
    inference_server: RunningService,
    embedding_server: RunningService,
) -> None:
    async with two_replicas(tmp_path, nats_server, inference_server, embedding_server) as (
        runner,
        reader,
    ):
        user = "stop-user"
        chat = await reader.create_chat(user, "", "", ChatOptions())
        turn = await reader.submit(user, chat.chat_id, STORY, uuid.uuid4().hex, LONG, True)
        request_id = turn.user.client_request_id
        # Followed on the replica that does not run it: the text comes pushed over NATS.
        events = reader.follow_turn(user, chat.chat_id, request_id)
        held, end = await collect_until(events, "", 10)
        assert end is None
        await eventually(lambda: len(runner.feed.running) == 1, "the turn runs on the runner")
        stopped = await reader.cancel_turn(user, chat.chat_id, request_id)
        assert stopped.assistant.status is MessageStatus.INTERRUPTED, stopped.assistant
        assert stopped.assistant.content.startswith(held)
        rest = [e async for e in events]
        assert isinstance(rest[-1], ReplyError) and rest[-1].error.reason == "TURN_INTERRUPTED"
        for event in rest[:-1]:
            assert isinstance(event, ReplyDelta)
            held = apply(held, event)
        assert held == stopped.assistant.content
        # Stopped for good: it does not grow, and a second stop changes nothing.
        await asyncio.sleep(1.0)
        again = await reader.cancel_turn(user, chat.chat_id, request_id)
        assert again.assistant.content == stopped.assistant.content
        assert again.assistant.status is MessageStatus.INTERRUPTED
        # Resubmitted after the stop (which every replica may remember): it runs this time.
        short = Sampling(temperature=0, max_tokens=8)
        await reader.submit(user, chat.chat_id, STORY, request_id, short, True)
        rerun = [e async for e in reader.follow_turn(user, chat.chat_id, request_id)]
        assert isinstance(rerun[-1], ReplyFinal), rerun[-1]


async def test_a_queued_turn_that_is_stopped_never_starts(
    tmp_path: Path,
    nats_server: NatsServer,
    inference_server: RunningService,
    embedding_server: RunningService,
) -> None:
    async with chat_stack(tmp_path, nats_server, inference_server, embedding_server) as stack:
        service, user = stack.service, "queued-stop"
        await stack.runtime.workers[1].stop()  # nobody picks submitted turns up
        chat_id = await stack.new_chat(user)
        turn = await service.submit(user, chat_id, "Say hi.", "", LONG, True)
        request_id = turn.user.client_request_id
        stopped = await service.cancel_turn(user, chat_id, request_id)
        assert stopped.assistant.status is MessageStatus.INTERRUPTED
        assert stopped.assistant.content == ""
        events = [e async for e in service.follow_turn(user, chat_id, request_id)]
        assert isinstance(events[-1], ReplyError)

"""Following a turn from an offset and stopping it (StreamTurn, CancelTurn): the follower's
bookkeeping as a unit, then the chat service's logic on SQLite with the real inference service
and two "replicas" (two services on one store) talking over a real NATS server."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator
from pathlib import Path

from chat_service.domain import ChatOptions, MessageStatus, Sampling
from chat_service.service import ChatService, ReplyDelta, ReplyError, ReplyFinal
from chat_service.turn.events import ReplyEvent
from chat_service.turn.follow import _Position
from chat_service.turn.running import Progress
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


def test_a_gap_in_the_pushes_asks_again() -> None:
    position = _Position(0)
    position.align("abc", "a1")
    assert position.progress(Progress("a1", 10, "xyz")) is False


def test_offsets_count_code_points() -> None:
    position = _Position(0)
    position.align("é🙂", "a1")
    step = position.progress(Progress("a1", 2, "ü"))
    assert isinstance(step, ReplyDelta) and step.offset == 2


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

"""Asynchronous completions (SubmitCompletion / GetTurn / StreamTurn) and the turn lease: the
chat service's logic in process on SQLite with the real inference and embedding services, its
workers on a real NATS JetStream server (tests/fixtures/chat_stack.py)."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from chat_service.domain import MessageStatus, Sampling, utcnow
from chat_service.jobs.jobs import GenerateTurn
from chat_service.service import ReplyDelta, ReplyFinal
from tests.fixtures.chat_stack import chat_stack, eventually, processed, published
from tests.fixtures.nats import NatsServer
from tests.fixtures.services import RunningService

SHORT = Sampling(temperature=0, max_tokens=24)


async def test_a_submitted_turn_returns_at_once_runs_on_the_queue_and_can_be_followed(
    tmp_path: Path,
    nats_server: NatsServer,
    inference_server: RunningService,
    embedding_server: RunningService,
) -> None:
    async with chat_stack(tmp_path, nats_server, inference_server, embedding_server) as stack:
        service, user = stack.service, "async-user"
        chat_id = await stack.new_chat(user)
        before = processed("generate_turn")
        turn = await service.submit(user, chat_id, "Name a color of the sky.", "", SHORT, True)
        assert turn.assistant.status is MessageStatus.QUEUED
        request_id = turn.user.client_request_id
        assert request_id, "the server names the turn"

        events = [e async for e in service.follow_turn(user, chat_id, request_id)]
        final = events[-1]
        assert isinstance(final, ReplyFinal), events
        streamed = "".join(e.text for e in events if isinstance(e, ReplyDelta))
        assert streamed == final.assistant.content and streamed.strip()
        assert final.assistant.message_id == turn.assistant.message_id
        await eventually(lambda: processed("generate_turn") > before, "the job is acked")

        stored = await service.get_turn(user, chat_id, request_id)
        assert stored.assistant.status is MessageStatus.COMPLETE
        assert stored.assistant.content == streamed
        # A retry of the same id is the same turn: nothing queued, nothing added.
        again = await service.submit(user, chat_id, "Name a color of the sky.", request_id, SHORT)
        assert again.assistant.message_id == turn.assistant.message_id
        assert again.assistant.status is MessageStatus.COMPLETE
        _, messages, _ = await service.get_chat(user, chat_id, 50, "")
        assert [m.message_id for m in messages] == [
            turn.user.message_id,
            turn.assistant.message_id,
        ]


async def test_with_the_queue_down_a_submitted_turn_runs_in_process(
    tmp_path: Path,
    nats_server: NatsServer,
    inference_server: RunningService,
    embedding_server: RunningService,
) -> None:
    async with chat_stack(tmp_path, nats_server, inference_server, embedding_server) as stack:
        service, user = stack.service, "async-fallback"
        chat_id = await stack.new_chat(user)
        nats_server.stop()
        await eventually(lambda: not stack.runtime.queue.ready, "the client sees NATS down")
        before = published("generate_turn", "fallback")
        turn = await service.submit(user, chat_id, "Say hello.", "", SHORT, True)
        assert published("generate_turn", "fallback") == before + 1
        request_id = turn.user.client_request_id

        async def done() -> bool:
            stored = await service.get_turn(user, chat_id, request_id)
            return stored.assistant.status is MessageStatus.COMPLETE

        deadline = time.monotonic() + 120
        while not await done():
            assert time.monotonic() < deadline, "the in-process turn never completed"
            await service.wait_published()


async def test_a_turn_whose_server_died_is_abandoned_then_taken_over(
    tmp_path: Path,
    nats_server: NatsServer,
    inference_server: RunningService,
    embedding_server: RunningService,
) -> None:
    """A PENDING reply stops being refreshed when its server dies: after `abandoned_turn_s`
    it reads as interrupted, an interactive retry regenerates it, and a redelivered job takes
    over a submitted one (until then the job waits: the lease says it runs elsewhere)."""
    overrides = {"abandoned_turn_s": 1.5, "turn_lease_s": 0.3, "stream_turn_keepalive_s": 0.2}
    async with chat_stack(
        tmp_path, nats_server, inference_server, embedding_server, **overrides
    ) as stack:
        service, user = stack.service, "lease-user"
        chat_id = await stack.new_chat(user)

        # A submitted turn "claimed by a replica that died": PENDING, just refreshed.
        await stack.runtime.workers[1].stop()  # this test plays the redelivery itself
        turn = await service.submit(user, chat_id, "Say hi.", "", SHORT, True)
        request_id = turn.user.client_request_id
        # Nobody runs it: a follower gets empty deltas that keep its stream open meanwhile.
        follower = aiter(service.follow_turn(user, chat_id, request_id))
        assert [await anext(follower) for _ in range(2)] == [ReplyDelta(""), ReplyDelta("")]
        await follower.aclose()  # type: ignore[attr-defined]
        await service.store.save_message(
            user, replace(turn.assistant, status=MessageStatus.PENDING, updated_at=utcnow())
        )
        started = time.monotonic()
        job = GenerateTurn(user, chat_id, request_id, turn.assistant.updated_at.isoformat())
        await service.run_submitted(job)
        waited = time.monotonic() - started
        stored = await service.get_turn(user, chat_id, request_id)
        assert stored.assistant.status is MessageStatus.COMPLETE
        assert waited >= 1.0, f"took over a live lease after {waited:.2f}s"

        # A submitted turn whose job was dead-lettered is marked failed, not left queued.
        given_up = await service.submit(user, chat_id, "Say ho.", "", SHORT, True)
        gone = GenerateTurn(user, chat_id, given_up.user.client_request_id, "")
        await service.fail_submitted(gone)
        failed = await service.get_turn(user, chat_id, given_up.user.client_request_id)
        assert failed.assistant.status is MessageStatus.FAILED, failed.assistant

        # An interactive turn left PENDING long ago: shown interrupted, a retry regenerates.
        stale_id = uuid.uuid4().hex
        events = [e async for e in service.complete(user, chat_id, "Say bye.", stale_id, SHORT)]
        assert isinstance(events[-1], ReplyFinal)
        done = await service.get_turn(user, chat_id, stale_id)
        old = utcnow() - timedelta(seconds=60)
        await service.store.save_message(
            user, replace(done.assistant, status=MessageStatus.PENDING, content="", updated_at=old)
        )
        seen = await service.get_turn(user, chat_id, stale_id)
        assert seen.assistant.status is MessageStatus.INTERRUPTED
        assert "abandoned" in seen.assistant.error
        events = [e async for e in service.complete(user, chat_id, "Say bye.", stale_id, SHORT)]
        final = events[-1]
        assert isinstance(final, ReplyFinal)
        assert final.assistant.message_id == done.assistant.message_id
        assert final.assistant.status is MessageStatus.COMPLETE

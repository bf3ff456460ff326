"""The message queue end to end: the chat service's logic in process (SQLite, Milvus Lite in the
test's folder, the real inference and embedding services) with its job worker on a real NATS
JetStream server, which the tests stop and start again (outages, at-least-once delivery)."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import grpc
from chatstack.chat.v1 import chat_pb2 as pb
from chatstack.chat.v1 import chat_pb2_grpc as pb_grpc

from chat_service.config import ChatSettings
from chat_service.domain import (
    HistoryPolicy,
    MessageRecord,
    MessageStatus,
    Role,
    Turn,
    utcnow,
)
from chat_service.ids import new_ids
from chat_service.jobs.jobs import Job
from chat_service.jobs.queue import DLQ_STREAM, JobQueue
from chat_service.jobs.worker import Worker
from local_stack.launch.metrics import metric_value
from tests.fixtures.chat_stack import (
    SYSTEM,
    chat_stack,
    eventually,
    processed,
    published,
)
from tests.fixtures.nats import NatsServer
from tests.fixtures.services import RunningService, cache_args, run_service


async def test_cache_entry_is_written_via_the_queue_and_deleting_the_chat_removes_it(
    tmp_path: Path,
    nats_server: NatsServer,
    inference_server: RunningService,
    embedding_server: RunningService,
) -> None:
    async with chat_stack(tmp_path, nats_server, inference_server, embedding_server) as stack:
        user, question = "queue-user", "What is the capital of France?"
        first_chat = await stack.new_chat(user)
        before = processed("store_cache_entry")
        sent = published("store_cache_entry", "published")
        answer = await stack.ask(user, first_chat, question)
        assert not answer.cached and answer.finish_reason == "stop", "raise max_tokens"
        assert published("store_cache_entry", "published") == sent + 1
        await eventually(lambda: processed("store_cache_entry") > before, "the cache store job")
        assert stack.service.side_work.local.runs == 0  # nothing ran in process

        again = await stack.ask(user, await stack.new_chat(user), question)
        assert again.cached and again.content == answer.content

        # Deleting the chat publishes InvalidateChatCache; the worker deletes its entries.
        before = processed("invalidate_chat_cache")
        await stack.service.delete_chat(user, first_chat)
        assert published("invalidate_chat_cache", "published") >= 1
        await eventually(lambda: processed("invalidate_chat_cache") > before, "the invalidation")
        fresh = await stack.ask(user, await stack.new_chat(user), question)
        assert not fresh.cached


async def test_summary_checkpoint_is_computed_via_the_queue(
    tmp_path: Path,
    nats_server: NatsServer,
    inference_server: RunningService,
    embedding_server: RunningService,
) -> None:
    async with chat_stack(
        tmp_path,
        nats_server,
        inference_server,
        embedding_server,
        reserved_output_tokens=1536,  # a 512-token budget: 30 turns do not fit
        summary_keep_recent_messages=4,
        summary_max_tokens=48,
    ) as stack:
        user = "queue-summary-user"
        chat_id = await stack.new_chat(user, HistoryPolicy.SUMMARY)
        for i in range(30):
            now = utcnow()
            q, a = new_ids(2)
            await stack.service.store.begin_turn(user, Turn(
                MessageRecord(chat_id, q, Role.USER, f"Question {i}: what is {i} plus {i}?",
                              MessageStatus.COMPLETE, now, now, client_request_id=f"seed-{i}"),
                MessageRecord(chat_id, a, Role.ASSISTANT, f"The answer is {2 * i}.",
                              MessageStatus.COMPLETE, now, now, client_request_id=f"seed-{i}"),
            ))  # fmt: skip
        before = processed("summarize_chat")
        await stack.ask(user, chat_id, "What was the first question?")
        assert stack.service.side_work.local.runs == 0  # not run in process
        await eventually(lambda: processed("summarize_chat") > before, "the summary job", 45)
        summary = await stack.service.store.latest_summary(user, chat_id)
        assert summary is not None and summary.content
        newest = await stack.service.store.recent_messages(user, chat_id, 10, None)
        assert summary.upto_message_id == newest[4].message_id


async def test_queue_down_turns_complete_in_process_and_a_stored_job_survives_a_restart(
    tmp_path: Path,
    nats_server: NatsServer,
    inference_server: RunningService,
    embedding_server: RunningService,
) -> None:
    async with chat_stack(tmp_path, nats_server, inference_server, embedding_server) as stack:
        service, queue = stack.service, stack.runtime.queue
        assert service.cache is not None
        user = "queue-outage-user"

        # NATS down: the turn completes, its cache store runs in process, counted as fallback.
        nats_server.stop()
        await eventually(lambda: not queue.ready, "the client to notice the outage", 10)
        fallbacks = published("store_cache_entry", "fallback")
        answer = await stack.ask(user, await stack.new_chat(user), "What is the capital of Peru?")
        assert answer.status is MessageStatus.COMPLETE
        assert published("store_cache_entry", "fallback") == fallbacks + 1
        await service.wait_published()  # the in-process store
        hit = await stack.ask(user, await stack.new_chat(user), "What is the capital of Peru?")
        assert hit.cached

        # A job published while no worker runs, then NATS restarts on the same storage: the job
        # is processed afterwards (at-least-once), by the worker that survived the restart.
        nats_server.start()
        await eventually(lambda: queue.ready, "the client to reconnect", 15)
        await stack.runtime.workers[0].stop()
        question = "What is the capital of Chile?"
        sent = published("store_cache_entry", "published")
        await stack.ask(user, await stack.new_chat(user), question)
        assert published("store_cache_entry", "published") == sent + 1
        nats_server.stop()
        await eventually(lambda: not queue.ready, "the client to notice the outage", 10)
        nats_server.start()
        await eventually(lambda: queue.ready, "the client to reconnect", 15)
        before = processed("store_cache_entry")
        await stack.runtime.workers[0].start()
        await eventually(lambda: processed("store_cache_entry") > before, "the stored job")
        assert (await stack.ask(user, await stack.new_chat(user), question)).cached

        # And a running worker goes on pulling after NATS restarts under it.
        nats_server.stop()
        await eventually(lambda: not queue.ready, "the client to notice the outage", 10)
        nats_server.start()
        await eventually(lambda: queue.ready, "the client to reconnect", 15)
        before = processed("store_cache_entry")
        await stack.ask(user, await stack.new_chat(user), "What is the capital of Brazil?")
        await eventually(lambda: processed("store_cache_entry") > before, "the job after restart")


@dataclass(frozen=True)
class AlwaysFailsTestJob(Job):
    """A test double: a job type whose handler always raises."""

    kind: ClassVar[str] = "always_fails_test"
    n: int

    def job_id(self) -> str:
        return f"always-fails:{self.n}"


async def test_a_job_that_keeps_failing_is_dead_lettered_after_max_deliver(
    nats_server: NatsServer,
) -> None:
    settings = ChatSettings(  # type: ignore[call-arg]
        queue_url=nats_server.url, queue_max_deliver=3, queue_retry_delay_s=0.1
    )
    attempts: list[AlwaysFailsTestJob] = []

    async def failing_handler(job: AlwaysFailsTestJob) -> None:
        attempts.append(job)
        raise RuntimeError("test double: always fails")

    given_up: list[AlwaysFailsTestJob] = []

    async def dead_letter_hook(job: AlwaysFailsTestJob) -> None:
        given_up.append(job)

    queue = JobQueue(settings)
    await queue.connect()
    worker = Worker(
        queue,
        {AlwaysFailsTestJob: failing_handler},
        settings,
        on_dead_letter={AlwaysFailsTestJob: dead_letter_hook},
    )
    await worker.start()
    try:
        retries = processed("always_fails_test", "retry")
        assert await queue.publish(AlwaysFailsTestJob(1))
        # same job id: deduplicated by JetStream, and said so
        assert not await queue.publish(AlwaysFailsTestJob(1))
        await eventually(
            lambda: processed("always_fails_test", "dead_letter") >= 1, "the dead letter", 20
        )
        assert len(attempts) == 3 and processed("always_fails_test", "retry") == retries + 2
        assert given_up == [AlwaysFailsTestJob(1)]
        dlq = await queue.js.stream_info(DLQ_STREAM)
        assert dlq.state.messages == 1
        await asyncio.sleep(0.5)  # terminated: never delivered again
        assert len(attempts) == 3
    finally:
        await worker.stop()
        await queue.close()


async def test_the_chat_process_runs_its_worker_with_queue_url(
    tmp_path: Path,
    nats_server: NatsServer,
    inference_server: RunningService,
    embedding_server: RunningService,
) -> None:
    """The wiring in chat_service/__main__.py: a real chat process with --queue-url."""
    with contextmanager(run_service)(
        tmp_path,
        "chat-queue",
        "chat_service",
        "--sqlite-path", str(tmp_path / "chat.db"),
        "--inference-address", inference_server.address,
        "--queue-url", nats_server.url,
        *cache_args(tmp_path, embedding_server),
    ) as chat:  # fmt: skip
        user = (("x-chatstack-user", "queue-process-user"),)
        async with grpc.aio.insecure_channel(chat.address) as channel:
            stub = pb_grpc.ChatServiceStub(channel)
            created = await stub.CreateChat(
                pb.CreateChatRequest(system_prompt=SYSTEM), metadata=user, timeout=30
            )
            request = pb.CompleteRequest(
                chat_id=created.chat.chat_id,
                content="What is the capital of Norway?",
                sampling=pb.SamplingSettings(temperature=0, max_tokens=64),
            )
            events = [e async for e in stub.Complete(request, metadata=user, timeout=120)]
            assert events[-1].HasField("final")

        def jobs_done() -> float:
            labels = {"job": "store_cache_entry", "outcome": "ok"}
            return metric_value(chat.metrics_url, "chat_jobs_processed_total", labels)

        await eventually(lambda: jobs_done() >= 1, "the chat process's worker", 30)

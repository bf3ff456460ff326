"""The queue on a three-server JetStream cluster (what production runs): streams and consumers
with three replicas, and jobs that survive the SIGKILL of the server that leads their stream and
of the server the chat service is connected to. Real nats-server processes on loopback; the
chat service's own queue wiring (JobQueue, QueueRuntime and its workers) with a test handler."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import ClassVar

import nats.errors
import pytest
from nats.js.api import ClusterInfo

from chat_service.config import ChatSettings
from chat_service.jobs.jobs import Job
from chat_service.jobs.queue import DLQ_STREAM, STREAM, TURN_STREAM, JobQueue
from chat_service.jobs.runtime import QueueRuntime
from local_stack.launch.nats import NatsCluster
from tests.fixtures.chat_stack import eventually

# Above a stream leader's election (4 to 7 s measured here: nats-server's Raft election timeout
# is 4 to 9 s), so a publish rides through it instead of falling back to running in process.
ELECTION_PROOF_PUBLISH_S = 15.0


@dataclass(frozen=True)
class ClusterTestJob(Job):
    """A test double: a job whose handler records that it ran."""

    kind: ClassVar[str] = "cluster_test"
    n: int

    def job_id(self) -> str:
        return f"cluster-test:{self.n}"


class Recorder:
    """The test handler: records each job it is given, then each it finished; closing the gate
    holds a job in the handler (delivered, not yet acknowledged)."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.handled: list[int] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, job: ClusterTestJob) -> None:
        self.received.append(job.n)
        await self.gate.wait()
        self.handled.append(job.n)


def settings(cluster: NatsCluster, replicas: int = 3, **overrides: object) -> ChatSettings:
    fields: dict[str, object] = {
        "queue_url": cluster.url,
        "queue_stream_replicas": replicas,
        "queue_retry_delay_s": 0.2,
    }
    return ChatSettings(**(fields | overrides))  # type: ignore[arg-type]


@asynccontextmanager
async def running_queue(chat: ChatSettings, recorder: Recorder) -> AsyncIterator[QueueRuntime]:
    """The chat service's queue runtime (connect with retries, both workers)."""
    runtime = QueueRuntime(JobQueue(chat), {ClusterTestJob: recorder}, chat)
    runtime.start()
    try:
        await asyncio.wait_for(runtime.started.wait(), 30)
        yield runtime
    finally:
        await runtime.stop()


async def settled(queue: JobQueue, stream: str, consumer: str | None = None) -> ClusterInfo:
    """The stream's (or its consumer's) cluster once it has a leader and two current
    replicas (a request may time out meanwhile: during an election nobody answers it)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            if consumer is None:
                cluster = (await queue.js.stream_info(stream)).cluster
            else:
                cluster = (await queue.js.consumer_info(stream, consumer)).cluster
        except (TimeoutError, nats.errors.Error):  # no answer, no responders, 503
            cluster = None
        replicas = (cluster.replicas or []) if cluster else []
        if cluster and cluster.leader and len(replicas) == 2 and all(r.current for r in replicas):
            return cluster
        assert time.monotonic() < deadline, f"{stream} {consumer or ''} not settled: {cluster}"
        await asyncio.sleep(0.1)


def index_of(cluster: NatsCluster, *, name: str | None = None, port: int | None = None) -> int:
    return next(
        i
        for i, s in enumerate(cluster.servers)
        if name in (None, s.server_name) and port in (None, s.port)
    )


async def publish(queue: JobQueue, numbers: Iterable[int]) -> None:
    for n in numbers:
        await queue.publish(ClusterTestJob(n))  # QueueUnavailable would fail the test


async def test_streams_and_consumers_have_three_replicas_after_an_update_from_one(
    nats_cluster: NatsCluster,
) -> None:
    # A deployment that ran with one replica: its streams are updated, a stored job kept.
    single = JobQueue(settings(nats_cluster, replicas=1))
    await single.connect()
    await publish(single, [1])
    assert (await single.js.stream_info(STREAM)).config.num_replicas == 1
    await single.close()

    recorder = Recorder()
    async with running_queue(settings(nats_cluster), recorder) as runtime:
        queue, names = runtime.queue, {s.server_name for s in nats_cluster.servers}
        for stream in (STREAM, TURN_STREAM, DLQ_STREAM):
            cluster = await settled(queue, stream)
            assert {cluster.leader, *(r.name for r in cluster.replicas or [])} == names
            assert (await queue.js.stream_info(stream)).config.num_replicas == 3
        for stream, consumer in ((STREAM, "chat-jobs"), (TURN_STREAM, "chat-turns")):
            await settled(queue, stream, consumer)  # a consumer takes its stream's replicas
        await eventually(lambda: recorder.handled == [1], "the job stored before the update")


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_no_job_is_lost_when_the_stream_leader_and_the_connected_server_die(
    nats_cluster: NatsCluster,
) -> None:
    recorder = Recorder()
    chat = settings(nats_cluster, queue_publish_timeout_s=ELECTION_PROOF_PUBLISH_S)
    async with running_queue(chat, recorder) as runtime:
        queue = runtime.queue
        await settled(queue, STREAM)
        leader = (await queue.js.stream_info(STREAM)).cluster
        assert leader is not None
        await _lose_a_server(queue, nats_cluster, recorder, range(0, 20), name=leader.leader)

        assert queue.client is not None and queue.client.connected_url is not None
        port = queue.client.connected_url.port
        await _lose_a_server(queue, nats_cluster, recorder, range(20, 40), port=port)

        # Every job acknowledged (work-queue retention drops it) well within the ack wait, so
        # none will be redelivered: each ran exactly once.
        deadline = time.monotonic() + 10
        while (await queue.js.stream_info(STREAM)).state.messages:
            assert time.monotonic() < deadline, "a job left unacknowledged"
            await asyncio.sleep(0.1)
        assert Counter(recorder.handled) == Counter(range(40))


async def _lose_a_server(
    queue: JobQueue,
    cluster: NatsCluster,
    recorder: Recorder,
    jobs: range,
    *,
    name: str | None = None,
    port: int | None = None,
) -> None:
    """Half the jobs stored before the server's SIGKILL (one of them held in the handler,
    delivered and not acknowledged), half published right after it; all are handled. Then the
    server restarts and its replica catches up."""
    i = index_of(cluster, name=name, port=port)
    before, after = jobs[: len(jobs) // 2], jobs[len(jobs) // 2 :]
    recorder.gate.clear()
    await publish(queue, before)
    await eventually(lambda: before[0] in recorder.received, "the worker to take a job", 10)
    cluster.kill(i)
    await publish(queue, after)  # retried through the failover and any election
    recorder.gate.set()
    await eventually(lambda: set(jobs) <= set(recorder.handled), "every job handled", 30)
    await asyncio.to_thread(cluster.restart, i)  # returns once its replicas are current
    await settled(queue, STREAM)  # a leader and two current replicas: the restarted one too
    await settled(queue, STREAM, "chat-jobs")


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_the_service_starts_with_one_of_its_servers_down(
    nats_cluster: NatsCluster,
) -> None:
    first = JobQueue(settings(nats_cluster))
    await first.connect()  # the streams exist, as they do once the service has run
    await first.close()
    nats_cluster.kill(0)  # the first listed (the client tries them in random order)
    recorder = Recorder()
    chat = settings(nats_cluster, queue_publish_timeout_s=ELECTION_PROOF_PUBLISH_S)
    async with running_queue(chat, recorder) as runtime:  # connecting retries meanwhile
        assert runtime.queue.client is not None and runtime.queue.client.connected_url is not None
        assert runtime.queue.client.connected_url.port != nats_cluster.servers[0].port
        await publish(runtime.queue, [1])
        await eventually(lambda: recorder.handled == [1], "the job", 15)

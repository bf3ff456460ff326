"""Issue 7's fault test: the Cassandra node stops, then starts again.

While it is down every RPC that needs the history store fails fast with UNAVAILABLE
(STORE_UNAVAILABLE), well within the client's deadline; once it is back new turns succeed
(the driver reconnects on its own); and the turn that was streaming when the node went down is
not left PENDING: its final record is written once the store is back, and its question is
stored exactly once.

The node is the session's (tests/fixtures/cassandra_node.py), restarted in place on the same
ports and data; the test starts it again whatever happens, for the modules that run after it.
On an external cluster (CASSANDRA_CONTACT_POINTS) the test skips: it must not stop that.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from chatstack.chat.v1 import chat_pb2 as pb
from chatstack.chat.v1 import chat_pb2_grpc as pb_grpc

from chat_service.domain import MessageStatus, Role
from chat_service.store.cassandra_store import CassandraStore
from local_stack.launch.cassandra import CONTACT_POINTS_ENV, CassandraNode
from tests.fixtures.services import RunningService, run_service
from tests.grpc_errors import error_reason

pytestmark = [
    pytest.mark.cassandra,
    pytest.mark.slow,
    # Decided before any fixture runs, so nothing (the inference service...) starts for nothing.
    pytest.mark.skipif(
        bool(os.environ.get(CONTACT_POINTS_ENV, "").strip()),
        reason=f"{CONTACT_POINTS_ENV} names an external cluster: it is not ours to stop",
    ),
]

USER_HEADER = "x-chatstack-user"
KEYSPACE = "chat_outage"
# The deadline of every unary call made while the node is down: the service must answer
# UNAVAILABLE well before it (DEADLINE_EXCEEDED would mean it hung on the store).
CLIENT_DEADLINE_S = 15.0
# The chat service's deadline of one store call: short, so a store call that hangs (instead of
# being refused) still ends well within CLIENT_DEADLINE_S.
STORE_TIMEOUT_S = 8.0
# How long the driver may take to serve again once the node answers CQL (it reconnects at
# most every 5 s), with room for a loaded machine.
RECOVERY_DEADLINE_S = 60.0
# How long after the recovery the interrupted turn may stay PENDING: its final save is retried
# in the background while the store is unavailable and lands once the store is back.
FINAL_SAVE_DEADLINE_S = 60.0
LONG_TURN = pb.SamplingSettings(temperature=0, max_tokens=1000)
SHORT_TURN = pb.SamplingSettings(temperature=0, max_tokens=16)
LONG_PROMPT = (
    "Write a very long story about a lighthouse keeper and the sea. Describe every day of "
    "his life in great detail."
)


def as_user(user: str) -> tuple[tuple[str, str], ...]:
    return ((USER_HEADER, user),)


@pytest.fixture(scope="module")
def outage_node(cassandra_local_node: CassandraNode | None) -> CassandraNode:
    if cassandra_local_node is None:
        pytest.skip(f"{CONTACT_POINTS_ENV} names an external cluster: it is not ours to stop")
    return cassandra_local_node


@pytest.fixture(scope="module")
def chat_server_outage(
    tmp_path_factory: pytest.TempPathFactory,
    inference_server: RunningService,
    outage_node: CassandraNode,
) -> Iterator[RunningService]:
    """A chat service of its own on the session node: a short store deadline, no answer cache
    (every turn goes to the model, and the embedding service is not needed)."""
    host, port = outage_node.endpoint
    yield from run_service(
        tmp_path_factory.mktemp("chat-outage"),
        "chat-outage",
        "chat_service",
        "--store", "cassandra",
        "--cassandra-contact-points", host,
        "--cassandra-port", str(port),
        "--cassandra-keyspace", KEYSPACE,
        "--cassandra-consistency", "ONE",
        "--store-timeout-s", str(STORE_TIMEOUT_S),
        "--inference-address", inference_server.address,
        "--cache-enabled", "false",
    )  # fmt: skip


@pytest.fixture
async def stub(chat_server_outage: RunningService) -> AsyncIterator[pb_grpc.ChatServiceStub]:
    async with grpc.aio.insecure_channel(chat_server_outage.address) as channel:
        yield pb_grpc.ChatServiceStub(channel)


@dataclass
class StreamedTurn:
    """What the client saw of a turn it read to the end in the background."""

    text: str = ""
    events: list[str] = field(default_factory=list)  # "delta" / "final" / "error", in order
    first_delta: asyncio.Event = field(default_factory=asyncio.Event)
    status: grpc.StatusCode | None = None  # set if the call itself ended with an error


async def read_turn(call: Any, turn: StreamedTurn) -> None:
    try:
        async for event in call:
            kind = event.WhichOneof("event")
            if kind == "delta":
                turn.text += event.delta.text
                turn.first_delta.set()
            if kind != "delta" or turn.events[-1:] != ["delta"]:
                turn.events.append(kind)
    except grpc.aio.AioRpcError as err:
        turn.status = err.code()
    finally:
        turn.first_delta.set()  # never leave a waiter hanging


async def complete_once(
    stub: pb_grpc.ChatServiceStub,
    user: str,
    chat_id: str,
    request_id: str,
    timeout_s: float = 120,
) -> list[pb.CompleteResponse]:
    call = stub.Complete(
        pb.CompleteRequest(
            chat_id=chat_id, content="Say hello.", client_request_id=request_id, sampling=SHORT_TURN
        ),
        metadata=as_user(user),
        timeout=timeout_s,
    )
    return [event async for event in call]


async def unavailable_in(call: Callable[[], Awaitable[object]]) -> float:
    """Runs one RPC that must fail with UNAVAILABLE (STORE_UNAVAILABLE); returns its latency."""
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call()
    elapsed = time.monotonic() - started
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE, err.value
    assert error_reason(err.value) == "STORE_UNAVAILABLE", err.value
    return elapsed


async def messages_of(stub: pb_grpc.ChatServiceStub, user: str, chat_id: str) -> list[pb.Message]:
    reply = await stub.GetChat(
        pb.GetChatRequest(chat_id=chat_id, page_size=200),
        metadata=as_user(user),
        timeout=CLIENT_DEADLINE_S,
    )
    return list(reply.messages)


def report(line: str) -> None:
    print(f"[outage] {line}", flush=True)


async def test_node_outage_fails_fast_and_recovers(
    stub: pb_grpc.ChatServiceStub, outage_node: CassandraNode
) -> None:
    user = f"user-{uuid.uuid4().hex[:8]}"
    meta = as_user(user)
    long_chat = (
        await stub.CreateChat(pb.CreateChatRequest(), metadata=meta, timeout=CLIENT_DEADLINE_S)
    ).chat.chat_id
    probe_chat = (
        await stub.CreateChat(pb.CreateChatRequest(), metadata=meta, timeout=CLIENT_DEADLINE_S)
    ).chat.chat_id

    # A long turn, streaming when the node goes down.
    streamed = StreamedTurn()
    call = stub.Complete(
        pb.CompleteRequest(
            chat_id=long_chat, content=LONG_PROMPT, client_request_id="long", sampling=LONG_TURN
        ),
        metadata=meta,
        timeout=180,
    )
    reader = asyncio.ensure_future(read_turn(call, streamed))
    try:
        await asyncio.wait_for(streamed.first_delta.wait(), 120)
        streaming_since = time.monotonic()
        assert streamed.text, f"the long turn ended before streaming: {streamed}"

        started = time.monotonic()
        await asyncio.to_thread(outage_node.stop)
        report(f"stop took {time.monotonic() - started:.2f} s")
        assert not reader.done(), (
            "the long turn ended before the node was down: the test needs a longer reply "
            f"(saw {len(streamed.text)} chars, events {streamed.events})"
        )

        # Down: every RPC that needs the store fails fast with UNAVAILABLE.
        latencies = {
            "CreateChat": await unavailable_in(
                lambda: stub.CreateChat(
                    pb.CreateChatRequest(), metadata=meta, timeout=CLIENT_DEADLINE_S
                )
            ),
            "GetChat": await unavailable_in(
                lambda: stub.GetChat(
                    pb.GetChatRequest(chat_id=probe_chat), metadata=meta, timeout=CLIENT_DEADLINE_S
                )
            ),
            "ListChats": await unavailable_in(
                lambda: stub.ListChats(
                    pb.ListChatsRequest(), metadata=meta, timeout=CLIENT_DEADLINE_S
                )
            ),
            "Complete": await unavailable_in(
                lambda: complete_once(stub, user, probe_chat, "probe", CLIENT_DEADLINE_S)
            ),
        }
        shown = ", ".join(f"{name} {s * 1000:.0f} ms" for name, s in latencies.items())
        report(f"fail-fast latency while down: {shown}")

        # The long turn ends while the node is still down (its final save cannot land now),
        # without hanging on the store.
        await asyncio.wait_for(asyncio.shield(reader), 180)
        report(
            f"the long turn ended while down: events {streamed.events}, call status "
            f"{streamed.status}, {len(streamed.text)} chars streamed in "
            f"{time.monotonic() - streaming_since:.1f} s"
        )
        assert streamed.status != grpc.StatusCode.DEADLINE_EXCEEDED, streamed

        started = time.monotonic()
        await asyncio.to_thread(outage_node.start)
        up_at = time.monotonic()
        report(f"start took {up_at - started:.2f} s")
    finally:
        if not reader.done():
            reader.cancel()
        # Shared with the modules that run after this one: running again whatever happened
        # (a no-op if it already is).
        await asyncio.to_thread(outage_node.start)

    # Back: new turns succeed once the driver has reconnected. The probe turn failed while
    # the node was down; retried with the same request id it runs now, once.
    attempts = 0
    while True:
        attempts += 1
        try:
            events = await complete_once(stub, user, probe_chat, "probe")
            break
        except grpc.aio.AioRpcError as err:
            assert err.code() == grpc.StatusCode.UNAVAILABLE, err
            assert time.monotonic() - up_at < RECOVERY_DEADLINE_S, (
                f"no turn succeeded {RECOVERY_DEADLINE_S:.0f} s after the node came back: {err}"
            )
            await asyncio.sleep(0.25)
    report(
        f"turns succeed again {time.monotonic() - up_at:.2f} s after the node answered CQL "
        f"({attempts} attempts)"
    )
    assert events[-1].WhichOneof("event") == "final", events[-1]
    probe = await messages_of(stub, user, probe_chat)
    assert [(m.role, m.status) for m in probe] == [
        (pb.ROLE_USER, pb.MESSAGE_STATUS_COMPLETE),
        (pb.ROLE_ASSISTANT, pb.MESSAGE_STATUS_COMPLETE),
    ], probe

    # The turn that was streaming is marked (complete, failed or interrupted) in the store, not
    # left pending, and its question is stored exactly once. Read from the store itself: the
    # service would show a long-pending reply as interrupted without it being stored so.
    host, port = outage_node.endpoint
    store = CassandraStore(
        [host], port=port, keyspace=KEYSPACE, consistency="ONE", request_timeout_s=20.0
    )
    await store.start()
    try:
        while True:
            stored = await store.recent_messages(user, long_chat, 10)
            answers = [m for m in stored if m.role is Role.ASSISTANT]
            if answers and all(m.status is not MessageStatus.PENDING for m in answers):
                break
            assert time.monotonic() - up_at < RECOVERY_DEADLINE_S + FINAL_SAVE_DEADLINE_S, (
                "the turn streaming when the node stopped is still PENDING "
                f"{time.monotonic() - up_at:.0f} s after the node came back: {stored}"
            )
            await asyncio.sleep(0.5)
    finally:
        await store.close()
    report(
        f"the interrupted turn is stored {answers[0].status.value} "
        f"({len(answers[0].content)} chars, error {answers[0].error!r}) "
        f"{time.monotonic() - up_at:.2f} s after the node came back"
    )
    questions = [m for m in stored if m.role is Role.USER]
    assert [m.content for m in questions] == [LONG_PROMPT], stored
    assert len(answers) == 1, stored
    # It was generated whole while the node was down: the client heard it was not stored
    # (an error event after the text), and it is stored complete once the node is back.
    assert streamed.events[-1] == "error", streamed.events
    assert answers[0].status is MessageStatus.COMPLETE, answers[0]
    assert answers[0].content == streamed.text


def test_the_node_is_left_running(outage_node: CassandraNode) -> None:
    """The session's node is shared with the modules that run after this one."""
    assert outage_node.running()

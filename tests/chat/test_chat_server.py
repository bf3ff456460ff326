"""The chat service as a real process over a real inference service, on SQLite and on a real
Cassandra node."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from chatstack.chat.v1 import chat_pb2 as pb
from chatstack.chat.v1 import chat_pb2_grpc as pb_grpc

from local_stack.launch.metrics import metric_value
from tests.fixtures.services import RunningService
from tests.grpc_errors import field_violations

USER_HEADER = "x-chatstack-user"
SHORT = pb.SamplingSettings(temperature=0, max_tokens=24)


def as_user(user: str) -> tuple[tuple[str, str], ...]:
    return ((USER_HEADER, user),)


@pytest.fixture
async def stub(chat_server: RunningService) -> AsyncIterator[pb_grpc.ChatServiceStub]:
    async with grpc.aio.insecure_channel(chat_server.address) as channel:
        yield pb_grpc.ChatServiceStub(channel)


def new_user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


async def new_chat(
    stub: pb_grpc.ChatServiceStub, user: str, title: str = "", system_prompt: str = ""
) -> pb.Chat:
    reply = await stub.CreateChat(
        pb.CreateChatRequest(title=title, system_prompt=system_prompt),
        metadata=as_user(user),
        timeout=30,
    )
    return reply.chat


async def complete(
    stub: pb_grpc.ChatServiceStub, user: str, chat_id: str, content: str, request_id: str = ""
) -> list[pb.CompleteResponse]:
    call = stub.Complete(
        pb.CompleteRequest(
            chat_id=chat_id, content=content, client_request_id=request_id, sampling=SHORT
        ),
        metadata=as_user(user),
        timeout=120,
    )
    return [event async for event in call]


async def test_chat_lifecycle(stub: pb_grpc.ChatServiceStub) -> None:
    user = new_user()
    chat = await new_chat(stub, user, system_prompt="You answer in one short sentence.")
    assert chat.chat_id and not chat.title

    events = await complete(stub, user, chat.chat_id, "What is the capital of France?")
    deltas = [e.delta.text for e in events if e.HasField("delta")]
    assert len(deltas) >= 2 and events[-1].HasField("final")
    final = events[-1].final
    assert final.usage.completion_tokens > 0 and final.usage.prompt_tokens > 0
    assert not final.cached

    got = await stub.GetChat(pb.GetChatRequest(chat_id=chat.chat_id), metadata=as_user(user))
    assert got.chat.title == "What is the capital of France?"
    assert [m.role for m in got.messages] == [pb.ROLE_USER, pb.ROLE_ASSISTANT]
    question, answer = got.messages
    assert question.content == "What is the capital of France?"
    assert question.message_id == final.user_message_id
    assert answer.message_id == final.assistant_message_id
    assert answer.status == pb.MESSAGE_STATUS_COMPLETE
    assert answer.content == "".join(deltas)
    assert answer.usage.completion_tokens == final.usage.completion_tokens

    listed = await stub.ListChats(pb.ListChatsRequest(), metadata=as_user(user))
    assert [c.chat_id for c in listed.chats] == [chat.chat_id]

    await stub.DeleteChat(pb.DeleteChatRequest(chat_id=chat.chat_id), metadata=as_user(user))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetChat(pb.GetChatRequest(chat_id=chat.chat_id), metadata=as_user(user))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    # deleting it again: NOT_FOUND (AIP-135), or success with allow_missing (retrying clients)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.DeleteChat(pb.DeleteChatRequest(chat_id=chat.chat_id), metadata=as_user(user))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    await stub.DeleteChat(
        pb.DeleteChatRequest(chat_id=chat.chat_id, allow_missing=True), metadata=as_user(user)
    )


async def test_users_are_isolated(stub: pb_grpc.ChatServiceStub) -> None:
    alice, mallory = new_user(), new_user()
    chat = await new_chat(stub, alice, title="alice's secrets")
    for call in (
        stub.GetChat(pb.GetChatRequest(chat_id=chat.chat_id), metadata=as_user(mallory)),
        complete(stub, mallory, chat.chat_id, "hello"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
    listed = await stub.ListChats(pb.ListChatsRequest(), metadata=as_user(mallory))
    assert not listed.chats
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.DeleteChat(pb.DeleteChatRequest(chat_id=chat.chat_id), metadata=as_user(mallory))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    still = await stub.GetChat(pb.GetChatRequest(chat_id=chat.chat_id), metadata=as_user(alice))
    assert still.chat.title == "alice's secrets"


async def test_no_identity_is_unauthenticated(stub: pb_grpc.ChatServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ListChats(pb.ListChatsRequest())
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_list_pages_newest_first(stub: pb_grpc.ChatServiceStub) -> None:
    user = new_user()
    created = [(await new_chat(stub, user, title=f"chat {i}")).chat_id for i in range(5)]
    seen, token = [], ""
    for _ in range(5):
        page = await stub.ListChats(
            pb.ListChatsRequest(page_size=2, page_token=token), metadata=as_user(user)
        )
        assert len(page.chats) <= 2
        seen += [c.chat_id for c in page.chats]
        token = page.next_page_token
        if not token:
            break
    assert seen == created[::-1]


async def test_retry_with_same_request_id_adds_no_turn(stub: pb_grpc.ChatServiceStub) -> None:
    user = new_user()
    chat = await new_chat(stub, user)
    first = await complete(stub, user, chat.chat_id, "Say hello.", request_id="req-42")
    again = await complete(stub, user, chat.chat_id, "Say hello.", request_id="req-42")

    def text(events: list[pb.CompleteResponse]) -> str:
        return "".join(e.delta.text for e in events if e.HasField("delta"))

    assert text(again) == text(first)
    assert again[-1].final.assistant_message_id == first[-1].final.assistant_message_id
    got = await stub.GetChat(pb.GetChatRequest(chat_id=chat.chat_id), metadata=as_user(user))
    assert len(got.messages) == 2


async def test_a_retried_create_returns_the_first_calls_chat(
    stub: pb_grpc.ChatServiceStub,
) -> None:
    user, other = new_user(), new_user()

    async def create(who: str, request_id: str, title: str = "Trip") -> pb.Chat:
        request = pb.CreateChatRequest(title=title, client_request_id=request_id)
        return (await stub.CreateChat(request, metadata=as_user(who), timeout=30)).chat

    first = await create(user, "create-1")
    # The retry returns the stored chat, whatever its body says now.
    assert await create(user, "create-1", title="Changed") == first
    assert (await create(user, "create-2")).chat_id != first.chat_id
    assert (await create(other, "create-1")).chat_id != first.chat_id
    assert (await create(user, "")).chat_id != (await create(user, "")).chat_id  # no key
    listed = await stub.ListChats(pb.ListChatsRequest(), metadata=as_user(user))
    assert sum(c.chat_id == first.chat_id for c in listed.chats) == 1 and len(listed.chats) == 4

    await stub.DeleteChat(pb.DeleteChatRequest(chat_id=first.chat_id), metadata=as_user(user))
    again = await create(user, "create-1")  # a retry after a delete: the same chat, empty
    assert again.chat_id == first.chat_id
    got = await stub.GetChat(pb.GetChatRequest(chat_id=again.chat_id), metadata=as_user(user))
    assert not got.messages

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await create(user, "x" * 129)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(err.value) == ["client_request_id"]


async def test_cancel_mid_stream_stores_interrupted_partial_reply(
    stub: pb_grpc.ChatServiceStub,
) -> None:
    user = new_user()
    chat = await new_chat(stub, user)
    call = stub.Complete(
        pb.CompleteRequest(
            chat_id=chat.chat_id,
            content="Write a very long story about a dragon.",
            sampling=pb.SamplingSettings(max_tokens=1000),
        ),
        metadata=as_user(user),
    )
    seen = ""
    async for event in call:
        seen += event.delta.text
        if len(seen) > 20:
            break
    call.cancel()

    deadline = time.monotonic() + 15
    while True:
        got = await stub.GetChat(pb.GetChatRequest(chat_id=chat.chat_id), metadata=as_user(user))
        answer = got.messages[-1]
        if answer.status != pb.MESSAGE_STATUS_PENDING:
            break
        assert time.monotonic() < deadline, "the turn was never marked interrupted"
        await asyncio.sleep(0.1)
    assert answer.status == pb.MESSAGE_STATUS_INTERRUPTED
    assert answer.content.startswith(seen)
    assert got.messages[0].content == "Write a very long story about a dragon."


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.CompleteRequest(chat_id="not-a-uuid", content="hi"), "chat_id"),
        (pb.CompleteRequest(chat_id=str(uuid.uuid4()), content="  "), "content"),
        (pb.CompleteRequest(chat_id=str(uuid.uuid4()), content="x" * 40_000), "content"),
        (pb.CompleteRequest(chat_id=str(uuid.uuid4()), content="hi",
                            sampling=pb.SamplingSettings(temperature=9)), "sampling.temperature"),
    ],
    ids=["malformed-id", "empty", "over-long", "temperature"],
)  # fmt: skip
async def test_bad_completion_input(
    stub: pb_grpc.ChatServiceStub, request_: pb.CompleteRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await asyncio.wait_for(stub.Complete(request_, metadata=as_user(new_user())).read(), 10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(err.value) == [field]


async def test_bad_paging_input(stub: pb_grpc.ChatServiceStub) -> None:
    user = new_user()
    for request_, field in [
        (pb.ListChatsRequest(page_size=500), "page_size"),
        (pb.ListChatsRequest(page_token="garbage!"), "page_token"),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ListChats(request_, metadata=as_user(user))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(err.value) == [field]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetChat(pb.GetChatRequest(chat_id=str(uuid.uuid4())), metadata=as_user(user))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_every_turn_is_counted_once_under_its_outcome(
    stub: pb_grpc.ChatServiceStub, chat_server: RunningService
) -> None:
    """The turn counter's label is the outcome the log line and the span report (one place):
    a completed turn, its replay, and a turn refused before it started."""

    def turns(outcome: str) -> float:
        return metric_value(chat_server.metrics_url, "chat_turns_total", {"outcome": outcome})

    before = {o: turns(o) for o in ("complete", "replayed", "rejected")}
    user = new_user()
    chat = await new_chat(stub, user)
    await complete(stub, user, chat.chat_id, "Say hello.", request_id="once")
    await complete(stub, user, chat.chat_id, "Say hello.", request_id="once")  # a retry
    with pytest.raises(grpc.aio.AioRpcError):
        await complete(stub, user, str(uuid.uuid4()), "Say hello.")  # no such chat
    assert {o: turns(o) - before[o] for o in before} == {
        "complete": 1,
        "replayed": 1,
        "rejected": 1,
    }

"""The semantic answer cache end to end: the real chat service (SQLite, Milvus Lite in a temp
folder) over the real embedding and inference services. Every test uses fresh users, so the
default per-user scope keeps them apart. "Inference was not called" is read from the
inference service's own counter of completed generations."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from chatstack.chat.v1 import chat_pb2 as pb
from chatstack.chat.v1 import chat_pb2_grpc as pb_grpc

from chat_service.cache.semantic_cache import SemanticCache, now_ms
from chat_service.cache.store import DIMENSION, CacheEntry, CacheKey, CacheStore
from chat_service.config import ChatSettings
from chat_service.embedding_client import EmbeddingClient
from local_stack.launch.metrics import metric_value
from server_kit.processes import free_port
from tests.fixtures.services import RunningService, run_service

USER_HEADER = "x-chatstack-user"
SYSTEM = "You answer in one short sentence."
SAMPLING = pb.SamplingSettings(temperature=0, max_tokens=64)


@dataclass
class Answer:
    deltas: list[str]
    final: pb.CompleteFinal

    @property
    def text(self) -> str:
        return "".join(self.deltas)


def as_user(user: str) -> tuple[tuple[str, str], ...]:
    return ((USER_HEADER, user),)


def new_user() -> str:
    return f"cache-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def stub(chat_server_sqlite: RunningService) -> AsyncIterator[pb_grpc.ChatServiceStub]:
    async with grpc.aio.insecure_channel(chat_server_sqlite.address) as channel:
        yield pb_grpc.ChatServiceStub(channel)


async def new_chat(stub: pb_grpc.ChatServiceStub, user: str, system: str = SYSTEM) -> str:
    reply = await stub.CreateChat(
        pb.CreateChatRequest(system_prompt=system), metadata=as_user(user), timeout=30
    )
    return str(reply.chat.chat_id)


async def ask(
    stub: pb_grpc.ChatServiceStub, user: str, chat_id: str, text: str, bypass: bool = False
) -> Answer:
    request = pb.CompleteRequest(
        chat_id=chat_id, content=text, bypass_cache=bypass, sampling=SAMPLING
    )
    events = [e async for e in stub.Complete(request, metadata=as_user(user), timeout=120)]
    assert events[-1].HasField("final"), events[-1]
    return Answer([e.delta.text for e in events if e.HasField("delta")], events[-1].final)


def generations(inference: RunningService) -> float:
    return metric_value(inference.metrics_url, "inference_requests_total", {"outcome": "completed"})


def stored(chat: RunningService) -> float:
    return metric_value(chat.metrics_url, "chat_cache_stores_total", {"outcome": "stored"})


async def ask_and_cache(
    stub: pb_grpc.ChatServiceStub, chat: RunningService, user: str, chat_id: str, text: str
) -> Answer:
    """A generated answer, once its background store has landed in the cache."""
    before = stored(chat)
    answer = await ask(stub, user, chat_id, text)
    assert not answer.final.cached
    assert answer.final.finish_reason == pb.FINISH_REASON_STOP, "raise max_tokens"
    deadline = time.monotonic() + 15
    while stored(chat) <= before:
        assert time.monotonic() < deadline, "the answer was never stored in the cache"
        await asyncio.sleep(0.05)
    return answer


async def test_same_question_twice_is_served_from_the_cache(
    stub: pb_grpc.ChatServiceStub,
    chat_server_sqlite: RunningService,
    inference_server: RunningService,
) -> None:
    user = new_user()
    first = await ask_and_cache(
        stub, chat_server_sqlite, user, await new_chat(stub, user), "What is the capital of Italy?"
    )
    generated = generations(inference_server)

    chat_id = await new_chat(stub, user)
    # Normalization: case, filler words and punctuation do not matter.
    second = await ask(stub, user, chat_id, "Please, what is the capital of italy")
    assert second.final.cached and second.final.cache_similarity > 0.99  # same normalized text
    assert second.text == first.text and len(second.deltas) >= 2
    assert generations(inference_server) == generated  # the model was not called

    got = await stub.GetChat(pb.GetChatRequest(chat_id=chat_id), metadata=as_user(user))
    question, answer = got.messages
    assert question.content == "Please, what is the capital of italy"
    assert answer.cached and answer.status == pb.MESSAGE_STATUS_COMPLETE
    assert answer.content == first.text and answer.model == first.final.model


async def test_another_user_is_not_served_from_the_first_users_cache(
    stub: pb_grpc.ChatServiceStub, chat_server_sqlite: RunningService
) -> None:
    alice, bob = new_user(), new_user()
    question = "What is the capital of Spain?"
    await ask_and_cache(stub, chat_server_sqlite, alice, await new_chat(stub, alice), question)
    answer = await ask(stub, bob, await new_chat(stub, bob), question)
    assert not answer.final.cached


async def test_follow_up_only_hits_after_the_same_conversation(
    stub: pb_grpc.ChatServiceStub, chat_server_sqlite: RunningService
) -> None:
    user = new_user()
    opening, follow_up = "How do you say good morning in Spanish?", "And in French?"
    spanish = await new_chat(stub, user)
    await ask_and_cache(stub, chat_server_sqlite, user, spanish, opening)
    await ask_and_cache(stub, chat_server_sqlite, user, spanish, follow_up)

    other = await new_chat(stub, user)
    await ask_and_cache(stub, chat_server_sqlite, user, other, "What is the capital of Germany?")
    assert not (await ask(stub, user, other, follow_up)).final.cached

    # The same conversation again (its opening answer comes from the cache, so the
    # history is identical): now the follow-up may be replayed.
    again = await new_chat(stub, user)
    assert (await ask(stub, user, again, opening)).final.cached
    assert (await ask(stub, user, again, follow_up)).final.cached


async def test_another_system_prompt_misses(
    stub: pb_grpc.ChatServiceStub, chat_server_sqlite: RunningService
) -> None:
    user = new_user()
    question = "What is the largest planet in the solar system?"
    await ask_and_cache(stub, chat_server_sqlite, user, await new_chat(stub, user), question)
    pirate = await new_chat(stub, user, "You are a pirate. You answer in one short sentence.")
    assert not (await ask(stub, user, pirate, question)).final.cached


async def test_deleting_the_chat_removes_its_entries(
    stub: pb_grpc.ChatServiceStub, chat_server_sqlite: RunningService
) -> None:
    user = new_user()
    question = "What is the boiling point of water at sea level?"
    source = await new_chat(stub, user)
    await ask_and_cache(stub, chat_server_sqlite, user, source, question)
    assert (await ask(stub, user, await new_chat(stub, user), question)).final.cached

    await stub.DeleteChat(pb.DeleteChatRequest(chat_id=source), metadata=as_user(user))
    assert not (await ask(stub, user, await new_chat(stub, user), question)).final.cached


async def test_deleting_the_chat_by_its_upper_case_id_removes_its_entries(
    stub: pb_grpc.ChatServiceStub, chat_server_sqlite: RunningService
) -> None:
    """The same chat id in another case is the same chat: its cache entries go with it."""
    user = new_user()
    question = "What is the freezing point of water in Fahrenheit?"
    source = await new_chat(stub, user)
    await ask_and_cache(stub, chat_server_sqlite, user, source, question)
    assert (await ask(stub, user, await new_chat(stub, user), question)).final.cached

    await stub.DeleteChat(pb.DeleteChatRequest(chat_id=source.upper()), metadata=as_user(user))
    assert not (await ask(stub, user, await new_chat(stub, user), question)).final.cached


async def test_bypass_gets_a_fresh_answer(
    stub: pb_grpc.ChatServiceStub,
    chat_server_sqlite: RunningService,
    inference_server: RunningService,
) -> None:
    user = new_user()
    question = "What is the chemical symbol for gold?"
    await ask_and_cache(stub, chat_server_sqlite, user, await new_chat(stub, user), question)
    generated = generations(inference_server)
    fresh = await ask(stub, user, await new_chat(stub, user), question, bypass=True)
    assert not fresh.final.cached and fresh.final.usage.completion_tokens > 0
    assert generations(inference_server) == generated + 1


async def test_an_interrupted_answer_is_never_cached(
    stub: pb_grpc.ChatServiceStub, chat_server_sqlite: RunningService
) -> None:
    user = new_user()
    question = "Write a very long story about a brave knight and a dragon."

    async def start_and_stop(chat_id: str) -> str:
        call = stub.Complete(
            pb.CompleteRequest(chat_id=chat_id, content=question, sampling=SAMPLING),
            metadata=as_user(user),
        )
        seen = ""
        async for event in call:
            seen += event.delta.text
            if len(seen) > 10:
                break
        call.cancel()
        return seen

    def hits() -> float:
        labels = {"scope": "user", "result": "hit"}
        return metric_value(chat_server_sqlite.metrics_url, "chat_cache_lookups_total", labels)

    first = await new_chat(stub, user)
    await start_and_stop(first)
    deadline = time.monotonic() + 15
    while True:  # the interrupted reply is recorded after the cancel
        got = await stub.GetChat(pb.GetChatRequest(chat_id=first), metadata=as_user(user))
        if got.messages[-1].status == pb.MESSAGE_STATUS_INTERRUPTED:
            break
        assert time.monotonic() < deadline, "the turn was never marked interrupted"
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # a (wrongly) scheduled store would have landed by now

    before = hits()
    await start_and_stop(await new_chat(stub, user))  # the first delta follows the lookup
    assert hits() == before


@pytest.fixture(scope="module")
def chat_server_without_milvus(
    tmp_path_factory: pytest.TempPathFactory,
    inference_server: RunningService,
    embedding_server: RunningService,
) -> Iterator[RunningService]:
    tmp: Path = tmp_path_factory.mktemp("chat-no-milvus")
    yield from run_service(
        tmp,
        "chat-no-milvus",
        "chat_service",
        "--sqlite-path", str(tmp / "chat.db"),
        "--inference-address", inference_server.address,
        "--embedding-address", embedding_server.address,
        "--cache-uri", f"http://127.0.0.1:{free_port()}",  # nothing listens there
    )  # fmt: skip


async def test_cache_down_turns_are_still_answered(
    chat_server_without_milvus: RunningService,
) -> None:
    server = chat_server_without_milvus
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = pb_grpc.ChatServiceStub(channel)
        user = new_user()
        for _ in range(2):
            chat_id = await new_chat(stub, user)
            answer = await ask(stub, user, chat_id, "What is the capital of Portugal?")
            assert not answer.final.cached and answer.text
        await stub.DeleteChat(pb.DeleteChatRequest(chat_id=chat_id), metadata=as_user(user))

    def errors(operation: str) -> float:
        return metric_value(server.metrics_url, "chat_cache_errors_total", {"operation": operation})

    lookups = {"scope": "user", "result": "error"}
    assert metric_value(server.metrics_url, "chat_cache_lookups_total", lookups) == 2
    assert errors("lookup") == 2 and errors("delete") == 1


async def test_expired_and_oldest_entries_are_evicted(tmp_path: Path) -> None:
    """In process, Milvus Lite in a temp folder: the TTL and the size bound."""
    settings = ChatSettings(cache_max_entries=10, cache_ttl_s=3600)  # type: ignore[call-arg]
    vectors = CacheStore(str(tmp_path / "cache.db"))
    cache = SemanticCache(settings, EmbeddingClient(settings), vectors)
    await vectors.connect()
    try:
        now = now_ms()
        key = CacheKey("user:x", "model", "s", "p", "")
        ages_s = [4000, 3700, *range(30, 0, -2)]  # 2 expired, then 15 two seconds apart
        for i, age in enumerate(ages_s):
            vector = [random.gauss(0, 1) for _ in range(DIMENSION)]
            entry = CacheEntry(f"e{i}", vector, key, "user:x", "chat", "q", "a", now - age * 1000)
            await vectors.upsert(entry)
        assert await cache.maintain() == 9  # evicted down to 90% of the bound
        assert await vectors.count(f"created_ms >= {now - 18_000}") == 9  # the 9 newest
    finally:
        await cache.close()
        await cache.embedder.close()

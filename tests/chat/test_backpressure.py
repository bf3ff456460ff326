"""Backpressure in the chat service: right after the model refused a turn (its queue was full),
new turns are refused before anything is stored or assembled."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from chatstack.inference.v1.inference_pb2 import ModelInfo

from chat_service.config import ChatSettings
from chat_service.domain import ChatOptions, MessageStatus, Role, Sampling
from chat_service.service import ChatService
from chat_service.store.sqlite_store import SqliteStore
from chat_service.timed_store import TimedStore
from chat_service.turn.stateless import StatelessRequest
from server_kit.errors import ResourceExhausted


class ReachedTheModel(Exception):
    pass


class BusyModel:
    """Test double of InferenceClient: a model that refused a turn of "busy-user" a moment
    ago. Anything past the busy check (the model's info, token counts) raises ReachedTheModel:
    the turn was not refused up front."""

    def busy_for(self, user_id: str) -> float:
        return 0.2 if user_id == "busy-user" else 0.0

    def __getattr__(self, name: str) -> object:
        raise ReachedTheModel(name)


@pytest.fixture
async def service_and_store(tmp_path: Path) -> AsyncIterator[tuple[ChatService, SqliteStore]]:
    """The chat service on a real SQLite store, over the BusyModel double."""
    settings = ChatSettings.model_validate(
        {"sqlite_path": str(tmp_path / "chat.db"), "cache_enabled": False}
    )
    store = SqliteStore(settings.sqlite_path)
    await store.start()
    try:
        yield ChatService(TimedStore(store, 5), BusyModel(), settings), store  # type: ignore[arg-type]
    finally:
        await store.close()


async def test_a_busy_model_refuses_new_turns_before_anything_is_stored(
    service_and_store: tuple[ChatService, SqliteStore],
) -> None:
    service, store = service_and_store
    chat = await service.create_chat("busy-user", "", "", ChatOptions())
    with pytest.raises(ResourceExhausted) as refused:
        async for _ in service.complete("busy-user", chat.chat_id, "Hi", "r-1", Sampling()):
            pass
    assert refused.value.reason == "INFERENCE_BUSY"
    assert refused.value.retry_after_s == 1.0
    assert await store.recent_messages("busy-user", chat.chat_id, 10) == []
    assert await store.find_turn("busy-user", chat.chat_id, "r-1") is None


async def test_the_busy_window_never_refuses_users_who_were_not_refused(
    service_and_store: tuple[ChatService, SqliteStore],
) -> None:
    """One user's refused turns (a flood) open a busy window for that user only: another
    user's turn goes on to the model."""
    service, _ = service_and_store
    chat = await service.create_chat("patient-user", "", "", ChatOptions())
    with pytest.raises(ReachedTheModel):
        async for _ in service.complete("patient-user", chat.chat_id, "Hi", "r-1", Sampling()):
            pass


class SaturatedModel:
    """Test double of InferenceClient: a model whose queue is always full (generate refuses
    every request); prompts are counted one token per message."""

    def busy_for(self, user_id: str) -> float:
        return 0.0

    async def model(self) -> ModelInfo:
        return ModelInfo(id="saturated", context_length=2048)

    async def count_prompt(self, messages: Sequence[object], chat_id: str = "") -> int:
        return len(messages)

    async def count_texts(self, texts: Sequence[str], chat_id: str = "") -> list[int]:
        return [1 for _ in texts]

    async def count(
        self, texts: Sequence[str], messages: Sequence[object], chat_id: str = ""
    ) -> tuple[list[int], int]:
        return [1 for _ in texts], len(messages)

    async def generate(self, *args: object, **kwargs: object) -> AsyncIterator[object]:
        raise ResourceExhausted("the model's queue is full", reason="QUEUE_FULL")
        yield  # an async generator, as the client's


async def test_a_submitted_turn_fails_when_the_model_stays_busy(tmp_path: Path) -> None:
    """A submitted turn waits for a busy model, but not forever: once the wait is spent
    (async_busy_wait_s; here almost none) its last attempt marks it failed, never leaves it
    pending for its lease to expire."""
    settings = ChatSettings.model_validate(
        {"sqlite_path": str(tmp_path / "chat.db"), "cache_enabled": False,
         "async_busy_wait_s": 0.01}
    )  # fmt: skip
    store = SqliteStore(settings.sqlite_path)
    await store.start()
    try:
        service = ChatService(TimedStore(store, 5), SaturatedModel(), settings)  # type: ignore[arg-type]
        chat = await service.create_chat("someone", "", "", ChatOptions())
        turn = await service.submit("someone", chat.chat_id, "Hi", "s-1", Sampling())
        await service.wait_published()  # no queue: it ran in process
        stored = await store.find_turn("someone", chat.chat_id, "s-1")
        assert stored is not None and stored.assistant.message_id == turn.assistant.message_id
        assert stored.assistant.status is MessageStatus.FAILED
        assert "queue is full" in stored.assistant.error
    finally:
        await store.close()


async def test_a_stateless_turn_refused_by_the_model_fails_before_it_starts(
    tmp_path: Path,
) -> None:
    """The OpenAI API's turn: a busy model is refused before the start event, so a streaming
    client gets a plain 429 (which SDKs retry), not an error inside a 200 stream; the user's
    slot is released."""
    settings = ChatSettings.model_validate(
        {"sqlite_path": str(tmp_path / "chat.db"), "cache_enabled": False, "user_max_streams": 1}
    )
    store = SqliteStore(settings.sqlite_path)
    await store.start()
    try:
        service = ChatService(TimedStore(store, 5), SaturatedModel(), settings)  # type: ignore[arg-type]
        request = StatelessRequest("someone", ((Role.USER, "Hi"),), Sampling())
        for _ in range(3):  # the slot is free again each time
            events = []
            with pytest.raises(ResourceExhausted) as refused:
                async for event in service.stateless.complete(request):
                    events.append(event)
            assert events == []
            assert refused.value.reason == "QUEUE_FULL"  # the model's, not the user's limit
            await service.wait_published()
            await service.lifecycle.final_saves.wait(5)
    finally:
        await store.close()

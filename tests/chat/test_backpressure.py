"""Backpressure in the chat service: right after the model refused a turn (its queue was full),
new turns are refused before anything is stored or assembled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_service.config import ChatSettings
from chat_service.domain import ChatSettings as ChatOptions
from chat_service.domain import Sampling
from chat_service.service import ChatService
from chat_service.store.sqlite_store import SqliteStore
from chat_service.timed_store import TimedStore
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

"""SQLite's search index takes messages in batches (chat_service/store/sqlite_search.py): a
changed message waits in a queue until a search or the store's periodic flush indexes it.
Whatever the order of writes, flushes and searches, a search finds each message by its current
text only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from chat_service.domain import ChatRecord
from chat_service.store import sqlite_search, sqlite_store
from chat_service.store.sqlite_schema import MIGRATIONS
from chat_service.store.sqlite_search import flush_pending
from chat_service.store.sqlite_store import SqliteStore
from tests.store.records import BASE_MS, make_chat, make_message, new_user


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    instance = SqliteStore(str(tmp_path / "history.db"))
    await instance.start()
    try:
        yield instance
    finally:
        await instance.close()


async def found(store: SqliteStore, user: str, word: str) -> list[str]:
    return [m.message_id for m in await store.search(user, [word], 50)]


async def queued(store: SqliteStore) -> int:
    count: int = await store._run(
        lambda c: c.execute("SELECT count(*) FROM message_fts_pending").fetchone()[0]
    )
    return count


async def new_chat(store: SqliteStore) -> tuple[str, ChatRecord]:
    user = new_user()
    chat = make_chat(user)
    await store.create_chat(chat)
    return user, chat


async def flush(store: SqliteStore) -> None:
    await store._run(flush_pending)


async def test_a_message_edited_after_indexing_is_found_by_its_new_text_only(
    store: SqliteStore,
) -> None:
    user, chat = await new_chat(store)
    message = make_message(chat.chat_id, BASE_MS + 1, content="apricot jam")
    await store.save_message(user, message)
    assert await queued(store) == 1
    await flush(store)
    assert await queued(store) == 0
    await store.save_message(user, replace(message, content="quince jelly"))
    assert await found(store, user, "apricot") == []
    assert await found(store, user, "quince") == [message.message_id]
    # Edited three times while queued, the last time to no text (nothing to index).
    await store.save_message(user, replace(message, content="plum tart"))
    await store.save_message(user, replace(message, content="plum pie"))
    await store.save_message(user, replace(message, content=""))
    assert await found(store, user, "plum") == []
    assert await found(store, user, "quince") == []


async def test_a_message_deleted_while_queued_or_indexed_is_never_found(
    store: SqliteStore,
) -> None:
    user, chat = await new_chat(store)
    indexed = make_message(chat.chat_id, BASE_MS + 1, content="walnut bread")
    await store.save_message(user, indexed)
    await flush(store)
    waiting = make_message(chat.chat_id, BASE_MS + 2, content="walnut cake")
    await store.save_message(user, waiting)
    assert await queued(store) == 1
    await store.delete_chat(user, chat.chat_id)
    assert await queued(store) == 0
    assert await found(store, user, "walnut") == []


async def test_the_store_flushes_the_queue_on_its_own(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, chat = await new_chat(store)
    monkeypatch.setattr(sqlite_search, "FLUSH_EVERY_S", 0.0)
    await store.save_message(user, make_message(chat.chat_id, BASE_MS + 1, content="fig"))
    assert await queued(store) == 0  # flushed after the call that queued it
    assert len(await found(store, user, "fig")) == 1


async def test_messages_indexed_before_the_queue_existed_leave_the_index_when_edited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store written at schema 6 (each message indexed by its trigger at once), then
    migrated to 7."""
    path = str(tmp_path / "v6.db")
    user = new_user()
    chat = make_chat(user)
    message = make_message(chat.chat_id, BASE_MS + 1, content="saffron rice")
    with monkeypatch.context() as patch:
        patch.setattr(sqlite_store, "MIGRATIONS", MIGRATIONS[:6])
        old = SqliteStore(path)
        await old.start()
        await old.create_chat(chat)
        await old.save_message(user, message)
        await old.close()
    store = SqliteStore(path)
    await store.start()
    try:
        assert await queued(store) == 0
        assert await found(store, user, "saffron") == [message.message_id]
        await store.save_message(user, replace(message, content="paprika rice"))
        assert await found(store, user, "saffron") == []
        assert await found(store, user, "rice") == [message.message_id]
    finally:
        await store.close()

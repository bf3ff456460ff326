"""Export and import on a real SQLite store (chat_service/transfer/): a round trip to another
user keeps every chat and message, a second import adds nothing, a chat of thousands of
messages exports whole, an export too large is refused in words, and an import that the store
fails mid-way is UNAVAILABLE and converges when retried."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chat_service.domain import (
    ChatOptions,
    ChatRecord,
    HistoryPolicy,
    MessageRecord,
    MessageStatus,
    Role,
    Sampling,
)
from chat_service.ids import new_id, uuid7
from chat_service.store.base import StoreUnavailable
from chat_service.store.sqlite_store import SqliteStore
from chat_service.timed_store import TimedStore
from chat_service.transfer.exporter import Exporter
from chat_service.transfer.importer import Importer
from chat_service.transfer.model import ImportLimits
from server_kit.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable

SAMPLE = Path(__file__).resolve().parents[1] / "gateway" / "data" / "chatgpt_conversations.json"
LIMITS = ImportLimits(max_message_chars=32_000, max_title_chars=200, max_system_prompt_chars=8000)
T0 = datetime(2026, 3, 1, 12, 0, 0, 123_000, tzinfo=UTC)


class FlakyStore(SqliteStore):
    """Fails every save_message once `fail_after` more have succeeded (None: never)."""

    fail_after: int | None = None

    async def save_message(self, user_id: str, message: MessageRecord) -> None:
        if self.fail_after is not None:
            if self.fail_after == 0:
                raise StoreUnavailable("the store went away")
            self.fail_after -= 1
        await super().save_message(user_id, message)


@pytest.fixture
async def inner(tmp_path: Path) -> AsyncIterator[FlakyStore]:
    store = FlakyStore(str(tmp_path / "chat.db"))
    await store.start()
    yield store
    await store.close()


@pytest.fixture
def store(inner: FlakyStore) -> TimedStore:
    return TimedStore(inner, 5.0)


def user() -> str:
    return f"user-{uuid.uuid4().hex}"


def exporter(store: TimedStore, max_bytes: int = 16 * 2**20) -> Exporter:
    return Exporter(store, max_bytes, lambda user_id, message: message)


async def add_chat(
    store: TimedStore, user_id: str, title: str, contents: list[str], at: datetime = T0
) -> ChatRecord:
    """A chat made at `at`, its messages alternating user / assistant a second apart."""
    chat = ChatRecord(
        user_id=user_id,
        chat_id=str(uuid7(int(at.timestamp() * 1000))),
        title=title,
        system_prompt="Be brief.",
        settings=ChatOptions(HistoryPolicy.FULL, "", Sampling(temperature=0.2, max_tokens=99)),
        created_at=at,
        updated_at=at + timedelta(hours=1),
        title_from_user=True,
    )
    await store.create_chat(chat)
    for i, content in enumerate(contents):
        when = at + timedelta(seconds=i + 1)
        assistant = i % 2 == 1
        await store.save_message(
            user_id,
            MessageRecord(
                chat_id=chat.chat_id,
                message_id=str(uuid7(int(when.timestamp() * 1000))),
                role=Role.ASSISTANT if assistant else Role.USER,
                content=content,
                status=MessageStatus.COMPLETE,
                created_at=when,
                updated_at=when + timedelta(milliseconds=500 if assistant else 0),
                model="smol" if assistant else "",
                prompt_tokens=10 * i if assistant else 0,
                completion_tokens=i if assistant else 0,
                finish_reason="stop" if assistant else "",
            ),
        )
    return chat


async def all_messages(store: TimedStore, user_id: str, chat_id: str) -> list[MessageRecord]:
    return list(reversed(await store.recent_messages(user_id, chat_id, 100_000, None)))


def without_ids(document: bytes) -> list[dict[str, Any]]:
    """The chats of an export with their ids (chat, message, parent) left out."""
    chats = json.loads(document)["chats"]
    for chat in chats:
        del chat["chat_id"]
        for message in chat["messages"]:
            del message["message_id"], message["parent_id"]
    return list(chats)


async def test_a_round_trip_to_another_user_keeps_everything(store: TimedStore) -> None:
    alice, bob = user(), user()
    first = await add_chat(store, alice, "Old one", ["Hi", "Hello!"], T0)
    second = await add_chat(store, alice, "New one", ["Q1", "A1", "Q2", "A2"], T0 + timedelta(1))
    await add_chat(store, alice, "", [], T0 - timedelta(1))
    ended = (await all_messages(store, alice, second.chat_id))[-1]
    await store.save_message(
        alice, replace(ended, status=MessageStatus.INTERRUPTED, content="A", error="stopped")
    )
    document = await exporter(store).run(alice, [])
    doc = json.loads(document)
    assert (doc["format"], doc["version"]) == ("chatstack.chats", 1)
    assert [c["title"] for c in doc["chats"]] == ["New one", "Old one", ""]  # newest first
    messages = doc["chats"][0]["messages"]
    assert messages[0]["parent_id"] is None
    assert [m["parent_id"] for m in messages[1:]] == [m["message_id"] for m in messages[:-1]]
    assert (messages[-1]["status"], messages[-1]["error"]) == ("interrupted", "stopped")

    result = await Importer(store, LIMITS).run(bob, document)
    assert (result.format, result.imported, result.skipped) == ("chatstack", 3, 0)
    listed = await store.list_chats(bob, 10, None)
    assert [c.title for c in listed] == ["New one", "Old one", ""]
    assert not listed[2].title_from_user  # untitled: its first turn names it
    assert {c.chat_id for c in listed}.isdisjoint({first.chat_id, second.chat_id})
    assert listed[1].created_at == first.created_at and listed[1].updated_at == first.updated_at
    assert listed[0].settings == second.settings and listed[0].system_prompt == "Be brief."
    assert without_ids(await exporter(store).run(bob, [])) == without_ids(document)


async def test_importing_again_adds_nothing(store: TimedStore) -> None:
    alice, bob = user(), user()
    await add_chat(store, alice, "Once", ["a", "b", "c"])
    document = await exporter(store).run(alice, [])
    importer = Importer(store, LIMITS)
    first = await importer.run(bob, document)
    again = await importer.run(bob, document)
    assert (again.imported, again.skipped) == (0, 1)
    assert [c.chat_id for c in again.chats] == [c.chat_id for c in first.chats]
    assert len(await store.list_chats(bob, 10, None)) == 1
    assert len(await all_messages(store, bob, first.chats[0].chat_id)) == 3


async def test_ones_own_export_imported_back_restores_only_what_was_deleted(
    store: TimedStore,
) -> None:
    alice = user()
    kept = await add_chat(store, alice, "Kept", ["a", "b"])
    gone = await add_chat(store, alice, "Deleted", ["c", "d"], T0 + timedelta(1))
    document = await exporter(store).run(alice, [])
    importer = Importer(store, LIMITS)
    same = await importer.run(alice, document)
    assert (same.imported, same.skipped) == (0, 2)
    await store.delete_chat(alice, gone.chat_id)
    restored = await importer.run(alice, document)
    assert (restored.imported, restored.skipped) == (1, 1)
    titles = [(c.title, c.chat_id == kept.chat_id) for c in await store.list_chats(alice, 9, None)]
    assert titles == [("Deleted", False), ("Kept", True)]


async def test_a_chat_of_thousands_of_messages_exports_whole(
    store: TimedStore, inner: SqliteStore
) -> None:
    alice = user()
    chat = await add_chat(store, alice, "Long", [])
    rows = [
        MessageRecord(
            chat_id=chat.chat_id,
            message_id=new_id(),
            role=Role.USER if i % 2 == 0 else Role.ASSISTANT,
            content=f"message {i}",
            status=MessageStatus.COMPLETE,
            created_at=T0,
            updated_at=T0,
        )
        for i in range(2_345)
    ]
    for row in rows:
        await inner.save_message(alice, row)
    doc = json.loads(await exporter(store).run(alice, [chat.chat_id]))
    contents = [m["content"] for m in doc["chats"][0]["messages"]]
    assert contents == [f"message {i}" for i in range(2_345)]


async def test_named_chats_only_the_callers(store: TimedStore) -> None:
    alice, bob = user(), user()
    one = await add_chat(store, alice, "One", ["a"])
    await add_chat(store, alice, "Two", ["b"], T0 + timedelta(1))
    doc = json.loads(await exporter(store).run(alice, [one.chat_id, one.chat_id.upper()]))
    assert [c["title"] for c in doc["chats"]] == ["One"]
    with pytest.raises(NotFound):
        await exporter(store).run(bob, [one.chat_id])
    with pytest.raises(InvalidArgument) as bad:
        await exporter(store).run(alice, [one.chat_id, "nope"])
    assert bad.value.field == "chat_ids[1]"
    assert json.loads(await exporter(store).run(bob, []))["chats"] == []


async def test_an_export_too_large_for_one_response_is_refused_in_words(
    store: TimedStore,
) -> None:
    alice = user()
    await add_chat(store, alice, "Big", ["x" * 3000] * 4)
    with pytest.raises(FailedPrecondition) as refused:
        await exporter(store, max_bytes=8 * 1024).run(alice, [])
    assert refused.value.reason == "EXPORT_TOO_LARGE"
    assert "export fewer chats" in refused.value.message
    assert json.loads(await exporter(store, max_bytes=64 * 1024).run(alice, []))["chats"]


async def test_an_import_the_store_fails_is_unavailable_and_a_retry_converges(
    store: TimedStore, inner: FlakyStore
) -> None:
    alice, bob = user(), user()
    await add_chat(store, alice, "First", [f"m{i}" for i in range(70)])
    await add_chat(store, alice, "Second", ["x", "y"], T0 + timedelta(1))
    document = await exporter(store).run(alice, [])
    inner.fail_after = 40  # "Second" (2 messages) written, "First" half of it
    with pytest.raises(Unavailable):
        await Importer(store, LIMITS).run(bob, document)
    inner.fail_after = None
    retried = await Importer(store, LIMITS).run(bob, document)
    assert (retried.imported, retried.skipped) == (1, 1)
    assert without_ids(await exporter(store).run(bob, [])) == without_ids(document)


async def test_a_chatgpt_export_takes_its_place_by_creation_time(store: TimedStore) -> None:
    bob = user()
    mine = await add_chat(store, bob, "Made here", ["hello"], datetime(2026, 1, 1, tzinfo=UTC))
    result = await Importer(store, LIMITS).run(bob, SAMPLE.read_bytes())
    assert (result.format, result.imported) == ("chatgpt", 2)
    listed = await store.list_chats(bob, 10, None)
    assert [c.title for c in listed] == ["Made here", "Sorting in Python", "Weekend in Lisbon"]
    sorting = listed[1]
    assert sorting.created_at == datetime(2024, 6, 4, 11, 20, 0, 500_000, tzinfo=UTC)
    assert sorting.title_from_user
    messages = await all_messages(store, bob, sorting.chat_id)
    assert [m.content for m in messages][-2:] == [
        "And by length?",
        "Pass key=len: sorted(words, key=len).",
    ]
    assert all(m.status is MessageStatus.COMPLETE for m in messages)
    assert [m.created_at for m in messages] == sorted(m.created_at for m in messages)
    assert mine.chat_id == listed[0].chat_id
    again = await Importer(store, LIMITS).run(bob, SAMPLE.read_bytes())
    assert (again.imported, again.skipped) == (0, 2)
    assert [c.chat_id for c in again.chats] == [c.chat_id for c in result.chats]


async def test_a_bad_file_writes_nothing(store: TimedStore) -> None:
    bob = user()
    doc = json.loads(SAMPLE.read_text())
    doc[1]["mapping"]["a1-ans2"]["message"]["author"]["role"] = "critic"  # the last chat's
    with pytest.raises(InvalidArgument) as refused:
        await Importer(store, LIMITS).run(bob, json.dumps(doc).encode())
    assert refused.value.field == "[1].mapping.a1-ans2.message.author.role"
    assert await store.list_chats(bob, 10, None) == []

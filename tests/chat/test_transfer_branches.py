"""Export and import of a chat with branches (docs/export-format.md, docs/branches.md): every
message of every branch is exported with its parent and the branch shown; importing the file
for another user rebuilds the same tree, and a second import adds nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_service.domain import ChatOptions, ChatRecord, Placement, Role, Turn
from chat_service.store.sqlite_store import SqliteStore
from chat_service.timed_store import TimedStore
from chat_service.transfer.exporter import Exporter
from chat_service.transfer.importer import Importer
from chat_service.transfer.model import ImportLimits
from tests.store.records import BASE_MS, at, make_id, make_message, make_turn

LIMITS = ImportLimits(max_message_chars=32_000, max_title_chars=200, max_system_prompt_chars=8000)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[TimedStore]:
    inner = SqliteStore(str(tmp_path / "chat.db"))
    await inner.start()
    yield TimedStore(inner, 10)
    await inner.close()


async def test_a_tree_round_trips_with_its_branches(store: TimedStore) -> None:
    alice, bob = f"alice-{uuid.uuid4().hex}", f"bob-{uuid.uuid4().hex}"
    chat = ChatRecord(alice, make_id(BASE_MS), "Tree", "", ChatOptions(), at(BASE_MS), at(BASE_MS))
    await store.create_chat(chat)
    turns = [await store.begin_turn(alice, make_turn(chat.chat_id, BASE_MS + 10 * i, f"r{i}"))
             for i in (1, 2)]  # fmt: skip
    edit = await store.begin_turn(
        alice,
        make_turn(chat.chat_id, BASE_MS + 100, "edit"),
        Placement(parent_id=turns[0].assistant.message_id),
    )
    regen = make_message(chat.chat_id, BASE_MS + 200, Role.ASSISTANT, client_request_id="g")
    await store.begin_turn(alice, Turn(edit.user, regen), Placement(regenerate=True))

    exporter = Exporter(store, 16 * 2**20, lambda _, m: m)
    document = await exporter.run(alice, [chat.chat_id])
    exported = json.loads(document)["chats"][0]
    parents = {m["message_id"]: m["parent_id"] for m in exported["messages"]}
    assert len(parents) == 7
    assert parents[edit.user.message_id] == turns[0].assistant.message_id
    assert parents[regen.message_id] == edit.user.message_id
    assert parents[turns[0].user.message_id] is None
    assert exported["current_message_id"] == regen.message_id

    importer = Importer(store, LIMITS)
    result = await importer.run(bob, document)
    assert result.imported == 1
    copy = result.chats[0]
    shown = await store.recent_messages(bob, copy.chat_id, 10, None)
    expected = [turns[0].user, turns[0].assistant, edit.user, regen]
    assert [m.content for m in shown[::-1]] == [m.content for m in expected]
    assert len(await store.all_messages(bob, copy.chat_id, 100, None)) == 7
    versions = await store.siblings(bob, copy.chat_id, shown)
    assert sorted(len(v) for v in versions.values()) == [2, 2]
    again = await importer.run(bob, document)
    assert again.skipped == 1 and again.imported == 0

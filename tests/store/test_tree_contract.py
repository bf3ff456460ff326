"""The message tree's contract (docs/branches.md), run against SQLite and a real Cassandra node:
edits and regenerated answers branch, paths follow parents, versions are listed at forks,
selecting a version shows its thread, and chats stored before branches read as one line."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_service.domain import Placement, Role, SummaryRecord, Turn
from chat_service.store.base import HistoryStore
from chat_service.store.sqlite_schema import MIGRATIONS, MSG_COLS, message_params
from chat_service.store.sqlite_store import SqliteStore
from tests.store.backends import BACKENDS, open_backend
from tests.store.records import (
    BASE_MS,
    at,
    ids,
    make_chat,
    make_message,
    make_turn,
    new_user,
    save_all,
)


@pytest.fixture(scope="module", params=BACKENDS)
async def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[HistoryStore]:
    async with open_backend(request, tmp_path_factory) as (instance, _):
        yield instance


async def _chat(store: HistoryStore, user: str, turns: int) -> tuple[str, list[Turn]]:
    """A chat of `turns` appended turns (legacy: never branched), 10 ms apart."""
    chat = make_chat(user)
    await store.create_chat(chat)
    made = []
    for i in range(turns):
        turn = make_turn(chat.chat_id, BASE_MS + 10 * (i + 1), f"req-{i}")
        made.append(await store.begin_turn(user, turn))
    return chat.chat_id, made


def _regenerated(turn: Turn, ms: int, request_id: str) -> Turn:
    reply = make_message(
        turn.user.chat_id, ms, Role.ASSISTANT, content="", client_request_id=request_id
    )
    return Turn(user=turn.user, assistant=reply)


async def test_legacy_chat_reads_as_one_line(store: HistoryStore) -> None:
    user = new_user()
    chat_id, turns = await _chat(store, user, 3)
    line = [m for t in turns for m in (t.user, t.assistant)]
    path = await store.recent_messages(user, chat_id, 10)
    assert ids(path) == ids(line[::-1])
    assert [m.parent_id for m in path] == ["", *ids(line)][:-1][::-1]
    chat = await store.get_chat(user, chat_id)
    assert chat is not None and chat.current_message_id == ""
    assert await store.siblings(user, chat_id, path) == {}
    every = await store.all_messages(user, chat_id, 100)
    assert ids(every) == ids(line)


async def test_edit_branches_and_select_switches(store: HistoryStore) -> None:
    user = new_user()
    chat_id, turns = await _chat(store, user, 3)
    # The second question, edited: a sibling under the first answer.
    edited = await store.get_message(user, chat_id, turns[1].user.message_id)
    assert edited is not None and edited.parent_id == turns[0].assistant.message_id
    edit = make_turn(chat_id, BASE_MS + 100, "edit")
    placed = await store.begin_turn(user, edit, Placement(parent_id=edited.parent_id))
    assert placed.user.parent_id == turns[0].assistant.message_id
    assert placed.assistant.parent_id == placed.user.message_id

    chat = await store.get_chat(user, chat_id)
    assert chat is not None and chat.current_message_id == placed.assistant.message_id
    path = await store.recent_messages(user, chat_id, 10)
    expected = [placed.assistant, placed.user, turns[0].assistant, turns[0].user]
    assert ids(path) == ids(expected)
    versions = [turns[1].user.message_id, placed.user.message_id]
    assert await store.siblings(user, chat_id, path) == {placed.user.message_id: versions}

    # Appends go on under the current leaf.
    more = await store.begin_turn(user, make_turn(chat_id, BASE_MS + 200, "more"))
    assert more.user.parent_id == placed.assistant.message_id
    path = await store.recent_messages(user, chat_id, 3)
    assert ids(path) == [
        more.assistant.message_id,
        more.user.message_id,
        placed.assistant.message_id,
    ]

    # Back to the original version: its thread's tip is the original line's end.
    leaf = await store.select_message(user, chat_id, turns[1].user.message_id)
    assert leaf == turns[2].assistant.message_id
    path = await store.recent_messages(user, chat_id, 10)
    original = [m for t in turns for m in (t.user, t.assistant)][::-1]
    assert ids(path) == ids(original)
    assert (await store.siblings(user, chat_id, path))[turns[1].user.message_id] == versions
    # And to the edit again: the tip of its own line.
    assert await store.select_message(user, chat_id, placed.user.message_id) == (
        more.assistant.message_id
    )
    # Paging a path: the ancestors of a message.
    page = await store.recent_messages(user, chat_id, 2, placed.user.message_id)
    assert ids(page) == [turns[0].assistant.message_id, turns[0].user.message_id]
    every = await store.all_messages(user, chat_id, 100)
    assert len(every) == 10 and ids(every) == sorted(ids(every))
    assert {m.message_id: m.parent_id for m in every}[placed.user.message_id] == (
        turns[0].assistant.message_id
    )
    assert (
        await store.select_message(user, chat_id, make_turn(chat_id, 1, "x").user.message_id)
        is None
    )


async def test_regenerate_adds_a_sibling_answer(store: HistoryStore) -> None:
    user = new_user()
    chat_id, turns = await _chat(store, user, 2)
    question = turns[1].user
    again = await store.begin_turn(
        user, _regenerated(turns[1], BASE_MS + 100, "regen"), Placement(regenerate=True)
    )
    assert again.user.message_id == question.message_id
    assert again.assistant.parent_id == question.message_id
    path = await store.recent_messages(user, chat_id, 10)
    assert ids(path) == [again.assistant.message_id, *ids(path)[1:]]
    assert ids(path)[1:] == [
        question.message_id,
        turns[0].assistant.message_id,
        turns[0].user.message_id,
    ]
    versions = [turns[1].assistant.message_id, again.assistant.message_id]
    assert await store.siblings(user, chat_id, path[:1]) == {again.assistant.message_id: versions}
    # Idempotent by the reply's request id: a retry writes nothing.
    retry = await store.begin_turn(
        user, _regenerated(turns[1], BASE_MS + 150, "regen"), Placement(regenerate=True)
    )
    assert retry.assistant.message_id == again.assistant.message_id
    found = await store.find_turn(user, chat_id, "regen")
    assert found is not None and found.user.message_id == question.message_id
    assert len(await store.all_messages(user, chat_id, 100)) == 5


async def test_editing_the_first_question_makes_a_second_root(store: HistoryStore) -> None:
    user = new_user()
    chat_id, turns = await _chat(store, user, 2)
    edit = await store.begin_turn(
        user, make_turn(chat_id, BASE_MS + 100, "root"), Placement(parent_id="")
    )
    assert edit.user.parent_id == ""
    path = await store.recent_messages(user, chat_id, 10)
    assert ids(path) == [edit.assistant.message_id, edit.user.message_id]
    roots = [turns[0].user.message_id, edit.user.message_id]
    assert await store.siblings(user, chat_id, path) == {edit.user.message_id: roots}
    assert await store.select_message(user, chat_id, turns[0].user.message_id) == (
        turns[1].assistant.message_id
    )
    assert len(await store.recent_messages(user, chat_id, 10)) == 4


async def test_a_long_branch_interleaved_with_another(store: HistoryStore) -> None:
    """Two lines growing in turns (ids interleaved): each path holds its own line only."""
    user = new_user()
    chat_id, turns = await _chat(store, user, 1)
    a = await store.begin_turn(user, make_turn(chat_id, BASE_MS + 100, "a0"))
    b = await store.begin_turn(
        user,
        make_turn(chat_id, BASE_MS + 110, "b0"),
        Placement(parent_id=turns[0].assistant.message_id),
    )
    lines = {"a": [a], "b": [b]}
    for i in range(1, 30):
        for name in ("a", "b"):
            leaf = lines[name][-1].assistant.message_id
            turn = make_turn(
                chat_id, BASE_MS + 100 + 40 * i + (0 if name == "a" else 20), f"{name}{i}"
            )
            lines[name].append(await store.begin_turn(user, turn, Placement(parent_id=leaf)))
    for name, line in lines.items():
        await store.select_message(user, chat_id, line[0].user.message_id)
        path = await store.recent_messages(user, chat_id, 100)
        expected = [m for t in [turns[0], *line] for m in (t.user, t.assistant)][::-1]
        assert ids(path) == ids(expected), name
        assert ids(await store.recent_messages(user, chat_id, 7)) == ids(expected[:7])


async def test_summaries_at_finds_checkpoints_on_a_page(store: HistoryStore) -> None:
    user = new_user()
    chat = make_chat(user)
    await store.create_chat(chat)
    messages = [make_message(chat.chat_id, BASE_MS + i) for i in range(1, 6)]
    await save_all(store, user, messages)
    for m in (messages[1], messages[3]):
        await store.save_summary(
            user, SummaryRecord(chat.chat_id, m.message_id, "s", 1, at(BASE_MS))
        )
    found = await store.summaries_at(user, chat.chat_id, ids(messages[:3]))
    assert [s.upto_message_id for s in found] == [messages[1].message_id]
    found = await store.summaries_at(user, chat.chat_id, ids(messages))
    assert [s.upto_message_id for s in found] == [messages[3].message_id, messages[1].message_id]
    assert await store.summaries_at(user, chat.chat_id, []) == []


async def test_add_messages_imports_a_tree(store: HistoryStore) -> None:
    user = new_user()
    chat = make_chat(user)
    await store.create_chat(chat)
    q = make_message(chat.chat_id, BASE_MS + 1)
    a1 = make_message(chat.chat_id, BASE_MS + 2, Role.ASSISTANT, parent_id=q.message_id)
    a2 = make_message(chat.chat_id, BASE_MS + 3, Role.ASSISTANT, parent_id=q.message_id)
    await store.add_messages(user, [q, a1, a2])
    every = await store.all_messages(user, chat.chat_id, 10)
    assert [(m.message_id, m.parent_id) for m in every] == [
        (q.message_id, ""),
        (a1.message_id, q.message_id),
        (a2.message_id, q.message_id),
    ]
    assert await store.select_message(user, chat.chat_id, a2.message_id) == a2.message_id
    path = await store.recent_messages(user, chat.chat_id, 10)
    assert ids(path) == [a2.message_id, q.message_id]
    assert await store.siblings(user, chat.chat_id, path) == {
        a2.message_id: [a1.message_id, a2.message_id]
    }
    assert await store.select_message(user, chat.chat_id, q.message_id) == a1.message_id
    message = await store.get_message(user, chat.chat_id, a2.message_id)
    assert message is not None and message.parent_id == q.message_id


async def test_sqlite_migrates_a_chat_stored_before_branches(tmp_path: Path) -> None:
    """Schema 4 (no tree columns) to the newest: existing messages read as one line, then
    branch."""
    path = str(tmp_path / "v4.db")
    conn = sqlite3.connect(path)
    for statements in MIGRATIONS[:4]:
        for statement in statements:
            conn.execute(statement)
    conn.execute("PRAGMA user_version=4")
    user = new_user()
    chat = make_chat(user)
    conn.execute(
        "INSERT INTO chats VALUES (?, ?, ?, 0, ?, '{}', ?, ?)",
        (user, chat.chat_id, chat.title, chat.system_prompt, BASE_MS, BASE_MS),
    )
    old = [make_message(chat.chat_id, BASE_MS + i) for i in range(1, 5)]
    for m in old:
        conn.execute(
            f"INSERT INTO messages (user_id, {MSG_COLS}) VALUES ({', '.join('?' * 16)})",
            message_params(user, m),
        )
    conn.commit()
    conn.close()
    store = SqliteStore(path)
    await store.start()
    try:
        version = await store._run(lambda c: c.execute("PRAGMA user_version").fetchone()[0])
        assert version == len(MIGRATIONS) == 7
        assert ids(await store.recent_messages(user, chat.chat_id, 10)) == ids(old[::-1])
        regen = make_message(chat.chat_id, BASE_MS + 50, Role.ASSISTANT, client_request_id="r")
        await store.begin_turn(user, Turn(old[2], regen), Placement(regenerate=True))
        path_now = await store.recent_messages(user, chat.chat_id, 10)
        assert ids(path_now) == [regen.message_id, *ids(old[:3][::-1])]
        assert await store.siblings(user, chat.chat_id, path_now[:1]) == {
            regen.message_id: [old[3].message_id, regen.message_id]
        }
        assert await store.select_message(user, chat.chat_id, old[3].message_id) == (
            old[3].message_id
        )
    finally:
        await store.close()

"""The HistoryStore contract, run unchanged against SQLite and a real Cassandra node.

One store per backend per module; tests isolate themselves by using a fresh user id each,
so no truncation is needed between them (every key starts with the user id).
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from chat_service.domain import (
    ChatOptions,
    ChatRecord,
    HistoryPolicy,
    MessageStatus,
    Role,
    Sampling,
    SummaryRecord,
    Turn,
)
from chat_service.ids import uuid7
from chat_service.store.base import HistoryStore, StoreUnavailable
from chat_service.store.cassandra_store import BUCKET_MS
from tests.store.backends import BACKENDS, open_backend
from tests.store.records import (
    BASE_MS,
    DAY_MS,
    at,
    make_chat,
    make_id,
    make_message,
    make_turn,
    new_user,
    save_all,
)

# id(store) -> a factory for another instance on the same storage (see test_reopen).
_REOPEN: dict[int, Callable[[], HistoryStore]] = {}


@pytest.fixture(scope="module", params=BACKENDS)
async def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[HistoryStore]:
    async with open_backend(request, tmp_path_factory) as (instance, factory):
        _REOPEN[id(instance)] = factory
        yield instance


# ---------------------------------------------------------------------------------- chats


async def test_create_and_get_chat(store: HistoryStore) -> None:
    user = new_user()
    chat = make_chat(
        user,
        title="Trip planning",
        title_from_user=True,
        system_prompt="Be brief.",
        settings=ChatOptions(
            history_policy=HistoryPolicy.SUMMARY,
            model="smollm2",
            sampling=Sampling(temperature=0.7, top_p=0.9, max_tokens=256, seed=42),
        ),
        updated_at=at(BASE_MS + 5),
    )
    await store.create_chat(chat)
    assert await store.get_chat(user, chat.chat_id) == chat
    assert await store.get_chat(user, make_id(BASE_MS)) is None
    assert await store.get_chat(new_user(), chat.chat_id) is None


async def test_a_create_request_id_stands_for_the_first_claims_chat(store: HistoryStore) -> None:
    alice, bob = new_user(), new_user()
    first, second = make_id(BASE_MS), make_id(BASE_MS + 1)
    assert await store.claim_chat_request(alice, "create-1", first) == first
    assert await store.claim_chat_request(alice, "create-1", second) == first
    # Another request id, or another user's same id, is another chat.
    assert await store.claim_chat_request(alice, "create-2", second) == second
    assert await store.claim_chat_request(bob, "create-1", second) == second
    # Of concurrent claims one wins, and all of them get its id.
    ids = [make_id(BASE_MS + 10 + i) for i in range(8)]
    claimed = await asyncio.gather(*(store.claim_chat_request(alice, "race", i) for i in ids))
    assert len(set(claimed)) == 1 and claimed[0] in ids


async def test_default_settings_round_trip(store: HistoryStore) -> None:
    user = new_user()
    chat = make_chat(user)
    await store.create_chat(chat)
    stored = await store.get_chat(user, chat.chat_id)
    assert stored is not None
    assert stored.settings == ChatOptions()
    assert stored.title_from_user is False


async def test_other_users_chat_is_invisible(store: HistoryStore) -> None:
    alice, bob = new_user(), new_user()
    chat = make_chat(alice)
    await store.create_chat(chat)
    turn = await store.begin_turn(alice, make_turn(chat.chat_id, BASE_MS + 10, "req-1"))
    summary = SummaryRecord(chat.chat_id, turn.assistant.message_id, "gist", 3, at(BASE_MS + 20))
    await store.save_summary(alice, summary)

    assert await store.get_chat(bob, chat.chat_id) is None
    assert await store.list_chats(bob, 10) == []
    assert await store.find_turn(bob, chat.chat_id, "req-1") is None
    assert await store.recent_messages(bob, chat.chat_id, 10) == []
    assert await store.latest_summary(bob, chat.chat_id) is None
    await store.update_chat(replace(chat, user_id=bob, title="hijacked"))
    await store.delete_chat(bob, chat.chat_id)

    assert await store.get_chat(alice, chat.chat_id) == chat
    assert await store.list_chats(alice, 10) == [chat]
    assert await store.find_turn(alice, chat.chat_id, "req-1") == turn
    assert await store.recent_messages(alice, chat.chat_id, 10) == [turn.assistant, turn.user]
    assert await store.latest_summary(alice, chat.chat_id) == summary


async def test_list_chats_newest_first_with_keyset_pagination(store: HistoryStore) -> None:
    user = new_user()
    chats = [make_chat(user, BASE_MS + i * 997, title=f"chat {i}") for i in range(25)]
    for chat in random.Random(7).sample(chats, len(chats)):  # insertion order must not matter
        await store.create_chat(chat)
    newest_first = sorted(chats, key=lambda c: c.chat_id, reverse=True)
    assert newest_first == chats[::-1]

    pages: list[list[ChatRecord]] = []
    before: str | None = None
    while True:
        page = await store.list_chats(user, 10, before_chat_id=before)
        if not page:
            break
        pages.append(page)
        before = page[-1].chat_id
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [c for p in pages for c in p] == newest_first
    assert await store.list_chats(user, 0) == []
    assert (
        await store.list_chats(user, 3, before_chat_id=newest_first[1].chat_id)
        == (newest_first[2:5])
    )


async def test_ids_order_like_their_text(store: HistoryStore) -> None:
    """UUIDv7 order = text order in SQLite and in Cassandra's UUIDType (which compares
    non-v1 UUIDs as unsigned bytes): across byte boundaries of the timestamp, and within
    one millisecond by the random bits, including bytes >= 0x80 (no signed comparison)."""
    user = new_user()
    moments = [1, 0xFF, 0x100, 0xFF_FFFF_FFFF, 0x100_0000_0000, BASE_MS, 0x7FFF_FFFF_FFFF]
    chat_ids = [str(uuid7(unix_ms=ms)) for ms in moments]
    for rand_a in (0x000, 0x07F, 0x080, 0x0FF, 0x800, 0xFFF):  # same ms, 12 random bits
        rand = bytes([rand_a >> 8, rand_a & 0xFF]) + os.urandom(8)
        chat_ids.append(str(uuid7(unix_ms=BASE_MS + 1, rand=rand)))
    head = uuid7(unix_ms=BASE_MS + 2).bytes[:8]  # same ms and rand_a: the tail decides
    for b8, b9, b15 in [
        (0x80, 0x00, 0x01),
        (0x80, 0x7F, 0x80),
        (0x80, 0x80, 0x01),
        (0xBF, 0xFF, 0x80),
    ]:
        chat_ids.append(str(uuid.UUID(bytes=head + bytes([b8, b9, 0, 0, 0, 0, 0, b15]))))
    for chat_id in chat_ids:
        await store.create_chat(make_chat(user, chat_id=chat_id))
    listed = [c.chat_id for c in await store.list_chats(user, 100)]
    assert listed == sorted(chat_ids, reverse=True)


async def test_update_chat(store: HistoryStore) -> None:
    user = new_user()
    chat = make_chat(user)
    await store.create_chat(chat)
    changed = replace(
        chat,
        title="Renamed ✨",
        title_from_user=True,
        settings=ChatOptions(history_policy=HistoryPolicy.WINDOW, model="other"),
        updated_at=at(BASE_MS + 60_000),
        # not part of an update: these keep their stored values
        system_prompt="ignored",
        created_at=at(BASE_MS + 1),
    )
    await store.update_chat(changed)
    assert await store.get_chat(user, chat.chat_id) == replace(
        changed, system_prompt=chat.system_prompt, created_at=chat.created_at
    )


async def test_naming_a_chat_writes_its_title_only_and_never_over_the_users(
    store: HistoryStore,
) -> None:
    user = new_user()
    chat = make_chat(user, title="")
    await store.create_chat(chat)
    # a settings change made after the turn read the chat: naming it must not revert it
    tuned = replace(chat, settings=ChatOptions(history_policy=HistoryPolicy.FULL))
    await store.update_chat(tuned)
    await store.name_chat(user, chat.chat_id, "First question", at(BASE_MS + 5_000))
    assert await store.get_chat(user, chat.chat_id) == replace(
        tuned, title="First question", updated_at=at(BASE_MS + 5_000)
    )
    renamed = replace(tuned, title="Mine", title_from_user=True)
    await store.update_chat(renamed)
    await store.name_chat(user, chat.chat_id, "Second question", at(BASE_MS + 9_000))
    assert await store.get_chat(user, chat.chat_id) == renamed
    ghost = make_chat(user, BASE_MS + 1).chat_id
    await store.name_chat(user, ghost, "ghost", at(BASE_MS))  # no such chat: no row made
    assert [c.chat_id for c in await store.list_chats(user, 10)] == [chat.chat_id]


async def test_update_of_a_missing_chat_creates_nothing(store: HistoryStore) -> None:
    user = new_user()
    ghost = make_chat(user)
    await store.update_chat(ghost)
    assert await store.get_chat(user, ghost.chat_id) is None
    assert await store.list_chats(user, 10) == []


async def test_invalid_ids_are_rejected(store: HistoryStore) -> None:
    with pytest.raises(ValueError):
        await store.get_chat(new_user(), "not-a-uuid")
    with pytest.raises(ValueError):
        await store.recent_messages(new_user(), make_id(BASE_MS), 5, before_message_id="x")


# ---------------------------------------------------------------------------------- turns


async def test_begin_turn_then_find_turn(store: HistoryStore) -> None:
    user = new_user()
    chat = make_chat(user)
    await store.create_chat(chat)
    turn = make_turn(chat.chat_id, BASE_MS + 100, "req-a")

    assert await store.find_turn(user, chat.chat_id, "req-a") is None
    stored = await store.begin_turn(user, turn)
    assert stored == turn
    assert await store.find_turn(user, chat.chat_id, "req-a") == turn
    assert await store.find_turn(user, chat.chat_id, "req-other") is None
    assert await store.recent_messages(user, chat.chat_id, 10) == [turn.assistant, turn.user]


async def test_begin_turn_is_idempotent_by_request_id(store: HistoryStore) -> None:
    user = new_user()
    chat = make_chat(user)
    await store.create_chat(chat)
    first = await store.begin_turn(user, make_turn(chat.chat_id, BASE_MS + 100, "req-a"))
    # A retry builds a new turn (new ids, later times); the store returns the first one.
    retry = make_turn(chat.chat_id, BASE_MS + 5_000, "req-a")
    assert await store.begin_turn(user, retry) == first
    assert await store.recent_messages(user, chat.chat_id, 10) == [first.assistant, first.user]

    # Once the reply completed, a retry gets the stored (complete) reply.
    done = replace(first.assistant, content="hi", status=MessageStatus.COMPLETE)
    await store.save_message(user, done)
    again = await store.begin_turn(user, make_turn(chat.chat_id, BASE_MS + 9_000, "req-a"))
    assert again == Turn(user=first.user, assistant=done)


async def test_concurrent_identical_attempts_make_one_turn(store: HistoryStore) -> None:
    """Attempts that reuse the same message ids converge, even when they race."""
    user = new_user()
    chat = make_chat(user)
    await store.create_chat(chat)
    turn = make_turn(chat.chat_id, BASE_MS + 100, "req-race")
    results = await asyncio.gather(*(store.begin_turn(user, turn) for _ in range(5)))
    assert all(r == turn for r in results)
    assert await store.recent_messages(user, chat.chat_id, 10) == [turn.assistant, turn.user]


async def test_same_request_id_in_another_chat_is_another_turn(store: HistoryStore) -> None:
    user = new_user()
    one, two = make_chat(user, BASE_MS), make_chat(user, BASE_MS + 1)
    await store.create_chat(one)
    await store.create_chat(two)
    t1 = await store.begin_turn(user, make_turn(one.chat_id, BASE_MS + 100, "req"))
    t2 = await store.begin_turn(user, make_turn(two.chat_id, BASE_MS + 200, "req"))
    assert t1 != t2
    assert await store.find_turn(user, one.chat_id, "req") == t1
    assert await store.find_turn(user, two.chat_id, "req") == t2


async def test_empty_request_id_is_never_deduplicated(store: HistoryStore) -> None:
    user = new_user()
    chat = make_chat(user)
    await store.create_chat(chat)
    t1 = await store.begin_turn(user, make_turn(chat.chat_id, BASE_MS + 100, ""))
    t2 = await store.begin_turn(user, make_turn(chat.chat_id, BASE_MS + 200, ""))
    assert await store.recent_messages(user, chat.chat_id, 10) == [
        t2.assistant,
        t2.user,
        t1.assistant,
        t1.user,
    ]
    assert await store.find_turn(user, chat.chat_id, "") is None


async def test_begin_turn_rejects_messages_of_two_chats(store: HistoryStore) -> None:
    turn = make_turn(make_id(BASE_MS), BASE_MS + 100, "req")
    turn.assistant.chat_id = make_id(BASE_MS + 1)
    with pytest.raises(ValueError):
        await store.begin_turn(new_user(), turn)


async def test_save_message_updates_the_reply(store: HistoryStore) -> None:
    user = new_user()
    chat = make_chat(user)
    await store.create_chat(chat)
    turn = await store.begin_turn(user, make_turn(chat.chat_id, BASE_MS + 100, "req"))
    assert turn.assistant.status is MessageStatus.PENDING

    complete = replace(
        turn.assistant,
        content="The answer is 42.",
        status=MessageStatus.COMPLETE,
        updated_at=at(BASE_MS + 2_500),
        prompt_tokens=120,
        completion_tokens=7,
        cached=True,
        cache_similarity=0.9731,
        finish_reason="length",
    )
    await store.save_message(user, complete)
    assert await store.find_turn(user, chat.chat_id, "req") == Turn(turn.user, complete)

    failed = replace(complete, status=MessageStatus.FAILED, error="engine crashed", cached=False)
    await store.save_message(user, failed)
    assert await store.recent_messages(user, chat.chat_id, 10) == [failed, turn.user]


# ---------------------------------------------------------------------------------- messages


async def test_recent_messages_newest_first_with_paging(store: HistoryStore) -> None:
    user = new_user()
    chat = make_chat(user)
    await store.create_chat(chat)
    messages = [make_message(chat.chat_id, BASE_MS + i * 1000) for i in range(30)]
    await save_all(store, user, random.Random(3).sample(messages, len(messages)))
    newest_first = messages[::-1]

    assert await store.recent_messages(user, chat.chat_id, 10) == newest_first[:10]
    page2 = await store.recent_messages(user, chat.chat_id, 10, newest_first[9].message_id)
    assert page2 == newest_first[10:20]
    assert await store.recent_messages(user, chat.chat_id, 100) == newest_first
    assert await store.recent_messages(user, chat.chat_id, 5, messages[0].message_id) == []
    assert await store.recent_messages(user, chat.chat_id, 0) == []
    assert await store.recent_messages(user, make_id(BASE_MS + 1), 10) == []


async def test_recent_messages_across_month_buckets(store: HistoryStore) -> None:
    """Messages months apart live in different Cassandra partitions; reads walk them."""
    user = new_user()
    chat = make_chat(user)
    await store.create_chat(chat)
    offsets_days = [0, 1, 2, 45, 46, 200, 201, 202, 203, 400]  # gaps of empty months
    messages = [make_message(chat.chat_id, BASE_MS + d * DAY_MS) for d in offsets_days]
    await save_all(store, user, messages)
    assert len({(BASE_MS + d * DAY_MS) // BUCKET_MS for d in offsets_days}) >= 4
    newest_first = messages[::-1]

    assert await store.recent_messages(user, chat.chat_id, 3) == newest_first[:3]
    assert await store.recent_messages(user, chat.chat_id, 6) == newest_first[:6]
    assert await store.recent_messages(user, chat.chat_id, 50) == newest_first
    for i in range(len(messages)):
        before = newest_first[i].message_id
        assert (
            await store.recent_messages(user, chat.chat_id, 4, before)
            == (newest_first[i + 1 : i + 5])
        )
    # A cursor in an empty month, and one past the newest message.
    empty_month = make_id(BASE_MS + 100 * DAY_MS)
    assert await store.recent_messages(user, chat.chat_id, 2, empty_month) == newest_first[5:7]
    future = make_id(BASE_MS + 900 * DAY_MS)
    assert await store.recent_messages(user, chat.chat_id, 2, future) == newest_first[:2]


async def test_newest_10_of_500_messages(store: HistoryStore) -> None:
    user = new_user()
    chat = make_chat(user)
    await store.create_chat(chat)
    # 500 messages over ~100 days: several buckets in Cassandra.
    messages = [
        make_message(
            chat.chat_id, BASE_MS + i * 17_280_000 + i, Role.USER if i % 2 else Role.ASSISTANT
        )
        for i in range(500)
    ]
    await save_all(store, user, messages)
    assert await store.recent_messages(user, chat.chat_id, 10) == messages[::-1][:10]
    assert len(await store.recent_messages(user, chat.chat_id, 1000)) == 500


# ---------------------------------------------------------------------------------- summaries


async def test_latest_summary_wins(store: HistoryStore) -> None:
    user = new_user()
    chat = make_chat(user)
    await store.create_chat(chat)
    assert await store.latest_summary(user, chat.chat_id) is None
    m5, m7, m10 = (make_id(BASE_MS + n * 1000) for n in (5, 7, 10))

    first = SummaryRecord(chat.chat_id, m5, "up to 5", 12, at(BASE_MS + 6000))
    await store.save_summary(user, first)
    assert await store.latest_summary(user, chat.chat_id) == first
    newer = SummaryRecord(chat.chat_id, m10, "up to 10", 20, at(BASE_MS + 11000))
    await store.save_summary(user, newer)
    assert await store.latest_summary(user, chat.chat_id) == newer
    # A summary of an older prefix saved late (a slow summariser) does not win...
    await store.save_summary(user, SummaryRecord(chat.chat_id, m7, "up to 7", 15, at(BASE_MS)))
    assert await store.latest_summary(user, chat.chat_id) == newer
    # ...and re-summarising the same prefix replaces it.
    redone = replace(newer, content="up to 10, better", token_count=18)
    await store.save_summary(user, redone)
    assert await store.latest_summary(user, chat.chat_id) == redone


# ---------------------------------------------------------------------------------- delete


async def test_delete_chat_removes_everything_and_is_idempotent(store: HistoryStore) -> None:
    user = new_user()
    chat, other = make_chat(user, BASE_MS), make_chat(user, BASE_MS + 1)
    for c in (chat, other):
        await store.create_chat(c)
    turn = await store.begin_turn(user, make_turn(chat.chat_id, BASE_MS + 100, "req"))
    old = [make_message(chat.chat_id, BASE_MS + d * DAY_MS) for d in (40, 80, 120)]
    await save_all(store, user, old)
    await store.save_summary(
        user, SummaryRecord(chat.chat_id, turn.assistant.message_id, "s", 1, at(BASE_MS))
    )
    kept = await store.begin_turn(user, make_turn(other.chat_id, BASE_MS + 100, "req"))

    await store.delete_chat(user, chat.chat_id)
    assert await store.get_chat(user, chat.chat_id) is None
    assert await store.list_chats(user, 10) == [other]
    assert await store.recent_messages(user, chat.chat_id, 10) == []
    assert await store.find_turn(user, chat.chat_id, "req") is None
    assert await store.latest_summary(user, chat.chat_id) is None
    # A turn that ends just after the delete (stopped, then deleted at once) stays deleted.
    ended = replace(turn.assistant, content="partial", status=MessageStatus.INTERRUPTED)
    await store.save_message(user, ended)
    assert await store.recent_messages(user, chat.chat_id, 10) == []
    await store.delete_chat(user, chat.chat_id)  # idempotent
    await store.delete_chat(user, make_id(BASE_MS + 2))  # never existed

    # The chat id and request id are free again: nothing of the old chat resurfaces.
    await store.create_chat(chat)
    assert await store.recent_messages(user, chat.chat_id, 10) == []
    fresh = make_turn(chat.chat_id, BASE_MS + 200, "req")
    assert await store.begin_turn(user, fresh) == fresh
    # The other chat is untouched.
    assert await store.find_turn(user, other.chat_id, "req") == kept


# ---------------------------------------------------------------------------------- values


async def test_timestamps_are_utc_with_ms_precision(store: HistoryStore) -> None:
    user = new_user()
    plus2 = timezone(timedelta(hours=2))
    created = datetime(2025, 3, 4, 7, 8, 9, 123_456, tzinfo=plus2)  # 05:08:09.123 UTC
    expected = datetime(2025, 3, 4, 5, 8, 9, 123_000, tzinfo=UTC)
    chat = make_chat(user, created_at=created, updated_at=created)
    await store.create_chat(chat)
    stored = await store.get_chat(user, chat.chat_id)
    assert stored is not None
    assert stored.created_at == expected and stored.updated_at == expected
    assert stored.created_at.utcoffset() == timedelta(0)
    assert stored.created_at.microsecond == 123_000

    message = make_message(chat.chat_id, BASE_MS + 999, created_at=created, updated_at=created)
    await store.save_message(user, message)
    (read,) = await store.recent_messages(user, chat.chat_id, 1)
    assert read.created_at == expected and read.created_at.tzinfo is not None
    assert read.updated_at.microsecond == 123_000

    await store.save_summary(user, SummaryRecord(chat.chat_id, message.message_id, "s", 1, created))
    summary = await store.latest_summary(user, chat.chat_id)
    assert summary is not None and summary.created_at == expected


async def test_unicode_and_large_content_round_trip(store: HistoryStore) -> None:
    user = new_user()
    text = "héllo wörld — 你好世界 — مرحبا — 🚀👩🏽‍💻 — e\u0301 — tab\tnl\nquote'\"\\"
    chat = make_chat(user, title=f"🚀 {text}", system_prompt=text)
    await store.create_chat(chat)
    assert await store.get_chat(user, chat.chat_id) == chat
    big = text * 2000  # ~150 kB
    message = make_message(chat.chat_id, BASE_MS + 1, content=big)
    await store.save_message(user, message)
    assert await store.recent_messages(user, chat.chat_id, 1) == [message]
    summary = SummaryRecord(chat.chat_id, message.message_id, text, 9, at(BASE_MS))
    await store.save_summary(user, summary)
    assert await store.latest_summary(user, chat.chat_id) == summary


# ---------------------------------------------------------------------------------- lifecycle


async def test_reopen_keeps_data_and_start_is_repeatable(store: HistoryStore) -> None:
    user = new_user()
    chat = make_chat(user)
    await store.create_chat(chat)
    second = _REOPEN[id(store)]()
    await second.start()  # the schema exists: start() migrates nothing and succeeds
    try:
        assert await second.get_chat(user, chat.chat_id) == chat
    finally:
        await second.close()
    with pytest.raises(StoreUnavailable):
        await second.get_chat(user, chat.chat_id)

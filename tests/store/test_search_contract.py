"""The SearchIndex part of the store contract (searching a user's titles and messages), run
unchanged against SQLite and a real Cassandra node; and the Cassandra index's analyzer
(search_terms.py) on its own.

Messages are written as the service writes them: begin_turn (the user's message complete, the
reply pending), then save_message (the reply as it ends); titles by create_chat, update_chat
and name_chat.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from chat_service.domain import ChatRecord, MessageRecord, MessageStatus, Role, Turn
from chat_service.store._codec import to_ms
from chat_service.store.base import HistoryStore, StoreUnavailable
from chat_service.store.cassandra_store import CassandraStore
from chat_service.store.search_index import SearchMatch
from chat_service.store.search_terms import matches, query_terms, terms_of, tokens
from tests.store.backends import BACKENDS, open_backend
from tests.store.records import (
    BASE_MS,
    at,
    make_chat,
    make_message,
    make_turn,
    new_user,
    save_all,
)

MINUTE_MS = 60_000


@pytest.fixture(scope="module", params=BACKENDS)
async def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[HistoryStore]:
    async with open_backend(request, tmp_path_factory) as (instance, _):
        yield instance


@pytest.fixture(scope="module", params=[b for b in BACKENDS if b != "sqlite"])
async def cassandra(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[CassandraStore]:
    """For what only Cassandra's index has (its reads, its tables, its write order)."""
    async with open_backend(request, tmp_path_factory) as (instance, _):
        assert isinstance(instance, CassandraStore)
        yield instance


async def find(
    store: HistoryStore,
    user_id: str,
    query: str,
    limit: int = 50,
    before: tuple[int, str] | None = None,
) -> list[SearchMatch]:
    return await store.search(user_id, query.split(), limit, before)


def keys(found: list[SearchMatch]) -> list[tuple[str, str]]:
    return [(m.chat_id, m.message_id) for m in found]


async def new_chat(store: HistoryStore, user_id: str, ms: int, title: str = "") -> ChatRecord:
    chat = make_chat(user_id, ms, title=title)
    await store.create_chat(chat)
    return chat


async def start_turn(store: HistoryStore, user_id: str, chat: ChatRecord, ms: int, q: str) -> Turn:
    """What the service stores when a turn starts: the question, and a pending reply."""
    turn = make_turn(chat.chat_id, ms, request_id=f"request-{ms}")
    return await store.begin_turn(user_id, replace(turn, user=replace(turn.user, content=q)))


async def end_turn(
    store: HistoryStore,
    user_id: str,
    turn: Turn,
    answer: str,
    status: MessageStatus = MessageStatus.COMPLETE,
) -> MessageRecord:
    reply = replace(turn.assistant, content=answer, status=status, finish_reason="stop")
    await store.save_message(user_id, reply)
    return reply


async def full_turn(
    store: HistoryStore, user_id: str, chat: ChatRecord, ms: int, question: str, answer: str
) -> Turn:
    turn = await start_turn(store, user_id, chat, ms, question)
    reply = await end_turn(store, user_id, turn, answer)
    return Turn(user=turn.user, assistant=reply)


# ------------------------------------------------------------------------------ matching


async def test_finds_user_messages_assistant_messages_and_titles(store: HistoryStore) -> None:
    user = new_user()
    chat = await new_chat(store, user, BASE_MS, title="Lighthouse stories")
    turn = await full_turn(
        store, user, chat, BASE_MS + MINUTE_MS, "Who keeps the lighthouse?", "A keeper, Ada."
    )
    found = await find(store, user, "lighthouse")
    question = turn.user
    assert found == [
        SearchMatch(chat.chat_id, question.message_id, question.content, question.created_at),
        SearchMatch(chat.chat_id, "", "Lighthouse stories", chat.updated_at),
    ]
    assert found[0].at == at(BASE_MS + MINUTE_MS)
    assert keys(await find(store, user, "keeper")) == [(chat.chat_id, turn.assistant.message_id)]
    assert [m.text for m in await find(store, user, "ada")] == ["A keeper, Ada."]
    assert await find(store, user, "stories") == [found[1]]


async def test_a_reply_is_found_once_complete(store: HistoryStore) -> None:
    user = new_user()
    chat = await new_chat(store, user, BASE_MS)
    turn = await start_turn(store, user, chat, BASE_MS + 1_000, "Tell me about zebras")
    # While it runs, the lease re-saves the pending reply with the text so far.
    await end_turn(store, user, turn, "Zebra stripes are", MessageStatus.PENDING)
    assert keys(await find(store, user, "stripes")) == []
    assert keys(await find(store, user, "zebras")) == [(chat.chat_id, turn.user.message_id)]
    await end_turn(store, user, turn, "Zebra stripes are unique.")
    assert keys(await find(store, user, "stripes")) == [(chat.chat_id, turn.assistant.message_id)]
    # Interrupted and failed replies are not searched.
    for i, status in enumerate((MessageStatus.INTERRUPTED, MessageStatus.FAILED)):
        other = await start_turn(store, user, chat, BASE_MS + 2_000 + i, "and okapis?")
        await end_turn(store, user, other, f"Okapi {status.value}", status)
    assert await find(store, user, "okapi") == []


async def test_case_and_accents_are_folded(store: HistoryStore) -> None:
    user = new_user()
    chat = await new_chat(store, user, BASE_MS, title="Ångström units")
    turn = await full_turn(
        store, user, chat, BASE_MS + 1_000, "Un Café crème, s'il vous plaît", "Voilà: CAFÉ!"
    )
    question, answer = (
        (chat.chat_id, turn.user.message_id),
        (chat.chat_id, turn.assistant.message_id),
    )
    assert keys(await find(store, user, "cafe")) == [answer, question]
    assert keys(await find(store, user, "CAFÉ")) == [answer, question]
    assert keys(await find(store, user, "Creme PLAIT")) == [question]
    assert keys(await find(store, user, "voila")) == [answer]
    assert keys(await find(store, user, "angstrom")) == [(chat.chat_id, "")]


async def test_every_word_is_required_and_words_are_whole(store: HistoryStore) -> None:
    user = new_user()
    chat = await new_chat(store, user, BASE_MS)
    texts = ["red apple pie", "green apple", "red car", "send me an e-mail", "mail it"]
    msgs = [make_message(chat.chat_id, BASE_MS + i, content=t) for i, t in enumerate(texts)]
    for message in msgs:
        await store.save_message(user, message)
    by_text = {m.content: (chat.chat_id, m.message_id) for m in msgs}

    def expect(*found: str) -> list[tuple[str, str]]:
        return [by_text[t] for t in found]

    assert keys(await find(store, user, "red apple")) == expect("red apple pie")
    assert keys(await find(store, user, "apple red")) == expect("red apple pie")
    assert keys(await find(store, user, "apple")) == expect("green apple", "red apple pie")
    assert keys(await find(store, user, "red apple car")) == []
    assert keys(await find(store, user, "app")) == []  # no prefixes
    assert keys(await find(store, user, "apples")) == []
    assert keys(await find(store, user, "e-mail")) == expect("send me an e-mail")
    assert keys(await find(store, user, "mail")) == expect("mail it", "send me an e-mail")
    assert keys(await find(store, user, "unicorn apple")) == []


async def test_newest_first_and_pages_that_do_not_overlap(store: HistoryStore) -> None:
    user = new_user()
    chats = [await new_chat(store, user, BASE_MS + i, title=f"Otter {i}") for i in range(2)]
    # A title's time is the chat's updated_at: this one's sits between the messages.
    renamed = replace(chats[1], title="Otter facts", updated_at=at(BASE_MS + 3_500))
    await store.update_chat(renamed)
    messages = [
        make_message(chats[i % 2].chat_id, BASE_MS + 1_000 * i, content=f"otter number {i}")
        for i in range(1, 8)
    ]
    # Two at the same millisecond: the id decides.
    messages.append(make_message(chats[0].chat_id, BASE_MS + 5_000, content="otter twin"))
    for message in messages:
        await store.save_message(user, message)

    everything = [(to_ms(m.created_at), m.message_id) for m in messages]
    everything += [(BASE_MS + 0, chats[0].chat_id), (BASE_MS + 3_500, chats[1].chat_id)]
    expected = sorted(everything, reverse=True)

    found = await find(store, user, "otter")
    assert [(to_ms(m.at), m.message_id or m.chat_id) for m in found] == expected
    assert found[-1] == SearchMatch(chats[0].chat_id, "", "Otter 0", at(BASE_MS))

    pages: list[list[SearchMatch]] = []
    before: tuple[int, str] | None = None
    while True:
        page = await find(store, user, "otter", limit=3, before=before)
        if not page:
            break
        assert len(page) <= 3
        pages.append(page)
        last = page[-1]
        before = (to_ms(last.at), last.message_id or last.chat_id)
    assert [len(p) for p in pages] == [3, 3, 3, 1]
    assert [m for p in pages for m in p] == found
    # `before` is exclusive, and works from any point (here: the older twin).
    assert await find(store, user, "otter", before=expected[3]) == found[4:]


async def test_never_another_users(store: HistoryStore) -> None:
    alice, bob = new_user(), new_user()
    alice_chat = await new_chat(store, alice, BASE_MS, title="Secret plans")
    bob_chat = await new_chat(store, bob, BASE_MS, title="Secret plans")
    alice_turn = await full_turn(store, alice, alice_chat, BASE_MS + 1, "secret recipe", "ok")
    await full_turn(store, bob, bob_chat, BASE_MS + 1, "secret recipe", "ok")
    assert keys(await find(store, alice, "secret")) == [
        (alice_chat.chat_id, alice_turn.user.message_id),
        (alice_chat.chat_id, ""),
    ]
    assert await find(store, new_user(), "secret") == []


async def test_a_deleted_chat_is_not_found(store: HistoryStore) -> None:
    user = new_user()
    doomed = await new_chat(store, user, BASE_MS, title="Walrus notes")
    await full_turn(store, user, doomed, BASE_MS + 1_000, "walrus tusks?", "Walrus tusks grow.")
    kept = await new_chat(store, user, BASE_MS + 2_000)
    kept_turn = await full_turn(store, user, kept, BASE_MS + 3_000, "a walrus", "yes")
    assert len(await find(store, user, "walrus")) == 4
    await store.delete_chat(user, doomed.chat_id)
    assert keys(await find(store, user, "walrus")) == [(kept.chat_id, kept_turn.user.message_id)]
    assert await find(store, user, "tusks") == []
    assert await find(store, user, "notes") == []
    await store.delete_chat(user, doomed.chat_id)  # idempotent
    # A reply saved after its chat was deleted (a turn that stopped just then) stays gone.
    late = make_message(doomed.chat_id, BASE_MS + 4_000, Role.ASSISTANT, content="late walrus")
    await store.save_message(user, late)
    assert keys(await find(store, user, "walrus")) == [(kept.chat_id, kept_turn.user.message_id)]


async def test_a_renamed_chat_is_found_by_its_new_title_only(store: HistoryStore) -> None:
    user = new_user()
    chat = await new_chat(store, user, BASE_MS, title="Old harbour")
    renamed = replace(chat, title="New bridge", title_from_user=True, updated_at=at(BASE_MS + 9))
    await store.update_chat(renamed)
    assert await find(store, user, "harbour") == []
    assert await find(store, user, "old") == []
    assert await find(store, user, "new bridge") == [
        SearchMatch(chat.chat_id, "", "New bridge", at(BASE_MS + 9))
    ]
    # A change of settings only moves the title's time.
    await store.update_chat(replace(renamed, updated_at=at(BASE_MS + 20)))
    assert [m.at for m in await find(store, user, "bridge")] == [at(BASE_MS + 20)]
    # A rename within the same millisecond.
    await store.update_chat(replace(renamed, title="New tunnel", updated_at=at(BASE_MS + 20)))
    assert await find(store, user, "bridge") == []
    assert [m.text for m in await find(store, user, "new")] == ["New tunnel"]


async def test_a_chat_named_by_its_first_turn_is_found_by_that_name(store: HistoryStore) -> None:
    user = new_user()
    chat = await new_chat(store, user, BASE_MS)
    turn = await full_turn(store, user, chat, BASE_MS + 1_000, "Penguin facts please", "Sure.")
    await store.name_chat(user, chat.chat_id, "Penguin facts please", at(BASE_MS + 1_000))
    assert keys(await find(store, user, "penguin")) == [
        (chat.chat_id, turn.user.message_id),
        (chat.chat_id, ""),
    ]
    await store.name_chat(user, chat.chat_id, "Seal facts", at(BASE_MS + 2_000))
    assert keys(await find(store, user, "penguin")) == [(chat.chat_id, turn.user.message_id)]
    assert await find(store, user, "seal") == [
        SearchMatch(chat.chat_id, "", "Seal facts", at(BASE_MS + 2_000))
    ]


async def test_a_retried_turn_is_found_once(store: HistoryStore) -> None:
    user = new_user()
    chat = await new_chat(store, user, BASE_MS)
    turn = await start_turn(store, user, chat, BASE_MS + 1_000, "capybara question")
    again = await start_turn(store, user, chat, BASE_MS + 1_000, "capybara question")
    assert again.user.message_id == turn.user.message_id
    assert keys(await find(store, user, "capybara")) == [(chat.chat_id, turn.user.message_id)]


async def test_a_long_message_and_odd_queries(store: HistoryStore) -> None:
    user = new_user()
    chat = await new_chat(store, user, BASE_MS)
    content = "narwhal " + " ".join(f"w{i}" for i in range(600))
    turn = await full_turn(store, user, chat, BASE_MS + 1_000, "a long one", content)
    expected = [(chat.chat_id, turn.assistant.message_id)]
    assert keys(await find(store, user, "narwhal")) == expected
    assert keys(await find(store, user, "W10 narwhal")) == expected
    assert await find(store, user, "narwhal", limit=0) == []
    assert await store.search(user, ["!?"], 10) == []


async def test_words_far_apart_in_long_histories(store: HistoryStore) -> None:
    """Posting lists longer than a page, matching rarely together: every page is exact."""
    user = new_user()
    chat = await new_chat(store, user, BASE_MS)
    texts = [
        " ".join(w for w, every in (("alpha", 1), ("beta", 7), ("gamma", 5)) if i % every == 0)
        for i in range(120)
    ]
    msgs = [make_message(chat.chat_id, BASE_MS + i, content=t) for i, t in enumerate(texts)]
    await save_all(store, user, msgs)
    for query in ("alpha", "beta gamma", "gamma alpha beta", "beta"):
        wanted = query.split()
        expected = [
            (chat.chat_id, m.message_id)
            for m in reversed(msgs)
            if set(wanted) <= set(m.content.split())
        ]
        for limit in (1, 4, 50):
            got: list[tuple[str, str]] = []
            before: tuple[int, str] | None = None
            while page := await find(store, user, query, limit=limit, before=before):
                got += keys(page)
                before = (to_ms(page[-1].at), page[-1].message_id)
            assert got == expected, (query, limit)


async def test_a_search_reads_the_index_not_the_history(
    cassandra: CassandraStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cassandra: a rare word among many messages costs a few posting reads and one read
    per match, however long the history."""
    store = cassandra
    user = new_user()
    chat = await new_chat(store, user, BASE_MS)
    msgs = [
        make_message(chat.chat_id, BASE_MS + i, content=f"common words {i}") for i in range(300)
    ]
    msgs[10] = replace(msgs[10], content="common needle")
    msgs[200] = replace(msgs[200], content="a needle")
    await save_all(store, user, msgs)
    statements: list[str] = []
    execute = store._execute

    async def counted(statement: Any, params: Any = None) -> list[Any]:
        statements.append(getattr(statement, "query_string", ""))
        return await execute(statement, params)

    monkeypatch.setattr(store, "_execute", counted)
    found = await find(store, user, "needle common")
    assert keys(found) == [(chat.chat_id, msgs[10].message_id)]
    from_messages = [s for s in statements if ".messages " in s]
    assert len(from_messages) == 1  # the match itself
    assert len(statements) <= 8, statements


async def test_deleting_a_chat_deletes_its_postings(cassandra: CassandraStore) -> None:
    """Cassandra: the index of a deleted chat is deleted, not only skipped by searches."""
    store = cassandra
    user = new_user()
    chat = await new_chat(store, user, BASE_MS, title="Puffin log")
    await full_turn(store, user, chat, BASE_MS + 1_000, "puffin beaks", "Puffin beaks: orange.")
    await store.update_chat(replace(chat, title="Puffin diary", updated_at=at(BASE_MS + 2_000)))

    async def rows(table: str, where: str, *params: object) -> list[Any]:
        return await store._execute(f"SELECT * FROM {store._ks}.{table} WHERE {where}", params)

    async def postings(term: str) -> list[Any]:
        return await rows("search_postings", "user_id = %s AND term = %s", user, term)

    terms = ("puffin", "beaks", "orange", "log", "diary")
    assert [len(await postings(t)) for t in terms] == [3, 2, 1, 0, 1]  # the old title's: gone
    await store.delete_chat(user, chat.chat_id)
    assert [len(await postings(t)) for t in terms] == [0, 0, 0, 0, 0]
    chat_key = "user_id = %s AND chat_id = %s"
    assert await rows("search_docs", chat_key, user, uuid.UUID(chat.chat_id)) == []


async def test_a_retried_turn_repairs_postings_that_failed(
    cassandra: CassandraStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cassandra: begin_turn writes the postings after the turn's batch; when they fail, the
    client's retry (same request id) finds the turn and posts them again."""
    store = cassandra
    user = new_user()
    chat = await new_chat(store, user, BASE_MS)
    post = store._post

    async def failing(*args: Any) -> None:
        raise StoreUnavailable("cassandra: injected")

    monkeypatch.setattr(store, "_post", failing)
    with pytest.raises(StoreUnavailable):
        await start_turn(store, user, chat, BASE_MS + 1_000, "ibex horns")
    assert await find(store, user, "ibex") == []
    monkeypatch.setattr(store, "_post", post)
    turn = await start_turn(store, user, chat, BASE_MS + 1_000, "ibex horns")
    assert keys(await find(store, user, "ibex")) == [(chat.chat_id, turn.user.message_id)]


# ------------------------------------------------------------------------------ the analyzer


def test_terms_fold_case_and_accents_and_split_on_what_is_not_a_letter_or_digit() -> None:
    assert tokens("Café CAFE café") == ["cafe", "cafe", "cafe"]
    assert tokens("e-mail snake_case Straße İstanbul ﬁne ①") == [
        "e", "mail", "snake", "case", "strasse", "istanbul", "fine", "1",
    ]  # fmt: skip
    assert tokens("naïve Ångström 3.14 x² emoji🙂here") == [
        "naive", "angstrom", "3", "14", "x2", "emoji", "here",
    ]  # fmt: skip
    # Spacing marks stay inside their word (Devanagari vowel signs).
    assert tokens("हिन्दी भाषा") == ["हिनदी", "भाषा"]
    assert tokens("a" * 100) == ["a" * 64]
    assert tokens(" ... ") == []


def test_terms_of_a_document_are_capped() -> None:
    text = " ".join(f"w{i}" for i in range(10)) + " w0 w1"
    assert terms_of(text) == {f"w{i}" for i in range(10)}
    assert terms_of(text, max_terms=3) == {"w0", "w1", "w2"}


def test_query_terms_are_the_distinct_terms_of_the_words() -> None:
    assert query_terms(["E-Mail", "mail", "!!", "Café"]) == ["e", "mail", "cafe"]
    assert query_terms([]) == []


def test_matches_needs_every_term_and_a_split_word_as_a_phrase() -> None:
    assert matches("Send me an e-mail", ["EMAIL"]) is False
    assert matches("Send me an e-mail", ["e-mail", "send"]) is True
    assert matches("e then mail", ["e-mail"]) is False
    assert matches("mail e", ["e", "mail"]) is True
    assert matches("anything", ["!!"]) is False
    assert matches("w0 w1 w2", ["w2"], max_terms=2) is False

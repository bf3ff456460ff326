"""Searching one's chats over REST through Envoy (GET /chats:search): words of titles and of
messages written by real turns, newest first, paged, the caller's chats only."""

from __future__ import annotations

import urllib.parse
import uuid

from tests.fixtures.gateway_client import SHORT, call, create_chat, sse, user_token
from tests.fixtures.stack import Gateway


def search(gw: Gateway, token: str, query: str, **params: object) -> dict[str, object]:
    qs = urllib.parse.urlencode({"query": query, **params})
    reply = call(gw, "GET", f"/chats:search?{qs}", token=token)
    assert reply.status == 200, reply.body
    body: dict[str, object] = reply.json()
    return body


def turn(gw: Gateway, token: str, chat_id: str, content: str) -> None:
    body = {"content": content, "sampling": SHORT, "bypass_cache": True}
    events = sse(gw, token, "POST", f"/chat/{chat_id}/completion", body)
    assert "final" in events[-1], events


def test_a_word_from_an_old_message_finds_its_chat(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    word = f"zq{uuid.uuid4().hex[:8]}"  # a word no other chat holds
    old = create_chat(gateway, token, "Old trip")
    turn(gateway, token, old, f"Remember the code word {word} for the lighthouse.")
    for i in range(3):  # newer chats and turns on top
        turn(gateway, token, create_chat(gateway, token, f"Newer {i}"), "Say hello.")
    found = search(gateway, token, word.upper())  # case folded
    hits = found["hits"]
    assert isinstance(hits, list) and hits, found
    # The question, and the answer too if the model repeated the word: that chat only.
    assert {h["chat"]["chat_id"] for h in hits} == {old}, found
    assert all(word in h["snippet"].lower() and h["message_id"] for h in hits)
    messages = call(gateway, "GET", f"/chat/{old}", token=token).json()["messages"]
    assert hits[-1]["message_id"] == messages[0]["message_id"]  # the question: the oldest
    # Every word must appear: the word and one that is nowhere finds nothing.
    assert search(gateway, token, f"{word} xylophonequartz").get("hits", []) == []


def test_titles_newest_first_paged_and_private(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    _, other = user_token(gateway)
    tag = f"Café{uuid.uuid4().hex[:6]}"
    ids = [create_chat(gateway, token, f"{tag} number {i}") for i in range(5)]
    create_chat(gateway, other, f"{tag} of someone else")
    first = search(gateway, token, tag.replace("é", "e"), page_size=2)  # accents folded
    second = search(gateway, token, tag, page_size=2, page_token=first["next_page_token"])
    third = search(gateway, token, tag, page_size=2, page_token=second["next_page_token"])
    pages = [first, second, third]
    found = [h["chat"]["chat_id"] for p in pages for h in p["hits"]]  # type: ignore[attr-defined]
    assert found == list(reversed(ids))  # newest first, no overlap, nothing of the other user
    assert third.get("next_page_token", "") == ""
    assert all(h["message_id"] == "" for p in pages for h in p["hits"])  # type: ignore[attr-defined]


def test_a_deleted_chat_is_not_found(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    tag = f"gone{uuid.uuid4().hex[:8]}"
    chat_id = create_chat(gateway, token, f"{tag} chat")
    assert len(search(gateway, token, tag)["hits"]) == 1  # type: ignore[arg-type]
    assert call(gateway, "DELETE", f"/chat/{chat_id}", token=token).status == 200
    assert search(gateway, token, tag).get("hits", []) == []


def test_bad_queries_are_refused(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    for qs in ("query=", "query=" + "a" * 201, "query=" + "%20".join(f"w{i}" for i in range(11)),
               "query=x&page_size=51", "query=x&page_token=garbage"):  # fmt: skip
        reply = call(gateway, "GET", f"/chats:search?{qs}", token=token)
        assert reply.status == 400, (qs, reply.body)
    assert call(gateway, "GET", "/chats:search?query=x").status == 401

"""Through Envoy as a REST client: a submitted answer outlives the connection that follows it,
a follower resumes from the offset it holds (nothing repeated, nothing missing), and only
CancelTurn stops it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.fixtures.gateway_client import (
    call,
    create_chat,
    event_stream,
    user_token,
    wait_for,
)
from tests.fixtures.stack import Gateway

LONG = {"temperature": 0, "max_tokens": 200}
STORY = "Write a long story about a lighthouse keeper and a storm."


def held_after(held: str, delta: dict[str, Any]) -> str:
    """The text a client holds after a delta: up to the delta's offset, then its text."""
    offset = delta.get("offset", 0)
    assert offset <= len(held), f"a gap: held {len(held)} code points, delta at {offset}"
    return held[:offset] + delta.get("text", "")


@contextmanager
def following(gw: Gateway, token: str, path: str) -> Iterator[Iterator[dict[str, Any]]]:
    """StreamTurn's events as they come; leaving the block drops the connection."""
    with event_stream(gw, token, path) as (status, events):
        assert status == 200, status
        yield events


def submit(gw: Gateway, token: str, chat_id: str) -> str:
    body = {"content": STORY, "bypass_cache": True, "sampling": LONG}
    reply = call(gw, "POST", f"/chat/{chat_id}/turns", body, token)
    assert reply.status == 200, reply.body
    request_id: str = reply.json()["client_request_id"]
    return request_id


def read_until(events: Iterator[dict[str, Any]], held: str, enough: int) -> tuple[str, Any]:
    """Applies deltas until `enough` code points are held (None) or the turn ends (its event)."""
    for event in events:
        if "delta" not in event:
            return held, event
        held = held_after(held, event["delta"])
        if len(held) >= enough:
            return held, None
    raise AssertionError("the stream ended without a final or an error event")


def stored_reply(gw: Gateway, token: str, chat_id: str, request_id: str) -> dict[str, Any]:
    reply = call(gw, "GET", f"/chat/{chat_id}/turns/{request_id}", None, token)
    assert reply.status == 200, reply.body
    message: dict[str, Any] = reply.json()["assistant_message"]
    return message


def test_a_dropped_follower_resumes_from_its_offset_and_the_answer_went_on(
    gateway: Gateway,
) -> None:
    _, token = user_token(gateway)
    chat_id = create_chat(gateway, token)
    request_id = submit(gateway, token, chat_id)
    path = f"/chat/{chat_id}/turns/{request_id}/stream"
    with following(gateway, token, path) as events:
        held, end = read_until(events, "", 30)
    assert end is None
    # The follower is gone; the answer is not: it keeps growing in the store.
    wait_for(
        "the answer to go on without its follower",
        lambda: len(stored_reply(gateway, token, chat_id, request_id)["content"]) > len(held),
        timeout_s=60,
    )
    with following(gateway, token, f"{path}?offset={len(held)}") as events:
        held, end = read_until(events, held, 10**9)
    assert "final" in end, end
    stored = stored_reply(gateway, token, chat_id, request_id)
    assert stored["status"] == "MESSAGE_STATUS_COMPLETE"
    assert held == stored["content"], "resumed text differs from the stored answer"
    # Resuming a finished turn from its end: nothing but the final.
    with following(gateway, token, f"{path}?offset={len(held)}") as events:
        rest = list(events)
    assert [e for e in rest if e.get("delta", {}).get("text")] == [] and "final" in rest[-1]


def test_cancel_stops_a_followed_answer_and_keeps_its_text(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    chat_id = create_chat(gateway, token)
    request_id = submit(gateway, token, chat_id)
    path = f"/chat/{chat_id}/turns/{request_id}/stream"
    with following(gateway, token, path) as events:
        held, end = read_until(events, "", 10)
        assert end is None
        started = time.monotonic()
        stopped = call(gateway, "POST", f"/chat/{chat_id}/turns/{request_id}:cancel", {}, token)
        assert stopped.status == 200, stopped.body
        reply = stopped.json()["assistant_message"]
        assert reply["status"] == "MESSAGE_STATUS_INTERRUPTED", reply
        held, end = read_until(events, held, 10**9)
    print(f"cancel answered in {(time.monotonic() - started) * 1000:.0f} ms")
    assert end["error"]["reason"] == "TURN_INTERRUPTED", end
    assert held == reply["content"] and held.strip()
    time.sleep(1.0)
    assert stored_reply(gateway, token, chat_id, request_id)["content"] == held, "it went on"
    # Idempotent; an unknown turn is 404; another user's turn is 404 too.
    again = call(gateway, "POST", f"/chat/{chat_id}/turns/{request_id}:cancel", {}, token)
    assert again.status == 200 and again.json()["assistant_message"]["content"] == held
    missing = call(gateway, "POST", f"/chat/{chat_id}/turns/nope:cancel", {}, token)
    assert missing.status == 404, missing.body
    _, stranger = user_token(gateway)
    theirs = call(gateway, "POST", f"/chat/{chat_id}/turns/{request_id}:cancel", {}, stranger)
    assert theirs.status == 404, theirs.body


def test_a_negative_offset_is_a_400_naming_the_field(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    chat_id = create_chat(gateway, token)
    path = f"/chat/{chat_id}/turns/some-turn/stream?offset=-1"
    reply = call(gateway, "GET", path, None, token)
    assert reply.status == 400, reply.body
    assert "offset" in reply.body.decode()

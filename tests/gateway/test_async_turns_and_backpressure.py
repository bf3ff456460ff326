"""Through Envoy as a REST client: asynchronous completions (submit, follow as SSE, fetch) and
backpressure (a saturated model answers 429 at once, with a retry hint)."""

from __future__ import annotations

import socket
import time

from tests.fixtures.gateway_client import call, create_chat, open_sse, sse, user_token
from tests.fixtures.stack import Gateway

LONG = {"temperature": 0, "max_tokens": 400}
COUNTING = "Count from one to one hundred, in words."


def test_submit_then_stream_then_fetch_a_turn_over_rest(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    chat_id = create_chat(gateway, token)
    started = time.monotonic()
    submitted = call(
        gateway,
        "POST",
        f"/chat/{chat_id}/turns",
        {"content": "Name a fruit.", "bypass_cache": True, "sampling": {"max_tokens": 24}},
        token,
    )
    submit_s = time.monotonic() - started
    assert submitted.status == 200, submitted.body
    body = submitted.json()
    request_id = body["client_request_id"]
    assert body["user_message"]["content"] == "Name a fruit."
    assert body["assistant_message"]["status"] in (
        "MESSAGE_STATUS_QUEUED",
        "MESSAGE_STATUS_PENDING",
    )

    events = sse(gateway, token, "GET", f"/chat/{chat_id}/turns/{request_id}/stream")
    *deltas, final = events
    assert "final" in final, events
    assert all("delta" in e for e in deltas), events
    streamed = "".join(e["delta"]["text"] for e in deltas)
    assert final["final"]["assistant_message_id"] == body["assistant_message"]["message_id"]

    fetched = call(gateway, "GET", f"/chat/{chat_id}/turns/{request_id}", None, token)
    assert fetched.status == 200, fetched.body
    reply = fetched.json()["assistant_message"]
    assert reply["status"] == "MESSAGE_STATUS_COMPLETE"
    assert reply["content"] == streamed and streamed.strip()
    # A finished turn streams at once: everything as one delta, then the final.
    replay = sse(gateway, token, "GET", f"/chat/{chat_id}/turns/{request_id}/stream")
    assert replay[0]["delta"]["text"] == streamed and "final" in replay[-1]

    missing = call(gateway, "GET", f"/chat/{chat_id}/turns/no-such-turn", None, token)
    assert missing.status == 404, missing.body
    assert missing.json()["code"] == 5
    print(f"submit answered in {submit_s * 1000:.0f} ms")


def test_a_saturated_model_answers_429_with_a_retry_hint(gateway: Gateway) -> None:
    """The session's inference server runs one request and queues one: with two long turns in
    it, a third is refused at once instead of piling up."""
    _, token = user_token(gateway)
    long_turns: list[socket.socket] = []
    try:
        for _ in range(2):
            chat_id = create_chat(gateway, token)
            body = {"content": COUNTING, "bypass_cache": True, "sampling": LONG}
            long_turns.append(open_sse(gateway, token, chat_id, body))
        probe_chat = create_chat(gateway, token)
        refused = None
        deadline = time.monotonic() + 120
        while refused is None and time.monotonic() < deadline:
            reply = call(
                gateway,
                "POST",
                f"/chat/{probe_chat}/completion",
                {"content": "Hi", "bypass_cache": True, "sampling": {"max_tokens": 1}},
                token,
            )
            if reply.status == 429:
                refused = reply
            else:
                assert reply.status == 200, reply.body
        assert refused is not None, "the model never reported itself saturated"
        error = refused.json()
        assert error["code"] == 8, error  # RESOURCE_EXHAUSTED
        assert "busy" in error["message"]
        retry = [d for d in error.get("details", []) if d["@type"].endswith("RetryInfo")]
        assert retry and retry[0]["retry_delay"] == "1s", error
        assert refused.headers.get("retry-after") == "1", refused.headers
    finally:
        for sock in long_turns:
            sock.close()

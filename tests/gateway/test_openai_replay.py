"""Request bodies of the kinds popular OpenAI-API clients send (tests/gateway/data/), replayed
as they are through Envoy: each gets a 200 (extra and unknown fields, nulls, stream_options,
`user`, `logprobs: false` and the like are accepted) and a well-formed reply."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.gateway_client import user_token
from tests.fixtures.stack import Gateway

MODEL = "smollm2-135m-instruct-q4_1"
RECORDED = json.loads((Path(__file__).parent / "data" / "openai_requests.json").read_text())
CASES = [pytest.param(case["body"], id=case["client"]) for case in RECORDED["requests"]]


def with_model(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "model": MODEL}


@pytest.mark.parametrize("body", CASES)
def test_a_recorded_request_gets_a_200(gateway: Gateway, body: dict[str, Any]) -> None:
    _, token = user_token(gateway)
    conn = http.client.HTTPConnection("127.0.0.1", gateway.settings.listen_port, timeout=120)
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    try:
        conn.request("POST", "/v1/chat/completions", json.dumps(with_model(body)), headers)
        resp = conn.getresponse()
        if not body.get("stream"):
            reply = json.loads(resp.read())
            assert resp.status == 200, reply
            assert reply["object"] == "chat.completion"
            assert reply["choices"][0]["message"]["role"] == "assistant"
            return
        assert resp.status == 200, resp.read()
        assert resp.getheader("content-type", "").startswith("text/event-stream")
        first = resp.readline()  # the role chunk; the rest is not needed (closing stops it)
        chunk = json.loads(first.removeprefix(b"data: "))
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["choices"][0]["delta"]["role"] == "assistant"
    finally:
        conn.close()

"""Fuzzes the running REST API (real Envoy + chat service + inference) against the OpenAPI
description that `make protos` generates from the protos' google.api.http annotations
(gen/openapi/chatstack.swagger.json, see scripts/gen_openapi.sh).

Schemathesis generates requests per operation: its coverage phase (boundary and schema-violating
values, unexpected methods) and a bounded number of random valid and invalid examples, with a
fixed seed so that runs are reproducible. Every request carries a minted token. The checks: no
5xx, no hang (a timeout on every request), every error (4xx) answer is JSON in the
google.rpc.Status shape (`{"code", "message", "details"}`), and unary answers conform to the
spec's response schemas (snake_case field names, enum names, the error schema).

The streaming completion: the generated spec describes its 200 answer the way grpc-gateway
streams it (newline-delimited `{"result": CompleteResponse}` / `{"error": Status}` objects,
declared as application/json). Envoy's transcoder instead answers text/event-stream with one
`data: <CompleteResponse>` event per message, without that wrapper. So for a 200 completion the
spec's content-type and response-schema checks are skipped; instead schemathesis reads the event
stream (a few events at most, within the request timeout, then it disconnects, which also
exercises interruption), and each event's data is validated here against the spec's
`v1CompleteResponse` definition, with exactly one of delta/final/error set. Error answers of
the completion come before the stream starts and are checked like every other operation's.
A separate test streams one valid completion to its end through the same checks. Following a
submitted turn (StreamTurn) answers the same events and is checked the same way.

Submitted turns (POST /chat/{chat_id}/turns) run after their request, in the chat service: their
valid examples ask for at most 16 tokens, and the module waits until every one has ended
before it lets later tests use the model.

Random chat ids almost always name no chat; so that the operations on one chat also meet a real
one, half of the generated chat ids (chosen by a hash, so a replayed case chooses the same) are
replaced by a freshly created chat of the same user.
"""

from __future__ import annotations

import copy
import json
import os
import time
import zlib
from collections.abc import Iterator
from typing import Any

import hypothesis
import hypothesis.strategies as st
import jsonschema_rs
import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.config import PROJECT_ROOT
from tests.fixtures.stack import Gateway

SPEC = PROJECT_ROOT / "gen" / "openapi" / "chatstack.swagger.json"
if not SPEC.is_file():  # pragma: no cover
    pytest.skip(f"{SPEC} missing: run `make protos`", allow_module_level=True)

USER = "fuzz-user"
# A longer or different exploration: CHATSTACK_FUZZ_EXAMPLES=500 CHATSTACK_FUZZ_SEED=7 pytest ...
SEED = int(os.environ.get("CHATSTACK_FUZZ_SEED", "20240601"))
MAX_EXAMPLES = int(os.environ.get("CHATSTACK_FUZZ_EXAMPLES", "30"))  # random ones per operation
REQUEST_TIMEOUT_S = 15.0  # per request; for an event stream, the whole stream
MAX_STREAM_EVENTS = 3  # the fuzzer stops reading (and disconnects) after this many events
COMPLETION = "POST /chat/{chat_id}/completion"
FOLLOW_TURN = "GET /chat/{chat_id}/turns/{client_request_id}/stream"
SETTLE_S = 300.0  # submitted turns still running after the fuzzing: a bound, not an estimate


def _config(max_stream_events: int) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "max-stream-events": max_stream_events,
            "request-timeout": REQUEST_TIMEOUT_S,
            "generation": {
                "mode": "all",  # valid and schema-violating requests
                "max-examples": MAX_EXAMPLES,
                "database": "none",  # no saved failing examples: every run is the same
                # The test sends the token: no generated (or removed) Authorization header.
                "with-security-parameters": False,
            },
            "phases": {
                "examples": {"enabled": False},  # the spec has none
                "coverage": {"enabled": True},
                "stateful": {"enabled": False},
            },
        }
    )


# protoc-gen-openapiv2 declares (u)int64 fields as strings of format "uint64"/"int64", as
# proto3 JSON prints them; unknown formats would make every generated value a random string.
schemathesis.openapi.format("uint64", st.integers(0, 2**64 - 1).map(str))
schemathesis.openapi.format("int64", st.integers(-(2**63), 2**63 - 1).map(str))


_SPEC: dict[str, Any] = json.loads(SPEC.read_text())
_DEFINITIONS: dict[str, Any] = _SPEC["definitions"]
# One overlay on the generated spec: a completion needs a non-empty `content`, which the proto
# does not annotate (proto3 fields are all optional), so without it most "valid" completions
# would be `{}` and never reach the model.
for _body in ("ChatServiceCompleteBody", "ChatServiceSubmitCompletionBody"):
    _DEFINITIONS[_body]["required"] = ["content"]
    _DEFINITIONS[_body]["properties"]["content"]["minLength"] = 1
# Submitted turns are not cut short by a disconnect: keep their valid examples short.
_DEFINITIONS["fuzzShortSampling"] = copy.deepcopy(_DEFINITIONS["v1SamplingSettings"])
_DEFINITIONS["fuzzShortSampling"]["properties"]["max_tokens"]["maximum"] = 16
_DEFINITIONS["ChatServiceSubmitCompletionBody"]["properties"]["sampling"] = {
    "$ref": "#/definitions/fuzzShortSampling"
}

schema = schemathesis.openapi.from_dict(_SPEC, config=_config(MAX_STREAM_EVENTS))
# The same spec, reading event streams to their end (for the one full completion).
full_stream_schema = schemathesis.openapi.from_dict(_SPEC, config=_config(10_000))
_EVENT_VALIDATOR = jsonschema_rs.validator_for(
    {"$ref": "#/definitions/v1CompleteResponse", "definitions": _DEFINITIONS}
)
_EVENT_KINDS = {"delta", "final", "error"}


def _unsettled(gateway: Gateway, headers: dict[str, str]) -> int:
    """Replies of the fuzz user still queued or being generated."""
    count, token = 0, ""
    while True:
        query: dict[str, str | int] = {"page_size": 100, "page_token": token}
        page = requests.get(
            f"{gateway.base_url}/chats",
            params=query,
            headers=headers,
            timeout=REQUEST_TIMEOUT_S,
        ).json()
        for chat in page.get("chats", []):
            reply = requests.get(
                f"{gateway.base_url}/chat/{chat['chat_id']}",
                params={"page_size": 200},
                headers=headers,
                timeout=REQUEST_TIMEOUT_S,
            ).json()
            count += sum(
                m["status"] in ("MESSAGE_STATUS_QUEUED", "MESSAGE_STATUS_PENDING")
                for m in reply.get("messages", [])
            )
        token = page.get("next_page_token", "")
        if not token:
            return count


def _settle(gateway: Gateway, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + SETTLE_S
    while (left := _unsettled(gateway, headers)) > 0:
        assert time.monotonic() < deadline, f"{left} submitted turns still running"
        time.sleep(1)


@pytest.fixture(scope="module")
def auth_headers(gateway: Gateway) -> Iterator[dict[str, str]]:
    headers = {"Authorization": f"Bearer {gateway.token(USER)}"}
    yield headers
    _settle(gateway, headers)  # the model is free again for the tests after this module


def _new_chat(gateway: Gateway, headers: dict[str, str]) -> str:
    reply = requests.post(
        f"{gateway.base_url}/chat",
        json={"title": "fuzz", "settings": {"sampling": {"max_tokens": 16}}},
        headers=headers,
        timeout=REQUEST_TIMEOUT_S,
    )
    reply.raise_for_status()
    chat_id: str = reply.json()["chat"]["chat_id"]
    return chat_id


def _use_real_chat(case: schemathesis.Case) -> bool:
    if "chat_id" not in (case.path_parameters or {}):
        return False
    body = case.body if isinstance(case.body, dict | list | str | int | float | bool) else None
    data = json.dumps([case.path_parameters, case.query, body], sort_keys=True, default=repr)
    return zlib.crc32(data.encode()) % 2 == 0


def _describe(case: schemathesis.Case, response: schemathesis.Response) -> str:
    return (
        f"{case.method} {case.formatted_path} query={case.query!r} body={case.body!r} -> "
        f"{response.status_code} {_content_type(response)!r} {response.content[:500]!r}"
    )


def _content_type(response: schemathesis.Response) -> str:
    return (response.headers.get("content-type") or [""])[0]


def _check_error_body(case: schemathesis.Case, response: schemathesis.Response) -> None:
    """A 4xx answer is JSON shaped like google.rpc.Status."""
    if response.status_code < 400:
        return
    assert _content_type(response).startswith("application/json"), _describe(case, response)
    try:
        body = json.loads(response.content)
    except ValueError:
        pytest.fail(f"error body is not JSON: {_describe(case, response)}")
    assert isinstance(body, dict), _describe(case, response)
    assert isinstance(body.get("code"), int) and body["code"] > 0, _describe(case, response)
    assert isinstance(body.get("message"), str), _describe(case, response)


def _stream_events(case: schemathesis.Case, response: schemathesis.Response) -> list[Any]:
    """A 200 completion: text/event-stream, every event's data one CompleteResponse."""
    assert _content_type(response).startswith("text/event-stream"), _describe(case, response)
    data = [
        line.removeprefix(b"data:").strip()
        for line in response.content.splitlines()
        if line.startswith(b"data:")
    ]
    assert data, f"no event within {REQUEST_TIMEOUT_S}s (a hang?): {_describe(case, response)}"
    if response.stream_cut_short:
        # Cut by the event cap, not by the timeout: the stream did not stall.
        assert len(data) >= MAX_STREAM_EVENTS, f"stream stalled: {_describe(case, response)}"
    events = [json.loads(item) for item in data]
    for event in events:
        _EVENT_VALIDATOR.validate(event)
        assert len(_EVENT_KINDS & event.keys()) == 1, f"{event!r}: {_describe(case, response)}"
    return events


def _call_and_check(
    case: schemathesis.Case, base_url: str, headers: dict[str, str]
) -> schemathesis.Response:
    try:
        response = case.call(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S)
    except requests.Timeout:
        pytest.fail(f"no answer within {REQUEST_TIMEOUT_S}s: {case.method} {case.formatted_path}")
    checks = [not_a_server_error, status_code_conformance]
    if case.operation.label in (COMPLETION, FOLLOW_TURN) and response.status_code == 200:
        _stream_events(case, response)
    else:
        checks += [content_type_conformance, response_schema_conformance]
    case.validate_response(response, checks=checks)
    _check_error_body(case, response)
    return response


@schema.parametrize()
@hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_rest_api_against_openapi_spec(
    case: schemathesis.Case, gateway: Gateway, auth_headers: dict[str, str]
) -> None:
    if _use_real_chat(case):
        assert case.path_parameters is not None
        case.path_parameters["chat_id"] = _new_chat(gateway, auth_headers)
    _call_and_check(case, gateway.base_url, auth_headers)


def test_streamed_completion_against_openapi_spec(
    gateway: Gateway, auth_headers: dict[str, str]
) -> None:
    """One valid completion read to its end: deltas, then a final event with usage."""
    _settle(gateway, auth_headers)  # submitted turns from the fuzzing hold the model
    chat_id = _new_chat(gateway, auth_headers)
    operation = full_stream_schema[COMPLETION.split(" ")[1]]["POST"]
    case = operation.Case(
        path_parameters={"chat_id": chat_id},
        body={"content": "Say hello.", "client_request_id": "fuzz-1", "bypass_cache": True},
    )
    for _ in range(5):
        response = _call_and_check(case, gateway.base_url, auth_headers)
        if response.status_code != 429:
            break
        time.sleep(1)  # the model is busy (one slot): a fuzzed stream may still be winding down
    assert response.status_code == 200, _describe(case, response)
    assert not response.stream_cut_short, _describe(case, response)
    events = _stream_events(case, response)
    assert any("delta" in event for event in events), events
    final = events[-1].get("final")
    assert final is not None, events
    assert final["usage"]["completion_tokens"] > 0, final

    history = full_stream_schema["/chat/{chat_id}"]["GET"].Case(
        path_parameters={"chat_id": chat_id}
    )
    reply = _call_and_check(history, gateway.base_url, auth_headers)
    assert reply.status_code == 200, _describe(history, reply)
    statuses = [message["status"] for message in json.loads(reply.content)["messages"]]
    assert statuses == ["MESSAGE_STATUS_COMPLETE", "MESSAGE_STATUS_COMPLETE"], statuses

"""The OpenAI wire protocol without I/O: the request bodies real clients send parse into domain
types, each unsupported or malformed request is a 400 naming its field, and the bodies built
are the shapes the openai SDKs read (checked with the SDK's own models when it is installed)."""

from __future__ import annotations

import array
import base64
import json
import re
import struct
from typing import Any

import numpy as np
import pytest

from chat_service.domain import Role, Sampling
from chat_service.openai_api.protocol import (
    DONE_EVENT,
    ChatCompletionRequest,
    OpenAiError,
    chunk_body,
    completion_body,
    completion_id,
    embeddings_body,
    error_event,
    models_body,
    parse_chat_completion,
    parse_embeddings,
    sse_event,
    usage_chunk_body,
)

HELLO = [{"role": "user", "content": "Hello"}]


def encode(body: Any) -> bytes:
    return json.dumps(body).encode()


def chat(**fields: Any) -> dict[str, Any]:
    return {"model": "smollm2", "messages": HELLO, **fields}


def parse(body: dict[str, Any]) -> ChatCompletionRequest:
    return parse_chat_completion(encode(body))


def rejected(body: dict[str, Any]) -> OpenAiError:
    with pytest.raises(OpenAiError) as err:
        parse(body)
    assert err.value.status == 400
    return err.value


def rejected_embeddings(body: dict[str, Any], max_inputs: int = 2048) -> OpenAiError:
    with pytest.raises(OpenAiError) as err:
        parse_embeddings(encode(body), max_inputs)
    assert err.value.status == 400
    return err.value


# Chat completions: what real clients send -----------------------------------------------


def test_the_openai_sdk_default_request() -> None:
    request = parse({"messages": HELLO, "model": "smollm2"})
    assert request == ChatCompletionRequest(
        model="smollm2",
        messages=((Role.USER, "Hello"),),
        sampling=Sampling(),
        stop=(),
        stream=False,
        include_usage=False,
        user="",
    )


def test_the_openai_sdk_streaming_with_usage() -> None:
    request = parse(chat(stream=True, stream_options={"include_usage": True}))
    assert request.stream and request.include_usage


def test_include_usage_only_applies_to_streams() -> None:
    assert not parse(chat(stream=False, stream_options={"include_usage": True})).include_usage
    assert not parse(chat(stream=True)).include_usage
    assert not parse(chat(stream=True, stream_options={"include_usage": None})).include_usage
    assert not parse(chat(stream=None)).stream


def test_a_langchain_request_with_nulls() -> None:
    request = parse(
        {
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Hi"},
            ],
            "model": "smollm2",
            "stream": False,
            "n": 1,
            "temperature": 0.7,
            "max_tokens": None,
            "stop": None,
            "logprobs": None,
            "top_logprobs": None,
            "seed": None,
            "tools": None,
            "response_format": None,
        }
    )
    assert request.messages == ((Role.SYSTEM, "You are terse."), (Role.USER, "Hi"))
    assert request.sampling == Sampling(temperature=0.7)


def test_a_librechat_style_request() -> None:
    request = parse(
        {
            "model": "smollm2",
            "user": "65f1c0ffee",
            "temperature": 1,
            "top_p": 1,
            "presence_penalty": 0,
            "frequency_penalty": 0,
            "stop": ["||>", "\nUser:", "<|diff_marker|>"],
            "max_tokens": 1024,
            "stream": True,
            "messages": [
                {"role": "system", "name": "instructions", "content": "Be kind."},
                {"role": "user", "name": "alice", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "Tell me a joke"},
            ],
        }
    )
    assert request.user == "65f1c0ffee"
    assert request.stop == ("||>", "\nUser:", "<|diff_marker|>")
    assert request.sampling == Sampling(temperature=1.0, top_p=1.0, max_tokens=1024)
    assert isinstance(request.sampling.temperature, float)
    assert [role for role, _ in request.messages] == [
        Role.SYSTEM,
        Role.USER,
        Role.ASSISTANT,
        Role.USER,
    ]


def test_an_open_webui_style_request_with_many_extra_fields() -> None:
    request = parse(
        chat(
            stream=True,
            stream_options={"include_usage": True, "include_obfuscation": False},
            metadata={"chat_id": "c1"},
            store=False,
            logit_bias={"50256": -100},
            parallel_tool_calls=True,
            service_tier="auto",
            reasoning_effort="low",
            modalities=["text"],
            prediction={"type": "content", "content": "x"},
            frequency_penalty=0.5,
            presence_penalty=-0.5,
            top_k=40,
            min_p=0.05,
            repetition_penalty=1.1,
            num_ctx=4096,
            keep_alive="5m",
            web_search_options={},
            user=None,
        )
    )
    assert request.stream and request.include_usage and request.user == ""


def test_content_part_arrays_are_joined_in_order() -> None:
    request = parse(
        chat(
            messages=[
                {
                    "role": "system",
                    "content": [
                        {"type": "text", "text": "Be "},
                        {"type": "text", "text": "brief."},
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "one, ", "cache_control": {"type": "ephemeral"}},
                        {"type": "text", "text": "two"},
                    ],
                },
                {"role": "assistant", "content": []},
            ]
        )
    )
    assert request.messages == (
        (Role.SYSTEM, "Be brief."),
        (Role.USER, "one, two"),
        (Role.ASSISTANT, ""),
    )


def test_developer_is_a_system_message() -> None:
    request = parse(chat(messages=[{"role": "developer", "content": "Rules"}, *HELLO]))
    assert request.messages[0] == (Role.SYSTEM, "Rules")


def test_assistant_messages_may_have_no_content() -> None:
    request = parse(
        chat(
            messages=[
                *HELLO,
                {"role": "assistant", "content": None, "tool_calls": [], "refusal": None},
                {"role": "assistant"},
                {"role": "assistant", "content": [{"type": "refusal", "refusal": "I can't."}]},
                {"role": "user", "content": ""},
            ]
        )
    )
    assert [content for _, content in request.messages] == ["Hello", "", "", "I can't.", ""]


def test_non_ascii_text_is_kept() -> None:
    request = parse(chat(messages=[{"role": "user", "content": "héllo, 世界 🌍"}]))
    assert request.messages == ((Role.USER, "héllo, 世界 🌍"),)


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    assert parse(chat(max_tokens=10, max_completion_tokens=20)).sampling.max_tokens == 20
    assert parse(chat(max_tokens=10, max_completion_tokens=None)).sampling.max_tokens == 10
    assert parse(chat(max_completion_tokens=7)).sampling.max_tokens == 7
    assert parse(chat(max_tokens=256.0)).sampling.max_tokens == 256


@pytest.mark.parametrize(
    ("seed", "expected"),
    [
        (0, 0),
        (42, 42),
        (-1, 2**64 - 1),
        (-(2**63), 2**63),
        (2**64 - 1, 2**64 - 1),
        (-(2**64 - 1), 1),
    ],
)
def test_seeds_map_onto_uint64(seed: int, expected: int) -> None:
    assert parse(chat(seed=seed)).sampling.seed == expected


@pytest.mark.parametrize(("temperature", "top_p"), [(0, 1), (2, 0.01), (0.0, 1.0), (1.5, 0.5)])
def test_sampling_bounds_are_inclusive_where_openai_allows(
    temperature: float, top_p: float
) -> None:
    sampling = parse(chat(temperature=temperature, top_p=top_p)).sampling
    assert (sampling.temperature, sampling.top_p) == (float(temperature), float(top_p))


def test_stop_as_a_string_or_a_list() -> None:
    assert parse(chat(stop="END")).stop == ("END",)
    assert parse(chat(stop=["a", "b", "c", "d"])).stop == ("a", "b", "c", "d")
    assert parse(chat(stop=[])).stop == ()


@pytest.mark.parametrize(
    "fields",
    [
        {"n": 1},
        {"n": None},
        {"tools": []},
        {"functions": None},
        {"tool_choice": "none"},
        {"tool_choice": "auto"},
        {"function_call": "none"},
        {"response_format": {"type": "text"}},
        {"logprobs": False},
        {"top_logprobs": 0},
        {"stream_options": None},
        {"user": "u-1"},
    ],
    ids=repr,
)
def test_harmless_values_of_unsupported_features_are_accepted(fields: dict[str, Any]) -> None:
    parse(chat(**fields))


def test_a_thousand_messages_are_accepted() -> None:
    assert len(parse(chat(messages=HELLO * 1000)).messages) == 1000


# Chat completions: rejected ------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"[]", b'"text"', b"null", b"42", b'{"model": NaN}', b'{"t": Infinity}', b"\xff{}"],
)
def test_a_body_that_is_not_a_json_object(body: bytes) -> None:
    with pytest.raises(OpenAiError) as err:
        parse_chat_completion(body)
    assert (err.value.status, err.value.param, err.value.code) == (400, None, "invalid_json")


def test_deeply_nested_json_is_a_400_not_a_crash() -> None:
    with pytest.raises(OpenAiError) as err:
        parse_chat_completion(b"[" * 200_000 + b"]" * 200_000)
    assert err.value.code == "invalid_json"


def with_messages(*messages: Any) -> dict[str, Any]:
    return chat(messages=list(messages))


def user_content(content: Any) -> dict[str, Any]:
    return with_messages({"role": "user", "content": content})


CONTENT0 = "messages[0].content"
PART0 = "messages[0].content[0]"
TOOL_CALL = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}

INVALID_CHATS: list[tuple[dict[str, Any], str, str]] = [
    # model
    ({"messages": HELLO}, "model", "missing_required_parameter"),
    (chat(model=None), "model", "missing_required_parameter"),
    (chat(model=""), "model", "invalid_value"),
    (chat(model=3), "model", "invalid_type"),
    # messages
    ({"model": "m"}, "messages", "missing_required_parameter"),
    (with_messages(), "messages", "invalid_value"),
    (chat(messages=HELLO * 1001), "messages", "invalid_value"),
    (chat(messages={"role": "user"}), "messages", "invalid_type"),
    (with_messages("Hello"), "messages[0]", "invalid_type"),
    (with_messages({"content": "x"}), "messages[0].role", "missing_required_parameter"),
    (with_messages({"role": 1, "content": "x"}), "messages[0].role", "invalid_type"),
    (with_messages({"role": "bot", "content": "x"}), "messages[0].role", "invalid_value"),
    (
        with_messages(*HELLO, {"role": "tool", "content": "x", "tool_call_id": "c"}),
        "messages[1].role",
        "unsupported_value",
    ),
    (
        with_messages({"role": "function", "content": "x", "name": "f"}),
        "messages[0].role",
        "unsupported_value",
    ),
    (with_messages({"role": "user"}), CONTENT0, "missing_required_parameter"),
    (user_content(None), CONTENT0, "invalid_type"),
    (with_messages({"role": "system", "content": None}), CONTENT0, "invalid_type"),
    (user_content(5), CONTENT0, "invalid_type"),
    (user_content({"type": "text", "text": "x"}), CONTENT0, "invalid_type"),
    (user_content(["x"]), PART0, "invalid_type"),
    (user_content([{"text": "x"}]), PART0 + ".type", "missing_required_parameter"),
    (user_content([{"type": 1}]), PART0 + ".type", "invalid_type"),
    (user_content([{"type": "text"}]), PART0 + ".text", "invalid_type"),
    (user_content([{"type": "text", "text": 1}]), PART0 + ".text", "invalid_type"),
    (
        user_content(
            [{"type": "text", "text": "see"}, {"type": "image_url", "image_url": {"url": "data:"}}]
        ),
        CONTENT0 + "[1].type",
        "unsupported_value",
    ),
    (
        user_content([{"type": "input_audio", "input_audio": {}}]),
        PART0 + ".type",
        "unsupported_value",
    ),
    (user_content([{"type": "file", "file": {}}]), PART0 + ".type", "unsupported_value"),
    (user_content([{"type": "refusal", "refusal": "no"}]), PART0 + ".type", "unsupported_value"),
    (user_content("\ud800"), CONTENT0, "invalid_value"),
    (
        with_messages(*HELLO, {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]}),
        "messages[1].tool_calls",
        "unsupported_value",
    ),
    (
        with_messages({"role": "assistant", "content": "", "function_call": TOOL_CALL["function"]}),
        "messages[0].function_call",
        "unsupported_value",
    ),
    # sampling
    (chat(temperature=-0.1), "temperature", "invalid_value"),
    (chat(temperature=2.01), "temperature", "invalid_value"),
    (chat(temperature="0.7"), "temperature", "invalid_type"),
    (chat(temperature=True), "temperature", "invalid_type"),
    (chat(top_p=0), "top_p", "invalid_value"),
    (chat(top_p=1.5), "top_p", "invalid_value"),
    (chat(top_p=False), "top_p", "invalid_type"),
    (chat(max_tokens=0), "max_tokens", "invalid_value"),
    (chat(max_tokens=-5), "max_tokens", "invalid_value"),
    (chat(max_tokens=1.5), "max_tokens", "invalid_type"),
    (chat(max_tokens="100"), "max_tokens", "invalid_type"),
    (chat(max_tokens=True), "max_tokens", "invalid_type"),
    (chat(max_completion_tokens=0), "max_completion_tokens", "invalid_value"),
    (chat(max_tokens="x", max_completion_tokens=5), "max_tokens", "invalid_type"),
    (chat(seed=2**64), "seed", "invalid_value"),
    (chat(seed=-(2**64)), "seed", "invalid_value"),
    (chat(seed="1"), "seed", "invalid_type"),
    (chat(seed=0.5), "seed", "invalid_type"),
    (chat(stop=""), "stop", "invalid_value"),
    (chat(stop=["a", ""]), "stop[1]", "invalid_value"),
    (chat(stop=["a", 1]), "stop[1]", "invalid_type"),
    (chat(stop=["a", "b", "c", "d", "e"]), "stop", "invalid_value"),
    (chat(stop=5), "stop", "invalid_type"),
    # features this server does not provide
    (chat(n=2), "n", "unsupported_value"),
    (chat(n=0), "n", "unsupported_value"),
    (chat(n="1"), "n", "invalid_type"),
    (
        chat(tools=[{"type": "function", "function": {"name": "f"}}]),
        "tools",
        "unsupported_parameter",
    ),
    (chat(tools={"type": "function"}), "tools", "invalid_type"),
    (chat(functions=[{"name": "f"}]), "functions", "unsupported_parameter"),
    (chat(tool_choice="required"), "tool_choice", "unsupported_value"),
    (
        chat(tool_choice={"type": "function", "function": {"name": "f"}}),
        "tool_choice",
        "unsupported_value",
    ),
    (chat(tool_choice="sometimes"), "tool_choice", "invalid_value"),
    (chat(tool_choice=1), "tool_choice", "invalid_type"),
    (chat(function_call={"name": "f"}), "function_call", "unsupported_value"),
    (chat(response_format={"type": "json_object"}), "response_format", "unsupported_value"),
    (
        chat(response_format={"type": "json_schema", "json_schema": {"name": "x"}}),
        "response_format",
        "unsupported_value",
    ),
    (chat(response_format={"type": "yaml"}), "response_format.type", "invalid_value"),
    (chat(response_format="json"), "response_format", "invalid_type"),
    (chat(logprobs=True), "logprobs", "unsupported_value"),
    (chat(logprobs="yes"), "logprobs", "invalid_type"),
    (chat(top_logprobs=5), "top_logprobs", "unsupported_value"),
    (chat(top_logprobs="5"), "top_logprobs", "invalid_type"),
    # streaming and user
    (chat(stream="true"), "stream", "invalid_type"),
    (chat(stream=1), "stream", "invalid_type"),
    (chat(stream=True, stream_options=True), "stream_options", "invalid_type"),
    (
        chat(stream=True, stream_options={"include_usage": "yes"}),
        "stream_options.include_usage",
        "invalid_type",
    ),
    (chat(user=123), "user", "invalid_type"),
    (chat(user={"id": "u"}), "user", "invalid_type"),
]


@pytest.mark.parametrize(
    ("body", "param", "code"), INVALID_CHATS, ids=[f"{p}-{c}" for _, p, c in INVALID_CHATS]
)
def test_an_invalid_request_names_its_field(body: dict[str, Any], param: str, code: str) -> None:
    err = rejected(body)
    assert (err.param, err.code) == (param, code)
    assert err.type == "invalid_request_error"
    assert err.message


def test_an_overflowing_number_is_out_of_range() -> None:
    body = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 1e999}'
    with pytest.raises(OpenAiError) as err:
        parse_chat_completion(body)
    assert (err.value.param, err.value.code) == ("temperature", "invalid_value")


def test_unsupported_features_say_why() -> None:
    assert "tool calls" in rejected(chat(tools=[{"type": "function"}])).message
    assert "tool calls" in rejected(chat(messages=[{"role": "tool", "content": "x"}])).message
    assert "n=1" in rejected(chat(n=3)).message
    assert (
        "image_url"
        in rejected(chat(messages=[{"role": "user", "content": [{"type": "image_url"}]}])).message
    )


def test_messages_quote_a_client_value_briefly() -> None:
    err = rejected(chat(messages=[{"role": "x" * 10_000, "content": "hi"}]))
    assert len(err.message) < 200


# Embeddings requests ---------------------------------------------------------------------


def test_embeddings_of_one_text() -> None:
    request = parse_embeddings(encode({"model": "minilm", "input": "hello"}))
    assert (request.model, request.inputs, request.encoding_format) == (
        "minilm",
        ("hello",),
        "float",
    )


def test_embeddings_as_the_openai_sdk_sends_them() -> None:
    # The SDK asks for base64 unless the caller chose a format, and decodes it itself.
    body = {"input": ["a", "b"], "model": "minilm", "encoding_format": "base64", "user": "u"}
    request = parse_embeddings(encode(body))
    assert request.inputs == ("a", "b") and request.encoding_format == "base64"


def test_embeddings_defaults_and_ignored_fields() -> None:
    body = {"input": ["a"], "model": "m", "encoding_format": None, "dimensions": None, "x": 1}
    assert parse_embeddings(encode(body)).encoding_format == "float"
    assert parse_embeddings(encode({"input": ["a"] * 3, "model": "m"}), max_inputs=3).inputs == (
        "a",
        "a",
        "a",
    )


INVALID_EMBEDDINGS: list[tuple[dict[str, Any], str | None, str]] = [
    ({"input": "a"}, "model", "missing_required_parameter"),
    ({"input": "a", "model": 1}, "model", "invalid_type"),
    ({"model": "m"}, "input", "missing_required_parameter"),
    ({"model": "m", "input": None}, "input", "missing_required_parameter"),
    ({"model": "m", "input": ""}, "input", "invalid_value"),
    ({"model": "m", "input": []}, "input", "invalid_value"),
    ({"model": "m", "input": ["a", ""]}, "input[1]", "invalid_value"),
    ({"model": "m", "input": ["a", None]}, "input[1]", "invalid_type"),
    ({"model": "m", "input": {"text": "a"}}, "input", "invalid_type"),
    ({"model": "m", "input": 5}, "input", "invalid_type"),
    ({"model": "m", "input": [1, 2, 3]}, "input", "unsupported_value"),
    ({"model": "m", "input": [[1, 2], [3]]}, "input", "unsupported_value"),
    ({"model": "m", "input": ["a"] * 4}, "input", "invalid_value"),
    ({"model": "m", "input": "a", "encoding_format": "int8"}, "encoding_format", "invalid_value"),
    ({"model": "m", "input": "a", "dimensions": 256}, "dimensions", "unsupported_parameter"),
]


@pytest.mark.parametrize(
    ("body", "param", "code"),
    INVALID_EMBEDDINGS,
    ids=[f"{p}-{c}" for _, p, c in INVALID_EMBEDDINGS],
)
def test_an_invalid_embeddings_request_names_its_field(
    body: dict[str, Any], param: str, code: str
) -> None:
    err = rejected_embeddings(body, max_inputs=3)
    assert (err.param, err.code) == (param, code)


def test_token_arrays_say_to_send_text() -> None:
    err = rejected_embeddings({"model": "m", "input": [101, 2023]})
    assert err.message == "Token arrays are not supported; send text."


def test_a_malformed_embeddings_body() -> None:
    with pytest.raises(OpenAiError) as err:
        parse_embeddings(b"input=hello")
    assert (err.value.status, err.value.code) == (400, "invalid_json")


# Errors ----------------------------------------------------------------------------------


def test_error_body() -> None:
    err = OpenAiError(404, "The model 'x' does not exist", code="model_not_found", param="model")
    assert (err.status, err.type, str(err)) == (404, "invalid_request_error", err.message)
    assert err.body() == {
        "error": {
            "message": "The model 'x' does not exist",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }
    assert OpenAiError(503, "busy", type="server_error").body()["error"] == {
        "message": "busy",
        "type": "server_error",
        "param": None,
        "code": None,
    }


# Responses ------------------------------------------------------------------------------


def test_completion_ids() -> None:
    first, second = completion_id(), completion_id()
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{32}", first) and first != second


def test_completion_body() -> None:
    body = completion_body(
        completion_id="chatcmpl-1",
        created=1700000000,
        model="smollm2",
        content="Hi there",
        finish_reason="stop",
        prompt_tokens=5,
        completion_tokens=3,
    )
    assert body == {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "smollm2",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi there", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }


def chunk(delta: dict[str, str], finish_reason: str | None = None, usage: bool = False) -> Any:
    return chunk_body(
        completion_id="chatcmpl-1",
        created=1700000000,
        model="smollm2",
        delta=delta,
        finish_reason=finish_reason,
        with_usage_null=usage,
    )


def test_chunk_body() -> None:
    assert chunk({"role": "assistant", "content": ""}) == {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "smollm2",
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", "content": ""},
                "logprobs": None,
                "finish_reason": None,
            }
        ],
    }


def test_chunks_carry_a_null_usage_when_usage_was_asked_for() -> None:
    last = chunk({}, "length", usage=True)
    assert last["usage"] is None and last["choices"][0]["finish_reason"] == "length"
    assert "usage" not in chunk({"content": "x"})


def test_a_chunk_does_not_share_the_callers_delta() -> None:
    delta = {"content": "a"}
    body = chunk(delta)
    delta["content"] = "b"
    assert body["choices"][0]["delta"] == {"content": "a"}


def test_usage_chunk_body() -> None:
    body = usage_chunk_body(
        completion_id="chatcmpl-1",
        created=1700000000,
        model="smollm2",
        prompt_tokens=10,
        completion_tokens=4,
    )
    assert body == {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "smollm2",
        "choices": [],
        "usage": {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14},
    }


def read_sse(stream: bytes) -> list[Any]:
    """Events the way the openai SDK reads them: `data:` lines, blank-line separated."""
    assert stream.endswith(b"\n\n")
    events = []
    for event in stream.split(b"\n\n")[:-1]:
        assert event.startswith(b"data: ") and b"\n" not in event
        data = event[len(b"data: ") :].decode("utf-8")
        events.append(data if data == "[DONE]" else json.loads(data))
    return events


def test_sse_framing() -> None:
    event = sse_event({"text": "héllo 世界\nnext", "n": 1})
    assert event == 'data: {"text":"héllo 世界\\nnext","n":1}\n\n'.encode()
    assert DONE_EVENT == b"data: [DONE]\n\n"
    assert read_sse(event + DONE_EVENT) == [{"text": "héllo 世界\nnext", "n": 1}, "[DONE]"]


def test_an_echoed_lone_surrogate_does_not_break_an_event() -> None:
    assert sse_event({"x": "\ud800"}).startswith(b'data: {"x":"')


def test_error_event() -> None:
    err = OpenAiError(500, "The model failed", type="server_error")
    assert read_sse(error_event(err)) == [err.body()]


def test_a_whole_stream_with_usage() -> None:
    events = [
        chunk({"role": "assistant", "content": ""}, usage=True),
        chunk({"content": "Hel"}, usage=True),
        chunk({"content": "lo"}, usage=True),
        chunk({}, "stop", usage=True),
        usage_chunk_body(
            completion_id="chatcmpl-1",
            created=1700000000,
            model="smollm2",
            prompt_tokens=3,
            completion_tokens=2,
        ),
    ]
    parsed = read_sse(b"".join(sse_event(e) for e in events) + DONE_EVENT)
    assert parsed[-1] == "[DONE]"
    chunks = parsed[:-1]
    assert {c["id"] for c in chunks} == {"chatcmpl-1"}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "Hello"
    assert [c["usage"] for c in chunks[:-1]] == [None] * 4
    assert chunks[-1]["usage"]["total_tokens"] == 5


def test_models_body() -> None:
    assert models_body([("smollm2", 1700000000, "chatstack"), ("minilm", 1, "chatstack")]) == {
        "object": "list",
        "data": [
            {"id": "smollm2", "object": "model", "created": 1700000000, "owned_by": "chatstack"},
            {"id": "minilm", "object": "model", "created": 1, "owned_by": "chatstack"},
        ],
    }
    assert models_body([]) == {"object": "list", "data": []}


VECTORS = [[0.25, -1.5, 3.0], [1e-3, 0.0, -0.0]]


def test_embeddings_body_as_floats() -> None:
    body = embeddings_body(
        model="minilm", vectors=VECTORS, prompt_tokens=7, encoding_format="float"
    )
    assert body == {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 0, "embedding": VECTORS[0]},
            {"object": "embedding", "index": 1, "embedding": VECTORS[1]},
        ],
        "model": "minilm",
        "usage": {"prompt_tokens": 7, "total_tokens": 7},
    }


def test_embeddings_body_from_numpy_vectors_is_json() -> None:
    vectors = np.array(VECTORS, dtype=np.float32)
    body = embeddings_body(
        model="m", vectors=list(vectors), prompt_tokens=1, encoding_format="float"
    )
    assert json.loads(json.dumps(body))["data"][0]["embedding"] == [0.25, -1.5, 3.0]


def test_base64_embeddings_decode_as_the_openai_sdk_decodes_them() -> None:
    vectors = np.random.default_rng(0).standard_normal((3, 384)).astype(np.float32)
    body = embeddings_body(
        model="m", vectors=list(vectors), prompt_tokens=1, encoding_format="base64"
    )
    for item, vector in zip(body["data"], vectors, strict=True):
        raw = base64.b64decode(item["embedding"])
        # the SDK: np.frombuffer(..., dtype="float32"), or array.array("f", ...) without numpy
        assert np.array_equal(np.frombuffer(raw, dtype="<f4"), vector)
        assert struct.unpack(f"<{len(vector)}f", raw) == tuple(vector.tolist())
        assert array.array("f", raw).tolist() == vector.tolist()


def test_base64_of_plain_floats() -> None:
    body = embeddings_body(
        model="m", vectors=[[1.0, -2.0]], prompt_tokens=1, encoding_format="base64"
    )
    assert body["data"][0]["embedding"] == base64.b64encode(struct.pack("<2f", 1.0, -2.0)).decode()


def test_an_unknown_encoding_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        embeddings_body(model="m", vectors=[[1.0]], prompt_tokens=1, encoding_format="int8")


# The openai SDK's own models, when it is installed ------------------------------------------


def test_bodies_validate_against_the_openai_sdk_models() -> None:
    chat_types = pytest.importorskip("openai.types.chat")
    types = pytest.importorskip("openai.types")
    completion = completion_body(
        completion_id=completion_id(),
        created=1700000000,
        model="m",
        content="Hi",
        finish_reason="length",
        prompt_tokens=1,
        completion_tokens=2,
    )
    parsed = chat_types.ChatCompletion.model_validate(completion)
    assert parsed.choices[0].message.content == "Hi" and parsed.usage.total_tokens == 3
    for body in (chunk({"role": "assistant", "content": ""}), chunk({}, "stop", usage=True)):
        chat_types.ChatCompletionChunk.model_validate(body)
    usage = usage_chunk_body(
        completion_id="c", created=1, model="m", prompt_tokens=1, completion_tokens=1
    )
    assert chat_types.ChatCompletionChunk.model_validate(usage).usage.total_tokens == 2
    for item in models_body([("m", 1, "me")])["data"]:
        assert types.Model.model_validate(item).id == "m"
    embeddings = embeddings_body(
        model="m", vectors=VECTORS, prompt_tokens=2, encoding_format="float"
    )
    assert types.CreateEmbeddingResponse.model_validate(embeddings).data[1].index == 1


def test_a_stream_reads_through_the_openai_sdk_decoder() -> None:
    streaming = pytest.importorskip("openai._streaming")
    chat_types = pytest.importorskip("openai.types.chat")
    if not hasattr(streaming, "SSEDecoder"):
        pytest.skip("this openai version has no SSEDecoder")
    events = [
        chunk({"role": "assistant", "content": ""}, usage=True),
        chunk({"content": "日本"}, usage=True),
        chunk({}, "stop", usage=True),
        usage_chunk_body(
            completion_id="chatcmpl-1", created=1, model="m", prompt_tokens=2, completion_tokens=1
        ),
    ]
    stream = b"".join(sse_event(e) for e in events) + DONE_EVENT
    pieces = [stream[i : i + 7] for i in range(0, len(stream), 7)]  # splits inside characters
    data = [sse.data for sse in streaming.SSEDecoder().iter_bytes(iter(pieces))]
    assert data[-1] == "[DONE]"
    chunks = [chat_types.ChatCompletionChunk.model_validate(json.loads(d)) for d in data[:-1]]
    assert chunks[1].choices[0].delta.content == "日本"
    assert chunks[2].choices[0].finish_reason == "stop"
    assert chunks[3].choices == [] and chunks[3].usage.completion_tokens == 1


def test_base64_embeddings_through_the_openai_sdk_parser() -> None:
    types = pytest.importorskip("openai.types")
    parsing = pytest.importorskip("openai.lib._parsing._embeddings")
    sdk_types = pytest.importorskip("openai._types")
    vectors = np.random.default_rng(1).standard_normal((2, 8)).astype(np.float32)
    body = embeddings_body(
        model="m", vectors=list(vectors), prompt_tokens=1, encoding_format="base64"
    )
    # As the SDK builds a response (without validation), then decodes the base64 itself when
    # its caller did not choose a format.
    response = types.CreateEmbeddingResponse.construct(**body)
    decoded = parsing.parse_embedding_response(response, encoding_format=sdk_types.NOT_GIVEN)
    for item, vector in zip(decoded.data, vectors, strict=True):
        assert item.embedding == vector.tolist()

"""The OpenAI-compatible API through Envoy, driven by the official `openai` Python package: the
real chat, inference (llama.cpp) and embedding services behind the real gateway."""

from __future__ import annotations

import uuid
from typing import Any

import openai
import pytest

from server_kit.headers import CACHE_STATUS, OPENAI_CHAT_ID
from tests.fixtures.gateway_client import call, create_chat, user_token
from tests.fixtures.stack import Gateway

MODEL = "smollm2-135m-instruct-q4_1"
EMBEDDING_MODEL = "all-MiniLM-L6-v2"
SHORT = {"temperature": 0, "max_tokens": 16}


def client(gw: Gateway, key: str) -> Any:
    """The SDK's client (typed Any: its overloads name OpenAI's own models, not ours)."""
    return openai.OpenAI(api_key=key, base_url=f"{gw.base_url}/v1", max_retries=0, timeout=120)


def new_api_key(gw: Gateway, token: str, name: str = "sdk") -> tuple[str, str]:
    """A fresh API key of the token's user: (key id, secret)."""
    reply = call(gw, "POST", "/api-keys", {"name": name}, token)
    assert reply.status == 200, reply.body
    body = reply.json()
    return body["api_key"]["key_id"], body["secret"]


@pytest.fixture()
def api_key(gateway: Gateway) -> str:
    _, token = user_token(gateway)
    return new_api_key(gateway, token)[1]


def error_field(error: openai.APIStatusError, name: str) -> Any:
    """A field of OpenAI's error body (the SDK hands over the `error` object)."""
    body = error.body
    assert isinstance(body, dict), body
    return body[name]


def question() -> str:
    """A question no other test asks (the answer cache is shared by the session's tests)."""
    return f"Spell the word {uuid.uuid4().hex[:6]} backwards."


def test_a_whole_completion_with_an_api_key(gateway: Gateway, api_key: str) -> None:
    reply = client(gateway, api_key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": question()}], **SHORT
    )
    assert reply.object == "chat.completion" and reply.model == MODEL
    choice = reply.choices[0]
    assert choice.message.role == "assistant" and choice.message.content
    assert choice.finish_reason in {"stop", "length"}
    assert reply.usage is not None and reply.usage.prompt_tokens > 0
    assert 0 < reply.usage.completion_tokens <= 16


def test_a_streamed_completion_with_usage(gateway: Gateway, api_key: str) -> None:
    stream = client(gateway, api_key).chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "You answer briefly."},
            {"role": "user", "content": question()},
        ],
        stream=True,
        stream_options={"include_usage": True},
        **SHORT,
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] in {"stop", "length"} and not any(finishes[:-1])
    *_, last = chunks
    assert last.choices == [] and last.usage is not None
    assert last.usage.completion_tokens > 0 and last.usage.prompt_tokens > 0


def test_a_repeated_question_is_answered_from_the_cache(gateway: Gateway, api_key: str) -> None:
    sdk = client(gateway, api_key)
    messages = [{"role": "user", "content": "What is the capital of France?"}]  # a new user
    first = sdk.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=messages,
        temperature=0,
        max_tokens=96,
    )
    assert first.headers[CACHE_STATUS] == "miss"
    answer = first.parse()
    if answer.choices[0].finish_reason != "stop":
        pytest.fail(f"the first answer was cut ({answer.choices[0].finish_reason}): not cached")
    second = None
    for _ in range(20):  # the answer is cached off the request path: poll, bounded
        second = sdk.chat.completions.with_raw_response.create(
            model=MODEL,
            messages=messages,
            temperature=0,
            max_tokens=96,
        )
        if second.headers[CACHE_STATUS] == "hit":
            break
    assert second is not None and second.headers[CACHE_STATUS] == "hit"
    assert second.parse().choices[0].message.content == answer.choices[0].message.content
    # Another user's identical question is not served from this user's entry.
    _, token = user_token(gateway)
    other = client(gateway, new_api_key(gateway, token)[1])
    theirs = other.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=messages,
        temperature=0,
        max_tokens=96,
    )
    assert theirs.headers[CACHE_STATUS] == "miss"


def test_the_model_list_and_one_model(gateway: Gateway, api_key: str) -> None:
    sdk = client(gateway, api_key)
    ids = [m.id for m in sdk.models.list()]
    assert ids == [MODEL, EMBEDDING_MODEL]
    assert sdk.models.retrieve(MODEL).id == MODEL
    with pytest.raises(openai.NotFoundError):
        sdk.models.retrieve("no-such-model")


def test_embeddings_as_floats_and_as_base64(gateway: Gateway, api_key: str) -> None:
    sdk = client(gateway, api_key)
    floats = sdk.embeddings.create(model=EMBEDDING_MODEL, input=["a cat", "a dog", "a car"],
                                   encoding_format="float")  # fmt: skip
    assert [d.index for d in floats.data] == [0, 1, 2]
    assert all(len(d.embedding) == 384 for d in floats.data)
    norm = sum(x * x for x in floats.data[0].embedding)
    assert abs(norm - 1.0) < 1e-3  # L2-normalized
    assert floats.usage.prompt_tokens == floats.usage.total_tokens == 12  # [CLS] a cat [SEP]
    packed = sdk.embeddings.create(model=EMBEDDING_MODEL, input="a cat")  # SDK asks base64
    assert packed.data[0].embedding == pytest.approx(floats.data[0].embedding, abs=1e-6)


def test_bad_requests_get_openai_errors(gateway: Gateway, api_key: str) -> None:
    sdk = client(gateway, api_key)
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.BadRequestError) as n:
        sdk.chat.completions.create(model=MODEL, messages=messages, n=2)
    assert error_field(n.value, "param") == "n"
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    with pytest.raises(openai.BadRequestError) as tools:
        sdk.chat.completions.create(model=MODEL, messages=messages, tools=[tool])
    assert error_field(tools.value, "param") == "tools"
    with pytest.raises(openai.NotFoundError) as model:
        sdk.chat.completions.create(model="gpt-4o", messages=messages)
    assert error_field(model.value, "code") == "model_not_found"
    with pytest.raises(openai.BadRequestError):
        sdk.embeddings.create(model=EMBEDDING_MODEL, input=[[1, 2, 3]])
    with pytest.raises(openai.BadRequestError) as too_long:  # refused by the embedding service
        sdk.embeddings.create(model=EMBEDDING_MODEL, input=["fine", "x" * 20_000])
    assert error_field(too_long.value, "param") == "input"
    assert "input[1]" in error_field(too_long.value, "message")
    with pytest.raises(openai.BadRequestError) as context:  # more than the model's context
        sdk.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "word " * 6000}], max_tokens=4
        )
    assert error_field(context.value, "code") == "context_length_exceeded"
    assert error_field(context.value, "param") == "messages"


def test_a_revoked_key_is_refused(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    key_id, secret = new_api_key(gateway, token)
    sdk = client(gateway, secret)
    assert sdk.models.list().data
    assert call(gateway, "DELETE", f"/api-keys/{key_id}", token=token).status == 200
    with pytest.raises(openai.AuthenticationError) as refused:
        sdk.models.list()
    assert refused.value.status_code == 401
    assert error_field(refused.value, "code") == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        client(gateway, "sk-cs-" + "x" * 43).models.list()
    with pytest.raises(openai.AuthenticationError):  # neither a key nor a valid token
        client(gateway, "not-a-token").models.list()


def test_a_sign_in_token_works_as_the_api_key(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    assert [m.id for m in client(gateway, token).models.list()] == [MODEL, EMBEDDING_MODEL]


def test_a_named_chat_keeps_the_turn(gateway: Gateway, api_key: str) -> None:
    """With the chat header the turn is stored in the caller's chat, like a native turn."""
    _, token = user_token(gateway)
    chat_id = create_chat(gateway, token)
    key = new_api_key(gateway, token)[1]
    content = question()
    reply = client(gateway, key).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": content}],
        extra_headers={OPENAI_CHAT_ID: chat_id}, **SHORT,
    )  # fmt: skip
    stored = call(gateway, "GET", f"/chat/{chat_id}", token=token).json()["messages"]
    assert [m["content"] for m in stored] == [content, reply.choices[0].message.content]
    # The chat's rules for a message hold: an empty one is refused, and nothing is stored.
    with pytest.raises(openai.BadRequestError):
        client(gateway, key).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "  "}],
            extra_headers={OPENAI_CHAT_ID: chat_id}, **SHORT,
        )  # fmt: skip
    assert len(call(gateway, "GET", f"/chat/{chat_id}", token=token).json()["messages"]) == 2
    # Another user's key cannot write to this chat.
    with pytest.raises(openai.NotFoundError):
        client(gateway, api_key).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}],
            extra_headers={OPENAI_CHAT_ID: chat_id}, **SHORT,
        )  # fmt: skip

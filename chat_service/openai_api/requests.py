"""OpenAI request bodies, parsed and validated into domain types.

Strict where a request asks for something this server cannot do (tools, images, n > 1, JSON
mode, logprobs): answering while ignoring it would be a wrong answer. Lenient with fields that
only tune or annotate a request (penalties, logit_bias, metadata, store, vendor extensions):
popular clients send many of them and must not fail on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chat_service.domain import Role, Sampling
from chat_service.openai_api.fields import (
    UNSUPPORTED_PARAMETER,
    integer,
    invalid,
    invalid_choice,
    load_object,
    missing,
    model_name,
    optional_bool,
    shown,
    text,
    unsupported,
    wrong_type,
)

MAX_MESSAGES = 1000
MAX_STOP_SEQUENCES = 4
ENCODING_FORMATS = ("float", "base64")

_ROLES = {
    "system": Role.SYSTEM,
    "developer": Role.SYSTEM,
    "user": Role.USER,
    "assistant": Role.ASSISTANT,
}
_TOOL_ROLES = ("tool", "function")
_NO_TOOLS = "this model server does not support tool calls"


@dataclass(frozen=True)
class ChatCompletionRequest:
    model: str
    messages: tuple[tuple[Role, str], ...]  # in order; content flattened to text
    sampling: Sampling
    stop: tuple[str, ...]
    stream: bool
    include_usage: bool  # stream_options.include_usage; False when not streaming
    user: str  # OpenAI's `user` ("" if absent); informational only


@dataclass(frozen=True)
class EmbeddingsRequest:
    model: str
    inputs: tuple[str, ...]
    encoding_format: str  # "float" | "base64"


def parse_chat_completion(body: bytes) -> ChatCompletionRequest:
    """Raises OpenAiError(400) naming the offending field in `param`."""
    data = load_object(body)
    model = model_name(data)
    messages = _messages(data)
    _check_supported(data)
    stream = optional_bool(data, "stream", "stream")
    include_usage = _include_usage(data)
    return ChatCompletionRequest(
        model=model,
        messages=messages,
        sampling=_sampling(data),
        stop=_stop(data),
        stream=stream,
        include_usage=stream and include_usage,
        user=_user(data),
    )


def parse_embeddings(body: bytes, max_inputs: int = 2048) -> EmbeddingsRequest:
    """Raises OpenAiError(400) naming the offending field in `param`."""
    data = load_object(body)
    model = model_name(data)
    inputs = _embedding_inputs(data, max_inputs)
    encoding_format = data.get("encoding_format")
    if encoding_format is None:
        encoding_format = "float"
    elif encoding_format not in ENCODING_FORMATS:
        raise invalid_choice("encoding_format", encoding_format, ENCODING_FORMATS)
    if data.get("dimensions") is not None:
        raise unsupported(
            "dimensions",
            "'dimensions' is not supported: this model returns vectors of its own fixed size.",
            UNSUPPORTED_PARAMETER,
        )
    return EmbeddingsRequest(model=model, inputs=inputs, encoding_format=encoding_format)


def _user(data: dict[str, Any]) -> str:
    value = data.get("user")
    return "" if value is None else text(value, "user")


def _include_usage(data: dict[str, Any]) -> bool:
    options = data.get("stream_options")
    if options is None:
        return False
    if not isinstance(options, dict):
        raise wrong_type("stream_options", "an object", options)
    return optional_bool(options, "include_usage", "stream_options.include_usage")


# Sampling ----------------------------------------------------------------------------------


def _sampling(data: dict[str, Any]) -> Sampling:
    return Sampling(
        temperature=_bounded_number(data, "temperature", 0.0, 2.0, low_open=False),
        top_p=_bounded_number(data, "top_p", 0.0, 1.0, low_open=True),
        max_tokens=_max_tokens(data),
        seed=_seed(data),
    )


def _bounded_number(
    data: dict[str, Any], key: str, low: float, high: float, *, low_open: bool
) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise wrong_type(key, "a number", value)
    above_low = value > low if low_open else value >= low
    if not (above_low and value <= high):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise invalid(key, f"Invalid value for '{key}': {shown(value)} is not in {interval}.")
    return float(value)


def _max_tokens(data: dict[str, Any]) -> int | None:
    limit = None
    # max_completion_tokens is read last so that it wins when both are given.
    for key in ("max_tokens", "max_completion_tokens"):
        value = data.get(key)
        if value is None:
            continue
        limit = integer(value, key)
        if limit < 1:
            raise invalid(key, f"Invalid value for '{key}': {limit}; it must be at least 1.")
    return limit


def _seed(data: dict[str, Any]) -> int | None:
    value = data.get("seed")
    if value is None:
        return None
    seed = integer(value, "seed")
    if seed.bit_length() > 64:
        raise invalid("seed", "Invalid value for 'seed': it must fit in 64 bits.")
    return seed % 2**64  # the engine takes an unsigned 64-bit seed


def _stop(data: dict[str, Any]) -> tuple[str, ...]:
    value = data.get("stop")
    if value is None:
        return ()
    if isinstance(value, str):
        return (text(value, "stop", allow_empty=False),)
    if not isinstance(value, list):
        raise wrong_type("stop", "a string or an array of strings", value)
    if len(value) > MAX_STOP_SEQUENCES:
        raise invalid("stop", f"'stop' takes at most {MAX_STOP_SEQUENCES} sequences.")
    return tuple(text(s, f"stop[{i}]", allow_empty=False) for i, s in enumerate(value))


# Features this server does not provide ----------------------------------------------------


def _check_supported(data: dict[str, Any]) -> None:
    _check_single_choice(data)
    _check_no_tools(data)
    _check_text_format(data)
    _check_no_logprobs(data)


def _check_single_choice(data: dict[str, Any]) -> None:
    value = data.get("n")
    if value is not None and integer(value, "n") != 1:
        raise unsupported("n", "Only n=1 is supported.")


def _check_no_tools(data: dict[str, Any]) -> None:
    for key in ("tools", "functions"):
        value = data.get(key)
        if value is None or value == []:
            continue
        if not isinstance(value, list):
            raise wrong_type(key, "an array", value)
        raise unsupported(key, f"'{key}' are not supported: {_NO_TOOLS}.", UNSUPPORTED_PARAMETER)
    for key in ("tool_choice", "function_call"):
        _check_no_tool_choice(key, data.get(key))


def _check_no_tool_choice(key: str, value: Any) -> None:
    if value is None or value in ("none", "auto"):
        return
    if isinstance(value, str) and value != "required":
        raise invalid_choice(key, value, ("none", "auto"))
    if not isinstance(value, str | dict):
        raise wrong_type(key, "a string or an object", value)
    raise unsupported(key, f"'{key}' cannot require a tool call: {_NO_TOOLS}.")


def _check_text_format(data: dict[str, Any]) -> None:
    value = data.get("response_format")
    if value is None:
        return
    if not isinstance(value, dict):
        raise wrong_type("response_format", "an object", value)
    kind = value.get("type")
    if kind == "text":
        return
    if kind in ("json_object", "json_schema"):
        message = f"response_format '{kind}' is not supported: this model server returns text only."
        raise unsupported("response_format", message)
    raise invalid_choice("response_format.type", kind, ("text",))


def _check_no_logprobs(data: dict[str, Any]) -> None:
    if optional_bool(data, "logprobs", "logprobs"):
        raise unsupported("logprobs", "'logprobs' is not supported by this model server.")
    top = data.get("top_logprobs")
    if top is not None and integer(top, "top_logprobs") != 0:
        raise unsupported("top_logprobs", "'top_logprobs' is not supported by this model server.")


# Messages ----------------------------------------------------------------------------------


def _messages(data: dict[str, Any]) -> tuple[tuple[Role, str], ...]:
    value = data.get("messages")
    if value is None:
        raise missing("messages")
    if not isinstance(value, list):
        raise wrong_type("messages", "an array", value)
    if not value:
        raise invalid("messages", "'messages' must contain at least one message.")
    if len(value) > MAX_MESSAGES:
        raise invalid("messages", f"'messages' takes at most {MAX_MESSAGES} messages.")
    return tuple(_message(m, f"messages[{i}]") for i, m in enumerate(value))


def _message(value: Any, param: str) -> tuple[Role, str]:
    if not isinstance(value, dict):
        raise wrong_type(param, "an object", value)
    role = _role(value.get("role"), f"{param}.role")
    if role is Role.ASSISTANT:
        _check_no_tool_calls(value, param)
    return role, _content(value, role, param)


def _role(value: Any, param: str) -> Role:
    if value is None:
        raise missing(param)
    if not isinstance(value, str):
        raise wrong_type(param, "a string", value)
    if value in _TOOL_ROLES:
        raise unsupported(param, f"Messages with role '{value}' are not supported: {_NO_TOOLS}.")
    role = _ROLES.get(value)
    if role is None:
        raise invalid_choice(param, value, tuple(_ROLES))
    return role


def _check_no_tool_calls(message: dict[str, Any], param: str) -> None:
    for key in ("tool_calls", "function_call"):
        if message.get(key) not in (None, []):
            raise unsupported(
                f"{param}.{key}", f"'{key}' in messages are not supported: {_NO_TOOLS}."
            )


def _content(message: dict[str, Any], role: Role, param: str) -> str:
    param = f"{param}.content"
    content = message.get("content")
    if content is None:
        if role is Role.ASSISTANT:  # an assistant turn that only called tools, or a refusal
            return ""
        if "content" not in message:
            raise missing(param)
        raise wrong_type(param, "a string or an array of content parts", content)
    if isinstance(content, list):
        return "".join(_text_part(p, role, f"{param}[{i}]") for i, p in enumerate(content))
    if not isinstance(content, str):
        raise wrong_type(param, "a string or an array of content parts", content)
    return text(content, param)


def _text_part(part: Any, role: Role, param: str) -> str:
    if not isinstance(part, dict):
        raise wrong_type(param, "a content part object", part)
    kind = part.get("type")
    if kind == "text":
        return text(part.get("text"), f"{param}.text")
    if kind == "refusal" and role is Role.ASSISTANT:  # the assistant's own words
        return text(part.get("refusal"), f"{param}.refusal")
    if kind is None:
        raise missing(f"{param}.type")
    if not isinstance(kind, str):
        raise wrong_type(f"{param}.type", "a string", kind)
    message = f"Content parts of type {shown(kind)} are not supported: this model reads text only."
    raise unsupported(f"{param}.type", message)


# Embeddings --------------------------------------------------------------------------------


def _embedding_inputs(data: dict[str, Any], max_inputs: int) -> tuple[str, ...]:
    value = data.get("input")
    if value is None:
        raise missing("input")
    if isinstance(value, str):
        return (text(value, "input", allow_empty=False),)
    if not isinstance(value, list):
        raise wrong_type("input", "a string or an array of strings", value)
    if not value:
        raise invalid("input", "'input' must not be an empty array.")
    if any(isinstance(v, int | list) and not isinstance(v, bool) for v in value):
        raise unsupported("input", "Token arrays are not supported; send text.")
    if len(value) > max_inputs:
        raise invalid("input", f"'input' takes at most {max_inputs} texts.")
    return tuple(text(v, f"input[{i}]", allow_empty=False) for i, v in enumerate(value))

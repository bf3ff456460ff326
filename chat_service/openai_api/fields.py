"""Typed fields of a JSON request object, and the 400 errors OpenAI's API answers with when a
field is missing, of the wrong JSON type or out of range. `param` names the field as a path,
such as `messages[2].content[0].type`."""

from __future__ import annotations

import json
from typing import Any

from chat_service.json_kind import json_kind
from chat_service.openai_api.errors import OpenAiError

INVALID_JSON = "invalid_json"
MISSING_PARAMETER = "missing_required_parameter"
INVALID_TYPE = "invalid_type"
INVALID_VALUE = "invalid_value"
UNSUPPORTED_PARAMETER = "unsupported_parameter"  # a feature this server never provides
UNSUPPORTED_VALUE = "unsupported_value"  # a value of an accepted field it cannot honour


def load_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object (NaN and Infinity are not JSON: refused)."""
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise OpenAiError(
            400, "The request body is not valid JSON (UTF-8).", code=INVALID_JSON
        ) from exc
    if not isinstance(data, dict):
        raise OpenAiError(
            400,
            f"The request body must be a JSON object, not {json_kind(data)}.",
            code=INVALID_JSON,
        )
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def shown(value: object) -> str:
    """A client's value quoted in a message: short, so a message never echoes a large body."""
    quoted = json.dumps(value)
    return quoted if len(quoted) <= 40 else quoted[:37] + "..."


def missing(param: str) -> OpenAiError:
    return OpenAiError(
        400, f"Missing required parameter: '{param}'.", param=param, code=MISSING_PARAMETER
    )


def wrong_type(param: str, expected: str, value: Any) -> OpenAiError:
    message = f"Invalid type for '{param}': expected {expected}, but got {json_kind(value)}."
    return OpenAiError(400, message, param=param, code=INVALID_TYPE)


def invalid(param: str, message: str) -> OpenAiError:
    return OpenAiError(400, message, param=param, code=INVALID_VALUE)


def invalid_choice(param: str, value: Any, choices: tuple[str, ...]) -> OpenAiError:
    supported = ", ".join(f"'{c}'" for c in choices)
    return invalid(param, f"Invalid value for '{param}': {shown(value)}. Supported: {supported}.")


def unsupported(param: str, message: str, code: str = UNSUPPORTED_VALUE) -> OpenAiError:
    return OpenAiError(400, message, param=param, code=code)


def model_name(data: dict[str, Any]) -> str:
    value = data.get("model")
    if value is None:
        raise missing("model")
    if not isinstance(value, str):
        raise wrong_type("model", "a string", value)
    if not value:
        raise invalid("model", "'model' must not be empty.")
    return value


def text(value: Any, param: str, *, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise wrong_type(param, "a string", value)
    if not value and not allow_empty:
        raise invalid(param, f"'{param}' must not be empty.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate escape such as "\ud800"
        raise invalid(param, f"'{param}' is not valid Unicode text.") from exc
    return value


def integer(value: Any, param: str) -> int:
    # JSON has one number type: 256.0 is the integer 256 to some clients' serializers.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(param, "an integer", value)
    return value


def optional_bool(container: dict[str, Any], key: str, param: str) -> bool:
    value = container.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise wrong_type(param, "a boolean", value)
    return value

"""OpenAI's error shape: an HTTP status and `{"error": {message, type, param, code}}`."""

from __future__ import annotations

from typing import Any


class OpenAiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def __repr__(self) -> str:
        fields = f"{self.status}, {self.message!r}, param={self.param!r}, code={self.code!r}"
        return f"OpenAiError({fields})"

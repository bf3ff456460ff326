"""A file to import, from its bytes to validated chats: decoded, its format recognised (this
service's export or ChatGPT's conversations.json), read whole. Anything wrong is an
InvalidArgument naming where it is, and nothing has been written yet."""

from __future__ import annotations

import json
from typing import Any

from chat_service.transfer.chatgpt import is_chatgpt, parse_chatgpt
from chat_service.transfer.fields import Field
from chat_service.transfer.format import FORMAT, is_chatstack, parse_chatstack
from chat_service.transfer.model import ImportedChat, ImportLimits, ParsedFile
from server_kit.errors import InvalidArgument

ZIP_MAGIC = b"PK\x03\x04"


def read_import(data: bytes, limits: ImportLimits) -> ParsedFile:
    doc = decode(data)
    root = Field(doc)
    if is_chatstack(doc):
        parsed = ParsedFile("chatstack", parse_chatstack(root, limits))
    elif is_chatgpt(doc):
        parsed = ParsedFile("chatgpt", parse_chatgpt(root, limits))
    elif isinstance(doc, dict) and "format" in doc:
        root.key("format").fail(f"{str(doc['format'])[:64]!r} is not {FORMAT!r}")
    else:
        raise InvalidArgument(
            "file",
            f'neither an export of this service (an object with "format": "{FORMAT}") nor '
            "ChatGPT's conversations.json (an array of conversations)",
        )
    check_totals(parsed.chats, limits)
    return parsed


def decode(data: bytes) -> Any:
    if not data.strip():
        raise InvalidArgument("file", "empty: choose a file to import")
    if data.startswith(ZIP_MAGIC):
        raise InvalidArgument("file", "a zip archive: import the conversations.json inside it")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidArgument("file", f"not UTF-8 text (at byte {exc.start})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(
            "file", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise InvalidArgument("file", "JSON nested too deeply to be an export") from exc


def check_totals(chats: list[ImportedChat], limits: ImportLimits) -> None:
    """One chat per source id, and no more messages in all than an import takes."""
    first: dict[str, str] = {}
    total = 0
    for chat in chats:
        if chat.source_id in first:
            raise InvalidArgument(
                chat.path, f"the same chat as {first[chat.source_id]} (id {chat.source_id[:64]!r})"
            )
        first[chat.source_id] = chat.path
        total += len(chat.messages)
        if total > limits.max_messages:
            raise InvalidArgument(
                chat.path,
                f"the file holds more than {limits.max_messages} messages: import it in parts",
            )

"""Reading files to import (chat_service/transfer/): this service's export format and ChatGPT's
conversations.json, what is kept and skipped, and every refusal naming the field at fault."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from chat_service.domain import HistoryPolicy, MessageStatus, Role
from chat_service.transfer.model import ImportedChat, ImportLimits, ParsedFile
from chat_service.transfer.reader import read_import
from server_kit.errors import InvalidArgument

SAMPLE = Path(__file__).resolve().parents[1] / "gateway" / "data" / "chatgpt_conversations.json"
LIMITS = ImportLimits(max_message_chars=2000, max_title_chars=200, max_system_prompt_chars=500)


def read(doc: Any, limits: ImportLimits = LIMITS) -> ParsedFile:
    return read_import(json.dumps(doc).encode(), limits)


def refused(doc: Any, limits: ImportLimits = LIMITS) -> InvalidArgument:
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    with pytest.raises(InvalidArgument) as caught:
        read_import(data, limits)
    return caught.value


def ours(**chat: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "chat_id": "0190a000-0000-7000-8000-000000000001",
        "title": "Saved",
        "system_prompt": "Be brief.",
        "settings": {
            "history_policy": "full",
            "model": "",
            "sampling": {"temperature": 0.5, "top_p": None, "max_tokens": 64, "seed": 2**63},
        },
        "create_time": "2026-01-02T03:04:05.678Z",
        "update_time": "2026-01-02T04:00:00.000Z",
        "messages": [
            {
                "message_id": "m1",
                "parent_id": None,
                "role": "user",
                "content": "Hi",
                "status": "complete",
                "create_time": "2026-01-02T03:04:06.000Z",
            },
            {
                "message_id": "m2",
                "parent_id": "m1",
                "role": "assistant",
                "content": "Hel",
                "status": "interrupted",
                "create_time": "2026-01-02T03:04:07.000Z",
                "model": "smol",
                "usage": {"prompt_tokens": 12, "completion_tokens": 3},
                "finish_reason": "",
                "error": "stopped",
            },
        ],
    }
    base.update(chat)
    return {"format": "chatstack.chats", "version": 1, "exported_at": None, "chats": [base]}


def sample() -> list[dict[str, Any]]:
    doc: list[dict[str, Any]] = json.loads(SAMPLE.read_text())
    return doc


# -- this service's format ------------------------------------------------------------------


def test_our_format_is_read_with_every_field() -> None:
    parsed = read(ours())
    assert parsed.format == "chatstack"
    (chat,) = parsed.chats
    assert (chat.title, chat.system_prompt) == ("Saved", "Be brief.")
    assert chat.settings.history_policy is HistoryPolicy.FULL
    assert chat.settings.sampling.max_tokens == 64 and chat.settings.sampling.seed == 2**63
    assert chat.created_at.isoformat() == "2026-01-02T03:04:05.678000+00:00"
    user, reply = chat.messages
    assert (user.role, user.content, user.status) == (Role.USER, "Hi", MessageStatus.COMPLETE)
    assert (reply.status, reply.model, reply.prompt_tokens, reply.error) == (
        MessageStatus.INTERRUPTED,
        "smol",
        12,
        "stopped",
    )


def test_a_reply_still_pending_at_export_is_imported_as_interrupted() -> None:
    doc = ours()
    doc["chats"][0]["messages"][1]["status"] = "pending"
    assert read(doc).chats[0].messages[1].status is MessageStatus.INTERRUPTED


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: c["messages"][1].update(role="robot"), "chats[0].messages[1].role"),
        (lambda c: c["messages"][0].update(content=None), "chats[0].messages[0].content"),
        (lambda c: c["messages"][0].update(content="x" * 2001), "chats[0].messages[0].content"),
        (lambda c: c["messages"][1].update(parent_id="m9"), "chats[0].messages[1].parent_id"),
        (lambda c: c["messages"][1].update(message_id="m1"), "chats[0].messages[1].message_id"),
        (lambda c: c["messages"][1].update(status="done"), "chats[0].messages[1].status"),
        (lambda c: c["messages"][1].update(create_time="yesterday"), "create_time"),
        (lambda c: c["messages"][1]["usage"].update(prompt_tokens=-1), "usage.prompt_tokens"),
        (lambda c: c.update(title="t" * 201), "chats[0].title"),
        (lambda c: c.update(system_prompt="s" * 501), "chats[0].system_prompt"),
        (lambda c: c.update(chat_id=""), "chats[0].chat_id"),
        (lambda c: c.update(create_time=None), "chats[0].create_time"),
        (lambda c: c["settings"].update(history_policy="all"), "settings.history_policy"),
        (lambda c: c["settings"]["sampling"].update(temperature=3), "sampling.temperature"),
        (lambda c: c.update(messages={}), "chats[0].messages"),
    ],
)
def test_a_bad_field_of_our_format_is_named(change: Any, field: str) -> None:
    doc = ours()
    change(doc["chats"][0])
    error = refused(doc)
    assert field in error.field, (error.field, error.message)
    assert error.message.startswith(error.field)


def test_a_newer_version_or_a_foreign_format_is_refused() -> None:
    doc = ours()
    doc["version"] = 2
    assert refused(doc).field == "version"
    doc = ours()
    doc["format"] = "someone.else"
    assert refused(doc).field == "format"
    assert refused({"chats": []}).field == "file"


def test_two_chats_with_one_id_are_refused() -> None:
    doc = ours()
    doc["chats"].append(copy.deepcopy(doc["chats"][0]))
    error = refused(doc)
    assert error.field == "chats[1]" and "chats[0]" in error.message


def test_the_chat_and_message_counts_are_capped() -> None:
    doc = ours()
    doc["chats"] = [dict(doc["chats"][0], chat_id=f"c{i}") for i in range(3)]
    assert refused(doc, ImportLimits(2000, 200, 500, max_chats=2)).field == "chats"
    assert refused(doc, ImportLimits(2000, 200, 500, max_messages=5)).field == "chats[2]"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"PK\x03\x04rest", "zip"),
        (b"\xff\xfe{", "UTF-8"),
        (b'{"format": "chatstack.chats", ', "not JSON"),
        (b"[" * 100_000, "JSON"),
        (b"42", "neither"),
    ],
)
def test_a_file_that_is_not_an_export_is_refused_in_words(data: bytes, words: str) -> None:
    error = refused(data)
    assert error.field == "file" and words in error.message, error.message


# -- ChatGPT's conversations.json -----------------------------------------------------------


def shown_branch(chat: ImportedChat) -> list[str]:
    """The contents of the branch a chat shows: its current message and its ancestors."""
    by_source = {m.source_id: i for i, m in enumerate(chat.messages)}
    index: int | None = by_source[chat.current_source_id]
    path = []
    while index is not None:
        path.append(chat.messages[index].content)
        index = chat.messages[index].parent_index
    return path[::-1]


def test_the_chatgpt_sample_imports_every_branch_and_shows_the_users() -> None:
    parsed = read(sample())
    assert parsed.format == "chatgpt"
    sorting, lisbon = parsed.chats
    assert sorting.title == "Sorting in Python"
    assert shown_branch(sorting) == [
        "How do I sort a list in Python?",
        "Use sorted(items) for a new list, or items.sort() in place.",
        "And by length?",  # the edited question (current_node's branch), not "in reverse"
        "Pass key=len: sorted(words, key=len).",
    ]
    # The other branch is imported too: a second version of the second question.
    assert [(m.content[:12], m.parent_index) for m in sorting.messages] == [
        ("How do I sor", None),
        ("Use sorted(i", 0),
        ("And in rever", 1),
        ("Pass reverse", 2),
        ("And by lengt", 1),
        ("Pass key=len", 4),
    ]
    assert [m.role for m in sorting.messages] == [Role.USER, Role.ASSISTANT] * 3
    assert sorting.messages[1].model == "gpt-4o" and sorting.messages[1].finish_reason == "stop"
    assert sorting.created_at.timestamp() == pytest.approx(1717500000.5)
    assert sorting.updated_at.timestamp() == pytest.approx(1717500200.5)
    # The hidden system message, the code and the tool's output are skipped; the image of a
    # multimodal message is left out, its text kept.
    assert (
        shown_branch(lisbon)
        == [m.content for m in lisbon.messages]
        == [
            "Plan a weekend in Lisbon for two, on foot.",
            "Day 1: Alfama and the castle. Day 2: Belém and the LX Factory.",
            "How many steps is the walk in this photo? Compute 2**10 too.",
            "About 4,000 steps; and 2**10 is 1024.",
        ]
    )
    assert lisbon.system_prompt == ""
    assert [m.parent_index for m in lisbon.messages] == [None, 0, 1, 2]  # past skipped nodes


def test_without_a_current_node_the_newest_branch_is_shown() -> None:
    doc = sample()
    del doc[0]["current_node"]
    assert shown_branch(read(doc).chats[0])[-1] == "Pass key=len: sorted(words, key=len)."
    doc[0]["mapping"]["b1-ans1"]["children"] = ["b1-q2b", "b1-q2a"]
    assert shown_branch(read(doc).chats[0])[-1].startswith("Pass reverse=True")


def test_a_single_conversation_and_leading_system_text_are_read() -> None:
    conversation = sample()[1]
    system = conversation["mapping"]["a1-sys"]["message"]
    system["content"]["parts"] = ["Answer in French."]
    system["metadata"] = {}
    parsed = read(conversation)  # one conversation, not in an array
    (lisbon,) = parsed.chats
    assert lisbon.system_prompt == "Answer in French."
    assert lisbon.messages[0].role is Role.USER


def bad_role(doc: list[dict[str, Any]]) -> None:
    doc[1]["mapping"]["a1-q2"]["message"]["author"]["role"] = "critic"


def cycle(doc: list[dict[str, Any]]) -> None:
    doc[0]["mapping"]["b1-root"]["parent"] = "b1-ans2b"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (bad_role, "[1].mapping.a1-q2.message.author.role"),
        (cycle, "[0].mapping"),
        (lambda d: d[0].update(current_node="nowhere"), "[0].current_node"),
        (lambda d: d[0]["mapping"]["b1-q1"].update(parent="gone"), "[0].mapping.b1-q1.parent"),
        (lambda d: d[0].update(mapping=[]), "[0].mapping"),
        (lambda d: d[0].pop("create_time"), "[0].create_time"),
        (lambda d: d[0].update(create_time="noon"), "[0].create_time"),
        (lambda d: [d[1].pop("id"), d[1].pop("conversation_id")], "[1].id"),
        (lambda d: d[0].update(title=["a"]), "[0].title"),
        (
            lambda d: d[0]["mapping"]["b1-q2b"]["message"]["content"].update(parts=[7]),
            "[0].mapping.b1-q2b.message.content.parts[0]",
        ),
        (
            lambda d: d[0]["mapping"]["b1-q1"]["message"]["content"].update(parts=["x" * 2001]),
            "[0].mapping.b1-q1.message.content.parts",
        ),
        (lambda d: d.append("not a conversation"), "[2]"),
        (lambda d: d.append(copy.deepcopy(d[0])), "[2]"),
    ],
)
def test_a_malformed_chatgpt_export_names_the_field(change: Any, field: str) -> None:
    doc = sample()
    change(doc)
    error = refused(doc)
    assert error.field.startswith(field), (error.field, error.message)


def test_a_branch_off_the_path_is_validated_like_the_rest() -> None:
    doc = sample()
    # Every branch is imported, so a role this import does not know is refused anywhere.
    doc[0]["mapping"]["b1-q2a"]["message"]["author"]["role"] = "critic"
    assert refused(doc).field == "[0].mapping.b1-q2a.message.author.role"

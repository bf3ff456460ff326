"""The exactly-once verification after the load.

The run waits (polling, with a deadline) until no stored message is PENDING, then reads every
chat back (GET /chat/{id}, every page) and checks:
- every acknowledged turn (its completion answered 200) has its user message stored exactly
  once, with the content sent; a turn that was never acknowledged at most once;
- every stored message belongs to a request id this run sent to that chat, one user and one
  assistant message per request id, the user message right before its reply, in the order
  the turns were sent;
- every completed turn (final event) is stored with the final's message ids, status COMPLETE,
  the streamed text and the final's `cached` flag;
- a stopped turn is INTERRUPTED (or COMPLETE, if it had finished first) and holds what was
  streamed before the stop; an in-band error is FAILED, a refused turn too; nothing is
  PENDING (or QUEUED);
- a deleted chat answers 404 and is not listed; GET /chats lists exactly the live chats.
With the SQLite store it also counts rows left behind for chats that no longer exist.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from loadgen.client import TransportError, open_request, read_body
from loadgen.records import ChatRecord, LoadState, TurnRecord

STATUS_PREFIX = "MESSAGE_STATUS_"
UNSETTLED = ("PENDING", "QUEUED")  # a reply not finished yet
ROLE_USER = "ROLE_USER"
ROLE_ASSISTANT = "ROLE_ASSISTANT"

Message = Mapping[str, Any]
ChatContents = tuple[int, list[dict[str, Any]]]  # (HTTP status, every message oldest first)


@dataclass
class Verification:
    chats_checked: int = 0
    deleted_checked: int = 0
    messages_read: int = 0
    pending_after_settle: int = 0
    settle_s: float = 0.0
    violations: list[str] = field(default_factory=list)
    orphans: dict[str, int] | None = None  # SQLite rows of chats that no longer exist
    # What was read back: chat id -> message id -> (status, content), for checks on a store's
    # own copy (the chaos run compares a Cassandra node's with it).
    stored: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)

    def fail(self, message: str) -> None:
        self.violations.append(message)


# ----------------------------------------------------------------------------- reading back


async def read_chat(state: LoadState, user: str, chat_id: str) -> ChatContents:
    """(status, every message oldest first), paging back from the newest page."""
    config, target = state.config, state.target
    pages: list[list[dict[str, Any]]] = []
    page_token = ""
    for _ in range(1000):
        path = f"/chat/{chat_id}?page_size=200"
        if page_token:
            path += f"&page_token={quote(page_token)}"
        response = await open_request(
            target.host, target.port, "GET", path, None, target.tokens[user],
            config.unary_timeout_s,
        )  # fmt: skip
        data = await read_body(response, config.unary_timeout_s)
        state.count("verify_get", response.status)
        if response.status != 200:
            return response.status, []
        page = json.loads(data)
        pages.append(page.get("messages", []))
        page_token = page.get("next_page_token", "")
        if not page_token:
            break
    return 200, [message for page in reversed(pages) for message in page]


async def list_chat_ids(state: LoadState, user: str) -> list[str]:
    config, target = state.config, state.target
    ids: list[str] = []
    page_token = ""
    for _ in range(1000):
        path = "/chats?page_size=100" + (f"&page_token={quote(page_token)}" if page_token else "")
        response = await open_request(
            target.host, target.port, "GET", path, None, target.tokens[user],
            config.unary_timeout_s,
        )  # fmt: skip
        data = await read_body(response, config.unary_timeout_s)
        state.count("verify_list", response.status)
        if response.status != 200:
            raise TransportError(f"GET /chats for {user}: HTTP {response.status}")
        page = json.loads(data)
        ids += [chat["chat_id"] for chat in page.get("chats", [])]
        page_token = page.get("next_page_token", "")
        if not page_token:
            break
    return ids


def sqlite_orphans(path: Path) -> dict[str, int]:
    """Rows of the SQLite history store whose chat no longer exists (left behind by a delete)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return {
            table: int(
                conn.execute(
                    f"""SELECT count(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM chats c
                        WHERE c.user_id = t.user_id AND c.chat_id = t.chat_id)"""
                ).fetchone()[0]
            )
            for table in ("messages", "turns_by_request", "summaries")
        }
    finally:
        conn.close()


# ----------------------------------------------------------------------------- one chat


def _status(message: Message) -> str:
    return str(message.get("status", "MESSAGE_STATUS_UNSPECIFIED")).removeprefix(STATUS_PREFIX)


def check_chat(
    chat: ChatRecord,
    messages: Sequence[Message],
    turns: Mapping[str, TurnRecord],
    verification: Verification,
) -> None:
    """The exactly-once invariants of one live chat (see the module docstring)."""
    fail = verification.fail
    where = f"chat {chat.chat_id} ({chat.user})"
    users, assistants, order = _by_request_id(chat, messages, where, fail)
    for rid in users.keys() | assistants.keys():
        n_users, n_replies = len(users.get(rid, [])), len(assistants.get(rid, []))
        if n_users > 1 or n_replies > 1:
            fail(f"{where}: {rid} stored {n_users} user and {n_replies} assistant messages")
    expected_order = [rid for rid in chat.request_ids if rid in users]
    if order != expected_order:
        fail(f"{where}: turns stored out of order: {order} vs sent {expected_order}")
    for rid in chat.request_ids:
        _check_turn(turns[rid], users.get(rid, []), assistants.get(rid, []), where, fail)


def _by_request_id(
    chat: ChatRecord, messages: Sequence[Message], where: str, fail: Callable[[str], None]
) -> tuple[dict[str, list[Message]], dict[str, list[Message]], list[str]]:
    """The stored user and assistant messages by request id, and the request ids of the user
    messages in stored order; fails unknown request ids, unsettled messages, unknown roles and
    a user message not right before its reply."""
    sent = set(chat.request_ids)
    users: dict[str, list[Message]] = {}
    assistants: dict[str, list[Message]] = {}
    order: list[str] = []
    for index, message in enumerate(messages):
        rid = str(message.get("client_request_id", ""))
        role = message.get("role")
        if rid not in sent:
            fail(f"{where}: stored {role} message for unknown request id {rid!r}")
        if _status(message) in UNSETTLED:
            fail(f"{where}: {rid} is still {_status(message)}")
        if role == ROLE_USER:
            users.setdefault(rid, []).append(message)
            order.append(rid)
            reply = messages[index + 1] if index + 1 < len(messages) else None
            if (
                reply is None
                or reply.get("role") != ROLE_ASSISTANT
                or (reply.get("client_request_id") != rid)
            ):
                fail(f"{where}: user message of {rid} is not followed by its reply")
        elif role == ROLE_ASSISTANT:
            assistants.setdefault(rid, []).append(message)
        else:
            fail(f"{where}: message with role {role!r}")
    return users, assistants, order


def _check_turn(
    turn: TurnRecord,
    user_messages: Sequence[Message],
    replies: Sequence[Message],
    where: str,
    fail: Callable[[str], None],
) -> None:
    """One sent turn against what is stored for its request id."""
    rid = turn.request_id
    if turn.acknowledged and len(user_messages) != 1:
        fail(f"{where}: acknowledged {rid} ({turn.outcome}) stored {len(user_messages)}x")
    if user_messages and user_messages[0].get("content") != turn.content:
        fail(f"{where}: {rid} stored question {user_messages[0].get('content')!r}")
    if user_messages and len(replies) != 1:
        fail(f"{where}: {rid} has {len(replies)} replies")
    if replies:
        _check_reply(turn, user_messages, replies[0], where, fail)


def _check_reply(
    turn: TurnRecord,
    user_messages: Sequence[Message],
    reply: Message,
    where: str,
    fail: Callable[[str], None],
) -> None:
    """A turn's stored reply against how the turn ended. A turn that ended without a final
    takes its `cached` flag from the store."""
    rid = turn.request_id
    status, content = _status(reply), str(reply.get("content", ""))
    if turn.outcome in ("cancelled", "stream_broken", "aborted") and turn.cached is None:
        turn.cached = bool(reply.get("cached", False))
    if turn.outcome == "final":
        final = turn.final or {}
        if reply.get("message_id") != final.get("assistant_message_id") or (
            user_messages and user_messages[0].get("message_id") != final.get("user_message_id")
        ):
            fail(f"{where}: {rid} final ids {final} do not match the stored messages")
        if status != "COMPLETE":
            fail(f"{where}: completed {rid} stored as {status}")
        if content != turn.text:
            fail(f"{where}: completed {rid} stored {content!r}, streamed {turn.text!r}")
        if bool(reply.get("cached", False)) != bool(final.get("cached", False)):
            fail(f"{where}: {rid} cached flag differs between the final and the store")
    elif turn.outcome == "cancelled":
        if status not in ("INTERRUPTED", "COMPLETE"):
            fail(f"{where}: stopped {rid} stored as {status}")
        if not content.startswith(turn.text):
            fail(f"{where}: stopped {rid} stored {content!r}, streamed {turn.text!r}")
    elif turn.outcome == "error_event":
        if status != "FAILED":
            fail(f"{where}: {rid} ended with an error event but is stored as {status}")
    elif turn.outcome in ("gave_up", "window_closed", "http_error") and status != "FAILED":
        # A refused attempt records its turn as FAILED before it answers; but a replica that
        # died after storing the turn (Envoy answers 503) leaves it to be marked INTERRUPTED.
        died = turn.outcome == "http_error" and turn.statuses[-1:] == [503]
        if not (died and status == "INTERRUPTED"):
            fail(f"{where}: refused {rid} stored as {status}")


# ----------------------------------------------------------------------------- the whole run


async def verify(state: LoadState) -> Verification:
    config = state.config
    verification = Verification()
    turns = {turn.request_id: turn for turn in state.turns}
    live = [chat for chat in state.chats.values() if not chat.deleted]
    deleted = [chat for chat in state.chats.values() if chat.deleted]
    limit = asyncio.Semaphore(config.verify_concurrency)

    async def read(chat: ChatRecord) -> ChatContents:
        async with limit:
            return await read_chat(state, chat.user, chat.chat_id)

    contents = await _settle(config.settle_timeout_s, live, read, verification)
    for chat, (status, messages) in zip(live, contents, strict=True):
        verification.chats_checked += 1
        verification.messages_read += len(messages)
        verification.stored[chat.chat_id] = {
            str(m.get("message_id")): (_status(m), str(m.get("content", ""))) for m in messages
        }
        if status != 200:
            verification.fail(f"live chat {chat.chat_id} ({chat.user}): GET answered {status}")
            continue
        check_chat(chat, messages, turns, verification)
    for chat, (status, _) in zip(deleted, await asyncio.gather(*(read(c) for c in deleted)),
                                 strict=True):  # fmt: skip
        verification.deleted_checked += 1
        if status != 404:
            verification.fail(f"deleted chat {chat.chat_id} ({chat.user}): GET answered {status}")
    await _check_lists(state, live, limit, verification)
    if state.target.sqlite_path is not None:
        verification.orphans = await asyncio.to_thread(sqlite_orphans, state.target.sqlite_path)
    return verification


async def _settle(
    timeout_s: float,
    live: Sequence[ChatRecord],
    read: Callable[[ChatRecord], Awaitable[ChatContents]],
    verification: Verification,
) -> list[ChatContents]:
    """Stopped turns record their end after the stream closed: reads the live chats until no
    message is PENDING (or the deadline), and returns what the last read found."""
    started = time.monotonic()
    deadline = started + timeout_s
    while True:
        contents = await asyncio.gather(*(read(chat) for chat in live))
        pending = sum(
            _status(message) in UNSETTLED for _, messages in contents for message in messages
        )
        if not pending or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.5)
    verification.settle_s = time.monotonic() - started
    verification.pending_after_settle = pending
    return contents


async def _check_lists(
    state: LoadState,
    live: Sequence[ChatRecord],
    limit: asyncio.Semaphore,
    verification: Verification,
) -> None:
    """GET /chats of every user lists exactly its live chats, each once."""
    by_user: dict[str, set[str]] = {}
    for chat in live:
        by_user.setdefault(chat.user, set()).add(chat.chat_id)

    async def listed(user: str) -> list[str]:
        async with limit:
            return await list_chat_ids(state, user)

    users = sorted(state.target.tokens)
    for user, ids in zip(users, await asyncio.gather(*(listed(u) for u in users)), strict=True):
        if len(ids) != len(set(ids)):
            verification.fail(f"GET /chats for {user} lists a chat twice")
        if set(ids) != by_user.get(user, set()):
            verification.fail(
                f"GET /chats for {user}: {sorted(set(ids) ^ by_user.get(user, set()))} "
                "differ from the live chats"
            )

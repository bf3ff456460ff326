"""The chat's message tree on SQLite (docs/branches.md): paths, versions at forks, threads.

Every read is a walk of indexes, never of the chat:
- a path is a recursive CTE that follows parent ids by primary key, one seek per message
  (a legacy row, parent "", seeks the previous message in id order instead);
- the versions at a fork are one range of `messages_by_parent` (user, chat, parent, id);
- a thread's tip is the last entry of `messages_by_thread` (user, chat, thread, id).
The functions run on the store's worker thread, inside its transactions.
So GetChat's first page and a prompt's history cost the same with 10 or 10,000 messages.

Parents are stored as given, except a root, stored as the chat's id ("" stays "legacy").
Threads: a message continues its parent's thread when the parent had no child yet, and starts
its own (thread id = its id) otherwise; "" is the chat's first thread. The newest message of a
thread is therefore always a leaf, which is what select_message shows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from chat_service.domain import MessageRecord, Placement, Turn
from chat_service.store.sqlite_schema import (
    MSG_COLS,
    UPSERT_MESSAGE,
    message_from_row,
    message_params,
)

_KEY = "user_id = ? AND chat_id = ?"
# The effective parent of the row `m`: NULL for a root.
_PARENT_OF = f"""CASE
    WHEN m.parent_id = '' THEN (SELECT p.message_id FROM messages p
        WHERE p.{_KEY} AND p.message_id < m.message_id ORDER BY p.message_id DESC LIMIT 1)
    WHEN m.parent_id = m.chat_id THEN NULL
    ELSE m.parent_id END"""
_MSG = ", ".join(f"m.{col.strip()}" for col in MSG_COLS.split(","))
_PATH = f"""
    WITH RECURSIVE path(id, parent, depth) AS (
        SELECT m.message_id, {_PARENT_OF}, 0 FROM messages m
        WHERE m.{_KEY} AND m.message_id = ?
        UNION ALL
        SELECT m.message_id, {_PARENT_OF}, path.depth + 1
        FROM path JOIN messages m
            ON m.user_id = ? AND m.chat_id = ? AND m.message_id = path.parent
        WHERE path.depth + 1 < ?
    )
    SELECT path.parent AS effective_parent, {_MSG}
    FROM path JOIN messages m ON m.{_KEY} AND m.message_id = path.id
    ORDER BY path.depth"""


def stored_parent(chat_id: str, parent_id: str) -> str:
    """What a parent is stored as: a root's is the chat's id ("" would read as legacy)."""
    return parent_id or chat_id


def _record(row: sqlite3.Row) -> MessageRecord:
    message = message_from_row(row)
    message.parent_id = row["effective_parent"] or ""
    return message


def newest_before(conn: sqlite3.Connection, user_id: str, chat_id: str, before: str | None) -> str:
    """The newest message's id (older than `before` when given); "" when none."""
    sql = f"SELECT message_id FROM messages WHERE {_KEY}"
    params: list[str] = [user_id, chat_id]
    if before is not None:
        sql += " AND message_id < ?"
        params.append(before)
    row = conn.execute(sql + " ORDER BY message_id DESC LIMIT 1", params).fetchone()
    return str(row[0]) if row else ""


def _stored_row(
    conn: sqlite3.Connection, user_id: str, chat_id: str, message_id: str
) -> sqlite3.Row | None:
    return conn.execute(
        f"SELECT parent_id, thread_id FROM messages WHERE {_KEY} AND message_id = ?",
        (user_id, chat_id, message_id),
    ).fetchone()


def path_start(conn: sqlite3.Connection, user_id: str, chat_id: str, before: str | None) -> str:
    """The newest message of the path to read: the current leaf, or the parent of `before`."""
    if before is None:
        row = conn.execute(
            f"SELECT current_message_id FROM chats WHERE {_KEY}", (user_id, chat_id)
        ).fetchone()
        current = row[0] if row else ""
        return current or newest_before(conn, user_id, chat_id, None)
    stored = _stored_row(conn, user_id, chat_id, before)
    if stored is None or stored["parent_id"] == "":  # legacy, or no message: id order
        return newest_before(conn, user_id, chat_id, before)
    return "" if stored["parent_id"] == chat_id else str(stored["parent_id"])


def read_path(
    conn: sqlite3.Connection, user_id: str, chat_id: str, limit: int, before: str | None
) -> list[MessageRecord]:
    start = path_start(conn, user_id, chat_id, before)
    if not start:
        return []
    key = (user_id, chat_id)
    params = (*key, *key, start, *key, *key, limit, *key)
    return [_record(row) for row in conn.execute(_PATH, params)]


def read_message(
    conn: sqlite3.Connection, user_id: str, chat_id: str, message_id: str
) -> MessageRecord | None:
    key = (user_id, chat_id)
    params = (*key, *key, message_id, *key, *key, 1, *key)
    row = conn.execute(_PATH, params).fetchone()
    return _record(row) if row else None


def read_all(
    conn: sqlite3.Connection, user_id: str, chat_id: str, limit: int, after: str | None
) -> list[MessageRecord]:
    """Messages in id order; a legacy row's parent is the row before it."""
    sql = f"SELECT parent_id AS stored_parent, {MSG_COLS} FROM messages WHERE {_KEY}"
    params: list[object] = [user_id, chat_id]
    if after is not None:
        sql += " AND message_id > ?"
        params.append(after)
    rows = conn.execute(sql + " ORDER BY message_id LIMIT ?", [*params, limit]).fetchall()
    out: list[MessageRecord] = []
    previous = after or ""
    for row in rows:
        message = message_from_row(row)
        stored = row["stored_parent"]
        message.parent_id = previous if stored == "" else ("" if stored == chat_id else stored)
        out.append(message)
        previous = message.message_id
    return out


def read_siblings(
    conn: sqlite3.Connection, user_id: str, chat_id: str, messages: Sequence[MessageRecord]
) -> dict[str, list[str]]:
    parents = sorted({stored_parent(chat_id, m.parent_id) for m in messages})
    if not parents:
        return {}
    marks = ", ".join("?" * len(parents))
    children: dict[str, list[str]] = {}
    for row in conn.execute(
        f"""SELECT parent_id, message_id FROM messages WHERE {_KEY} AND parent_id IN ({marks})
            ORDER BY parent_id, message_id""",
        (user_id, chat_id, *parents),
    ):
        children.setdefault(row[0], []).append(row[1])
    out: dict[str, list[str]] = {}
    for m in messages:
        versions = children.get(stored_parent(chat_id, m.parent_id), [])
        if len(versions) > 1 and m.message_id in versions:
            out[m.message_id] = versions
    return out


def thread_tip(conn: sqlite3.Connection, user_id: str, chat_id: str, message_id: str) -> str | None:
    stored = _stored_row(conn, user_id, chat_id, message_id)
    if stored is None:
        return None
    row = conn.execute(
        f"""SELECT message_id FROM messages WHERE {_KEY} AND thread_id = ?
            ORDER BY message_id DESC LIMIT 1""",
        (user_id, chat_id, stored["thread_id"]),
    ).fetchone()
    return str(row[0])


def select(conn: sqlite3.Connection, user_id: str, chat_id: str, message_id: str) -> str | None:
    tip = thread_tip(conn, user_id, chat_id, message_id)
    if tip is not None:
        conn.execute(
            f"UPDATE chats SET current_message_id = ? WHERE {_KEY}", (tip, user_id, chat_id)
        )
    return tip


def _adopt_implicit_child(
    conn: sqlite3.Connection, user_id: str, chat_id: str, parent: str
) -> bool:
    """Gives the legacy child of `parent` (the message after it in id order, stored with
    parent "") its parent explicitly, so the fork's index range holds every version. True if
    `parent` had one."""
    sql = f"SELECT message_id, parent_id FROM messages WHERE {_KEY}"
    params: list[str] = [user_id, chat_id]
    if parent:
        sql += " AND message_id > ?"
        params.append(parent)
    row = conn.execute(sql + " ORDER BY message_id LIMIT 1", params).fetchone()
    if row is None or row["parent_id"] != "":
        return False
    conn.execute(
        f"UPDATE messages SET parent_id = ? WHERE {_KEY} AND message_id = ?",
        (stored_parent(chat_id, parent), user_id, chat_id, row["message_id"]),
    )
    return True


def _thread_under(conn: sqlite3.Connection, user_id: str, chat_id: str, parent: str) -> str | None:
    """The thread a new child of `parent` continues; None: the parent has a child already,
    so the new one starts a thread of its own."""
    adopted = _adopt_implicit_child(conn, user_id, chat_id, parent)
    child = conn.execute(
        f"""SELECT 1 FROM messages WHERE {_KEY} AND parent_id = ? LIMIT 1""",
        (user_id, chat_id, stored_parent(chat_id, parent)),
    ).fetchone()
    if adopted or child is not None:
        return None
    if not parent:
        return ""  # the chat's very first message
    stored = _stored_row(conn, user_id, chat_id, parent)
    return str(stored["thread_id"]) if stored is not None else ""


def write_placed_turn(
    conn: sqlite3.Connection, user_id: str, turn: Turn, placement: Placement
) -> tuple[MessageRecord | None, MessageRecord]:
    """Writes a turn's new messages where `placement` says (see begin_turn); returns them with
    their parents (the user message None when it existed already)."""
    chat_id = turn.user.chat_id
    if placement.regenerate:
        parent = turn.user.message_id
    elif placement.parent_id is None:
        row = conn.execute(
            f"SELECT current_message_id FROM chats WHERE {_KEY}", (user_id, chat_id)
        ).fetchone()
        parent = row[0] if row and row[0] else ""
        if not parent:  # a chat that never branched: a legacy append, one line in id order
            turn.assistant.parent_id = turn.user.message_id
            _write(conn, user_id, turn.user, "", "")
            _write(conn, user_id, turn.assistant, "", "")
            return turn.user, turn.assistant
    else:
        parent = placement.parent_id
    thread = _thread_under(conn, user_id, chat_id, parent)
    first = turn.assistant if placement.regenerate else turn.user
    thread = first.message_id if thread is None else thread
    user: MessageRecord | None = None
    if not placement.regenerate:
        turn.user.parent_id = parent
        _write(conn, user_id, turn.user, stored_parent(chat_id, parent), thread)
        user, parent = turn.user, turn.user.message_id
    turn.assistant.parent_id = parent
    _write(conn, user_id, turn.assistant, parent, thread)
    conn.execute(
        f"UPDATE chats SET current_message_id = ? WHERE {_KEY}",
        (turn.assistant.message_id, user_id, chat_id),
    )
    return user, turn.assistant


def _write(
    conn: sqlite3.Connection, user_id: str, message: MessageRecord, parent: str, thread: str
) -> None:
    conn.execute(UPSERT_MESSAGE, (*message_params(user_id, message), parent, thread))


def write_added(conn: sqlite3.Connection, user_id: str, message: MessageRecord) -> None:
    """An imported message under its given parent (parents are written before children)."""
    parent = message.parent_id
    thread = _thread_under(conn, user_id, message.chat_id, parent)
    _write(
        conn,
        user_id,
        message,
        stored_parent(message.chat_id, parent),
        message.message_id if thread is None else thread,
    )

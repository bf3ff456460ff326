"""SearchIndex on SQLite: FTS5 (docs/search.md), kept in step with the tables by triggers, so
no write path of the store has to remember it.

- message_fts: contentless (the text is already in `messages`; the index holds postings only),
  rowid = the message's rowid. A message is indexed while it is a complete user or assistant
  message with text; the triggers remove the old text and add the new one on every change
  (a contentless table is told exactly what to remove: the old row, which a trigger has).
- Messages reach message_fts in batches (migration 7): indexing one in its own transaction
  cost 60 µs of the store's thread, most of it the new segment FTS5 writes at each commit, so
  the triggers queue a changed message's rowid in message_fts_pending, and `flush_pending`
  indexes the queue in one transaction: before every search (a search sees every message
  stored before it) and, from the store's thread, a few times a second. A message is either
  queued (nothing of it indexed yet) or not (the index holds its text if it is indexable).
- title_fts: with its content (titles are short), rowid from chat_rowids (chats has no rowid).
- Both carry an `owner` column holding hex(user_id): one token, exact, so a query asks for
  `owner : "<hex>" AND body : "word" ...` and the index intersects the user's postings with
  the words' instead of reading the user's history. The tokenizer folds case and accents.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from chat_service.store._codec import from_ms
from chat_service.store.search_index import SearchIndex, SearchMatch

T = TypeVar("T")

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 0.25  # a few hundred messages a batch at most, a few ms of the store's thread

_TOKENIZER = "tokenize = 'unicode61 remove_diacritics 2'"
_INDEXED = (
    "{row}.role IN ('user', 'assistant') AND {row}.status = 'complete' AND {row}.content != ''"
)
_OLD, _NEW = _INDEXED.format(row="old"), _INDEXED.format(row="new")
_ROWID_OF = "(SELECT id FROM chat_rowids WHERE user_id = {row}.user_id AND chat_id = {row}.chat_id)"

SEARCH_TABLES = [
    f"CREATE VIRTUAL TABLE message_fts USING fts5(owner, body, content = '', {_TOKENIZER})",
    f"CREATE VIRTUAL TABLE title_fts USING fts5(owner, body, {_TOKENIZER})",
    """CREATE TABLE chat_rowids (
        id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        UNIQUE (user_id, chat_id)
    )""",
    f"""CREATE TRIGGER message_fts_insert AFTER INSERT ON messages WHEN {_NEW} BEGIN
        INSERT INTO message_fts (rowid, owner, body)
        VALUES (new.rowid, hex(new.user_id), new.content);
    END""",
    f"""CREATE TRIGGER message_fts_update AFTER UPDATE ON messages BEGIN
        INSERT INTO message_fts (message_fts, rowid, owner, body)
        SELECT 'delete', old.rowid, hex(old.user_id), old.content WHERE {_OLD};
        INSERT INTO message_fts (rowid, owner, body)
        SELECT new.rowid, hex(new.user_id), new.content WHERE {_NEW};
    END""",
    f"""CREATE TRIGGER message_fts_delete AFTER DELETE ON messages WHEN {_OLD} BEGIN
        INSERT INTO message_fts (message_fts, rowid, owner, body)
        VALUES ('delete', old.rowid, hex(old.user_id), old.content);
    END""",
    # chats is written with INSERT OR REPLACE (no delete trigger fires for the replaced row):
    # the insert trigger clears the title a replaced row left.
    f"""CREATE TRIGGER title_fts_insert AFTER INSERT ON chats BEGIN
        INSERT OR IGNORE INTO chat_rowids (user_id, chat_id) VALUES (new.user_id, new.chat_id);
        DELETE FROM title_fts WHERE rowid = {_ROWID_OF.format(row="new")};
        INSERT INTO title_fts (rowid, owner, body)
        VALUES ({_ROWID_OF.format(row="new")}, hex(new.user_id), new.title);
    END""",
    f"""CREATE TRIGGER title_fts_update AFTER UPDATE OF title ON chats BEGIN
        DELETE FROM title_fts WHERE rowid = {_ROWID_OF.format(row="new")};
        INSERT INTO title_fts (rowid, owner, body)
        VALUES ({_ROWID_OF.format(row="new")}, hex(new.user_id), new.title);
    END""",
    f"""CREATE TRIGGER title_fts_delete AFTER DELETE ON chats BEGIN
        DELETE FROM title_fts WHERE rowid = {_ROWID_OF.format(row="old")};
        DELETE FROM chat_rowids WHERE user_id = old.user_id AND chat_id = old.chat_id;
    END""",
    # What a store written before this migration holds.
    "INSERT INTO chat_rowids (user_id, chat_id) SELECT user_id, chat_id FROM chats",
    """INSERT INTO title_fts (rowid, owner, body)
       SELECT r.id, hex(c.user_id), c.title FROM chats c
       JOIN chat_rowids r ON r.user_id = c.user_id AND r.chat_id = c.chat_id""",
    f"""INSERT INTO message_fts (rowid, owner, body) SELECT rowid, hex(user_id), content
        FROM messages WHERE {_INDEXED.format(row="messages")}""",
]

# 7: messages indexed in batches (see the module's docstring). An update or a delete takes an
# indexed text out of the index at once (the old row is at hand only in the trigger); a
# queued message has nothing indexed yet: it leaves the queue, or stays in it to be indexed
# with whatever text it has when the queue is flushed.
# (Not INSERT OR IGNORE: an upsert's conflict handling overrides a trigger's OR clause.)
_NOT_QUEUED = "NOT EXISTS (SELECT 1 FROM message_fts_pending WHERE id = {row}.rowid)"
_QUEUE_NEW = f"""INSERT INTO message_fts_pending (id)
        SELECT new.rowid WHERE {_NEW} AND {_NOT_QUEUED.format(row="new")}"""
_UNINDEX_OLD = f"""INSERT INTO message_fts (message_fts, rowid, owner, body)
        SELECT 'delete', old.rowid, hex(old.user_id), old.content
        WHERE {_OLD} AND {_NOT_QUEUED.format(row="old")}"""
_TITLE_ROWID = _ROWID_OF.format(row="new")
_REINDEX_TITLE = f"""DELETE FROM title_fts WHERE rowid = {_TITLE_ROWID};
        INSERT INTO title_fts (rowid, owner, body)
        SELECT {_TITLE_ROWID}, hex(new.user_id), new.title WHERE new.title != ''"""
BATCHED_TABLES = [
    "CREATE TABLE message_fts_pending (id INTEGER PRIMARY KEY)",
    "DROP TRIGGER message_fts_insert",
    "DROP TRIGGER message_fts_update",
    "DROP TRIGGER message_fts_delete",
    f"""CREATE TRIGGER message_fts_insert AFTER INSERT ON messages BEGIN
        {_QUEUE_NEW};
    END""",
    f"""CREATE TRIGGER message_fts_update AFTER UPDATE ON messages BEGIN
        {_UNINDEX_OLD};
        {_QUEUE_NEW};
    END""",
    f"""CREATE TRIGGER message_fts_delete AFTER DELETE ON messages BEGIN
        {_UNINDEX_OLD};
        DELETE FROM message_fts_pending WHERE id = old.rowid;
    END""",
    # An empty title (a chat not yet named by its first turn) matches nothing: not indexed.
    "DROP TRIGGER title_fts_insert",
    "DROP TRIGGER title_fts_update",
    f"""CREATE TRIGGER title_fts_insert AFTER INSERT ON chats BEGIN
        INSERT OR IGNORE INTO chat_rowids (user_id, chat_id) VALUES (new.user_id, new.chat_id);
        {_REINDEX_TITLE};
    END""",
    f"""CREATE TRIGGER title_fts_update AFTER UPDATE OF title ON chats BEGIN
        {_REINDEX_TITLE};
    END""",
    "DELETE FROM title_fts WHERE body = ''",
]
_FLUSH = f"""
    INSERT INTO message_fts (rowid, owner, body)
    SELECT m.rowid, hex(m.user_id), m.content
    FROM message_fts_pending p JOIN messages m ON m.rowid = p.id
    WHERE {_INDEXED.format(row="m")}"""


def flush_pending(conn: sqlite3.Connection) -> None:
    """Indexes the queued messages, in one transaction; with none queued (most searches, an
    idle store) it takes no write lock."""
    if conn.execute("SELECT 1 FROM message_fts_pending LIMIT 1").fetchone() is None:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_FLUSH)
        conn.execute("DELETE FROM message_fts_pending")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class QueuedIndexing:
    """Flushes the queue from the store's thread after a call, at most every FLUSH_EVERY_S."""

    def __init__(self) -> None:
        self._flushed_at = time.monotonic()

    def after_call(self, conn: sqlite3.Connection) -> None:
        now = time.monotonic()
        if now - self._flushed_at < FLUSH_EVERY_S or conn.in_transaction:
            return
        self._flushed_at = now
        try:
            flush_pending(conn)
        except sqlite3.OperationalError:  # locked by another process: a later call flushes
            log.debug("indexing queued messages failed; retried later", exc_info=True)


_MESSAGES = """
    SELECT m.chat_id, m.message_id AS id, m.content AS text, m.created_at AS at
    FROM message_fts JOIN messages m ON m.rowid = message_fts.rowid
    WHERE message_fts MATCH ? AND m.user_id = ? {before}
    ORDER BY m.created_at DESC, m.message_id DESC LIMIT ?"""
_TITLES = """
    SELECT c.chat_id, c.chat_id AS id, c.title AS text, c.updated_at AS at
    FROM title_fts JOIN chat_rowids r ON r.id = title_fts.rowid
    JOIN chats c ON c.user_id = r.user_id AND c.chat_id = r.chat_id
    WHERE title_fts MATCH ? AND c.user_id = ? {before}
    ORDER BY c.updated_at DESC, c.chat_id DESC LIMIT ?"""


def match_expression(user_id: str, words: Sequence[str]) -> str:
    """The FTS5 query: the owner's token and every word, each a quoted string (FTS5 tokenizes
    it like the text; a word the tokenizer splits, "e-mail", is a phrase)."""
    owner = user_id.encode().hex().upper()
    quoted = [f'body : "{word.replace(chr(34), chr(34) * 2)}"' for word in words]
    return " AND ".join([f'owner : "{owner}"', *quoted])


def _search(
    conn: sqlite3.Connection,
    user_id: str,
    words: Sequence[str],
    limit: int,
    before: tuple[int, str] | None,
) -> list[SearchMatch]:
    match = match_expression(user_id, words)
    found: list[SearchMatch] = []
    for sql, at_col, id_col, is_title in (
        (_MESSAGES, "m.created_at", "m.message_id", False),
        (_TITLES, "c.updated_at", "c.chat_id", True),
    ):
        params: list[object] = [match, user_id]
        clause = ""
        if before is not None:
            clause = f"AND ({at_col} < ? OR ({at_col} = ? AND {id_col} < ?))"
            params += [before[0], before[0], before[1]]
        rows = conn.execute(sql.format(before=clause), [*params, limit]).fetchall()
        found += [
            SearchMatch(
                row["chat_id"], "" if is_title else row["id"], row["text"], from_ms(row["at"])
            )
            for row in rows
        ]
    found.sort(key=lambda m: (m.at, m.message_id or m.chat_id), reverse=True)
    return found[:limit]


class SqliteSearch(SearchIndex):
    """Mixed into SqliteStore, whose worker thread runs every call."""

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError  # SqliteStore's

    async def search(
        self,
        user_id: str,
        words: Sequence[str],
        limit: int,
        before: tuple[int, str] | None = None,
    ) -> list[SearchMatch]:
        if not words or limit <= 0:
            return []

        def search(conn: sqlite3.Connection) -> list[SearchMatch]:
            flush_pending(conn)
            return _search(conn, user_id, words, limit, before)

        return await self._run(search)

"""HistoryStore on SQLite: the embedded default.

One connection, owned by one worker thread (worker_thread.py): sqlite3 calls block, so
every call runs there and the event loop only awaits. Each method is one transaction. WAL
lets readers of other processes (backups, the sqlite3 shell) coexist with the writer;
several chat replicas on one file (`make run ARGS="--chat-replicas 2"`) take turns writing:
multi-statement writes start with BEGIN IMMEDIATE, and the busy timeout makes a writer wait
for the lock, not fail.

Every key starts with user_id, like the Cassandra partitions, so a chat of another user is
invisible by construction and both stores have the same semantics. The tables, the message
upserts and the row conversions: sqlite_schema.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from chat_service.domain import ChatRecord, MessageRecord, Placement, SummaryRecord, Turn
from chat_service.store._codec import (
    from_ms,
    norm_id,
    normalize_message,
    settings_to_json,
    to_ms,
)
from chat_service.store.base import HistoryStore, StoreUnavailable
from chat_service.store.sqlite_api_keys import SqliteApiKeys
from chat_service.store.sqlite_ledger import SqliteLedger
from chat_service.store.sqlite_schema import (
    CHAT_COLS,
    MIGRATIONS,
    SAVE_MESSAGE,
    chat_from_row,
    message_params,
)
from chat_service.store.sqlite_search import QueuedIndexing, SqliteSearch
from chat_service.store.sqlite_tree import (
    read_all,
    read_message,
    read_path,
    read_siblings,
    select,
    write_added,
    write_placed_turn,
)
from chat_service.store.worker_thread import WorkerThread

T = TypeVar("T")


class SqliteStore(SqliteLedger, SqliteApiKeys, SqliteSearch, HistoryStore):
    def __init__(self, path: str) -> None:
        self.path = path
        self._worker: WorkerThread | None = None
        self._conn: sqlite3.Connection | None = None
        self._indexing = QueuedIndexing()

    # ------------------------------------------------------------------ plumbing

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Runs fn(conn) on the worker thread; OperationalError (locked, I/O, disk full)
        becomes StoreUnavailable."""
        if self._worker is None:
            raise StoreUnavailable("sqlite store is not started")
        try:
            return await self._worker.call(lambda: self._call(fn))
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            raise StoreUnavailable("sqlite store is closed")
        result = fn(self._conn)
        self._indexing.after_call(self._conn)
        return result

    @staticmethod
    def _tx(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
        """One write transaction. IMMEDIATE takes the write lock up front, so a read inside
        it (begin_turn's lookup) cannot be invalidated by another process's write."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async def start(self) -> None:
        if self._worker is not None:
            return
        self._worker = WorkerThread("sqlite-store")
        try:
            await self._worker.call(self._open)
        except sqlite3.Error as exc:
            await self._worker.stop()
            self._worker = None
            raise StoreUnavailable(f"sqlite: cannot open {self.path}: {exc}") from exc

    def _open(self) -> None:
        # isolation_level=None: no implicit transactions; _tx opens them explicitly.
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives a process crash; only an OS crash or power
        # loss can drop the last commits. Worth it: no fsync per chat turn.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")  # other processes (backups) may lock briefly
        self._migrate(conn)
        self._conn = conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        def apply(conn: sqlite3.Connection) -> None:
            version: int = conn.execute("PRAGMA user_version").fetchone()[0]
            for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in statements:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version={number}")

        self._tx(conn, apply)

    async def close(self) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return

        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await worker.call(shut)
        await worker.stop()

    # ------------------------------------------------------------------ chats

    async def create_chat(self, chat: ChatRecord) -> None:
        params = (
            chat.user_id,
            norm_id(chat.chat_id),
            chat.title,
            int(chat.title_from_user),
            chat.system_prompt,
            settings_to_json(chat.settings),
            to_ms(chat.created_at),
            to_ms(chat.updated_at),
            norm_id(chat.current_message_id) if chat.current_message_id else "",
        )

        def write(conn: sqlite3.Connection) -> None:
            # An upsert, like Cassandra's INSERT.
            conn.execute(
                f"""INSERT OR REPLACE INTO chats ({CHAT_COLS})
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                params,
            )

        await self._run(write)

    async def claim_chat_request(self, user_id: str, client_request_id: str, chat_id: str) -> str:
        def claim(conn: sqlite3.Connection) -> str:
            conn.execute(
                "INSERT OR IGNORE INTO chat_requests VALUES (?, ?, ?)",
                (user_id, client_request_id, norm_id(chat_id)),
            )
            row = conn.execute(
                "SELECT chat_id FROM chat_requests WHERE user_id = ? AND client_request_id = ?",
                (user_id, client_request_id),
            ).fetchone()
            return str(row[0])

        return await self._run(lambda conn: self._tx(conn, claim))

    async def get_chat(self, user_id: str, chat_id: str) -> ChatRecord | None:
        key = (user_id, norm_id(chat_id))

        def read(conn: sqlite3.Connection) -> ChatRecord | None:
            row = conn.execute(
                f"SELECT {CHAT_COLS} FROM chats WHERE user_id = ? AND chat_id = ?", key
            ).fetchone()
            return chat_from_row(row) if row else None

        return await self._run(read)

    async def list_chats(
        self, user_id: str, limit: int, before_chat_id: str | None = None
    ) -> list[ChatRecord]:
        if limit <= 0:  # SQLite reads LIMIT -1 as "no limit"
            return []
        sql = f"SELECT {CHAT_COLS} FROM chats WHERE user_id = ?"
        params: list[Any] = [user_id]
        if before_chat_id is not None:
            sql += " AND chat_id < ?"
            params.append(norm_id(before_chat_id))
        sql += " ORDER BY chat_id DESC LIMIT ?"
        params.append(limit)

        def read(conn: sqlite3.Connection) -> list[ChatRecord]:
            return [chat_from_row(r) for r in conn.execute(sql, params)]

        return await self._run(read)

    async def update_chat(self, chat: ChatRecord) -> None:
        params = (
            chat.title,
            int(chat.title_from_user),
            settings_to_json(chat.settings),
            to_ms(chat.updated_at),
            chat.user_id,
            norm_id(chat.chat_id),
        )

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                """UPDATE chats SET title = ?, title_from_user = ?, settings = ?, updated_at = ?
                   WHERE user_id = ? AND chat_id = ?""",
                params,
            )

        await self._run(write)

    async def name_chat(self, user_id: str, chat_id: str, title: str, updated_at: datetime) -> None:
        params = (title, to_ms(updated_at), user_id, norm_id(chat_id))

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(  # one statement: a title the user sets meanwhile is never overwritten
                """UPDATE chats SET title = ?, updated_at = ?
                   WHERE user_id = ? AND chat_id = ? AND title_from_user = 0""",
                params,
            )

        await self._run(write)

    async def delete_chat(self, user_id: str, chat_id: str) -> None:
        key = (user_id, norm_id(chat_id))

        def delete(conn: sqlite3.Connection) -> None:
            for table in ("messages", "turns_by_request", "summaries", "chats"):
                conn.execute(f"DELETE FROM {table} WHERE user_id = ? AND chat_id = ?", key)

        await self._run(lambda conn: self._tx(conn, delete))

    # ------------------------------------------------------------------ turns and messages

    @staticmethod
    def _read_turn(
        conn: sqlite3.Connection, user_id: str, chat_id: str, client_request_id: str
    ) -> Turn | None:
        row = conn.execute(
            """SELECT user_message_id, assistant_message_id FROM turns_by_request
               WHERE user_id = ? AND chat_id = ? AND client_request_id = ?""",
            (user_id, chat_id, client_request_id),
        ).fetchone()
        if row is None:
            return None
        user = read_message(conn, user_id, chat_id, row["user_message_id"])
        assistant = read_message(conn, user_id, chat_id, row["assistant_message_id"])
        if user is None or assistant is None:
            return None
        return Turn(user=user, assistant=assistant)

    async def find_turn(self, user_id: str, chat_id: str, client_request_id: str) -> Turn | None:
        cid = norm_id(chat_id)
        return await self._run(lambda conn: self._read_turn(conn, user_id, cid, client_request_id))

    async def begin_turn(
        self, user_id: str, turn: Turn, placement: Placement | None = None
    ) -> Turn:
        chat_id = norm_id(turn.user.chat_id)
        if norm_id(turn.assistant.chat_id) != chat_id:
            raise ValueError("a turn's messages must belong to one chat")
        place = placement or Placement()
        if place.parent_id:
            norm_id(place.parent_id)
        new = Turn(user=normalize_message(turn.user), assistant=normalize_message(turn.assistant))
        # The reply's: a regenerated answer has a request id of its own, its question the
        # request id of the turn that asked it.
        request_id = new.assistant.client_request_id

        def write(conn: sqlite3.Connection) -> Turn:
            # An empty request id cannot identify a retry: such a turn is never deduplicated.
            if request_id:
                stored = self._read_turn(conn, user_id, chat_id, request_id)
                if stored is not None:
                    return stored
            write_placed_turn(conn, user_id, new, place)
            if request_id:
                conn.execute(
                    """INSERT OR REPLACE INTO turns_by_request (user_id, chat_id,
                       client_request_id, user_message_id, assistant_message_id)
                       VALUES (?, ?, ?, ?, ?)""",
                    (user_id, chat_id, request_id, new.user.message_id, new.assistant.message_id),
                )
            return new

        return await self._run(lambda conn: self._tx(conn, write))

    async def save_message(self, user_id: str, message: MessageRecord) -> None:
        params = message_params(user_id, message)
        guarded = (*params, params[0], params[1])  # + the chat's key

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(SAVE_MESSAGE, guarded)

        await self._run(write)

    async def recent_messages(
        self, user_id: str, chat_id: str, limit: int, before_message_id: str | None = None
    ) -> list[MessageRecord]:
        if limit <= 0:
            return []
        cid = norm_id(chat_id)
        before = norm_id(before_message_id) if before_message_id is not None else None
        return await self._run(lambda conn: read_path(conn, user_id, cid, limit, before))

    async def get_message(
        self, user_id: str, chat_id: str, message_id: str
    ) -> MessageRecord | None:
        cid, mid = norm_id(chat_id), norm_id(message_id)
        return await self._run(lambda conn: read_message(conn, user_id, cid, mid))

    async def all_messages(
        self, user_id: str, chat_id: str, limit: int, after_message_id: str | None = None
    ) -> list[MessageRecord]:
        if limit <= 0:
            return []
        cid = norm_id(chat_id)
        after = norm_id(after_message_id) if after_message_id is not None else None
        return await self._run(lambda conn: read_all(conn, user_id, cid, limit, after))

    async def add_messages(self, user_id: str, messages: Sequence[MessageRecord]) -> None:
        added = [normalize_message(m) for m in messages]

        def write(conn: sqlite3.Connection) -> None:
            for message in added:
                write_added(conn, user_id, message)

        await self._run(lambda conn: self._tx(conn, write))

    async def siblings(
        self, user_id: str, chat_id: str, messages: Sequence[MessageRecord]
    ) -> dict[str, list[str]]:
        cid = norm_id(chat_id)
        return await self._run(lambda conn: read_siblings(conn, user_id, cid, messages))

    async def select_message(self, user_id: str, chat_id: str, message_id: str) -> str | None:
        cid, mid = norm_id(chat_id), norm_id(message_id)
        return await self._run(lambda conn: self._tx(conn, lambda c: select(c, user_id, cid, mid)))

    # ------------------------------------------------------------------ summaries

    async def save_summary(self, user_id: str, summary: SummaryRecord) -> None:
        params = (
            user_id,
            norm_id(summary.chat_id),
            norm_id(summary.upto_message_id),
            summary.content,
            summary.token_count,
            to_ms(summary.created_at),
        )

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                """INSERT OR REPLACE INTO summaries (user_id, chat_id, upto_message_id,
                   content, token_count, created_at) VALUES (?, ?, ?, ?, ?, ?)""",
                params,
            )

        await self._run(write)

    async def latest_summary(self, user_id: str, chat_id: str) -> SummaryRecord | None:
        found = await self._summaries(user_id, chat_id, None)
        return found[0] if found else None

    async def summaries_at(
        self, user_id: str, chat_id: str, message_ids: Sequence[str]
    ) -> list[SummaryRecord]:
        if not message_ids:
            return []
        return await self._summaries(user_id, chat_id, [norm_id(m) for m in message_ids])

    async def _summaries(
        self, user_id: str, chat_id: str, upto: list[str] | None
    ) -> list[SummaryRecord]:
        """The newest checkpoint (upto None), or those made up to one of `upto`."""
        sql = """SELECT chat_id, upto_message_id, content, token_count, created_at
                 FROM summaries WHERE user_id = ? AND chat_id = ?"""
        params: list[Any] = [user_id, norm_id(chat_id)]
        if upto is not None:
            sql += f" AND upto_message_id IN ({', '.join('?' * len(upto))})"
            params.extend(upto)
        sql += " ORDER BY upto_message_id DESC" + (" LIMIT 1" if upto is None else "")

        def read(conn: sqlite3.Connection) -> list[SummaryRecord]:
            return [
                SummaryRecord(
                    chat_id=row["chat_id"],
                    upto_message_id=row["upto_message_id"],
                    content=row["content"],
                    token_count=row["token_count"],
                    created_at=from_ms(row["created_at"]),
                )
                for row in conn.execute(sql, params)
            ]

        return await self._run(read)

"""HistoryStore on SQLite: the embedded default.

One connection, owned by one worker thread: sqlite3 calls block, so every call runs there
and the event loop only awaits. Each method is one transaction. WAL lets readers of other
processes (backups, the sqlite3 shell) coexist with the writer; several chat replicas on one
file (`make run ARGS="--chat-replicas 2"`) take turns writing: multi-statement writes start
with BEGIN IMMEDIATE, and the busy timeout makes a writer wait for the lock, not fail.

Every key starts with user_id, like the Cassandra partitions, so a chat of another user is
invisible by construction and both stores have the same semantics.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from chat_service.domain import (
    ChatRecord,
    MessageRecord,
    MessageStatus,
    Role,
    SummaryRecord,
    Turn,
)
from chat_service.store._codec import (
    from_ms,
    norm_id,
    normalize_message,
    settings_from_json,
    settings_to_json,
    to_ms,
)
from chat_service.store.base import HistoryStore, StoreUnavailable
from chat_service.store.sqlite_ledger import LEDGER_TABLES, SqliteLedger

T = TypeVar("T")

# PRAGMA user_version after each migration; migrations run in order, each in a transaction.
_MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE chats (
            user_id TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            title TEXT NOT NULL,
            title_from_user INTEGER NOT NULL,
            system_prompt TEXT NOT NULL,
            settings TEXT NOT NULL,          -- JSON, see _codec.settings_to_json
            created_at INTEGER NOT NULL,     -- Unix ms
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, chat_id)   -- also serves "newest first" (UUIDv7 text order)
        ) WITHOUT ROWID""",
        # A rowid table: message rows can be large, the PK index stays small. The PK index
        # (user_id, chat_id, message_id) is what newest-N reads walk backwards.
        """CREATE TABLE messages (
            user_id TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            message_id TEXT NOT NULL,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            client_request_id TEXT NOT NULL,
            model TEXT NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            cached INTEGER NOT NULL,
            cache_similarity REAL NOT NULL,
            finish_reason TEXT NOT NULL,
            error TEXT NOT NULL,
            PRIMARY KEY (user_id, chat_id, message_id)
        )""",
        """CREATE TABLE turns_by_request (
            user_id TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            client_request_id TEXT NOT NULL,
            user_message_id TEXT NOT NULL,
            assistant_message_id TEXT NOT NULL,
            PRIMARY KEY (user_id, chat_id, client_request_id)
        ) WITHOUT ROWID""",
        """CREATE TABLE summaries (
            user_id TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            upto_message_id TEXT NOT NULL,
            content TEXT NOT NULL,
            token_count INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, chat_id, upto_message_id)
        )""",
    ],
    # 2: per-user admission (slots, turn starts, daily token usage)
    LEDGER_TABLES,
]

_CHAT_COLS = (
    "user_id, chat_id, title, title_from_user, system_prompt, settings, created_at, updated_at"
)
_MSG_COLS = (
    "chat_id, message_id, role, content, status, created_at, updated_at, client_request_id,"
    " model, prompt_tokens, completion_tokens, cached, cache_similarity, finish_reason, error"
)
_ON_CONFLICT_UPDATE = """
    ON CONFLICT (user_id, chat_id, message_id) DO UPDATE SET
        role = excluded.role, content = excluded.content, status = excluded.status,
        created_at = excluded.created_at, updated_at = excluded.updated_at,
        client_request_id = excluded.client_request_id, model = excluded.model,
        prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens,
        cached = excluded.cached, cache_similarity = excluded.cache_similarity,
        finish_reason = excluded.finish_reason, error = excluded.error
"""
_UPSERT_MESSAGE = f"""
    INSERT INTO messages (user_id, {_MSG_COLS})
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
{_ON_CONFLICT_UPDATE}"""
# The same upsert, but only into a chat that exists: a turn stopped just before its chat was
# deleted must not bring its reply back (an upsert would re-insert the deleted row).
_SAVE_MESSAGE = f"""
    INSERT INTO messages (user_id, {_MSG_COLS})
    SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
    WHERE EXISTS (SELECT 1 FROM chats WHERE user_id = ? AND chat_id = ?)
{_ON_CONFLICT_UPDATE}"""


def _chat_from_row(row: sqlite3.Row) -> ChatRecord:
    return ChatRecord(
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        title=row["title"],
        system_prompt=row["system_prompt"],
        settings=settings_from_json(row["settings"]),
        created_at=from_ms(row["created_at"]),
        updated_at=from_ms(row["updated_at"]),
        title_from_user=bool(row["title_from_user"]),
    )


def _message_from_row(row: sqlite3.Row) -> MessageRecord:
    return MessageRecord(
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        role=Role(row["role"]),
        content=row["content"],
        status=MessageStatus(row["status"]),
        created_at=from_ms(row["created_at"]),
        updated_at=from_ms(row["updated_at"]),
        client_request_id=row["client_request_id"],
        model=row["model"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        cached=bool(row["cached"]),
        cache_similarity=row["cache_similarity"],
        finish_reason=row["finish_reason"],
        error=row["error"],
    )


def _message_params(user_id: str, m: MessageRecord) -> tuple[Any, ...]:
    return (
        user_id,
        norm_id(m.chat_id),
        norm_id(m.message_id),
        m.role.value,
        m.content,
        m.status.value,
        to_ms(m.created_at),
        to_ms(m.updated_at),
        m.client_request_id,
        m.model,
        m.prompt_tokens,
        m.completion_tokens,
        int(m.cached),
        m.cache_similarity,
        m.finish_reason,
        m.error,
    )


class SqliteStore(SqliteLedger, HistoryStore):
    def __init__(self, path: str) -> None:
        self.path = path
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    # ------------------------------------------------------------------ plumbing

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Runs fn(conn) on the worker thread; OperationalError (locked, I/O, disk full)
        becomes StoreUnavailable."""
        if self._executor is None:
            raise StoreUnavailable("sqlite store is not started")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._call, fn)
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            raise StoreUnavailable("sqlite store is closed")
        return fn(self._conn)

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
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._open)
        except sqlite3.Error as exc:
            self._executor.shutdown(wait=False)
            self._executor = None
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
            for number, statements in enumerate(_MIGRATIONS[version:], start=version + 1):
                for statement in statements:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version={number}")

        self._tx(conn, apply)

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return

        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(executor, shut)
        executor.shutdown(wait=True)

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
        )

        def write(conn: sqlite3.Connection) -> None:
            # An upsert, like Cassandra's INSERT.
            conn.execute(
                f"""INSERT OR REPLACE INTO chats ({_CHAT_COLS})
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                params,
            )

        await self._run(write)

    async def get_chat(self, user_id: str, chat_id: str) -> ChatRecord | None:
        key = (user_id, norm_id(chat_id))

        def read(conn: sqlite3.Connection) -> ChatRecord | None:
            row = conn.execute(
                f"SELECT {_CHAT_COLS} FROM chats WHERE user_id = ? AND chat_id = ?", key
            ).fetchone()
            return _chat_from_row(row) if row else None

        return await self._run(read)

    async def list_chats(
        self, user_id: str, limit: int, before_chat_id: str | None = None
    ) -> list[ChatRecord]:
        if limit <= 0:  # SQLite reads LIMIT -1 as "no limit"
            return []
        sql = f"SELECT {_CHAT_COLS} FROM chats WHERE user_id = ?"
        params: list[Any] = [user_id]
        if before_chat_id is not None:
            sql += " AND chat_id < ?"
            params.append(norm_id(before_chat_id))
        sql += " ORDER BY chat_id DESC LIMIT ?"
        params.append(limit)

        def read(conn: sqlite3.Connection) -> list[ChatRecord]:
            return [_chat_from_row(r) for r in conn.execute(sql, params)]

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

    async def delete_chat(self, user_id: str, chat_id: str) -> None:
        key = (user_id, norm_id(chat_id))

        def delete(conn: sqlite3.Connection) -> None:
            for table in ("messages", "turns_by_request", "summaries", "chats"):
                conn.execute(f"DELETE FROM {table} WHERE user_id = ? AND chat_id = ?", key)

        await self._run(lambda conn: self._tx(conn, delete))

    # ------------------------------------------------------------------ turns and messages

    @staticmethod
    def _read_message(
        conn: sqlite3.Connection, user_id: str, chat_id: str, message_id: str
    ) -> MessageRecord | None:
        row = conn.execute(
            f"""SELECT {_MSG_COLS} FROM messages
                WHERE user_id = ? AND chat_id = ? AND message_id = ?""",
            (user_id, chat_id, message_id),
        ).fetchone()
        return _message_from_row(row) if row else None

    @classmethod
    def _read_turn(
        cls, conn: sqlite3.Connection, user_id: str, chat_id: str, client_request_id: str
    ) -> Turn | None:
        row = conn.execute(
            """SELECT user_message_id, assistant_message_id FROM turns_by_request
               WHERE user_id = ? AND chat_id = ? AND client_request_id = ?""",
            (user_id, chat_id, client_request_id),
        ).fetchone()
        if row is None:
            return None
        user = cls._read_message(conn, user_id, chat_id, row["user_message_id"])
        assistant = cls._read_message(conn, user_id, chat_id, row["assistant_message_id"])
        if user is None or assistant is None:
            return None
        return Turn(user=user, assistant=assistant)

    async def find_turn(self, user_id: str, chat_id: str, client_request_id: str) -> Turn | None:
        cid = norm_id(chat_id)
        return await self._run(lambda conn: self._read_turn(conn, user_id, cid, client_request_id))

    async def begin_turn(self, user_id: str, turn: Turn) -> Turn:
        chat_id = norm_id(turn.user.chat_id)
        if norm_id(turn.assistant.chat_id) != chat_id:
            raise ValueError("a turn's messages must belong to one chat")
        request_id = turn.user.client_request_id
        user_row = _message_params(user_id, turn.user)
        assistant_row = _message_params(user_id, turn.assistant)

        def write(conn: sqlite3.Connection) -> Turn:
            # An empty request id cannot identify a retry: such a turn is never deduplicated.
            if request_id:
                stored = self._read_turn(conn, user_id, chat_id, request_id)
                if stored is not None:
                    return stored
            conn.execute(_UPSERT_MESSAGE, user_row)
            conn.execute(_UPSERT_MESSAGE, assistant_row)
            if request_id:
                conn.execute(
                    """INSERT OR REPLACE INTO turns_by_request (user_id, chat_id,
                       client_request_id, user_message_id, assistant_message_id)
                       VALUES (?, ?, ?, ?, ?)""",
                    (user_id, chat_id, request_id, user_row[2], assistant_row[2]),
                )
            return Turn(
                user=normalize_message(turn.user), assistant=normalize_message(turn.assistant)
            )

        return await self._run(lambda conn: self._tx(conn, write))

    async def save_message(self, user_id: str, message: MessageRecord) -> None:
        params = _message_params(user_id, message)
        guarded = (*params, params[0], params[1])  # + the chat's key

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(_SAVE_MESSAGE, guarded)

        await self._run(write)

    async def recent_messages(
        self, user_id: str, chat_id: str, limit: int, before_message_id: str | None = None
    ) -> list[MessageRecord]:
        if limit <= 0:
            return []
        sql = f"SELECT {_MSG_COLS} FROM messages WHERE user_id = ? AND chat_id = ?"
        params: list[Any] = [user_id, norm_id(chat_id)]
        if before_message_id is not None:
            sql += " AND message_id < ?"
            params.append(norm_id(before_message_id))
        sql += " ORDER BY message_id DESC LIMIT ?"
        params.append(limit)

        def read(conn: sqlite3.Connection) -> list[MessageRecord]:
            return [_message_from_row(r) for r in conn.execute(sql, params)]

        return await self._run(read)

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
        key = (user_id, norm_id(chat_id))

        def read(conn: sqlite3.Connection) -> SummaryRecord | None:
            row = conn.execute(
                """SELECT chat_id, upto_message_id, content, token_count, created_at
                   FROM summaries WHERE user_id = ? AND chat_id = ?
                   ORDER BY upto_message_id DESC LIMIT 1""",
                key,
            ).fetchone()
            if row is None:
                return None
            return SummaryRecord(
                chat_id=row["chat_id"],
                upto_message_id=row["upto_message_id"],
                content=row["content"],
                token_count=row["token_count"],
                created_at=from_ms(row["created_at"]),
            )

        return await self._run(read)

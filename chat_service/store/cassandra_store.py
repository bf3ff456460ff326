"""HistoryStore on Apache Cassandra: the production store.

Tables are designed for the queries (one query, one partition), all keyed by user_id first
so a chat of another user is invisible by construction:

  chats_by_user     ((user_id), chat_id DESC)             list newest first, and get by key
  messages          ((user_id, chat_id, bucket), message_id DESC)
  message_buckets   ((user_id, chat_id), bucket DESC)     which message partitions exist
  turns_by_request  ((user_id, chat_id), client_request_id) -> the turn's message ids
  summaries         ((user_id, chat_id), upto_message_id DESC)
  user_slots, user_turn_starts, user_usage            per-user admission (cassandra_ledger.py)
  schema_version    ((component))                         applied migrations

Chat and message ids are UUIDv7 stored as `uuid`. Cassandra's UUIDType orders non-v1 UUIDs
as unsigned bytes, i.e. by creation time for v7 and exactly like their canonical text (what
SQLite sorts); the contract tests check this on a real node, random tail bytes included.

Message partitions. Cassandra wants a partition well under ~100 MB and ~100k rows: a larger
one makes compaction, repair and reads slow, and strains the heap. A chat's messages are
therefore split into time buckets of BUCKET_MS (30 days), bucket = the message id's Unix ms
// BUCKET_MS, so a chat that lives for years spreads over one partition per active month,
each bounded by what one chat can write in a month (a human conversation writes a few
thousand rows, a few MB; reaching 100 MB takes ~25k long messages in 30 days, which the
service's per-user rate limits rule out). The bucket is derived from the id alone, so a
save needs no read. `message_buckets` lists the non-empty buckets of a chat (one tiny row
per active month); a newest-N read walks them newest first and stops as soon as it has N
rows, so it reads only the partitions it needs and never probes empty months. delete_chat
uses the same list to drop every message partition.

Writes are upserts without lightweight transactions (no Paxos round on the hot path).
begin_turn is idempotent by looking up turns_by_request first; a new turn's rows are written
in one LOGGED batch so they land together or not at all. Caveat: two *concurrent* attempts
with the same client_request_id can both miss the index and both write; the index then
points at one of them and the other's messages stay in the chat as a duplicate turn, unless
the caller derives the message ids deterministically from the request id (then the second
write overwrites the first). The service should serialise attempts per request id.
Similarly a write racing delete_chat can leave rows behind (a write timestamped after the
delete's tombstones survives them); they are unreachable once the chat row is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from cassandra import (
    ConsistencyLevel,
    CoordinationFailure,
    OperationTimedOut,
    ReadTimeout,
    Unavailable,
    WriteTimeout,
)
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
from cassandra.connection import ConnectionException
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    TokenAwarePolicy,
)
from cassandra.protocol import IsBootstrappingErrorMessage, OverloadedErrorMessage
from cassandra.query import BatchStatement, BatchType, dict_factory

from chat_service.domain import (
    ChatRecord,
    MessageRecord,
    SummaryRecord,
    Turn,
)
from chat_service.ids import unix_ms_of
from chat_service.store._codec import (
    norm_id,
    normalize_message,
    settings_to_json,
    to_ms,
)
from chat_service.store.base import HistoryStore, StoreUnavailable
from chat_service.store.cassandra_ledger import CassandraLedger
from chat_service.store.cassandra_schema import (
    Row,
    chat_from_row,
    cql_literal,
    is_complete_chat,
    message_from_row,
    migrations,
    statements,
    utc,
)

BUCKET_MS = 30 * 24 * 3600 * 1000
# delete_chat drops message partitions in LOGGED batches of at most this many statements
# (Cassandra warns on batches over 5 kB and rejects them over 50 kB).
_DELETE_BATCH = 50


# Errors that mean "the cluster cannot serve this now": the service answers UNAVAILABLE.
_UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    NoHostAvailable,
    OperationTimedOut,
    Unavailable,
    ReadTimeout,
    WriteTimeout,
    CoordinationFailure,  # ReadFailure, WriteFailure
    ConnectionException,
    OverloadedErrorMessage,
    IsBootstrappingErrorMessage,
)

# Reconnection to a node that went down (its connection pool, and the driver's control
# connection): the driver's default is exponential from 1 s up to 600 s and gives up after 64
# attempts, so after a one-minute outage the store could stay unavailable for ten minutes, or
# for good. Here: 0.5 s, 1 s, 2 s, ... capped at 5 s (+-15 % jitter), and never giving up, so
# the store serves again at most ~5 s after the node does. An attempt on a node that is down
# is one refused TCP connect per host, cheap enough at that rate.
_RECONNECT_BASE_DELAY_S = 0.5
_RECONNECT_MAX_DELAY_S = 5.0
# Schema changes wait for every node to agree; a cold or busy node can take many seconds.
_DDL_TIMEOUT_S = 60.0
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,47}")


def bucket_of(message_id: str) -> int:
    return unix_ms_of(message_id) // BUCKET_MS


class CassandraStore(CassandraLedger, HistoryStore):
    def __init__(
        self,
        contact_points: list[str],
        port: int = 9042,
        keyspace: str = "chatstack",
        replication: dict[str, Any] | None = None,
        consistency: str = "LOCAL_QUORUM",
        local_dc: str | None = None,
        request_timeout_s: float = 5.0,
        username: str | None = None,
        password: str | None = None,
        connect_timeout_s: float = 10.0,
        protocol_version: int | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not _IDENTIFIER.fullmatch(keyspace):
            raise ValueError(f"invalid keyspace name: {keyspace!r}")
        try:
            self._cl: int = ConsistencyLevel.name_to_value[consistency.upper()]
        except KeyError:
            raise ValueError(f"unknown consistency level: {consistency!r}") from None
        self._contact_points = list(contact_points)
        self._port = port
        self._ks = keyspace
        self._replication = replication or {"class": "SimpleStrategy", "replication_factor": 1}
        self._local_dc = local_dc
        self._timeout = request_timeout_s
        self._connect_timeout = connect_timeout_s
        # None negotiates (the driver logs a warning per downgrade); 5 suits Cassandra >= 4.
        self._protocol_version = protocol_version
        self._auth = (
            PlainTextAuthProvider(username=username, password=password or "") if username else None
        )
        self._ssl_context = ssl_context
        self._cluster: Any = None
        self._session: Any = None
        self._ps: dict[str, Any] = {}

    # ------------------------------------------------------------------ plumbing

    async def start(self) -> None:
        if self._session is not None:
            return
        try:
            await asyncio.to_thread(self._connect_and_migrate)
        except _UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable(f"cassandra: {exc}") from exc

    def _connect_and_migrate(self) -> None:
        """Blocking: runs in a thread. Connects, creates/migrates the schema, prepares."""
        profile = ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(
                DCAwareRoundRobinPolicy(local_dc=self._local_dc or "")
            ),
            consistency_level=self._cl,
            request_timeout=self._timeout,
            row_factory=dict_factory,
        )
        cluster = Cluster(
            contact_points=self._contact_points,
            port=self._port,
            auth_provider=self._auth,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            connect_timeout=self._connect_timeout,
            # With check_hostname, the driver gives the address it dials as the server name.
            ssl_context=self._ssl_context,
            reconnection_policy=ExponentialReconnectionPolicy(
                _RECONNECT_BASE_DELAY_S, _RECONNECT_MAX_DELAY_S, max_attempts=None
            ),
            **({"protocol_version": self._protocol_version} if self._protocol_version else {}),
        )
        try:
            session = cluster.connect()
            self._migrate(session)
            self._ps = {
                name: self._prepare(session, cql) for name, cql in statements(self._ks).items()
            }
        except BaseException:
            cluster.shutdown()
            raise
        self._cluster, self._session = cluster, session

    def _prepare(self, session: Any, cql: str) -> Any:
        statement = session.prepare(cql)
        statement.consistency_level = self._cl
        return statement

    def _migrate(self, session: Any) -> None:
        ks = self._ks

        def run(cql: str, params: Sequence[Any] | None = None) -> Any:
            return session.execute(cql, params, timeout=max(self._timeout, _DDL_TIMEOUT_S))

        replication = ", ".join(
            f"{cql_literal(k)}: {cql_literal(v)}" for k, v in self._replication.items()
        )
        run(f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = {{{replication}}}")
        run(
            f"""CREATE TABLE IF NOT EXISTS {ks}.schema_version (
                component text PRIMARY KEY, version int, applied_at timestamp)"""
        )
        row = run(f"SELECT version FROM {ks}.schema_version WHERE component = 'history'").one()
        version: int = row["version"] if row else 0
        steps = migrations(ks)
        for number, step in enumerate(steps[version:], start=version + 1):
            for statement in step:
                run(statement)
            run(
                f"INSERT INTO {ks}.schema_version (component, version, applied_at)"
                " VALUES ('history', %s, toTimestamp(now()))",
                (number,),
            )

    async def close(self) -> None:
        cluster, self._cluster, self._session = self._cluster, None, None
        if cluster is not None:
            await asyncio.to_thread(cluster.shutdown)

    async def _execute(self, statement: Any, params: Sequence[Any] | None = None) -> list[Row]:
        """Runs one statement without blocking the loop: the driver's ResponseFuture calls
        back on its own thread, which hands the rows (all pages) to an asyncio future."""
        session = self._session
        if session is None:
            raise StoreUnavailable("cassandra store is not started")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[Row]] = loop.create_future()
        rows: list[Row] = []

        def settle(result: list[Row] | None, error: BaseException | None) -> None:
            if done.done():  # the awaiting task was cancelled
                return
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(result or [])

        def hand_over(result: list[Row] | None, error: BaseException | None) -> None:
            # RuntimeError: the loop closed meanwhile, nobody waits any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, result, error)

        try:
            future = session.execute_async(statement, params, timeout=self._timeout)
        except _UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable(f"cassandra: {exc}") from exc

        def on_page(page: list[Row] | None) -> None:
            rows.extend(page or ())
            if future.has_more_pages:
                future.start_fetching_next_page()
            else:
                hand_over(rows, None)

        def on_error(exc: BaseException) -> None:
            hand_over(None, exc)

        future.add_callbacks(on_page, on_error)
        try:
            return await done
        except _UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable(f"cassandra: {exc}") from exc

    def _stmt(self, name: str) -> Any:
        if self._session is None:
            raise StoreUnavailable("cassandra store is not started")
        return self._ps[name]

    async def _one(self, name: str, params: Sequence[Any]) -> Row | None:
        rows = await self._execute(self._stmt(name), params)
        return rows[0] if rows else None

    def _batch(self, items: Iterable[tuple[str, Sequence[Any]]]) -> BatchStatement:
        batch = BatchStatement(batch_type=BatchType.LOGGED, consistency_level=self._cl)
        for name, params in items:
            batch.add(self._stmt(name), params)
        return batch

    def _message_params(self, user_id: str, m: MessageRecord) -> tuple[Any, ...]:
        message_id = norm_id(m.message_id)
        return (
            user_id,
            bucket_of(message_id),
            uuid.UUID(m.chat_id),
            uuid.UUID(message_id),
            m.role.value,
            m.content,
            m.status.value,
            to_ms(m.created_at),  # the driver takes Unix ms ints as they are
            to_ms(m.updated_at),
            m.client_request_id,
            m.model,
            m.prompt_tokens,
            m.completion_tokens,
            m.cached,
            m.cache_similarity,
            m.finish_reason,
            m.error,
        )

    # ------------------------------------------------------------------ chats

    async def create_chat(self, chat: ChatRecord) -> None:
        await self._execute(
            self._stmt("insert_chat"),
            (
                chat.user_id,
                uuid.UUID(chat.chat_id),
                chat.title,
                chat.title_from_user,
                chat.system_prompt,
                settings_to_json(chat.settings),
                to_ms(chat.created_at),
                to_ms(chat.updated_at),
            ),
        )

    async def get_chat(self, user_id: str, chat_id: str) -> ChatRecord | None:
        row = await self._one("get_chat", (user_id, uuid.UUID(chat_id)))
        return chat_from_row(row) if row and is_complete_chat(row) else None

    async def list_chats(
        self, user_id: str, limit: int, before_chat_id: str | None = None
    ) -> list[ChatRecord]:
        chats: list[ChatRecord] = []
        cursor = uuid.UUID(before_chat_id) if before_chat_id is not None else None
        while len(chats) < limit:
            want = limit - len(chats)
            if cursor is None:
                rows = await self._execute(self._stmt("list_chats"), (user_id, want))
            else:
                rows = await self._execute(self._stmt("list_chats_before"), (user_id, cursor, want))
            chats.extend(chat_from_row(r) for r in rows if is_complete_chat(r))
            if len(rows) < want:
                break
            cursor = rows[-1]["chat_id"]  # partial rows were skipped: read on past them
        return chats

    async def update_chat(self, chat: ChatRecord) -> None:
        # Read first: an UPDATE of a missing row would create a partial one.
        if await self.get_chat(chat.user_id, chat.chat_id) is None:
            return
        await self._execute(
            self._stmt("update_chat"),
            (
                chat.title,
                chat.title_from_user,
                settings_to_json(chat.settings),
                to_ms(chat.updated_at),
                chat.user_id,
                uuid.UUID(chat.chat_id),
            ),
        )

    async def delete_chat(self, user_id: str, chat_id: str) -> None:
        key = (user_id, uuid.UUID(chat_id))
        buckets = [r["bucket"] for r in await self._execute(self._stmt("buckets"), key)]
        # Message partitions first, the chat and its bucket list last: if a batch fails, the
        # chat is still there and a retried delete still finds every bucket.
        for i in range(0, len(buckets), _DELETE_BATCH):
            chunk = buckets[i : i + _DELETE_BATCH]
            await self._execute(self._batch(("delete_messages", (*key, b)) for b in chunk))
        await self._execute(
            self._batch(
                (name, key)
                for name in ("delete_turns", "delete_summaries", "delete_buckets", "delete_chat")
            )
        )

    # ------------------------------------------------------------------ turns and messages

    async def _get_message(
        self, user_id: str, chat_id: uuid.UUID, message_id: uuid.UUID
    ) -> MessageRecord | None:
        bucket = bucket_of(str(message_id))
        row = await self._one("get_message", (user_id, chat_id, bucket, message_id))
        return message_from_row(row) if row else None

    async def find_turn(self, user_id: str, chat_id: str, client_request_id: str) -> Turn | None:
        chat = uuid.UUID(chat_id)
        row = await self._one("get_turn", (user_id, chat, client_request_id))
        if row is None:
            return None
        user, assistant = await asyncio.gather(
            self._get_message(user_id, chat, row["user_message_id"]),
            self._get_message(user_id, chat, row["assistant_message_id"]),
        )
        if user is None or assistant is None:
            return None
        return Turn(user=user, assistant=assistant)

    async def begin_turn(self, user_id: str, turn: Turn) -> Turn:
        chat_id = norm_id(turn.user.chat_id)
        if norm_id(turn.assistant.chat_id) != chat_id:
            raise ValueError("a turn's messages must belong to one chat")
        request_id = turn.user.client_request_id
        # An empty request id cannot identify a retry: such a turn is never deduplicated.
        if request_id:
            stored = await self.find_turn(user_id, chat_id, request_id)
            if stored is not None:
                return stored
        user = self._message_params(user_id, turn.user)
        assistant = self._message_params(user_id, turn.assistant)
        chat = uuid.UUID(chat_id)
        items: list[tuple[str, Sequence[Any]]] = [
            ("insert_bucket", (user_id, chat, bucket)) for bucket in {user[1], assistant[1]}
        ]
        items += [("insert_message", user), ("insert_message", assistant)]
        if request_id:
            items.append(("insert_turn", (user_id, chat, request_id, user[3], assistant[3])))
        await self._execute(self._batch(items))
        return Turn(user=normalize_message(turn.user), assistant=normalize_message(turn.assistant))

    async def save_message(self, user_id: str, message: MessageRecord) -> None:
        params = self._message_params(user_id, message)
        # The bucket row first: a message is then never in a bucket that reads do not know.
        # (begin_turn already wrote it for a turn's messages; the upsert costs one tiny row.)
        await self._execute(self._stmt("insert_bucket"), (user_id, params[2], params[1]))
        await self._execute(self._stmt("insert_message"), params)
        # A chat deleted meanwhile (a turn stopped just before the delete): the upserts above
        # brought its rows back, so they go again. A delete after this check removes them
        # itself (its tombstones are newer), so either order leaves nothing behind.
        if await self.get_chat(user_id, message.chat_id) is None:
            key = (user_id, params[2])  # params: user, bucket, chat, ...
            await self._execute(
                self._batch([("delete_messages", (*key, params[1])), ("delete_buckets", key)])
            )

    async def recent_messages(
        self, user_id: str, chat_id: str, limit: int, before_message_id: str | None = None
    ) -> list[MessageRecord]:
        if limit <= 0:
            return []
        key = (user_id, uuid.UUID(chat_id))
        before = uuid.UUID(before_message_id) if before_message_id is not None else None
        if before is None:
            bucket_rows = await self._execute(self._stmt("buckets"), key)
        else:
            upto = bucket_of(str(before))
            bucket_rows = await self._execute(self._stmt("buckets_upto"), (*key, upto))
        messages: list[MessageRecord] = []
        for row in bucket_rows:  # newest bucket first
            want = limit - len(messages)
            if before is None:
                rows = await self._execute(self._stmt("recent"), (*key, row["bucket"], want))
            else:
                rows = await self._execute(
                    self._stmt("recent_before"), (*key, row["bucket"], before, want)
                )
            messages.extend(message_from_row(r) for r in rows)
            if len(messages) >= limit:
                break
        return messages

    # ------------------------------------------------------------------ summaries

    async def save_summary(self, user_id: str, summary: SummaryRecord) -> None:
        await self._execute(
            self._stmt("insert_summary"),
            (
                user_id,
                uuid.UUID(summary.chat_id),
                uuid.UUID(summary.upto_message_id),
                summary.content,
                summary.token_count,
                to_ms(summary.created_at),
            ),
        )

    async def latest_summary(self, user_id: str, chat_id: str) -> SummaryRecord | None:
        row = await self._one("latest_summary", (user_id, uuid.UUID(chat_id)))
        if row is None:
            return None
        return SummaryRecord(
            chat_id=str(row["chat_id"]),
            upto_message_id=str(row["upto_message_id"]),
            content=row["content"] or "",
            token_count=row["token_count"] or 0,
            created_at=utc(row["created_at"]),
        )

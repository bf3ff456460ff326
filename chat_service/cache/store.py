"""The semantic cache's vector store: one Milvus collection through pymilvus' MilvusClient.

`cache_uri` picks the deployment: a local path is Milvus Lite (in process, one process per
file), `http://host:19530` a Milvus server shared by every chat replica.

pymilvus is blocking, so every call runs on one of two dedicated single-thread executors:
searches on their own, so that a flush, an eviction or a slow insert never sits in front of
a request's lookup; writes and maintenance on the other (in order, one at a time).

Index: HNSW (M=16, efConstruction=200; ef=64 at search), COSINE over L2-normalized vectors.
Measured on Milvus Lite 3.2, 20k flushed rows, top-4, 2-core machine (load ~1.5), p50/p95 ms:
HNSW 13.9/20.9 with a 1% (one user's) scope filter and 12.8/18.1 without; FLAT 21.6/26.6 and
37.8/94.6; AUTOINDEX 20.1/24.1 and 21.3/24.2. HNSW is also what a Milvus server would use at
this size, so both deployments behave alike. Filters apply before top-k, so a small scope
still gets its own best candidates.

Flush (Lite only): Lite searches unflushed rows by brute force (~+20 ms per 1,000 rows) and
auto-flushes only at 128 MB, so the cache flushes after FLUSH_EVERY inserts or FLUSH_AFTER_S
after the first unflushed one. That includes Milvus Lite run as a server that several chat
replicas share (`milvus-lite server`, recognized by its version string). A Milvus server seals
segments itself and rate-limits flush calls, so there it is never called.

Consistency: on a server the collection keeps Milvus' default (Bounded): a delete may take a
moment to stop matching searches. Lite (in process or as a server) is immediately consistent.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from chat_service.cache.keys import literal

log = logging.getLogger(__name__)
T = TypeVar("T")

COLLECTION = "answer_cache"
DIMENSION = 384  # all-MiniLM-L6-v2
MAX_ANSWER_CHARS = 16_000  # 4 bytes per char at worst: under VARCHAR's 65,535-byte cap
MAX_QUESTION_BYTES = 4_096
HNSW = {"M": 16, "efConstruction": 200}
SEARCH_EF = 64
FLUSH_EVERY = 64
FLUSH_AFTER_S = 2.0
RECONNECT_AFTER_S = 5.0  # after a failed connect, calls fail fast until then
EVICT_RESOLUTION_MS = 1_000
_SEARCH_FIELDS = ["question", "answer", "model", "chat_id", "created_ms"]
LITE_SERVER_VERSION_PREFIX = "milvus_lite"  # GetVersion of `milvus-lite server` (3.x)


class CacheUnavailable(Exception):
    """Milvus is down, refused the call or did not answer in time."""


@dataclass(frozen=True)
class CacheKey:
    """What must match exactly (see keys.py)."""

    scope: str
    model: str
    system_hash: str
    sampling_fp: str
    context_fp: str


@dataclass(frozen=True)
class CacheEntry:
    entry_id: str  # the assistant message id: a regenerated turn overwrites its entry
    vector: list[float]
    key: CacheKey
    owner: str  # the user whose chat produced it (also in global scope: for deletion)
    chat_id: str
    question: str  # normalized
    answer: str
    created_ms: int


@dataclass(frozen=True)
class Candidate:
    entry_id: str
    similarity: float
    question: str
    answer: str
    model: str
    chat_id: str
    created_ms: int


class _QuietLiteProbe(logging.Filter):
    """pymilvus probes AllocTimestamp, which Milvus Lite's in-process (sync) gRPC server does
    not implement: grpc logs each probe as an ERROR with a traceback, although pymilvus copes.
    The chat service's own server is grpc.aio, which logs elsewhere."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Method not implemented" not in record.getMessage()


_QUIET_LITE_PROBE = _QuietLiteProbe()


def is_lite(uri: str) -> bool:
    return not uri.startswith(("http://", "https://", "tcp://", "grpc://", "unix:"))


def _schema(client_cls: Any, data_type: Any, dimension: int) -> Any:
    schema = client_cls.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", data_type.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("vector", data_type.FLOAT_VECTOR, dim=dimension)
    for name in ("scope", "owner"):
        schema.add_field(name, data_type.VARCHAR, max_length=64)
    schema.add_field("model", data_type.VARCHAR, max_length=256)
    for name in ("system_hash", "sampling_fp", "context_fp", "chat_id", "turn_id"):
        schema.add_field(name, data_type.VARCHAR, max_length=64)
    schema.add_field("created_ms", data_type.INT64)
    schema.add_field("question", data_type.VARCHAR, max_length=MAX_QUESTION_BYTES)
    schema.add_field("answer", data_type.VARCHAR, max_length=65_535)
    return schema


@dataclass(frozen=True)
class MilvusAuth:
    """How the chat service proves itself to a Milvus server and checks the server: a user and
    password (Milvus with authorization on) and, for https:// URIs, the CA that signs the
    server's certificate (empty: the system's). Milvus Lite has neither."""

    user: str = ""
    password: str = field(default="", repr=False)
    tls_ca_file: str = ""

    def client_options(self, uri: str) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.user:
            options.update(user=self.user, password=self.password)
        if uri.startswith("https://"):
            options["secure"] = True
            if self.tls_ca_file:
                options["server_pem_path"] = self.tls_ca_file
        # pymilvus shares a connection between clients of one address and user, whatever
        # their CA: a client would silently reuse one checked against another CA. Its own.
        options["dedicated"] = True
        return options


class CacheStore:
    def __init__(
        self,
        uri: str,
        *,
        collection: str = COLLECTION,
        dimension: int = DIMENSION,
        call_timeout_s: float = 5.0,
        auth: MilvusAuth | None = None,
    ) -> None:
        self.uri = uri
        self.auth = auth or MilvusAuth()
        self.collection = collection
        self.dimension = dimension
        self.call_timeout_s = call_timeout_s
        self.lite = is_lite(uri)
        self.flushes = self.lite  # Milvus Lite, in process or as a server (see _open)
        self._client: Any = None
        self._connect_lock = threading.Lock()
        self._failed_at = 0.0
        self._search_pool = ThreadPoolExecutor(1, thread_name_prefix="cache-search")
        self._write_pool = ThreadPoolExecutor(1, thread_name_prefix="cache-write")
        self._unflushed = 0
        self._first_unflushed_at = 0.0

    # -- plumbing ------------------------------------------------------------------------

    async def _run(self, pool: ThreadPoolExecutor, fn: Callable[[], T]) -> T:
        # Cancelling the awaiting task drops a call that has not started yet (wrap_future
        # propagates the cancel); a started one finishes on its thread, bounded by its timeout.
        return await asyncio.get_running_loop().run_in_executor(pool, self._guarded, fn)

    def _guarded(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except CacheUnavailable:
            raise
        except Exception as exc:  # pymilvus raises MilvusException and grpc/OS errors
            raise CacheUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def _connected(self) -> Any:
        """The client, connecting (and creating or loading the collection) when needed."""
        with self._connect_lock:
            if self._client is not None:
                return self._client
            if time.monotonic() - self._failed_at < RECONNECT_AFTER_S:
                raise CacheUnavailable(f"not connected to {self.uri} (retrying shortly)")
            try:
                self._client = self._open()
            except Exception:
                self._failed_at = time.monotonic()
                raise
            return self._client

    def _open(self) -> Any:
        from pymilvus import DataType, MilvusClient  # heavy import: only when the cache is on

        if self.lite:
            Path(self.uri).parent.mkdir(parents=True, exist_ok=True)
            logging.getLogger("grpc._server").addFilter(_QUIET_LITE_PROBE)  # once: same object
        options = {} if self.lite else self.auth.client_options(self.uri)
        client = MilvusClient(self.uri, timeout=self.call_timeout_s, **options)
        try:
            if not client.has_collection(self.collection, timeout=self.call_timeout_s):
                index = client.prepare_index_params()
                index.add_index(
                    field_name="vector", index_type="HNSW", metric_type="COSINE", params=HNSW
                )
                client.create_collection(
                    self.collection,
                    schema=_schema(MilvusClient, DataType, self.dimension),
                    index_params=index,
                    timeout=self.call_timeout_s,
                )
            # After a restart the collection is released: searches fail until it is loaded.
            client.load_collection(self.collection, timeout=self.call_timeout_s)
            if not self.lite:  # a Milvus Lite server needs the flushes of in-process Lite
                version = client.get_server_version(timeout=self.call_timeout_s)
                self.flushes = str(version).startswith(LITE_SERVER_VERSION_PREFIX)
        except Exception:
            client.close()
            raise
        log.info(
            "answer cache connected",
            extra={"uri": self.uri, "lite": self.lite, "flushes": self.flushes},
        )
        return client

    # -- lifecycle -----------------------------------------------------------------------

    async def connect(self) -> None:
        await self._run(self._write_pool, self._connected)

    async def close(self) -> None:
        def shut() -> None:
            if self._client is not None:
                if self.flushes and self._unflushed:
                    self._client.flush(self.collection, timeout=self.call_timeout_s)
                self._client.close()
                self._client = None

        try:
            await self._run(self._write_pool, shut)
        finally:
            self._search_pool.shutdown(wait=False, cancel_futures=True)
            self._write_pool.shutdown(wait=True, cancel_futures=True)

    # -- reads ---------------------------------------------------------------------------

    async def search(
        self, vector: list[float], key: CacheKey, newer_than_ms: int, limit: int, timeout_s: float
    ) -> list[Candidate]:
        expr = (
            f'scope == "{key.scope}" and model == {literal(key.model)} '
            f'and system_hash == "{key.system_hash}" and sampling_fp == "{key.sampling_fp}" '
            f'and context_fp == "{key.context_fp}" and created_ms > {int(newer_than_ms)}'
        )

        def call() -> list[Candidate]:
            hits = self._connected().search(
                self.collection,
                data=[vector],
                limit=limit,
                filter=expr,
                output_fields=_SEARCH_FIELDS,
                search_params={"metric_type": "COSINE", "params": {"ef": SEARCH_EF}},
                timeout=timeout_s,
            )
            return [
                Candidate(
                    entry_id=str(h["id"]),
                    similarity=float(h["distance"]),  # COSINE: higher is closer
                    question=str(h["entity"]["question"]),
                    answer=str(h["entity"]["answer"]),
                    model=str(h["entity"]["model"]),
                    chat_id=str(h["entity"]["chat_id"]),
                    created_ms=int(h["entity"]["created_ms"]),
                )
                for h in hits[0]
            ]

        return await self._run(self._search_pool, call)

    async def count(self, expr: str = "") -> int:
        return await self._run(self._write_pool, lambda: self._count(expr))

    def _count(self, expr: str) -> int:
        rows = self._connected().query(
            self.collection, filter=expr, output_fields=["count(*)"], timeout=self.call_timeout_s
        )
        return int(rows[0]["count(*)"]) if rows else 0

    # -- writes --------------------------------------------------------------------------

    async def upsert(self, entry: CacheEntry) -> None:
        row = {
            "id": entry.entry_id,
            "vector": entry.vector,
            "scope": entry.key.scope,
            "owner": entry.owner,
            "model": entry.key.model,
            "system_hash": entry.key.system_hash,
            "sampling_fp": entry.key.sampling_fp,
            "context_fp": entry.key.context_fp,
            "chat_id": entry.chat_id,
            "turn_id": entry.entry_id,
            "created_ms": entry.created_ms,
            "question": entry.question,
            "answer": entry.answer,
        }

        def call() -> None:
            # upsert, not insert: Milvus keeps duplicate primary keys on insert.
            self._connected().upsert(self.collection, [row], timeout=self.call_timeout_s)
            if self._unflushed == 0:
                self._first_unflushed_at = time.monotonic()
            self._unflushed += 1
            if self._unflushed >= FLUSH_EVERY:
                self._flush()

        await self._run(self._write_pool, call)

    async def delete_chat(self, owner: str, chat_id: str) -> None:
        expr = f'owner == "{owner}" and chat_id == "{chat_id}"'
        await self._run(self._write_pool, lambda: self._delete(expr))

    async def delete_older_than(self, created_ms: int) -> None:
        await self._run(self._write_pool, lambda: self._delete(f"created_ms < {int(created_ms)}"))

    def _delete(self, expr: str) -> None:
        self._connected().delete(self.collection, filter=expr, timeout=self.call_timeout_s)

    async def flush_if_due(self) -> bool:
        """Flushes Lite's memtable when FLUSH_AFTER_S passed since the first unflushed row."""
        if not (self.flushes and self._unflushed):
            return False
        if time.monotonic() - self._first_unflushed_at < FLUSH_AFTER_S:
            return False
        await self._run(self._write_pool, self._flush)
        return True

    def _flush(self) -> None:
        if self.flushes and self._unflushed:
            self._connected().flush(self.collection, timeout=self.call_timeout_s)
            self._unflushed = 0

    async def evict_oldest(self, excess: int, newer_than_ms: int, now_ms: int) -> None:
        """Deletes about `excess` of the oldest entries (to EVICT_RESOLUTION_MS: a few more
        when several share the cut-off second). Milvus queries have no ORDER BY, so the
        cut-off time is found by bisection on filtered counts (~20 count queries) rather than
        by pulling every row's timestamp."""

        def call() -> None:
            low, high = newer_than_ms, now_ms + 1  # count(< low) < excess <= count(< high)
            while high - low > EVICT_RESOLUTION_MS:
                middle = (low + high) // 2
                if self._count(f"created_ms < {middle}") >= excess:
                    high = middle
                else:
                    low = middle
            self._delete(f"created_ms < {high}")

        if excess > 0:
            await self._run(self._write_pool, call)

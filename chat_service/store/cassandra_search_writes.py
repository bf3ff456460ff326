"""The write side of the Cassandra search index: indexing a message or a chat's title (its
search_docs row, then its postings, sent concurrently straight on the driver) and deleting the
postings of an old title, a message or a whole chat.

The design (tables, why postings are not a batch, the write order and what a failure leaves
behind) is in cassandra_search.py's docstring, next to the search that reads the index.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from chat_service.domain import ChatRecord, MessageRecord, MessageStatus, Role
from chat_service.store._codec import to_ms
from chat_service.store.base import StoreUnavailable
from chat_service.store.cassandra_connection import _UNAVAILABLE_ERRORS
from chat_service.store.cassandra_schema import Row, utc
from chat_service.store.search_terms import terms_of

# Statements one write has in flight at a time (a long message posts up to MAX_TERMS).
_IN_FLIGHT = 128
# Postings deleted per batch (one partition: one mutation, no batch log).
_DELETE_CHUNK = 100


def is_searchable(message: MessageRecord) -> bool:
    """A complete user or assistant message with text."""
    return (
        message.role in (Role.USER, Role.ASSISTANT)
        and message.status == MessageStatus.COMPLETE
        and message.content != ""
    )


def message_terms(message: MessageRecord) -> set[str]:
    """The terms a message is indexed by (none unless it is searchable)."""
    return terms_of(message.content) if is_searchable(message) else set()


class CassandraSearchWrites:
    """The index's writes, for CassandraStore's write paths (a base of CassandraSearch, mixed
    in after CassandraConnection): the connection's statements are what these stubs stand for."""

    _session: Any  # the driver's session while started (CassandraConnection's)
    _timeout: float

    async def _execute(self, statement: Any, params: Sequence[Any] | None = None) -> list[Row]:
        raise NotImplementedError  # CassandraConnection's

    def _stmt(self, name: str) -> Any:
        raise NotImplementedError  # CassandraConnection's

    def _batch(self, items: Iterable[tuple[str, Sequence[Any]]]) -> Any:
        raise NotImplementedError  # CassandraConnection's

    async def _each(self, items: Iterable[tuple[str, Sequence[Any]]]) -> None:
        """Runs the named statements concurrently (see _run_all)."""
        await self._run_all((self._stmt(name), params) for name, params in items)

    async def _run_all(self, statements: Iterable[tuple[Any, Sequence[Any] | None]]) -> None:
        """Runs the statements concurrently, _IN_FLIGHT at a time, straight on the driver: one
        asyncio wake-up per group of them instead of a task and a callback per statement (a
        long message posts hundreds, and each would cost the event loop). Raises the first
        error once its group has finished, so no write is left running behind the caller."""
        items = list(statements)
        for start in range(0, len(items), _IN_FLIGHT):
            await self._run_group(items[start : start + _IN_FLIGHT])

    async def _run_group(self, group: list[tuple[Any, Sequence[Any] | None]]) -> None:
        session = self._session
        if session is None:
            raise StoreUnavailable("cassandra store is not started")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        lock = threading.Lock()
        left = [len(group)]
        errors: list[BaseException] = []

        def settle() -> None:
            if done.done():  # the awaiting task was cancelled
                return
            if errors:
                done.set_exception(errors[0])
            else:
                done.set_result(None)

        def finished(error: BaseException | None) -> None:  # on the driver's thread
            with lock:
                if error is not None:
                    errors.append(error)
                left[0] -= 1
                last = left[0] == 0
            if last:
                with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits
                    loop.call_soon_threadsafe(settle)

        for statement, params in group:
            try:
                future = session.execute_async(statement, params, timeout=self._timeout)
            except Exception as exc:
                finished(exc)
                continue
            future.add_callbacks(lambda _rows: finished(None), finished)
        try:
            await done
        except _UNAVAILABLE_ERRORS as exc:
            raise StoreUnavailable(f"cassandra: {exc}") from exc

    @staticmethod
    def _doc_row(
        user_id: str, chat_id: uuid.UUID, doc_id: str, at_ms: int, terms: set[str]
    ) -> tuple[str, Sequence[Any]]:
        return ("insert_search_doc", (user_id, chat_id, doc_id, at_ms, frozenset(terms)))

    async def _post(
        self, user_id: str, chat_id: uuid.UUID, doc_id: str, at_ms: int, terms: Iterable[str]
    ) -> None:
        await self._each(
            ("insert_posting", (user_id, term, at_ms, doc_id, chat_id)) for term in sorted(terms)
        )

    async def _unpost(self, user_id: str, doc_id: str, at_ms: int, terms: Iterable[str]) -> None:
        await self._each(("delete_posting", (user_id, term, at_ms, doc_id)) for term in terms)

    async def _index_doc(
        self, user_id: str, chat_id: uuid.UUID, doc_id: str, at_ms: int, terms: set[str]
    ) -> None:
        """A document's search_docs row, then its postings."""
        if not terms:
            return
        name, params = self._doc_row(user_id, chat_id, doc_id, at_ms, terms)
        await self._execute(self._stmt(name), params)
        await self._post(user_id, chat_id, doc_id, at_ms, terms)

    async def _post_message(self, user_id: str, message: MessageRecord) -> None:
        """The postings of a message whose search_docs row is already written."""
        terms = message_terms(message)
        if terms:
            chat_id, message_id = uuid.UUID(message.chat_id), str(uuid.UUID(message.message_id))
            await self._post(user_id, chat_id, message_id, to_ms(message.created_at), terms)

    async def _index_title(self, user_id: str, chat_id: str, title: str, at: datetime) -> None:
        chat = uuid.UUID(chat_id)
        await self._index_doc(user_id, chat, str(chat), to_ms(at), terms_of(title))

    async def _unindex_old_title(
        self, user_id: str, old: ChatRecord, title: str, at: datetime
    ) -> None:
        """After the chat took `title` at `at`: the old title's postings and row, but those
        the new title wrote over (same time, same term)."""
        chat = uuid.UUID(old.chat_id)
        doc_id = str(chat)
        old_at, new_at = to_ms(old.updated_at), to_ms(at)
        old_terms, new_terms = terms_of(old.title), terms_of(title)
        if not old_terms:
            return
        same_time = old_at == new_at
        await self._unpost(
            user_id, doc_id, old_at, old_terms - new_terms if same_time else old_terms
        )
        if not same_time or not new_terms:
            await self._execute(self._stmt("delete_search_doc"), (user_id, chat, doc_id, old_at))

    async def _unindex_message(self, user_id: str, message: MessageRecord) -> None:
        terms = message_terms(message)
        if not terms:
            return
        chat_id, message_id = uuid.UUID(message.chat_id), str(uuid.UUID(message.message_id))
        at_ms = to_ms(message.created_at)
        await self._unpost(user_id, message_id, at_ms, terms)
        await self._execute(self._stmt("delete_search_doc"), (user_id, chat_id, message_id, at_ms))

    async def _unindex_chat(self, user_id: str, chat_id: uuid.UUID) -> None:
        """Every posting the chat's search_docs rows list, a term's at a time; the rows
        themselves go with the chat (delete_search_docs, in delete_chat's last batch)."""
        by_term: dict[str, list[tuple[int, str]]] = {}
        for row in await self._execute(self._stmt("search_docs"), (user_id, chat_id)):
            at_ms = to_ms(utc(row["at"]))
            for term in row["terms"] or ():
                by_term.setdefault(term, []).append((at_ms, row["doc_id"]))
        await self._run_all(
            (
                self._batch(
                    ("delete_posting", (user_id, term, at_ms, doc_id))
                    for at_ms, doc_id in keys[i : i + _DELETE_CHUNK]
                ),
                None,
            )
            for term, keys in by_term.items()
            for i in range(0, len(keys), _DELETE_CHUNK)
        )

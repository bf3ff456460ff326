"""The chat's message tree on Cassandra (docs/branches.md): paths, versions at forks, threads.

Rows: `messages` gains parent_id (null: legacy, the previous message in id order; the chat's
id: a root) and thread_id (null: the chat's first thread); `message_children` lists each
parent's children (the versions at a fork: one partition per chat, one query for a page);
`thread_tips` keeps each thread's newest message, a leaf (what select_message shows);
`thread_messages` each thread's ids, newest first.

Reading a path. Messages sit in ((user, chat, bucket), message_id DESC) partitions, so a path
could be walked by point reads (one round trip per message), but most paths are long runs of
consecutive ids (a chat that never branched is one run; a branch is a run from its fork on).
So a path is read by range reads from the expected message downwards that accept only the
next ancestor: a linear chat costs one range read per page, as before branches. A range read
passes at most SKIP rows of other branches (interleaved in time); then the path goes on along
the thread: `thread_messages` holds each thread's ids in order (a thread is a line), so one
slice gives the ancestors on it and one read per bucket their messages (messages placed before
the chat's first fork are not indexed: POINT_RUN point reads follow their parents), and a
range read is tried again. Either way the rows read are bounded by the page size plus SKIP per
range read, never by the chat's size.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chat_service.domain import MessageRecord, Placement, Turn
from chat_service.ids import unix_ms_of
from chat_service.store.cassandra_schema import Row, message_from_row

Item = tuple[str, Sequence[Any]]  # a statement's name and its parameters, for a batch
PlacedParams = Callable[[MessageRecord], tuple[Any, ...]]  # a message's insert parameters

SKIP = 8  # rows of other branches one range read may pass
POINT_RUN = 8  # point reads before a range read is tried again
BUCKET_MS = 30 * 24 * 3600 * 1000


def bucket_of(message_id: str) -> int:
    return unix_ms_of(message_id) // BUCKET_MS


@dataclass(frozen=True)
class Step:
    """The next message of a path: exactly `id`, or (legacy) the newest one below `id`
    (None: the chat's newest message)."""

    id: uuid.UUID | None
    exact: bool


def parent_step(chat: uuid.UUID, row: Row) -> Step | None:
    parent = row["parent_id"]
    if parent is None:
        return Step(row["message_id"], exact=False)
    return None if parent == chat else Step(parent, exact=True)


def _record(row: Row) -> MessageRecord:
    message = message_from_row(row)
    parent = row["parent_id"]
    message.parent_id = "" if parent is None or parent == row["chat_id"] else str(parent)
    return message


class CassandraTree:
    """Mixed into CassandraStore (after CassandraConnection, whose methods these stubs name)."""

    async def _execute(self, statement: Any, params: Sequence[Any] | None = None) -> list[Any]:
        raise NotImplementedError  # CassandraConnection's

    def _stmt(self, name: str) -> Any:
        raise NotImplementedError  # CassandraConnection's

    async def _one(self, name: str, params: Sequence[Any]) -> Row | None:
        raise NotImplementedError  # CassandraConnection's

    async def _buckets(self, key: tuple[str, uuid.UUID]) -> list[int]:
        return [r["bucket"] for r in await self._execute(self._stmt("buckets"), key)]

    async def _row(self, key: tuple[str, uuid.UUID], message_id: uuid.UUID) -> Row | None:
        return await self._one("get_message", (*key, bucket_of(str(message_id)), message_id))

    async def _scan(
        self, key: tuple[str, uuid.UUID], buckets: list[int], step: Step, want: int
    ) -> list[Row]:
        """Up to `want` rows from the step's message down (newest first), across buckets."""
        rows: list[Row] = []
        top = bucket_of(str(step.id)) if step.id is not None else None
        for bucket in buckets:  # newest first
            if top is not None and bucket > top:
                continue
            n = want - len(rows)
            if step.id is None:
                page = await self._execute(self._stmt("recent"), (*key, bucket, n))
            else:
                name = "recent_upto" if step.exact else "recent_before"
                page = await self._execute(self._stmt(name), (*key, bucket, step.id, n))
            rows.extend(page)
            if len(rows) >= want:
                break
        return rows

    async def _walk(
        self, key: tuple[str, uuid.UUID], step: Step | None, limit: int
    ) -> list[MessageRecord]:
        out: list[MessageRecord] = []
        buckets: list[int] | None = None
        legacy_tail = False  # the last record's parent is the next row read (a legacy step)
        while step is not None and len(out) < limit:
            if buckets is None:
                buckets = await self._buckets(key)
            want = limit - len(out) + SKIP
            rows = await self._scan(key, buckets, step, want)
            skipped = 0
            for row in rows:
                if step is None or skipped > SKIP:
                    break
                if step.exact and row["message_id"] != step.id:
                    skipped += 1
                    continue
                if legacy_tail:
                    out[-1].parent_id = str(row["message_id"])
                if len(out) == limit:
                    break
                out.append(_record(row))
                step = parent_step(key[1], row)
                legacy_tail = step is not None and not step.exact
            else:
                if step is not None and not step.exact and len(rows) < want:
                    step = None  # nothing older: the legacy chain's first message is a root
            if step is not None and step.exact and len(out) < limit:
                step, legacy_tail = await self._thread_run(key, step, out, limit)
        return out

    async def _thread_run(
        self, key: tuple[str, uuid.UUID], step: Step, out: list[MessageRecord], limit: int
    ) -> tuple[Step | None, bool]:
        """Follows explicit parents along the step's thread (a branch interleaved with
        others): its ids from thread_messages in one slice, then the messages in one read per
        bucket. Messages the index does not hold (placed before the chat's first fork) are
        followed by point reads."""
        assert step.id is not None
        first = await self._row(key, step.id)
        if first is None:
            return None, False
        thread = first["thread_id"] or key[1]
        chain = await self._execute(
            self._stmt("thread_upto"), (*key, thread, step.id, limit - len(out))
        )
        ids: list[uuid.UUID] = []
        expected: uuid.UUID | None = step.id
        for link in chain:  # a line, newest first; stop where it is not (a race made a fork)
            if link["message_id"] != expected:
                break
            ids.append(link["message_id"])
            expected = None if link["parent_id"] == key[1] else link["parent_id"]
            if expected is None:
                break
        if len(ids) <= 1:
            return await self._point_run(key, step, out, limit)
        rows = await self._rows_in(key, ids)
        for message_id in ids:
            row = rows.get(message_id)
            if row is None:  # deleted meanwhile
                return None, False
            out.append(_record(row))
        step_after = parent_step(key[1], rows[ids[-1]])
        return step_after, step_after is not None and not step_after.exact

    async def _rows_in(
        self, key: tuple[str, uuid.UUID], ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, Row]:
        """The messages `ids`, one read per bucket they fall in."""
        by_bucket: dict[int, list[uuid.UUID]] = {}
        for message_id in ids:
            by_bucket.setdefault(bucket_of(str(message_id)), []).append(message_id)
        rows: dict[uuid.UUID, Row] = {}
        for bucket, chunk in by_bucket.items():
            found = await self._execute(self._stmt("get_messages_in"), (*key, bucket, chunk))
            rows.update((row["message_id"], row) for row in found)
        return rows

    async def _point_run(
        self, key: tuple[str, uuid.UUID], step: Step, out: list[MessageRecord], limit: int
    ) -> tuple[Step | None, bool]:
        """Follows explicit parents by point reads (a branch interleaved with others)."""
        current: Step | None = step
        for _ in range(POINT_RUN):
            if current is None or not current.exact or len(out) >= limit:
                break
            assert current.id is not None
            row = await self._row(key, current.id)
            if row is None:
                return None, False
            out.append(_record(row))
            current = parent_step(key[1], row)
        return current, current is not None and not current.exact

    async def _start(self, key: tuple[str, uuid.UUID], before: uuid.UUID | None) -> Step | None:
        """The first step of a path: the current leaf, or the parent of `before`."""
        if before is None:
            chat = await self._one("get_chat", key)
            current = chat["current_message_id"] if chat else None
            return Step(current, exact=True) if current is not None else Step(None, False)
        row = await self._row(key, before)
        if row is None:
            return Step(before, exact=False)  # not a message: the ones before it in id order
        return parent_step(key[1], row)

    async def recent_messages(
        self, user_id: str, chat_id: str, limit: int, before_message_id: str | None = None
    ) -> list[MessageRecord]:
        if limit <= 0:
            return []
        key = (user_id, uuid.UUID(chat_id))
        before = uuid.UUID(before_message_id) if before_message_id is not None else None
        return await self._walk(key, await self._start(key, before), limit)

    async def get_message(
        self, user_id: str, chat_id: str, message_id: str
    ) -> MessageRecord | None:
        key = (user_id, uuid.UUID(chat_id))
        found = await self._walk(key, Step(uuid.UUID(message_id), exact=True), 1)
        if not found or found[0].message_id != str(uuid.UUID(message_id)):
            return None
        return found[0]

    async def all_messages(
        self, user_id: str, chat_id: str, limit: int, after_message_id: str | None = None
    ) -> list[MessageRecord]:
        if limit <= 0:
            return []
        key = (user_id, uuid.UUID(chat_id))
        after = uuid.UUID(after_message_id) if after_message_id is not None else uuid.UUID(int=0)
        low = bucket_of(str(after)) if after_message_id is not None else None
        out: list[MessageRecord] = []
        previous = after_message_id or ""
        for bucket in reversed(await self._buckets(key)):  # oldest first
            if low is not None and bucket < low:
                continue
            rows = await self._execute(
                self._stmt("oldest_after"), (*key, bucket, after, limit - len(out))
            )
            for row in rows:
                message = _record(row)
                if row["parent_id"] is None:
                    message.parent_id = previous
                out.append(message)
                previous = message.message_id
            if len(out) >= limit:
                break
        return out

    async def siblings(
        self, user_id: str, chat_id: str, messages: Sequence[MessageRecord]
    ) -> dict[str, list[str]]:
        chat = uuid.UUID(chat_id)
        parents = sorted({uuid.UUID(m.parent_id) if m.parent_id else chat for m in messages})
        if not parents:
            return {}
        children: dict[str, list[str]] = {}
        rows = await self._execute(self._stmt("children_of"), (user_id, chat, parents))
        for row in rows:  # clustered by (parent, child): each parent's children oldest first
            children.setdefault(str(row["parent_id"]), []).append(str(row["child_id"]))
        out: dict[str, list[str]] = {}
        for m in messages:
            versions = children.get(m.parent_id or str(chat), [])
            if len(versions) > 1 and m.message_id in versions:
                out[m.message_id] = versions
        return out

    async def select_message(self, user_id: str, chat_id: str, message_id: str) -> str | None:
        key = (user_id, uuid.UUID(chat_id))
        row = await self._row(key, uuid.UUID(message_id))
        if row is None:
            return None
        tip = await self._one("get_tip", (*key, row["thread_id"] or key[1]))
        if tip is None:  # a chat that never branched: its one line ends at its newest message
            newest = await self._walk(key, Step(None, exact=False), 1)
            return newest[0].message_id if newest else None
        await self._execute(self._stmt("set_current"), (tip["tip_id"], *key))
        return str(tip["tip_id"])

    # -- placing new messages (begin_turn, add_messages) ---------------------------------

    async def _thread_under(
        self, key: tuple[str, uuid.UUID], parent: uuid.UUID | None, items: list[Item]
    ) -> uuid.UUID | bool | None:
        """The thread a new child of `parent` (None: a new root) continues (None: the chat's
        first thread), or False when the parent has a child already: the new one starts its
        own. Adds to `items` the adoption of a legacy child (see sqlite_tree: the parent is
        then stored on it, so the fork's children row holds every version)."""
        chat = key[1]
        row = await self._row(key, parent) if parent is not None else None
        if parent is None or (row is not None and row["parent_id"] is None):
            # A legacy parent (or the root of a legacy chat) may have an implicit child.
            after = parent if parent is not None else uuid.UUID(int=0)
            for bucket in reversed(await self._buckets(key)):
                if bucket < bucket_of(str(after)) and parent is not None:
                    continue
                found = await self._execute(self._stmt("oldest_after"), (*key, bucket, after, 1))
                if found:
                    child = found[0]
                    if child["parent_id"] is None:
                        stored = parent if parent is not None else chat
                        cid = child["message_id"]
                        items.append(("set_parent", (stored, *key, bucket_of(str(cid)), cid)))
                        items.append(("insert_child", (*key, stored, cid)))
                        return False
                    break
        has_child = await self._one("first_child", (*key, parent if parent is not None else chat))
        if has_child is not None:
            return False
        return row["thread_id"] if row is not None else None

    async def _placed_items(
        self, user_id: str, turn: Turn, placement: Placement, params: PlacedParams
    ) -> list[Item]:
        """The writes that put a turn (not a legacy append) into the tree: the messages with
        parent and thread, their children rows, the thread's tip and the chat's current leaf.
        Sets the records' parent ids."""
        key = (user_id, uuid.UUID(turn.user.chat_id))
        chat = key[1]
        if placement.regenerate:
            parent: uuid.UUID | None = uuid.UUID(turn.user.message_id)
        else:
            assert placement.parent_id is not None
            parent = uuid.UUID(placement.parent_id) if placement.parent_id else None
        items: list[Item] = []
        thread = await self._thread_under(key, parent, items)
        if thread is False:
            first = turn.assistant if placement.regenerate else turn.user
            thread = uuid.UUID(first.message_id)
            await self._keep_first_tip(key, items)
        assert thread is not True
        new = [turn.assistant] if placement.regenerate else [turn.user, turn.assistant]
        for message in new:
            message.parent_id = str(parent) if parent is not None else ""
            mid = uuid.UUID(message.message_id)
            items.append(("insert_placed", (*params(message), parent or chat, thread)))
            items.append(("insert_child", (*key, parent or chat, mid)))
            items.append(("insert_in_thread", (*key, thread or chat, mid, parent or chat)))
            parent = mid
        items.append(("set_tip", (*key, thread or chat, parent)))
        items.append(("set_current", (parent, *key)))
        return items

    async def _keep_first_tip(self, key: tuple[str, uuid.UUID], items: list[Item]) -> None:
        """Before a chat's first fork, its first thread's tip is its newest message (a chat
        that never branched keeps no tips): kept, so that thread can be shown again."""
        if await self._one("get_tip", (*key, key[1])) is not None:
            return
        newest = await self._walk(key, Step(None, exact=False), 1)
        if newest:
            items.append(("set_tip", (*key, key[1], uuid.UUID(newest[0].message_id))))

"""Importing a file of chats into a user's history (docs/export-format.md, "Import").

The file is read and validated whole first (reader.py): a bad file writes nothing. Then each
chat is written with ids derived from the file (ids.py): its chat row first (a store keeps a
message only in a chat that exists), then its messages, the last one alone after all the
others. So a chat whose last message is stored is complete, and is skipped when the file is
imported again; one that a failure (the store down: UNAVAILABLE) left half-written is completed
by the retry, which writes the same rows again."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from chat_service.domain import ChatRecord, MessageRecord
from chat_service.ids import parse_id
from chat_service.timed_store import TimedStore
from chat_service.transfer.ids import chat_id_for, message_ids_for, next_id, unix_ms
from chat_service.transfer.model import ImportedChat, ImportLimits
from chat_service.transfer.reader import read_import

WRITE_BATCH = 32  # messages written at once


@dataclass
class ImportResult:
    format: str
    chats: list[ChatRecord] = field(default_factory=list)  # the file's chats, as stored
    imported: int = 0
    skipped: int = 0


def _ms(value: datetime) -> datetime:
    """Millisecond precision, what the stores keep (the answer shows what a read would)."""
    return value.replace(microsecond=unix_ms(value) % 1000 * 1000)


def records_of(
    user_id: str, source_format: str, chat: ImportedChat
) -> tuple[ChatRecord, list[MessageRecord]]:
    """The chat and messages an import writes: ids derived from the file, the file's times."""
    chat_id = chat_id_for(user_id, source_format, chat.source_id, chat.created_at)
    record = ChatRecord(
        user_id=user_id,
        chat_id=chat_id,
        title=chat.title,
        system_prompt=chat.system_prompt,
        settings=chat.settings,
        created_at=_ms(chat.created_at),
        updated_at=_ms(max(chat.updated_at, chat.created_at)),
        title_from_user=bool(chat.title),  # an imported title is kept: no turn renames it
    )
    ids = message_ids_for(chat_id, chat.messages)
    linear = chat.is_linear()
    if not linear:  # the branch shown: the file's, else its last message (always a leaf)
        source_ids = [m.source_id for m in chat.messages]
        shown = chat.current_source_id or source_ids[-1]
        record.current_message_id = ids[source_ids.index(shown)]
    messages = [
        MessageRecord(
            chat_id=chat_id,
            message_id=message_id,
            role=m.role,
            content=m.content,
            status=m.status,
            created_at=_ms(m.created_at),
            updated_at=_ms(m.updated_at),
            model=m.model,
            prompt_tokens=m.prompt_tokens,
            completion_tokens=m.completion_tokens,
            finish_reason=m.finish_reason,
            error=m.error,
            # A linear chat is stored with legacy parents (one line in id order), as appended
            # turns are; a tree with its parents (docs/branches.md).
            parent_id="" if linear or m.parent_index is None else ids[m.parent_index],
        )
        for message_id, m in zip(ids, chat.messages, strict=True)
    ]
    return record, messages


class Importer:
    def __init__(self, store: TimedStore, limits: ImportLimits) -> None:
        self.store = store
        self.limits = limits

    async def run(self, user_id: str, data: bytes) -> ImportResult:
        # Reading up to the largest request (16 MiB of JSON) takes a while: not on the loop.
        parsed = await asyncio.to_thread(read_import, data, self.limits)
        result = ImportResult(parsed.format)
        for chat in parsed.chats:
            stored, written = await self._import_chat(user_id, parsed.format, chat)
            result.chats.append(stored)
            if written:
                result.imported += 1
            else:
                result.skipped += 1
        return result

    async def _import_chat(
        self, user_id: str, source_format: str, chat: ImportedChat
    ) -> tuple[ChatRecord, bool]:
        """The chat as stored, and whether this import wrote it (else it was there already)."""
        if source_format == "chatstack":
            own = await self._still_here(user_id, chat.source_id)
            if own is not None:
                return own, False
        record, messages = records_of(user_id, source_format, chat)
        stored = await self.store.get_chat(user_id, record.chat_id)
        if stored is not None and await self._complete(user_id, stored.chat_id, messages):
            return stored, False
        if stored is None:
            await self.store.create_chat(record)
        if record.current_message_id:  # a tree: placed in order, parents first
            await self._add_messages(user_id, messages)
        else:
            await self._write_messages(user_id, messages)
        return stored or record, True

    async def _still_here(self, user_id: str, source_id: str) -> ChatRecord | None:
        """A chat of this service's export that the user still has (their own export imported
        back): not copied. A chat of someone else's export has another id in their account."""
        try:
            chat_id = str(parse_id(source_id))
        except ValueError:
            return None
        return await self.store.get_chat(user_id, chat_id)

    async def _complete(self, user_id: str, chat_id: str, messages: list[MessageRecord]) -> bool:
        """Whether the chat's last imported message is stored (written last: all are)."""
        if not messages:
            return True
        last = messages[-1].message_id
        found = await self.store.recent_messages(user_id, chat_id, 1, next_id(last))
        return bool(found) and found[0].message_id == last

    async def _add_messages(self, user_id: str, messages: list[MessageRecord]) -> None:
        """A tree's messages in batches, in order (a message is placed under its stored
        parent), the last alone after all the others, as _write_messages."""
        for start in range(0, len(messages) - 1, WRITE_BATCH):
            await self.store.add_messages(
                user_id, messages[start : min(start + WRITE_BATCH, len(messages) - 1)]
            )
        await self.store.add_messages(user_id, messages[-1:])

    async def _write_messages(self, user_id: str, messages: list[MessageRecord]) -> None:
        """All but the last in batches, then the last: stored only once every other one is."""
        if not messages:
            return
        end = len(messages) - 1
        for start in range(0, end, WRITE_BATCH):
            batch = messages[start : min(start + WRITE_BATCH, end)]
            outcomes = await asyncio.gather(
                *(self.store.save_message(user_id, m) for m in batch), return_exceptions=True
            )
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
        await self.store.save_message(user_id, messages[-1])

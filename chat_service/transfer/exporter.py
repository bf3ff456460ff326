"""Exporting a user's chats as one chatstack.chats document (format.py, docs/export-format.md):
the chats named, or all of them, each with every message it holds, read page by page.

The document is one response: it must fit the largest message the server sends
(max_message_bytes). The exporter stops as soon as it would not, and says so
(FAILED_PRECONDITION, reason EXPORT_TOO_LARGE), rather than let the call fail obscurely."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence

from chat_service.convert import chat_id_from
from chat_service.domain import ChatRecord, MessageRecord, utcnow
from chat_service.timed_store import TimedStore
from chat_service.transfer.format import chat_bytes, document_overhead, export_bytes
from server_kit.errors import FailedPrecondition, InvalidArgument, NotFound

CHATS_PAGE = 100
MESSAGES_PAGE = 500
MAX_NAMED_CHATS = 1000
# Room in the response for what is around the document: the HttpBody's other field and tags.
RESPONSE_OVERHEAD = 1024

AsSeen = Callable[[str, MessageRecord], MessageRecord]


class ExportTooLarge(FailedPrecondition):
    def __init__(self, limit: int, chats_done: int) -> None:
        super().__init__(
            f"the export is larger than the {limit / 2**20:.1f} MiB one response holds (after "
            f"{chats_done} chats): export fewer chats at a time (chat_ids)",
            reason="EXPORT_TOO_LARGE",
        )


def named_ids(chat_ids: Sequence[str]) -> list[str]:
    """The chats a request names, validated, each once, in the order named."""
    if len(chat_ids) > MAX_NAMED_CHATS:
        raise InvalidArgument("chat_ids", f"more than {MAX_NAMED_CHATS} chats")
    ids = [chat_id_from(value, f"chat_ids[{i}]") for i, value in enumerate(chat_ids)]
    return list(dict.fromkeys(ids))


class Exporter:
    def __init__(self, store: TimedStore, max_response_bytes: int, as_seen: AsSeen) -> None:
        self.store = store
        self.limit = max_response_bytes
        self.as_seen = as_seen  # an abandoned reply reads as interrupted, as GetChat shows it

    async def run(self, user_id: str, chat_ids: Sequence[str]) -> bytes:
        """The document of the chats named (NOT_FOUND if one is not the user's), or of all the
        user's chats (newest first) when none is."""
        budget = self.limit - RESPONSE_OVERHEAD - document_overhead()
        parts: list[bytes] = []
        used = 0
        async for chat in self._chats(user_id, named_ids(chat_ids)):
            messages = await self._messages(user_id, chat.chat_id, budget - used, len(parts))
            part = chat_bytes(chat, messages)
            used += len(part) + 1  # and its comma
            if used > budget:
                raise ExportTooLarge(self.limit, len(parts))
            parts.append(part)
        return export_bytes(utcnow(), parts)

    async def _chats(self, user_id: str, chat_ids: list[str]) -> AsyncIterator[ChatRecord]:
        if chat_ids:
            named = []
            for chat_id in chat_ids:  # all found before any is read further
                chat = await self.store.get_chat(user_id, chat_id)
                if chat is None:  # also another user's: existence is not revealed
                    raise NotFound(f"chat {chat_id} not found", reason="CHAT_NOT_FOUND")
                named.append(chat)
            for chat in named:
                yield chat
            return
        before: str | None = None
        while True:
            page = await self.store.list_chats(user_id, CHATS_PAGE, before)
            for chat in page:
                yield chat
            if len(page) < CHATS_PAGE:
                return
            before = page[-1].chat_id

    async def _messages(
        self, user_id: str, chat_id: str, room: int, chats_done: int
    ) -> list[MessageRecord]:
        """Every message of the chat, every branch, oldest first, with its parent; stops
        reading once their text alone is more than `room` bytes (the export cannot fit)."""
        messages: list[MessageRecord] = []
        size = 0
        after: str | None = None
        while True:
            page = await self.store.all_messages(user_id, chat_id, MESSAGES_PAGE, after)
            messages.extend(page)
            size += sum(len(m.content.encode()) + len(m.error.encode()) for m in page)
            if size > room:
                raise ExportTooLarge(self.limit, chats_done)
            if len(page) < MESSAGES_PAGE:
                break
            after = page[-1].message_id
        return [self.as_seen(user_id, m) for m in messages]

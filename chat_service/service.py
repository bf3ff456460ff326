"""The chat service's business logic: chats (create, list, get, delete) here, turns in
`chat_service/turn/`. It never touches gRPC: the servicer adapts it. docs/architecture.md
describes a turn's path and where each guarantee is kept."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import replace

from chat_service.admission import UserAdmission, UserLimits
from chat_service.config import ChatSettings
from chat_service.domain import (
    ChatOptions,
    ChatRecord,
    ChatUpdate,
    MessageRecord,
    Sampling,
    Turn,
    utcnow,
)
from chat_service.ids import new_id
from chat_service.inference_client import InferenceClient
from chat_service.jobs.handlers import Handler, make_handlers
from chat_service.jobs.jobs import GenerateTurn, InvalidateChatCache, Job
from chat_service.jobs.queue import JobQueue
from chat_service.page_tokens import decode_page_token, encode_page_token
from chat_service.timed_store import TimedStore
from chat_service.turn.answer import Answerer
from chat_service.turn.branch import BranchRequest, check_branch
from chat_service.turn.cancel import TurnStopper
from chat_service.turn.events import ReplyDelta, ReplyError, ReplyEvent, ReplyFinal, TurnRequest
from chat_service.turn.feed import TurnFeed
from chat_service.turn.follow import Follower
from chat_service.turn.lifecycle import TurnLifecycle
from chat_service.turn.outcome import TurnTracker
from chat_service.turn.running import RunningTurns, TurnKey
from chat_service.turn.side_work import SideWork
from chat_service.turn.stateless import StatelessTurns
from chat_service.turn.streamed import StreamedTurns
from chat_service.turn.submitted import SubmittedTurns
from chat_service.turn_cache import TurnCache
from server_kit.errors import NotFound

__all__ = ["ChatService", "ReplyDelta", "ReplyError", "ReplyEvent", "ReplyFinal"]


class ChatService:
    def __init__(
        self,
        store: TimedStore,
        inference: InferenceClient,
        settings: ChatSettings,
        cache: TurnCache | None = None,
        queue: JobQueue | None = None,
        feed: TurnFeed | None = None,
    ) -> None:
        self.store = store
        self.inference = inference
        self.settings = settings
        self.cache = cache  # None: the semantic answer cache is off
        self.queue = queue  # None: no message queue, side work runs as in-process tasks
        self.admission = UserAdmission(store, UserLimits.from_settings(settings))
        self.side_work = SideWork(queue, settings)
        self.lifecycle = TurnLifecycle(store, inference, settings, self.admission)
        # Followers and stops reach turns through the feed (in process unless given NATS's).
        self.feed = feed if feed is not None else TurnFeed(RunningTurns())
        self.answerer = Answerer(
            store, inference, settings, cache, self.lifecycle, self.side_work, self.feed.running
        )
        self.prompts = self.answerer.prompts
        self.summarizer = self.answerer.summarizer
        self.tracker = TurnTracker(settings.log_content)
        self.streamed = StreamedTurns(settings, self.lifecycle, self.answerer, self.tracker)
        self.stateless = StatelessTurns(settings, self.lifecycle, inference, cache, self.tracker)
        self.submitted = SubmittedTurns(
            store, settings, self.lifecycle, self.answerer, self.side_work, self.tracker
        )
        self.follower = Follower(self.feed, settings, self.submitted.get_turn)
        self.stopper = TurnStopper(store, self.lifecycle, self.feed, self.submitted.get_turn)
        # What each job does, wherever it runs: here (no queue, or publishing failed) or on a
        # queue worker of any replica (__main__ hands the workers the same handlers).
        self.handlers = make_handlers(store, self.summarizer, cache, self.run_submitted)
        self.dead_letter_hooks: dict[type[Job], Handler] = {GenerateTurn: self.fail_submitted}
        self.side_work.use(self.handlers, self.dead_letter_hooks)

    # -- chats ---------------------------------------------------------------------------

    async def create_chat(
        self,
        user_id: str,
        title: str,
        system_prompt: str,
        options: ChatOptions,
        client_request_id: str = "",
    ) -> ChatRecord:
        """A new chat; with a client request id, a retry's is the first call's chat: as stored,
        or written now under the id claimed first (the first call may have died before
        writing it, or the chat has been deleted since)."""
        chat_id = new_id()
        if client_request_id:
            chat_id = await self.store.claim_chat_request(user_id, client_request_id, chat_id)
            stored = await self.store.get_chat(user_id, chat_id)
            if stored is not None:
                return stored
        now = utcnow()
        chat = ChatRecord(
            user_id=user_id,
            chat_id=chat_id,
            title=title.strip(),
            system_prompt=system_prompt,
            settings=options,
            created_at=now,
            updated_at=now,
            title_from_user=bool(title.strip()),
        )
        await self.store.create_chat(chat)
        return chat

    async def update_chat(
        self, user_id: str, chat_id: str, change: Callable[[ChatRecord], ChatUpdate]
    ) -> ChatRecord:
        """Applies the change `change` makes of the stored chat; the chat's activity time stays
        (a rename does not reorder the list). A title the user sets is never replaced
        automatically; clearing it lets the next turn name the chat again."""
        chat = await self.chat_of(user_id, chat_id)
        update = change(chat)
        if update.title is not None:
            chat.title, chat.title_from_user = update.title, bool(update.title)
        if update.options is not None:
            chat.settings = update.options
        await self.store.update_chat(chat)
        return chat

    async def chat_of(self, user_id: str, chat_id: str) -> ChatRecord:
        return await self.lifecycle.chat_of(user_id, chat_id)

    async def list_chats(
        self, user_id: str, page_size: int, page_token: str
    ) -> tuple[list[ChatRecord], str]:
        before = decode_page_token(page_token)
        chats = await self.store.list_chats(user_id, page_size + 1, before)
        more = len(chats) > page_size
        chats = chats[:page_size]
        return chats, encode_page_token(chats[-1].chat_id) if more else ""

    async def get_chat(
        self, user_id: str, chat_id: str, page_size: int, page_token: str
    ) -> tuple[ChatRecord, list[MessageRecord], str]:
        before = decode_page_token(page_token)
        chat = await self.chat_of(user_id, chat_id)
        newest_first = await self.store.recent_messages(user_id, chat_id, page_size + 1, before)
        more = len(newest_first) > page_size
        page = newest_first[:page_size]
        token = encode_page_token(page[-1].message_id) if more else ""
        page.reverse()
        return chat, [self.lifecycle.as_seen(user_id, m) for m in page], token

    async def versions(
        self, user_id: str, chat_id: str, page: list[MessageRecord]
    ) -> dict[str, list[str]]:
        """The versions at each fork of a page of GetChat (message id -> its siblings and itself,
        oldest first), for those that have siblings: one indexed read (docs/branches.md)."""
        return await self.store.siblings(user_id, chat_id, page) if page else {}

    async def select_message(self, user_id: str, chat_id: str, message_id: str) -> ChatRecord:
        """Shows the branch through a message (SelectMessage): the chat's current message
        becomes the newest of that message's line. NOT_FOUND for a message not in the chat."""
        chat = await self.chat_of(user_id, chat_id)
        leaf = await self.store.select_message(user_id, chat_id, message_id)
        if leaf is None:
            raise NotFound(
                f"message_id: message {message_id} not found in chat {chat_id}",
                reason="MESSAGE_NOT_FOUND",
            )
        chat.current_message_id = leaf
        return chat

    async def delete_chat(self, user_id: str, chat_id: str, allow_missing: bool = False) -> None:
        """NOT_FOUND for a chat the user does not have, unless `allow_missing`: then the delete
        runs anyway (a no-op in the store; it also retries a cache cleanup left behind)."""
        if not allow_missing:
            await self.chat_of(user_id, chat_id)
        await self.store.delete_chat(user_id, chat_id)
        if self.cache is None:
            return
        # With a queue a worker deletes the entries (retried, and after the cache stores
        # published before it); without one here, its first attempt awaited. A failure never
        # fails the delete: it is retried in the background.
        await self.side_work.dispatch_now(InvalidateChatCache(user_id, chat_id))

    # -- turns (chat_service/turn/) ------------------------------------------------------

    def complete(
        self,
        user_id: str,
        chat_id: str,
        content: str,
        client_request_id: str,
        sampling: Sampling,
        bypass_cache: bool = False,
        branch: BranchRequest | None = None,
    ) -> AsyncGenerator[ReplyEvent, None]:
        """`branch`: an edit or a regenerated answer (docs/branches.md); None: an append."""
        request = _turn_request(
            user_id, chat_id, content, client_request_id, sampling, bypass_cache, branch
        )
        if branch is None or branch.is_append:
            return self.streamed.complete(request)
        return self._complete_placed(request, branch)

    async def _complete_placed(
        self, request: TurnRequest, branch: BranchRequest
    ) -> AsyncGenerator[ReplyEvent, None]:
        """A streamed turn placed in the tree: its placement checked first."""
        placed = await check_branch(self.store, request.user_id, request.chat_id, branch)
        async with aclosing(self.streamed.complete(replace(request, branching=placed))) as events:
            async for event in events:
                yield event

    async def submit(
        self,
        user_id: str,
        chat_id: str,
        content: str,
        client_request_id: str,
        sampling: Sampling,
        bypass_cache: bool = False,
        branch: BranchRequest | None = None,
    ) -> Turn:
        request = _turn_request(
            user_id, chat_id, content, client_request_id, sampling, bypass_cache, branch
        )
        if branch is None or branch.is_append:
            return await self.submitted.submit(request)
        placed = await check_branch(self.store, user_id, chat_id, branch)
        return await self.submitted.submit(replace(request, branching=placed))

    async def get_turn(self, user_id: str, chat_id: str, client_request_id: str) -> Turn:
        return await self.submitted.get_turn(user_id, chat_id, client_request_id)

    def follow_turn(
        self,
        user_id: str,
        chat_id: str,
        client_request_id: str,
        offset: int = 0,
        attempt: str = "",
    ) -> AsyncGenerator[ReplyEvent, None]:
        """The turn's reply from `offset` (code points the caller holds, of `attempt` if
        known) on, then its end."""
        key = TurnKey(user_id, chat_id, client_request_id)
        return self.follower.follow(key, offset, attempt)

    async def cancel_turn(self, user_id: str, chat_id: str, client_request_id: str) -> Turn:
        return await self.stopper.cancel(TurnKey(user_id, chat_id, client_request_id))

    async def run_submitted(self, job: GenerateTurn) -> None:
        await self.submitted.run_submitted(job)

    async def fail_submitted(self, job: GenerateTurn) -> None:
        await self.submitted.fail_submitted(job)

    # -- shutdown ------------------------------------------------------------------------

    async def wait_published(self) -> None:
        """Waits for the background publishes and in-process jobs (tests, shutdown)."""
        await self.side_work.wait()

    async def drain(self, timeout_s: float) -> None:
        """At shutdown, after the server has cancelled the open streams: waits (bounded) until
        every turn has recorded how it ended, so closing the store loses nothing."""
        await self.tracker.idle(timeout_s)
        await self.lifecycle.final_saves.wait(timeout_s)


def _turn_request(
    user_id: str,
    chat_id: str,
    content: str,
    client_request_id: str,
    sampling: Sampling,
    bypass_cache: bool,
    branch: BranchRequest | None,
) -> TurnRequest:
    """A regenerated answer never comes from the answer cache: a new answer is what is asked."""
    bypass_cache = bypass_cache or bool(branch and branch.regenerate_message_id)
    return TurnRequest(user_id, chat_id, content, client_request_id, sampling, bypass_cache)

"""A turn's records in the store, from start to end (docs/architecture.md, "The guarantees").

Started: the user's message and a pending reply are stored in one write under the client's
request id, after the user's admission (admission.py); a retry of a finished turn replays it, a
retry of a failed, interrupted or abandoned one regenerates into the same messages, a retry of
a running one is refused. Running: a lease re-saves the pending reply, so that other replicas
can tell a running turn from one whose server died. Ended: saved as complete, interrupted or
failed, by a shielded background save that shutdown waits for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from chat_service import metrics
from chat_service.admission import TurnKind, UserAdmission
from chat_service.config import TurnSettings
from chat_service.domain import (
    ChatRecord,
    MessageRecord,
    MessageStatus,
    Placement,
    Role,
    Turn,
    utcnow,
)
from chat_service.ids import new_id, new_ids
from chat_service.inference_client import InferenceClient
from chat_service.jobs.jobs import GenerateTurn
from chat_service.store.ledger import Slot
from chat_service.timed_store import TimedStore
from chat_service.turn.branch import Branching
from chat_service.turn.events import ReplyDelta
from server_kit.errors import FailedPrecondition, NotFound, ResourceExhausted, ServiceError
from server_kit.tasks import BackgroundTasks

log = logging.getLogger(__name__)

TITLE_CHARS = 60


def title_from(content: str) -> str:
    """A short title from the first user message: its first line, cut at a word boundary."""
    line = " ".join(content.split())
    if len(line) <= TITLE_CHARS:
        return line
    cut = line[:TITLE_CHARS].rsplit(" ", 1)[0] or line[:TITLE_CHARS]
    return cut + "…"


def queued_slot(chat_id: str, request_id: str) -> str:
    """A submitted turn's queue slot: named by the turn, so a resubmission reuses it."""
    return f"{chat_id}/{request_id}"


@dataclass
class ReplyBuffer:
    """The assistant's reply as a turn streams it: what the client has seen so far, and the
    record to store however the turn ends."""

    assistant: MessageRecord
    started_at: float
    parts: list[str] = field(default_factory=list)

    def seen(self, text: str) -> ReplyDelta:
        if not self.parts:
            metrics.TIME_TO_FIRST_TOKEN.observe(time.perf_counter() - self.started_at)
        self.parts.append(text)
        return ReplyDelta(text)

    def ended(self, status: MessageStatus, error: str = "") -> MessageRecord:
        """The record of a turn that stopped early: the partial reply, with its status."""
        return replace(
            self.assistant,
            content="".join(self.parts),
            status=status,
            updated_at=utcnow(),
            error=error or self.assistant.error,
        )


@dataclass(frozen=True)
class RunMode:
    """How a turn runs: interactive (a client streams it) or submitted (a worker runs it)."""

    lease_s: float  # how often the pending reply is re-saved (submitted: progress for readers)
    retry_when_busy: bool = False  # a saturated model leaves it pending for a later attempt
    # Stopped by a shutdown: queued again for another replica, not stored as interrupted (no
    # client asked it to stop).
    requeue_when_stopped: bool = False
    slot: Slot | None = None  # the user's stream slot (admission.py), renewed with the lease
    # Publish every delta to followers from the start (submitted turns: a client follows
    # them); otherwise only once a follower asks (turn/running.py).
    publish_progress: bool = False
    # A submitted turn's queueing time (time.time()): a stop asked after it, remembered by a
    # replica the turn was not running on yet, stops this attempt (turn/running.py).
    submitted_at: float | None = None


class Lease:
    """Re-saves a running turn's pending reply (with the text so far) every `interval_s`: the
    record's age tells other replicas a running turn from one whose server died
    (`abandoned_turn_s`), and StreamTurn readers see the reply grow. Stopped (never cancelled
    mid-save) before the turn saves how it ended, so a late refresh cannot overwrite that.

    A timer, not a task waiting out the interval: most turns end before their first refresh,
    and a task per turn (with its wait and its timeout) was a measurable share of a turn's
    CPU (docs/architecture.md, "Where the time goes")."""

    def __init__(
        self,
        store: TimedStore,
        user_id: str,
        reply: ReplyBuffer,
        interval_s: float,
        renew: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store, self.user_id, self.reply, self.interval_s = store, user_id, reply, interval_s
        self.renew = renew
        self._stopped = False
        self._saving: asyncio.Task[None] | None = None
        self._loop = asyncio.get_running_loop()
        self._timer = self._loop.call_later(interval_s, self._due)

    def _due(self) -> None:
        if not self._stopped:
            self._saving = self._loop.create_task(self._refresh())

    async def _refresh(self) -> None:
        try:
            await self.store.save_message(self.user_id, self.reply.ended(MessageStatus.PENDING))
            if self.renew is not None:
                await self.renew()
        except ServiceError:  # the store is down: the turn's own saves report it
            log.debug("refreshing a pending reply failed", exc_info=True)
        finally:
            if not self._stopped:
                self._timer = self._loop.call_later(self.interval_s, self._due)

    async def stop(self) -> None:
        self._stopped = True
        self._timer.cancel()
        if self._saving is not None and not self._saving.done():
            await asyncio.shield(self._saving)


class TurnLifecycle:
    def __init__(
        self,
        store: TimedStore,
        inference: InferenceClient,
        settings: TurnSettings,
        admission: UserAdmission,
    ) -> None:
        self.store = store
        self.inference = inference
        self.settings = settings
        self.admission = admission
        # Shutdown waits for these: the saves that record how a turn ended, slot releases.
        self.final_saves = BackgroundTasks("final save")

    async def chat_of(self, user_id: str, chat_id: str) -> ChatRecord:
        chat = await self.store.get_chat(user_id, chat_id)
        if chat is None:  # also for another user's chat: existence is not revealed
            raise NotFound(f"chat {chat_id} not found", reason="CHAT_NOT_FOUND")
        return chat

    # -- starting ------------------------------------------------------------------------

    async def start_turn(
        self,
        user_id: str,
        chat: ChatRecord,
        content: str,
        client_request_id: str,
        branching: Branching | None = None,
    ) -> tuple[Turn, Slot | None]:
        """The turn to generate and the user's stream slot it holds; a retry of a finished turn
        (to replay) holds none. `branching`: where a new turn goes (new_turn)."""
        existing: Turn | None = None
        if client_request_id:
            existing = await self.store.find_turn(user_id, chat.chat_id, client_request_id)
            if existing is not None:
                if self.running(existing.assistant):
                    raise FailedPrecondition(
                        f"the turn with client_request_id {client_request_id!r} is still "
                        "in progress (if its server stopped, it is released "
                        f"{self.settings.abandoned_turn_s:.0f} s after its last sign of life)",
                        reason="TURN_IN_PROGRESS",
                    )
                if existing.assistant.status is MessageStatus.COMPLETE:
                    return existing, None  # replayed
        slot = await self.admit(user_id, TurnKind.STREAM, new_id())
        try:
            if existing is None:
                request_id = client_request_id or uuid.uuid4().hex
                turn = await self.new_turn(
                    user_id, chat, content, request_id, MessageStatus.PENDING, branching
                )
                return turn, slot
            # Failed, interrupted or abandoned: regenerated into the same messages, claimed
            # first (a fresh lease) so that a concurrent retry sees it in progress.
            claimed = replace(
                existing.assistant, status=MessageStatus.PENDING, content="", updated_at=utcnow()
            )
            await self.store.save_message(user_id, claimed)
            return Turn(existing.user, claimed), slot
        except BaseException:
            self.release(user_id, TurnKind.STREAM, slot.slot_id)
            raise

    async def new_turn(
        self,
        user_id: str,
        chat: ChatRecord,
        content: str,
        request_id: str,
        reply_status: MessageStatus,
        branching: Branching | None = None,
    ) -> Turn:
        """Stores a new turn where `branching` says (docs/branches.md; None: an append).
        Regenerate stores the reply only, under the stored question."""
        placed = branching or Branching(Placement())
        now = utcnow()
        user_id_, assistant_id = new_ids(2)
        question = placed.question or MessageRecord(
            chat.chat_id, user_id_, Role.USER, content, MessageStatus.COMPLETE, now, now,
            client_request_id=request_id,
        )  # fmt: skip
        turn = Turn(
            user=question,
            assistant=MessageRecord(
                chat.chat_id, assistant_id, Role.ASSISTANT, "", reply_status, now, now,
                client_request_id=request_id,
            ),
        )  # fmt: skip
        turn = await self.store.begin_turn(user_id, turn, placed.placement)
        if placed.question is None and not chat.title and not chat.title_from_user:
            # The title only: a rename or a settings change made since this turn read the chat
            # is kept (name_chat writes nothing else, and nothing over a user's title).
            chat.title = title_from(content)
            chat.updated_at = now
            await self.store.name_chat(user_id, chat.chat_id, chat.title, now)
        return turn

    # -- the user's slots ----------------------------------------------------------------

    async def admit(self, user_id: str, kind: TurnKind, slot_id: str) -> Slot:
        """Backpressure and the user's limits, before anything is stored: see
        InferenceClient.busy_for and admission.py."""
        if self.inference.busy_for(user_id) > 0:
            raise ResourceExhausted(
                "the model is busy: its queue was full a moment ago",
                reason="INFERENCE_BUSY",
                retry_after_s=1.0,
            )
        return await self.admission.admit(user_id, kind, slot_id)

    def release(self, user_id: str, kind: TurnKind, slot_id: str) -> None:
        """Frees a slot in the background (a task shutdown waits for, never cancelled with
        the turn); if the store is down the slot expires by itself."""
        self.track(self.admission.release(user_id, kind, slot_id), "releasing a slot")

    def release_queue_slot(self, job: GenerateTurn) -> None:
        self.release(job.user_id, TurnKind.QUEUED, queued_slot(job.chat_id, job.client_request_id))

    def track(self, work: Awaitable[None], what: str) -> None:
        """Store work a turn leaves behind, which shutdown waits for."""

        async def run() -> None:
            try:
                await work
            except ServiceError:
                log.warning(f"{what} failed", exc_info=True)

        self.final_saves.spawn(run(), name=what)

    # -- how a stored reply reads --------------------------------------------------------

    def abandoned(self, message: MessageRecord) -> bool:
        """A pending reply whose lease ran out: the server running its turn died."""
        age = (utcnow() - message.updated_at).total_seconds()
        return message.status is MessageStatus.PENDING and age > self.settings.abandoned_turn_s

    def running(self, message: MessageRecord) -> bool:
        """Queued, or pending with a live lease."""
        return message.status is MessageStatus.QUEUED or (
            message.status is MessageStatus.PENDING and not self.abandoned(message)
        )

    def as_seen(self, user_id: str, message: MessageRecord) -> MessageRecord:
        """An abandoned reply is shown (and, in the background, stored) as interrupted."""
        if not self.abandoned(message):
            return message
        ended = replace(
            message,
            status=MessageStatus.INTERRUPTED,
            updated_at=utcnow(),
            error="the turn was abandoned: the server generating it stopped",
        )
        # Best effort, but kept (a task nobody holds can be collected mid-flight).
        self.final_saves.spawn(self.store.save_message(user_id, ended), name="save-abandoned")
        return ended

    # -- ending --------------------------------------------------------------------------

    async def save_quietly(self, user_id: str, message: MessageRecord) -> None:
        """Records how a turn ended. A task of its own (shielded, tracked): it completes even if
        this turn is cancelled again, and shutdown waits for it before closing the store. If the
        store is unavailable the turn does not wait: the save goes on in the background."""
        first = asyncio.Event()
        self.final_saves.spawn(self._save_until_stored(user_id, message, first))
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(first.wait())

    async def _save_until_stored(
        self, user_id: str, message: MessageRecord, first: asyncio.Event
    ) -> None:
        """Retries (backing off) while the store is unavailable, up to `final_save_retry_s`:
        once it is back the turn is marked, not left pending (where the lease would expire and
        show it as interrupted, losing a failure's reason)."""
        deadline = time.monotonic() + self.settings.final_save_retry_s
        delay = 0.5
        while True:
            try:
                await self.store.save_message(user_id, message)
                return
            except ServiceError:
                if time.monotonic() + delay > deadline:
                    log.exception(
                        "could not record the end of a turn",
                        extra={"chat_id": message.chat_id, "status": message.status.value},
                    )
                    return
                log.warning(
                    "recording the end of a turn failed; retrying",
                    extra={"chat_id": message.chat_id, "retry_s": delay},
                )
            finally:
                first.set()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

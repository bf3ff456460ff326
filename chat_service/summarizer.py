"""Summary checkpoints for the summary policy, computed off the request path.

After a turn whose prompt left history out (or came near the budget), the service schedules a
summary of the older messages: the previous checkpoint plus the messages after it, except the
newest few, folded into a new checkpoint "summary of messages up to M". Checkpoints only move
forward along a branch (the path to the chat's current leaf: a checkpoint of another branch is
never continued), so the prompt prefix stays stable between them, and a summary computed twice
(a job run again) adds nothing. The work is a SummarizeChat job (turn/side_work.py).
"""

from __future__ import annotations

import logging

from chat_service import metrics
from chat_service.config import ConversationSettings
from chat_service.domain import MessageRecord, Role, Sampling, SummaryRecord, utcnow
from chat_service.inference_client import InferenceClient, TextDelta
from chat_service.prompt import in_history
from chat_service.timed_store import TimedStore

log = logging.getLogger(__name__)

MAX_FOLD = 64  # messages folded per run: bounds the work and the summarization prompt
CHECKPOINT_PAGES = 16  # pages of MAX_FOLD messages searched back for the branch's checkpoint
INSTRUCTIONS = (
    "You maintain a running summary of a conversation between a user and an assistant. "
    "Write a concise summary that keeps facts, names, numbers, decisions and open questions. "
    "Write only the summary."
)


class Summarizer:
    def __init__(
        self, store: TimedStore, inference: InferenceClient, settings: ConversationSettings
    ) -> None:
        self.store = store
        self.inference = inference
        self.settings = settings

    async def summarize_counted(self, user_id: str, chat_id: str, leaf_id: str = "") -> bool:
        """summarize_now, counted; raises on failure (the queue worker retries it)."""
        try:
            made = await self.summarize_now(user_id, chat_id, leaf_id)
        except Exception:
            metrics.SUMMARIES.labels("failed").inc()
            raise
        metrics.SUMMARIES.labels("computed" if made else "skipped").inc()
        return made

    async def summarize_now(self, user_id: str, chat_id: str, leaf_id: str = "") -> bool:
        """Folds the branch ending at `leaf_id` (the turn that asked; "": the branch shown)."""
        keep = self.settings.summary_keep_recent_messages
        # That branch's own newest checkpoint, if one is among these messages, is what the new
        # one continues; one of another branch never is.
        newest = await self._branch(user_id, chat_id, leaf_id, keep + MAX_FOLD)
        found = await self.store.summaries_at(user_id, chat_id, [m.message_id for m in newest])
        on_path = {s.upto_message_id: s for s in found}
        previous = None
        for index, message in enumerate(newest):  # newest first
            if message.message_id in on_path:
                previous, newest = on_path[message.message_id], newest[:index]
                break
        if previous is None and newest:
            previous = await self._older_checkpoint(user_id, chat_id, newest[-1].message_id)
        fold = [m for m in newest[keep:] if in_history(m)]
        if not fold:
            return False
        fold.reverse()  # oldest first
        transcript = "\n".join(
            f"{'User' if m.role is Role.USER else 'Assistant'}: {m.content}" for m in fold
        )
        earlier = f"Summary so far:\n{previous.content}\n\n" if previous else ""
        request = f"{earlier}New conversation turns:\n{transcript}\n\nThe updated summary:"
        text: list[str] = []
        tokens = 0
        async for event in self.inference.generate(
            f"summary-{chat_id}",
            [(Role.SYSTEM, INSTRUCTIONS), (Role.USER, request)],
            Sampling(temperature=0.0),
            self.settings.summary_max_tokens,
        ):
            if isinstance(event, TextDelta):
                text.append(event.text)
            else:
                tokens = event.completion_tokens
        summary = "".join(text).strip()
        if not summary:
            return False
        await self.store.save_summary(
            user_id,
            SummaryRecord(chat_id, fold[-1].message_id, summary, tokens, utcnow()),
        )
        return True

    async def _older_checkpoint(
        self, user_id: str, chat_id: str, before_id: str
    ) -> SummaryRecord | None:
        """The branch's newest checkpoint further back than the messages about to be folded
        (they would otherwise be summarized without what it holds), looked for page by page
        along the path, up to CHECKPOINT_PAGES pages."""
        cursor = before_id
        for _ in range(CHECKPOINT_PAGES):
            page = await self.store.recent_messages(user_id, chat_id, MAX_FOLD, cursor)
            if not page:
                return None
            found = await self.store.summaries_at(user_id, chat_id, [m.message_id for m in page])
            if found:
                return found[0]  # newest first
            cursor = page[-1].message_id
        return None

    async def _branch(
        self, user_id: str, chat_id: str, leaf_id: str, n: int
    ) -> list[MessageRecord]:
        """The newest `n` messages of the path to `leaf_id` (itself first), newest first."""
        if not leaf_id:
            return await self.store.recent_messages(user_id, chat_id, n, None)
        leaf = await self.store.get_message(user_id, chat_id, leaf_id)
        if leaf is None:
            return []
        return [leaf, *await self.store.recent_messages(user_id, chat_id, n - 1, leaf_id)]

"""Prompt assembly: the chat's system prompt, as much history as the policy allows, and the new
user message, as role-tagged messages (the inference service applies the chat template).

Policies:
- full: the whole history; if it outgrows the context the turn fails with a clear error (and
  no more of it is read than the context could hold).
- window: the newest messages that fit the token budget (context minus reserved output).
  Whole messages only: a message never gets cut in half. Once older messages are left out,
  the window starts at a stable point (stable_start) so that consecutive turns share their
  prompt prefix, which an engine's prefix cache (vLLM) reuses.
- summary: the newest summary checkpoint on the turn's path (turns 1..N of this branch) plus
  the newest messages after it that fit. Without a checkpoint yet it behaves as window.

The history is the path to the new message in the chat's tree (docs/branches.md): its
ancestors, never another branch's messages or summaries.

Only the needed tail of the history is read: pages of newest messages until the budget is
full, so a turn costs the same with 10 or 10,000 stored messages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from chat_service.config import ConversationSettings
from chat_service.domain import (
    ChatRecord,
    HistoryPolicy,
    MessageRecord,
    MessageStatus,
    Role,
    SummaryRecord,
)
from chat_service.inference_client import InferenceClient, PromptMessages
from chat_service.timed_store import TimedStore

PAGE = 32
FULL_PAGE = 200
# Role markers the chat template adds around each message (SmolLM2: <|im_start|>role\n ...
# <|im_end|>\n is 5 tokens); an overestimate only leaves a little budget unused.
PER_MESSAGE_OVERHEAD = 6
FULL_HISTORY_CAP = 10_000  # messages; a full-policy chat this long cannot fit any context
SUMMARY_PREFIX = "Summary of the earlier conversation:\n"


@dataclass
class Prompt:
    messages: PromptMessages
    policy: HistoryPolicy
    # counted exactly near the budget, else summed from counted parts; with counted False, an
    # upper bound from bytes
    prompt_tokens: int
    # Older history exists that the prompt leaves out (window/summary), or the history
    # reached the summary trigger: a summary checkpoint would help.
    wants_summary: bool
    # False: a byte bound showed the whole history far inside the budget, so nothing was
    # counted (the engine's usage has the exact count).
    counted: bool = True


@dataclass
class Window:
    """History messages for a prompt, oldest first, each with its token cost (or bound)."""

    messages: list[tuple[MessageRecord, int]]
    truncated: bool  # older history was left out
    fixed_tokens: int  # the system prompt(s) and the new message, rendered
    counted: bool = True
    summary: SummaryRecord | None = None  # the checkpoint the window starts after


def byte_bound(text: str) -> int:
    """At least the tokens of a message: no token is shorter than a byte of UTF-8, plus the
    chat template's markers around it."""
    return len(text.encode()) + PER_MESSAGE_OVERHEAD


def in_history(m: MessageRecord) -> bool:
    """Pending and failed replies are not part of the conversation; interrupted ones are
    (the user saw them)."""
    if m.role is Role.USER:
        return True
    return m.status in (MessageStatus.COMPLETE, MessageStatus.INTERRUPTED) and bool(m.content)


class PromptBuilder:
    def __init__(
        self, store: TimedStore, inference: InferenceClient, settings: ConversationSettings
    ) -> None:
        self.store = store
        self.inference = inference
        self.settings = settings

    def policy_of(self, chat: ChatRecord) -> HistoryPolicy:
        return chat.settings.history_policy or self.settings.default_history_policy

    async def build(self, user_id: str, chat: ChatRecord, user_message: MessageRecord) -> Prompt:
        policy = self.policy_of(chat)
        system = chat.system_prompt or self.settings.default_system_prompt
        head: list[tuple[Role, str]] = [(Role.SYSTEM, system)] if system else []
        tail = [(Role.USER, user_message.content)]
        model = await self.inference.model()
        budget = model.context_length - self.settings.reserved_output_tokens

        if policy is HistoryPolicy.FULL:
            history = await self._all_before(
                user_id, chat.chat_id, user_message.message_id, model.context_length
            )
            messages = [*head, *((m.role, m.content) for m in history), *tail]
            tokens = await self.inference.count_prompt(messages, chat.chat_id)
            return Prompt(messages, policy, tokens, False)

        window = await self._window(
            user_id,
            chat.chat_id,
            user_message.message_id,
            [*head, *tail],
            budget,
            with_summary=policy is HistoryPolicy.SUMMARY,
        )
        if window.summary is not None:
            head.append((Role.SYSTEM, SUMMARY_PREFIX + window.summary.content))
        if not window.counted:  # the whole history, far inside the budget: nothing to cut
            history = [message for message, _ in window.messages]
            messages = [*head, *((m.role, m.content) for m in history), *tail]
            bound = window.fixed_tokens + sum(cost for _, cost in window.messages)
            return Prompt(messages, policy, bound, False, counted=False)
        return await self._fit(chat.chat_id, head, tail, window, budget, policy)

    async def _fit(
        self,
        chat_id: str,
        head: PromptMessages,
        tail: PromptMessages,
        window: Window,
        budget: int,
        policy: HistoryPolicy,
    ) -> Prompt:
        """The prompt from a counted window: from a stable start if truncated, counted exactly
        when near the budget."""
        selected, truncated = window.messages, window.truncated
        if truncated:  # older history is left out: start where the next turns can start too
            selected = selected[stable_start(selected, self.settings.window_step_tokens) :]
        history = [message for message, _ in selected]
        estimate = window.fixed_tokens + sum(cost for _, cost in selected)
        messages = [*head, *((m.role, m.content) for m in history), *tail]
        tokens = estimate
        if estimate + PER_MESSAGE_OVERHEAD * len(history) > budget:
            # Near the budget, the per-message estimate could be off by enough to overflow
            # (a template with more markers than PER_MESSAGE_OVERHEAD): count exactly, and
            # drop the oldest history message until it fits. Further from it, the estimate
            # stands and the round trip is saved (the engine clips max_tokens in any case).
            tokens = await self.inference.count_prompt(messages, chat_id)
            while tokens > budget and history:
                history = history[1:]
                messages = [*head, *((m.role, m.content) for m in history), *tail]
                tokens = await self.inference.count_prompt(messages, chat_id)
                truncated = True
        near_budget = estimate >= self.settings.summary_trigger_ratio * budget
        return Prompt(messages, policy, tokens, truncated or near_budget)

    async def _all_before(
        self, user_id: str, chat_id: str, before: str, context_length: int
    ) -> list[MessageRecord]:
        """The history, oldest first, read newest first; reading stops once it holds more
        tokens than the whole context, so memory stays bounded by what a prompt can use
        (the prompt is then too long, and the turn fails as it would with all of it).
        A token is at least one byte of UTF-8, so pages are counted by the model only once
        their bytes could exceed the context: a chat that fits costs no extra round trip."""
        out: list[MessageRecord] = []
        tokens = 0
        cursor: str | None = before
        while len(out) < FULL_HISTORY_CAP and tokens <= context_length:
            page = await self.store.recent_messages(user_id, chat_id, FULL_PAGE, cursor)
            kept = [m for m in page if in_history(m)]
            out.extend(kept)
            overhead = PER_MESSAGE_OVERHEAD * len(kept)
            page_tokens = sum(len(m.content.encode()) for m in kept)  # an upper bound
            if tokens + page_tokens + overhead > context_length:  # could overflow: count
                counts = await self.inference.count_texts([m.content for m in kept], chat_id)
                page_tokens = sum(counts)
            tokens += page_tokens + overhead
            if len(page) < FULL_PAGE:
                break
            cursor = page[-1].message_id
        out.reverse()
        return out

    async def _window(
        self,
        user_id: str,
        chat_id: str,
        before: str,
        fixed: PromptMessages,
        budget: int,
        with_summary: bool,
    ) -> Window:
        """Newest messages of the path to `before` (its ancestors) that fit `budget` tokens
        beside the `fixed` part of the prompt; with `with_summary`, down to the newest summary
        checkpoint on that path (one made on another branch never applies), whose text then
        joins the fixed part. The fixed part is counted with the first page (one round trip
        for a one-page window), and nothing at all is counted when the whole history is in
        that page and its byte bound stays under the summary trigger."""
        selected: list[tuple[MessageRecord, int]] = []
        summary: SummaryRecord | None = None
        fixed_tokens: int | None = None
        used = 0
        cursor: str | None = before
        while True:
            page = await self.store.recent_messages(user_id, chat_id, PAGE, cursor)
            if with_summary and summary is None:
                summary, page = await self._checkpoint(user_id, chat_id, page)
            eligible = [m for m in page if in_history(m)]
            last_page = summary is not None or len(page) < PAGE
            if summary is not None and fixed_tokens is None:
                fixed = [*fixed[:-1], (Role.SYSTEM, SUMMARY_PREFIX + summary.content), fixed[-1]]
            if fixed_tokens is None and last_page:
                bounded = self._bounded(fixed, eligible, budget)
                if bounded is not None:
                    bounded.summary = summary
                    return bounded
            texts = [m.content for m in eligible]
            if fixed_tokens is None:
                counts, fixed_tokens = await self.inference.count(texts, fixed, chat_id)
                used = fixed_tokens
            else:
                if summary is not None:  # found past the first page: its text joins now
                    texts.append(SUMMARY_PREFIX + summary.content)
                counts = await self.inference.count_texts(texts, chat_id)
                if summary is not None:
                    late = counts.pop() + PER_MESSAGE_OVERHEAD
                    used, fixed_tokens = used + late, fixed_tokens + late
            for message, count in zip(eligible, counts, strict=True):
                cost = count + PER_MESSAGE_OVERHEAD
                if used + cost > budget:
                    return Window(selected[::-1], True, fixed_tokens, summary=summary)
                selected.append((message, cost))
                used += cost
            if last_page:
                return Window(selected[::-1], False, fixed_tokens, summary=summary)
            cursor = page[-1].message_id

    async def _checkpoint(
        self, user_id: str, chat_id: str, page: list[MessageRecord]
    ) -> tuple[SummaryRecord | None, list[MessageRecord]]:
        """The newest checkpoint made up to a message of this page of the path, and the page's
        messages after it (all of them when there is none)."""
        if not page:
            return None, page
        found = await self.store.summaries_at(user_id, chat_id, [m.message_id for m in page])
        by_upto = {s.upto_message_id: s for s in found}
        for index, message in enumerate(page):  # newest first
            if message.message_id in by_upto:
                return by_upto[message.message_id], page[:index]
        return None, page

    def _bounded(
        self, fixed: PromptMessages, history: list[MessageRecord], budget: int
    ) -> Window | None:
        """The whole history uncounted, if its byte bound (and the fixed part's, with the
        generation prompt) stays under the summary trigger: then nothing is cut, no summary is
        wanted, and the engine's usage gives the exact count."""
        if not any(role is Role.SYSTEM for role, _ in fixed):
            return None  # a template may put its own default system prompt there: count it
        fixed_bound = sum(byte_bound(content) for _, content in fixed) + PER_MESSAGE_OVERHEAD
        costs = [byte_bound(m.content) for m in history]
        if fixed_bound + sum(costs) > self.settings.summary_trigger_ratio * budget:
            return None
        return Window(list(zip(history, costs, strict=True))[::-1], False, fixed_bound, False)


def stable_start(window: Sequence[tuple[MessageRecord, int]], step_tokens: int) -> int:
    """Where a truncated window starts: at its first "anchor" message, so that the start stays
    put while new turns push the window's oldest edge forward, and the prompt's prefix (system
    prompt + history) stays byte-identical for the engine's prefix cache.

    A message of n tokens is an anchor with probability 1 - (1 - 1/step)^n, decided by a hash
    of its id: about one anchor per `step_tokens` tokens, the same decision on every replica
    and every turn, no state stored. The start moves only when the edge passes its anchor, to
    the next one. At most 2 x step_tokens are given up; with no anchor that close, the exact
    edge is used (that turn's prefix then changes, as it always did)."""
    if step_tokens <= 0:
        return 0
    skipped = 0
    for index, (message, cost) in enumerate(window):
        if _is_anchor(message.message_id, cost, step_tokens):
            return index
        skipped += cost
        if skipped > 2 * step_tokens:
            return 0
    return 0


def _is_anchor(message_id: str, tokens: int, step_tokens: int) -> bool:
    chance = 1.0 - (1.0 - 1.0 / step_tokens) ** max(tokens, 1)
    digest = hashlib.sha256(message_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") < chance * 2**64

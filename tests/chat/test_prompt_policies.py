"""Prompt assembly and failure handling, in process: the chat service's logic over a real SQLite
store and the real inference service (for token counts, generation and summaries)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from chat_service.domain import (
    ChatOptions,
    HistoryPolicy,
    MessageRecord,
    MessageStatus,
    Role,
    Sampling,
    utcnow,
)
from chat_service.ids import new_ids
from chat_service.prompt import SUMMARY_PREFIX
from chat_service.service import ReplyDelta, ReplyFinal
from server_kit.errors import Unavailable
from server_kit.processes import free_port
from tests.fixtures.chat_logic import make_service, seed_turns
from tests.fixtures.services import RunningService

CONTEXT = 2048  # the inference fixture's context length


def user_message(chat_id: str, text: str) -> MessageRecord:
    now = utcnow()
    return MessageRecord(chat_id, new_ids(1)[0], Role.USER, text, MessageStatus.COMPLETE, now, now)


async def test_window_keeps_the_newest_turns_within_budget(
    tmp_path: Path, inference_server: RunningService
) -> None:
    async for service in make_service(
        tmp_path, inference_address=inference_server.address, reserved_output_tokens=512
    ):
        user = "window-user"
        chat = await service.create_chat(user, "", "", ChatOptions(HistoryPolicy.WINDOW))
        await seed_turns(service, user, chat.chat_id, 500)

        prompt = await service.prompts.build(user, chat, user_message(chat.chat_id, "And 500?"))
        assert prompt.prompt_tokens <= CONTEXT - 512
        assert prompt.wants_summary  # older turns were left out
        roles = [role for role, _ in prompt.messages]
        assert roles[0] is Role.SYSTEM and roles[-1] is Role.USER
        assert prompt.messages[-2] == (Role.ASSISTANT, "The answer is 998.")
        assert prompt.messages[-1] == (Role.USER, "And 500?")
        assert 20 < len(prompt.messages) < 1000  # a window, not everything, not nothing

        # and a real turn on top of it completes
        events = [
            e
            async for e in service.complete(
                user, chat.chat_id, "And 500?", "", Sampling(temperature=0, max_tokens=8)
            )
        ]
        final = events[-1]
        assert isinstance(final, ReplyFinal)
        assert final.assistant.prompt_tokens <= CONTEXT - 512


class CallSpy:
    """Counts the calls it passes on to the real callable."""

    def __init__(self, real: Any) -> None:
        self.real, self.calls = real, 0

    async def __call__(self, *args: object, **kwargs: object) -> object:
        self.calls += 1
        return await self.real(*args, **kwargs)


async def test_a_short_chat_is_not_counted_and_its_bound_covers_the_exact_prompt(
    tmp_path: Path, inference_server: RunningService
) -> None:
    """A history far inside the budget by its bytes (no token is shorter than a byte) costs no
    CountTokens round trip; the bound it reports is never below what the model's template
    really makes of the prompt."""
    async for service in make_service(tmp_path, inference_address=inference_server.address):
        user = "estimate-user"
        chat = await service.create_chat(user, "", "Be brief.", ChatOptions(HistoryPolicy.WINDOW))
        await seed_turns(service, user, chat.chat_id, 6)
        spy = CallSpy(service.inference._stub.CountTokens)
        service.inference._stub.CountTokens = spy  # a spy on the real call, not a double
        prompt = await service.prompts.build(user, chat, user_message(chat.chat_id, "And 6?"))
        assert spy.calls == 0 and not prompt.counted
        assert len(prompt.messages) == 2 + 12  # the system prompt, 6 turns, the question
        exact = await service.inference.count_prompt(prompt.messages)
        assert exact <= prompt.prompt_tokens


async def test_a_longer_chat_is_counted_in_one_round_trip(
    tmp_path: Path, inference_server: RunningService
) -> None:
    """Past the byte bound but inside one page of history: the fixed part and the page are
    counted together, and the estimate (with a margin) spares the exact recount."""
    async for service in make_service(
        tmp_path, inference_address=inference_server.address, reserved_output_tokens=1536
    ):
        user = "counted-user"
        chat = await service.create_chat(user, "", "Be brief.", ChatOptions(HistoryPolicy.WINDOW))
        # a budget of 512 tokens: 8 turns are ~500 bytes (over 0.75 x 512), ~270 tokens
        await seed_turns(service, user, chat.chat_id, 8)
        spy = CallSpy(service.inference._stub.CountTokens)
        service.inference._stub.CountTokens = spy
        prompt = await service.prompts.build(user, chat, user_message(chat.chat_id, "And 8?"))
        assert spy.calls == 1 and prompt.counted
        exact = await service.inference.count_prompt(prompt.messages)
        assert exact <= prompt.prompt_tokens <= exact + 6 * len(prompt.messages)


async def test_summary_checkpoint_is_computed_and_used(
    tmp_path: Path, inference_server: RunningService
) -> None:
    async for service in make_service(
        tmp_path,
        inference_address=inference_server.address,
        reserved_output_tokens=1536,  # a 512-token budget: 30 turns do not fit
        summary_keep_recent_messages=4,
        summary_max_tokens=48,
    ):
        user = "summary-user"
        chat = await service.create_chat(user, "", "", ChatOptions(HistoryPolicy.SUMMARY))
        await seed_turns(service, user, chat.chat_id, 30)
        assert await service.store.latest_summary(user, chat.chat_id) is None

        # A turn that overflows the budget schedules a summary off the request path.
        events = [
            e
            async for e in service.complete(
                user, chat.chat_id, "What was the first question?", "",
                Sampling(temperature=0, max_tokens=8),
            )
        ]  # fmt: skip
        assert isinstance(events[-1], ReplyFinal)
        await service.wait_published()  # the summary job, run in process
        summary = await service.store.latest_summary(user, chat.chat_id)
        assert summary is not None and summary.content
        newest = await service.store.recent_messages(user, chat.chat_id, 10, None)
        # the newest messages (keep_recent) stay out of the checkpoint
        assert summary.upto_message_id == newest[4].message_id

        prompt = await service.prompts.build(user, chat, user_message(chat.chat_id, "Thanks!"))
        assert prompt.messages[1] == (Role.SYSTEM, SUMMARY_PREFIX + summary.content)
        assert prompt.prompt_tokens <= CONTEXT - 1536
        history = prompt.messages[2:-1]
        assert history and all(c != "Question 0: what is 0 plus 0?" for _, c in history)


async def test_inference_down_fails_the_turn_clearly_and_keeps_the_question(
    tmp_path: Path,
) -> None:
    dead = f"127.0.0.1:{free_port()}"
    async for service in make_service(tmp_path, inference_address=dead, count_tokens_timeout_s=2.0):
        user = "unlucky"
        chat = await service.create_chat(user, "", "", ChatOptions())
        with pytest.raises(Unavailable) as err:
            async for _ in service.complete(user, chat.chat_id, "Hello?", "r1", Sampling()):
                pass
        assert err.value.reason == "INFERENCE_UNAVAILABLE"
        stored = await service.store.recent_messages(user, chat.chat_id, 10, None)
        assistant, question = stored
        assert question.content == "Hello?" and question.status is MessageStatus.COMPLETE
        assert assistant.status is MessageStatus.FAILED and assistant.error


async def test_full_policy_sends_everything(
    tmp_path: Path, inference_server: RunningService
) -> None:
    async for service in make_service(tmp_path, inference_address=inference_server.address):
        user = f"full-{uuid.uuid4().hex[:6]}"
        chat = await service.create_chat(user, "", "Be brief.", ChatOptions(HistoryPolicy.FULL))
        await seed_turns(service, user, chat.chat_id, 5)
        prompt = await service.prompts.build(user, chat, user_message(chat.chat_id, "Next?"))
        assert len(prompt.messages) == 1 + 10 + 1
        assert prompt.messages[0] == (Role.SYSTEM, "Be brief.")
        delta_events = [
            e
            async for e in service.complete(
                user, chat.chat_id, "Next?", "", Sampling(temperature=0, max_tokens=4)
            )
            if isinstance(e, ReplyDelta)
        ]
        assert delta_events


async def test_full_policy_reads_no_more_history_than_the_context_holds(
    tmp_path: Path, inference_server: RunningService
) -> None:
    """A long full-policy chat costs a turn what the context can hold, not its whole history:
    reading stops past the context, and the turn fails as too long, as it would with all."""
    async for service in make_service(tmp_path, inference_address=inference_server.address):
        user = f"full-{uuid.uuid4().hex[:6]}"
        chat = await service.create_chat(user, "", "", ChatOptions(HistoryPolicy.FULL))
        await seed_turns(service, user, chat.chat_id, 1000)  # ~30,000 tokens of history
        prompt = await service.prompts.build(user, chat, user_message(chat.chat_id, "Next?"))
        assert CONTEXT < prompt.prompt_tokens < 3 * CONTEXT
        assert len(prompt.messages) < 2000 // 4  # read in pages of 200 messages, then stopped

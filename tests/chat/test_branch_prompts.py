"""A turn's prompt on a branch (docs/branches.md): its history is the path to the new question,
and a summary checkpoint applies only on its own branch. In process, over a real SQLite store
and the real inference service (token counts)."""

from __future__ import annotations

from pathlib import Path

from chat_service.domain import (
    ChatOptions,
    HistoryPolicy,
    MessageRecord,
    MessageStatus,
    Placement,
    Role,
    SummaryRecord,
    Turn,
    utcnow,
)
from chat_service.ids import new_ids
from chat_service.prompt import SUMMARY_PREFIX
from chat_service.service import ChatService
from tests.fixtures.chat_logic import make_service, seed_turns
from tests.fixtures.services import RunningService


async def _turn(
    service: ChatService, user: str, chat_id: str, text: str, placement: Placement | None = None
) -> Turn:
    now = utcnow()
    q, a = new_ids(2)
    turn = Turn(
        MessageRecord(chat_id, q, Role.USER, text, MessageStatus.COMPLETE, now, now,
                      client_request_id=q),
        MessageRecord(chat_id, a, Role.ASSISTANT, f"Answer to {text}", MessageStatus.COMPLETE,
                      now, now, client_request_id=q),
    )  # fmt: skip
    return await service.store.begin_turn(user, turn, placement)


async def test_a_prompt_on_a_branch_holds_its_path_and_its_own_summary(
    tmp_path: Path, inference_server: RunningService
) -> None:
    async for service in make_service(tmp_path, inference_address=inference_server.address):
        user = "branch-user"
        chat = await service.create_chat(user, "", "Be brief.", ChatOptions(HistoryPolicy.SUMMARY))
        await seed_turns(service, user, chat.chat_id, 3)
        line = await service.store.recent_messages(user, chat.chat_id, 10, None)  # newest first
        fork = line[2]  # the second answer: the third question is edited under it
        edit = await _turn(
            service, user, chat.chat_id, "Edited question", Placement(parent_id=fork.message_id)
        )
        on_branch = await _turn(service, user, chat.chat_id, "Next on the branch")

        prompt = await service.prompts.build(user, chat, on_branch.user)
        history = [content for _, content in prompt.messages[1:-1]]
        assert history == [
            "Question 0: what is 0 plus 0?",
            "The answer is 0.",
            "Question 1: what is 1 plus 1?",
            "The answer is 2.",
            "Edited question",
            "Answer to Edited question",
        ]
        assert prompt.messages[-1] == (Role.USER, "Next on the branch")

        # A checkpoint of the other branch (the original third turn) never applies here...
        other = SummaryRecord(chat.chat_id, line[0].message_id, "OTHER BRANCH", 3, utcnow())
        await service.store.save_summary(user, other)
        prompt = await service.prompts.build(user, chat, on_branch.user)
        assert all("OTHER BRANCH" not in content for _, content in prompt.messages)
        # ...one on its path does, and the history starts after it.
        own = SummaryRecord(chat.chat_id, edit.user.message_id, "OWN BRANCH", 3, utcnow())
        await service.store.save_summary(user, own)
        prompt = await service.prompts.build(user, chat, on_branch.user)
        assert prompt.messages[1] == (Role.SYSTEM, SUMMARY_PREFIX + "OWN BRANCH")
        assert [c for _, c in prompt.messages[2:-1]] == ["Answer to Edited question"]
        # The other branch, selected again, reads its own line (and its own checkpoint).
        await service.select_message(user, chat.chat_id, line[1].message_id)
        back = await _turn(service, user, chat.chat_id, "Back on the original")
        prompt = await service.prompts.build(user, chat, back.user)
        assert prompt.messages[1] == (Role.SYSTEM, SUMMARY_PREFIX + "OTHER BRANCH")
        assert [c for _, c in prompt.messages[2:]] == ["Back on the original"]

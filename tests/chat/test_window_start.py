"""stable_start: a truncated window's first message stays put across turns (so the prompt's
prefix does), at a bounded cost in unused budget. Pure logic, over a simulated chat."""

from __future__ import annotations

import itertools
import uuid

from chat_service.domain import MessageRecord, MessageStatus, Role, utcnow
from chat_service.prompt import stable_start

BUDGET = 1536
STEP = 256


def message(index: int) -> MessageRecord:
    now = utcnow()
    message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"chat/message/{index}"))
    role = Role.USER if index % 2 == 0 else Role.ASSISTANT
    return MessageRecord("chat", message_id, role, "x", MessageStatus.COMPLETE, now, now)


def cost(index: int) -> int:
    return 12 + (index * 37) % 90  # 12..101 tokens: short questions, longer answers


def exact_window(count: int) -> list[tuple[MessageRecord, int]]:
    """The newest of `count` messages within BUDGET, oldest first (what _window returns)."""
    window: list[tuple[MessageRecord, int]] = []
    used = 0
    for index in range(count - 1, -1, -1):
        if used + cost(index) > BUDGET:
            break
        window.append((message(index), cost(index)))
        used += cost(index)
    window.reverse()
    return window


def test_the_start_moves_every_few_turns_not_every_turn() -> None:
    starts_exact, starts_stable, unused = [], [], []
    for count in range(60, 260, 2):  # one turn = a question and an answer
        window = exact_window(count)
        start = stable_start(window, STEP)
        starts_exact.append(window[0][0].message_id)
        starts_stable.append(window[start][0].message_id)
        unused.append(sum(c for _, c in window[:start]))
    moves_exact = sum(a != b for a, b in itertools.pairwise(starts_exact))
    moves_stable = sum(a != b for a, b in itertools.pairwise(starts_stable))
    assert moves_exact >= 0.9 * (len(starts_exact) - 1)  # the exact window moves every turn
    assert moves_stable <= 0.5 * moves_exact
    assert max(unused) <= 2 * STEP  # what is given up is bounded
    assert sum(unused) / len(unused) < STEP


def test_step_zero_is_the_exact_window() -> None:
    window = exact_window(100)
    assert stable_start(window, 0) == 0

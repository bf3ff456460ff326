"""How a chat reads and how its prompt is assembled (prompt.py, summarizer.py): defaults,
limits, the window and summary policies."""

from __future__ import annotations

from pydantic import BaseModel, Field

from chat_service.domain import HistoryPolicy


class ConversationSettings(BaseModel):
    # conversations
    default_system_prompt: str = "You are a helpful assistant."
    default_history_policy: HistoryPolicy = HistoryPolicy.WINDOW
    reserved_output_tokens: int = Field(
        512, ge=16, description="window budget = the model's context minus this"
    )
    window_step_tokens: int = Field(
        256,
        ge=0,
        description="window/summary: once history is left out, the window's first message "
        "moves about every this many tokens instead of every turn, so the prompt's prefix stays "
        "the same for several turns (an engine's prefix cache reuses it); up to twice this is "
        "left unused. 0: the exact window, which moves every turn",
    )
    default_max_tokens: int = Field(512, ge=1, description="reply length when unset")
    max_message_chars: int = Field(32_000, ge=1, description="longest accepted user message")
    max_system_prompt_chars: int = Field(8_000, ge=0)
    max_title_chars: int = Field(200, ge=1)
    # summary policy
    summary_trigger_ratio: float = Field(
        0.75,
        gt=0,
        le=1,
        description="summarize older turns once the history reaches this share of the budget",
    )
    summary_keep_recent_messages: int = Field(
        6, ge=0, description="newest messages never folded into a summary"
    )
    summary_max_tokens: int = Field(256, ge=16, description="length cap of a summary")

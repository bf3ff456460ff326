"""A turn's lifecycle (chat_service/turn/), the per-user limits (admission.py) and submitted
turns."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TurnSettings(BaseModel):
    # turn lifecycle
    turn_lease_s: float = Field(
        10.0,
        gt=0,
        description="a running turn re-saves its pending reply (with the text so far) this often, "
        "so other replicas can tell it from a turn whose server died",
    )
    abandoned_turn_s: float = Field(
        30.0,
        gt=0,
        description="a pending reply not re-saved for this long is abandoned (its server died): "
        "shown as interrupted, and a retry of its client_request_id regenerates it. Keep it a "
        "few times turn_lease_s",
    )
    final_save_retry_s: float = Field(
        120.0,
        ge=0,
        description="how long the record of how a turn ended is retried in the background while "
        "the history store is unavailable (so the turn is not left pending)",
    )
    # per-user fair sharing (chat_service/admission.py): counted in the shared store, so each
    # limit holds across chat replicas. 0 turns a limit off.
    user_max_streams: int = Field(
        4, ge=0, description="streamed turns one user may have generating at once"
    )
    user_max_queued_turns: int = Field(
        8, ge=0, description="submitted turns one user may have waiting or running"
    )
    user_turns_per_minute: int = Field(
        30, ge=0, description="turns (streamed and submitted) one user may start per minute"
    )
    user_daily_tokens: int = Field(
        0,
        ge=0,
        description="tokens (prompt + completion of generated answers) one user may spend per "
        "UTC day; past it, new turns get 429 until midnight UTC. 0: no budget (and no count)",
    )
    queued_turn_slot_s: float = Field(
        900.0,
        gt=0,
        description="a submitted turn stops counting against its user's queue limit after this "
        "long even if no replica recorded its end (a replica died)",
    )
    # asynchronous completions (SubmitCompletion / GetTurn / StreamTurn)
    async_turn_concurrency: int = Field(
        2, ge=1, description="submitted turns one replica generates at a time"
    )
    async_progress_s: float = Field(
        0.5, gt=0, description="a submitted turn saves its reply so far this often (StreamTurn)"
    )
    stream_turn_poll_s: float = Field(
        1.0,
        gt=0,
        description="StreamTurn reads the stored reply after this long without pushed progress "
        "(new text is pushed from the replica generating it; the store is the fallback)",
    )
    stream_turn_keepalive_s: float = Field(
        30.0,
        gt=0,
        description="StreamTurn sends an empty delta after this long without news (a turn "
        "waiting in the queue), so idle timeouts on the way (Envoy's: 120 s) keep it open",
    )
    async_busy_wait_s: float = Field(
        120.0,
        gt=0,
        description="a submitted turn refused by a saturated model is retried (backing off) for "
        "this long before it is marked failed",
    )

"""The simulated users of a load run.

Each user has its own token and works in a loop with a short think time: sometimes a new chat,
a question from a small pool (the same user asks the same question again, so the semantic
answer cache gets hits) or a follow-up in the current chat, sometimes a Stop (the connection is
closed after the first delta), sometimes a delete of the chat, sometimes a look at its chat
list. Every turn carries its own client_request_id and a small per-turn max_tokens. A 429 (the
model is busy) is retried with the same client_request_id after the retry hint of the answer
(the RetryInfo detail or a retry-after header), doubled per attempt, with jitter.

Per turn it records every attempt's HTTP status, the time to the first delta (from the attempt
that got 200, and from the first attempt) and how it ended (loadgen/records.py lists the
outcomes).
"""

from __future__ import annotations

import asyncio
import json
import random
import time

from loadgen.client import (
    Response,
    TransportError,
    error_reason,
    open_request,
    read_body,
    retry_hint_s,
    sse_events,
)
from loadgen.config import FOLLOW_UPS, QUESTIONS
from loadgen.records import ChatRecord, LoadState, TurnRecord


class User:
    def __init__(self, state: LoadState, name: str, index: int) -> None:
        self.state = state
        self.config = state.config
        self.name = name
        self.token = state.target.tokens[name]
        self.rng = random.Random(state.config.seed * 100_003 + index)
        self.chat: ChatRecord | None = None
        self.turns_in_chat = 0
        self.counter = 0
        self.creates = 0
        self.create_key = ""  # the request id of a create not answered yet

    async def call(
        self, operation: str, method: str, path: str, body: object | None = None
    ) -> tuple[int, bytes]:
        """A unary call, counted by status; status 0 is a transport error."""
        target = self.state.target
        try:
            response = await open_request(
                target.host, target.port, method, path, body, self.token,
                self.config.unary_timeout_s,
            )  # fmt: skip
            data = await read_body(response, self.config.unary_timeout_s)
        except TransportError as exc:
            self.state.count(operation, 0, "transport")
            self.state.transport_errors[(operation, str(exc)[:120])] += 1
            return 0, b""
        self.state.count(
            operation, response.status, error_reason(data) if response.status != 200 else ""
        )
        return response.status, data

    async def run(self) -> None:
        state, config = self.state, self.config
        while True:
            await asyncio.sleep(self.rng.uniform(*config.think_s))
            if time.monotonic() >= state.load_deadline:
                await self.settle_create()
                return
            if self.chat is None or self.rng.random() < config.p_new_chat:
                await self.new_chat()
                if self.chat is None:
                    continue
            if self.rng.random() < config.p_list:
                await self.call("list", "GET", "/chats?page_size=20")
            chat = self.chat
            if self.turns_in_chat and self.rng.random() < config.p_follow_up:
                content, kind = self.rng.choice(FOLLOW_UPS), "follow_up"
            else:
                content = self.rng.choice(QUESTIONS)
                kind = "question" if self.turns_in_chat else "first"
            await self.turn(chat, content, kind, cancel=self.rng.random() < config.p_cancel)
            self.turns_in_chat += 1
            if self.rng.random() < config.p_delete:
                await self.delete(chat)

    async def new_chat(self) -> None:
        """Creates a chat. A create that failed is retried under its request id, so one the
        server made before its answer was lost is the chat the retry returns."""
        if not self.create_key:
            self.creates += 1
            self.create_key = f"{self.name}-c{self.creates}"
        body = {"title": "", "client_request_id": self.create_key}
        status, data = await self.call("create", "POST", "/chat", body)
        if status != 200:
            return
        self.create_key = ""
        chat_id = str(json.loads(data)["chat"]["chat_id"])
        self.chat = ChatRecord(self.name, chat_id)
        self.state.chats[chat_id] = self.chat
        self.turns_in_chat = 0

    async def settle_create(self) -> None:
        """After the load: a create left failed may have made a chat; its retry finds out."""
        for _ in range(self.config.max_attempts):
            if not self.create_key:
                return
            await self.new_chat()
            if self.create_key:
                await asyncio.sleep(1.0)

    async def delete(self, chat: ChatRecord) -> None:
        """Deletes the chat. An answer lost to a fault (a 5xx, a transport error) leaves it
        unknown whether the delete happened, as a lost create does (settle_create): DELETE is
        idempotent, so it is asked again until the service says; a 404 then means a lost
        attempt deleted it."""
        for attempt in range(self.config.max_attempts):
            status, _ = await self.call("delete", "DELETE", f"/chat/{chat.chat_id}")
            if status == 200 or (status == 404 and attempt > 0):
                chat.deleted = True
                self.chat = None
                return
            if status not in (0, 429) and status < 500:
                return
            await asyncio.sleep(1.0)

    async def turn(self, chat: ChatRecord, content: str, kind: str, cancel: bool) -> None:
        """One turn: its attempts until one is answered 200 (then its stream is read) or the
        turn ends otherwise; a 429 is retried after a delay."""
        state, config = self.state, self.config
        self.counter += 1
        turn = TurnRecord(
            user=self.name, chat_id=chat.chat_id, request_id=f"{self.name}-t{self.counter}",
            content=content, kind=kind, cancel=cancel, started_s=state.now(),
        )  # fmt: skip
        state.turns.append(turn)
        chat.request_ids.append(turn.request_id)
        body = {
            "content": content,
            "client_request_id": turn.request_id,
            "sampling": {"temperature": config.temperature, "max_tokens": config.max_tokens},
        }
        path = f"/chat/{chat.chat_id}/completion"
        first_sent = time.monotonic()
        try:
            for attempt in range(config.max_attempts):
                delay = await self.attempt(turn, path, body, attempt, first_sent)
                if delay is None:
                    return
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            if turn.outcome == "pending":
                turn.outcome = "aborted"
            raise
        finally:
            turn.ended_s = state.now()

    async def attempt(
        self, turn: TurnRecord, path: str, body: object, attempt: int, first_sent: float
    ) -> float | None:
        """One attempt of a turn. Returns the delay before the next attempt (after a 429), or
        None when the turn has ended."""
        state, config = self.state, self.config
        sent = time.monotonic()
        try:
            response = await open_request(
                state.target.host, state.target.port, "POST", path, body, self.token,
                config.headers_timeout_s,
            )  # fmt: skip
        except TransportError as exc:
            turn.statuses.append(0)
            state.count("complete", 0, "transport")
            state.transport_errors[("complete", str(exc)[:120])] += 1
            turn.outcome, turn.error = "transport_error", str(exc)
            return None
        turn.statuses.append(response.status)
        if response.status == 200:
            state.count("complete", 200)
            turn.acknowledged = True
            await self.read_stream(turn, response, sent, first_sent)
            return None
        return await self.refused(turn, response, attempt)

    async def refused(self, turn: TurnRecord, response: Response, attempt: int) -> float | None:
        """An attempt answered with an error status. A 429 is retried after the server's hint
        doubled per attempt (capped, with jitter): returns that delay, or None when the turn
        ends here (another status, the last attempt, or a retry after the load window)."""
        state, config = self.state, self.config
        try:
            data = await read_body(response, config.unary_timeout_s)
        except TransportError:
            data = b""
        reason = error_reason(data)
        state.count("complete", response.status, reason)
        turn.error = f"HTTP {response.status}: {reason}"
        if response.status != 429:
            turn.outcome = "http_error"
            return None
        found = retry_hint_s(response.headers, data)
        hint, source = found if found is not None else (1.0, "none (1 s assumed)")
        state.retry_hints[(source, hint)] += 1
        delay = min(config.max_backoff_s, hint * 2**attempt) * self.rng.uniform(1.0, 1.5)
        if attempt + 1 == config.max_attempts:
            turn.outcome = "gave_up"
            return None
        if time.monotonic() + delay >= state.load_deadline:
            turn.outcome = "window_closed"
            return None
        return delay

    async def read_stream(
        self, turn: TurnRecord, response: Response, sent: float, first_sent: float
    ) -> None:
        """Reads a started turn's events. A stop closes the connection after the first delta;
        otherwise the stream is read to its end, as a browser does, and must end right after
        its final or error event."""
        parts: list[str] = []
        ended = ""  # "final" or "error" once the turn's last event came
        try:
            async for event in sse_events(response, self.config.idle_timeout_s):
                if ended:
                    turn.outcome = "stream_broken"
                    turn.error = f"an event after the {ended}: {json.dumps(event)[:200]}"
                    return
                if "delta" in event:
                    if turn.ttft_s is None:
                        now = time.monotonic()
                        turn.ttft_s, turn.ttft_with_retries_s = now - sent, now - first_sent
                    parts.append(str(event["delta"].get("text", "")))
                    turn.deltas += 1
                    turn.text = "".join(parts)
                    if turn.cancel:
                        turn.outcome = "cancelled"
                        return  # closing the connection stops the turn
                elif "final" in event:
                    turn.final = event["final"]
                    turn.cached = bool(event["final"].get("cached", False))
                    turn.outcome, ended = "final", "final"
                    turn.total_s = time.monotonic() - sent
                elif "error" in event:
                    turn.outcome, ended = "error_event", "error"
                    turn.error = json.dumps(event["error"])
                else:
                    turn.outcome = "stream_broken"
                    turn.error = f"an unknown event: {json.dumps(event)[:200]}"
                    return
            if not ended:
                turn.outcome = "stream_broken"
                turn.error = "the stream ended without a final or an error event"
        except TransportError as exc:
            if ended:  # the turn's events all came; the end of the body did not
                self.state.transport_errors[("complete_after_end", str(exc)[:120])] += 1
            else:
                turn.outcome, turn.error = "stream_broken", str(exc)
        except asyncio.CancelledError:
            if not ended:
                turn.outcome = "aborted"
            raise
        finally:
            if turn.total_s is None:
                turn.total_s = time.monotonic() - sent
            response.close()

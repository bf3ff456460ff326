"""The bounded load run (issue 7): many simulated users through Envoy's REST API at once, then a
check that the history store kept every turn exactly once.

Shared by the test (tests/gateway/test_load_run.py, a short run against the test fixtures'
stack) and the benchmark (bench/load_run.py, a long run against a stack of its own).

Each simulated user has its own token and works in a loop with a short think time: sometimes a
new chat, a question from a small pool (the same user asks the same question again, so the
semantic answer cache gets hits) or a follow-up in the current chat, sometimes a Stop (the
connection is closed after the first delta), sometimes a delete of the chat, sometimes a look
at its chat list. Every turn carries its own client_request_id and a small per-turn max_tokens.
A 429 (the model is busy) is retried with the same client_request_id after the retry hint of
the answer (the RetryInfo detail or a retry-after header), doubled per attempt, with jitter.

Per turn it records every attempt's HTTP status, the time to the first delta (from the attempt
that got 200, and from the first attempt), and how it ended: `final` (the final event came),
`cancelled` (we stopped it), `error_event` (an in-band error), `http_error`, `gave_up` (still
429 after the attempts), `window_closed` (429, and the retry would fall after the load window),
`transport_error`, `stream_broken` (the stream ended without a final or an error event) or
`aborted` (still running at the hard stop).

After the load the run waits (polling, with a deadline) until no stored message is PENDING,
then reads every chat back (GET /chat/{id}, every page) and checks:
- every acknowledged turn (its completion answered 200) has its user message stored exactly
  once, with the content sent; a turn that was never acknowledged at most once;
- every stored message belongs to a request id this run sent to that chat, one user and one
  assistant message per request id, the user message right before its reply, in the order
  the turns were sent;
- every completed turn (final event) is stored with the final's message ids, status COMPLETE,
  the streamed text and the final's `cached` flag;
- a stopped turn is INTERRUPTED (or COMPLETE, if it had finished first) and holds what was
  streamed before the stop; an in-band error is FAILED, a refused turn too; nothing is
  PENDING (or QUEUED);
- a deleted chat answers 404 and is not listed; GET /chats lists exactly the live chats.
With the SQLite store it also counts rows left behind for chats that no longer exist.

Every HTTP call has a deadline. Resident memory (VmRSS, summed over each service's process
group) is sampled before, during and after the load.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench._http import open_http
from bench._stats import percentile

# Standalone questions (empty cache context). The first five end within a few tokens under
# greedy decoding (finish reason stop), so their answers are cacheable; the others are cut
# at max_tokens (length), which the cache never stores: those always reach the model.
QUESTIONS: tuple[str, ...] = (
    "What is the capital of France?",
    "What is the capital of Japan?",
    "What is the capital of Italy?",
    "Say hello in Spanish.",
    "Translate 'thank you' into French.",
    "What do bees make?",
    "How many legs does a spider have?",
    "What is the opposite of hot?",
)
# Follow-ups depend on the conversation: they only hit the cache after the same history.
FOLLOW_UPS: tuple[str, ...] = (
    "And why is that?",
    "Can you say that in one sentence?",
    "Tell me one more fact about it.",
)

STATUS_PREFIX = "MESSAGE_STATUS_"
UNSETTLED = ("PENDING", "QUEUED")  # a reply not finished yet
ROLE_USER = "ROLE_USER"
ROLE_ASSISTANT = "ROLE_ASSISTANT"


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class LoadConfig:
    users: int = 50
    duration_s: float = 60.0
    think_s: tuple[float, float] = (0.2, 1.5)  # pause before each action, uniform
    p_new_chat: float = 0.2  # start a new chat before a turn (always when there is none)
    p_follow_up: float = 0.3  # a follow-up rather than a pool question (not in a new chat)
    p_cancel: float = 0.15  # close the stream after the first delta
    p_delete: float = 0.08  # delete the chat after a turn
    p_list: float = 0.1  # GET /chats before a turn
    max_tokens: int = 16
    temperature: float = 0.0
    max_attempts: int = 6  # per turn, over 429 answers
    max_backoff_s: float = 8.0
    unary_timeout_s: float = 30.0  # whole unary call (create, list, get, delete)
    headers_timeout_s: float = 60.0  # a completion's response headers
    idle_timeout_s: float = 150.0  # silence inside a stream (> the chat's first-token deadline)
    drain_s: float = 60.0  # after the load window: in-flight turns may finish, then aborted
    settle_timeout_s: float = 60.0  # waiting for no PENDING message
    rss_interval_s: float = 5.0
    verify_concurrency: int = 8
    seed: int = 7


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    tokens: Mapping[str, str]  # user -> bearer token
    processes: Mapping[str, int]  # service -> pid of its process group leader
    sqlite_path: Path | None = None  # the chat service's SQLite file, for the orphan count


# ----------------------------------------------------------------------------- HTTP/1.1 client


class TransportError(Exception):
    """The connection failed, closed early or went silent past a deadline."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def close(self) -> None:
        self.writer.close()


async def open_request(
    host: str, port: int, method: str, path: str, body: object | None, token: str,
    timeout_s: float,
) -> Response:  # fmt: skip
    """Sends one request on a new connection and reads the status line and headers, all
    within `timeout_s`. The caller reads the body and closes."""
    try:
        async with asyncio.timeout(timeout_s):
            auth = {"Authorization": f"Bearer {token}"}
            return Response(*await open_http(host, port, method, path, body, auth))
    except TimeoutError as exc:
        raise TransportError(f"{method} {path}: no response within {timeout_s:.0f}s") from exc
    except (OSError, ValueError, IndexError) as exc:
        raise TransportError(f"{method} {path}: {exc!r}") from exc


async def body_chunks(response: Response, idle_timeout_s: float) -> AsyncIterator[bytes]:
    """The body as it arrives (chunked, Content-Length or until EOF); each read has a deadline."""
    reader = response.reader

    async def read(coro: Any) -> bytes:
        try:
            async with asyncio.timeout(idle_timeout_s):
                data: bytes = await coro
                return data
        except TimeoutError as exc:
            raise TransportError(f"no data for {idle_timeout_s:.0f}s") from exc
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            raise TransportError(repr(exc)) from exc

    if response.headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size_line = await read(reader.readline())
            if not size_line:
                raise TransportError("the chunked body ended without its last chunk")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                return
            data = await read(reader.readexactly(size))
            await read(reader.readexactly(2))
            yield data
    elif "content-length" in response.headers:
        yield await read(reader.readexactly(int(response.headers["content-length"])))
    else:
        while data := await read(reader.read(65536)):
            yield data


async def read_body(response: Response, timeout_s: float) -> bytes:
    try:
        async with asyncio.timeout(timeout_s):
            return b"".join([chunk async for chunk in body_chunks(response, timeout_s)])
    except TimeoutError as exc:
        raise TransportError(f"body not read within {timeout_s:.0f}s") from exc
    finally:
        response.close()


async def sse_events(response: Response, idle_timeout_s: float) -> AsyncIterator[dict[str, Any]]:
    """The JSON of each `data:` event of a server-sent event stream, as it arrives."""
    buffer = b""
    async for chunk in body_chunks(response, idle_timeout_s):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            line = line.rstrip(b"\r")
            if line.startswith(b"data:") and (data := line[5:].strip()):
                yield json.loads(data)


def retry_hint_s(headers: Mapping[str, str], body: bytes) -> tuple[float, str] | None:
    """The server's retry hint of an error answer and where it was found: google.rpc.RetryInfo
    in the JSON error body ("RetryInfo"), else a retry-after header ("retry-after")."""
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        for detail in json.loads(body).get("details", []):
            if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
                delay = detail.get("retry_delay", detail.get("retryDelay"))
                if isinstance(delay, str) and delay.endswith("s"):
                    return float(delay[:-1]), "RetryInfo"
                if isinstance(delay, dict):
                    seconds = float(delay.get("seconds", 0)) + float(delay.get("nanos", 0)) / 1e9
                    return seconds, "RetryInfo"
    with contextlib.suppress(ValueError, KeyError):
        return float(headers["retry-after"]), "retry-after"
    return None


def error_reason(body: bytes) -> str:
    """The ErrorInfo reason of a JSON error body, else its message (shortened)."""
    try:
        document = json.loads(body)
    except ValueError:
        return body[:120].decode(errors="replace")
    if not isinstance(document, dict):
        return str(document)[:120]
    for detail in document.get("details", []) or []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("ErrorInfo"):
            return str(detail.get("reason", ""))
    return str(document.get("message", ""))[:120]


# ----------------------------------------------------------------------------- records


@dataclass
class TurnRecord:
    user: str
    chat_id: str
    request_id: str
    content: str
    kind: str  # first, question, follow_up
    cancel: bool  # planned: close after the first delta
    started_s: float  # first attempt sent, seconds since the load started
    statuses: list[int] = field(default_factory=list)  # per attempt; 0: transport error
    acknowledged: bool = False  # an attempt answered 200: the stream started
    outcome: str = "pending"
    ttft_s: float | None = None  # the 200 attempt sent -> first delta
    ttft_with_retries_s: float | None = None  # first attempt sent -> first delta
    total_s: float | None = None
    deltas: int = 0
    text: str = ""
    final: dict[str, Any] | None = None
    error: str = ""
    cached: bool | None = None  # from the final, or (stopped turns) from the store

    @property
    def attempts(self) -> int:
        return len(self.statuses)


@dataclass
class ChatRecord:
    user: str
    chat_id: str
    request_ids: list[str] = field(default_factory=list)
    deleted: bool = False


@dataclass
class LoadState:
    config: LoadConfig
    target: Target
    started: float = 0.0  # monotonic
    load_deadline: float = 0.0  # monotonic
    turns: list[TurnRecord] = field(default_factory=list)
    chats: dict[str, ChatRecord] = field(default_factory=dict)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)  # (operation, status)
    reasons: Counter[tuple[str, int, str]] = field(default_factory=Counter)  # non-200 reasons
    transport_errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    retry_hints: Counter[tuple[str, float]] = field(default_factory=Counter)  # (source, s)

    def now(self) -> float:
        return time.monotonic() - self.started

    def count(self, operation: str, status: int, reason: str = "") -> None:
        self.statuses[(operation, status)] += 1
        if status != 200:
            self.reasons[(operation, status, reason)] += 1


# ----------------------------------------------------------------------------- users


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
        status, data = await self.call("create", "POST", "/chat", {"title": ""})
        if status != 200:
            return
        chat_id = str(json.loads(data)["chat"]["chat_id"])
        self.chat = ChatRecord(self.name, chat_id)
        self.state.chats[chat_id] = self.chat
        self.turns_in_chat = 0

    async def delete(self, chat: ChatRecord) -> None:
        status, _ = await self.call("delete", "DELETE", f"/chat/{chat.chat_id}")
        if status == 200:
            chat.deleted = True
            self.chat = None

    async def turn(self, chat: ChatRecord, content: str, kind: str, cancel: bool) -> None:
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
                    return
                turn.statuses.append(response.status)
                if response.status == 200:
                    state.count("complete", 200)
                    turn.acknowledged = True
                    await self.read_stream(turn, response, sent, first_sent)
                    return
                try:
                    data = await read_body(response, config.unary_timeout_s)
                except TransportError:
                    data = b""
                reason = error_reason(data)
                state.count("complete", response.status, reason)
                turn.error = f"HTTP {response.status}: {reason}"
                if response.status != 429:
                    turn.outcome = "http_error"
                    return
                found = retry_hint_s(response.headers, data)
                hint, source = found if found is not None else (1.0, "none (1 s assumed)")
                state.retry_hints[(source, hint)] += 1
                delay = min(config.max_backoff_s, hint * 2**attempt) * self.rng.uniform(1.0, 1.5)
                if attempt + 1 == config.max_attempts:
                    turn.outcome = "gave_up"
                    return
                if time.monotonic() + delay >= state.load_deadline:
                    turn.outcome = "window_closed"
                    return
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            if turn.outcome == "pending":
                turn.outcome = "aborted"
            raise

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


# ----------------------------------------------------------------------------- memory


def group_rss(pgid: int) -> dict[str, float]:
    """VmRSS in MB of each live process of a process group (a service and its helpers, e.g.
    Milvus Lite's server beside the chat service), by process name; empty if none is alive."""
    found: dict[str, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            status = Path(f"/proc/{entry}/status").read_text()
        except (OSError, ValueError, IndexError):
            continue
        name = re.search(r"^Name:\s+(.*)$", status, re.MULTILINE)
        rss = re.search(r"^VmRSS:\s+(\d+)\s+kB", status, re.MULTILINE)
        key = f"{name.group(1) if name else '?'}[{entry}]"
        found[key] = int(rss.group(1)) / 1024 if rss else 0.0  # zombies have no VmRSS
    return found


@dataclass
class RssSample:
    t_s: float  # seconds since the load started
    phase: str  # before, load, after
    mb: dict[str, float | None]  # per service: its process group's total
    detail: dict[str, dict[str, float]]  # per service: each process of the group


def sample_rss(state: LoadState, phase: str) -> RssSample:
    detail = {name: group_rss(pid) for name, pid in state.target.processes.items()}
    totals = {name: sum(p.values()) if p else None for name, p in detail.items()}
    return RssSample(round(state.now(), 2), phase, totals, detail)


def slope_mb_per_min(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) points, in MB per minute."""
    if len(points) < 3:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return cov / var * 60


def rss_report(samples: Sequence[RssSample]) -> dict[str, dict[str, float | None]]:
    """Per service: before and after the load, the peak, and the slope over the load (all of
    it, and its second half, once caches and pools have warmed up)."""
    report: dict[str, dict[str, float | None]] = {}
    names = samples[0].mb.keys() if samples else []
    for name in names:
        series = [(s.t_s, s.mb[name], s.phase) for s in samples if s.mb.get(name) is not None]
        during = [(t, float(v)) for t, v, phase in series if phase != "before" and v is not None]
        before = next((v for _, v, phase in series if phase == "before"), None)
        after = next((v for _, v, phase in reversed(series) if phase == "after"), None)
        half = during[len(during) // 2 :]
        report[name] = {
            "before_mb": before,
            "after_mb": after,
            "growth_mb": after - before if after is not None and before is not None else None,
            "peak_mb": max((v for _, v in during), default=None),
            "slope_mb_per_min": slope_mb_per_min(during),
            "slope_second_half_mb_per_min": slope_mb_per_min(half),
        }
    return report


async def rss_sampler(state: LoadState, samples: list[RssSample], stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), state.config.rss_interval_s)
        if not stop.is_set():
            samples.append(await asyncio.to_thread(sample_rss, state, "load"))


# ----------------------------------------------------------------------------- verification


@dataclass
class Verification:
    chats_checked: int = 0
    deleted_checked: int = 0
    messages_read: int = 0
    pending_after_settle: int = 0
    settle_s: float = 0.0
    violations: list[str] = field(default_factory=list)
    orphans: dict[str, int] | None = None  # SQLite rows of chats that no longer exist

    def fail(self, message: str) -> None:
        self.violations.append(message)


async def read_chat(state: LoadState, user: str, chat_id: str) -> tuple[int, list[dict[str, Any]]]:
    """(status, every message oldest first), paging back from the newest page."""
    config, target = state.config, state.target
    pages: list[list[dict[str, Any]]] = []
    page_token = ""
    for _ in range(1000):
        path = f"/chat/{chat_id}?page_size=200"
        if page_token:
            path += f"&page_token={quote(page_token)}"
        response = await open_request(
            target.host, target.port, "GET", path, None, target.tokens[user],
            config.unary_timeout_s,
        )  # fmt: skip
        data = await read_body(response, config.unary_timeout_s)
        state.count("verify_get", response.status)
        if response.status != 200:
            return response.status, []
        page = json.loads(data)
        pages.append(page.get("messages", []))
        page_token = page.get("next_page_token", "")
        if not page_token:
            break
    return 200, [message for page in reversed(pages) for message in page]


async def list_chat_ids(state: LoadState, user: str) -> list[str]:
    config, target = state.config, state.target
    ids: list[str] = []
    page_token = ""
    for _ in range(1000):
        path = "/chats?page_size=100" + (f"&page_token={quote(page_token)}" if page_token else "")
        response = await open_request(
            target.host, target.port, "GET", path, None, target.tokens[user],
            config.unary_timeout_s,
        )  # fmt: skip
        data = await read_body(response, config.unary_timeout_s)
        state.count("verify_list", response.status)
        if response.status != 200:
            raise TransportError(f"GET /chats for {user}: HTTP {response.status}")
        page = json.loads(data)
        ids += [chat["chat_id"] for chat in page.get("chats", [])]
        page_token = page.get("next_page_token", "")
        if not page_token:
            break
    return ids


def _status(message: Mapping[str, Any]) -> str:
    return str(message.get("status", "MESSAGE_STATUS_UNSPECIFIED")).removeprefix(STATUS_PREFIX)


def check_chat(
    chat: ChatRecord,
    messages: Sequence[Mapping[str, Any]],
    turns: Mapping[str, TurnRecord],
    verification: Verification,
) -> None:
    """The exactly-once invariants of one live chat (see the module docstring)."""
    fail = verification.fail
    where = f"chat {chat.chat_id} ({chat.user})"
    sent = set(chat.request_ids)
    users: dict[str, list[Mapping[str, Any]]] = {}
    assistants: dict[str, list[Mapping[str, Any]]] = {}
    order: list[str] = []
    for index, message in enumerate(messages):
        rid = str(message.get("client_request_id", ""))
        role = message.get("role")
        if rid not in sent:
            fail(f"{where}: stored {role} message for unknown request id {rid!r}")
        if _status(message) in UNSETTLED:
            fail(f"{where}: {rid} is still {_status(message)}")
        if role == ROLE_USER:
            users.setdefault(rid, []).append(message)
            order.append(rid)
            reply = messages[index + 1] if index + 1 < len(messages) else None
            if (
                reply is None
                or reply.get("role") != ROLE_ASSISTANT
                or (reply.get("client_request_id") != rid)
            ):
                fail(f"{where}: user message of {rid} is not followed by its reply")
        elif role == ROLE_ASSISTANT:
            assistants.setdefault(rid, []).append(message)
        else:
            fail(f"{where}: message with role {role!r}")
    for rid in users.keys() | assistants.keys():
        n_users, n_replies = len(users.get(rid, [])), len(assistants.get(rid, []))
        if n_users > 1 or n_replies > 1:
            fail(f"{where}: {rid} stored {n_users} user and {n_replies} assistant messages")
    expected_order = [rid for rid in chat.request_ids if rid in users]
    if order != expected_order:
        fail(f"{where}: turns stored out of order: {order} vs sent {expected_order}")
    for rid in chat.request_ids:
        turn = turns[rid]
        user_messages, replies = users.get(rid, []), assistants.get(rid, [])
        if turn.acknowledged and len(user_messages) != 1:
            fail(f"{where}: acknowledged {rid} ({turn.outcome}) stored {len(user_messages)}x")
        if user_messages and user_messages[0].get("content") != turn.content:
            fail(f"{where}: {rid} stored question {user_messages[0].get('content')!r}")
        if user_messages and len(replies) != 1:
            fail(f"{where}: {rid} has {len(replies)} replies")
        if not replies:
            continue
        reply = replies[0]
        status, content = _status(reply), str(reply.get("content", ""))
        if turn.outcome in ("cancelled", "stream_broken", "aborted") and turn.cached is None:
            turn.cached = bool(reply.get("cached", False))
        if turn.outcome == "final":
            final = turn.final or {}
            if reply.get("message_id") != final.get("assistant_message_id") or (
                user_messages and user_messages[0].get("message_id") != final.get("user_message_id")
            ):
                fail(f"{where}: {rid} final ids {final} do not match the stored messages")
            if status != "COMPLETE":
                fail(f"{where}: completed {rid} stored as {status}")
            if content != turn.text:
                fail(f"{where}: completed {rid} stored {content!r}, streamed {turn.text!r}")
            if bool(reply.get("cached", False)) != bool(final.get("cached", False)):
                fail(f"{where}: {rid} cached flag differs between the final and the store")
        elif turn.outcome == "cancelled":
            if status not in ("INTERRUPTED", "COMPLETE"):
                fail(f"{where}: stopped {rid} stored as {status}")
            if not content.startswith(turn.text):
                fail(f"{where}: stopped {rid} stored {content!r}, streamed {turn.text!r}")
        elif turn.outcome == "error_event":
            if status != "FAILED":
                fail(f"{where}: {rid} ended with an error event but is stored as {status}")
        elif turn.outcome in ("gave_up", "window_closed", "http_error") and status != "FAILED":
            # A refused attempt records its turn as FAILED before it answers.
            fail(f"{where}: refused {rid} stored as {status}")


async def verify(state: LoadState) -> Verification:
    config = state.config
    verification = Verification()
    turns = {turn.request_id: turn for turn in state.turns}
    live = [chat for chat in state.chats.values() if not chat.deleted]
    deleted = [chat for chat in state.chats.values() if chat.deleted]
    limit = asyncio.Semaphore(config.verify_concurrency)

    async def read(chat: ChatRecord) -> tuple[int, list[dict[str, Any]]]:
        async with limit:
            return await read_chat(state, chat.user, chat.chat_id)

    # Settle: stopped turns record their end after the stream closed; poll until no message
    # is PENDING (or the deadline).
    started = time.monotonic()
    deadline = started + config.settle_timeout_s
    while True:
        contents = await asyncio.gather(*(read(chat) for chat in live))
        pending = sum(
            _status(message) in UNSETTLED for _, messages in contents for message in messages
        )
        if not pending or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.5)
    verification.settle_s = time.monotonic() - started
    verification.pending_after_settle = pending
    for chat, (status, messages) in zip(live, contents, strict=True):
        verification.chats_checked += 1
        verification.messages_read += len(messages)
        if status != 200:
            verification.fail(f"live chat {chat.chat_id} ({chat.user}): GET answered {status}")
            continue
        check_chat(chat, messages, turns, verification)
    for chat, (status, _) in zip(deleted, await asyncio.gather(*(read(c) for c in deleted)),
                                 strict=True):  # fmt: skip
        verification.deleted_checked += 1
        if status != 404:
            verification.fail(f"deleted chat {chat.chat_id} ({chat.user}): GET answered {status}")
    by_user: dict[str, set[str]] = {}
    for chat in live:
        by_user.setdefault(chat.user, set()).add(chat.chat_id)

    async def listed(user: str) -> list[str]:
        async with limit:
            return await list_chat_ids(state, user)

    users = sorted(state.target.tokens)
    for user, ids in zip(users, await asyncio.gather(*(listed(u) for u in users)), strict=True):
        if len(ids) != len(set(ids)):
            verification.fail(f"GET /chats for {user} lists a chat twice")
        if set(ids) != by_user.get(user, set()):
            verification.fail(
                f"GET /chats for {user}: {sorted(set(ids) ^ by_user.get(user, set()))} "
                "differ from the live chats"
            )
    if state.target.sqlite_path is not None:
        verification.orphans = await asyncio.to_thread(sqlite_orphans, state.target.sqlite_path)
    return verification


def sqlite_orphans(path: Path) -> dict[str, int]:
    """Rows of the SQLite history store whose chat no longer exists (left behind by a delete)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return {
            table: int(
                conn.execute(
                    f"""SELECT count(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM chats c
                        WHERE c.user_id = t.user_id AND c.chat_id = t.chat_id)"""
                ).fetchone()[0]
            )
            for table in ("messages", "turns_by_request", "summaries")
        }
    finally:
        conn.close()


# ----------------------------------------------------------------------------- the run


@dataclass
class LoadResult:
    config: LoadConfig
    load_s: float  # the load window as it ran, until the last user finished
    state: LoadState
    rss: list[RssSample]
    verification: Verification

    @property
    def turns(self) -> list[TurnRecord]:
        return self.state.turns

    def status_counts(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for (operation, status), n in sorted(self.state.statuses.items()):
            counts.setdefault(operation, {})[str(status)] = n
        return counts

    def all_statuses(self) -> set[int]:
        return {status for (_, status) in self.state.statuses}

    def outcomes(self) -> dict[str, int]:
        return dict(Counter(turn.outcome for turn in self.turns).most_common())

    def summary(self) -> dict[str, Any]:
        turns = self.turns
        final = [t for t in turns if t.outcome == "final"]
        with_delta = [t for t in turns if t.ttft_s is not None]

        def quantiles(values: Sequence[float]) -> dict[str, float] | None:
            if not values:
                return None
            return {
                "n": len(values),
                **{f"p{q}": percentile(values, q) * 1000 for q in (50, 95, 99)},
                "max": max(values) * 1000,
            }

        ttft = {
            "all": quantiles([t.ttft_s for t in with_delta if t.ttft_s is not None]),
            "generated": quantiles(
                [t.ttft_s for t in with_delta if t.ttft_s is not None and t.cached is False]
            ),
            "cached": quantiles(
                [t.ttft_s for t in with_delta if t.ttft_s is not None and t.cached is True]
            ),
            "all_with_429_retries": quantiles(
                [t.ttft_with_retries_s for t in with_delta if t.ttft_with_retries_s is not None]
            ),
        }
        attempts = Counter(t.attempts for t in turns)
        v = self.verification
        return {
            "users": self.config.users,
            "load_s": self.load_s,
            "turns": len(turns),
            "acknowledged_turns": sum(t.acknowledged for t in turns),
            "completed_turns": len(final),
            "completed_cached": sum(bool(t.cached) for t in final),
            "completed_turns_per_s": len(final) / self.load_s if self.load_s else 0.0,
            "acknowledged_turns_per_s": (
                sum(t.acknowledged for t in turns) / self.load_s if self.load_s else 0.0
            ),
            "chats_created": len(self.state.chats),
            "chats_deleted": sum(c.deleted for c in self.state.chats.values()),
            "outcomes": self.outcomes(),
            "turn_kinds": dict(Counter(t.kind for t in turns)),
            "attempts_per_turn": {str(k): attempts[k] for k in sorted(attempts)},
            "status_counts": self.status_counts(),
            "error_reasons": [
                {"operation": op, "status": status, "reason": reason, "count": n}
                for (op, status, reason), n in self.state.reasons.most_common()
            ],
            "transport_errors": [
                {"operation": op, "error": error, "count": n}
                for (op, error), n in self.state.transport_errors.most_common(20)
            ],
            "retry_hints_429": [
                {"source": source, "seconds": seconds, "count": n}
                for (source, seconds), n in self.state.retry_hints.most_common()
            ],
            "ttft_ms": ttft,
            "completed_turn_total_ms": quantiles(
                [t.total_s for t in final if t.total_s is not None]
            ),
            "rss": rss_report(self.rss),
            "verification": {
                "chats_checked": v.chats_checked,
                "deleted_chats_checked": v.deleted_checked,
                "messages_read": v.messages_read,
                "settle_s": v.settle_s,
                "pending_after_settle": v.pending_after_settle,
                "violations": len(v.violations),
                "first_violations": v.violations[:20],
                "sqlite_orphan_rows": v.orphans,
            },
        }


async def run_load(config: LoadConfig, target: Target, progress: bool = False) -> LoadResult:
    """The whole run: RSS before, the load, the drain, RSS after, the verification."""
    state = LoadState(config, target)
    state.started = time.monotonic()
    samples = [await asyncio.to_thread(sample_rss, state, "before")]
    state.started = time.monotonic()
    state.load_deadline = state.started + config.duration_s
    stop = asyncio.Event()
    sampler = asyncio.create_task(rss_sampler(state, samples, stop))
    users = [User(state, name, i) for i, name in enumerate(sorted(target.tokens))]
    tasks = [asyncio.create_task(user.run()) for user in users]
    reporter = asyncio.create_task(_progress(state)) if progress else None
    try:
        _, running = await asyncio.wait(tasks, timeout=config.duration_s + config.drain_s)
        for task in running:  # still in a turn at the hard stop
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks:
            if not task.cancelled() and (exc := task.exception()) is not None:
                raise exc
    finally:
        for task in tasks:
            task.cancel()
        if reporter is not None:
            reporter.cancel()
        stop.set()
        await asyncio.gather(sampler, return_exceptions=True)
    load_s = time.monotonic() - state.started
    verification = await verify(state)
    samples.append(await asyncio.to_thread(sample_rss, state, "after"))
    return LoadResult(config, load_s, state, samples, verification)


async def _progress(state: LoadState) -> None:
    while True:
        await asyncio.sleep(15)
        outcomes = Counter(t.outcome for t in state.turns)
        print(
            f"  t={state.now():6.0f}s turns={len(state.turns)} "
            f"{dict(outcomes.most_common())} statuses={dict(state.statuses)}",
            flush=True,
        )


def result_document(result: LoadResult) -> dict[str, Any]:
    """A results file's content: the config, the summary and the RSS samples."""
    return {
        "config": {
            **asdict(result.config),
            "questions": list(QUESTIONS),
            "follow_ups": list(FOLLOW_UPS),
        },
        **result.summary(),
        "rss_samples": [asdict(s) for s in result.rss],
    }


def write_turns(result: LoadResult, path: Path) -> None:
    """Every turn as one JSON line (what was sent, each attempt's status, what came back)."""
    with path.open("w") as out:
        for turn in result.turns:
            out.write(json.dumps(asdict(turn)) + "\n")


def chat_service_args(work: Path, internal_address: str, nats_url: str) -> list[str]:
    """The chat service of a load run: SQLite, the answer cache on (Milvus Lite), jobs on
    NATS, inference and embedding through Envoy's internal listener. The cache lookup deadline
    is raised from 0.25 s (as in the test fixtures): under this load an embedding + search on
    2 cores takes longer, and every lookup would miss."""
    return [
        "--store", "sqlite", "--sqlite-path", str(work / "chat.db"),
        "--inference-address", internal_address, "--embedding-address", internal_address,
        "--cache-uri", str(work / "cache.db"), "--cache-lookup-timeout-s", "3",
        "--queue-url", nats_url,
    ]  # fmt: skip

"""What a load run does and what it runs against: the pools of questions the simulated users
ask, the run's knobs (LoadConfig), the deployment (Target), and the chat service's flags for a
stack started for a load run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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

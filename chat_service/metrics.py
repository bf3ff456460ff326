"""Chat service metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

TURNS = Counter(
    "chat_turns_total",
    "Completed Complete calls by outcome",
    ["outcome"],  # complete | interrupted | failed | replayed | rejected
)
STORE_SECONDS = Histogram(
    "chat_store_operation_seconds",
    "History store latency by operation",
    ["operation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
STORE_ERRORS = Counter("chat_store_errors_total", "Failed store operations", ["operation"])
PROMPT_TOKENS = Histogram(
    "chat_prompt_tokens",
    "Tokens of the assembled prompt, by history policy",
    ["policy"],
    buckets=(64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768),
)
TIME_TO_FIRST_TOKEN = Histogram(
    "chat_time_to_first_token_seconds",
    "From the Complete call to the first reply token",
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SUMMARIES = Counter("chat_summaries_total", "History summaries computed", ["outcome"])

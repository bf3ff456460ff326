"""Chat service metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

TURNS = Counter(
    "chat_turns_total",
    "Turns by how they ended, streamed and submitted (chat_service/turn/outcome.py)",
    ["outcome"],  # complete | interrupted | failed | replayed | refused | rejected | ...
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

CACHE_LOOKUPS = Counter(
    "chat_cache_lookups_total",
    "Semantic cache lookups by scope setting and result",
    ["scope", "result"],  # hit | miss | error | bypass | ineligible
)
CACHE_BEST_SIMILARITY = Histogram(
    "chat_cache_best_similarity",
    "Cosine similarity of the best candidate of a lookup (hit or not)",
    buckets=(0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.925, 0.95, 0.975, 0.99, 1.0),
)
CACHE_LOOKUP_SECONDS = Histogram(
    "chat_cache_lookup_seconds",
    "Semantic cache lookup latency (context, embedding, search, verification)",
    buckets=(0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
CACHE_ENTRIES = Gauge("chat_cache_entries", "Entries in the semantic cache collection")
CACHE_ERRORS = Counter(
    "chat_cache_errors_total",
    "Failed semantic cache operations",
    ["operation"],  # connect | lookup | store | delete | flush | evict
)
CACHE_STORES = Counter(
    "chat_cache_stores_total",
    "Answers offered to the semantic cache after a turn",
    ["outcome"],  # stored | skipped (not cacheable: too long, standalone-in-context in global)
)

QUEUE_PUBLISH = Counter(
    "chat_queue_publish_total",
    "Jobs offered to the message queue by job type and outcome",
    # published | duplicate (held already: stored once) | fallback (queue down or slow: ran
    # in process)
    ["job", "outcome"],
)
JOBS_PROCESSED = Counter(
    "chat_jobs_processed_total",
    "Queue jobs handled by this replica's worker by job type and outcome",
    ["job", "outcome"],  # ok | retry | dead_letter
)
JOBS_IN_PROCESS = Counter(
    "chat_jobs_in_process_total",
    "Jobs run in this process (no queue, or publishing failed) by job type and outcome",
    ["job", "outcome"],  # ok | retry | given_up
)
TURNS_GENERATING = Gauge(
    "chat_turns_generating", "Turns this replica is answering now (streamed and submitted)"
)
FOLLOWERS = Gauge("chat_turn_followers", "StreamTurn callers following a turn on this replica")

"""Inference metrics: what operators page on (latency to first token, decode speed, load)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

TIME_TO_FIRST_TOKEN = Histogram(
    "inference_time_to_first_token_seconds",
    "From request admission to the first generated token",
    buckets=_LATENCY_BUCKETS,
)
INTER_TOKEN_LATENCY = Histogram(
    "inference_inter_token_latency_seconds",
    "Time between consecutive generated tokens",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28),
)
REQUEST_LATENCY = Histogram(
    "inference_request_duration_seconds",
    "End-to-end generation time, admission to last token",
    buckets=_LATENCY_BUCKETS,
)
GENERATED_TOKENS = Counter("inference_generated_tokens_total", "Tokens generated")
PROMPT_TOKENS = Counter("inference_prompt_tokens_total", "Prompt tokens processed")
CACHED_PROMPT_TOKENS = Counter(
    "inference_cached_prompt_tokens_total", "Prompt tokens served from the prefix KV cache"
)
REQUESTS = Counter(
    "inference_requests_total",
    "Generate requests by outcome",
    ["outcome"],  # completed | cancelled | rejected | invalid | failed
)
QUEUE_DEPTH = Gauge("inference_queue_depth", "Requests waiting for a free engine slot")
RUNNING = Gauge("inference_running_requests", "Requests generating now")

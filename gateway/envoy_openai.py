"""The OpenAI-compatible API at the gateway: `/v1/` goes to the chat replicas' HTTP ports
(chat_service/openai_api, plain HTTP/1.1), past the JWT or API-key check and the per-user rate
limit like every API call, with the transcoder off (these are not gRPC methods). Envoy's own
refusals on these paths (401, 429, 503...) carry OpenAI's error shape, which SDKs parse."""

from __future__ import annotations

from gateway.config import GatewaySettings
from gateway.envoy_base import (
    FILTER_CONFIG,
    OPENAI_CLUSTER,
    OPENAI_PREFIX,
    TRANSCODER_FILTER,
    UNSENT_RETRY_ON,
    Config,
    duration,
    status_filter,
)
from gateway.envoy_clusters import http_cluster

OPENAI_HEALTH_PATH = "/healthz"
# HTTP status -> OpenAI's error `type` and `code` for the gateway's own replies.
OPENAI_LOCAL_REPLIES: tuple[tuple[int, str, str], ...] = (
    (400, "invalid_request_error", "bad_request"),
    (401, "invalid_request_error", "invalid_api_key"),
    (403, "invalid_request_error", "permission_denied"),
    (404, "invalid_request_error", "not_found"),
    (413, "invalid_request_error", "request_too_large"),
    (429, "requests", "rate_limit_exceeded"),
    (502, "server_error", "bad_gateway"),
    (503, "server_error", "service_unavailable"),
    (504, "server_error", "timeout"),
)


def openai_route(settings: GatewaySettings) -> Config:
    """A completion streams: bounded by silence and the stream cap, like Complete. Retried only
    when it cannot have reached a replica (a retried completion could generate twice)."""
    return {
        "name": "openai",
        "match": {"prefix": OPENAI_PREFIX},
        "route": {
            "cluster": OPENAI_CLUSTER,
            "timeout": "0s",
            "idle_timeout": duration(settings.completion_idle_timeout_s),
            "max_stream_duration": {
                "max_stream_duration": duration(settings.max_stream_duration_s)
            },
            "retry_policy": {"retry_on": UNSENT_RETRY_ON, "num_retries": settings.num_retries},
        },
        "typed_per_filter_config": {TRANSCODER_FILTER: {"@type": FILTER_CONFIG, "disabled": True}},
    }


def openai_cluster(settings: GatewaySettings) -> Config:
    """The chat replicas' OpenAI ports: least-request (a completion holds a replica for its
    length). A replica that fails connections or resets them is set aside for a while (never
    more than half of them); its HTTP errors are not counted: a 503 (the model is busy) or a
    429 says the same on every replica."""
    outliers = {
        "split_external_local_origin_errors": True,
        "consecutive_local_origin_failure": 5,
        "interval": "10s",
        "base_ejection_time": "30s",
        "max_ejection_percent": 50,
    }
    return http_cluster(
        settings,
        OPENAI_CLUSTER,
        settings.openai_endpoints,
        OPENAI_HEALTH_PATH,
        lb_policy="LEAST_REQUEST",
        circuit_breakers={"thresholds": [{"max_requests": settings.max_upstream_requests}]},
        outlier_detection=outliers,
    )


def openai_local_reply_mappers() -> list[Config]:
    """Before the generic mappers: on /v1/ paths, Envoy's refusals in OpenAI's error shape."""
    on_openai_path = {
        "header_filter": {"header": {"name": ":path", "string_match": {"prefix": OPENAI_PREFIX}}}
    }
    return [
        {
            "filter": {"and_filter": {"filters": [status_filter("EQ", status), on_openai_path]}},
            "body_format_override": {
                "json_format": {
                    "error": {
                        "message": "%LOCAL_REPLY_BODY%",
                        "type": error_type,
                        "param": None,
                        "code": code,
                    }
                },
            },
        }
        for status, error_type, code in OPENAI_LOCAL_REPLIES
    ]

"""Names and small helpers every part of the generated Envoy config shares (envoy_config.py builds
the bootstrap from the parts)."""

from __future__ import annotations

from typing import Any

from server_kit import headers

Config = dict[str, Any]

ADMIN_HOST = "127.0.0.1"
CHAT_CLUSTER = "chat"
INFERENCE_CLUSTER = "inference"
EMBEDDING_CLUSTER = "embedding"
JWKS_CLUSTER = "jwks"
WEB_CLUSTER = "web"
OPENAI_CLUSTER = "openai"  # the chat replicas' OpenAI-compatible HTTP ports
OPENAI_PREFIX = "/v1/"
OTLP_CLUSTER = "opentelemetry_collector"
JWT_PROVIDER = "chatstack"
HEALTH_PATH = "/healthz"
# The REST paths of the chat API (protos/chatstack/chat/v1/chat.proto): with a web UI these
# need a token and stay with the transcoder; everything else is the UI's.
REST_API_PATHS: tuple[Config, ...] = (
    {"path": "/chat"},
    {"path": "/chats"},
    {"prefix": "/chats:"},  # custom methods: /chats:search, :export, :import
    {"prefix": "/chat/"},
    {"path": "/api-keys"},
    {"prefix": "/api-keys/"},
)
WEB_HEALTH_PATH = "/ui-config.json"
TRANSCODER_FILTER = "envoy.filters.http.grpc_json_transcoder"
RATE_LIMIT_FILTER = "envoy.filters.http.local_ratelimit"
CHAT_ID_HEADER = headers.CHAT_ID  # the hash key of chat affinity
RATE_LIMIT_USER_KEY = "user"
BUFFER_FILTER = "envoy.filters.http.buffer"
# Set by the transcoder on every request it converted from REST.
ORIGINAL_PATH_HEADER = "x-envoy-original-path"
# Methods safe to retry before any response byte: reads and the idempotent delete.
IDEMPOTENT_METHODS = ("ListChats", "GetChat", "DeleteChat", "GetTurn", "SearchChats", "ExportChats")
STREAMING_METHODS = ("Complete", "StreamTurn")
# Server reflection (grpcurl, Postman, Kreya discover the API): grpcio serves v1alpha; a client
# that asks v1 first gets UNIMPLEMENTED and falls back.
REFLECTION_PREFIX = "/grpc.reflection.v1alpha.ServerReflection/"
# Retry only what cannot have reached the service's handler: the connection or stream was
# refused, or the service said UNAVAILABLE (e.g. draining). Never a reset mid-call.
INTERNAL_RETRY_ON = "connect-failure,refused-stream,unavailable"
# Non-idempotent chat calls (a new chat, a turn) are retried only when they cannot have reached
# any chat process: e.g. a replica killed moments ago, before the health checks eject it.
UNSENT_RETRY_ON = "connect-failure,refused-stream"
HCM_TYPE = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"

# HTTP status of a local reply -> google.rpc.Code for the JSON error body, the same shape the
# transcoder produces for upstream gRPC errors ({"code": 5, "message": "..."}).
LOCAL_REPLY_CODES: tuple[tuple[int, int], ...] = (
    (400, 3),  # INVALID_ARGUMENT
    (401, 16),  # UNAUTHENTICATED
    (403, 7),  # PERMISSION_DENIED
    (404, 5),  # NOT_FOUND
    (408, 4),  # DEADLINE_EXCEEDED
    (413, 8),  # RESOURCE_EXHAUSTED (gRPC's own code for oversized messages)
    (429, 8),  # RESOURCE_EXHAUSTED
    (500, 13),  # INTERNAL
    (501, 12),  # UNIMPLEMENTED
    (502, 14),  # UNAVAILABLE
    (503, 14),  # UNAVAILABLE
    (504, 4),  # DEADLINE_EXCEEDED
)
UNKNOWN_CODE = 2


def type_url(name: str) -> str:
    return f"type.googleapis.com/{name}"


def duration(seconds: float) -> str:
    text = f"{seconds:.6f}".rstrip("0").rstrip(".")
    return f"{text}s"


def socket_address(host: str, port: int) -> Config:
    return {"socket_address": {"address": host, "port_value": port}}


FILTER_CONFIG = type_url("envoy.config.route.v3.FilterConfig")  # a filter off on a route


def status_filter(op: str, status: int) -> Config:
    """A local-reply mapper's test of the reply's status (its value a runtime key)."""
    return {
        "status_code_filter": {
            "comparison": {
                "op": op,
                "value": {
                    "default_value": status,
                    "runtime_key": f"chatstack.local_reply.{op.lower()}_{status}",
                },
            }
        }
    }

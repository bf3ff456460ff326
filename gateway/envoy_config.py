"""Builds the Envoy bootstrap from GatewaySettings.

One listener serves REST (grpc_json_transcoder, completions as SSE) and native gRPC for the chat
service. Filter order matters:

1. early header mutation (before routing and every filter): drop any client-supplied user-id
   header, because the chat service trusts that header as coming from Envoy only;
2. health_check: GET /healthz answered locally, without auth;
3. jwt_authn: every other request needs a valid bearer token; `sub` goes to the user-id header
   (with a web UI configured: every API request, i.e. gRPC content or an API path; see below);
4. buffer: caps the request body (413) - after auth, so anonymous clients cannot make Envoy buffer;
5. grpc_json_transcoder: REST -> gRPC; it rewrites :path to /package.Service/Method, and the
   routes match on those gRPC paths, so REST and native gRPC share the same timeouts/retries;
6. router.

With `web_upstreams` set, every other path (the UI's files, `/c/<chat>` app routes, the
development sign-in) goes to the `web` cluster without a token: the transcoder and the buffer
are disabled on that route (the transcoder would reject unknown paths; anonymous requests must
not make Envoy buffer bodies), and REST API paths get routes of their own ahead of it, so they
are still transcoded. The browser loads the page anonymously, then sends its token on API calls.

A second, internal listener (loopback by default) carries native gRPC from the chat service to
the inference and embedding pools: no JWT, no transcoding, routes by service prefix to the
`inference` and `embedding` clusters.

Why the chat service goes through Envoy instead of balancing in its own gRPC client: one place,
configured and observed like the edge (admin /clusters, stats, access log), for least-request
balancing (generations differ wildly in length; grpc's pick_first/round_robin over a DNS name
does not see that), active gRPC health checks, outlier ejection of a dead or failing replica,
retries of unary calls only, circuit breakers and chat-affine hashing (inference_affinity:
Maglev on the chat id the chat service sends as `x-chat-id`, so a chat's turns hit the replica
whose prefix KV cache holds its history) - none of which every client (Python today, others
later) has to re-implement. The cost is one loopback hop per call, well under a millisecond next
to a generation. In Kubernetes bind it to the pod address (internal_host) and let a
NetworkPolicy admit only the chat pods.

`python -m gateway.envoy_config [--out FILE]` prints or writes the YAML.
"""

from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from gateway.config import Endpoint, GatewaySettings
from gateway.descriptors import transcoder_descriptor_set
from server_kit import headers

Config = dict[str, Any]

ADMIN_HOST = "127.0.0.1"
CHAT_CLUSTER = "chat"
INFERENCE_CLUSTER = "inference"
EMBEDDING_CLUSTER = "embedding"
JWKS_CLUSTER = "jwks"
WEB_CLUSTER = "web"
OTLP_CLUSTER = "opentelemetry_collector"
JWT_PROVIDER = "chatstack"
HEALTH_PATH = "/healthz"
# The REST paths of the chat API (protos/chatstack/chat/v1/chat.proto): with a web UI these
# need a token and stay with the transcoder; everything else is the UI's.
REST_API_PATHS: tuple[Config, ...] = ({"path": "/chat"}, {"path": "/chats"}, {"prefix": "/chat/"})
WEB_HEALTH_PATH = "/ui-config.json"
TRANSCODER_FILTER = "envoy.filters.http.grpc_json_transcoder"
RATE_LIMIT_FILTER = "envoy.filters.http.local_ratelimit"
CHAT_ID_HEADER = headers.CHAT_ID  # the hash key of chat affinity
RATE_LIMIT_USER_KEY = "user"
BUFFER_FILTER = "envoy.filters.http.buffer"
# Set by the transcoder on every request it converted from REST.
ORIGINAL_PATH_HEADER = "x-envoy-original-path"
# Methods safe to retry before any response byte: reads and the idempotent delete.
IDEMPOTENT_METHODS = ("ListChats", "GetChat", "DeleteChat", "GetTurn")
STREAMING_METHODS = ("Complete", "StreamTurn")
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


def _type(name: str) -> str:
    return f"type.googleapis.com/{name}"


def _duration(seconds: float) -> str:
    text = f"{seconds:.6f}".rstrip("0").rstrip(".")
    return f"{text}s"


def _socket_address(host: str, port: int) -> Config:
    return {"socket_address": {"address": host, "port_value": port}}


# --- HTTP connection manager pieces ---------------------------------------------------------


def _access_log(settings: GatewaySettings) -> list[Config]:
    fields = {
        "start_time": "%START_TIME%",
        # The transcoder rewrites :method/:path to the gRPC call; keep what the client sent.
        "method": "%REQ(X-ENVOY-ORIGINAL-METHOD?:METHOD)%",
        "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
        "grpc_method": "%REQ(:PATH)%",
        "protocol": "%PROTOCOL%",
        "response_code": "%RESPONSE_CODE%",
        "grpc_status": "%GRPC_STATUS_NUMBER%",
        "response_flags": "%RESPONSE_FLAGS%",
        "response_code_details": "%RESPONSE_CODE_DETAILS%",
        "duration_ms": "%DURATION%",
        # Time to the first response byte: for a completion, roughly the time to first token.
        "response_duration_ms": "%RESPONSE_DURATION%",
        "upstream_attempts": "%UPSTREAM_REQUEST_ATTEMPT_COUNT%",
        "request_id": "%REQ(X-REQUEST-ID)%",
        "user_id": f"%REQ({settings.user_id_header.upper()})%",
        "upstream_host": "%UPSTREAM_HOST%",
        # Internal listener: which chat a Generate/CountTokens call was for (chat affinity).
        "chat_id": f"%REQ({CHAT_ID_HEADER.upper()})%",
        "bytes_received": "%BYTES_RECEIVED%",
        "bytes_sent": "%BYTES_SENT%",
        "downstream_remote_address": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
        "user_agent": "%REQ(USER-AGENT)%",
    }
    if settings.access_log_format == "json":
        log_format: Config = {"json_format": fields}
    else:
        line = " ".join(f"{key}={value}" for key, value in fields.items())
        log_format = {"text_format_source": {"inline_string": line + "\n"}}

    if settings.access_log_path in ("/dev/stdout", "-", ""):
        return [
            {
                "name": "envoy.access_loggers.stdout",
                "typed_config": {
                    "@type": _type("envoy.extensions.access_loggers.stream.v3.StdoutAccessLog"),
                    "log_format": log_format,
                },
            }
        ]
    return [
        {
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": _type("envoy.extensions.access_loggers.file.v3.FileAccessLog"),
                "path": settings.access_log_path,
                "log_format": log_format,
            },
        }
    ]


def _status_filter(op: str, status: int) -> Config:
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


def _local_reply_config() -> Config:
    """Local replies (auth failures, 404, 413, no upstream...) get a JSON body for REST clients.

    gRPC clients are excluded: Envoy already turns their local replies into grpc-status plus
    grpc-message, and a JSON body would end up inside grpc-message. The filters see the request
    headers as they are when the reply is sent, and the transcoder has by then rewritten a REST
    request's content-type to application/grpc; so "REST" is: not gRPC content, or transcoded
    (the transcoder leaves x-envoy-original-path). Without the second half, the transcoder's own
    400s (malformed JSON, wrong field types) and a router 503/504 after transcoding stayed text.
    """
    not_grpc = {
        "header_filter": {
            "header": {
                "name": "content-type",
                "string_match": {"prefix": "application/grpc"},
                "invert_match": True,
                # Requests without content-type (GET, DELETE) must count as "not gRPC".
                "treat_missing_header_as_empty": True,
            }
        }
    }
    transcoded = {
        "header_filter": {"header": {"name": ORIGINAL_PATH_HEADER, "present_match": True}}
    }
    is_rest = {"or_filter": {"filters": [not_grpc, transcoded]}}

    def mapper(status_filter: Config, code: int) -> Config:
        return {
            "filter": {"and_filter": {"filters": [status_filter, is_rest]}},
            "body_format_override": {
                "json_format": {"code": code, "message": "%LOCAL_REPLY_BODY%", "details": []},
            },
        }

    mappers = [mapper(_status_filter("EQ", status), code) for status, code in LOCAL_REPLY_CODES]
    mappers.append(mapper(_status_filter("GE", 400), UNKNOWN_CODE))
    return {"mappers": mappers}


def _jwt_provider(settings: GatewaySettings) -> Config:
    provider: Config = {
        "issuer": settings.jwt_issuer,
        "audiences": list(settings.jwt_audiences),
        # Only the Authorization header: the default would also accept ?access_token=, and
        # tokens in URLs leak into logs.
        "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}],
        # Forwarded: the chat service verifies the token itself (docs/security.md), so a
        # caller that reaches it without Envoy cannot act as someone.
        "forward": True,
        "require_expiration": True,
        # A stolen long-lived token stays useful until it expires: refuse any whose lifetime
        # (exp - iat, or exp - now without iat) exceeds the maximum, whoever signed it.
        "max_lifetime": _duration(settings.jwt_max_lifetime_s),
        "claim_to_headers": [{"header_name": settings.user_id_header, "claim_name": "sub"}],
        # No jwt_cache_config: Envoy's cache keeps a verified token until it expires, even
        # after its key has left the JWKS (a key dropped as compromised must stop working).
        # An RS256 check costs tens of microseconds.
    }
    if settings.jwks_fetch is not None:
        uri, refresh_s = settings.jwks_fetch
        provider["remote_jwks"] = {
            "http_uri": {"uri": uri, "cluster": JWKS_CLUSTER, "timeout": "5s"},
            "cache_duration": _duration(refresh_s),
            # Fetched by the main thread and shared by workers; the listener does not wait for it.
            "async_fetch": {"fast_listener": True, "failed_refetch_duration": "2s"},
            "retry_policy": {
                "num_retries": 3,
                "retry_back_off": {"base_interval": "0.5s", "max_interval": "10s"},
            },
        }
    else:  # read once: a rotated file needs a restart (jwks_file_server avoids that)
        provider["local_jwks"] = {"filename": str(settings.jwks_path.resolve())}
    return provider


def _jwt_rules(settings: GatewaySettings) -> list[Config]:
    """Without a web UI every request needs a token. With one: gRPC requests (any path) and the
    API's REST and gRPC paths; other paths (the UI) match no rule, so need none."""
    requires = {"provider_name": JWT_PROVIDER}
    if not settings.web_upstreams:
        return [{"match": {"prefix": "/"}, "requires": requires}]
    grpc = {
        "prefix": "/",
        "headers": [{"name": "content-type", "string_match": {"prefix": "application/grpc"}}],
    }
    api = [*REST_API_PATHS, {"prefix": f"/{settings.chat_service}/"}]
    return [{"match": match, "requires": requires} for match in (grpc, *api)]


def _http_filters(settings: GatewaySettings) -> list[Config]:
    return [
        {
            "name": "envoy.filters.http.health_check",
            "typed_config": {
                "@type": _type("envoy.extensions.filters.http.health_check.v3.HealthCheck"),
                # Answered by Envoy itself: 200, or 503 while draining (healthcheck/fail).
                "pass_through_mode": False,
                "headers": [{"name": ":path", "string_match": {"exact": HEALTH_PATH}}],
            },
        },
        {
            "name": "envoy.filters.http.jwt_authn",
            "typed_config": {
                "@type": _type("envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication"),
                "providers": {JWT_PROVIDER: _jwt_provider(settings)},
                "rules": _jwt_rules(settings),
            },
        },
        *_user_rate_limit(settings),
        {
            "name": BUFFER_FILTER,
            "typed_config": {
                "@type": _type("envoy.extensions.filters.http.buffer.v3.Buffer"),
                "max_request_bytes": settings.max_request_bytes,
            },
        },
        {
            "name": TRANSCODER_FILTER,
            "typed_config": {
                "@type": _type(
                    "envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder"
                ),
                # Inline, with the google.rpc error protos added (see gateway/descriptors.py):
                # the config is self-contained and error details print as JSON.
                "proto_descriptor_bin": base64.b64encode(
                    transcoder_descriptor_set(settings.descriptor_path)
                ).decode("ascii"),
                "services": [settings.chat_service],
                "print_options": {
                    "add_whitespace": False,
                    "always_print_primitive_fields": True,
                    "always_print_enums_as_ints": False,
                    "preserve_proto_field_names": True,
                    # Server-streaming methods answer text/event-stream, `data: {...}` per
                    # message; unary methods stay plain application/json.
                    "stream_sse_style_delimited": True,
                },
                "convert_grpc_status": True,
                # Unknown paths and query parameters are the client's error (4xx) rather than
                # being passed to the upstream as opaque gRPC calls.
                "request_validation_options": {
                    "reject_unknown_method": True,
                    "reject_unknown_query_parameters": True,
                },
            },
        },
        _router_filter(),
    ]


def _token_bucket(per_minute: int, burst: int) -> Config:
    """Refills smoothly (a token every 60/per_minute s, at most 20 fills a second) rather than
    a minute's worth at once."""
    tokens_per_fill = max(1, -(-per_minute // 1200))
    return {
        "max_tokens": burst or per_minute,
        "tokens_per_fill": tokens_per_fill,
        "fill_interval": _duration(round(60 * tokens_per_fill / per_minute, 3)),
    }


def _user_rate_limit(settings: GatewaySettings) -> list[Config]:
    """Local (per Envoy process) token bucket per user: after jwt_authn, so it keys on the user
    id Envoy set from the verified token (a client's own header was removed before routing);
    before the buffer, so a limited user cannot make Envoy buffer bodies. Requests without a
    user (the UI's files, /healthz) produce no descriptor and are not limited. The descriptor's
    empty value is a wildcard: one bucket per distinct user (Envoy's dynamic descriptors, an
    LRU of `user_rate_limit_max_users`). Over the limit: 429 (RESOURCE_EXHAUSTED for gRPC),
    the JSON body of _local_reply_config, x-ratelimit-* headers and retry-after."""
    per_minute = settings.user_rate_limit_per_minute
    if not per_minute:
        return []
    bucket = _token_bucket(per_minute, settings.user_rate_limit_burst)
    percent = {"numerator": 100, "denominator": "HUNDRED"}
    retry_after = max(1, -(-60 // per_minute))  # seconds until the next token, rounded up
    return [
        {
            "name": RATE_LIMIT_FILTER,
            "typed_config": {
                "@type": _type("envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"),
                "stat_prefix": "user_rate_limit",
                # The filter's own bucket is unlimited in effect; only the per-user one counts.
                "token_bucket": {
                    "max_tokens": 1_000_000_000,
                    "tokens_per_fill": 1_000_000_000,
                    "fill_interval": "1s",
                },
                "always_consume_default_token_bucket": False,
                "filter_enabled": {
                    "runtime_key": "user_rate_limit.enabled",
                    "default_value": percent,
                },
                "filter_enforced": {
                    "runtime_key": "user_rate_limit.enforced",
                    "default_value": percent,
                },
                "rate_limits": [
                    {
                        "actions": [
                            {
                                "request_headers": {
                                    "header_name": settings.user_id_header,
                                    "descriptor_key": RATE_LIMIT_USER_KEY,
                                    "skip_if_absent": True,
                                }
                            }
                        ]
                    }
                ],
                "descriptors": [
                    {
                        "entries": [{"key": RATE_LIMIT_USER_KEY, "value": ""}],
                        "token_bucket": bucket,
                    }
                ],
                "max_dynamic_descriptors": settings.user_rate_limit_max_users,
                "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
                "rate_limited_as_resource_exhausted": True,
                "response_headers_to_add": [
                    {
                        "header": {"key": headers.RETRY_AFTER, "value": str(retry_after)},
                        "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                    }
                ],
            },
        }
    ]


def _router_filter() -> Config:
    return {
        "name": "envoy.filters.http.router",
        "typed_config": {
            "@type": _type("envoy.extensions.filters.http.router.v3.Router"),
            "suppress_envoy_headers": True,
        },
    }


def _unsent_retry_policy(settings: GatewaySettings, per_try_timeout: bool) -> Config:
    policy = _retry_policy(settings, UNSENT_RETRY_ON)
    if not per_try_timeout:
        del policy["per_try_timeout"]
    return policy


def _retry_policy(
    settings: GatewaySettings, retry_on: str = "unavailable,reset,connect-failure"
) -> Config:
    return {
        # Only failures before any response: connection refused/reset, or grpc UNAVAILABLE.
        "retry_on": retry_on,
        "num_retries": settings.num_retries,
        "per_try_timeout": _duration(settings.route_timeout_s),
        "retry_back_off": {"base_interval": "0.05s", "max_interval": "0.5s"},
        # Prefer another replica for the retry.
        "retry_host_predicate": [
            {
                "name": "envoy.retry_host_predicates.previous_hosts",
                "typed_config": {
                    "@type": _type(
                        "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"
                    )
                },
            }
        ],
        "host_selection_retry_max_attempts": 3,
    }


def _routes(settings: GatewaySettings) -> list[Config]:
    prefix = f"/{settings.chat_service}/"
    unary_timeout = _duration(settings.route_timeout_s)
    routes: list[Config] = []
    for method in STREAMING_METHODS:
        stream_cap = _duration(settings.max_stream_duration_s)
        routes.append(
            {
                "name": method,
                "match": {"path": prefix + method},
                "route": {
                    "cluster": CHAT_CLUSTER,
                    "timeout": "0s",  # a whole generation may exceed any unary timeout
                    "idle_timeout": _duration(settings.completion_idle_timeout_s),
                    "max_stream_duration": {
                        "max_stream_duration": stream_cap,
                        # Native gRPC clients' deadlines apply, capped at the same limit.
                        "grpc_timeout_header_max": stream_cap,
                    },
                    # Never after a reset (a retried turn could generate twice); no per-try
                    # timeout (it would cut the stream).
                    "retry_policy": _unsent_retry_policy(settings, per_try_timeout=False),
                },
            }
        )
    for method in IDEMPOTENT_METHODS:
        routes.append(
            {
                "name": method,
                "match": {"path": prefix + method},
                "route": {
                    "cluster": CHAT_CLUSTER,
                    "timeout": unary_timeout,
                    "max_stream_duration": {"grpc_timeout_header_max": unary_timeout},
                    "retry_policy": _retry_policy(settings),
                },
            }
        )
    # CreateChat, SubmitCompletion and any method added later: unary timeout, retried only
    # when the call cannot have been sent (not idempotent).
    routes.append(
        {
            "name": "chat-other",
            "match": {"prefix": prefix},
            "route": {
                "cluster": CHAT_CLUSTER,
                "timeout": unary_timeout,
                "max_stream_duration": {"grpc_timeout_header_max": unary_timeout},
                "retry_policy": _unsent_retry_policy(settings, per_try_timeout=True),
            },
        }
    )
    if settings.web_upstreams:
        routes.extend(_web_routes(settings))
    return routes


def _web_routes(settings: GatewaySettings) -> list[Config]:
    """After the API's routes: REST paths (before the transcoder rewrites them to the gRPC
    paths above, and when it rejects them), unknown gRPC methods (404 -> UNIMPLEMENTED, as
    without a UI), then everything else to the UI, with the transcoder and buffer off."""
    unary_timeout = _duration(settings.route_timeout_s)
    disabled = {"@type": _type("envoy.config.route.v3.FilterConfig"), "disabled": True}
    rest = [
        {
            "name": f"rest-{index}",
            "match": match,
            "route": {"cluster": CHAT_CLUSTER, "timeout": unary_timeout},
        }
        for index, match in enumerate(REST_API_PATHS)
    ]
    return [
        *rest,
        {
            "name": "grpc-unknown",
            "match": {"prefix": "/", "grpc": {}},
            "direct_response": {"status": 404},
        },
        {
            "name": "web",
            "match": {"prefix": "/"},
            "route": {
                "cluster": WEB_CLUSTER,
                "timeout": unary_timeout,
                "retry_policy": {
                    "retry_on": "connect-failure,refused-stream,reset",
                    "num_retries": settings.num_retries,
                },
            },
            "typed_per_filter_config": {TRANSCODER_FILTER: disabled, BUFFER_FILTER: disabled},
        },
    ]


def _http_connection_manager(settings: GatewaySettings) -> Config:
    return {
        "@type": _type(HCM_TYPE),
        "stat_prefix": "ingress",
        "codec_type": "AUTO",  # HTTP/1.1 for REST/SSE, h2c for gRPC
        "use_remote_address": True,
        "normalize_path": True,
        "merge_slashes": True,
        # An escaped slash (%2F) has no business in our paths: a 400 with the JSON error body,
        # not a redirect with an empty body that a client then follows to another route.
        "path_with_escaped_slashes_action": "REJECT_REQUEST",
        "stream_idle_timeout": _duration(settings.stream_idle_timeout_s),
        "request_headers_timeout": _duration(settings.request_headers_timeout_s),
        "common_http_protocol_options": {
            "idle_timeout": "3600s",
            # Backends may treat x_chatstack_user like x-chatstack-user: never pass such names.
            "headers_with_underscores_action": "DROP_HEADER",
        },
        "http2_protocol_options": {
            "max_concurrent_streams": 100,
            "initial_stream_window_size": 65536,
            "initial_connection_window_size": 1048576,
        },
        "early_header_mutation_extensions": [
            {
                "name": "envoy.http.early_header_mutation.header_mutation",
                "typed_config": {
                    "@type": _type(
                        "envoy.extensions.http.early_header_mutation.header_mutation.v3"
                        ".HeaderMutation"
                    ),
                    "mutations": [{"remove": settings.user_id_header}],
                },
            }
        ],
        "access_log": _access_log(settings),
        **_tracing(settings),
        "local_reply_config": _local_reply_config(),
        "route_config": {
            "name": "chatstack",
            "virtual_hosts": [{"name": "chatstack", "domains": ["*"], "routes": _routes(settings)}],
        },
        "http_filters": _http_filters(settings),
    }


# --- internal listener ----------------------------------------------------------------------


def _internal_routes(settings: GatewaySettings) -> list[Config]:
    inference = f"/{settings.inference_service}/"
    unary_timeout = _duration(settings.route_timeout_s)
    stream_cap = _duration(settings.max_stream_duration_s)

    # Chat affinity: the inference cluster hashes on the chat id (calls without one, e.g.
    # ListModels, get a random replica).
    def hashing() -> Config:  # a fresh copy per route (no YAML anchors in the output)
        if settings.inference_affinity != "chat":
            return {}
        return {"hash_policy": [{"header": {"header_name": CHAT_ID_HEADER}}]}

    def unary(name: str, prefix: str, cluster: str) -> Config:
        route: Config = {
            "cluster": cluster,
            "timeout": unary_timeout,
            # The caller's grpc-timeout applies when shorter (it always sets one).
            "max_stream_duration": {"grpc_timeout_header_max": unary_timeout},
            "retry_policy": _retry_policy(settings, INTERNAL_RETRY_ON),
        }
        if cluster == INFERENCE_CLUSTER:
            route.update(hashing())
        return {"name": name, "match": {"prefix": prefix, "grpc": {}}, "route": route}

    return [
        {
            "name": "inference-Generate",
            "match": {"path": inference + "Generate", "grpc": {}},
            "route": {
                "cluster": INFERENCE_CLUSTER,
                "timeout": "0s",  # a generation may run for minutes; silence is what's bounded
                "idle_timeout": _duration(settings.generate_idle_timeout_s),
                "max_stream_duration": {
                    "max_stream_duration": stream_cap,
                    "grpc_timeout_header_max": stream_cap,
                },
                # Retried only if it cannot have been sent (a replica killed moments ago): a
                # retried Generate that reached an engine would run it twice.
                "retry_policy": _unsent_retry_policy(settings, per_try_timeout=False),
                **hashing(),
            },
        },
        # CountTokens, Tokenize, ListModels: read-only, safe to retry.
        unary("inference-unary", inference, INFERENCE_CLUSTER),
        unary("embedding", f"/{settings.embedding_service}/", EMBEDDING_CLUSTER),
    ]


def _internal_connection_manager(settings: GatewaySettings) -> Config:
    return {
        "@type": _type(HCM_TYPE),
        "stat_prefix": "internal",
        "codec_type": "HTTP2",  # native gRPC only
        "stream_idle_timeout": _duration(settings.stream_idle_timeout_s),
        "request_headers_timeout": _duration(settings.request_headers_timeout_s),
        "http2_protocol_options": {"max_concurrent_streams": 1000},
        "access_log": _access_log(settings),
        **_tracing(settings),
        "route_config": {
            "name": "internal",
            "virtual_hosts": [
                {"name": "internal", "domains": ["*"], "routes": _internal_routes(settings)}
            ],
        },
        "http_filters": [_router_filter()],
    }


def _tracing(settings: GatewaySettings) -> Config:
    """OpenTelemetry tracing of each request (when a collector is set): Envoy starts a trace,
    or continues the client's `traceparent`, and sends `traceparent` upstream."""
    if settings.otlp_collector is None:
        return {}
    return {
        "tracing": {
            "random_sampling": {"value": settings.trace_sample_ratio * 100},
            "provider": {
                "name": "envoy.tracers.opentelemetry",
                "typed_config": {
                    "@type": _type("envoy.config.trace.v3.OpenTelemetryConfig"),
                    "grpc_service": {
                        "envoy_grpc": {"cluster_name": OTLP_CLUSTER},
                        "timeout": "1s",
                    },
                    "service_name": "envoy",
                },
            },
        }
    }


def _otlp_cluster(collector: Endpoint, settings: GatewaySettings) -> Config:
    """The OpenTelemetry collector's OTLP/gRPC endpoint (HTTP/2)."""
    return {
        "name": OTLP_CLUSTER,
        "type": "STATIC" if collector.is_ip else "STRICT_DNS",
        "connect_timeout": _duration(settings.connect_timeout_s),
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": _type("envoy.extensions.upstreams.http.v3.HttpProtocolOptions"),
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        },
        "load_assignment": {
            "cluster_name": OTLP_CLUSTER,
            "endpoints": [{"lb_endpoints": _lb_endpoints([collector])}],
        },
    }


def _listener(name: str, host: str, port: int, hcm: Config, tls: Config | None = None) -> Config:
    chain: Config = {
        "filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]
    }
    if tls is not None:
        chain["transport_socket"] = tls
    return {"name": name, "address": _socket_address(host, port), "filter_chains": [chain]}


def _downstream_tls(settings: GatewaySettings) -> Config | None:
    """TLS 1.2+ on the public listener, h2 (gRPC) and HTTP/1.1 by ALPN. Envoy reads the files
    at start: a renewed certificate takes a restart (a rolling one in Kubernetes)."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    certificate = {
        "certificate_chain": {"filename": str(settings.tls_cert_file.resolve())},
        "private_key": {"filename": str(settings.tls_key_file.resolve())},
    }
    return {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": _type("envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"),
            "common_tls_context": {
                "tls_params": {"tls_minimum_protocol_version": "TLSv1_2"},
                "alpn_protocols": ["h2", "http/1.1"],
                "tls_certificates": [certificate],
            },
        },
    }


# --- clusters -------------------------------------------------------------------------------


def _health_check(settings: GatewaySettings, check: Config) -> Config:
    """An active health check of an upstream cluster; `check` says how (gRPC or HTTP)."""
    return {
        "timeout": _duration(settings.health_check_timeout_s),
        "interval": _duration(settings.health_check_interval_s),
        # Envoy's default checks a cluster that has not had traffic yet only every 60 s (and
        # keeps that timer once armed): a replica dying early would stay "healthy" a minute.
        "no_traffic_interval": _duration(settings.health_check_interval_s),
        "unhealthy_threshold": 2,
        "healthy_threshold": 1,
        **check,
    }


def _lb_endpoints(endpoints: list[Endpoint]) -> list[Config]:
    return [{"endpoint": {"address": _socket_address(ep.host, ep.port)}} for ep in endpoints]


def _grpc_cluster(
    name: str,
    endpoints: list[Endpoint],
    settings: GatewaySettings,
    lb_policy: str = "LEAST_REQUEST",
) -> Config:
    """A pool of gRPC replicas: HTTP/2, least-request (or a consistent hash), active gRPC
    health checks, outlier ejection and circuit breakers. No endpoints is valid: calls then
    get UNAVAILABLE. A consistent hash (MAGLEV) only picks among healthy, non-ejected hosts:
    when a chat's replica fails its health checks or is ejected, its chats move to the others
    (and come back when it recovers)."""
    # STATIC for IP literals; hostnames (e.g. a headless service: one endpoint per pod IP) are
    # re-resolved.
    cluster_type = "STATIC" if all(ep.is_ip for ep in endpoints) else "STRICT_DNS"
    cluster: Config = {
        "name": name,
        "type": cluster_type,
        "connect_timeout": _duration(settings.connect_timeout_s),
        "lb_policy": lb_policy,
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": _type("envoy.extensions.upstreams.http.v3.HttpProtocolOptions"),
                "explicit_http_config": {
                    "http2_protocol_options": {
                        # Detects dead connections while a long stream is quiet.
                        "connection_keepalive": {"interval": "30s", "timeout": "5s"},
                    }
                },
            }
        },
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": _lb_endpoints(endpoints)}] if endpoints else [],
        },
        "health_checks": [
            _health_check(
                settings, {"grpc_health_check": {"service_name": settings.health_check_service}}
            )
        ],
        # gRPC statuses count as their HTTP equivalents: UNAVAILABLE and connect failures are
        # gateway failures (503), RESOURCE_EXHAUSTED (429, a busy replica) counts as neither.
        "outlier_detection": {
            "consecutive_5xx": 5,
            "consecutive_gateway_failure": 3,
            # Envoy enforces this one at 0% unless told: a dead replica would never be ejected.
            "enforcing_consecutive_gateway_failure": 100,
            "interval": "10s",
            "base_ejection_time": "30s",
            "max_ejection_percent": 50,
        },
        "circuit_breakers": {
            "thresholds": [
                {
                    "priority": "DEFAULT",
                    "max_connections": settings.max_upstream_requests,
                    "max_pending_requests": settings.max_upstream_requests,
                    "max_requests": settings.max_upstream_requests,
                    "max_retries": 3,
                }
            ]
        },
    }
    if lb_policy == "MAGLEV" and settings.inference_affinity_balance_factor:
        # Bounded loads: a hot replica spills new calls to the next one on the table rather
        # than queueing them behind a hash collision.
        cluster["common_lb_config"] = {
            "consistent_hashing_lb_config": {
                "hash_balance_factor": settings.inference_affinity_balance_factor
            }
        }
    if cluster_type == "STRICT_DNS":
        cluster["dns_lookup_family"] = "V4_PREFERRED"
    return cluster


def _web_cluster(settings: GatewaySettings) -> Config:
    """The UI's static servers (HTTP/1.1), health-checked on their config endpoint."""
    endpoints = settings.web_endpoints
    cluster_type = "STATIC" if all(ep.is_ip for ep in endpoints) else "STRICT_DNS"
    cluster: Config = {
        "name": WEB_CLUSTER,
        "type": cluster_type,
        "connect_timeout": _duration(settings.connect_timeout_s),
        "lb_policy": "ROUND_ROBIN",
        "load_assignment": {
            "cluster_name": WEB_CLUSTER,
            "endpoints": [{"lb_endpoints": _lb_endpoints(endpoints)}],
        },
        "health_checks": [
            _health_check(settings, {"http_health_check": {"path": WEB_HEALTH_PATH}})
        ],
        "outlier_detection": {
            "consecutive_gateway_failure": 3,
            "enforcing_consecutive_gateway_failure": 100,
            "interval": "10s",
            "base_ejection_time": "30s",
            "max_ejection_percent": 50,
        },
    }
    if cluster_type == "STRICT_DNS":
        cluster["dns_lookup_family"] = "V4_PREFERRED"
    return cluster


def _jwks_cluster(settings: GatewaySettings) -> Config:
    assert settings.jwks_fetch is not None
    parts = urlsplit(settings.jwks_fetch[0])
    host = parts.hostname or ""
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    cluster: Config = {
        "name": JWKS_CLUSTER,
        "type": "STRICT_DNS",
        "dns_lookup_family": "V4_PREFERRED",
        "connect_timeout": _duration(settings.connect_timeout_s),
        "load_assignment": {
            "cluster_name": JWKS_CLUSTER,
            "endpoints": [{"lb_endpoints": _lb_endpoints([Endpoint(host, port)])}],
        },
    }
    if tls:
        cluster["transport_socket"] = {
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": _type("envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"),
                "sni": host,
                "common_tls_context": {
                    "validation_context": {
                        "trusted_ca": {"filename": str(settings.jwks_ca_file)},
                        "match_typed_subject_alt_names": [
                            {"san_type": "DNS", "matcher": {"exact": host}}
                        ],
                    }
                },
            },
        }
    return cluster


# --- bootstrap ------------------------------------------------------------------------------


def build_config(settings: GatewaySettings) -> Config:
    """The Envoy bootstrap as plain data (yaml/json serialisable)."""
    clusters = [
        _grpc_cluster(CHAT_CLUSTER, settings.upstream_endpoints, settings),
        _grpc_cluster(
            INFERENCE_CLUSTER,
            settings.inference_endpoints,
            settings,
            "MAGLEV" if settings.inference_affinity == "chat" else "LEAST_REQUEST",
        ),
        _grpc_cluster(EMBEDDING_CLUSTER, settings.embedding_endpoints, settings),
    ]
    if settings.web_upstreams:
        clusters.append(_web_cluster(settings))
    if settings.jwks_fetch is not None:
        clusters.append(_jwks_cluster(settings))
    if settings.otlp_collector is not None:
        clusters.append(_otlp_cluster(settings.otlp_collector, settings))
    return {
        "node": {"id": "chatstack-gateway", "cluster": "chatstack"},
        "admin": {"address": _socket_address(ADMIN_HOST, settings.admin_port)},
        "static_resources": {
            "listeners": [
                _listener(
                    "public",
                    settings.listen_host,
                    settings.listen_port,
                    _http_connection_manager(settings),
                    _downstream_tls(settings),
                ),
                _listener(
                    "internal",
                    settings.internal_host,
                    settings.internal_port,
                    _internal_connection_manager(settings),
                ),
            ],
            "clusters": clusters,
        },
        "overload_manager": {
            "resource_monitors": [
                {
                    "name": "envoy.resource_monitors.global_downstream_max_connections",
                    "typed_config": {
                        "@type": _type(
                            "envoy.extensions.resource_monitors.downstream_connections.v3"
                            ".DownstreamConnectionsConfig"
                        ),
                        "max_active_downstream_connections": settings.max_downstream_connections,
                    },
                }
            ]
        },
    }


def render_yaml(settings: GatewaySettings) -> str:
    return yaml.safe_dump(build_config(settings), sort_keys=False, default_flow_style=False)


def write_config(settings: GatewaySettings, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_yaml(settings))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.envoy_config", description=__doc__)
    parser.add_argument("--out", type=Path, help="write here instead of stdout")
    args = parser.parse_args(argv)
    settings = GatewaySettings()
    if args.out:
        write_config(settings, args.out)
    else:
        sys.stdout.write(render_yaml(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())

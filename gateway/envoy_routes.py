"""Where calls go: the public listener's routes (timeouts, idle timeouts for streams, retries
only for what cannot have reached a handler, the web UI's routes) and the internal listener's."""

from __future__ import annotations

from gateway.config import GatewaySettings
from gateway.envoy_base import (
    BUFFER_FILTER,
    CHAT_CLUSTER,
    CHAT_ID_HEADER,
    EMBEDDING_CLUSTER,
    FILTER_CONFIG,
    IDEMPOTENT_METHODS,
    INFERENCE_CLUSTER,
    INTERNAL_RETRY_ON,
    REFLECTION_PREFIX,
    REST_API_PATHS,
    STREAMING_METHODS,
    TRANSCODER_FILTER,
    UNSENT_RETRY_ON,
    WEB_CLUSTER,
    Config,
    duration,
    type_url,
)
from gateway.envoy_openai import openai_route

IMPORT_PATH = "/chats:import"


def unsent_retry_policy(settings: GatewaySettings, per_try_timeout: bool) -> Config:
    policy = retry_policy(settings, UNSENT_RETRY_ON)
    if not per_try_timeout:
        del policy["per_try_timeout"]
    return policy


def retry_policy(
    settings: GatewaySettings, retry_on: str = "unavailable,reset,connect-failure"
) -> Config:
    return {
        # Only failures before any response: connection refused/reset, or grpc UNAVAILABLE.
        "retry_on": retry_on,
        "num_retries": settings.num_retries,
        "per_try_timeout": duration(settings.route_timeout_s),
        "retry_back_off": {"base_interval": "0.05s", "max_interval": "0.5s"},
        # Prefer another replica for the retry.
        "retry_host_predicate": [
            {
                "name": "envoy.retry_host_predicates.previous_hosts",
                "typed_config": {
                    "@type": type_url(
                        "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"
                    )
                },
            }
        ],
        "host_selection_retry_max_attempts": 3,
    }


def routes(settings: GatewaySettings) -> list[Config]:
    """The public listener's routes, most specific first: streams, idempotent methods,
    reflection, the chat service's other methods, unknown gRPC, then the web UI's (if any)."""
    prefix = f"/{settings.chat_service}/"
    # The buffer filter holds a request until its end: a bidi stream kept open (grpcurl's
    # reflection, a v1 reflection call) would wait forever for it. Off where streams go. One
    # object for both routes that use it: the YAML dump writes it once, as an anchor.
    unbuffered: Config = {BUFFER_FILTER: {"@type": FILTER_CONFIG, "disabled": True}}
    routes: list[Config] = [
        import_route(settings),
        *(streaming_route(settings, prefix, method) for method in STREAMING_METHODS),
        *(idempotent_route(settings, prefix, method) for method in IDEMPOTENT_METHODS),
        reflection_route(settings, unbuffered),
        chat_other_route(settings, prefix),
        *([openai_route(settings)] if settings.openai_upstreams else []),
        *rest_routes(settings),
        grpc_unknown_route(unbuffered),
    ]
    if settings.web_upstreams:
        routes.extend(web_routes(settings))
    return routes


def import_route(settings: GatewaySettings) -> Config:
    """POST /chats:import as it arrives (before the transcoder turns it into ImportChats): its
    body is a whole file, allowed up to max_transfer_bytes instead of max_request_bytes. Not
    retried: an import is idempotent, but large."""
    buffer = {
        "@type": type_url("envoy.extensions.filters.http.buffer.v3.BufferPerRoute"),
        "buffer": {"max_request_bytes": settings.max_transfer_bytes},
    }
    return {
        "name": "chats-import",
        "match": {"path": IMPORT_PATH},
        "route": {"cluster": CHAT_CLUSTER, "timeout": duration(settings.route_timeout_s)},
        "typed_per_filter_config": {BUFFER_FILTER: buffer},
    }


def streaming_route(settings: GatewaySettings, prefix: str, method: str) -> Config:
    """A server-streaming method (a completion): bounded by silence and a hard cap, not by
    the unary timeout."""
    stream_cap = duration(settings.max_stream_duration_s)
    return {
        "name": method,
        "match": {"path": prefix + method},
        "route": {
            "cluster": CHAT_CLUSTER,
            "timeout": "0s",  # a whole generation may exceed any unary timeout
            "idle_timeout": duration(settings.completion_idle_timeout_s),
            "max_stream_duration": {
                "max_stream_duration": stream_cap,
                # Native gRPC clients' deadlines apply, capped at the same limit.
                "grpc_timeout_header_max": stream_cap,
            },
            # Never after a reset (a retried turn could generate twice); no per-try
            # timeout (it would cut the stream).
            "retry_policy": unsent_retry_policy(settings, per_try_timeout=False),
        },
    }


def idempotent_route(settings: GatewaySettings, prefix: str, method: str) -> Config:
    """A read-only method: safe to retry after any failure before a response."""
    unary_timeout = duration(settings.route_timeout_s)
    return {
        "name": method,
        "match": {"path": prefix + method},
        "route": {
            "cluster": CHAT_CLUSTER,
            "timeout": unary_timeout,
            "max_stream_duration": {"grpc_timeout_header_max": unary_timeout},
            "retry_policy": retry_policy(settings),
        },
    }


def reflection_route(settings: GatewaySettings, unbuffered: Config) -> Config:
    """Reflection, answered by the chat service (which lists only what the gateway routes): a
    stream of small requests, as long as the client browses."""
    return {
        "name": "reflection",
        "match": {"prefix": REFLECTION_PREFIX},
        "route": {
            "cluster": CHAT_CLUSTER,
            "timeout": "0s",
            "idle_timeout": duration(settings.route_timeout_s),
            "retry_policy": unsent_retry_policy(settings, per_try_timeout=False),
        },
        "typed_per_filter_config": unbuffered,
    }


def chat_other_route(settings: GatewaySettings, prefix: str) -> Config:
    """CreateChat, SubmitCompletion and any method added later: unary timeout, retried only
    when the call cannot have been sent (not idempotent)."""
    unary_timeout = duration(settings.route_timeout_s)
    return {
        "name": "chat-other",
        "match": {"prefix": prefix},
        "route": {
            "cluster": CHAT_CLUSTER,
            "timeout": unary_timeout,
            "max_stream_duration": {"grpc_timeout_header_max": unary_timeout},
            "retry_policy": unsent_retry_policy(settings, per_try_timeout=True),
        },
    }


def grpc_unknown_route(unbuffered: Config) -> Config:
    """Any other gRPC method: 404, which Envoy answers as UNIMPLEMENTED, at once (before the
    buffer, which would wait for the end of a stream)."""
    return {
        "name": "grpc-unknown",
        "match": {"prefix": "/", "grpc": {}},
        "direct_response": {"status": 404},
        "typed_per_filter_config": unbuffered,
    }


def rest_routes(settings: GatewaySettings) -> list[Config]:
    """The REST paths as they arrive, before the transcoder rewrites them to the gRPC paths
    above (and when it rejects them). The filters before it see these routes: without one, the
    per-user rate limit found no user in a request whose user the API-key check had set."""
    unary_timeout = duration(settings.route_timeout_s)
    return [
        {
            "name": f"rest-{index}",
            "match": match,
            "route": {"cluster": CHAT_CLUSTER, "timeout": unary_timeout},
        }
        for index, match in enumerate(REST_API_PATHS)
    ]


def web_routes(settings: GatewaySettings) -> list[Config]:
    """After the API's routes: everything else to the UI, with the transcoder and buffer
    off."""
    unary_timeout = duration(settings.route_timeout_s)
    disabled = {"@type": FILTER_CONFIG, "disabled": True}
    return [
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


def internal_routes(settings: GatewaySettings) -> list[Config]:
    inference = f"/{settings.inference_service}/"
    unary_timeout = duration(settings.route_timeout_s)
    stream_cap = duration(settings.max_stream_duration_s)

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
            "retry_policy": retry_policy(settings, INTERNAL_RETRY_ON),
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
                "idle_timeout": duration(settings.generate_idle_timeout_s),
                "max_stream_duration": {
                    "max_stream_duration": stream_cap,
                    "grpc_timeout_header_max": stream_cap,
                },
                # Retried only if it cannot have been sent (a replica killed moments ago): a
                # retried Generate that reached an engine would run it twice.
                "retry_policy": unsent_retry_policy(settings, per_try_timeout=False),
                **hashing(),
            },
        },
        # CountTokens, Tokenize, ListModels: read-only, safe to retry.
        unary("inference-unary", inference, INFERENCE_CLUSTER),
        unary("embedding", f"/{settings.embedding_service}/", EMBEDDING_CLUSTER),
    ]

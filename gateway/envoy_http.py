"""The HTTP connection managers of the two listeners: the public one's filter chain (see
envoy_config.py for the order and why), access logs, JSON error bodies for local replies,
tracing, and TLS on the public listener."""

from __future__ import annotations

import base64

from gateway.config import GatewaySettings
from gateway.descriptors import transcoder_descriptor_set
from gateway.envoy_api_keys import api_key_filters
from gateway.envoy_auth import jwt_provider, jwt_rules, user_rate_limit
from gateway.envoy_base import (
    BUFFER_FILTER,
    CHAT_ID_HEADER,
    HCM_TYPE,
    HEALTH_PATH,
    JWT_PROVIDER,
    LOCAL_REPLY_CODES,
    ORIGINAL_PATH_HEADER,
    OTLP_CLUSTER,
    TRANSCODER_FILTER,
    UNKNOWN_CODE,
    Config,
    duration,
    socket_address,
    status_filter,
    type_url,
)
from gateway.envoy_openai import openai_local_reply_mappers
from gateway.envoy_routes import internal_routes, routes


def access_log(settings: GatewaySettings) -> list[Config]:
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
                    "@type": type_url("envoy.extensions.access_loggers.stream.v3.StdoutAccessLog"),
                    "log_format": log_format,
                },
            }
        ]
    return [
        {
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": type_url("envoy.extensions.access_loggers.file.v3.FileAccessLog"),
                "path": settings.access_log_path,
                "log_format": log_format,
            },
        }
    ]


def local_reply_config(settings: GatewaySettings) -> Config:
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

    mappers = openai_local_reply_mappers() if settings.openai_upstreams else []
    mappers += [mapper(status_filter("EQ", status), code) for status, code in LOCAL_REPLY_CODES]
    mappers.append(mapper(status_filter("GE", 400), UNKNOWN_CODE))
    return {"mappers": mappers}


def http_filters(settings: GatewaySettings) -> list[Config]:
    return [
        {
            "name": "envoy.filters.http.health_check",
            "typed_config": {
                "@type": type_url("envoy.extensions.filters.http.health_check.v3.HealthCheck"),
                # Answered by Envoy itself: 200, or 503 while draining (healthcheck/fail).
                "pass_through_mode": False,
                "headers": [{"name": ":path", "string_match": {"exact": HEALTH_PATH}}],
            },
        },
        {
            "name": "envoy.filters.http.jwt_authn",
            "typed_config": {
                "@type": type_url("envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication"),
                "providers": {JWT_PROVIDER: jwt_provider(settings)},
                "rules": jwt_rules(settings),
            },
        },
        *api_key_filters(settings),
        *user_rate_limit(settings),
        {
            "name": BUFFER_FILTER,
            "typed_config": {
                "@type": type_url("envoy.extensions.filters.http.buffer.v3.Buffer"),
                "max_request_bytes": settings.max_request_bytes,
            },
        },
        transcoder_filter(settings),
        router_filter(),
    ]


def transcoder_filter(settings: GatewaySettings) -> Config:
    """REST + JSON (and SSE for the streaming methods) to the chat service's gRPC."""
    return {
        "name": TRANSCODER_FILTER,
        "typed_config": {
            "@type": type_url(
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
            # Past the stream buffer (1 MiB) a transcoded body would be refused: an export
            # (HttpBody) is as large as the chats; an import as its file (its route's
            # buffer limit, envoy_routes.import_route, lets it through).
            "max_request_body_size": settings.max_transfer_bytes,
            "max_response_body_size": settings.max_transfer_bytes,
            # Unknown paths and query parameters are the client's error (4xx) rather than
            # being passed to the upstream as opaque gRPC calls.
            "request_validation_options": {
                "reject_unknown_method": True,
                "reject_unknown_query_parameters": True,
            },
        },
    }


def router_filter() -> Config:
    return {
        "name": "envoy.filters.http.router",
        "typed_config": {
            "@type": type_url("envoy.extensions.filters.http.router.v3.Router"),
            "suppress_envoy_headers": True,
        },
    }


def http_connection_manager(settings: GatewaySettings) -> Config:
    return {
        "@type": type_url(HCM_TYPE),
        "stat_prefix": "ingress",
        "codec_type": "AUTO",  # HTTP/1.1 for REST/SSE, h2c for gRPC
        "use_remote_address": True,
        "normalize_path": True,
        "merge_slashes": True,
        # An escaped slash (%2F) has no business in our paths: a 400 with the JSON error body,
        # not a redirect with an empty body that a client then follows to another route.
        "path_with_escaped_slashes_action": "REJECT_REQUEST",
        "stream_idle_timeout": duration(settings.stream_idle_timeout_s),
        "request_headers_timeout": duration(settings.request_headers_timeout_s),
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
                    "@type": type_url(
                        "envoy.extensions.http.early_header_mutation.header_mutation.v3"
                        ".HeaderMutation"
                    ),
                    "mutations": [{"remove": settings.user_id_header}],
                },
            }
        ],
        "access_log": access_log(settings),
        **tracing(settings),
        "local_reply_config": local_reply_config(settings),
        "route_config": {
            "name": "chatstack",
            "virtual_hosts": [{"name": "chatstack", "domains": ["*"], "routes": routes(settings)}],
        },
        "http_filters": http_filters(settings),
    }


def internal_connection_manager(settings: GatewaySettings) -> Config:
    return {
        "@type": type_url(HCM_TYPE),
        "stat_prefix": "internal",
        "codec_type": "HTTP2",  # native gRPC only
        "stream_idle_timeout": duration(settings.stream_idle_timeout_s),
        "request_headers_timeout": duration(settings.request_headers_timeout_s),
        "http2_protocol_options": {"max_concurrent_streams": 1000},
        "access_log": access_log(settings),
        **tracing(settings),
        "route_config": {
            "name": "internal",
            "virtual_hosts": [
                {"name": "internal", "domains": ["*"], "routes": internal_routes(settings)}
            ],
        },
        "http_filters": [router_filter()],
    }


def tracing(settings: GatewaySettings) -> Config:
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
                    "@type": type_url("envoy.config.trace.v3.OpenTelemetryConfig"),
                    "grpc_service": {
                        "envoy_grpc": {"cluster_name": OTLP_CLUSTER},
                        "timeout": "1s",
                    },
                    "service_name": "envoy",
                },
            },
        }
    }


def listener(name: str, host: str, port: int, hcm: Config, tls: Config | None = None) -> Config:
    chain: Config = {
        "filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]
    }
    if tls is not None:
        chain["transport_socket"] = tls
    return {"name": name, "address": socket_address(host, port), "filter_chains": [chain]}


def downstream_tls(settings: GatewaySettings) -> Config | None:
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
            "@type": type_url("envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"),
            "common_tls_context": {
                "tls_params": {"tls_minimum_protocol_version": "TLSv1_2"},
                "alpn_protocols": ["h2", "http/1.1"],
                "tls_certificates": [certificate],
            },
        },
    }

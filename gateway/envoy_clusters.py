"""The upstream clusters: the chat, inference and embedding pools (HTTP/2, gRPC health checks,
outlier ejection, circuit breakers, least-request or chat-affine Maglev), the web UI, the JWKS
source and the OTLP collector."""

from __future__ import annotations

from urllib.parse import urlsplit

from gateway.config import Endpoint, GatewaySettings
from gateway.envoy_base import (
    JWKS_CLUSTER,
    OTLP_CLUSTER,
    WEB_CLUSTER,
    WEB_HEALTH_PATH,
    Config,
    duration,
    socket_address,
    type_url,
)


def health_check(settings: GatewaySettings, check: Config) -> Config:
    """An active health check of an upstream cluster; `check` says how (gRPC or HTTP)."""
    return {
        "timeout": duration(settings.health_check_timeout_s),
        "interval": duration(settings.health_check_interval_s),
        # Envoy's default checks a cluster that has not had traffic yet only every 60 s (and
        # keeps that timer once armed): a replica dying early would stay "healthy" a minute.
        "no_traffic_interval": duration(settings.health_check_interval_s),
        "unhealthy_threshold": 2,
        "healthy_threshold": 1,
        **check,
    }


def lb_endpoints(endpoints: list[Endpoint]) -> list[Config]:
    return [{"endpoint": {"address": socket_address(ep.host, ep.port)}} for ep in endpoints]


def discovery_type(endpoints: list[Endpoint]) -> str:
    """STATIC for IP literals; hostnames (e.g. a headless service: one endpoint per pod IP) are
    re-resolved."""
    return "STATIC" if all(ep.is_ip for ep in endpoints) else "STRICT_DNS"


def grpc_cluster(
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
    cluster_type = discovery_type(endpoints)
    cluster: Config = {
        "name": name,
        "type": cluster_type,
        "connect_timeout": duration(settings.connect_timeout_s),
        "lb_policy": lb_policy,
        "typed_extension_protocol_options": http2_protocol_options(),
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": lb_endpoints(endpoints)}] if endpoints else [],
        },
        "health_checks": [
            health_check(
                settings, {"grpc_health_check": {"service_name": settings.health_check_service}}
            )
        ],
        "outlier_detection": grpc_outlier_detection(),
        "circuit_breakers": circuit_breakers(settings),
    }
    if lb_policy == "MAGLEV" and settings.inference_affinity_balance_factor:
        cluster["common_lb_config"] = bounded_loads(settings)
    if cluster_type == "STRICT_DNS":
        cluster["dns_lookup_family"] = "V4_PREFERRED"
    return cluster


def http2_protocol_options() -> Config:
    """gRPC needs HTTP/2 upstream; keepalive pings detect dead connections while a long stream
    is quiet."""
    return {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": type_url("envoy.extensions.upstreams.http.v3.HttpProtocolOptions"),
            "explicit_http_config": {
                "http2_protocol_options": {
                    "connection_keepalive": {"interval": "30s", "timeout": "5s"},
                }
            },
        }
    }


def grpc_outlier_detection() -> Config:
    """gRPC statuses count as their HTTP equivalents: UNAVAILABLE and connect failures are
    gateway failures (503), RESOURCE_EXHAUSTED (429, a busy replica) counts as neither."""
    return {
        "consecutive_5xx": 5,
        "consecutive_gateway_failure": 3,
        # Envoy enforces this one at 0% unless told: a dead replica would never be ejected.
        "enforcing_consecutive_gateway_failure": 100,
        "interval": "10s",
        "base_ejection_time": "30s",
        "max_ejection_percent": 50,
    }


def circuit_breakers(settings: GatewaySettings) -> Config:
    """max_upstream_requests caps connections, pending and active requests alike: past it
    Envoy fails a call at once (503 overflow) rather than queueing more."""
    return {
        "thresholds": [
            {
                "priority": "DEFAULT",
                "max_connections": settings.max_upstream_requests,
                "max_pending_requests": settings.max_upstream_requests,
                "max_requests": settings.max_upstream_requests,
                "max_retries": 3,
            }
        ]
    }


def bounded_loads(settings: GatewaySettings) -> Config:
    """Consistent hashing with bounded loads: a hot replica spills new calls to the next one on
    the table rather than queueing them behind a hash collision."""
    return {
        "consistent_hashing_lb_config": {
            "hash_balance_factor": settings.inference_affinity_balance_factor
        }
    }


def http_cluster(
    settings: GatewaySettings,
    name: str,
    endpoints: list[Endpoint],
    health_path: str,
    **extra: Config | str,
) -> Config:
    """Plain HTTP/1.1 upstreams (the UI's static servers, the chat replicas' OpenAI ports),
    health-checked on `health_path`; `extra`: more cluster fields."""
    cluster_type = discovery_type(endpoints)
    cluster: Config = {
        "name": name,
        "type": cluster_type,
        "connect_timeout": duration(settings.connect_timeout_s),
        "lb_policy": "ROUND_ROBIN",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": lb_endpoints(endpoints)}],
        },
        "health_checks": [health_check(settings, {"http_health_check": {"path": health_path}})],
        **extra,
    }
    if cluster_type == "STRICT_DNS":
        cluster["dns_lookup_family"] = "V4_PREFERRED"
    return cluster


def web_cluster(settings: GatewaySettings) -> Config:
    """The UI's static servers, health-checked on their config endpoint."""
    outliers = {
        "consecutive_gateway_failure": 3,
        "enforcing_consecutive_gateway_failure": 100,
        "interval": "10s",
        "base_ejection_time": "30s",
        "max_ejection_percent": 50,
    }
    return http_cluster(
        settings, WEB_CLUSTER, settings.web_endpoints, WEB_HEALTH_PATH, outlier_detection=outliers
    )


def jwks_cluster(settings: GatewaySettings) -> Config:
    assert settings.jwks_fetch is not None
    parts = urlsplit(settings.jwks_fetch[0])
    host = parts.hostname or ""
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    cluster: Config = {
        "name": JWKS_CLUSTER,
        "type": "STRICT_DNS",
        "dns_lookup_family": "V4_PREFERRED",
        "connect_timeout": duration(settings.connect_timeout_s),
        "load_assignment": {
            "cluster_name": JWKS_CLUSTER,
            "endpoints": [{"lb_endpoints": lb_endpoints([Endpoint(host, port)])}],
        },
    }
    if tls:
        cluster["transport_socket"] = {
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": type_url("envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"),
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


def otlp_cluster(collector: Endpoint, settings: GatewaySettings) -> Config:
    """The OpenTelemetry collector's OTLP/gRPC endpoint (HTTP/2)."""
    return {
        "name": OTLP_CLUSTER,
        "type": "STATIC" if collector.is_ip else "STRICT_DNS",
        "connect_timeout": duration(settings.connect_timeout_s),
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": type_url("envoy.extensions.upstreams.http.v3.HttpProtocolOptions"),
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        },
        "load_assignment": {
            "cluster_name": OTLP_CLUSTER,
            "endpoints": [{"lb_endpoints": lb_endpoints([collector])}],
        },
    }

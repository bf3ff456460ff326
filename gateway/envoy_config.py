"""Builds the Envoy bootstrap from GatewaySettings.

One listener serves REST (grpc_json_transcoder, completions as SSE) and native gRPC for the chat
service. Filter order matters:

1. early header mutation (before routing and every filter): drop any client-supplied user-id
   header (the chat service verifies the forwarded token itself too: docs/security.md);
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

The parts: envoy_base.py (names, helpers), envoy_auth.py (JWT, per-user limit),
envoy_routes.py, envoy_http.py (connection managers, filters, TLS), envoy_clusters.py.
`python -m gateway.envoy_config [--out FILE]` prints or writes the YAML.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from gateway.config import GatewaySettings
from gateway.envoy_base import (
    ADMIN_HOST,
    CHAT_CLUSTER,
    EMBEDDING_CLUSTER,
    INFERENCE_CLUSTER,
    Config,
    socket_address,
    type_url,
)
from gateway.envoy_clusters import grpc_cluster, jwks_cluster, otlp_cluster, web_cluster
from gateway.envoy_http import (
    downstream_tls,
    http_connection_manager,
    internal_connection_manager,
    listener,
)
from gateway.envoy_openai import openai_cluster


def build_config(settings: GatewaySettings) -> Config:
    """The Envoy bootstrap as plain data (yaml/json serialisable)."""
    clusters = [
        grpc_cluster(CHAT_CLUSTER, settings.upstream_endpoints, settings),
        grpc_cluster(
            INFERENCE_CLUSTER,
            settings.inference_endpoints,
            settings,
            "MAGLEV" if settings.inference_affinity == "chat" else "LEAST_REQUEST",
        ),
        grpc_cluster(EMBEDDING_CLUSTER, settings.embedding_endpoints, settings),
    ]
    if settings.web_upstreams:
        clusters.append(web_cluster(settings))
    if settings.openai_upstreams:
        clusters.append(openai_cluster(settings))
    if settings.jwks_fetch is not None:
        clusters.append(jwks_cluster(settings))
    if settings.otlp_collector is not None:
        clusters.append(otlp_cluster(settings.otlp_collector, settings))
    return {
        "node": {"id": "chatstack-gateway", "cluster": "chatstack"},
        "admin": {"address": socket_address(ADMIN_HOST, settings.admin_port)},
        "static_resources": {
            "listeners": [
                listener(
                    "public",
                    settings.listen_host,
                    settings.listen_port,
                    http_connection_manager(settings),
                    downstream_tls(settings),
                ),
                listener(
                    "internal",
                    settings.internal_host,
                    settings.internal_port,
                    internal_connection_manager(settings),
                ),
            ],
            "clusters": clusters,
        },
        "overload_manager": {
            "resource_monitors": [
                {
                    "name": "envoy.resource_monitors.global_downstream_max_connections",
                    "typed_config": {
                        "@type": type_url(
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

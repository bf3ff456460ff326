"""Renders the Envoy config of the Helm chart: helm/chatstack/files/envoy.yaml.

The gateway's config generator (gateway/envoy_config.py) stays the one source of truth: this
script runs it with Kubernetes settings and turns the few per-release values into Helm
template expressions, which the chart's ConfigMap fills in with `tpl`:

- the upstream hosts: the headless Services of chat, inference (CPU or GPU profile) and
  embedding, `<release fullname>-<component>.<namespace>.svc.<clusterDomain>`;
- the JWT issuer and audiences (values `envoy.jwt.issuer`, `envoy.jwt.audiences`);
- where the JWKS comes from: a remote IdP URI (`envoy.jwt.jwksUri`, https) or a JWKS file
  mounted from a Secret (`envoy.jwt.existingSecret`), which a sidecar (gateway.jwks_server)
  serves to Envoy on loopback, so that a rotated Secret is used without a restart. Either way
  Envoy fetches the keys (`remote_jwks`) through a `jwks` cluster. The generator renders both
  variants here; the file carries both, chosen by an `if` on `envoy.jwt.jwksUri`;
- TLS on the public listener (`envoy.tls.existingSecret`, a kubernetes.io/tls Secret mounted
  at /etc/chatstack/tls): the generator's transport_socket under an `if`, checked to be the
  only difference TLS makes;
- the web UI (`web.enabled`): the generator's `web_upstreams` pointed at the web pods (headless
  Service, `web.port`). With a UI it adds three pieces: the JWT rules (API paths and gRPC need
  a token, the rest does not), the routes after the API's (REST paths, unknown gRPC, then
  everything else to the `web` cluster) and the `web` cluster. The generator renders the config
  with and without the UI; the file carries those pieces under an `if` on `web.enabled` (an
  `else` with the token-for-everything rule), and the rendering fails if the two configs
  differ anywhere else. Two whole variants would double the file (the transcoder's descriptor
  is inlined) for three small differences;
- the OpenAI-compatible API (`openai.enabled`): the generator's `openai_upstreams` pointed at the
  chat pods' HTTP port (the chat Service's host, `chat.openaiPort`). It adds four pieces: the
  `/v1/` route (before unknown gRPC), the `openai` cluster, the local-reply mappers that give
  Envoy's refusals on /v1/ OpenAI's error shape and, with a web UI, the JWT rule for /v1/. The
  file carries them under an `if` on `openai.enabled`, and the rendering fails if the configs
  with and without the API differ anywhere else (in any of the web and JWKS variants).

Each of those values is rendered with a unique placeholder, and the placeholders are replaced
by template text after the YAML is dumped, so everything else (filters, routes, timeouts,
retries, health checks, the inlined transcoder descriptor) is the generator's output verbatim.
Gateway knobs without a chart value (timeouts, limits, retries) come from the environment as
usual: `CHATSTACK_GATEWAY_ROUTE_TIMEOUT_S=60 scripts/render_envoy_for_helm.sh`.

One addition the chart needs and the generator has no reason to know: Envoy's admin interface
is bound to loopback, so a `metrics` listener on METRICS_PORT exposes only its
/stats/prometheus to Prometheus (the ServiceMonitor scrapes it).

How the web UI's, the OpenAI API's and the JWKS source's pieces are found and cut out (with
the checks that nothing else differs): helm_envoy_pieces.py.

`kubernetes_config(settings)` is the same config as plain data for concrete settings: the chart
tests compare `helm template` output against it.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path
from typing import Any

from gateway.config import GatewaySettings
from gateway.envoy_base import ADMIN_HOST, JWKS_CLUSTER
from gateway.envoy_config import build_config
from scripts.helm_envoy_pieces import (
    AUDIENCES,
    JWKS_CLUSTER_ITEM,
    JWKS_SOURCE,
    OPENAI_TOKENS,
    WEB_CLUSTER_ITEM,
    WEB_JWT_RULES,
    WEB_ROUTES,
    JwksPieces,
    OpenAiPieces,
    WebPieces,
    split_jwks,
    split_openai,
    split_web,
)

# PUBLIC_LISTENER: re-exported for the chart tests.
from scripts.render_envoy_for_helm_tools import PUBLIC_LISTENER as PUBLIC_LISTENER
from scripts.render_envoy_for_helm_tools import (
    Config,
    dump,
    if_block,
    public_chain,
    split_tls,
    swap,
    swap_line,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = PROJECT_ROOT / "helm" / "chatstack" / "files" / "envoy.yaml"

# Container ports, fixed by the chart (the Services map their own ports onto them).
LISTEN_PORT = 8080
ADMIN_PORT = 9901
INTERNAL_PORT = 50050
METRICS_PORT = 9902
CHAT_PORT = 50051
INFERENCE_PORT = 50052
EMBEDDING_PORT = 50053
# Where the chart mounts the JWKS Secret (key jwks.json) when no jwksUri is set, and the
# loopback port its sidecar serves it on.
JWKS_DIR = Path("/etc/chatstack/jwt")
JWKS_SIDECAR = "127.0.0.1:8089"
# Where the chart mounts the public listener's TLS Secret (kubernetes.io/tls keys).
TLS_DIR = Path("/etc/chatstack/tls")
METRICS_PATH = "/stats/prometheus"
ADMIN_CLUSTER = "envoy_admin"

# Placeholders: values no real setting has, each replaced by one template expression.
_CHAT_HOST = "chat.helm-placeholder.invalid"
_INFERENCE_HOST = "inference.helm-placeholder.invalid"
_EMBEDDING_HOST = "embedding.helm-placeholder.invalid"
_WEB_HOST = "web.helm-placeholder.invalid"
_WEB_PORT = 65001
_OPENAI_PORT = 65002  # on the chat Service's host (_CHAT_HOST)
_JWKS_HOST = "jwks.helm-placeholder.invalid"
_JWKS_PORT = 65000
_JWKS_URI = f"https://{_JWKS_HOST}:{_JWKS_PORT}/helm-placeholder-path"
_ISSUER = "__HELM_JWT_ISSUER__"
# The audiences' placeholder and those the cut-out pieces leave are helm_envoy_pieces.py's.

_TLS_SOCKET = "__HELM_TLS_SOCKET__"

_IF_REMOTE = "{{- if .Values.envoy.jwt.jwksUri }}"
_IF_TLS = "{{- if .Values.envoy.tls.existingSecret }}"
_IF_WEB = "{{- if .Values.web.enabled }}"
_IF_OPENAI = "{{- if .Values.openai.enabled }}"
# Replacements in the whole file (plain scalars in the dump, so a textual swap is exact).
_EXPRESSIONS = {
    _CHAT_HOST: '{{ include "chatstack.serviceHost" (list . "chat") }}',
    _INFERENCE_HOST: '{{ include "chatstack.inference.serviceHost" . }}',
    _EMBEDDING_HOST: '{{ include "chatstack.serviceHost" (list . "embedding") }}',
    _WEB_HOST: '{{ include "chatstack.serviceHost" (list . "web") }}',
    f"port_value: {_WEB_PORT}": "port_value: {{ .Values.web.port }}",
    f"port_value: {_OPENAI_PORT}": "port_value: {{ .Values.chat.openaiPort }}",
    _ISSUER: "{{ .Values.envoy.jwt.issuer | toJson }}",
    AUDIENCES: "{{ .Values.envoy.jwt.audiences | toJson }}",
}
# Replacements inside the remote-JWKS pieces only.
_JWKS_EXPRESSIONS = {
    _JWKS_URI: "{{ .Values.envoy.jwt.jwksUri | toJson }}",
    _JWKS_HOST: '{{ include "chatstack.envoy.jwksHost" . }}',
    f"port_value: {_JWKS_PORT}": 'port_value: {{ include "chatstack.envoy.jwksPort" . }}',
}
HEADER = """\
# GENERATED by scripts/render_envoy_for_helm.sh from gateway/envoy_config.py: do not edit.
# A Helm template (rendered with `tpl` by templates/envoy-configmap.yaml): the upstream hosts,
# the JWT issuer/audiences, the JWKS source, the web UI's route and the OpenAI API's come from the
# release's values.
"""


def kubernetes_settings(**overrides: Any) -> GatewaySettings:
    """GatewaySettings for a pod: every listener on the pod address, the chart's ports and
    paths; `overrides` (upstreams, JWT) win, other knobs come from CHATSTACK_GATEWAY_*."""
    values: dict[str, Any] = {
        "listen_host": "0.0.0.0",
        "listen_port": LISTEN_PORT,
        "admin_port": ADMIN_PORT,
        "internal_host": "0.0.0.0",
        "internal_port": INTERNAL_PORT,
        "keys_dir": JWKS_DIR,
        "jwks_file_server": JWKS_SIDECAR,  # used where no jwks_uri is set
        "access_log_path": "/dev/stdout",
    }
    values.update(overrides)
    return GatewaySettings(**values)


def _metrics_listener() -> Config:
    """0.0.0.0:METRICS_PORT serving only the admin interface's /stats/prometheus."""
    router = {
        "name": "envoy.filters.http.router",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
        },
    }
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager"
        ".v3.HttpConnectionManager",
        "stat_prefix": "metrics",
        "codec_type": "AUTO",
        "route_config": {
            "name": "metrics",
            "virtual_hosts": [
                {
                    "name": "metrics",
                    "domains": ["*"],
                    "routes": [
                        {"match": {"path": METRICS_PATH}, "route": {"cluster": ADMIN_CLUSTER}}
                    ],
                }
            ],
        },
        "http_filters": [router],
    }
    return {
        "name": "metrics",
        "address": {"socket_address": {"address": "0.0.0.0", "port_value": METRICS_PORT}},
        "filter_chains": [
            {"filters": [{"name": "envoy.filters.network.http_connection_manager",
                          "typed_config": hcm}]}
        ],
    }  # fmt: skip


def _admin_cluster(settings: GatewaySettings) -> Config:
    address = {"socket_address": {"address": ADMIN_HOST, "port_value": settings.admin_port}}
    return {
        "name": ADMIN_CLUSTER,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": ADMIN_CLUSTER,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": address}}]}],
        },
    }


def kubernetes_config(settings: GatewaySettings) -> Config:
    """The generator's config plus the metrics listener (and its admin cluster)."""
    config = build_config(settings)
    resources = config["static_resources"]
    resources["listeners"].append(_metrics_listener())
    clusters = resources["clusters"]
    # Before the jwks cluster, if any: the chart's file keeps that one last.
    at = next((i for i, c in enumerate(clusters) if c["name"] == JWKS_CLUSTER), len(clusters))
    clusters.insert(at, _admin_cluster(settings))
    return config


def _placeholder_config(**overrides: Any) -> Config:
    """The chart's config with placeholders for the hosts and JWT values (and `overrides`)."""
    return kubernetes_config(
        kubernetes_settings(
            chat_upstreams=[f"{_CHAT_HOST}:{CHAT_PORT}"],
            inference_upstreams=[f"{_INFERENCE_HOST}:{INFERENCE_PORT}"],
            embedding_upstreams=[f"{_EMBEDDING_HOST}:{EMBEDDING_PORT}"],
            jwt_issuer=_ISSUER,
            jwt_audiences=[AUDIENCES],
            **overrides,
        )
    )


def render_chart_template() -> str:
    """The chart's files/envoy.yaml (a Helm template)."""
    web = {"web_upstreams": [f"{_WEB_HOST}:{_WEB_PORT}"]}
    # The chat Service's host (like chat_upstreams), on the chat pods' OpenAI API port.
    openai = {"openai_upstreams": [f"{_CHAT_HOST}:{_OPENAI_PORT}"]}
    local = _placeholder_config(**web, **openai)
    tls_files = {"tls_cert_file": TLS_DIR / "tls.crt", "tls_key_file": TLS_DIR / "tls.key"}
    tls_socket = split_tls(_placeholder_config(**web, **openai, **tls_files), local)
    remote = _placeholder_config(**web, **openai, jwks_uri=_JWKS_URI)
    without_web = _placeholder_config(**openai)
    without_web_remote = _placeholder_config(**openai, jwks_uri=_JWKS_URI)

    # The OpenAI API's pieces, under `if openai.enabled`: the same in every web and JWKS variant
    # but for the JWT rule, which only a web UI needs (without one every path needs a token).
    openai_pieces = split_openai(local, _placeholder_config(**web))
    for config, variant in (
        (remote, {**web, "jwks_uri": _JWKS_URI}),
        (without_web, {}),
        (without_web_remote, {"jwks_uri": _JWKS_URI}),
    ):
        pieces = split_openai(config, _placeholder_config(**variant))
        expected = (
            openai_pieces if variant.get("web_upstreams") else openai_pieces._replace(jwt_rules=[])
        )
        if pieces != expected:
            raise AssertionError("the OpenAI API's pieces depend on the web UI or the JWKS source")

    for config in (local, remote, without_web, without_web_remote):
        public_chain(config)[_TLS_SOCKET] = None  # after the filters, where the generator puts it

    # The web UI's pieces, under `if web.enabled` (the same in both JWKS variants).
    web_pieces = split_web(local, without_web)
    if split_web(remote, without_web_remote) != web_pieces:
        raise AssertionError("the web UI's pieces depend on the JWKS source")
    # The two JWKS variants differ only in where the keys are fetched from and the jwks cluster.
    jwks_pieces = split_jwks(local, remote)

    text = _swap_jwks(dump(local), jwks_pieces)
    text = _swap_web(text, web_pieces)
    text = _swap_openai(text, openai_pieces)
    text = swap_line(
        text, _TLS_SOCKET, lambda n: if_block(_IF_TLS, n, dump(tls_socket, aliases=False))
    )
    text = swap(text, _EXPRESSIONS)
    if "helm-placeholder" in text or "__HELM_" in text:
        raise AssertionError("a placeholder survived the rendering")
    return HEADER + text


def _swap_jwks(text: str, jwks: JwksPieces) -> str:
    """Both JWKS variants' source and cluster, under `if envoy.jwt.jwksUri`."""
    remote_source = swap(dump(jwks.remote_source), {_JWKS_URI: _JWKS_EXPRESSIONS[_JWKS_URI]})
    local_source = dump(jwks.local_source)
    text = swap_line(
        text, JWKS_SOURCE, lambda n: if_block(_IF_REMOTE, n, remote_source, local_source)
    )
    cluster_swaps = {k: v for k, v in _JWKS_EXPRESSIONS.items() if k != _JWKS_URI}
    remote_cluster = swap(dump([jwks.remote_cluster]), cluster_swaps)
    local_cluster = dump([jwks.local_cluster])
    return swap_line(
        text, JWKS_CLUSTER_ITEM, lambda n: if_block(_IF_REMOTE, n, remote_cluster, local_cluster)
    )


def _swap_web(text: str, web: WebPieces) -> str:
    """The web UI's JWT rules (else the token-for-everything rule), routes and cluster, under
    `if web.enabled`. Dumped without anchors: the rest of the file defines its own."""
    rules = dump(web.rules, aliases=False)
    plain_rules = dump(web.plain_rules, aliases=False)
    text = swap_line(text, WEB_JWT_RULES, lambda n: if_block(_IF_WEB, n, rules, plain_rules))
    routes = dump(web.routes, aliases=False)
    text = swap_line(text, WEB_ROUTES, lambda n: if_block(_IF_WEB, n, routes))
    cluster = dump([web.cluster], aliases=False)
    return swap_line(text, WEB_CLUSTER_ITEM, lambda n: if_block(_IF_WEB, n, cluster))


def _swap_openai(text: str, openai: OpenAiPieces) -> str:
    """The OpenAI API's route, cluster, local-reply mappers and (inside the web UI's JWT rules)
    JWT rule, each under `if openai.enabled`. Dumped without anchors, like the web UI's."""
    for token, items in zip(OPENAI_TOKENS, openai, strict=True):
        block = partial(if_block, _IF_OPENAI, then=dump(items, aliases=False))
        text = swap_line(text, token, block)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: %(default)s")
    args = parser.parse_args(argv)
    text = render_chart_template()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

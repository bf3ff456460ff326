"""The Helm chart's OpenAI-compatible API (`openai.enabled`, `chat.openaiPort`): the chat
container's port and settings, the chat Service's port, the NetworkPolicy, and Envoy's `openai`
cluster, `/v1/` route, JWT rule and OpenAI-shaped local replies; with the API off, none of them.

The fixtures are conftest.py's (a copy of the chart with stand-ins for its dependencies, its
renderings), the helpers helm.py's (`helm template` and the manifest accessors)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.envoy_base import OPENAI_CLUSTER, OPENAI_PREFIX
from gateway.envoy_openai import OPENAI_HEALTH_PATH
from gateway.jwt_keys import init_keys
from scripts.render_envoy_for_helm import CHAT_PORT, INFERENCE_PORT
from tests.deploy.helm import (
    FULLNAME,
    OPENAI_PORT,
    RELEASE,
    Manifest,
    by_kind,
    chat_env,
    envoy_config,
    expected_envoy,
    host,
    jwt_rules,
    pod_spec,
    public_routes,
    settings_classes,
    template,
    template_error,
)
from tests.deploy.tools import run

OFF = ("--set", "openai.enabled=false")
ENVOY_SELECTOR = {
    "app.kubernetes.io/name": "chatstack",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/component": "envoy",
}


@pytest.fixture(scope="module")
def without_openai(helm: Path, chart_dir: Path) -> list[Manifest]:
    return template(helm, chart_dir, *OFF)


def chat_container(manifests: list[Manifest]) -> dict[str, Any]:
    container: dict[str, Any] = pod_spec(by_kind(manifests, "Deployment")[f"{FULLNAME}-chat"])[
        "containers"
    ][0]
    return container


def chat_service_ports(manifests: list[Manifest]) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = by_kind(manifests, "Service")[f"{FULLNAME}-chat"]["spec"]["ports"]
    return ports


def chat_policy_ports(manifests: list[Manifest]) -> list[dict[str, Any]]:
    """The chat pods' ports that Envoy may reach."""
    ingress = by_kind(manifests, "NetworkPolicy")[f"{FULLNAME}-chat"]["spec"]["ingress"]
    (from_envoy,) = (
        rule for rule in ingress
        if rule.get("from") == [{"podSelector": {"matchLabels": ENVOY_SELECTOR}}]
    )  # fmt: skip
    ports: list[dict[str, Any]] = from_envoy["ports"]
    return ports


def clusters(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in config["static_resources"]["clusters"]}


def openai_mappers(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The public listener's local-reply mappers that apply to /v1/ paths only."""
    (listener,) = (
        item for item in config["static_resources"]["listeners"] if item["name"] == "public"
    )
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    mappers: list[dict[str, Any]] = hcm["local_reply_config"]["mappers"]
    return [m for m in mappers if OPENAI_PREFIX in json.dumps(m["filter"])]


# --- on by default ----------------------------------------------------------------------------


def test_chat_container_serves_the_openai_api(default: list[Manifest]) -> None:
    container = chat_container(default)
    assert {"name": "openai", "containerPort": OPENAI_PORT, "protocol": "TCP"} in container["ports"]
    env = chat_env(default)
    assert env["CHAT_OPENAI_PORT"]["value"] == str(OPENAI_PORT)
    assert env["CHAT_OPENAI_HOST"]["value"] == "0.0.0.0", "a pod must bind the pod address"
    # gRPC stays where it was: the probes and Envoy's chat cluster use it
    assert {"name": "grpc", "containerPort": CHAT_PORT, "protocol": "TCP"} in container["ports"]


def test_the_pod_environment_turns_the_api_on(
    default: list[Manifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The variables are the ones the chat service reads (its settings, not just any name)."""
    for variable, item in chat_env(default).items():
        monkeypatch.setenv(variable, item.get("value", "from-a-secret"))
    settings = settings_classes()["CHAT"]()
    assert (settings.openai_host, settings.openai_port) == ("0.0.0.0", OPENAI_PORT)


def test_chat_service_and_policy_expose_the_openai_port(default: list[Manifest]) -> None:
    assert {
        "name": "openai",
        "port": OPENAI_PORT,
        "targetPort": "openai",
        "protocol": "TCP",
        "appProtocol": "http",
    } in chat_service_ports(default)
    assert by_kind(default, "Service")[f"{FULLNAME}-chat"]["spec"]["clusterIP"] == "None"
    # only Envoy reaches it, like the gRPC port
    assert chat_policy_ports(default) == [
        {"port": "grpc", "protocol": "TCP"},
        {"port": "openai", "protocol": "TCP"},
    ]


def test_envoy_routes_v1_to_the_chat_services_openai_port(default: list[Manifest]) -> None:
    config = envoy_config(default)
    openai = clusters(config)[OPENAI_CLUSTER]
    (endpoint,) = openai["load_assignment"]["endpoints"][0]["lb_endpoints"]
    assert endpoint["endpoint"]["address"]["socket_address"] == {
        "address": host("chat"),
        "port_value": OPENAI_PORT,
    }
    assert openai["type"] == "STRICT_DNS", "every ready pod of the headless Service"
    assert openai["health_checks"][0]["http_health_check"]["path"] == OPENAI_HEALTH_PATH
    assert "http2_protocol_options" not in json.dumps(openai), "plain HTTP/1.1"
    # /v1/ goes to it, before the catch-alls (unknown gRPC, then the web UI)
    routes = public_routes(config)
    (at,) = (i for i, r in enumerate(routes) if r["match"] == {"prefix": OPENAI_PREFIX})
    assert routes[at]["route"]["cluster"] == OPENAI_CLUSTER
    names = [r.get("name") for r in routes]
    assert at < names.index("grpc-unknown") < names.index("web")
    # and needs a token (the web UI's paths do not)
    rules = [rule for rule in jwt_rules(config) if rule["match"] == {"prefix": OPENAI_PREFIX}]
    assert rules == [
        {"match": {"prefix": OPENAI_PREFIX}, "requires": {"provider_name": "chatstack"}}
    ]
    assert openai_mappers(config), "Envoy's refusals on /v1/ carry OpenAI's error shape"


def test_openai_port_follows_the_values(helm: Path, chart_dir: Path) -> None:
    manifests = template(helm, chart_dir, "--set", "chat.openaiPort=9000")
    assert {"name": "openai", "containerPort": 9000, "protocol": "TCP"} in chat_container(
        manifests
    )["ports"]
    assert chat_env(manifests)["CHAT_OPENAI_PORT"]["value"] == "9000"
    (port,) = (p for p in chat_service_ports(manifests) if p["name"] == "openai")
    assert port["port"] == 9000
    openai = clusters(envoy_config(manifests))[OPENAI_CLUSTER]
    address = openai["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    assert address["socket_address"] == {"address": host("chat"), "port_value": 9000}


def test_openai_port_clashes_are_refused(helm: Path, chart_dir: Path) -> None:
    for port in (CHAT_PORT, 9090):  # the gRPC port and ports.metrics
        error = template_error(helm, chart_dir, "--set", f"chat.openaiPort={port}")
        assert "chat.openaiPort must differ" in error, port
    assert "/chat/openaiPort" in template_error(helm, chart_dir, "--set", "chat.openaiPort=80")
    assert "/openai" in template_error(helm, chart_dir, "--set", "openai.port=8000")


# --- turned off -------------------------------------------------------------------------------


def test_without_openai_nothing_listens_or_routes(without_openai: list[Manifest]) -> None:
    assert "openai" not in {p["name"] for p in chat_container(without_openai)["ports"]}
    env = chat_env(without_openai)
    assert "CHAT_OPENAI_PORT" not in env and "CHAT_OPENAI_HOST" not in env  # off: the default
    assert "openai" not in {p["name"] for p in chat_service_ports(without_openai)}
    assert chat_policy_ports(without_openai) == [{"port": "grpc", "protocol": "TCP"}]
    config = envoy_config(without_openai)
    assert OPENAI_CLUSTER not in clusters(config)
    routes = public_routes(config)
    assert not [r for r in routes if r.get("route", {}).get("cluster") == OPENAI_CLUSTER]
    assert {"prefix": OPENAI_PREFIX} not in [r["match"] for r in routes]
    assert {"prefix": OPENAI_PREFIX} not in [rule["match"] for rule in jwt_rules(config)]
    assert not openai_mappers(config)
    # but the rest of the gateway stays: the API, the web UI, API keys
    assert "web" in clusters(config)


def test_without_openai_is_the_generators_output(helm: Path, chart_dir: Path) -> None:
    """The same generator's config without openai_upstreams, with and without the web UI and
    for either JWKS source: the conditional blocks remove exactly the API's pieces."""
    idp = ["--set", "envoy.jwt.jwksUri=https://idp.example.com/jwks",
           "--set", "envoy.jwt.issuer=https://idp.example.com"]  # fmt: skip
    idp_settings = {"jwks_uri": "https://idp.example.com/jwks",
                    "jwt_issuer": "https://idp.example.com"}  # fmt: skip
    inference = [f"{host('inference-cpu')}:{INFERENCE_PORT}"]
    for web in (True, False):
        for remote in (False, True):
            args = [*OFF, "--set", f"web.enabled={str(web).lower()}", *(idp if remote else [])]
            manifests = template(helm, chart_dir, *args)
            assert envoy_config(manifests) == expected_envoy(
                web=web,
                openai=False,
                inference_upstreams=inference,
                **(idp_settings if remote else {}),
            ), (web, remote)


@pytest.mark.parametrize("web", [True, False], ids=["web", "no-web"])
def test_envoy_config_without_openai_validates(
    helm: Path, chart_dir: Path, envoy_binary: Path, tmp_path: Path, web: bool
) -> None:
    args = [*OFF, "--set", f"web.enabled={str(web).lower()}"]
    text = by_kind(template(helm, chart_dir, *args), "ConfigMap")[f"{FULLNAME}-envoy"]["data"][
        "envoy.yaml"
    ]
    init_keys(tmp_path / "keys")
    text = text.replace("/etc/chatstack/jwt/jwks.json", str(tmp_path / "keys" / "jwks.json"))
    path = tmp_path / "envoy.yaml"
    path.write_text(text)
    run([envoy_binary, "--mode", "validate", "-c", path, "--base-id", "4714"], timeout=60)

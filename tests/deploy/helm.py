"""What the Helm chart's tests share: the release they render, `helm template` and its
failures, and readers of the rendered manifests and of the Envoy config in them. The fixtures
(the helm binary, a renderable copy of the chart, its renderings) are in conftest.py."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from scripts.render_envoy_for_helm import (
    CHAT_PORT,
    EMBEDDING_PORT,
    PUBLIC_LISTENER,
    kubernetes_config,
    kubernetes_settings,
)
from tests.deploy.tools import run

Manifest = dict[str, Any]
RELEASE = "demo"
NAMESPACE = "chat"
KUBE_VERSION = "1.33.0"
FULLNAME = f"{RELEASE}-chatstack"
GPU_VALUES = "values-gpu.yaml"
WEB_PORT = 8080  # values.yaml web.port
OPENAI_PORT = 8000  # values.yaml chat.openaiPort
PYTHON_COMPONENTS = {
    "chat": 50051,
    "inference-cpu": 50052,
    "inference-gpu": 50052,
    "embedding": 50053,
}
SECRET_NAME = re.compile(
    r"(^|_)(PASSWORD|SECRET|CREDENTIALS?|API_KEY|ACCESS_TOKEN|AUTH_TOKEN)(_|$)"
)


def template(helm: Path, chart_dir: Path, *args: str) -> list[Manifest]:
    out = run(
        [helm, "template", RELEASE, chart_dir, "--namespace", NAMESPACE,
         "--kube-version", KUBE_VERSION, *args]
    )  # fmt: skip
    return [doc for doc in yaml.safe_load_all(out) if doc]


def template_error(helm: Path, chart_dir: Path, *args: str) -> str:
    proc = subprocess.run(
        [str(helm), "template", RELEASE, str(chart_dir), "--kube-version", KUBE_VERSION, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0, f"helm template {' '.join(args)} should have failed"
    return proc.stderr


def kinds(manifests: list[Manifest]) -> Counter[str]:
    return Counter(m["kind"] for m in manifests)


def by_kind(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def component(manifest: Manifest) -> str:
    return str(manifest["metadata"]["labels"]["app.kubernetes.io/component"])


def pod_spec(deployment: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item for item in container.get("env", [])}


def envoy_config(manifests: list[Manifest]) -> dict[str, Any]:
    configmap = by_kind(manifests, "ConfigMap")[f"{FULLNAME}-envoy"]
    config: dict[str, Any] = yaml.safe_load(configmap["data"]["envoy.yaml"])
    return config


def host(component_name: str) -> str:
    return f"{FULLNAME}-{component_name}.{NAMESPACE}.svc.cluster.local"


def chat_env(manifests: list[Manifest]) -> dict[str, Any]:
    return env_of(pod_spec(by_kind(manifests, "Deployment")[f"{FULLNAME}-chat"])["containers"][0])


def envoy_containers(manifests: list[Manifest]) -> dict[str, dict[str, Any]]:
    spec = pod_spec(by_kind(manifests, "Deployment")[f"{FULLNAME}-envoy"])
    return {c["name"]: c for c in spec["containers"]}


def expected_envoy(*, web: bool = True, openai: bool = True, **overrides: Any) -> dict[str, Any]:
    """The generator's config for the chart's hosts; with the web UI (web.enabled, the
    default) unless `web` is false, and the OpenAI API on the chat Service's openai port
    (openai.enabled, the default) unless `openai` is false."""
    settings = kubernetes_settings(
        chat_upstreams=[f"{host('chat')}:{CHAT_PORT}"],
        embedding_upstreams=[f"{host('embedding')}:{EMBEDDING_PORT}"],
        web_upstreams=[f"{host('web')}:{WEB_PORT}"] if web else [],
        openai_upstreams=[f"{host('chat')}:{OPENAI_PORT}"] if openai else [],
        **overrides,
    )
    return kubernetes_config(settings)


def public_routes(config: dict[str, Any]) -> list[dict[str, Any]]:
    (listener,) = (
        item for item in config["static_resources"]["listeners"] if item["name"] == PUBLIC_LISTENER
    )
    (virtual_host,) = listener["filter_chains"][0]["filters"][0]["typed_config"]["route_config"][
        "virtual_hosts"
    ]
    routes: list[dict[str, Any]] = virtual_host["routes"]
    return routes


def jwt_rules(config: dict[str, Any]) -> list[dict[str, Any]]:
    (listener,) = (
        item for item in config["static_resources"]["listeners"] if item["name"] == PUBLIC_LISTENER
    )
    filters = listener["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"]
    (authn,) = (f for f in filters if f["name"] == "envoy.filters.http.jwt_authn")
    rules: list[dict[str, Any]] = authn["typed_config"]["rules"]
    return rules


def settings_classes() -> dict[str, type[Any]]:
    from chat_service.config import ChatSettings
    from embedding_service.config import EmbeddingSettings
    from inference_service.config import InferenceSettings

    return {"CHAT": ChatSettings, "INFERENCE": InferenceSettings, "EMBEDDING": EmbeddingSettings}

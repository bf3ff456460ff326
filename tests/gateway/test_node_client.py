"""A gRPC client in another language: the Node client (clients/node, @grpc/grpc-js with the
protos loaded at run time) creates a chat and streams a completion through the real Envoy (JWT
in the metadata) to the real chat and inference services."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from gateway.config import PROJECT_ROOT
from tests.fixtures.stack import Gateway

NODE = shutil.which("node")
CLIENT_DIR = PROJECT_ROOT / "clients" / "node"
TIMEOUT_S = 120


@pytest.mark.skipif(NODE is None, reason="node is not installed: the Node gRPC client needs it")
def test_node_client_streams_a_completion_through_envoy(gateway: Gateway) -> None:
    assert NODE is not None
    if not (CLIENT_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir():
        pytest.fail("the Node client's packages are missing: run scripts/setup.sh (npm ci)")
    result = subprocess.run(
        [
            NODE, str(CLIENT_DIR / "chat_client.mjs"),
            "--address", gateway.grpc_address,
            "--token", gateway.token("node-user"),
            "--content", "Name three colours.",
            "--max-tokens", "24",
            "--timeout-s", str(TIMEOUT_S - 10),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        cwd=PROJECT_ROOT,
    )  # fmt: skip
    assert result.returncode == 0, f"stdout: {result.stdout}\nstderr: {result.stderr}"
    summary = json.loads(result.stdout)
    assert summary["chat_id"]
    assert summary["deltas"] >= 2, summary
    assert summary["usage"]["completion_tokens"] > 0, summary
    assert summary["usage"]["prompt_tokens"] > 0, summary
    assert summary["finish_reason"] in {"FINISH_REASON_STOP", "FINISH_REASON_LENGTH"}, summary


@pytest.mark.skipif(NODE is None, reason="node is not installed: the Node gRPC client needs it")
def test_node_client_without_a_valid_token_is_unauthenticated(gateway: Gateway) -> None:
    assert NODE is not None
    result = subprocess.run(
        [
            NODE, str(CLIENT_DIR / "chat_client.mjs"),
            "--address", gateway.grpc_address, "--token", "not-a-jwt", "--timeout-s", "20",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT_ROOT,
    )  # fmt: skip
    assert result.returncode == 1, f"stdout: {result.stdout}\nstderr: {result.stderr}"
    assert "UNAUTHENTICATED" in result.stderr, result.stderr
    assert result.stdout == ""

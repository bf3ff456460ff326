"""The official `openai` npm package (clients/node/openai_client.mjs) against the gateway's
OpenAI-compatible API, with an API key: models, a whole and a streamed completion with usage,
embeddings, a bad request, a repeated question answered from the cache, a revoked key."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from gateway.config import PROJECT_ROOT
from tests.fixtures.gateway_client import call, user_token
from tests.fixtures.stack import Gateway

NODE = shutil.which("node")
CLIENT_DIR = PROJECT_ROOT / "clients" / "node"
MODEL = "smollm2-135m-instruct-q4_1"
EMBEDDING_MODEL = "all-MiniLM-L6-v2"


@pytest.mark.skipif(NODE is None, reason="node is not installed: the Node client needs it")
def test_the_openai_npm_package_through_envoy(gateway: Gateway) -> None:
    assert NODE is not None
    if not (CLIENT_DIR / "node_modules" / "openai").is_dir():
        pytest.fail("the Node client's packages are missing: run scripts/setup.sh (npm ci)")
    _, token = user_token(gateway)
    secret = call(gateway, "POST", "/api-keys", {"name": "node"}, token).json()["secret"]
    revoked = call(gateway, "POST", "/api-keys", {"name": "gone"}, token).json()
    key_id = revoked["api_key"]["key_id"]
    assert call(gateway, "DELETE", f"/api-keys/{key_id}", token=token).status == 200
    result = subprocess.run(
        [
            NODE, str(CLIENT_DIR / "openai_client.mjs"),
            "--base-url", f"{gateway.base_url}/v1",
            "--api-key", secret,
            "--model", MODEL,
            "--embedding-model", EMBEDDING_MODEL,
            "--revoked-key", revoked["secret"],
        ],
        capture_output=True, text=True, timeout=180, cwd=PROJECT_ROOT,
    )  # fmt: skip
    assert result.returncode == 0, f"stdout: {result.stdout}\nstderr: {result.stderr}"
    summary = json.loads(result.stdout)
    assert summary["models"] == [MODEL, EMBEDDING_MODEL]
    whole = summary["whole"]
    assert whole["object"] == "chat.completion" and whole["content"]
    assert whole["usage"]["completion_tokens"] > 0
    stream = summary["stream"]
    assert (
        stream["chunks"] >= 3 and stream["text"] and stream["finish_reason"] in {"stop", "length"}
    )
    assert stream["usage"]["completion_tokens"] > 0
    assert summary["embeddings"] == [384, 384]
    assert summary["bad_request"] == "n"
    assert summary["cache"][0] == "miss" and summary["cache"][-1] == "hit", summary["cache"]
    assert summary["revoked"] == 401

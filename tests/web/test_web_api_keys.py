"""API keys in the web UI, in a real browser (headless Chromium driven by playwright-core from
Node: tests/web/api_keys.mjs) against the real stack: the sidebar's "API keys" dialog creates a
key and shows its secret once (with Copy and how to use it), forgets it once closed, lists the
key by its hint, revokes it after the confirmation (the list is empty again, on the server
too), and shows a refused create's error. Screenshots go to $TEST_ARTIFACTS/api-keys (default
.run/test-artifacts/web/api-keys)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fixtures.web import WebStack, artifacts_dir
from tests.fixtures.web_ui import browser_tools

TIMEOUT_S = 180


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT_S + 60)
def test_api_keys_in_chromium(web_stack: WebStack) -> None:
    browser = browser_tools()
    artifacts = artifacts_dir() / "api-keys"
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    result = browser.run("api_keys.mjs", web_stack.base_url, artifacts, timeout_s=TIMEOUT_S)
    assert result.returncode == 0, f"the API keys scenario failed ({artifacts}):\n{result.output}"
    summary = result.summary()
    assert summary["ok"] is True
    assert len(summary["steps"]) == 5, summary["steps"]
    assert summary["outcome"]["hint"].startswith("sk-cs-"), summary["outcome"]
    shots = {Path(path).name for path in summary["screenshots"]}
    for expected in (
        "01-created.png",
        "02-listed.png",
        "03-confirm.png",
        "04-revoked.png",
        "05-refused.png",
    ):
        assert expected in shots, shots
    print(result.output)

"""Searching one's chats in the web UI, in a real browser (headless Chromium driven by
playwright-core from Node: tests/web/search.mjs) against the real stack: a word from an old
message finds its chat, the hit opens it, Escape brings the list back, a missing word says so.
Screenshots go to $TEST_ARTIFACTS/search (default .run/test-artifacts/web/search)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fixtures.web import WebStack, artifacts_dir
from tests.fixtures.web_ui import browser_tools

TIMEOUT_S = 180


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT_S + 60)
def test_search_chats_in_chromium(web_stack: WebStack) -> None:
    browser = browser_tools()
    artifacts = artifacts_dir() / "search"
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    result = browser.run("search.mjs", web_stack.base_url, artifacts, timeout_s=TIMEOUT_S)
    assert result.returncode == 0, f"the search scenario failed ({artifacts}):\n{result.output}"
    summary = result.summary()
    assert summary["ok"] is True
    assert len(summary["steps"]) == 5, summary["steps"]
    shots = {Path(path).name for path in summary["screenshots"]}
    for expected in ("01-found.png", "02-opened.png", "03-none.png"):
        assert expected in shots, shots

"""Answers that outlive the page, in a real browser (headless Chromium driven by playwright-core
from Node: tests/web/resume.mjs) against the real stack: the page submits a turn and follows it,
so a reload or a switch to another chat and back mid-answer follows it on to its stored end,
and Stop after a reload stops it on the server (stored interrupted, no longer growing).
Screenshots go to $TEST_ARTIFACTS/resume (default .run/test-artifacts/web/resume)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fixtures.web import WebStack, artifacts_dir
from tests.fixtures.web_ui import browser_tools

TIMEOUT_S = 480


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT_S + 60)
def test_answers_outlive_the_page_in_chromium(web_stack: WebStack) -> None:
    browser = browser_tools()
    artifacts = artifacts_dir() / "resume"
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    result = browser.run("resume.mjs", web_stack.base_url, artifacts, timeout_s=TIMEOUT_S)
    assert result.returncode == 0, f"the resume scenario failed ({artifacts}):\n{result.output}"
    summary = result.summary()
    assert summary["ok"] is True
    assert len(summary["steps"]) == 3, summary["steps"]
    shots = {Path(path).name for path in summary["screenshots"]}
    for expected in ("01-resumed-after-reload.png", "02-completed-after-reload.png",
                     "03-resumed-after-switch.png", "04-stopped-after-reload.png"):  # fmt: skip
        assert expected in shots, shots
    print(result.output)

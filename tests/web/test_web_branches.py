"""Edit and branch in a real browser (headless Chromium driven by playwright-core from Node:
tests/web/branches.mjs) against the real stack: a question edited in place becomes a new
branch with its own answer, the "< 1 / 2 >" pager switches back (the turns below the edited
question come back with it), a reload shows the branch last picked, and Regenerate makes a
second answer beside the first. Screenshots go to $TEST_ARTIFACTS/branches (default
.run/test-artifacts/web/branches)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fixtures.web import WebStack, artifacts_dir
from tests.fixtures.web_ui import browser_tools

TIMEOUT_S = 360


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT_S + 60)
def test_edit_and_branch_in_chromium(web_stack: WebStack) -> None:
    browser = browser_tools()
    artifacts = artifacts_dir() / "branches"
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    result = browser.run("branches.mjs", web_stack.base_url, artifacts, timeout_s=TIMEOUT_S)
    assert result.returncode == 0, f"the branches scenario failed ({artifacts}):\n{result.output}"
    summary = result.summary()
    assert summary["ok"] is True
    assert len(summary["steps"]) == 4, summary["steps"]
    shots = {Path(path).name for path in summary["screenshots"]}
    for expected in ("01-editing.png", "02-edited.png", "03-first-version.png",
                     "04-regenerated.png", "05-first-answer.png"):  # fmt: skip
        assert expected in shots, shots
    print(result.output)

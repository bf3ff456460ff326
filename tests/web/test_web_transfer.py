"""Export and import of chats in the web UI, in a real browser (headless Chromium driven by
playwright-core from Node: tests/web/transfer.mjs) against the real stack: the sidebar's Import
takes the sample ChatGPT export through its file input and its chats show in the sidebar with
the branch the user was on; the same file again adds nothing; a malformed file shows the error
naming the field and changes nothing; Export downloads every chat as one JSON file. Screenshots
go to $TEST_ARTIFACTS/transfer (default .run/test-artifacts/web/transfer)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fixtures.web import WebStack, artifacts_dir
from tests.fixtures.web_ui import browser_tools

TIMEOUT_S = 180


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT_S + 60)
def test_export_and_import_chats_in_chromium(web_stack: WebStack) -> None:
    browser = browser_tools()
    artifacts = artifacts_dir() / "transfer"
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    result = browser.run("transfer.mjs", web_stack.base_url, artifacts, timeout_s=TIMEOUT_S)
    assert result.returncode == 0, f"the transfer scenario failed ({artifacts}):\n{result.output}"
    summary = result.summary()
    assert summary["ok"] is True
    assert len(summary["steps"]) == 6, summary["steps"]
    shots = {Path(path).name for path in summary["screenshots"]}
    for expected in ("01-imported.png", "02-opened.png", "03-refused.png"):
        assert expected in shots, shots
    print(result.output)

"""Renaming a chat in the web UI, in a real browser (headless Chromium driven by playwright-core
from Node: tests/web/rename.mjs) against the real stack: the sidebar's rename button, Enter and
leaving the field save, Escape cancels, a refused title is restored with the error shown, and
the new title shows in the sidebar and the open chat's header, also after a reload. Screenshots
go to $TEST_ARTIFACTS/rename (default .run/test-artifacts/web/rename)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fixtures.web import WebStack, artifacts_dir
from tests.fixtures.web_ui import browser_tools

TIMEOUT_S = 180


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT_S + 60)
def test_rename_a_chat_in_chromium(web_stack: WebStack) -> None:
    browser = browser_tools()
    artifacts = artifacts_dir() / "rename"
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    result = browser.run("rename.mjs", web_stack.base_url, artifacts, timeout_s=TIMEOUT_S)
    assert result.returncode == 0, f"the rename scenario failed ({artifacts}):\n{result.output}"
    summary = result.summary()
    assert summary["ok"] is True
    assert len(summary["steps"]) == 6, summary["steps"]
    shots = {Path(path).name for path in summary["screenshots"]}
    for expected in ("01-renaming.png", "02-renamed.png", "03-reloaded.png", "04-refused.png"):
        assert expected in shots, shots
    print(result.output)

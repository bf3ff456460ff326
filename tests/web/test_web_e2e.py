"""The web UI in a real browser (headless Chromium driven by playwright-core from Node:
tests/web/e2e.mjs) against the real stack: sign in, stream, stop, reload, the cache badge,
regenerate, HTML shown as text, delete, infinite scroll, 401. Screenshots of the main states
go to $TEST_ARTIFACTS (default .run/test-artifacts/web)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.web import WebStack, artifacts_dir
from tests.fixtures.web_ui import browser_tools

TIMEOUT_S = 540


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT_S + 60)
def test_web_ui_end_to_end_in_chromium(web_stack: WebStack) -> None:
    browser = browser_tools()
    artifacts = artifacts_dir()
    # Only this scenario's own files from an earlier run (NN-name.png, failure.png).
    for old in [*artifacts.glob("[0-9][0-9]-*.png"), artifacts / "failure.png"]:
        old.unlink(missing_ok=True)
    result = browser.run("e2e.mjs", web_stack.base_url, artifacts, timeout_s=TIMEOUT_S)
    assert result.returncode == 0, f"the browser scenario failed ({artifacts}):\n{result.output}"
    summary = result.summary()
    assert summary["ok"] is True
    shots = {Path(path).name for path in summary["screenshots"]}
    for expected in ("02-streaming.png", "03-stopped.png", "04-reloaded-history.png",
                     "05-cached.png", "07-html-as-text.png", "09-deleted.png"):  # fmt: skip
        assert expected in shots, shots
    print(result.output)

"""The web UI in a real browser (headless Chromium driven by playwright-core from Node:
tests/web/e2e.mjs) against the real stack: sign in, stream, stop, reload, the cache badge,
regenerate, HTML shown as text, delete, infinite scroll, 401. Screenshots of the main states
go to $TEST_ARTIFACTS (default .run/test-artifacts/web)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.web import ROOT, WebStack, artifacts_dir, chromium_path

SCRIPT = ROOT / "tests" / "web" / "e2e.mjs"
TIMEOUT_S = 540


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT_S + 60)
def test_web_ui_end_to_end_in_chromium(web_stack: WebStack) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    chromium = chromium_path()
    if chromium is None:
        pytest.skip("no chromium: run scripts/setup_browser.sh (make test does)")
    artifacts = artifacts_dir()
    # Only this scenario's own files from an earlier run (NN-name.png, failure.png).
    for old in [*artifacts.glob("[0-9][0-9]-*.png"), artifacts / "failure.png"]:
        old.unlink(missing_ok=True)
    env = {
        **os.environ,
        "BASE_URL": web_stack.base_url,
        "TEST_ARTIFACTS": str(artifacts),
        "CHROMIUM": chromium,
    }
    try:
        result = subprocess.run(
            [node, str(SCRIPT)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"e2e.mjs ran past {TIMEOUT_S}s:\n{exc.stdout!r}\n{exc.stderr!r}")
    output = f"{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, f"the browser scenario failed ({artifacts}):\n{output}"
    summary = json.loads((artifacts / "summary.json").read_text())
    assert summary["ok"] is True
    shots = {Path(path).name for path in summary["screenshots"]}
    for expected in ("02-streaming.png", "03-stopped.png", "04-reloaded-history.png",
                     "05-cached.png", "07-html-as-text.png", "09-deleted.png"):  # fmt: skip
        assert expected in shots, shots
    print(output)

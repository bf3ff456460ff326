"""Renaming a chat in the web UI, in a real browser (headless Chromium driven by playwright-core
from Node: tests/web/rename.mjs) against the real stack: the sidebar's rename button, Enter and
leaving the field save, Escape cancels, a refused title is restored with the error shown, and
the new title shows in the sidebar and the open chat's header, also after a reload. Screenshots
go to $TEST_ARTIFACTS/rename (default .run/test-artifacts/web/rename)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.web import ROOT, WebStack, artifacts_dir, chromium_path

SCRIPT = ROOT / "tests" / "web" / "rename.mjs"
TIMEOUT_S = 180


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT_S + 60)
def test_rename_a_chat_in_chromium(web_stack: WebStack) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    chromium = chromium_path()
    if chromium is None:
        pytest.skip("no chromium: run scripts/setup_browser.sh (make test does)")
    artifacts = artifacts_dir() / "rename"
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
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
        pytest.fail(f"rename.mjs ran past {TIMEOUT_S}s:\n{exc.stdout!r}\n{exc.stderr!r}")
    output = f"{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, f"the rename scenario failed ({artifacts}):\n{output}"
    summary = json.loads((artifacts / "summary.json").read_text())
    assert summary["ok"] is True
    assert len(summary["steps"]) == 6, summary["steps"]
    shots = {Path(path).name for path in summary["screenshots"]}
    for expected in ("01-renaming.png", "02-renamed.png", "03-reloaded.png", "04-refused.png"):
        assert expected in shots, shots
    print(output)

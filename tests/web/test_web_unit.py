"""The web UI's own unit tests (vitest: the SSE stream parser, error wording, sign-in helpers,
sanitized markdown) and its strict type check and formatting, run as part of the suite."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.web import WEB_DIR

TIMEOUT_S = 240


@pytest.mark.timeout(TIMEOUT_S + 30)
def test_web_unit_tests_pass(web_build: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    # web_build ran `npm ci` (scripts/build_web.sh), so vitest is installed as locked.
    result = subprocess.run(
        [npm, "test", "--prefix", str(WEB_DIR), "--", "--reporter=verbose", "--color=false"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        env={**os.environ, "CI": "1", "NO_COLOR": "1"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"npm test failed:\n{output}"
    assert " passed" in output and " failed" not in output, output


@pytest.mark.timeout(TIMEOUT_S + 30)
def test_web_sources_type_check_and_are_formatted(web_build: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    for script in ("typecheck", "format:check"):
        result = subprocess.run(
            [npm, "run", "--prefix", str(WEB_DIR), script],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
            env={**os.environ, "NO_COLOR": "1"},
        )
        assert result.returncode == 0, f"npm run {script}:\n{result.stdout}{result.stderr}"

"""The local launcher's own logic (the stack it starts is covered by the gateway tests)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from local_stack.guards import check_dev_sign_in_stays_local, private_run_dir


def test_the_run_directory_and_what_is_created_in_it_are_owner_only(tmp_path: Path) -> None:
    run_dir = tmp_path / ".run"
    run_dir.mkdir(mode=0o755)
    before = os.umask(0o022)
    try:
        private_run_dir(run_dir)
        (run_dir / "logs").mkdir()
        (run_dir / "logs" / "chat.log").write_text("a prompt")
    finally:
        os.umask(before)
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((run_dir / "logs").stat().st_mode) == 0o700
    assert stat.S_IMODE((run_dir / "logs" / "chat.log").stat().st_mode) == 0o600


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "chat.example.com"])
def test_the_development_sign_in_is_refused_on_a_public_listener(host: str) -> None:
    with pytest.raises(SystemExit, match="development sign-in"):
        check_dev_sign_in_stays_local(host, web=True)
    check_dev_sign_in_stays_local(host, web=False)  # the API alone may listen there


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_the_development_sign_in_may_listen_on_loopback(host: str) -> None:
    check_dev_sign_in_stays_local(host, web=True)

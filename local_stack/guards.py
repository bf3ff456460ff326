"""What keeps `make run` from exposing more than it should: the run directory's permissions,
and a development sign-in that only this machine can reach."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path


def private_run_dir(run_dir: Path) -> None:
    """.run holds the signing key, the databases and the logs (everyone's prompts and answers):
    owner only. The directory's mode guards what is in it already; the umask what the launcher
    and the services it starts create from now on."""
    os.umask(0o077)
    run_dir.mkdir(parents=True, exist_ok=True)
    run_dir.chmod(0o700)


def check_dev_sign_in_stays_local(listen_host: str, web: bool) -> None:
    """The development sign-in hands a token for any user name to whoever asks: it may only be
    reachable from this machine. Refuses a public listener with the web UI's sign-in on."""
    if not web:
        return
    try:
        loopback = ipaddress.ip_address(listen_host).is_loopback
    except ValueError:  # a host name
        loopback = listen_host == "localhost"
    if not loopback:
        raise SystemExit(
            f"refusing to serve the development sign-in on {listen_host}: anyone who reaches "
            "it gets a token for any user. Listen on 127.0.0.1, or run with --no-web (the API "
            "only; tokens from `python -m gateway.token`), or deploy with a real identity "
            "provider (the Helm chart)"
        )

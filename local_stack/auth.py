"""Who may call what in the local stack (docs/security.md): the chat service verifies each
request's token with the gateway's own keys, and inference and embedding serve only callers
holding the service token, a random secret made on the first run. Envoy fetches the local key
set from a loopback server (gateway.jwks_server), so `python -m gateway.keys rotate` takes
effect without a restart."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from gateway.config import GatewaySettings
from server_kit.processes import ManagedProcess, python_module

SERVICE_TOKEN_FILE = "service-token"


def chat_identity_args(gateway: GatewaySettings) -> list[str]:
    keys = (
        ["--jwks-uri", gateway.jwks_uri]
        if gateway.jwks_uri
        else ["--jwks-file", str(gateway.jwks_path)]
    )
    return [
        "--identity", "jwt",
        *keys,
        "--jwt-issuer", gateway.jwt_issuer,
        "--jwt-audiences", ",".join(gateway.jwt_audiences),
        "--jwt-max-lifetime-s", str(gateway.jwt_max_lifetime_s),
    ]  # fmt: skip


def service_token(run_dir: Path) -> Path:
    """The service token's file (owner-only), made once and kept across runs."""
    path = run_dir / SERVICE_TOKEN_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32) + "\n")
    return path


def jwks_process(keys_dir: Path, port: int, log_dir: Path) -> ManagedProcess:
    """Serves the local JWKS file to Envoy (GatewaySettings.jwks_file_server)."""
    return ManagedProcess(
        name="jwks",
        argv=python_module(
            "gateway.jwks_server", "--file", str(keys_dir / "jwks.json"), "--port", str(port)
        ),
        log_path=log_dir / "jwks.log",
        ready_url=f"http://127.0.0.1:{port}/healthz",
    )

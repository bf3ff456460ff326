"""Who may call what in the local stack (docs/security.md): the chat service verifies each
request's token with the gateway's own keys, and inference and embedding serve only callers
holding the service token, a random secret made on the first run."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from gateway.config import GatewaySettings

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

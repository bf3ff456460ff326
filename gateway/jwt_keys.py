"""The local token issuer: an RS256 signing key, the JWKS that Envoy verifies against, and
token minting. Production deployments use an external IdP instead (GatewaySettings.jwks_uri)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.config import DEFAULT_AUDIENCE, DEFAULT_ISSUER

ALGORITHM = "RS256"
PRIVATE_KEY_FILE = "signing_key.pem"
JWKS_FILE = "jwks.json"


@dataclass(frozen=True)
class KeyFiles:
    private_key: Path
    jwks: Path

    @classmethod
    def in_dir(cls, directory: Path) -> KeyFiles:
        return cls(directory / PRIVATE_KEY_FILE, directory / JWKS_FILE)


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def public_jwk(key: rsa.RSAPrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    members = {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
    # RFC 7638 thumbprint as kid: stable for a key, so regenerating the JWKS keeps it.
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    return {**members, "kid": kid, "alg": ALGORITHM, "use": "sig"}


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load_private_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path}: expected an RSA private key")
    return key


def _write_key(files: KeyFiles, key: rsa.RSAPrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_atomic(files.private_key, pem, 0o600)


def _write_jwks(files: KeyFiles, keys: list[dict[str, str]]) -> None:
    _write_atomic(files.jwks, json.dumps({"keys": keys}, indent=2).encode() + b"\n", 0o644)


def rotate_keys(directory: Path) -> KeyFiles:
    """A new signing key. The JWKS lists the new key first and keeps the previous one, so
    tokens signed before the rotation stay valid until they expire; keys older than that are
    dropped. The JWKS is written before the new key signs anything. Its readers see it at
    their next refresh (the chat service at once; Envoy within jwks_file_refresh_s): a token
    signed in between can be refused there for those few seconds."""
    files, _ = init_keys(directory)
    previous = public_jwk(load_private_key(files.private_key))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_jwks(files, [public_jwk(key), previous])
    _write_key(files, key)
    return files


def init_keys(directory: Path) -> tuple[KeyFiles, bool]:
    """Creates the signing key and its JWKS unless present. Returns (files, created).

    Idempotent: an existing key is never replaced (tokens already handed out stay valid, and a
    running Envoy keeps matching); a missing JWKS is rebuilt from the existing key.
    """
    files = KeyFiles.in_dir(directory)
    directory.mkdir(parents=True, exist_ok=True)
    created = False
    if files.private_key.exists():
        key = load_private_key(files.private_key)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write_key(files, key)
        created = True
    if created or not files.jwks.exists():
        _write_jwks(files, [public_jwk(key)])
        created = True
    return files, created


def mint_token(
    directory: Path,
    subject: str,
    *,
    ttl_s: int = 3600,
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
    extra_claims: dict[str, Any] | None = None,
    now: float | None = None,
) -> str:
    """A signed JWT for `subject` (the user id the chat service will see)."""
    if not subject:  # before the key is read: the same error whether or not there is one
        raise ValueError("subject must not be empty")
    return Minter(directory, ttl_s=ttl_s, issuer=issuer, audience=audience).mint(
        subject, extra_claims=extra_claims, now=now
    )


class Minter:
    """Signs tokens with the key in `directory`, loaded once (loading checks the RSA key, which
    costs far more than signing: a benchmark minting tokens for many users keeps one)."""

    def __init__(
        self,
        directory: Path,
        *,
        ttl_s: int = 3600,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
    ) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl must be positive")
        files = KeyFiles.in_dir(directory)
        if not files.private_key.exists():
            raise FileNotFoundError(
                f"no signing key in {directory}: "
                f"run `python -m gateway.keys init --dir {directory}`"
            )
        self.key = load_private_key(files.private_key)
        self.kid = public_jwk(self.key)["kid"]
        self.ttl_s, self.issuer, self.audience = ttl_s, issuer, audience

    def mint(
        self, subject: str, extra_claims: dict[str, Any] | None = None, now: float | None = None
    ) -> str:
        if not subject:
            raise ValueError("subject must not be empty")
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            **(extra_claims or {}),
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": issued,
            "exp": issued + self.ttl_s,
        }
        return jwt.encode(claims, self.key, algorithm=ALGORITHM, headers={"kid": self.kid})

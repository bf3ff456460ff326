"""The chat service's own check of the user's token (identity mode "jwt"), on real RS256 keys
made by the local issuer (gateway/jwt_keys.py)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import datetime, tzinfo
from pathlib import Path

import jwt
import pytest

from chat_service.jwt_identity import JwtIdentity
from gateway.jwt_keys import init_keys, mint_token
from server_kit.errors import Unauthenticated


def identity(keys: Path, max_lifetime_s: float = 86_400) -> JwtIdentity:
    return JwtIdentity(
        issuer="chatstack-local",
        audiences=["chatstack"],
        max_lifetime_s=max_lifetime_s,
        jwks_file=keys / "jwks.json",
    )


def bearer(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    init_keys(tmp_path / "keys")
    return tmp_path / "keys"


async def test_the_user_is_the_verified_subject(keys: Path) -> None:
    verifier = identity(keys)
    await verifier.start()
    token = mint_token(keys, "alice")
    # A forged identity header next to the token counts for nothing.
    assert await verifier.user_of([*bearer(token), ("x-chatstack-user", "bob")]) == "alice"


@pytest.mark.parametrize(
    "metadata",
    [
        [],
        [("x-chatstack-user", "alice")],  # the plain header alone: no longer an identity
        [("authorization", "Basic YWxpY2U6cHc=")],
        bearer("not-a-jwt"),
    ],
)
async def test_no_valid_token_no_identity(keys: Path, metadata: list[tuple[str, str]]) -> None:
    verifier = identity(keys)
    await verifier.start()
    with pytest.raises(Unauthenticated):
        await verifier.user_of(metadata)


async def test_tokens_of_another_key_issuer_or_audience_are_refused(
    keys: Path, tmp_path: Path
) -> None:
    verifier = identity(keys)
    await verifier.start()
    init_keys(tmp_path / "other")
    refused = [
        mint_token(tmp_path / "other", "alice"),  # signed by a key this service does not trust
        mint_token(keys, "alice", issuer="someone-else"),
        mint_token(keys, "alice", audience="another-app"),
        mint_token(keys, "alice", now=time.time() - 7200),  # expired an hour ago
    ]
    for token in refused:
        with pytest.raises(Unauthenticated):
            await verifier.user_of(bearer(token))


async def test_a_token_living_longer_than_the_maximum_is_refused(keys: Path) -> None:
    verifier = identity(keys, max_lifetime_s=3600)
    await verifier.start()
    assert await verifier.user_of(bearer(mint_token(keys, "alice", ttl_s=3600))) == "alice"
    with pytest.raises(Unauthenticated, match="lifetime"):
        await verifier.user_of(bearer(mint_token(keys, "alice", ttl_s=7200)))


async def test_a_rotated_key_is_used_without_a_restart(keys: Path, tmp_path: Path) -> None:
    verifier = identity(keys)
    await verifier.start()
    old = mint_token(keys, "alice")
    # Rotation: the new key's JWKS replaces the file (the old key is dropped).
    init_keys(tmp_path / "new")
    (keys / "jwks.json").write_text((tmp_path / "new" / "jwks.json").read_text())
    stat = os.stat(keys / "jwks.json")
    os.utime(keys / "jwks.json", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    new = mint_token(tmp_path / "new", "alice")
    deadline = time.monotonic() + 5
    while True:  # the file is checked at most once a second
        try:
            assert await verifier.user_of(bearer(new)) == "alice"
            break
        except Unauthenticated:
            assert time.monotonic() < deadline, "the rotated key was never picked up"
            await asyncio.sleep(0.1)
    with pytest.raises(Unauthenticated):
        await verifier.user_of(bearer(old))


async def test_a_remembered_token_is_forgotten_with_its_key_or_when_it_expires(
    keys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verified tokens are remembered (no second signature check), never past their expiry or
    a change of the key set."""
    verifier = identity(keys)
    await verifier.start()
    token = mint_token(keys, "alice", ttl_s=600)
    for _ in range(2):
        assert await verifier.user_of(bearer(token)) == "alice"
    later = time.time() + 3600

    class Later(datetime):  # PyJWT's clock, an hour on
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Later:
            return cls.fromtimestamp(later, tz)

    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: later)
        patch.setattr(jwt.api_jwt, "datetime", Later)
        with pytest.raises(Unauthenticated):
            await verifier.user_of(bearer(token))
    old = mint_token(keys, "alice")
    assert await verifier.user_of(bearer(old)) == "alice"
    init_keys(tmp_path / "new")
    (keys / "jwks.json").write_text((tmp_path / "new" / "jwks.json").read_text())
    stat = os.stat(keys / "jwks.json")
    os.utime(keys / "jwks.json", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    deadline = time.monotonic() + 5
    while True:  # the file is checked at most once a second
        try:
            await verifier.user_of(bearer(old))
        except Unauthenticated:
            break
        assert time.monotonic() < deadline, "a token of a withdrawn key was still accepted"
        await asyncio.sleep(0.1)


async def test_an_empty_key_set_fails_the_start(tmp_path: Path) -> None:
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": []}))
    verifier = JwtIdentity(
        issuer="i", audiences=["a"], max_lifetime_s=60, jwks_file=tmp_path / "jwks.json"
    )
    with pytest.raises(Exception, match="key"):
        await verifier.start()


async def test_a_jwks_file_missing_for_a_moment_keeps_the_keys(keys: Path) -> None:
    verifier = identity(keys)
    await verifier.start()
    token = mint_token(keys, "alice")
    (keys / "jwks.json").rename(keys / "jwks.json.moved")  # a rotation replacing the file
    await asyncio.sleep(1.1)  # past the once-a-second check
    assert await verifier.user_of(bearer(token)) == "alice"

"""The caller's identity from the user's own token, verified here (identity mode "jwt").

Envoy verifies every public request's bearer token and forwards it; the chat service verifies
it again, against the same keys, and takes the user id from its `sub`. So reaching the chat
service's port is not enough to act as someone: a caller needs a token the identity provider
signed for that user (a plain `x-chatstack-user` header, which anyone who can reach the port
could send, counts for nothing in this mode). See docs/security.md.

Keys come from a JWKS file (the local issuer's; re-read when the file changes, so a rotated
key is used without a restart) or from the identity provider's JWKS URL (fetched off the event
loop, cached, fetched again when a token names an unknown key).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import jwt

from chat_service.identity import bearer_of, check_user_id
from server_kit.errors import Unauthenticated

log = logging.getLogger(__name__)

ALGORITHMS = ["RS256", "ES256"]
_LEEWAY_S = 30  # clock skew between the issuer, Envoy and this service
_RECHECK_FILE_S = 1.0
_URI_REFRESH_MIN_S = 10.0  # an unknown key id refetches the JWKS at most this often
# Tokens already verified against the keys in use, remembered until they expire: a client
# sends the same token with every request, and checking its signature again was a share of
# each turn's CPU (docs/architecture.md, "Where the time goes"). Bounded, oldest out first.
_VERIFIED_MAX = 4096


class JwtIdentity:
    def __init__(
        self,
        *,
        issuer: str,
        audiences: Sequence[str],
        max_lifetime_s: float,
        jwks_file: Path | None = None,
        jwks_uri: str | None = None,
        uri_timeout_s: float = 5.0,
    ) -> None:
        if (jwks_file is None) == (jwks_uri is None):
            raise ValueError("give exactly one of a JWKS file and a JWKS URL")
        self.issuer = issuer
        self.audiences = list(audiences)
        self.max_lifetime_s = max_lifetime_s
        self._file = jwks_file
        self._uri = jwks_uri
        self._uri_timeout_s = uri_timeout_s
        self._keys: dict[str, Any] = {}  # kid -> public key
        self._file_stamp: tuple[int, int] | None = None
        self._checked_at = 0.0
        self._fetched_at = 0.0
        self._fetch_lock = asyncio.Lock()
        # token -> (user id, expiry): valid only for the key set it was verified against
        self._verified: dict[str, tuple[str, float]] = {}
        self._verified_with: dict[str, Any] | None = None

    async def start(self) -> None:
        """Loads the keys once, so a wrong path or URL fails the start, not the first call."""
        if self._file is not None:
            await asyncio.to_thread(self._reload_file)
        else:
            self._keys = await asyncio.to_thread(self._fetch_uri)
            self._fetched_at = time.monotonic()
        if not self._keys:
            raise ValueError(f"no usable signing key in {self._file or self._uri}")

    async def user_of(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
        token = bearer_of(metadata)
        await self._refresh(None)
        user = self._remembered(token)
        if user is not None:
            return user
        try:
            kid = str(jwt.get_unverified_header(token).get("kid", ""))
        except jwt.PyJWTError:
            raise _refused("the token is not a JWT") from None
        await self._refresh(kid)
        if kid:
            if kid not in self._keys:
                raise _refused("the token is signed by an unknown key")
            return self._verify(token, self._keys[kid])
        # No key id: a key that verifies it (a JWKS usually holds one or two).
        refusal = _refused("the token is signed by an unknown key")
        for key in self._keys.values():
            try:
                return self._verify(token, key)
            except Unauthenticated as exc:
                refusal = exc
        raise refusal

    def _remembered(self, token: str) -> str | None:
        """The user of a token verified before with the same keys, while it has not expired. A
        changed key set (a rotation, a key withdrawn) forgets every token."""
        if self._verified_with is not self._keys:
            self._verified.clear()
            self._verified_with = self._keys
            return None
        hit = self._verified.get(token)
        if hit is None:
            return None
        if time.time() > hit[1] + _LEEWAY_S:
            del self._verified[token]
            return None
        return hit[0]

    def _remember(self, token: str, user: str, expires_at: float) -> None:
        if len(self._verified) >= _VERIFIED_MAX:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (user, expires_at)

    def _verify(self, token: str, key: Any) -> str:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.audiences,
                issuer=self.issuer,
                leeway=_LEEWAY_S,
                options={"require": ["exp", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise _refused(f"the token is not valid: {exc}") from None
        lifetime = claims["exp"] - claims.get("iat", time.time())
        if lifetime > self.max_lifetime_s:
            raise _refused("the token's lifetime exceeds the maximum")
        subject = claims["sub"]
        if not isinstance(subject, str):
            raise _refused("the token names no user")
        user = check_user_id(subject)
        self._remember(token, user, float(claims["exp"]))
        return user

    async def _refresh(self, kid: str | None) -> None:
        """The file: re-read when it changed (checked at most every second). The URL: fetched
        again when a token names a key it lacks (at most every few seconds; None: no key is
        wanted yet)."""
        now = time.monotonic()
        if self._file is not None:
            if now - self._checked_at >= _RECHECK_FILE_S:
                self._checked_at = now
                try:
                    await asyncio.to_thread(self._reload_file)
                except (OSError, ValueError, jwt.PyJWTError):
                    # Mid-rotation (a file being replaced, or not valid yet): the keys loaded
                    # before stay in use; the next check tries again.
                    log.warning("re-reading the JWKS file failed; keeping its keys", exc_info=True)
            return
        if kid is None or kid in self._keys or now - self._fetched_at < _URI_REFRESH_MIN_S:
            return
        async with self._fetch_lock:
            if now - self._fetched_at < _URI_REFRESH_MIN_S:
                return  # fetched meanwhile
            self._fetched_at = time.monotonic()
            try:
                self._keys = await asyncio.to_thread(self._fetch_uri)
            except (OSError, jwt.PyJWTError) as exc:  # keep the keys we have
                if not self._keys:
                    raise Unauthenticated(
                        "the identity provider's keys are unavailable", reason="JWKS_UNAVAILABLE"
                    ) from exc

    def _reload_file(self) -> None:
        assert self._file is not None
        stat = os.stat(self._file)
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._file_stamp:
            self._keys = _parse_jwks(json.loads(self._file.read_bytes()))
            self._file_stamp = stamp

    def _fetch_uri(self) -> dict[str, Any]:
        assert self._uri is not None
        client = jwt.PyJWKClient(self._uri, cache_jwk_set=False, timeout=self._uri_timeout_s)
        return _parse_jwks(client.fetch_data())


def _parse_jwks(data: Any) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for jwk in jwt.PyJWKSet.from_dict(data).keys:
        if jwk.public_key_use in (None, "sig"):
            keys[str(jwk.key_id or "")] = jwk.key
    return keys


def _refused(why: str) -> Unauthenticated:
    return Unauthenticated(why, reason="BAD_IDENTITY")

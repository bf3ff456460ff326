"""Personal API keys (docs/security.md): created, listed and revoked by their user; checked on
every call that carries one, by the gateway (through the ext_authz check, ext_authz.py) and by
this service itself (KeyOrTokenIdentity), so reaching the port with a key is no different from
reaching it through Envoy.

A key is `sk-cs-` and 256 random bits (URL-safe base64). Only its SHA-256 is stored: a key is
random, so a fast hash is enough (no dictionary to try), and a lookup is one indexed read.
Checked keys are cached per replica for `api_key_cache_s` (unknown ones too, so a client
retrying a bad key does not reach the store each time): a revoked key stops working on every
replica within that time, and at once on the replica that revoked it."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Iterable

from chat_service.domain import utcnow
from chat_service.identity import Identity, bearer_of
from chat_service.ids import new_id
from chat_service.store.api_keys import ApiKeyRecord
from chat_service.timed_store import TimedStore
from server_kit.errors import InvalidArgument, NotFound, ResourceExhausted, Unauthenticated
from server_kit.headers import API_KEY_PREFIX

MAX_NAME_CHARS = 100
_CACHE_ENTRIES = 10_000


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def is_api_key(token: str) -> bool:
    return token.startswith(API_KEY_PREFIX)


class ApiKeys:
    def __init__(self, store: TimedStore, cache_s: float, max_per_user: int) -> None:
        self.store = store
        self.cache_s = cache_s
        self.max_per_user = max_per_user
        # key hash -> (user id or None for no such key, monotonic expiry)
        self._checked: OrderedDict[str, tuple[str | None, float]] = OrderedDict()

    async def create(self, user_id: str, name: str) -> tuple[ApiKeyRecord, str]:
        """The new key's record and its secret (returned this once)."""
        name = name.strip()
        if len(name) > MAX_NAME_CHARS:
            raise InvalidArgument("name", f"longer than {MAX_NAME_CHARS} characters")
        if len(await self.store.api_keys_of(user_id)) >= self.max_per_user:
            raise ResourceExhausted(
                f"at most {self.max_per_user} API keys per user: revoke one first",
                reason="TOO_MANY_API_KEYS",
            )
        secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
        record = ApiKeyRecord(
            user_id=user_id,
            key_id=new_id(),
            name=name,
            key_hash=key_hash(secret),
            hint=f"{API_KEY_PREFIX}…{secret[-4:]}",
            created_at=utcnow(),
        )
        await self.store.create_api_key(record)
        return record, secret

    async def list(self, user_id: str) -> list[ApiKeyRecord]:
        return await self.store.api_keys_of(user_id)

    async def revoke(self, user_id: str, key_id: str) -> None:
        keys = {k.key_id: k for k in await self.store.api_keys_of(user_id)}
        if key_id not in keys or not await self.store.delete_api_key(user_id, key_id):
            raise NotFound(f"no API key {key_id!r}", reason="API_KEY_NOT_FOUND")
        self._checked.pop(keys[key_id].key_hash, None)

    async def user_of(self, secret: str) -> str:
        """The key's owner; UNAUTHENTICATED for a key that is unknown or revoked."""
        digest = key_hash(secret)
        now = time.monotonic()
        cached = self._checked.get(digest)
        if cached is not None and cached[1] > now:
            user = cached[0]
        else:
            record = await self.store.api_key_by_hash(digest)
            user = record.user_id if record is not None else None
            self._remember(digest, user, now + self.cache_s)
        if user is None:
            raise Unauthenticated("the API key is not valid (unknown or revoked)",
                                  reason="BAD_API_KEY")  # fmt: skip
        return user

    def _remember(self, digest: str, user: str | None, until: float) -> None:
        self._checked[digest] = (user, until)
        self._checked.move_to_end(digest)
        while len(self._checked) > _CACHE_ENTRIES:
            self._checked.popitem(last=False)


class KeyOrTokenIdentity:
    """A call's user from its API key when it carries one, else from the configured identity
    (a verified JWT in a deployment)."""

    def __init__(self, inner: Identity, keys: ApiKeys) -> None:
        self.inner = inner
        self.keys = keys

    async def start(self) -> None:
        await self.inner.start()

    async def user_of(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
        key = api_key_of(metadata)
        if key is not None:
            return await self.keys.user_of(key)
        return await self.inner.user_of(metadata)


def api_key_of(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    """The call's API key, if its bearer token is one."""
    pairs = list(metadata or ())
    if not any(k == "authorization" for k, _ in pairs):
        return None
    try:
        token = bearer_of(pairs)
    except Unauthenticated:
        return None  # not a single bearer value: the inner identity says why
    return token if is_api_key(token) else None

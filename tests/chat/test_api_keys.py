"""API keys (chat_service/api_keys.py) on a real SQLite store: the secret is never stored, two
replicas sharing one store see a revocation at once (the revoking one) or within the cache time
(the other), a bad key is not looked up again and again, and the identity that accepts keys
leaves every other credential to the identity it wraps."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from chat_service.api_keys import ApiKeys, KeyOrTokenIdentity
from chat_service.identity import HeaderIdentity
from chat_service.store.sqlite_store import SqliteStore
from chat_service.timed_store import TimedStore
from server_kit.errors import InvalidArgument, NotFound, ResourceExhausted, Unauthenticated

CACHE_S = 0.5


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[TimedStore, TimedStore]]:
    """Two replicas' stores on one database."""
    path = str(tmp_path / "chat.db")
    inner = [SqliteStore(path), SqliteStore(path)]
    for store in inner:
        await store.start()
    yield TimedStore(inner[0], 5.0), TimedStore(inner[1], 5.0)
    for store in inner:
        await store.close()


def user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


async def test_the_secret_is_shown_once_and_stored_hashed(
    stores: tuple[TimedStore, TimedStore], tmp_path: Path
) -> None:
    keys = ApiKeys(stores[0], CACHE_S, max_per_user=5)
    owner = user()
    record, secret = await keys.create(owner, "laptop")
    assert secret.startswith("sk-cs-") and record.hint == "sk-cs-…" + secret[-4:]
    assert record.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert await keys.user_of(secret) == owner
    dump = "\n".join(sqlite3.connect(tmp_path / "chat.db").iterdump())
    assert secret not in dump and secret[6:] not in dump


async def test_a_revocation_reaches_the_other_replica_within_the_cache_time(
    stores: tuple[TimedStore, TimedStore],
) -> None:
    here, there = ApiKeys(stores[0], CACHE_S, 5), ApiKeys(stores[1], CACHE_S, 5)
    owner = user()
    record, secret = await here.create(owner, "")
    assert await here.user_of(secret) == owner
    assert await there.user_of(secret) == owner  # now cached there
    await here.revoke(owner, record.key_id)
    with pytest.raises(Unauthenticated):
        await here.user_of(secret)  # the revoking replica: at once
    deadline = time.monotonic() + 10 * CACHE_S
    while True:
        try:
            await there.user_of(secret)
        except Unauthenticated:
            break
        assert time.monotonic() < deadline, "the other replica kept accepting a revoked key"
        await asyncio.sleep(0.05)


async def test_an_unknown_key_is_remembered_not_looked_up_each_time(
    stores: tuple[TimedStore, TimedStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = ApiKeys(stores[0], cache_s=60, max_per_user=5)
    lookups = 0
    lookup = stores[0].api_key_by_hash

    async def counted(key_hash: str) -> object:
        nonlocal lookups
        lookups += 1
        return await lookup(key_hash)

    monkeypatch.setattr(stores[0], "api_key_by_hash", counted)
    for _ in range(20):
        with pytest.raises(Unauthenticated):
            await keys.user_of("sk-cs-" + "x" * 43)
    assert lookups == 1


async def test_names_limits_and_other_users_keys(stores: tuple[TimedStore, TimedStore]) -> None:
    keys = ApiKeys(stores[0], CACHE_S, max_per_user=2)
    owner, other = user(), user()
    with pytest.raises(InvalidArgument):
        await keys.create(owner, "x" * 101)
    first, _ = await keys.create(owner, "a")
    await keys.create(owner, "b")
    with pytest.raises(ResourceExhausted):
        await keys.create(owner, "c")
    with pytest.raises(NotFound):
        await keys.revoke(other, first.key_id)  # not theirs: as if it did not exist
    assert [k.name for k in await keys.list(owner)] == ["b", "a"]


async def test_the_identity_takes_keys_and_leaves_the_rest_to_the_inner_one(
    stores: tuple[TimedStore, TimedStore],
) -> None:
    keys = ApiKeys(stores[0], CACHE_S, 5)
    identity = KeyOrTokenIdentity(HeaderIdentity("x-chatstack-user"), keys)
    owner = user()
    _, secret = await keys.create(owner, "")

    def metadata(*pairs: tuple[str, str]) -> Iterable[tuple[str, str]]:
        return pairs

    # A key wins over a user header a caller may have added.
    by_key = metadata(("authorization", f"Bearer {secret}"), ("x-chatstack-user", "mallory"))
    assert await identity.user_of(by_key) == owner
    assert await identity.user_of(metadata(("x-chatstack-user", "bob"))) == "bob"
    with pytest.raises(Unauthenticated):
        await identity.user_of(metadata(("authorization", "Bearer sk-cs-unknown")))

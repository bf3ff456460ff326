"""The ApiKeyStore part of the store contract (the users' API keys), run unchanged against
SQLite and a real Cassandra node."""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import AsyncIterator, Callable

import pytest

from chat_service.domain import utcnow
from chat_service.ids import new_id
from chat_service.store.api_keys import ApiKeyRecord
from chat_service.store.base import HistoryStore
from tests.store.backends import BACKENDS, open_backend
from tests.store.records import new_user

Backend = tuple[HistoryStore, Callable[[], HistoryStore]]


@pytest.fixture(scope="module", params=BACKENDS)
async def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Backend]:
    async with open_backend(request, tmp_path_factory) as opened:
        yield opened


@pytest.fixture
def store(backend: Backend) -> HistoryStore:
    return backend[0]


def make_key(user_id: str, name: str = "") -> ApiKeyRecord:
    secret = "sk-cs-" + secrets.token_urlsafe(24)
    return ApiKeyRecord(
        user_id=user_id,
        key_id=new_id(),
        name=name,
        key_hash=hashlib.sha256(secret.encode()).hexdigest(),
        hint=f"sk-cs-…{secret[-4:]}",
        created_at=utcnow(),
    )


async def test_create_then_find_by_hash(store: HistoryStore) -> None:
    key = make_key(new_user(), name="laptop")
    await store.create_api_key(key)
    assert await store.api_key_by_hash(key.key_hash) == key
    await store.create_api_key(key)  # an upsert: writing it again changes nothing
    assert await store.api_keys_of(key.user_id) == [key]


async def test_unknown_hash_is_none(store: HistoryStore) -> None:
    assert await store.api_key_by_hash(hashlib.sha256(b"never issued").hexdigest()) is None


async def test_list_is_newest_first_and_only_the_users_own(store: HistoryStore) -> None:
    user, other = new_user(), new_user()
    keys = [make_key(user, name=f"key {i}") for i in range(4)]  # ids increase: oldest first
    await store.create_api_key(make_key(other))
    for key in random.sample(keys, len(keys)):  # the order of writes does not matter
        await store.create_api_key(key)
    assert await store.api_keys_of(user) == keys[::-1]
    assert await store.api_keys_of(new_user()) == []


async def test_delete_then_delete_again(store: HistoryStore) -> None:
    user = new_user()
    gone, kept = make_key(user), make_key(user)
    await store.create_api_key(gone)
    await store.create_api_key(kept)
    assert await store.delete_api_key(user, gone.key_id) is True
    assert await store.delete_api_key(user, gone.key_id) is False
    assert await store.api_key_by_hash(gone.key_hash) is None
    assert await store.api_keys_of(user) == [kept]
    assert await store.api_key_by_hash(kept.key_hash) == kept


async def test_another_users_key_id_is_no_such_key(store: HistoryStore) -> None:
    key = make_key(new_user())
    await store.create_api_key(key)
    assert await store.delete_api_key(new_user(), key.key_id) is False
    assert await store.api_keys_of(key.user_id) == [key]
    assert await store.api_key_by_hash(key.key_hash) == key


async def test_unknown_or_malformed_key_ids_are_no_such_key(store: HistoryStore) -> None:
    user = new_user()
    await store.create_api_key(make_key(user))
    assert await store.delete_api_key(user, new_id()) is False
    assert await store.delete_api_key(user, "not-a-key-id") is False
    assert len(await store.api_keys_of(user)) == 1


async def test_another_instance_sees_the_keys(backend: Backend) -> None:
    store, factory = backend
    key = make_key(new_user(), name="ci")
    await store.create_api_key(key)
    other = factory()
    await other.start()
    try:
        assert await other.api_key_by_hash(key.key_hash) == key
        assert await other.api_keys_of(key.user_id) == [key]
        assert await other.delete_api_key(key.user_id, key.key_id) is True
    finally:
        await other.close()
    assert await store.api_key_by_hash(key.key_hash) is None

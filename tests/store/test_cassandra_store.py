"""Cassandra-only behaviour the contract suite cannot reach: the schema version, and reads
that skip the partial chat row an update racing a delete can leave behind."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from chat_service.store._codec import to_ms
from chat_service.store.cassandra_store import CassandraStore
from tests.store.records import BASE_MS, at, make_chat, make_id, new_user

pytestmark = pytest.mark.cassandra


@pytest.fixture(scope="module")
async def cassandra(request: pytest.FixtureRequest) -> AsyncIterator[CassandraStore]:
    host, port = request.getfixturevalue("cassandra_endpoint")
    keyspace = f"cstore_{uuid.uuid4().hex[:12]}"
    store = CassandraStore([host], port=port, keyspace=keyspace, request_timeout_s=20.0)
    await store.start()
    yield store
    await asyncio.to_thread(store._session.execute, f"DROP KEYSPACE IF EXISTS {keyspace}", None, 60)
    await store.close()


async def test_schema_version_is_recorded(cassandra: CassandraStore) -> None:
    rows = await cassandra._execute(
        f"SELECT version FROM {cassandra._ks}.schema_version WHERE component = 'history'"
    )
    assert rows == [{"version": 7}]


async def test_reads_go_around_a_slow_replica_quickly(cassandra: CassandraStore) -> None:
    rows = await cassandra._execute(
        "SELECT table_name, speculative_retry FROM system_schema.tables WHERE keyspace_name = %s",
        (cassandra._ks,),
    )
    retry = {row["table_name"]: row["speculative_retry"] for row in rows}
    assert retry["messages"] == retry["chats_by_user"] == "MIN(99p,100ms)"


async def test_partial_chat_rows_are_skipped(cassandra: CassandraStore) -> None:
    user = new_user()
    chats = [make_chat(user, BASE_MS + i * 10) for i in range(5)]
    for chat in chats:
        await cassandra.create_chat(chat)
    # What update_chat racing delete_chat leaves: an UPDATE-only row without created_at.
    ghosts = [make_id(BASE_MS + 15), make_id(BASE_MS + 25), make_id(BASE_MS + 100)]
    for ghost in ghosts:
        await cassandra._execute(
            cassandra._stmt("update_chat"),
            ("ghost", False, "{}", to_ms(at(BASE_MS)), user, uuid.UUID(ghost)),
        )
    assert await cassandra.get_chat(user, ghosts[0]) is None
    newest_first = chats[::-1]
    assert await cassandra.list_chats(user, 2) == newest_first[:2]
    assert await cassandra.list_chats(user, 10) == newest_first
    page = await cassandra.list_chats(user, 2, before_chat_id=newest_first[1].chat_id)
    assert page == newest_first[2:4]


async def test_only_reads_are_sent_to_a_second_coordinator(cassandra: CassandraStore) -> None:
    statements = cassandra._ps
    assert statements["get_chat"].is_idempotent
    assert not statements["insert_message"].is_idempotent
    reads = [name for name, s in statements.items() if s.is_idempotent]
    assert all(statements[name].query_string.lstrip().startswith("SELECT") for name in reads)

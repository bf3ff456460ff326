"""The Cassandra fixture gives a working node: DDL, a write and a read over CQL."""

from __future__ import annotations

import uuid

import pytest
from cassandra.cluster import Cluster

from local_stack.launch.cassandra import parse_contact_point


@pytest.mark.cassandra
def test_write_and_read_a_row(cassandra_endpoint: tuple[str, int]) -> None:
    host, port = cassandra_endpoint
    keyspace = f"fixture_check_{uuid.uuid4().hex[:12]}"
    cluster = Cluster([host], port=port, connect_timeout=10)
    try:
        session = cluster.connect()
        session.default_timeout = 30  # DDL on a cold node sharing 2 cores can be slow
        session.execute(
            f"CREATE KEYSPACE {keyspace} WITH replication = "
            "{'class': 'SimpleStrategy', 'replication_factor': 1}"
        )
        try:
            session.execute(
                f"CREATE TABLE {keyspace}.messages "
                "(conversation_id uuid, seq int, body text, PRIMARY KEY (conversation_id, seq))"
            )
            conversation = uuid.uuid4()
            insert = session.prepare(
                f"INSERT INTO {keyspace}.messages (conversation_id, seq, body) VALUES (?, ?, ?)"
            )
            session.execute(insert, (conversation, 1, "hello"))
            session.execute(insert, (conversation, 2, "world"))
            rows = session.execute(
                f"SELECT seq, body FROM {keyspace}.messages WHERE conversation_id = %s",
                (conversation,),
            ).all()
            assert [(r.seq, r.body) for r in rows] == [(1, "hello"), (2, "world")]
        finally:
            session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")
    finally:
        cluster.shutdown()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.0.0.5:9042", ("10.0.0.5", 9042)),
        ("host1,host2", ("host1", 9042)),
        (" db.local:19042 , other:1 ", ("db.local", 19042)),
        ("[::1]:9142", ("::1", 9142)),
        ("::1", ("::1", 9042)),
    ],
)
def test_parse_contact_point(value: str, expected: tuple[str, int]) -> None:
    assert parse_contact_point(value) == expected

"""Builds the configured history store."""

from __future__ import annotations

import ast
import ssl
from pathlib import Path

from chat_service.config import StoreSettings
from chat_service.store.base import HistoryStore


def tls_context(settings: StoreSettings) -> ssl.SSLContext | None:
    """TLS to Cassandra when a CA is configured: the nodes' certificates are verified."""
    if not settings.cassandra_tls_ca_file:
        return None
    context = ssl.create_default_context(cafile=settings.cassandra_tls_ca_file)
    context.check_hostname = settings.cassandra_tls_verify_hostname
    return context


def make_store(settings: StoreSettings) -> HistoryStore:
    if settings.store == "cassandra":
        from chat_service.store.cassandra_store import CassandraStore

        replication = ast.literal_eval(settings.cassandra_replication)
        if not isinstance(replication, dict):
            raise ValueError("cassandra_replication must be a map, e.g. {'class': ...}")
        return CassandraStore(
            contact_points=[h.strip() for h in settings.cassandra_contact_points.split(",")],
            port=settings.cassandra_port,
            keyspace=settings.cassandra_keyspace,
            replication=replication,
            consistency=settings.cassandra_consistency,
            local_dc=settings.cassandra_local_dc or None,
            request_timeout_s=settings.store_timeout_s,
            username=settings.cassandra_username or None,
            password=settings.cassandra_password or None,
            ssl_context=tls_context(settings),
        )
    from chat_service.store.sqlite_store import SqliteStore

    Path(settings.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
    return SqliteStore(settings.sqlite_path)

"""The history store (chat_service/store/): which backend, where, and its deadline."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class StoreSettings(BaseModel):
    # history store
    store: Literal["sqlite", "cassandra"] = "sqlite"
    sqlite_path: str = Field(".run/chat.db", description="SQLite database file")
    cassandra_contact_points: str = Field("127.0.0.1", description="comma-separated hosts")
    cassandra_port: int = 9042
    cassandra_keyspace: str = "chatstack"
    cassandra_replication: str = Field(
        "{'class': 'SimpleStrategy', 'replication_factor': 1}",
        description="keyspace replication map (CQL); use NetworkTopologyStrategy in production",
    )
    cassandra_consistency: str = Field("LOCAL_QUORUM", description="consistency level")
    cassandra_local_dc: str = ""
    cassandra_username: str = ""
    cassandra_password: str = ""
    cassandra_tls_ca_file: str = Field(
        "",
        description="CA certificates that sign the nodes' (PEM): connect with TLS and verify "
        "them. Empty: plaintext",
    )
    cassandra_tls_verify_hostname: bool = Field(
        True, description="with TLS: the node's certificate must name the address dialled"
    )
    store_timeout_s: float = Field(5.0, gt=0, description="deadline of every store call")

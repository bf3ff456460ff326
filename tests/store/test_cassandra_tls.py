"""TLS to Cassandra (issue 15 item 2) on the session's real node, which serves its CQL port
with and without TLS (scripts/cassandra.sh makes it a CA and a certificate for 127.0.0.1)."""

from __future__ import annotations

import asyncio
import ssl
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chat_service.config import ChatSettings
from chat_service.store.base import StoreUnavailable
from chat_service.store.cassandra_store import CassandraStore
from chat_service.store.factory import make_store, tls_context
from local_stack.launch.cassandra import CassandraNode

pytestmark = pytest.mark.cassandra


@pytest.fixture
def node(cassandra_local_node: CassandraNode | None) -> CassandraNode:
    if cassandra_local_node is None:
        pytest.skip("an external cluster (CASSANDRA_CONTACT_POINTS): its TLS is its own")
    return cassandra_local_node


def settings_for(node: CassandraNode, ca: Path, timeout_s: float = 20) -> ChatSettings:
    return ChatSettings(  # type: ignore[call-arg]
        identity="header",
        store="cassandra",
        cassandra_contact_points=node.host,
        cassandra_port=node.cql_port,
        cassandra_keyspace=f"tls_{uuid.uuid4().hex[:12]}",
        cassandra_consistency="ONE",
        cassandra_tls_ca_file=str(ca),
        store_timeout_s=timeout_s,
    )


async def test_the_store_works_over_verified_tls(node: CassandraNode) -> None:
    settings = settings_for(node, node.run_dir / "tls" / "ca.pem")
    context = tls_context(settings)
    assert context is not None and context.check_hostname  # the certificate names 127.0.0.1
    store = make_store(settings)
    assert isinstance(store, CassandraStore)
    await store.start()
    try:
        rows = await store._execute("SELECT release_version FROM system.local")
        assert rows and rows[0]["release_version"].startswith("5.")
        # The driver really spoke TLS on that connection.
        connection = store._session.cluster.control_connection._connection
        assert isinstance(connection._socket, ssl.SSLSocket)
        drop = f"DROP KEYSPACE IF EXISTS {settings.cassandra_keyspace}"
        await asyncio.to_thread(store._session.execute, drop, None, 60)
    finally:
        await store.close()


def _another_ca(path: Path) -> Path:
    """A CA certificate of its own: the node's certificate is not signed by it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not the node's CA")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


async def test_a_node_whose_certificate_is_not_trusted_is_refused(
    node: CassandraNode, tmp_path: Path
) -> None:
    store = make_store(settings_for(node, _another_ca(tmp_path / "ca.pem"), 5))
    with pytest.raises(StoreUnavailable):
        await store.start()
    await store.close()

"""The answer cache talks to a Milvus server over TLS with credentials (issue 15): the server's
certificate is checked against the configured CA, and the user and password go with every call.

Milvus Lite has neither TLS nor users, so the server here is a real Milvus Lite server behind a
real Envoy that terminates TLS and lets a call through only with the expected `authorization`
metadata, which is what a Milvus server with authorization on checks (base64 of user:password).
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from chat_service.cache.store import CacheEntry, CacheKey, CacheStore, CacheUnavailable, MilvusAuth
from gateway.local_tls import ensure_local_certificate
from local_stack.launch.envoy import envoy_process
from local_stack.launch.milvus import start_milvus_lite_server
from server_kit.processes import free_port

USER, PASSWORD = "chat", "s3cret-for-the-test"


def front_config(cert: Path, key: Path, port: int, admin: int, milvus: int) -> dict[str, object]:
    """Envoy: TLS (h2) on `port`, calls with the right credentials to Milvus, others 401."""
    expected = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    routes = [
        {"match": {"prefix": "/", "headers": [
            {"name": "authorization", "string_match": {"exact": expected}}]},
         "route": {"cluster": "milvus", "timeout": "10s"}},
        {"match": {"prefix": "/"}, "direct_response": {"status": 401}},
    ]  # fmt: skip
    tls = {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3."
            "DownstreamTlsContext",
            "common_tls_context": {
                "alpn_protocols": ["h2"],
                "tls_certificates": [{"certificate_chain": {"filename": str(cert)},
                                      "private_key": {"filename": str(key)}}],
            },
        },
    }  # fmt: skip
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager"
        ".v3.HttpConnectionManager",
        "stat_prefix": "milvus_front",
        "codec_type": "HTTP2",
        "route_config": {"virtual_hosts": [{"name": "m", "domains": ["*"], "routes": routes}]},
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
    }  # fmt: skip
    h2 = {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        "explicit_http_config": {"http2_protocol_options": {}}}}  # fmt: skip
    address = {"socket_address": {"address": "127.0.0.1", "port_value": milvus}}
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin}}},
        "static_resources": {
            "listeners": [{
                "name": "front",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
                "filter_chains": [{"transport_socket": tls, "filters": [
                    {"name": "envoy.filters.network.http_connection_manager",
                     "typed_config": hcm}]}],
            }],
            "clusters": [{
                "name": "milvus", "type": "STATIC", "connect_timeout": "2s",
                "typed_extension_protocol_options": h2,
                "load_assignment": {"cluster_name": "milvus",
                                    "endpoints": [{"lb_endpoints": [{"endpoint": {
                                        "address": address}}]}]},
            }],
        },
    }  # fmt: skip


@pytest.fixture(scope="module")
def secured_milvus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(https URI of the TLS front, its CA file)."""
    work = tmp_path_factory.mktemp("secured-milvus")
    milvus, milvus_port = start_milvus_lite_server(work)
    cert, key = ensure_local_certificate(work / "tls")
    port, admin = free_port(), free_port()
    config = work / "front.yaml"
    config.write_text(yaml.safe_dump(front_config(cert, key, port, admin, milvus_port)))
    front = envoy_process(config, work / "front.log", admin, name="milvus-front")
    front.start()
    try:
        front.wait_ready(30)
        yield f"https://127.0.0.1:{port}", cert
    finally:
        front.stop()
        milvus.stop()


async def round_trip(store: CacheStore) -> list[str]:
    """Connects, stores one entry, finds it again; the ids found."""
    await store.connect()
    vector = [random.gauss(0, 1) for _ in range(store.dimension)]
    key = CacheKey("user:tls", "model", "s", "p", "")
    await store.upsert(CacheEntry("e1", vector, key, "user:tls", "chat", "q", "a", 1))
    return [c.entry_id for c in await store.search(vector, key, 0, 4, 5.0)]


async def test_tls_and_credentials_reach_the_server(secured_milvus: tuple[str, Path]) -> None:
    uri, ca = secured_milvus
    store = CacheStore(uri, auth=MilvusAuth(USER, PASSWORD, str(ca)), call_timeout_s=10)
    try:
        assert await round_trip(store) == ["e1"]
    finally:
        await store.close()
    assert PASSWORD not in repr(store.auth)


@pytest.mark.parametrize("what", ["wrong password", "no credentials", "another CA"])
async def test_a_wrong_secret_or_an_untrusted_server_is_refused(
    secured_milvus: tuple[str, Path], tmp_path: Path, what: str
) -> None:
    uri, ca = secured_milvus
    auth = {
        "wrong password": MilvusAuth(USER, "guess", str(ca)),
        "no credentials": MilvusAuth(tls_ca_file=str(ca)),
        "another CA": MilvusAuth(USER, PASSWORD, str(ensure_local_certificate(tmp_path)[0])),
    }[what]
    store = CacheStore(uri, auth=auth, call_timeout_s=3)
    try:
        with pytest.raises(CacheUnavailable):
            await round_trip(store)
    finally:
        await store.close()

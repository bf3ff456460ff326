"""What a client reads when a backend fails: the kind of failure, never the backend's own text
(host names, addresses, file paths), which goes to the chat service's log instead."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from chat_service.config import ChatSettings
from chat_service.domain import ChatRecord
from chat_service.embedding_client import map_rpc_error as embedding_error
from chat_service.inference_client import InferenceClient
from chat_service.inference_client import map_rpc_error as inference_error
from chat_service.store.base import StoreUnavailable
from chat_service.store.sqlite_store import SqliteStore
from chat_service.timed_store import TimedStore
from server_kit.errors import ServiceError, Unavailable
from server_kit.processes import free_port

SECRET_HOST = "10.1.2.3"


class BrokenStore(SqliteStore):
    """Test double: a store whose driver fails with its own (revealing) text."""

    async def list_chats(
        self, user_id: str, limit: int, before_chat_id: str | None = None
    ) -> list[ChatRecord]:
        raise StoreUnavailable(f"cassandra: NoHostAvailable: {SECRET_HOST}:9042 refused")


async def test_a_store_failure_does_not_name_the_store(tmp_path: Path) -> None:
    store = TimedStore(BrokenStore(str(tmp_path / "x.db")), timeout_s=5)
    with pytest.raises(Unavailable) as err:
        await store.list_chats("alice", 10, None)
    assert err.value.reason == "STORE_UNAVAILABLE"
    assert SECRET_HOST not in str(err.value) and "cassandra" not in str(err.value)


def rpc_error(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


@pytest.mark.parametrize("mapping", [inference_error, embedding_error])
@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL])
def test_a_backend_rpc_failure_does_not_name_the_backend(
    mapping: Callable[[grpc.aio.AioRpcError], ServiceError], code: grpc.StatusCode
) -> None:
    details = f"failed to connect to all addresses; last error: ipv4:{SECRET_HOST}:50052"
    error = mapping(rpc_error(code, details))
    assert isinstance(error, Unavailable)
    assert SECRET_HOST not in str(error) and "ipv4" not in str(error)


async def test_a_real_unreachable_inference_service_is_reported_without_its_address() -> None:
    port = free_port()
    settings = ChatSettings(  # type: ignore[call-arg]
        inference_address=f"127.0.0.1:{port}", count_tokens_timeout_s=2.0
    )
    client = InferenceClient(settings)
    try:
        with pytest.raises(Unavailable) as err:
            await client.count_texts(["hello"])
    finally:
        await client.close()
    assert str(port) not in str(err.value) and "127.0.0.1" not in str(err.value)

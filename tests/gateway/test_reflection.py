"""The API is discoverable through the gateway, as grpcurl, Postman or Kreya discover it: server
reflection answers on Envoy's public listener (with a token, like every call), lists only what
the gateway routes, and what it describes is enough to call the API (a dynamic CreateChat)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from tests.fixtures.stack import Gateway

CHAT_SERVICE = "chatstack.chat.v1.ChatService"


class _Bearer(grpc.UnaryUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds the caller's token to every call (what grpcurl's -H does)."""

    def __init__(self, token: str) -> None:
        self.metadata = (("authorization", f"Bearer {token}"),)

    def _with_token(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = (*(details.metadata or ()), *self.metadata)
        return details._replace(metadata=metadata)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._with_token(details), requests)


@pytest.fixture
def authed_channel(gateway: Gateway) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(gateway.grpc_address) as plain:
        yield grpc.intercept_channel(plain, _Bearer(gateway.token("reflection-user")))


def test_reflection_lists_the_public_api_and_describes_it_well_enough_to_call(
    authed_channel: grpc.Channel,
) -> None:
    database = ProtoReflectionDescriptorDatabase(authed_channel)
    assert sorted(database.get_services()) == [
        CHAT_SERVICE,
        "grpc.reflection.v1alpha.ServerReflection",
    ]
    pool = descriptor_pool.DescriptorPool(database)
    method = pool.FindServiceByName(CHAT_SERVICE).methods_by_name["CreateChat"]
    request_type = message_factory.GetMessageClass(method.input_type)
    response_type = message_factory.GetMessageClass(method.output_type)
    create = authed_channel.unary_unary(
        f"/{CHAT_SERVICE}/CreateChat",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_type.FromString,
    )
    request = request_type()
    request.title = "found by reflection"  # type: ignore[attr-defined]
    reply = create(request, timeout=30)
    assert reply.chat.chat_id and reply.chat.title == "found by reflection"


def test_reflection_needs_a_token_like_every_call(gateway: Gateway) -> None:
    with grpc.insecure_channel(gateway.grpc_address) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        with pytest.raises(grpc.RpcError) as refused:
            database.get_services()
    assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_a_reflection_stream_kept_open_is_answered_as_it_goes(gateway: Gateway) -> None:
    """grpcurl keeps one reflection stream open and asks one question at a time: each is
    answered while the stream stays open (a buffering gateway would wait for its end)."""
    auth = (("authorization", f"Bearer {gateway.token('reflection-user')}"),)
    async with grpc.aio.insecure_channel(gateway.grpc_address) as channel:
        call = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            metadata=auth, timeout=30
        )
        await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
        listed = await asyncio.wait_for(call.read(), 10)
        names = {s.name for s in listed.list_services_response.service}
        assert CHAT_SERVICE in names
        await call.write(
            reflection_pb2.ServerReflectionRequest(file_containing_symbol=CHAT_SERVICE)
        )
        described = await asyncio.wait_for(call.read(), 10)
        assert described.file_descriptor_response.file_descriptor_proto
        await call.done_writing()


async def test_an_unrouted_grpc_stream_is_unimplemented_at_once(gateway: Gateway) -> None:
    """A method the gateway does not route (here reflection v1, which clients try first) is
    refused as soon as it is asked, not when the stream would end."""
    auth = (("authorization", f"Bearer {gateway.token('reflection-user')}"),)
    async with grpc.aio.insecure_channel(gateway.grpc_address) as channel:
        call = channel.stream_stream(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )(metadata=auth, timeout=30)
        # Nothing written: the stream is open (headers sent) and its end never comes. A
        # message written would race the answer (a send on a closed stream fails in the client).
        code = await asyncio.wait_for(call.code(), 10)
    assert code is grpc.StatusCode.UNIMPLEMENTED

"""Personal API keys over REST through Envoy: created, listed, revoked; accepted wherever a
sign-in token is (REST, native gRPC), checked by Envoy's ext_authz filter and by the chat
service; never able to manage keys themselves."""

from __future__ import annotations

import re

import grpc
import pytest
from chatstack.chat.v1 import chat_pb2 as pb
from chatstack.chat.v1 import chat_pb2_grpc as pb_grpc

from tests.fixtures.gateway_client import call, create_chat, user_token
from tests.fixtures.stack import Gateway

SECRET = re.compile(r"^sk-cs-[A-Za-z0-9_-]{43}$")


def create_key(gw: Gateway, token: str, name: str) -> dict[str, str]:
    reply = call(gw, "POST", "/api-keys", {"name": name}, token)
    assert reply.status == 200, reply.body
    body: dict[str, str] = {**reply.json()["api_key"], "secret": reply.json()["secret"]}
    return body


def test_create_list_and_revoke(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    first = create_key(gateway, token, "laptop")
    second = create_key(gateway, token, " ci ")
    assert SECRET.match(first["secret"]) and first["secret"] != second["secret"]
    assert first["hint"] == "sk-cs-…" + first["secret"][-4:]
    assert second["name"] == "ci"
    listed = call(gateway, "GET", "/api-keys", token=token).json()["api_keys"]
    assert [k["key_id"] for k in listed] == [second["key_id"], first["key_id"]]  # newest first
    assert all("secret" not in k and k["create_time"] for k in listed)
    assert call(gateway, "DELETE", f"/api-keys/{first['key_id']}", token=token).status == 200
    gone = call(gateway, "DELETE", f"/api-keys/{first['key_id']}", token=token)
    assert gone.status == 404 and gone.json()["code"] == 5
    listed = call(gateway, "GET", "/api-keys", token=token).json()["api_keys"]
    assert [k["key_id"] for k in listed] == [second["key_id"]]


def test_keys_are_private_to_their_user(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    _, other = user_token(gateway)
    key = create_key(gateway, token, "mine")
    assert call(gateway, "GET", "/api-keys", token=other).json().get("api_keys", []) == []
    refused = call(gateway, "DELETE", f"/api-keys/{key['key_id']}", token=other)
    assert refused.status == 404
    # The key acts as its owner: their chats, not the other user's.
    chat_id = create_chat(gateway, token, "Owned")
    assert call(gateway, "GET", f"/chat/{chat_id}", token=key["secret"]).status == 200
    assert call(gateway, "GET", f"/chat/{chat_id}", token=other).status == 404


def test_a_key_cannot_manage_keys(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    key = create_key(gateway, token, "scoped")
    for method, path, body in (
        ("POST", "/api-keys", {"name": "more"}),
        ("GET", "/api-keys", None),
        ("DELETE", f"/api-keys/{key['key_id']}", None),
    ):
        reply = call(gateway, method, path, body, key["secret"])
        assert reply.status == 403, (method, path, reply.body)
        assert reply.json()["details"][0]["reason"] == "API_KEY_NOT_ALLOWED"


def test_bad_names_and_unknown_keys(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    long = call(gateway, "POST", "/api-keys", {"name": "x" * 101}, token)
    assert long.status == 400 and "name" in long.json()["message"]
    unknown = call(gateway, "GET", "/chats", token="sk-cs-" + "A" * 43)
    assert unknown.status == 401
    assert "not valid" in unknown.json()["message"]
    assert call(gateway, "GET", "/chats").status == 401  # no credential at all


def test_a_key_works_over_native_grpc_and_stops_when_revoked(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    key = create_key(gateway, token, "grpc")
    metadata = (("authorization", f"Bearer {key['secret']}"),)
    with grpc.insecure_channel(gateway.grpc_address) as channel:
        stub = pb_grpc.ChatServiceStub(channel)
        created = stub.CreateChat(pb.CreateChatRequest(title="Via key"), metadata=metadata,
                                  timeout=30)  # fmt: skip
        assert created.chat.title == "Via key"
        assert call(gateway, "DELETE", f"/api-keys/{key['key_id']}", token=token).status == 200
        with pytest.raises(grpc.RpcError) as refused:
            stub.ListChats(pb.ListChatsRequest(), metadata=metadata, timeout=30)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    listed = call(gateway, "GET", "/chats", token=token).json()["chats"]
    assert [c["title"] for c in listed] == ["Via key"]  # the key acted as its owner

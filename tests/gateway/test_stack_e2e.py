"""The system as a user meets it, through a real Envoy in front of the real services: every REST
call, native gRPC, auth and error bodies, client disconnects, and failover between two inference
replicas behind Envoy's internal listener. Waits poll against deadlines (a loaded 2-core box)."""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path
from typing import Any, BinaryIO

import grpc
import pytest
from chatstack.chat.v1 import chat_pb2 as pb
from chatstack.chat.v1 import chat_pb2_grpc as pb_grpc
from chatstack.embedding.v1 import embedding_pb2, embedding_pb2_grpc
from chatstack.inference.v1 import inference_pb2, inference_pb2_grpc

from gateway.jwt_keys import init_keys, mint_token
from local_stack.launch.metrics import metric_value
from tests.fixtures.gateway_client import (
    COUNTING,
    assert_completed,
    call,
    cluster_hosts,
    complete_sse,
    create_chat,
    open_sse,
    sse,
    user_token,
    wait_for,
)
from tests.fixtures.replicas import ReplicaStack
from tests.fixtures.services import RunningService
from tests.fixtures.stack import Gateway

# --- REST -----------------------------------------------------------------------------------


def test_chat_lifecycle_over_rest(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    chat_id = create_chat(gateway, token, "Numbers")

    events = complete_sse(gateway, token, chat_id, COUNTING)
    text = assert_completed(events)
    assert len(events) >= 3, "expected several deltas"  # streamed, not one blob

    reply = call(gateway, "GET", f"/chat/{chat_id}", token=token)
    assert reply.status == 200, reply.body
    got = reply.json()
    assert got["chat"]["title"] == "Numbers"
    user_msg, answer = got["messages"]
    assert (user_msg["role"], user_msg["content"]) == ("ROLE_USER", COUNTING)
    assert answer["role"] == "ROLE_ASSISTANT"
    assert answer["status"] == "MESSAGE_STATUS_COMPLETE"
    assert answer["content"] == text
    assert answer["message_id"] == events[-1]["final"]["assistant_message_id"]

    reply = call(gateway, "DELETE", f"/chat/{chat_id}", token=token)
    assert (reply.status, reply.json()) == (200, {})
    assert call(gateway, "DELETE", f"/chat/{chat_id}", token=token).status == 404  # AIP-135
    reply = call(gateway, "GET", f"/chat/{chat_id}", token=token)
    assert reply.status == 404
    assert reply.headers["content-type"] == "application/json"
    assert reply.json()["code"] == 5


def test_list_chats_pages_newest_first(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    created = [create_chat(gateway, token, f"chat {i}") for i in range(3)]
    seen: list[str] = []
    page_token = ""
    for _ in range(3):
        reply = call(gateway, "GET", f"/chats?page_size=2&page_token={page_token}", token=token)
        assert reply.status == 200, reply.body
        page = reply.json()
        assert len(page["chats"]) <= 2
        seen += [chat["chat_id"] for chat in page["chats"]]
        page_token = page["next_page_token"]
        if not page_token:
            break
    assert seen == created[::-1]


def test_native_grpc_through_envoy(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    auth = (("authorization", f"Bearer {token}"),)
    with grpc.insecure_channel(gateway.grpc_address) as channel:
        stub = pb_grpc.ChatServiceStub(channel)
        chat = stub.CreateChat(pb.CreateChatRequest(title="grpc"), metadata=auth, timeout=30).chat
        stream = stub.Complete(
            pb.CompleteRequest(
                chat_id=chat.chat_id,
                content=COUNTING,
                sampling=pb.SamplingSettings(temperature=0, max_tokens=8),
            ),
            metadata=auth,
            timeout=120,
        )
        kinds = [event.WhichOneof("event") for event in stream]
        assert kinds[-1] == "final" and set(kinds[:-1]) == {"delta"}, kinds
        with pytest.raises(grpc.RpcError) as err:
            stub.ListChats(pb.ListChatsRequest(), timeout=30)  # no token
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # The same chat over REST: the identity came from the token's `sub`.
    reply = call(gateway, "GET", f"/chat/{chat.chat_id}", token=token)
    assert reply.status == 200 and len(reply.json()["messages"]) == 2
    assert call(gateway, "GET", f"/chat/{chat.chat_id}", token=gateway.token("other")).status == 404


def test_missing_or_bad_token_is_401_json(gateway: Gateway, tmp_path: Path) -> None:
    reply = call(gateway, "POST", "/chat", {})
    assert reply.status == 401
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {"code": 16, "message": "Jwt is missing", "details": []}

    reply = call(gateway, "GET", "/chats", token="not-a-jwt")
    assert reply.status == 401
    assert reply.json()["code"] == 16 and reply.json()["message"].startswith("Jwt")

    init_keys(tmp_path)  # a key Envoy does not trust
    reply = call(gateway, "GET", "/chats", token=mint_token(tmp_path, "mallory"))
    assert reply.status == 401
    assert reply.json() == {
        "code": 16,
        "message": "Jwks doesn't have key to match kid or alg from Jwt",
        "details": [],
    }


def test_a_retried_post_chat_returns_the_same_chat(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    body = {"title": "Retried", "client_request_id": "create-1"}
    first, again = (call(gateway, "POST", "/chat", body, token) for _ in range(2))
    assert first.status == again.status == 200
    assert again.json()["chat"]["chat_id"] == first.json()["chat"]["chat_id"]
    listed = call(gateway, "GET", "/chats", token=token).json()["chats"]
    assert [c["chat_id"] for c in listed] == [first.json()["chat"]["chat_id"]]


def test_another_users_chat_is_404(gateway: Gateway) -> None:
    _, alice = user_token(gateway)
    _, bob = user_token(gateway)
    chat_id = create_chat(gateway, alice)
    for method, path, body in [
        ("GET", f"/chat/{chat_id}", None),
        ("POST", f"/chat/{chat_id}/completion", {"content": "hi"}),
        ("DELETE", f"/chat/{chat_id}", None),
    ]:
        reply = call(gateway, method, path, body, token=bob)
        assert reply.status == 404, (method, path, reply.body)
        assert reply.json()["code"] == 5
    # allow_missing: a retried delete succeeds, and still touches nothing of alice's
    reply = call(gateway, "DELETE", f"/chat/{chat_id}?allow_missing=true", token=bob)
    assert (reply.status, reply.json()) == (200, {})
    assert call(gateway, "GET", f"/chat/{chat_id}", token=alice).status == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "names"),
    [
        ("POST", "/chat", '{"title": ', "Unexpected end of string"),
        ("POST", "/chat", '{"title": 5}', "title"),
        ("POST", "/chat", {"settings": {"history_policy": "NOPE"}}, "settings.history_policy"),
        ("POST", "/chat", {"title": "x" * 1000}, "title"),
        ("POST", "/chat/{chat}/completion", '{"content": "hi"', "Unexpected end of string"),
        ("POST", "/chat/{chat}/completion", {"content": 5}, "content"),
        ("POST", "/chat/{chat}/completion", {"content": ""}, "content"),
        ("POST", "/chat/not-a-chat-id/completion", {"content": "hi"}, "chat_id"),
        ("GET", "/chats?page_size=abc", None, "page_size"),
        ("GET", "/chats?page_size=1000", None, "page_size"),
    ],
    ids=[
        "malformed-json", "title-type", "enum-value", "title-length", "completion-malformed",
        "content-type", "content-empty", "chat-id", "page-size-type", "page-size-range",
    ],
)  # fmt: skip
def test_bad_input_is_400_json(
    gateway: Gateway, method: str, path: str, body: object, names: str
) -> None:
    _, token = user_token(gateway)
    if "{chat}" in path:
        path = path.format(chat=create_chat(gateway, token))
    reply = call(gateway, method, path, body, token)
    assert reply.status == 400, reply.body
    assert reply.headers["content-type"] == "application/json"
    error = reply.json()
    assert error["code"] == 3
    assert names in error["message"]
    assert isinstance(error["details"], list)
    # Errors raised by the chat service carry google.rpc details naming the field too.
    for detail in error["details"]:
        if detail["@type"].endswith("google.rpc.BadRequest"):
            assert [v["field"] for v in detail["field_violations"]] == [names]


def test_oversize_body_is_413_json(gateway: Gateway) -> None:
    _, token = user_token(gateway)
    big = {"title": "x" * (gateway.settings.max_request_bytes + 1024)}
    reply = call(gateway, "POST", "/chat", big, token)
    assert reply.status == 413
    assert reply.json() == {"code": 8, "message": "Payload Too Large", "details": []}


# --- stop means stop ------------------------------------------------------------------------


def test_client_disconnect_interrupts_the_turn_and_the_engine(
    gateway: Gateway, inference_server: RunningService
) -> None:
    _, token = user_token(gateway)
    chat_id = create_chat(gateway, token)
    cancelled = {"outcome": "cancelled"}
    before = metric_value(inference_server.metrics_url, "inference_requests_total", cancelled)

    body = {
        "content": "Write a very long story about a dragon.",
        "sampling": {"max_tokens": 400},
        "bypass_cache": True,
    }
    sock = open_sse(gateway, token, chat_id, body)
    with sock.makefile("rb") as stream:
        assert b" 200 " in stream.readline()
        deltas = 0
        while deltas < 3:  # chunked framing lines are skipped; each event is one line
            line = stream.readline()
            assert line, "the stream ended before three deltas"
            deltas += line.startswith(b'data: {"delta"')
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()

    def settled() -> dict[str, Any] | None:
        messages = call(gateway, "GET", f"/chat/{chat_id}", token=token).json()["messages"]
        answer: dict[str, Any] = messages[-1]
        return answer if answer["status"] != "MESSAGE_STATUS_PENDING" else None

    answer = wait_for("the turn to be stored as interrupted", settled, 30)
    assert answer["status"] == "MESSAGE_STATUS_INTERRUPTED"
    assert answer["content"]  # the partial reply is kept
    wait_for(
        "inference to count a cancelled generation",
        lambda: (
            metric_value(inference_server.metrics_url, "inference_requests_total", cancelled)
            > before
        ),
        30,
    )


# --- the whole system on the vLLM engine ------------------------------------------------------


@pytest.mark.vllm
def test_a_turn_stop_and_a_cached_answer_on_vllm(
    gateway_vllm: Gateway, inference_server_vllm: RunningService
) -> None:
    """A user of the vLLM (CPU build) stack through Envoy: a streamed turn, Stop (the browser
    drops the stream: vLLM aborts the request), and the same question again from the cache."""
    gw, url = gateway_vllm, inference_server_vllm.metrics_url
    _, token = user_token(gw)
    chat_id = create_chat(gw, token)
    question = {"content": "What is the capital of France?"}
    first = sse(gw, token, "POST", f"/chat/{chat_id}/completion", question)
    assert "Paris" in assert_completed(first)
    assert not first[-1]["final"].get("cached")

    cancelled = {"outcome": "cancelled"}
    before = metric_value(url, "inference_requests_total", cancelled)
    story = {"content": "Write a very long story.", "sampling": {"max_tokens": 1500},
             "bypass_cache": True}  # fmt: skip
    sock = open_sse(gw, token, create_chat(gw, token), story)
    with sock.makefile("rb") as stream:
        while not stream.readline().startswith(b'data: {"delta"'):
            pass
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    wait_for(
        "vLLM to abort the stopped turn",
        lambda: (
            metric_value(url, "inference_requests_total", cancelled) > before
            and metric_value(url, "vllm:num_requests_running") == 0
        ),
        30,
    )

    generated = metric_value(url, "vllm:generation_tokens_total")
    again = sse(gw, token, "POST", f"/chat/{create_chat(gw, token)}/completion", question)
    assert again[-1]["final"]["cached"]
    cached_text = "".join(event["delta"]["text"] for event in again[:-1])
    assert cached_text == assert_completed(first)
    assert metric_value(url, "vllm:generation_tokens_total") == generated  # no engine work


# --- the internal listener: two inference replicas ------------------------------------------


def test_internal_listener_routes_by_service(replica_stack: ReplicaStack) -> None:
    with grpc.insecure_channel(replica_stack.internal_address) as channel:
        models = inference_pb2_grpc.InferenceServiceStub(channel).ListModels(
            inference_pb2.ListModelsRequest(), timeout=30
        )
        assert models.default_model
        vectors = embedding_pb2_grpc.EmbeddingServiceStub(channel).Embed(
            embedding_pb2.EmbedRequest(texts=["hi", "there"]), timeout=30
        )
        assert len(vectors.embeddings) == 2
        with pytest.raises(grpc.RpcError) as err:  # the chat API is not served here
            pb_grpc.ChatServiceStub(channel).ListChats(pb.ListChatsRequest(), timeout=30)
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED


def stream_on_replica(
    stack: ReplicaStack, token: str, tries: int = 12
) -> tuple[str, BinaryIO, socket.socket]:
    """Starts long completions on new chats until one streams from the killable replica
    (chat-affine hashing decides which); returns it mid-stream."""
    body = {"content": "Write a very long story.", "sampling": {"max_tokens": 1500}}
    for _ in range(tries):
        chat_id = create_chat(stack.gateway, token)
        sock = open_sse(stack.gateway, token, chat_id, {**body, "bypass_cache": True})
        sock.settimeout(60)
        stream = sock.makefile("rb")
        assert b" 200 " in stream.readline()
        while not stream.readline().startswith(b'data: {"delta"'):
            pass
        if metric_value(stack.own.metrics_url, "inference_running_requests") == 1:
            return chat_id, stream, sock
        stream.close()
        sock.close()  # a disconnect: that turn is interrupted, the shared replica freed
        wait_for(
            "the shared replica to be idle",
            lambda: metric_value(stack.shared.metrics_url, "inference_running_requests") == 0,
            30,
        )
    raise AssertionError(f"no chat of {tries} was routed to the killable replica")


def read_events_until_end(stream: BinaryIO) -> list[dict[str, Any]]:
    """SSE events up to the final or error event (the connection itself stays open)."""
    events: list[dict[str, Any]] = []
    for line in iter(stream.readline, b""):
        if line.startswith(b"data: "):
            events.append(json.loads(line[len(b"data: ") :]))
            if "final" in events[-1] or "error" in events[-1]:
                break
    return events


def test_turns_survive_a_killed_inference_replica(replica_stack: ReplicaStack) -> None:
    gw = replica_stack.gateway
    shared, own = replica_stack.shared.address, replica_stack.own.address
    wait_for(
        "both replicas healthy",
        lambda: cluster_hosts(gw, "inference") == {shared: "healthy", own: "healthy"},
        30,
    )
    _, token = user_token(gw)
    assert_completed(complete_sse(gw, token, create_chat(gw, token), COUNTING))

    # Kill the replica while it streams a turn: that turn ends with an in-band error (the
    # client already has HTTP 200) and is stored as failed.
    chat_id, stream, sock = stream_on_replica(replica_stack, token)
    replica_stack.own.process.signal(signal.SIGKILL)
    with sock, stream:
        events = read_events_until_end(stream)
    assert "error" in events[-1], events[-3:]
    assert events[-1]["error"]["code"] == 14  # UNAVAILABLE
    answer = call(gw, "GET", f"/chat/{chat_id}", token=token).json()["messages"][-1]
    assert answer["status"] == "MESSAGE_STATUS_FAILED", answer
    assert answer["error"]

    # Active health checks (1 s apart, 2 failures) or outlier ejection take it out.
    wait_for(
        "Envoy to take the killed replica out",
        lambda: cluster_hosts(gw, "inference").get(own, "healthy") != "healthy",
        30,
    )
    completed = {"outcome": "completed"}
    before = metric_value(replica_stack.shared.metrics_url, "inference_requests_total", completed)
    turns = 3
    for _ in range(turns):
        assert_completed(complete_sse(gw, token, create_chat(gw, token), COUNTING))
    after = metric_value(replica_stack.shared.metrics_url, "inference_requests_total", completed)
    assert after - before == turns  # all served by the surviving replica

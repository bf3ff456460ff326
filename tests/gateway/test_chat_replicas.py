"""Two chat replicas behind Envoy's public listener (issue 7), sharing one SQLite file and one
answer cache (a Milvus Lite server): any replica serves any turn, and a replica killed during a
turn loses nothing that was acknowledged, leaves the user's message of that turn in the store and
affects no turn on the other replica. Waits poll against deadlines (a loaded 2-core box)."""

from __future__ import annotations

import argparse
import json
import signal
import socket
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import pytest

from chat_service.cache.store import CacheStore
from local_stack.launch.metrics import metric_value
from local_stack.options import (
    chat_ports,
    check_ports,
    inference_ports,
    place_ports,
    shared_cache,
)
from tests.fixtures.gateway_client import (
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
from tests.fixtures.replicas import ABANDONED_TURN_S, ChatReplicas
from tests.fixtures.stack import Gateway

LONG_QUESTION = "Write a very long story about a lighthouse keeper and the sea."
COMPLETE_OK = {"method": "/chatstack.chat.v1.ChatService/Complete", "code": "OK"}


def active_requests(gw: Gateway) -> dict[str, int]:
    """Chat replica (host:port) -> requests Envoy has in flight to it, from admin /clusters."""
    with urllib.request.urlopen(f"{gw.admin_url}/clusters", timeout=10) as reply:
        lines = reply.read().decode().splitlines()
    active = {}
    for line in lines:
        parts = line.split("::")
        if len(parts) == 4 and parts[0] == "chat" and parts[2] == "rq_active":
            active[parts[1]] = int(parts[3])
    return active


def post_turn(gw: Gateway, token: str, chat_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """A completion read to its end: the SSE `data:` payloads, in order."""
    return sse(gw, token, "POST", f"/chat/{chat_id}/completion", body)


def messages_of(gw: Gateway, token: str, chat_id: str) -> list[dict[str, Any]]:
    reply = call(gw, "GET", f"/chat/{chat_id}?page_size=100", token=token)
    assert reply.status == 200, reply.body
    messages: list[dict[str, Any]] = reply.json()["messages"]
    return messages


@dataclass
class Ending:
    status: int  # HTTP status
    events: list[dict[str, Any]]  # the SSE `data:` payloads (or the JSON error of a non-200)
    whole: bool  # the body ended properly, not by the connection dropping


@dataclass
class Turn:
    """A completion sent on a raw socket (so that the test sees how the response ends, which
    http.client hides), its response not read yet, and the replica Envoy sent it to."""

    chat_id: str
    question: str
    sock: socket.socket
    stream: BinaryIO
    replica: str
    status: int = 0  # once the head is read
    headers: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    unparsed: bytes = b""  # the body read so far, after its last complete line

    def _read_head(self) -> None:
        self.status = int(self.stream.readline().split()[1])
        for line in iter(self.stream.readline, b"\r\n"):
            name, _, value = line.decode().partition(":")
            self.headers[name.strip().lower()] = value.strip()

    def _read_chunk(self) -> bytes:
        """The next chunk of a chunked body (b"" for the last one); ConnectionError when the
        connection ends first."""
        size_line = self.stream.readline()
        if not size_line.endswith(b"\r\n"):
            raise ConnectionResetError("the connection dropped")
        size = int(size_line, 16)
        chunk = self.stream.read(size + 2) if size else b""
        if len(chunk) < size + 2 and size:
            raise ConnectionResetError("the connection dropped")
        if size == 0:
            self.stream.readline()  # the blank line after the last chunk
        lines, _, self.unparsed = (self.unparsed + chunk[:size]).rpartition(b"\n")
        for line in lines.splitlines():
            if line.startswith(b"data: "):
                self.events.append(json.loads(line[len(b"data: ") :]))
        return chunk[:size]

    def first_delta(self) -> None:
        self._read_head()
        assert self.status == 200 and self.headers.get("transfer-encoding") == "chunked"
        while not self.events:
            assert self._read_chunk(), "the stream ended without a delta"
        assert "delta" in self.events[0], self.events

    def finish(self) -> Ending:
        """Reads the response to its end, or to the connection dropping."""
        with self.sock, self.stream:
            try:
                if not self.status:
                    self._read_head()
                if self.headers.get("transfer-encoding") != "chunked":  # an error reply
                    body = self.stream.read(int(self.headers["content-length"]))
                    return Ending(self.status, [json.loads(body)], True)
                while self._read_chunk():
                    pass
                return Ending(self.status, self.events, True)
            except ConnectionError:
                return Ending(self.status, self.events, False)


def start_turn(gw: Gateway, token: str, chat_id: str, body: dict[str, Any]) -> Turn:
    """Sends a completion and finds the replica serving it: the one whose in-flight count
    went up (nothing else may start meanwhile)."""
    before = active_requests(gw)
    sock = open_sse(gw, token, chat_id, body)
    sock.settimeout(120)
    after = wait_for(
        "Envoy to forward the turn",
        lambda: (now := active_requests(gw)) and sum(now.values()) > sum(before.values()) and now,
        30,
    )
    (replica,) = [host for host, count in after.items() if count > before.get(host, 0)]
    return Turn(chat_id, str(body["content"]), sock, sock.makefile("rb"), replica)


@pytest.fixture
def healthy(chat_replicas: ChatReplicas) -> Iterator[list[str]]:
    """The replicas' addresses, once Envoy sees both healthy (and nothing in flight)."""
    gw = chat_replicas.gateway
    addresses = [replica.address for replica in chat_replicas.replicas]
    wait_for(
        "both chat replicas healthy",
        lambda: cluster_hosts(gw, "chat") == dict.fromkeys(addresses, "healthy"),
        60,
    )
    wait_for("no chat request in flight", lambda: not any(active_requests(gw).values()), 60)
    yield addresses


def test_the_replicas_share_one_answer_cache(
    chat_replicas: ChatReplicas, healthy: list[str]
) -> None:
    gw = chat_replicas.gateway
    _, token = user_token(gw)
    # Room for the whole answer: an answer cut at max_tokens is never cached.
    question = {"content": "What is the capital of Italy?", "sampling": {"max_tokens": 64}}

    def hits() -> list[float]:
        return [
            metric_value(r.metrics_url, "chat_cache_lookups_total", {"result": "hit"})
            for r in chat_replicas.replicas
        ]

    before = hits()
    # The same question in new chats until each replica has answered it from the cache that
    # a turn on either of them filled (Envoy picks the replica: least request, ties random).
    for _ in range(24):
        events = post_turn(gw, token, create_chat(gw, token), question)
        assert "final" in events[-1], events[-3:]
        if all(now > then for now, then in zip(hits(), before, strict=True)):
            return
    pytest.fail(f"not both replicas served a cache hit: before {before}, after {hits()}")


async def test_a_milvus_lite_server_is_flushed_like_milvus_lite(
    chat_replicas: ChatReplicas,
) -> None:
    """Lite searches unflushed rows by brute force: a client of a Lite server flushes as the
    in-process one does (a real Milvus server seals segments itself)."""
    vectors = CacheStore(chat_replicas.cache_uri)
    await vectors.connect()
    try:
        assert not vectors.lite and vectors.flushes
    finally:
        await vectors.close()


def test_a_replica_killed_mid_turn_loses_nothing_acknowledged(
    chat_replicas: ChatReplicas, healthy: list[str]
) -> None:
    gw = chat_replicas.gateway
    _, token = user_token(gw)
    acknowledged: dict[str, list[str]] = {}  # chat id -> questions whose turn completed

    def turn(chat_id: str, question: str) -> None:
        assert_completed(complete_sse(gw, token, chat_id, question))
        acknowledged.setdefault(chat_id, []).append(question)

    for index in range(3):
        turn(create_chat(gw, token), f"Name a colour, please ({index}).")

    # A long turn; the replica streaming it is the one to kill.
    long_body = {
        "content": LONG_QUESTION,
        "client_request_id": "long-turn",
        "sampling": {"max_tokens": 1500},
        "bypass_cache": True,
    }
    long = start_turn(gw, token, create_chat(gw, token), long_body)
    long.first_delta()
    victim = long.replica
    (survivor,) = [address for address in healthy if address != victim]

    # More turns in flight (queued behind the long one on the single model instance), started
    # one at a time so /clusters tells which replica took each, until two are on the survivor.
    in_flight: list[Turn] = []
    for index in range(10):
        chat_id = create_chat(gw, token)
        body = {"content": f"Say hello to friend number {index}.", "bypass_cache": True}
        in_flight.append(start_turn(gw, token, chat_id, body))
        wait_for(  # the replica has begun the turn: stored the user's message
            "the turn's question in the store",
            lambda: messages_of(gw, token, in_flight[-1].chat_id),
            30,
        )
        if sum(t.replica == survivor for t in in_flight) == 2:
            break
    assert sum(t.replica == survivor for t in in_flight) == 2, [t.replica for t in in_flight]

    chat_replicas.replicas[healthy.index(victim)].process.signal(signal.SIGKILL)

    # The killed replica's turns end abnormally. The streaming one (HTTP 200 and deltas sent)
    # is cut off: no final event, no last chunk; nobody is left to send an error event. One
    # that had not answered yet gets Envoy's 503 (UNAVAILABLE: retry it).
    ending = long.finish()
    assert ending.status == 200 and not ending.whole, ending.events[-3:]
    assert ending.events and all("delta" in event for event in ending.events), ending.events[-3:]
    killed = [long, *(t for t in in_flight if t.replica == victim)]
    for dead in killed[1:]:
        ending = dead.finish()
        if ending.status == 200:
            assert not ending.whole, ending.events[-3:]
            assert all("delta" in event for event in ending.events), ending.events[-3:]
        else:
            assert (ending.status, ending.events[0]["code"]) == (503, 14), ending
    # The survivor's turns, in flight during the kill, complete.
    for alive in (t for t in in_flight if t.replica == survivor):
        ending = alive.finish()
        assert ending.status == 200 and ending.whole
        assert_completed(ending.events)
        acknowledged[alive.chat_id] = [alive.question]

    # Envoy takes the killed replica out (active health checks, 1 s apart, 2 failures); then
    # new turns, on old chats and new ones, are all served by the survivor.
    wait_for(
        "Envoy to take the killed replica out",
        lambda: cluster_hosts(gw, "chat").get(victim) != "healthy",
        30,
    )
    for chat_id in list(acknowledged)[:3]:
        turn(chat_id, "And another one?")
    for index in range(2):
        turn(create_chat(gw, token), f"Name a planet, please ({index}).")

    # The store, read through the survivor: each killed turn's user message, once, its reply
    # pending or interrupted; every acknowledged turn exactly once, with its complete answer.
    for dead in killed:
        messages = messages_of(gw, token, dead.chat_id)
        assert [(m["role"], m["content"]) for m in messages[:1]] == [("ROLE_USER", dead.question)]
        assert len(messages) == 2 and messages[1]["role"] == "ROLE_ASSISTANT", messages
        assert messages[1]["status"] in ("MESSAGE_STATUS_PENDING", "MESSAGE_STATUS_INTERRUPTED")
    for chat_id, questions in acknowledged.items():
        messages = messages_of(gw, token, chat_id)
        assert [m["content"] for m in messages[0::2]] == questions, messages
        assert {m["role"] for m in messages[0::2]} == {"ROLE_USER"}
        assert [(m["role"], m["status"]) for m in messages[1::2]] == [
            ("ROLE_ASSISTANT", "MESSAGE_STATUS_COMPLETE")
        ] * len(questions), messages
        assert len({m["message_id"] for m in messages}) == len(messages) == 2 * len(questions)

    if ABANDONED_TURN_S is not None:
        # Past the lease, the killed turn is shown interrupted and a retry of its
        # client_request_id regenerates it: still one turn in the chat.
        wait_for(
            "the killed turn to be abandoned",
            lambda: (
                messages_of(gw, token, long.chat_id)[-1]["status"] == "MESSAGE_STATUS_INTERRUPTED"
            ),
            10 * ABANDONED_TURN_S,
        )
        retry = {**long_body, "sampling": {"max_tokens": 16}}
        assert_completed(post_turn(gw, token, long.chat_id, retry))
        messages = messages_of(gw, token, long.chat_id)
        assert [(m["role"], m["status"]) for m in messages] == [
            ("ROLE_USER", "MESSAGE_STATUS_COMPLETE"),
            ("ROLE_ASSISTANT", "MESSAGE_STATUS_COMPLETE"),
        ], messages
        assert messages[0]["content"] == LONG_QUESTION

    # Restarted on its port, the replica is health-checked back in and serves turns again.
    restarted = chat_replicas.restart(healthy.index(victim))
    wait_for(
        "Envoy to put the restarted replica back",
        lambda: cluster_hosts(gw, "chat").get(victim) == "healthy",
        30,
    )
    for index in range(16):  # Envoy picks the replica (least request, ties random)
        turn(create_chat(gw, token), f"Name an animal, please ({index}).")
        if metric_value(restarted.metrics_url, "grpc_server_handled_total", COMPLETE_OK) >= 1:
            break
    else:
        pytest.fail("the restarted replica served none of 16 turns")


def test_local_stack_lays_replicas_on_consecutive_ports() -> None:
    """`python -m local_stack --chat-replicas 2 --inference-replicas 2` (what `make run ARGS=...`
    runs): ports left unset follow the replicas before them; clashes are refused."""
    defaults = {
        "http_port": 8080, "envoy_admin_port": 9901, "internal_port": 50050, "web_port": 8090,
        "jwks_port": 8089,
        "nats_port": 4222, "cache_port": 19530, "chat_port": None, "inference_port": None,
        "embedding_port": None,
    }  # fmt: skip
    one = argparse.Namespace(**defaults, chat_replicas=1, inference_replicas=1)
    place_ports(one)
    check_ports(one)
    assert (chat_ports(one), inference_ports(one), one.embedding_port) == ([50051], [50052], 50053)
    assert not shared_cache(one)  # Milvus Lite in the chat process

    two = argparse.Namespace(**defaults, chat_replicas=2, inference_replicas=2)
    place_ports(two)
    check_ports(two)
    assert chat_ports(two) == [50051, 50052]
    assert (inference_ports(two), two.embedding_port) == ([50053, 50054], 50055)
    assert shared_cache(two)  # a Milvus Lite server for both

    clash = argparse.Namespace(
        **{**defaults, "inference_port": 50052}, chat_replicas=2, inference_replicas=1
    )
    place_ports(clash)
    with pytest.raises(SystemExit, match=r"\[50052, 51052\] used twice"):
        check_ports(clash)

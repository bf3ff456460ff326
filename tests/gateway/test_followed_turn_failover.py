"""A chat replica SIGKILLed while a followed answer streams (two replicas behind Envoy, one
SQLite file, a NATS JetStream server): the follower, reconnecting with the offset it holds as
the web UI does, ends holding exactly the stored answer (taken over and completed elsewhere, or
marked interrupted), with nothing repeated; then a Stop reaches a turn on the other replica."""

from __future__ import annotations

import http.client
import signal
import time
from collections.abc import Iterator
from typing import Any

import grpc
from chatstack.chat.v1 import chat_pb2 as pb
from chatstack.chat.v1 import chat_pb2_grpc as pb_grpc

from local_stack.launch.metrics import metric_value
from server_kit import headers
from tests.fixtures.gateway_client import (
    call,
    cluster_hosts,
    create_chat,
    event_stream,
    user_token,
    wait_for,
)
from tests.fixtures.replicas import ChatReplicas
from tests.fixtures.stack import Gateway

LONG = {"temperature": 0, "max_tokens": 400}
STORY = "Write a long story about a lighthouse keeper and a storm."
ENDED = {"MESSAGE_STATUS_COMPLETE", "MESSAGE_STATUS_INTERRUPTED", "MESSAGE_STATUS_FAILED"}


class Follower:
    """Follows a turn through Envoy, reconnecting with its offset when a connection dies."""

    def __init__(self, gw: Gateway, token: str, chat_id: str, request_id: str) -> None:
        self.gw, self.token = gw, token
        self.chat_id, self.request_id = chat_id, request_id
        self.path = f"/chat/{chat_id}/turns/{request_id}/stream"
        self.held = ""
        self.reconnects = 0
        self.end: dict[str, Any] | None = None

    def _events(self) -> Iterator[dict[str, Any]]:
        path = f"{self.path}?offset={len(self.held)}"
        with event_stream(self.gw, self.token, path) as (_, events):
            yield from events  # none when Envoy has no healthy replica yet: try again

    def read(self, enough: int = 10**9, deadline_s: float = 180) -> None:
        """Until `enough` code points are held or the turn ends, across reconnects."""
        deadline = time.monotonic() + deadline_s
        while self.end is None and len(self.held) < enough:
            assert time.monotonic() < deadline, f"no end after {self.reconnects} reconnects"
            try:
                for event in self._events():
                    if "delta" not in event:
                        self.end = event
                        return
                    delta = event["delta"]
                    offset = delta.get("offset", 0)
                    assert offset <= len(self.held), (offset, len(self.held))
                    self.held = self.held[:offset] + delta.get("text", "")
                    if len(self.held) >= enough:
                        return
            except (OSError, http.client.HTTPException):
                pass
            self.reconnects += 1
            time.sleep(0.5)


def running_on(replicas: ChatReplicas) -> int:
    """The index of the replica generating the one turn in flight."""

    def generating() -> list[int]:
        counts = [
            metric_value(r.metrics_url, "chat_turns_generating", {}) for r in replicas.replicas
        ]
        return [index for index, count in enumerate(counts) if count]

    found: list[int] = wait_for("a replica to run the turn", generating, 60)
    assert len(found) == 1, found
    return found[0]


def submit(gw: Gateway, token: str, chat_id: str) -> str:
    body = {"content": STORY, "bypass_cache": True, "sampling": LONG}
    reply = call(gw, "POST", f"/chat/{chat_id}/turns", body, token)
    assert reply.status == 200, reply.body
    request_id: str = reply.json()["client_request_id"]
    return request_id


def both_healthy(replicas: ChatReplicas) -> None:
    addresses = [replica.address for replica in replicas.replicas]
    wait_for(
        "both chat replicas healthy",
        lambda: cluster_hosts(replicas.gateway, "chat") == dict.fromkeys(addresses, "healthy"),
        60,
    )


def followed_answer(replicas: ChatReplicas, enough: int) -> tuple[str, Follower]:
    """Once both replicas are healthy: a fresh user's long answer, submitted through Envoy and
    followed until `enough` code points are held. The user, and the follower."""
    both_healthy(replicas)
    gw = replicas.gateway
    user, token = user_token(gw)
    chat_id = create_chat(gw, token)
    follower = Follower(gw, token, chat_id, submit(gw, token, chat_id))
    follower.read(enough)
    return user, follower


def test_a_followed_answer_survives_the_sigkill_of_the_replica_running_it(
    chat_replicas_with_queue: ChatReplicas,
) -> None:
    replicas, gw = chat_replicas_with_queue, chat_replicas_with_queue.gateway
    _, follower = followed_answer(replicas, 40)
    token, chat_id, request_id = follower.token, follower.chat_id, follower.request_id
    before_kill = follower.held
    victim = running_on(replicas)
    replicas.replicas[victim].process.signal(signal.SIGKILL)

    follower.read()
    assert follower.end is not None
    reply = call(gw, "GET", f"/chat/{chat_id}/turns/{request_id}", None, token)
    stored = reply.json()["assistant_message"]
    assert stored["status"] in ENDED, stored
    if stored["status"] == "MESSAGE_STATUS_COMPLETE":  # taken over: generated again
        assert "final" in follower.end
    else:
        assert follower.end["error"]["reason"] == "TURN_INTERRUPTED", follower.end
        assert before_kill.startswith(stored["content"][: len(before_kill)])
    assert follower.held == stored["content"], "the follower's text differs from the record"
    messages = call(gw, "GET", f"/chat/{chat_id}", None, token).json()["messages"]
    assert [m["role"] for m in messages] == ["ROLE_USER", "ROLE_ASSISTANT"], messages
    print(f"ended {stored['status']} after {follower.reconnects} reconnects")

    replicas.restart(victim)
    both_healthy(replicas)


def test_a_stop_sent_to_any_replica_reaches_the_one_running_the_turn(
    chat_replicas_with_queue: ChatReplicas,
) -> None:
    replicas, gw = chat_replicas_with_queue, chat_replicas_with_queue.gateway
    user, follower = followed_answer(replicas, 10)
    token, chat_id, request_id = follower.token, follower.chat_id, follower.request_id
    runner = running_on(replicas)
    other = replicas.replicas[1 - runner]
    # Straight to the replica that does not run it (through Envoy it could land on either):
    # the stop must cross over NATS. The replica verifies the token itself, beside the user
    # header Envoy sets.
    with grpc.insecure_channel(other.address) as channel:
        stopped = pb_grpc.ChatServiceStub(channel).CancelTurn(
            pb.CancelTurnRequest(chat_id=chat_id, client_request_id=request_id),
            metadata=(("authorization", f"Bearer {token}"), (headers.USER_ID, user)),
            timeout=30,
        )
    assert stopped.assistant_message.status == pb.MESSAGE_STATUS_INTERRUPTED
    follower.read()
    assert follower.end is not None and follower.end["error"]["reason"] == "TURN_INTERRUPTED"
    record = call(gw, "GET", f"/chat/{chat_id}/turns/{request_id}", None, token).json()
    assert record["assistant_message"]["status"] == "MESSAGE_STATUS_INTERRUPTED"
    assert follower.held == record["assistant_message"]["content"]

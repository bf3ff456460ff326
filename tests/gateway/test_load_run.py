"""The bounded load run (issue 7): at least 50 simulated users through Envoy for
CHATSTACK_LOAD_S seconds (default 180) with new chats, follow-ups, stops and deletes, against
the production wiring: Envoy's public listener -> chat service (SQLite, answer cache on Milvus
Lite, jobs on NATS JetStream) -> Envoy's internal listener -> the session's inference (one
llama.cpp instance, a queue of one: most turns meet a busy model) and embedding services.

Afterwards every acknowledged user message and every completed reply is in the store exactly
once (loadgen/verify.py says what is checked), and every HTTP status is an expected one.
Times and memory are reported (printed with -s), never asserted: bench/load_run.py is the
long run. CHATSTACK_LOAD_USERS raises the number of users (never below 50).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadgen import (
    ChatRecord,
    LoadConfig,
    LoadResult,
    Target,
    TurnRecord,
    Verification,
    chat_service_args,
    check_chat,
    retry_hint_s,
    run_load,
)
from server_kit.processes import free_port
from tests.fixtures.nats import NatsServer
from tests.fixtures.services import RunningService, run_service
from tests.fixtures.stack import Gateway, gateway_settings_for, start_envoy

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

USERS = max(50, int(os.environ.get("CHATSTACK_LOAD_USERS", "50")))
LOAD_S = float(os.environ.get("CHATSTACK_LOAD_S", "180"))

# Statuses a load run may meet, by operation. 200; 429 (RESOURCE_EXHAUSTED: the inference
# replica's queue is full, retried after the hint) on completions; 404 only when reading back
# a deleted chat. Anything else, 5xx above all, is a failure.
EXPECTED = {
    "create": {200},
    "list": {200},
    "delete": {200},
    "complete": {200, 429},
    "verify_get": {200, 404},
    "verify_list": {200},
}


@pytest.fixture(scope="module")
def load_stack(
    tmp_path_factory: pytest.TempPathFactory,
    inference_server: RunningService,
    embedding_server: RunningService,
) -> Iterator[tuple[Gateway, NatsServer, Path]]:
    work = tmp_path_factory.mktemp("load-run")
    nats = NatsServer(work / "nats-store", work / "nats.log")
    internal_port = free_port()
    with contextlib.ExitStack() as stack:
        nats.start()
        stack.callback(nats.stop)
        chat = stack.enter_context(
            contextlib.contextmanager(run_service)(
                work, "chat-load", "chat_service",
                *chat_service_args(work, f"127.0.0.1:{internal_port}", nats.url),
            )
        )  # fmt: skip
        settings = gateway_settings_for(
            work,
            chat.address,
            internal_port=internal_port,
            inference_upstreams=[inference_server.address],
            embedding_upstreams=[embedding_server.address],
            health_check_timeout_s=3.0,  # llama.cpp keeps both cores busy
            access_log_path=str(work / "envoy-access.log"),
        )
        envoy = start_envoy(settings, work, "envoy-load")
        stack.callback(envoy.stop)
        yield Gateway(settings, envoy, chat), nats, work


@pytest.fixture(scope="module")
def load_result(
    load_stack: tuple[Gateway, NatsServer, Path],
    inference_server: RunningService,
    embedding_server: RunningService,
) -> LoadResult:
    gateway, nats, work = load_stack
    processes = {
        "envoy": gateway.process,
        "chat": gateway.chat.process,
        "inference": inference_server.process,
        "embedding": embedding_server.process,
        "nats": nats.process,
    }
    pids = {name: p.proc.pid for name, p in processes.items() if p is not None and p.proc}
    users = [f"load-{i:03d}" for i in range(USERS)]
    target = Target(
        host="127.0.0.1",
        port=gateway.settings.listen_port,
        tokens={user: gateway.token(user) for user in users},
        processes=pids,
        sqlite_path=work / "chat.db",
    )
    config = LoadConfig(users=USERS, duration_s=LOAD_S, drain_s=45, settle_timeout_s=45)
    result = asyncio.run(run_load(config, target))
    summary = result.summary()
    print("\nload run summary:\n" + json.dumps(summary, indent=1, default=str))
    for name, process in processes.items():
        assert process is not None and process.alive(), f"{name} died during the load run"
    return result


def test_every_status_is_an_expected_one(load_result: LoadResult) -> None:
    unexpected = {
        (operation, status): n
        for (operation, status), n in load_result.state.statuses.items()
        if status not in EXPECTED.get(operation, set())
    }
    # (operation, status, reason) of each unexpected status
    reasons = [key for key in load_result.state.reasons if key[:2] in unexpected]
    assert not unexpected, f"unexpected statuses {unexpected}: {reasons}"
    outcomes = load_result.outcomes()
    failed = ("http_error", "transport_error", "stream_broken", "error_event", "aborted")
    bad = {k: outcomes[k] for k in failed if k in outcomes}
    assert not bad, f"turns that failed: {bad}: {load_result.state.transport_errors}"
    assert not load_result.state.transport_errors


def test_the_load_was_real(load_result: LoadResult) -> None:
    summary = load_result.summary()
    assert len({turn.user for turn in load_result.turns}) >= 50
    assert summary["completed_turns"] > 0, summary["outcomes"]
    kinds = summary["turn_kinds"]
    assert kinds.get("first", 0) and kinds.get("follow_up", 0) and kinds.get("question", 0)
    assert summary["outcomes"].get("cancelled", 0) > 0, summary["outcomes"]
    assert summary["chats_deleted"] > 0


def test_every_acknowledged_turn_is_stored_exactly_once(load_result: LoadResult) -> None:
    verification = load_result.verification
    assert verification.chats_checked > 0
    assert verification.pending_after_settle == 0
    assert not verification.violations, "\n".join(verification.violations[:30])


def test_deleted_chats_leave_no_rows_behind(load_result: LoadResult) -> None:
    assert load_result.verification.deleted_checked > 0
    assert load_result.verification.orphans is not None
    assert not any(load_result.verification.orphans.values()), load_result.verification.orphans


# --- the checker itself (no servers): it must catch what it claims to ----------------------


def _turn(rid: str, outcome: str, text: str = "Paris.", acknowledged: bool = True) -> TurnRecord:
    final = {"user_message_id": f"u-{rid}", "assistant_message_id": f"a-{rid}"}
    return TurnRecord(
        user="u", chat_id="c", request_id=rid, content=f"q {rid}", kind="question", cancel=False,
        started_s=0.0, acknowledged=acknowledged, outcome=outcome, text=text,
        final=final if outcome == "final" else None,
    )  # fmt: skip


def _stored(rid: str, status: str = "COMPLETE", content: str = "Paris.") -> list[dict[str, object]]:
    common = {"client_request_id": rid}
    return [
        {**common, "message_id": f"u-{rid}", "role": "ROLE_USER", "content": f"q {rid}",
         "status": "MESSAGE_STATUS_COMPLETE"},
        {**common, "message_id": f"a-{rid}", "role": "ROLE_ASSISTANT", "content": content,
         "status": f"MESSAGE_STATUS_{status}"},
    ]  # fmt: skip


def _violations(turns: list[TurnRecord], messages: list[dict[str, object]]) -> list[str]:
    chat = ChatRecord("u", "c", [t.request_id for t in turns])
    verification = Verification()
    check_chat(chat, messages, {t.request_id: t for t in turns}, verification)
    return verification.violations


def test_the_checker_accepts_a_consistent_history() -> None:
    turns = [
        _turn("r1", "final"),
        _turn("r2", "cancelled", "Pa"),
        _turn("r3", "gave_up", "", False),
    ]
    stored = _stored("r1") + _stored("r2", "INTERRUPTED", "Pari") + _stored("r3", "FAILED", "")
    assert _violations(turns, stored) == []


@pytest.mark.parametrize(
    ("turns", "stored", "expected"),
    [
        ([_turn("r1", "final")], _stored("r1") + _stored("r1"), "stored 2 user and 2 assistant"),
        ([_turn("r1", "final")], [], "acknowledged r1 (final) stored 0x"),
        ([_turn("r1", "final")], _stored("r1", content="Rome."), "completed r1 stored 'Rome.'"),
        ([_turn("r1", "final")], _stored("r1", "PENDING"), "r1 is still PENDING"),
        ([_turn("r1", "cancelled", "Pa")], _stored("r1", "FAILED", "Pa"), "stopped r1 stored as"),
        ([_turn("r1", "final")], _stored("r1") + _stored("x9"), "unknown request id 'x9'"),
        (
            [_turn("r1", "final"), _turn("r2", "final")],
            _stored("r2") + _stored("r1"),
            "out of order",
        ),
    ],
)
def test_the_checker_finds_what_breaks_exactly_once(
    turns: list[TurnRecord], stored: list[dict[str, object]], expected: str
) -> None:
    found = _violations(turns, stored)
    assert any(expected in violation for violation in found), found


def test_retry_hints_come_from_retry_info_or_retry_after() -> None:
    body = json.dumps(
        {"code": 8, "details": [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retry_delay": "1.500s"}]}
    ).encode()  # fmt: skip
    assert retry_hint_s({}, body) == (1.5, "RetryInfo")
    assert retry_hint_s({"retry-after": "10"}, b'{"code": 8}') == (10.0, "retry-after")
    assert retry_hint_s({}, b"not json") is None

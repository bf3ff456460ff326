"""A chat replica told to stop (SIGTERM) stops taking work, interrupts its open streams cleanly
(the partial reply is stored as interrupted, nothing is left pending) and exits."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import grpc
import pytest
from chatstack.chat.v1 import chat_pb2 as pb
from chatstack.chat.v1 import chat_pb2_grpc as pb_grpc

from chat_service.domain import MessageStatus
from chat_service.store.sqlite_store import SqliteStore
from server_kit.processes import ManagedProcess, free_port, python_module
from tests.fixtures.services import RunningService

USER = (("x-chatstack-user", "leaving-user"),)


async def test_sigterm_interrupts_open_streams_and_stores_them(
    tmp_path: Path, inference_server: RunningService
) -> None:
    port, db = free_port(), tmp_path / "chat.db"
    chat = ManagedProcess(
        name="chat-shutdown",
        argv=python_module(
            "chat_service", "--port", str(port), "--sqlite-path", str(db),
            "--inference-address", inference_server.address, "--cache-enabled", "false",
            "--shutdown-grace-s", "1",
        ),
        log_path=tmp_path / "chat.log",
        grpc_address=f"127.0.0.1:{port}",
    )  # fmt: skip
    chat.start()
    try:
        chat.wait_ready(120)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.ChatServiceStub(channel)
            created = await stub.CreateChat(pb.CreateChatRequest(), metadata=USER, timeout=10)
            chat_id = created.chat.chat_id
            call = stub.Complete(
                pb.CompleteRequest(
                    chat_id=chat_id,
                    content="Tell me a very long story about the sea.",
                    # greedy: the story runs to max_tokens (~20 s), well past the grace; sampled,
                    # the model once ended it after 23 tokens, before the signal's grace ran out
                    sampling=pb.SamplingSettings(max_tokens=1500, temperature=0.0),
                ),
                metadata=USER,
                timeout=60,
            )
            seen = ""
            async for event in call:
                seen += event.delta.text
                if len(seen) > 10:
                    break
            chat.signal(signal.SIGTERM)
            # The open stream ends (cancelled by the server after the grace period).
            with pytest.raises(grpc.aio.AioRpcError):
                async for _ in call:
                    pass
        deadline = time.monotonic() + 30
        while chat.alive():
            assert time.monotonic() < deadline, "the replica did not exit after SIGTERM"
            await asyncio.sleep(0.1)
        assert chat.proc is not None and chat.proc.returncode == 0, chat.log_tail()
    finally:
        chat.stop()

    store = SqliteStore(str(db))
    await store.start()
    try:
        answer, question = await store.recent_messages("leaving-user", chat_id, 10, None)
    finally:
        await store.close()
    assert question.status is MessageStatus.COMPLETE
    assert answer.status is MessageStatus.INTERRUPTED, answer
    assert answer.content.startswith(seen)

"""NATS with users and permissions (issue 15 item 2): the chat service connects with its
credentials; a client without them is refused, and another user cannot publish on the
subjects the chat service consumes. A real nats-server, configured as docs/security.md says."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import nats
import nats.errors
import pytest

from chat_service.config import ChatSettings
from chat_service.jobs.jobs import SummarizeChat
from chat_service.jobs.queue import STREAM, JobQueue
from tests.fixtures.nats import NatsServer

CHAT_PASSWORD = secrets.token_urlsafe(24)
OTHER_PASSWORD = secrets.token_urlsafe(24)
# The chat service may do anything; any other client (a compromised pod with credentials of
# its own) may not touch the chat service's subjects or JetStream's API.
CONFIG = f"""
authorization {{
  users = [
    {{user: chat, password: "{CHAT_PASSWORD}"}}
    {{user: other, password: "{OTHER_PASSWORD}",
      permissions: {{publish: {{deny: ["chat.>", "$JS.>"]}}, subscribe: {{deny: ["chat.>"]}}}}}}
  ]
}}
"""


@pytest.fixture
def guarded_nats(tmp_path: Path) -> Iterator[NatsServer]:
    config = tmp_path / "nats.conf"
    config.write_text(CONFIG)
    server = NatsServer(tmp_path / "store", tmp_path / "nats.log", config_file=config)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def settings_for(server: NatsServer, user: str = "", password: str = "") -> ChatSettings:
    return ChatSettings(  # type: ignore[call-arg]
        identity="header",
        queue_url=server.url,
        queue_user=user,
        queue_password=password,
        queue_connect_timeout_s=2,
    )


async def test_the_chat_service_connects_with_its_credentials(guarded_nats: NatsServer) -> None:
    queue = JobQueue(settings_for(guarded_nats, "chat", CHAT_PASSWORD))
    await queue.connect()
    try:
        await queue.publish(SummarizeChat("alice", "chat-1", "message-1"))
        assert (await queue.js.stream_info(STREAM)).state.messages == 1
        # A client without the credentials is refused (the server answers "Authorization
        # Violation" and logs an authentication error; the client retries until its deadline).
        for settings in (settings_for(guarded_nats), settings_for(guarded_nats, "chat", "wrong")):
            refused = JobQueue(settings)
            with pytest.raises((TimeoutError, nats.errors.Error)):
                await refused.connect()
            assert not refused.ready
        assert "authentication error" in guarded_nats.log_path.read_text()
        # A client with credentials of its own cannot publish on the chat service's subjects.
        errors: list[Exception] = []
        denied = asyncio.Event()

        async def on_error(exc: Exception) -> None:
            errors.append(exc)
            denied.set()

        other = await nats.connect(
            guarded_nats.url, user="other", password=OTHER_PASSWORD, error_cb=on_error
        )
        try:
            await other.publish("chat.jobs.summarize_chat", b'{"forged": true}')
            await other.flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(denied.wait(), 5)
        finally:
            await other.close()
        assert any("permissions violation" in str(e).lower() for e in errors), errors
        assert (await queue.js.stream_info(STREAM)).state.messages == 1  # nothing forged got in
    finally:
        await queue.close()

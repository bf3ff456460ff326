"""`python -m chat_service [--store sqlite|cassandra] [--port N] ...`"""

from __future__ import annotations

import asyncio
import contextlib

import grpc
from chatstack.chat.v1 import chat_pb2_grpc as pb_grpc

from chat_service.cache.semantic_cache import SemanticCache
from chat_service.cache.store import CacheStore, MilvusAuth
from chat_service.config import ChatSettings
from chat_service.embedding_client import EmbeddingClient
from chat_service.identity import make_identity
from chat_service.inference_client import InferenceClient
from chat_service.jobs.queue import JobQueue
from chat_service.jobs.runtime import QueueRuntime
from chat_service.service import ChatService
from chat_service.servicer import ChatServicer
from chat_service.store.factory import make_store
from chat_service.timed_store import TimedStore
from chat_service.turn_cache import TurnCache
from server_kit.logs import configure_logging
from server_kit.server import ServiceSpec, run_service

SERVICE_NAME = "chatstack.chat.v1.ChatService"


def make_cache(
    settings: ChatSettings, store: TimedStore, inference: InferenceClient
) -> tuple[TurnCache, EmbeddingClient] | None:
    if not settings.cache_enabled:
        return None
    embedder = EmbeddingClient(settings)
    auth = MilvusAuth(settings.cache_user, settings.cache_password, settings.cache_tls_ca_file)
    cache = SemanticCache(settings, embedder, CacheStore(settings.cache_uri, auth=auth))
    return TurnCache(cache, store, inference, settings, settings), embedder


async def serve(settings: ChatSettings) -> None:
    store = make_store(settings)
    timed = TimedStore(store, settings.store_timeout_s)
    inference = InferenceClient(settings)
    cached = make_cache(settings, timed, inference)
    turn_cache = cached[0] if cached else None
    queue = JobQueue(settings) if settings.queue_url else None
    service = ChatService(timed, inference, settings, turn_cache, queue)
    identity = make_identity(settings)
    jobs = (
        QueueRuntime(
            queue,
            service.handlers,
            settings,
            on_dead_letter=service.dead_letter_hooks,
        )
        if queue is not None
        else None
    )

    async def on_start() -> None:
        await identity.start()  # a wrong JWKS path or URL fails the start
        await store.start()
        if turn_cache is not None:
            await turn_cache.cache.start()  # never fails: a down cache only means misses
        if jobs is not None:
            jobs.start()  # connects in the background: a down queue never stops the start

    async def on_stop() -> None:
        # The server has cancelled the streams still open after the grace period: let them
        # store their partial replies as interrupted before the store closes.
        await service.drain(timeout_s=5.0)
        if jobs is not None:
            with contextlib.suppress(TimeoutError):  # a publish left is a job run in process
                await asyncio.wait_for(
                    service.wait_published(), 3 * settings.queue_publish_timeout_s
                )
            await jobs.stop()
        if cached is not None:
            await cached[0].close()
            await cached[1].close()
        await inference.close()
        await store.close()

    def register(server: grpc.aio.Server) -> None:
        servicer = ChatServicer(service, settings, identity)
        pb_grpc.add_ChatServiceServicer_to_server(servicer, server)

    spec = ServiceSpec(
        name="chat",
        service_names=[SERVICE_NAME],
        register=register,
        on_start=on_start,
        on_stop=on_stop,
        list_health=False,  # what a client discovers through the gateway is what it can call
    )
    await run_service(settings, spec)


def main() -> None:
    settings = ChatSettings(_cli_parse_args=True)  # type: ignore[call-arg]
    configure_logging("chat", settings.log_level, settings.log_format)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()

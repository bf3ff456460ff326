"""`python -m chat_service [--store sqlite|cassandra] [--port N] ...`"""

from __future__ import annotations

import asyncio
import contextlib

import grpc
from chatstack.chat.v1 import chat_pb2_grpc as pb_grpc
from envoy_ext_authz_pb2_grpc import add_AuthorizationServicer_to_server

from chat_service.api_keys import ApiKeys, KeyOrTokenIdentity
from chat_service.cache.semantic_cache import SemanticCache
from chat_service.cache.store import CacheStore, MilvusAuth
from chat_service.config import ChatSettings
from chat_service.embedding_client import EmbeddingClient
from chat_service.ext_authz import ApiKeyCheck
from chat_service.identity import Identity, make_identity
from chat_service.inference_client import InferenceClient
from chat_service.jobs.nats_feed import NatsTurnFeed
from chat_service.jobs.queue import JobQueue
from chat_service.jobs.runtime import QueueRuntime
from chat_service.openai_api.app import OpenAiApi
from chat_service.openai_api.server import OpenAiServer
from chat_service.service import ChatService
from chat_service.servicer import ChatServicer
from chat_service.store.factory import make_store
from chat_service.timed_store import TimedStore
from chat_service.turn.feed import TurnFeed
from chat_service.turn.running import RunningTurns
from chat_service.turn_cache import TurnCache
from server_kit.logs import configure_logging
from server_kit.server import ServiceSpec, run_main, run_service

SERVICE_NAME = "chatstack.chat.v1.ChatService"


def make_cache(
    settings: ChatSettings, store: TimedStore, inference: InferenceClient, embedder: EmbeddingClient
) -> TurnCache | None:
    if not settings.cache_enabled:
        return None
    auth = MilvusAuth(settings.cache_user, settings.cache_password, settings.cache_tls_ca_file)
    cache = SemanticCache(settings, embedder, CacheStore(settings.cache_uri, auth=auth))
    return TurnCache(cache, store, inference, settings, settings)


def make_openai_server(
    settings: ChatSettings,
    service: ChatService,
    identity: Identity,
    inference: InferenceClient,
    embedder: EmbeddingClient,
) -> OpenAiServer | None:
    if settings.openai_port < 0:
        return None
    api = OpenAiApi(service, identity, inference, embedder, settings.openai_max_body_bytes)
    return OpenAiServer(
        api.app(), settings.openai_host, settings.openai_port, settings.shutdown_grace_s
    )


def make_feed(queue: JobQueue | None) -> TurnFeed:
    """How followers and stops reach turns: over NATS with a queue, else in process."""
    running = RunningTurns()
    return NatsTurnFeed(running, queue) if queue is not None else TurnFeed(running)


async def serve(settings: ChatSettings) -> None:
    store = make_store(settings)
    timed = TimedStore(store, settings.store_timeout_s)
    inference = InferenceClient(settings)
    embedder = EmbeddingClient(settings)
    turn_cache = make_cache(settings, timed, inference, embedder)
    queue = JobQueue(settings) if settings.queue_url else None
    feed = make_feed(queue)
    service = ChatService(timed, inference, settings, turn_cache, queue, feed)
    keys = ApiKeys(timed, settings.api_key_cache_s, settings.max_api_keys_per_user)
    identity = KeyOrTokenIdentity(make_identity(settings), keys)
    openai = make_openai_server(settings, service, identity, inference, embedder)
    jobs = (
        QueueRuntime(queue, service.handlers, settings, service.dead_letter_hooks, feed)
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
        if openai is not None:
            await openai.start()

    async def on_stop() -> None:
        if openai is not None:
            await openai.stop()
        # The server has cancelled the streams still open after the grace period: let them
        # store their partial replies as interrupted before the store closes.
        await service.drain(timeout_s=5.0)
        if jobs is not None:
            with contextlib.suppress(TimeoutError):  # a publish left is a job run in process
                await asyncio.wait_for(
                    service.wait_published(), 3 * settings.queue_publish_timeout_s
                )
            await jobs.stop()
        if turn_cache is not None:
            await turn_cache.close()
        await embedder.close()
        await inference.close()
        await store.close()

    def register(server: grpc.aio.Server) -> None:
        servicer = ChatServicer(service, settings, identity, keys)
        pb_grpc.add_ChatServiceServicer_to_server(servicer, server)
        # Envoy's API-key check (ext_authz.py): served, not listed by reflection.
        add_AuthorizationServicer_to_server(ApiKeyCheck(keys, settings.user_header), server)

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
    run_main(settings, serve(settings))


if __name__ == "__main__":
    main()

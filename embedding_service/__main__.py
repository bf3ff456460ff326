"""`python -m embedding_service [--port N] ...`"""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
from chatstack.embedding.v1 import embedding_pb2_grpc as pb_grpc

from embedding_service.batcher import MicroBatcher
from embedding_service.config import EmbeddingSettings
from embedding_service.model import Encoder, default_model_path, open_encoder
from embedding_service.servicer import EmbeddingServicer
from server_kit.caller_auth import caller_interceptors
from server_kit.logs import configure_logging
from server_kit.server import ServiceSpec, run_main, run_service

SERVICE_NAME = "chatstack.embedding.v1.EmbeddingService"


async def serve(settings: EmbeddingSettings) -> None:
    path = Path(settings.model_path) if settings.model_path else default_model_path()
    encoder: Encoder | None = None
    onnx_file = Path(settings.onnx_path) if settings.onnx_path else None
    batcher: MicroBatcher | None = None

    async def on_start() -> None:
        nonlocal encoder, batcher
        # Loading the model takes seconds: keep the event loop free.
        encoder = await asyncio.to_thread(
            open_encoder, path, settings.engine, onnx_file, settings.threads
        )
        batcher = MicroBatcher(encoder.encode, settings.max_batch, settings.batch_window_ms / 1000)
        batcher.start()

    async def on_stop() -> None:
        if batcher:
            await batcher.close()

    def register(server: grpc.aio.Server) -> None:
        assert encoder is not None and batcher is not None
        servicer = EmbeddingServicer(batcher, settings, encoder.dimension, encoder.count_tokens)
        pb_grpc.add_EmbeddingServiceServicer_to_server(servicer, server)

    spec = ServiceSpec(
        name="embedding",
        service_names=[SERVICE_NAME],
        register=register,
        on_start=on_start,
        interceptors=caller_interceptors(settings.caller_token_file),
        on_stop=on_stop,
    )
    await run_service(settings, spec)


def main() -> None:
    settings = EmbeddingSettings(_cli_parse_args=True)  # type: ignore[call-arg]
    configure_logging("embedding", settings.log_level, settings.log_format)
    run_main(settings, serve(settings))


if __name__ == "__main__":
    main()

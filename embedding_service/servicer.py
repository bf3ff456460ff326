"""gRPC adapter of the embedding service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc
from chatstack.embedding.v1 import embedding_pb2 as pb
from chatstack.embedding.v1 import embedding_pb2_grpc as pb_grpc
from prometheus_client import Counter

from embedding_service.batcher import MicroBatcher
from embedding_service.config import EmbeddingSettings
from server_kit.errors import InvalidArgument

TEXTS = Counter("embedding_texts_total", "Texts embedded")


def validate_texts(texts: list[str], settings: EmbeddingSettings) -> None:
    if not texts:
        raise InvalidArgument("texts", "at least one text is required")
    if len(texts) > settings.max_texts:
        raise InvalidArgument("texts", f"{len(texts)} texts; the limit is {settings.max_texts}")
    for i, text in enumerate(texts):
        if not text.strip():
            raise InvalidArgument(f"texts[{i}]", "is empty")
        if len(text) > settings.max_text_chars:
            raise InvalidArgument(
                f"texts[{i}]", f"{len(text)} characters; the limit is {settings.max_text_chars}"
            )


class EmbeddingServicer(pb_grpc.EmbeddingServiceServicer):
    def __init__(
        self,
        batcher: MicroBatcher,
        settings: EmbeddingSettings,
        dimension: int,
        count_tokens: Callable[[list[str]], int],
    ) -> None:
        self.batcher = batcher
        self.settings = settings
        self.dimension = dimension
        self.count_tokens = count_tokens  # blocking (the tokenizer): run in a thread

    async def Embed(
        self, request: pb.EmbedRequest, context: grpc.aio.ServicerContext
    ) -> pb.EmbedResponse:
        if request.model and request.model != self.settings.model_id:
            raise InvalidArgument(
                "model", f"unknown model {request.model!r}; served: {self.settings.model_id!r}"
            )
        texts = list(request.texts)
        validate_texts(texts, self.settings)
        vectors = await self.batcher.embed(texts)
        tokens = await asyncio.to_thread(self.count_tokens, texts) if request.count_tokens else 0
        TEXTS.inc(len(texts))
        return pb.EmbedResponse(
            model=self.settings.model_id,
            dimension=self.dimension,
            embeddings=[pb.Embedding(values=row.tolist()) for row in vectors],
            prompt_tokens=tokens,
        )

    async def ListModels(
        self, request: pb.ListModelsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListModelsResponse:
        model = pb.ModelInfo(
            id=self.settings.model_id, dimension=self.dimension, max_texts=self.settings.max_texts
        )
        return pb.ListModelsResponse(models=[model])

"""Calls to the embedding service, each with a deadline, failures mapped to domain errors."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from chatstack.embedding.v1 import embedding_pb2 as pb
from chatstack.embedding.v1 import embedding_pb2_grpc as pb_grpc

from chat_service.config import UpstreamSettings
from server_kit.caller_auth import token_metadata
from server_kit.errors import DeadlineExceeded, InvalidArgument, ServiceError, Unavailable
from server_kit.tracing import client_span

log = logging.getLogger(__name__)


def map_rpc_error(err: grpc.aio.AioRpcError) -> ServiceError:
    code, details = err.code(), err.details() or ""
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return DeadlineExceeded("the embedding service did not answer in time",
                                reason="EMBEDDING_TIMEOUT")  # fmt: skip
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument("texts", f"the embedding service refused the text: {details}",
                               metadata={"details": details})  # fmt: skip
    # The transport's or the server's own details (addresses): logged, not shown to clients.
    log.warning("embedding call failed", extra={"code": code.name, "details": details})
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED):
        return Unavailable("the embedding service is unavailable", reason="EMBEDDING_UNAVAILABLE")
    return Unavailable(f"embedding failed ({code.name})", reason="EMBEDDING_FAILED")


@dataclass(frozen=True)
class Embedded:
    model: str
    vectors: list[list[float]]
    prompt_tokens: int  # 0 unless counted


class EmbeddingClient:
    def __init__(self, settings: UpstreamSettings) -> None:
        self.settings = settings
        self._channel = grpc.aio.insecure_channel(
            settings.embedding_address,
            options=[("grpc.keepalive_time_ms", 30_000)],
        )
        self._auth = token_metadata(settings.service_token_file)
        self._stub = pb_grpc.EmbeddingServiceStub(self._channel)

    async def close(self) -> None:
        await self._channel.close()

    async def embed(
        self, texts: Sequence[str], timeout_s: float | None = None
    ) -> list[list[float]]:
        """One L2-normalized vector per text, in order. `timeout_s` shortens the configured
        deadline (a caller with a tighter budget of its own)."""
        return (await self.embed_with("", texts, timeout_s)).vectors

    async def embed_with(
        self,
        model: str,
        texts: Sequence[str],
        timeout_s: float | None = None,
        count_tokens: bool = False,
    ) -> Embedded:
        """The vectors of `model` ("": the served one; another is INVALID_ARGUMENT on field
        "model"), the model's name and, with `count_tokens`, the texts' tokens."""
        deadline = self.settings.embedding_timeout_s
        if timeout_s is not None:
            deadline = min(deadline, timeout_s)
        try:
            with client_span("/chatstack.embedding.v1.EmbeddingService/Embed") as traced:
                reply = await self._stub.Embed(
                    pb.EmbedRequest(texts=list(texts), model=model, count_tokens=count_tokens),
                    timeout=deadline,
                    metadata=(*traced, *self._auth),
                )
        except grpc.aio.AioRpcError as err:
            raise map_rpc_error(err) from err
        if len(reply.embeddings) != len(texts):
            raise Unavailable(
                f"the embedding service returned {len(reply.embeddings)} vectors for "
                f"{len(texts)} texts",
                reason="EMBEDDING_FAILED",
            )
        vectors = [list(e.values) for e in reply.embeddings]
        return Embedded(reply.model, vectors, reply.prompt_tokens)

    async def models(self) -> list[pb.ModelInfo]:
        try:
            with client_span("/chatstack.embedding.v1.EmbeddingService/ListModels") as traced:
                reply = await self._stub.ListModels(
                    pb.ListModelsRequest(),
                    timeout=self.settings.embedding_timeout_s,
                    metadata=(*traced, *self._auth),
                )
        except grpc.aio.AioRpcError as err:
            raise map_rpc_error(err) from err
        return list(reply.models)

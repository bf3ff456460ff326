"""The models the OpenAI-compatible API names: the inference replicas' (chat) and the embedding
service's, as they report them, re-read every few seconds (a listing never goes stale for long,
and a burst of requests does not ask for it each time)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from chat_service.embedding_client import EmbeddingClient
from chat_service.inference_client import InferenceClient
from chat_service.openai_api.protocol import OpenAiError
from server_kit.errors import ServiceError

log = logging.getLogger(__name__)

REFRESH_S = 10.0
OWNER = "chatstack"


@dataclass(frozen=True)
class _Known:
    chat: tuple[str, ...]
    embedding: dict[str, int]  # id -> texts per Embed call
    read_at: float


class ModelCatalog:
    def __init__(self, inference: InferenceClient, embedder: EmbeddingClient | None) -> None:
        self.inference = inference
        self.embedder = embedder
        self._known: _Known | None = None
        self._first_seen: dict[str, int] = {}  # id -> Unix s (OpenAI's `created`)

    async def _read(self) -> _Known:
        known = self._known
        if known is None or time.monotonic() - known.read_at > REFRESH_S:
            chat = tuple(m.id for m in await self.inference.models())
            embedding = await self._embedding()
            known = self._known = _Known(chat, embedding, time.monotonic())
            for model_id in (*chat, *embedding):
                self._first_seen.setdefault(model_id, int(time.time()))
        return known

    async def _embedding(self) -> dict[str, int]:
        """The embedding models; none while the embedding service is down (chat completions
        and the chat models' listing do not depend on it)."""
        if self.embedder is None:
            return {}
        try:
            return {m.id: m.max_texts for m in await self.embedder.models()}
        except ServiceError as exc:
            log.warning("embedding models unavailable", extra={"error": exc.message})
            return {}

    async def listing(self) -> list[tuple[str, int, str]]:
        known = await self._read()
        return [(m, self._first_seen[m], OWNER) for m in (*known.chat, *known.embedding)]

    async def chat_model(self, name: str) -> str:
        if name not in (await self._read()).chat:
            raise self.unknown(name)
        return name

    async def embedding_batch(self, name: str) -> int:
        """How many texts one call may carry, for an embedding model served here."""
        batch = (await self._read()).embedding.get(name)
        if batch is None:
            raise self.unknown(name)
        return max(1, batch)

    def unknown(self, name: str) -> OpenAiError:
        served = ", ".join((self._known.chat + tuple(self._known.embedding)) if self._known else ())
        return OpenAiError(404, f"The model {name!r} does not exist here; served: {served}",
                           param="model", code="model_not_found")  # fmt: skip

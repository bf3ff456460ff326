"""The OpenAI-compatible HTTP API (docs/openai-api.md), served by each chat replica on its own
port and reached through Envoy's /v1/ route: `POST /v1/chat/completions` (streamed or whole),
`GET /v1/models`, `GET /v1/models/{id}`, `POST /v1/embeddings`.

Thin handlers: the caller is identified like every gRPC call (a JWT or an API key, checked
here too), the request parsed by `protocol`, the turn run by the chat service's turn code, and
the events rendered by `render`. Stateless by default, as OpenAI's API is; with the
`x-chatstack-chat-id` header the last user message becomes a turn of that stored chat instead.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chat_service.convert import chat_id_from
from chat_service.domain import Role
from chat_service.embedding_client import EmbeddingClient
from chat_service.identity import Identity
from chat_service.inference_client import InferenceClient
from chat_service.openai_api.models import ModelCatalog
from chat_service.openai_api.protocol import (
    ChatCompletionRequest,
    OpenAiError,
    completion_id,
    embeddings_body,
    models_body,
    parse_chat_completion,
    parse_embeddings,
)
from chat_service.openai_api.render import (
    Completion,
    openai_error,
    retry_headers,
    stream_chunks,
    whole_completion,
)
from chat_service.openai_api.streaming import EventStream, unless_disconnected
from chat_service.service import ChatService
from chat_service.turn.stateless import ReplyStart, StatelessRequest
from server_kit.errors import InvalidArgument, ServiceError
from server_kit.headers import CACHE_STATUS, OPENAI_CHAT_ID

Handler = Callable[[Request], Awaitable[Response]]
_INPUT_INDEX = re.compile(r"texts\[(\d+)\]")  # the embedding service's name for a text
TurnEvents = AsyncGenerator[Any, None]


class OpenAiApi:
    def __init__(
        self,
        service: ChatService,
        identity: Identity,
        inference: InferenceClient,
        embedder: EmbeddingClient | None,
        max_body_bytes: int,
    ) -> None:
        self.service = service
        self.identity = identity
        self.models = ModelCatalog(inference, embedder)
        self.embedder = embedder
        self.max_body_bytes = max_body_bytes

    def app(self) -> Starlette:
        routes = [
            Route("/v1/chat/completions", self._guarded(self.chat_completions), methods=["POST"]),
            Route("/v1/models", self._guarded(self.list_models), methods=["GET"]),
            Route("/v1/models/{model_id:path}", self._guarded(self.get_model), methods=["GET"]),
            Route("/v1/embeddings", self._guarded(self.embeddings), methods=["POST"]),
            Route("/healthz", lambda _: Response("ok"), methods=["GET"]),
        ]
        return Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_allowed})

    def _guarded(self, handler: Handler) -> Handler:
        """Every failure as OpenAI's error shape (status, JSON body, retry-after)."""

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except OpenAiError as exc:
                return JSONResponse(exc.body(), status_code=exc.status)
            except ServiceError as exc:
                error = openai_error(exc)
                headers = retry_headers(exc)
                return JSONResponse(error.body(), status_code=error.status, headers=headers)

        return guarded

    async def _user(self, request: Request) -> str:
        return await self.identity.user_of(list(request.headers.items()))

    async def _body(self, request: Request) -> bytes:
        body = bytearray()
        async for part in request.stream():
            body += part
            if len(body) > self.max_body_bytes:
                raise OpenAiError(413, f"the body exceeds {self.max_body_bytes} bytes",
                                  code="request_too_large")  # fmt: skip
        return bytes(body)

    # -- chat completions ----------------------------------------------------------------

    async def chat_completions(self, request: Request) -> Response:
        user = await self._user(request)
        parsed = parse_chat_completion(await self._body(request))
        model = await self.models.chat_model(parsed.model)
        completion = Completion(completion_id(), int(time.time()), model, parsed.include_usage)
        chat_id = request.headers.get(OPENAI_CHAT_ID, "")
        events = self._chat_turn(user, chat_id, parsed) if chat_id else self._turn(user, parsed)
        if parsed.stream:
            return await self._streamed(request, completion, events)
        async with aclosing(events):
            body, cached = await unless_disconnected(
                request.receive, whole_completion(completion, _without_start(events))
            )
        return JSONResponse(body, headers={CACHE_STATUS: "hit" if cached else "miss"})

    def _turn(self, user: str, parsed: ChatCompletionRequest) -> TurnEvents:
        turn = StatelessRequest(user, parsed.messages, parsed.sampling, parsed.stop)
        return self.service.stateless.complete(turn)

    def _chat_turn(self, user: str, chat_id: str, parsed: ChatCompletionRequest) -> TurnEvents:
        """The last message, as a new turn of the caller's chat (its stored history is the
        context: the other messages sent are not used)."""
        role, content = parsed.messages[-1]
        if role is not Role.USER:
            why = f"with {OPENAI_CHAT_ID}, the last message must be the user's (the chat's turn)"
            raise OpenAiError(400, why, param="messages")
        limit = self.service.settings.max_message_chars
        if not content.strip() or len(content) > limit:  # as a native turn's message
            why = f"the last message must hold 1 to {limit} characters"
            raise OpenAiError(400, why, param=f"messages[{len(parsed.messages) - 1}].content")
        return self.service.complete(user, chat_id_from(chat_id), content, "", parsed.sampling)

    async def _streamed(
        self, request: Request, completion: Completion, events: TurnEvents
    ) -> Response:
        """The first event is awaited before the status line: a refusal (limits, a bad
        request) is a plain HTTP error, and the cache header says where the reply comes from."""
        try:
            first = await unless_disconnected(request.receive, events.__anext__())
        except BaseException:
            await events.aclose()
            raise
        headers = {}
        if isinstance(first, ReplyStart):
            headers[CACHE_STATUS] = "hit" if first.cached else "miss"
        chunks = stream_chunks(completion, _prepend(first, events))
        return EventStream(chunks, headers, on_close=events.aclose)

    # -- models and embeddings -----------------------------------------------------------

    async def list_models(self, request: Request) -> Response:
        await self._user(request)
        return JSONResponse(models_body(await self.models.listing()))

    async def get_model(self, request: Request) -> Response:
        await self._user(request)
        wanted = request.path_params["model_id"]
        for entry in await self.models.listing():
            if entry[0] == wanted:
                return JSONResponse(models_body([entry])["data"][0])
        raise self.models.unknown(wanted)

    async def embeddings(self, request: Request) -> Response:
        await self._user(request)
        parsed = parse_embeddings(await self._body(request))
        if self.embedder is None:
            raise OpenAiError(404, "this deployment serves no embedding model",
                              param="model", code="model_not_found")  # fmt: skip
        batch = await self.models.embedding_batch(parsed.model)
        vectors: list[list[float]] = []
        tokens = 0
        for start in range(0, len(parsed.inputs), batch):
            texts = parsed.inputs[start : start + batch]
            try:
                part = await self.embedder.embed_with("", texts, count_tokens=True)
            except InvalidArgument as exc:
                raise _refused_input(exc, start) from exc
            vectors.extend(part.vectors)
            tokens += part.prompt_tokens
        body = embeddings_body(model=parsed.model, vectors=vectors, prompt_tokens=tokens,
                               encoding_format=parsed.encoding_format)  # fmt: skip
        return JSONResponse(body)


def _refused_input(exc: InvalidArgument, offset: int) -> OpenAiError:
    """A text the embedding service refused, named as the caller's input (its index in the
    whole request, not in the batch)."""
    details = exc.metadata.get("details", exc.message)
    why = _INPUT_INDEX.sub(lambda m: f"input[{offset + int(m.group(1))}]", details)
    return OpenAiError(400, why, param="input", code="invalid_value")


async def _without_start(events: TurnEvents) -> TurnEvents:
    async for event in events:
        if not isinstance(event, ReplyStart):
            yield event


async def _prepend(first: Any, events: TurnEvents) -> TurnEvents:
    if not isinstance(first, ReplyStart):
        yield first
    async for event in events:
        yield event


async def _not_found(request: Request, exc: Exception) -> Response:
    error = OpenAiError(404, f"no route {request.method} {request.url.path}", code="not_found")
    return JSONResponse(error.body(), status_code=404)


async def _not_allowed(request: Request, exc: Exception) -> Response:
    error = OpenAiError(405, f"{request.method} is not allowed on {request.url.path}",
                        code="method_not_allowed")  # fmt: skip
    return JSONResponse(error.body(), status_code=405)

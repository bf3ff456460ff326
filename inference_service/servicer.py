"""gRPC adapter of the inference service: validates, admits, streams engine events."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing

import grpc
from chatstack.inference.v1 import inference_pb2 as pb
from chatstack.inference.v1 import inference_pb2_grpc as pb_grpc

from inference_service import metrics
from inference_service.admission import Admission, QueueFull
from inference_service.coalesce import coalesced
from inference_service.config import InferenceSettings
from inference_service.convert import (
    check_model,
    final_to_proto,
    generation_request_from_proto,
    messages_from_proto,
    model_info_to_proto,
)
from inference_service.engines.base import Engine, PromptTooLong
from inference_service.types import GenerationRequest, GenerationResult, TokenDelta
from server_kit import headers
from server_kit.errors import InvalidArgument, ResourceExhausted, ServiceError

log = logging.getLogger(__name__)


class InferenceServicer(pb_grpc.InferenceServiceServicer):
    def __init__(self, engine: Engine, settings: InferenceSettings) -> None:
        self.engine = engine
        self.settings = settings
        info = engine.model_info()
        self.admission = Admission(
            info.max_concurrency, settings.max_queue, settings.max_queue_per_key
        )
        metrics.QUEUE_DEPTH.set_function(lambda: self.admission.queued)
        metrics.RUNNING.set_function(lambda: self.admission.running)

    @property
    def model_id(self) -> str:
        return self.engine.model_info().id

    async def Generate(
        self, request: pb.GenerateRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.GenerateResponse]:
        try:
            req = generation_request_from_proto(request, self.settings, self.model_id)
        except ServiceError:
            metrics.REQUESTS.labels("invalid").inc()
            raise
        try:
            key = _fairness_key(context)
            stream = coalesced(self._stream(req))
            async with self.admission.slot(key), aclosing(stream) as responses:
                async for response in responses:
                    yield response
        except QueueFull as exc:
            metrics.REQUESTS.labels("rejected").inc()
            raise ResourceExhausted(
                str(exc), reason="INFERENCE_QUEUE_FULL", retry_after_s=1.0
            ) from exc
        except PromptTooLong as exc:
            metrics.REQUESTS.labels("invalid").inc()
            raise InvalidArgument("messages", str(exc), reason="PROMPT_TOO_LONG") from exc
        except (asyncio.CancelledError, GeneratorExit):
            metrics.REQUESTS.labels("cancelled").inc()
            log.info("generation cancelled by the caller", extra={"request_id": req.request_id})
            raise
        except ServiceError:
            raise
        except Exception:
            metrics.REQUESTS.labels("failed").inc()
            raise

    async def _stream(self, req: GenerationRequest) -> AsyncGenerator[pb.GenerateResponse, None]:
        start = last = time.perf_counter()
        first = True
        # aclosing: a cancelled stream aborts the engine request now, not at garbage collection.
        async with aclosing(self.engine.generate(req)) as events:
            async for event in events:
                now = time.perf_counter()
                if isinstance(event, TokenDelta):
                    if first:
                        metrics.TIME_TO_FIRST_TOKEN.observe(now - start)
                        first = False
                    else:
                        metrics.INTER_TOKEN_LATENCY.observe(now - last)
                    last = now
                    metrics.GENERATED_TOKENS.inc(len(event.token_ids))
                    yield pb.GenerateResponse(
                        delta=pb.TokenDelta(text=event.text, token_ids=event.token_ids)
                    )
                elif isinstance(event, GenerationResult):
                    metrics.REQUEST_LATENCY.observe(now - start)
                    metrics.PROMPT_TOKENS.inc(event.prompt_tokens)
                    metrics.CACHED_PROMPT_TOKENS.inc(event.cached_prompt_tokens)
                    metrics.REQUESTS.labels("completed").inc()
                    yield final_to_proto(event, self.model_id)

    async def Tokenize(
        self, request: pb.TokenizeRequest, context: grpc.aio.ServicerContext
    ) -> pb.TokenizeResponse:
        check_model(request.model, self.model_id)
        if len(request.text) > self.settings.max_message_chars:
            raise InvalidArgument("text", f"longer than {self.settings.max_message_chars} chars")
        ids = await self.engine.tokenize(request.text, parse_special=request.parse_special)
        return pb.TokenizeResponse(token_ids=ids)

    async def CountTokens(
        self, request: pb.CountTokensRequest, context: grpc.aio.ServicerContext
    ) -> pb.CountTokensResponse:
        check_model(request.model, self.model_id)
        for i, text in enumerate(request.texts):
            if len(text) > self.settings.max_message_chars:
                raise InvalidArgument(
                    f"texts[{i}]", f"longer than {self.settings.max_message_chars} chars"
                )
        counts = [len(await self.engine.tokenize(t)) for t in request.texts]
        prompt = 0
        if request.messages:
            messages = messages_from_proto(request.messages, self.settings.max_message_chars)
            prompt = await self.engine.count_prompt_tokens(messages)
        return pb.CountTokensResponse(text_tokens=counts, prompt_tokens=prompt)

    async def ListModels(
        self, request: pb.ListModelsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListModelsResponse:
        info = self.engine.model_info()
        return pb.ListModelsResponse(models=[model_info_to_proto(info)], default_model=info.id)


def _fairness_key(context: grpc.aio.ServicerContext) -> str:
    """Whose request this is, for the fair queue only (admission.py): never an identity."""
    for key, value in context.invocation_metadata() or ():
        if key == headers.FAIRNESS_KEY:
            return value if isinstance(value, str) else value.decode(errors="replace")
    return ""

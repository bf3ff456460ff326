"""The CPU engine: llama.cpp through llama-cpp-python.

A `Llama` object is not thread-safe (two threads using one abort the process), so each
instance is owned by one generation at a time: `instances` objects give that many concurrent
generations. Generation runs in a worker thread that hands tokens to the event loop and checks
a cancel flag after every token, so a cancelled request stops within one token.

The prompt is rendered with the chat template stored in the GGUF and tokenized by us (rather
than through create_chat_completion) so that the prompt we measure against the context is
exactly what runs, and token counts are exact.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import os
import random
import threading
from collections.abc import AsyncGenerator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference_service.engines.base import Engine, PromptTooLong
from inference_service.engines.prompt_segments import render_segments
from inference_service.types import (
    ChatMessage,
    FinishReason,
    GenerationEvent,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    SamplingParams,
    TokenDelta,
)

log = logging.getLogger(__name__)

_DONE = object()


@dataclass(frozen=True)
class LlamaCppConfig:
    model_path: Path
    model_id: str
    n_ctx: int = 4096
    instances: int = 1
    threads_per_instance: int = 0  # 0: share the cores between the instances
    n_batch: int = 256


class _Cancelled(Exception):
    pass


class LlamaCppEngine(Engine):
    def __init__(self, config: LlamaCppConfig) -> None:
        self.config = config
        self._idle: asyncio.Queue[Any] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(
            max_workers=config.instances + 1, thread_name_prefix="llama"
        )
        self._vocab: Any = None  # a vocab-only Llama for tokenizing outside generations
        self._vocab_lock = threading.Lock()
        self._formatter: Any = None
        self._eog_ids: frozenset[int] = frozenset()
        self._has_template = False
        self._n_ctx = config.n_ctx
        self._generated = 0
        self._cancel_flags: set[threading.Event] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._load)

    def _load(self) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        threads = self.config.threads_per_instance or max(
            1, (os.cpu_count() or 1) // self.config.instances
        )
        for _ in range(self.config.instances):
            llm = Llama(
                model_path=str(self.config.model_path),
                n_ctx=self.config.n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=self.config.n_batch,
                verbose=False,
            )
            self._idle.put_nowait(llm)
        self._vocab = Llama(model_path=str(self.config.model_path), vocab_only=True, verbose=False)
        self._n_ctx = self.config.n_ctx
        template = self._vocab.metadata.get("tokenizer.chat_template")
        self._has_template = bool(template)
        eos_id = self._vocab.token_eos()
        bos_id = self._vocab.token_bos()
        eos = self._token_text(eos_id)
        bos = self._token_text(bos_id) if bos_id >= 0 else ""
        if not template:
            # Without a template there is no honest way to build a chat prompt.
            raise ValueError(f"{self.config.model_path} has no chat template (not a chat model)")
        self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        # End of generation: end-of-sequence and end-of-turn (e.g. <|im_end|>), where defined.
        eot_id = self._vocab._model.token_eot()
        self._eog_ids = frozenset(t for t in (eos_id, eot_id) if t >= 0)
        log.info(
            "llama.cpp engine ready",
            extra={
                "model": self.config.model_id,
                "instances": self.config.instances,
                "threads_per_instance": threads,
                "n_ctx": self._n_ctx,
            },
        )

    async def close(self) -> None:
        for flag in list(self._cancel_flags):
            flag.set()
        self._executor.shutdown(wait=True, cancel_futures=True)

    def model_info(self) -> ModelInfo:
        return ModelInfo(
            id=self.config.model_id,
            engine="llama_cpp",
            context_length=self._n_ctx,
            has_chat_template=self._has_template,
            max_concurrency=self.config.instances,
        )

    def generated_tokens_total(self) -> int:
        return self._generated

    # -- tokenizer ---------------------------------------------------------------------------

    def _token_text(self, token_id: int) -> str:
        piece: bytes = self._vocab.detokenize([token_id], special=True)
        return piece.decode("utf-8", errors="ignore")

    def _prompt_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The template's text with special tokens parsed, each message's content as plain
        text (prompt_segments.py: content cannot forge a turn)."""
        added_special = False

        def render(conversation: list[dict[str, str]]) -> str:
            nonlocal added_special
            rendered = self._formatter(messages=conversation)
            added_special = rendered.added_special
            return str(rendered.prompt)

        segments = render_segments(render, messages)
        tokens: list[int] = []
        with self._vocab_lock:
            for i, segment in enumerate(segments):
                tokens += self._vocab.tokenize(
                    segment.text.encode("utf-8"),
                    add_bos=i == 0 and not added_special,
                    special=not segment.is_content,
                )
        return tokens

    async def tokenize(self, text: str, parse_special: bool = False) -> list[int]:
        def run() -> list[int]:
            with self._vocab_lock:
                tokens: list[int] = self._vocab.tokenize(
                    text.encode("utf-8"), add_bos=False, special=parse_special
                )
                return tokens

        return await asyncio.get_running_loop().run_in_executor(self._executor, run)

    async def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        loop = asyncio.get_running_loop()
        tokens = await loop.run_in_executor(self._executor, self._prompt_tokens, messages)
        return len(tokens)

    # -- generation --------------------------------------------------------------------------

    async def generate(self, request: GenerationRequest) -> AsyncGenerator[GenerationEvent, None]:
        loop = asyncio.get_running_loop()
        prompt = await loop.run_in_executor(self._executor, self._prompt_tokens, request.messages)
        if len(prompt) >= self._n_ctx:
            raise PromptTooLong(len(prompt), self._n_ctx)
        max_tokens = min(request.sampling.max_tokens, self._n_ctx - len(prompt))

        llm = await self._idle.get()
        events: asyncio.Queue[Any] = asyncio.Queue()
        cancel = threading.Event()
        self._cancel_flags.add(cancel)

        def emit(item: Any) -> None:
            loop.call_soon_threadsafe(events.put_nowait, item)

        def work() -> None:
            try:
                emit(self._run(llm, prompt, request.sampling, max_tokens, cancel, emit))
            except _Cancelled:
                pass
            except BaseException as exc:  # handed to the event loop, re-raised there
                emit(exc)
            finally:
                emit(_DONE)

        future = loop.run_in_executor(self._executor, work)
        finished = False
        try:
            while True:
                item = await events.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, GenerationResult):
                    finished = True
                yield item
        finally:
            # Cancelled or closed early: stop the worker after its current token. The instance
            # goes back to the pool only once the worker has let go of it.
            if not finished:
                cancel.set()
            self._cancel_flags.discard(cancel)
            future.add_done_callback(lambda _f: self._idle.put_nowait(llm))

    def _run(
        self,
        llm: Any,
        prompt: list[int],
        sampling: SamplingParams,
        max_tokens: int,
        cancel: threading.Event,
        emit: Any,
    ) -> GenerationResult:
        cached = _common_prefix(llm._input_ids.tolist(), prompt)
        llm.set_seed(sampling.seed if sampling.seed is not None else random.getrandbits(31))
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        stops = _StopMatcher(sampling.stop)
        completion = 0
        finish = FinishReason.LENGTH
        for token in llm.generate(
            prompt,
            temp=sampling.temperature,
            top_p=sampling.top_p,
            top_k=sampling.top_k,
            repeat_penalty=sampling.repetition_penalty,
            reset=True,
        ):
            if cancel.is_set():
                raise _Cancelled
            if token in self._eog_ids and not sampling.ignore_eos:
                finish = FinishReason.STOP
                break
            completion += 1
            self._generated += 1
            text, hit = stops.feed(decoder.decode(llm.detokenize([token])))
            if text or not hit:
                emit(TokenDelta(text=text, token_ids=(token,)))
            if hit:
                finish = FinishReason.STOP
                break
            if completion >= max_tokens:
                break
        else:
            finish = FinishReason.LENGTH
        if finish is FinishReason.LENGTH or not stops.stops:
            tail = stops.flush(decoder.decode(b"", final=True))
            if tail:
                emit(TokenDelta(text=tail))
        return GenerationResult(
            prompt_tokens=len(prompt),
            completion_tokens=completion,
            finish_reason=finish,
            cached_prompt_tokens=cached,
        )


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class _StopMatcher:
    """Finds stop strings in streamed text, holding back a possible partial match."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self._hold = max((len(s) for s in self.stops), default=1) - 1
        self._pending = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """Returns (text safe to emit, whether a stop string was found)."""
        if not self.stops:
            return text, False
        self._pending += text
        hits = [i for i in (self._pending.find(s) for s in self.stops) if i >= 0]
        if hits:
            out = self._pending[: min(hits)]
            self._pending = ""
            return out, True
        cut = max(0, len(self._pending) - self._hold)
        out, self._pending = self._pending[:cut], self._pending[cut:]
        return out, False

    def flush(self, text: str) -> str:
        out = self._pending + text
        self._pending = ""
        return out

"""The vLLM engine: the production GPU engine, on vLLM's v1 `AsyncLLM`.

vLLM is an optional extra (`pip install .[vllm]`, GPU nodes only), so it is imported inside
`start()` and nowhere at module level: importing this module must work without it.

We render the chat template and tokenize ourselves and hand vLLM the token ids, so the
context check (PromptTooLong, max_tokens clipping) counts exactly the tokens that run.
The mapping to and from vLLM's types lives in small pure functions so it is unit-testable
without vLLM; tests inject a scripted engine through `VllmEngine.from_engine`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

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


@dataclass(frozen=True)
class VllmEngineConfig:
    """What the vLLM engine is built from. None means "vLLM's default"."""

    model: str  # local path or Hugging Face id
    served_model_name: str | None = None  # the id in model_info(); defaults to `model`
    dtype: str = "auto"
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None  # None: the model's own context length
    max_num_seqs: int | None = None  # concurrent sequences per step
    tensor_parallel_size: int = 1
    enable_prefix_caching: bool = True
    trust_remote_code: bool = False
    # Skips CUDA graph capture: slower decoding, much faster start. None: eager on vLLM's CPU
    # build (it has no CUDA graphs, and compiling instead costs minutes of start), graphs on GPUs.
    enforce_eager: bool | None = None


class VllmRequestFailed(RuntimeError):
    """vLLM ended a request without a normal finish (aborted by the engine, or an error)."""


class AsyncLLMLike(Protocol):
    """The part of `vllm.v1.engine.async_llm.AsyncLLM` this engine uses (tests fake it)."""

    def generate(self, prompt: Any, sampling_params: Any, request_id: str) -> AsyncIterator[Any]:
        """Async generator of `vllm.RequestOutput`."""
        ...

    async def abort(self, request_id: str | Sequence[str]) -> None: ...

    def shutdown(self) -> None: ...


class ChatTokenizer(Protocol):
    """The part of a Hugging Face tokenizer this engine uses (tests fake it)."""

    chat_template: Any

    def apply_chat_template(self, conversation: Any, **kwargs: Any) -> Any: ...

    def encode(self, text: str, **kwargs: Any) -> list[int]: ...


# --- pure mapping functions (no vLLM needed) ------------------------------------------------


def engine_args_kwargs(config: VllmEngineConfig, on_cpu: bool = False) -> dict[str, Any]:
    """Keyword arguments for `vllm.engine.arg_utils.AsyncEngineArgs`; `on_cpu`: vLLM runs its
    CPU build (the platform it detected)."""
    eager = config.enforce_eager if config.enforce_eager is not None else on_cpu
    kwargs: dict[str, Any] = {
        "model": config.model,
        "dtype": config.dtype,
        "gpu_memory_utilization": config.gpu_memory_utilization,
        "tensor_parallel_size": config.tensor_parallel_size,
        "enable_prefix_caching": config.enable_prefix_caching,
        "trust_remote_code": config.trust_remote_code,
        "enforce_eager": eager,
    }
    # Leave unset limits out so vLLM picks its own defaults (model context, hardware).
    if config.served_model_name is not None:
        kwargs["served_model_name"] = config.served_model_name
    if config.max_model_len is not None:
        kwargs["max_model_len"] = config.max_model_len
    if config.max_num_seqs is not None:
        kwargs["max_num_seqs"] = config.max_num_seqs
    return kwargs


def clip_max_tokens(requested: int, prompt_tokens: int, context_length: int) -> int:
    """The requested budget, clipped to what is left of the context (at least 1; the caller
    has already rejected prompts that leave no room)."""
    return max(1, min(requested, context_length - prompt_tokens))


def to_vllm_sampling_kwargs(params: SamplingParams, max_tokens: int) -> dict[str, Any]:
    """Keyword arguments for `vllm.SamplingParams` (output_kind is added by the engine).

    top_k: ours uses 0 for "disabled"; current vLLM does too (it still accepts -1), so
    non-positive values map to 0.
    """
    return {
        "temperature": params.temperature,
        "top_p": params.top_p,
        "top_k": params.top_k if params.top_k > 0 else 0,
        "max_tokens": max_tokens,
        "seed": params.seed,
        "stop": list(params.stop),
        "repetition_penalty": params.repetition_penalty,
        "ignore_eos": params.ignore_eos,
    }


def finish_reason_of(vllm_reason: str | None) -> FinishReason | None:
    """Maps `CompletionOutput.finish_reason` to ours; None while the request runs.

    vLLM's reasons are "stop", "length", "abort", "error" and "repetition" (a detected
    degenerate loop, which ended the text like a stop). "abort" and "error" mean there is no
    normal result, so they raise.
    """
    if vllm_reason is None:
        return None
    if vllm_reason in ("stop", "repetition"):
        return FinishReason.STOP
    if vllm_reason == "length":
        return FinishReason.LENGTH
    raise VllmRequestFailed(f"vLLM ended the request with finish_reason={vllm_reason!r}")


def plain_prompt(messages: Sequence[ChatMessage]) -> str:
    """A minimal transcript for models without a chat template (base models)."""
    lines = [f"{m.role}: {m.content}" for m in messages]
    return "\n".join([*lines, "assistant:"])


def _token_prompt_dict(token_ids: list[int]) -> dict[str, Any]:
    """A `vllm.TokensPrompt` (a TypedDict, so a plain dict is one)."""
    return {"prompt_token_ids": token_ids}


# --- the engine -------------------------------------------------------------------------------


class VllmEngine(Engine):
    def __init__(self, config: VllmEngineConfig) -> None:
        self._config = config
        self._model_id = config.served_model_name or config.model
        self._engine: Any = None  # vllm AsyncLLM (or a test double)
        self._tokenizer: Any = None
        self._context_length = 0
        self._max_num_seqs = 0
        # Built from vLLM in start(); test doubles get plain-dict builders.
        self._make_sampling_params: Callable[[dict[str, Any]], Any] = dict
        self._make_prompt: Callable[[list[int]], Any] = _token_prompt_dict
        self._active: set[str] = set()  # request ids running now, aborted by close()
        self._generated_tokens = 0

    @classmethod
    def from_engine(
        cls,
        engine: AsyncLLMLike,
        tokenizer: ChatTokenizer,
        *,
        context_length: int,
        max_num_seqs: int = 1,
        model_id: str = "test-model",
        make_sampling_params: Callable[[dict[str, Any]], Any] = dict,
        make_prompt: Callable[[list[int]], Any] = _token_prompt_dict,
    ) -> VllmEngine:
        """Wraps an already built engine, skipping start(). For tests: by default sampling
        params reach the engine as the kwargs dict and the prompt as a TokensPrompt dict."""
        wrapped = cls(VllmEngineConfig(model=model_id, max_num_seqs=max_num_seqs))
        wrapped._engine = engine
        wrapped._tokenizer = tokenizer
        wrapped._context_length = context_length
        wrapped._max_num_seqs = max_num_seqs
        wrapped._make_sampling_params = make_sampling_params
        wrapped._make_prompt = make_prompt
        return wrapped

    async def start(self) -> None:
        if self._engine is not None:
            raise RuntimeError("the vLLM engine is already started")
        from vllm import TokensPrompt
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.platforms import current_platform
        from vllm.sampling_params import RequestOutputKind
        from vllm.sampling_params import SamplingParams as VllmSamplingParams
        from vllm.v1.engine.async_llm import AsyncLLM

        # Blocks while the model loads and the engine core process starts: start() runs
        # once before serving, and vLLM's own server builds AsyncLLM on the loop the same way.
        kwargs = engine_args_kwargs(self._config, on_cpu=current_platform.is_cpu())
        engine = AsyncLLM.from_engine_args(AsyncEngineArgs(**kwargs))
        try:
            tokenizer = engine.get_tokenizer()
            if inspect.isawaitable(tokenizer):  # older vLLM releases made this a coroutine
                tokenizer = await tokenizer
        except BaseException:
            engine.shutdown()
            raise
        self._engine = engine
        self._tokenizer = tokenizer
        # Read back after startup: the engine core may lower max_model_len to fit the KV cache.
        self._context_length = int(engine.model_config.max_model_len)
        self._max_num_seqs = int(engine.vllm_config.scheduler_config.max_num_seqs)

        def make_sampling_params(kwargs: dict[str, Any]) -> Any:
            # DELTA: each RequestOutput carries only the new text and token ids.
            return VllmSamplingParams(**kwargs, output_kind=RequestOutputKind.DELTA)

        self._make_sampling_params = make_sampling_params
        self._make_prompt = token_prompt_builder(TokensPrompt)
        log.info(
            "vLLM engine ready: model=%s context=%d max_num_seqs=%d",
            self._model_id,
            self._context_length,
            self._max_num_seqs,
        )

    async def close(self) -> None:
        engine, self._engine = self._engine, None
        if engine is None:
            return
        active, self._active = list(self._active), set()
        if active:
            await engine.abort(active)
        engine.shutdown()

    def model_info(self) -> ModelInfo:
        return ModelInfo(
            id=self._model_id,
            engine="vllm",
            context_length=self._context_length,
            has_chat_template=self._has_chat_template(),
            max_concurrency=self._max_num_seqs,
        )

    def generated_tokens_total(self) -> int:
        return self._generated_tokens

    async def tokenize(self, text: str, parse_special: bool = False) -> list[int]:
        """Token ids of `text` without BOS/EOS. `parse_special`: whether special-token text
        such as "<|im_end|>" becomes its special id rather than plain text pieces."""
        tokenizer = self._require_tokenizer()
        return list(
            tokenizer.encode(text, add_special_tokens=False, split_special_tokens=not parse_special)
        )

    async def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return len(self._prompt_ids(messages))

    async def generate(self, request: GenerationRequest) -> AsyncGenerator[GenerationEvent, None]:
        engine = self._engine
        if engine is None:
            raise RuntimeError("the vLLM engine is not started")
        prompt_ids = self._prompt_ids(request.messages)
        prompt_tokens = len(prompt_ids)
        # vLLM rejects a prompt that leaves no room for one generated token; say so first,
        # in our own terms, before anything reaches the engine.
        if prompt_tokens >= self._context_length:
            raise PromptTooLong(prompt_tokens, self._context_length)
        max_tokens = clip_max_tokens(
            request.sampling.max_tokens, prompt_tokens, self._context_length
        )
        sampling = self._make_sampling_params(to_vllm_sampling_kwargs(request.sampling, max_tokens))

        request_id = request.request_id
        stream = engine.generate(self._make_prompt(prompt_ids), sampling, request_id)
        completion_tokens = 0
        cached_tokens = 0
        finish: FinishReason | None = None
        self._active.add(request_id)
        try:
            async for output in stream:
                num_cached = getattr(output, "num_cached_tokens", None)
                if num_cached:
                    cached_tokens = max(cached_tokens, int(num_cached))
                completion = output.outputs[0]  # n == 1
                token_ids = tuple(completion.token_ids)
                completion_tokens += len(token_ids)
                self._generated_tokens += len(token_ids)
                if output.finished:
                    finish = finish_reason_of(completion.finish_reason)
                if completion.text or token_ids:
                    yield TokenDelta(text=completion.text, token_ids=token_ids)
            # Not breaking at `finished`: vLLM's generator ends by itself right after it, and
            # closing it early would take its abort path and log a spurious abort.
        except (asyncio.CancelledError, GeneratorExit):
            # The consumer went away (task cancelled, or the generator closed): stop the
            # model now rather than let it run to max_tokens. The external id aborts every
            # internal request vLLM derived from it.
            await engine.abort(request_id)
            raise
        finally:
            self._active.discard(request_id)
            # Release vLLM's generator (its per-request queue) now, not at garbage collection.
            await _aclose(stream)
        if finish is None:
            raise VllmRequestFailed(f"vLLM's stream for {request_id} ended before it finished")
        yield GenerationResult(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            finish_reason=finish,
            cached_prompt_tokens=min(cached_tokens, prompt_tokens),
        )

    # --- helpers ---

    def _require_tokenizer(self) -> Any:
        if self._tokenizer is None:
            raise RuntimeError("the vLLM engine is not started")
        return self._tokenizer

    def _has_chat_template(self) -> bool:
        return getattr(self._tokenizer, "chat_template", None) is not None

    def _prompt_ids(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The conversation as the model sees it, generation prompt included.

        Runs on the event loop thread on purpose: vLLM detokenizes with the same tokenizer
        object there, and HF fast tokenizers are not safe to use from two threads at once.
        """
        tokenizer = self._require_tokenizer()
        if not self._has_chat_template():
            return list(
                tokenizer.encode(
                    plain_prompt(messages), add_special_tokens=True, split_special_tokens=True
                )
            )

        def render(conversation: list[dict[str, str]]) -> str:
            text = tokenizer.apply_chat_template(
                conversation, tokenize=False, add_generation_prompt=True
            )
            return str(text)

        # The template's text with special tokens parsed (it writes BOS and the like itself:
        # adding them again would double them); content as plain text (prompt_segments.py).
        ids: list[int] = []
        for segment in render_segments(render, messages):
            ids += tokenizer.encode(
                segment.text, add_special_tokens=False, split_special_tokens=segment.is_content
            )
        return ids


def token_prompt_builder(tokens_prompt: Callable[..., Any]) -> Callable[[list[int]], Any]:
    """How token ids are handed to AsyncLLM.generate().

    Current vLLM (the Renderer API) takes an already rendered `tokens_input(...)` and logs a
    deprecation for raw prompts; older releases only know `TokensPrompt`. Both carry exactly
    our token ids; the rendered form also skips vLLM's re-render step.
    """
    try:
        from vllm.inputs import EngineInput, tokens_input  # noqa: F401  (presence check)
    except ImportError:
        return lambda ids: tokens_prompt(prompt_token_ids=ids)
    return lambda ids: tokens_input(ids)


async def _aclose(stream: Any) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()

"""VllmEngine: the request/abort mapping against scripted test doubles (unit tests). The real
vLLM engine runs the engine contract suite (test_engine_contract.py, test_vllm_batching.py)."""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from inference_service.engines.base import PromptTooLong
from inference_service.engines.vllm_engine import (
    VllmEngine,
    VllmEngineConfig,
    VllmRequestFailed,
    clip_max_tokens,
    engine_args_kwargs,
    finish_reason_of,
    to_vllm_sampling_kwargs,
    token_prompt_builder,
)
from inference_service.types import (
    ChatMessage,
    FinishReason,
    GenerationRequest,
    GenerationResult,
    Role,
    SamplingParams,
    TokenDelta,
)

# --- test doubles -----------------------------------------------------------------------------


class FakeCharTokenizer:
    """Test double for an HF tokenizer: one token per character (its code point)."""

    def __init__(self, chat_template: str | None = "fake-template") -> None:
        self.chat_template = chat_template
        self.encode_calls: list[dict[str, Any]] = []

    def apply_chat_template(self, conversation: Any, **kwargs: Any) -> str:
        assert kwargs == {"tokenize": False, "add_generation_prompt": True}
        turns = "".join(f"<{m['role']}>{m['content']}" for m in conversation)
        return turns + "<assistant>"

    def encode(self, text: str, **kwargs: Any) -> list[int]:
        self.encode_calls.append(kwargs)
        return [ord(c) for c in text]


@dataclass
class FakeCompletionOutput:
    """Test double for vllm.CompletionOutput."""

    text: str
    token_ids: list[int]
    finish_reason: str | None = None


@dataclass
class FakeRequestOutput:
    """Test double for vllm.RequestOutput (DELTA mode: only new text/tokens)."""

    outputs: list[FakeCompletionOutput]
    finished: bool = False
    num_cached_tokens: int | None = None


def step(text: str, ids: list[int], finish: str | None = None, cached: int | None = None):
    return FakeRequestOutput(
        outputs=[FakeCompletionOutput(text, ids, finish)],
        finished=finish is not None,
        num_cached_tokens=cached,
    )


@dataclass
class ScriptedAsyncLLM:
    """Test double for vllm's AsyncLLM: generate() plays back `script`, then (if
    `hang_after_script`) waits forever like a model still decoding. Records every call."""

    script: list[FakeRequestOutput] = field(default_factory=list)
    hang_after_script: bool = False
    generate_calls: list[tuple[Any, Any, str]] = field(default_factory=list)
    aborts: list[Any] = field(default_factory=list)
    stream_closed: list[str] = field(default_factory=list)
    shutdowns: int = 0
    hanging: asyncio.Event = field(default_factory=asyncio.Event)  # script played, decoding

    async def generate(
        self, prompt: Any, sampling_params: Any, request_id: str
    ) -> AsyncIterator[FakeRequestOutput]:
        self.generate_calls.append((prompt, sampling_params, request_id))
        try:
            for out in self.script:
                yield out
            if self.hang_after_script:
                self.hanging.set()
                await asyncio.Event().wait()
        finally:
            self.stream_closed.append(request_id)

    async def abort(self, request_id: Any) -> None:
        self.aborts.append(request_id)

    def shutdown(self) -> None:
        self.shutdowns += 1


def make_engine(
    llm: ScriptedAsyncLLM, *, context_length: int = 4096, tokenizer: Any = None
) -> VllmEngine:
    return VllmEngine.from_engine(
        llm, tokenizer or FakeCharTokenizer(), context_length=context_length, max_num_seqs=8
    )


def chat_request(text: str = "hi", request_id: str = "req-1", **sampling: Any) -> GenerationRequest:
    return GenerationRequest(
        request_id=request_id,
        messages=(ChatMessage(Role.SYSTEM, "be brief"), ChatMessage(Role.USER, text)),
        sampling=SamplingParams(**sampling),
    )


def rendered_ids(text: str = "hi") -> list[int]:
    return [ord(c) for c in f"<system>be brief<user>{text}<assistant>"]


# --- pure mapping -----------------------------------------------------------------------------


def test_sampling_kwargs_map_every_field() -> None:
    params = SamplingParams(
        temperature=0.3,
        top_p=0.8,
        top_k=20,
        max_tokens=999,
        seed=7,
        stop=("\n\n", "END"),
        repetition_penalty=1.2,
    )
    assert to_vllm_sampling_kwargs(params, max_tokens=50) == {
        "temperature": 0.3,
        "top_p": 0.8,
        "top_k": 20,
        "max_tokens": 50,
        "seed": 7,
        "stop": ["\n\n", "END"],
        "repetition_penalty": 1.2,
        "ignore_eos": False,
    }


@pytest.mark.parametrize("top_k", [0, -1])
def test_disabled_top_k_maps_to_vllm_zero(top_k: int) -> None:
    kwargs = to_vllm_sampling_kwargs(SamplingParams(top_k=top_k, seed=None), max_tokens=1)
    assert kwargs["top_k"] == 0
    assert kwargs["seed"] is None
    assert kwargs["stop"] == []


def test_clip_max_tokens_to_remaining_context() -> None:
    assert clip_max_tokens(512, prompt_tokens=100, context_length=4096) == 512
    assert clip_max_tokens(512, prompt_tokens=4000, context_length=4096) == 96
    assert clip_max_tokens(512, prompt_tokens=4095, context_length=4096) == 1


def test_finish_reason_mapping() -> None:
    assert finish_reason_of(None) is None
    assert finish_reason_of("stop") is FinishReason.STOP
    assert finish_reason_of("repetition") is FinishReason.STOP
    assert finish_reason_of("length") is FinishReason.LENGTH
    for reason in ("abort", "error"):
        with pytest.raises(VllmRequestFailed):
            finish_reason_of(reason)


def test_engine_args_leave_unset_limits_to_vllm() -> None:
    kwargs = engine_args_kwargs(VllmEngineConfig(model="/models/m"))
    assert kwargs["model"] == "/models/m"
    assert kwargs["enable_prefix_caching"] is True
    assert kwargs["trust_remote_code"] is False
    assert "max_model_len" not in kwargs
    assert "max_num_seqs" not in kwargs
    full = engine_args_kwargs(
        VllmEngineConfig(model="m", max_model_len=8192, max_num_seqs=32, tensor_parallel_size=2)
    )
    assert (full["max_model_len"], full["max_num_seqs"], full["tensor_parallel_size"]) == (
        8192,
        32,
        2,
    )


def test_prompt_builder_prefers_rendered_tokens_input(monkeypatch: pytest.MonkeyPatch) -> None:
    def tokens_prompt(**kwargs: Any) -> dict[str, Any]:
        return {"legacy": kwargs}

    # A vllm without the Renderer API: token ids go in a TokensPrompt.
    monkeypatch.setitem(sys.modules, "vllm", types.ModuleType("vllm"))
    monkeypatch.setitem(sys.modules, "vllm.inputs", types.ModuleType("vllm.inputs"))
    assert token_prompt_builder(tokens_prompt)([1, 2]) == {"legacy": {"prompt_token_ids": [1, 2]}}

    # Current vllm: an already rendered EngineInput from tokens_input().
    inputs = types.ModuleType("vllm.inputs")
    inputs.EngineInput = dict  # type: ignore[attr-defined]
    inputs.tokens_input = lambda ids: {"type": "token", "prompt_token_ids": ids}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm.inputs", inputs)
    assert token_prompt_builder(tokens_prompt)([1, 2]) == {
        "type": "token",
        "prompt_token_ids": [1, 2],
    }


# --- generate() against the scripted engine ---------------------------------------------------


async def test_deltas_and_result_are_mapped() -> None:
    llm = ScriptedAsyncLLM(
        script=[
            step("", [], cached=16),  # a prefill-only output: nothing to stream
            step("Hel", [10, 11], cached=16),
            step("lo", [12]),
            step("!", [13], finish="stop"),
        ]
    )
    engine = make_engine(llm)
    events = [e async for e in engine.generate(chat_request(max_tokens=64, top_k=0))]

    assert events[:-1] == [
        TokenDelta("Hel", (10, 11)),
        TokenDelta("lo", (12,)),
        TokenDelta("!", (13,)),
    ]
    prompt = rendered_ids()
    assert events[-1] == GenerationResult(
        prompt_tokens=len(prompt),
        completion_tokens=4,
        finish_reason=FinishReason.STOP,
        cached_prompt_tokens=16,
    )
    assert engine.generated_tokens_total() == 4
    # The prompt reaches vLLM as exactly the token ids we counted; the params as mapped.
    [(sent_prompt, sent_params, request_id)] = llm.generate_calls
    assert sent_prompt == {"prompt_token_ids": prompt}
    assert await engine.count_prompt_tokens(chat_request().messages) == len(prompt)
    assert sent_params["max_tokens"] == 64
    assert sent_params["top_k"] == 0
    assert request_id == "req-1"
    assert llm.aborts == []


async def test_length_finish_and_max_tokens_clipped_to_context() -> None:
    prompt_len = len(rendered_ids())
    llm = ScriptedAsyncLLM(script=[step("ab", [1, 2], finish="length")])
    engine = make_engine(llm, context_length=prompt_len + 2)
    events = [e async for e in engine.generate(chat_request(max_tokens=512))]
    assert events[-1] == GenerationResult(prompt_len, 2, FinishReason.LENGTH, 0)
    assert llm.generate_calls[0][1]["max_tokens"] == 2


async def test_prompt_too_long_raises_before_any_engine_call() -> None:
    llm = ScriptedAsyncLLM(script=[step("x", [1], finish="stop")])
    prompt_len = len(rendered_ids())
    engine = make_engine(llm, context_length=prompt_len)  # no room for one generated token
    with pytest.raises(PromptTooLong) as caught:
        async for _ in engine.generate(chat_request()):
            pass
    assert (caught.value.prompt_tokens, caught.value.context_length) == (prompt_len, prompt_len)
    assert llm.generate_calls == []
    assert llm.aborts == []


async def test_cancelling_the_consumer_aborts_once_and_reraises() -> None:
    llm = ScriptedAsyncLLM(script=[step("Hel", [1, 2])], hang_after_script=True)
    engine = make_engine(llm)
    received: list[Any] = []
    saw_cancel = asyncio.Event()

    async def consume() -> None:
        try:
            async for event in engine.generate(chat_request(request_id="req-cancel")):
                received.append(event)
        except asyncio.CancelledError:
            saw_cancel.set()  # the generator re-raised it rather than swallowing it
            raise

    task = asyncio.create_task(consume())
    await asyncio.wait_for(llm.hanging.wait(), 5)  # the consumer waits for the next token
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert saw_cancel.is_set()
    assert received == [TokenDelta("Hel", (1, 2))]
    assert llm.aborts == ["req-cancel"]
    assert llm.stream_closed == ["req-cancel"]


async def test_closing_the_generator_early_aborts() -> None:
    llm = ScriptedAsyncLLM(script=[step("a", [1]), step("b", [2]), step("c", [3], finish="stop")])
    engine = make_engine(llm)
    stream = engine.generate(chat_request(request_id="req-close"))
    assert await anext(stream) == TokenDelta("a", (1,))
    await stream.aclose()
    assert llm.aborts == ["req-close"]
    assert llm.stream_closed == ["req-close"]  # vLLM's own generator is released too


async def test_stream_ending_unfinished_is_an_error() -> None:
    llm = ScriptedAsyncLLM(script=[step("a", [1])])
    engine = make_engine(llm)
    with pytest.raises(VllmRequestFailed):
        async for _ in engine.generate(chat_request()):
            pass


async def test_engine_abort_is_an_error_not_a_result() -> None:
    llm = ScriptedAsyncLLM(script=[step("a", [1]), step("", [], finish="abort")])
    engine = make_engine(llm)
    events: list[Any] = []
    with pytest.raises(VllmRequestFailed):
        async for event in engine.generate(chat_request()):
            events.append(event)
    assert events == [TokenDelta("a", (1,))]


async def test_close_aborts_running_requests_and_shuts_down() -> None:
    llm = ScriptedAsyncLLM(script=[step("a", [1])], hang_after_script=True)
    engine = make_engine(llm)
    stream = engine.generate(chat_request(request_id="req-run"))
    assert await anext(stream) == TokenDelta("a", (1,))
    await engine.close()
    assert llm.aborts == [["req-run"]]
    assert llm.shutdowns == 1
    await engine.close()  # idempotent
    assert llm.shutdowns == 1
    await stream.aclose()


async def test_tokenize_and_model_info() -> None:
    tokenizer = FakeCharTokenizer()
    engine = make_engine(ScriptedAsyncLLM(), context_length=2048, tokenizer=tokenizer)
    assert await engine.tokenize("ab") == [97, 98]
    assert tokenizer.encode_calls[-1] == {"add_special_tokens": False, "split_special_tokens": True}
    await engine.tokenize("ab", parse_special=True)
    assert tokenizer.encode_calls[-1]["split_special_tokens"] is False
    info = engine.model_info()
    assert (info.engine, info.context_length, info.max_concurrency) == ("vllm", 2048, 8)
    assert info.has_chat_template is True


def test_eager_mode_defaults_to_the_platform_and_an_explicit_setting_wins() -> None:
    """No CUDA graphs on vLLM's CPU build (it has none to capture); graphs on a GPU."""
    default = VllmEngineConfig(model="m")
    assert engine_args_kwargs(default, on_cpu=True)["enforce_eager"] is True
    assert engine_args_kwargs(default, on_cpu=False)["enforce_eager"] is False
    explicit = VllmEngineConfig(model="m", enforce_eager=False)
    assert engine_args_kwargs(explicit, on_cpu=True)["enforce_eager"] is False


async def test_without_chat_template_falls_back_to_a_plain_transcript() -> None:
    tokenizer = FakeCharTokenizer(chat_template=None)
    engine = make_engine(ScriptedAsyncLLM(), tokenizer=tokenizer)
    assert engine.model_info().has_chat_template is False
    n = await engine.count_prompt_tokens((ChatMessage(Role.USER, "hi"),))
    assert n == len("user: hi\nassistant:")
    assert tokenizer.encode_calls[-1] == {"add_special_tokens": True, "split_special_tokens": True}

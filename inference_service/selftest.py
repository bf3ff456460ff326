"""The engine self-test: the service generates a few tokens before it reports SERVING.

A broken engine build must fail the start with a message that says what broke, never a
user's first request (docs/portable-build.md). Two stages:

1. llama.cpp only, before the model is loaded in this process: a child process loads the
   model and generates a few tokens. A build that uses instructions this CPU cannot run dies
   by a signal (SIGILL, or SIGSEGV for AMX tiles the kernel did not grant); in a child that is
   a clear error here instead of the server vanishing. The child's `llama_print_system_info()`
   line names what the build was compiled for.
2. Every engine, in process once started: a short greedy generation through `generate()`,
   the same path the servicer uses.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from inference_service.engines.base import Engine
from inference_service.types import (
    ChatMessage,
    GenerationRequest,
    GenerationResult,
    Role,
    SamplingParams,
    TokenDelta,
)

PROMPT = (ChatMessage(Role.USER, "Say hello."),)
TOKENS = 4
# Flags that decide which llama.cpp/vLLM kernels can run; named in every failure message.
_RELEVANT_FLAGS = (
    "sse4_2", "avx", "avx2", "fma", "f16c", "bmi2", "avx512f", "avx512bw", "avx512_vnni",
    "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16",
)  # fmt: skip


class EngineSelfTestFailed(RuntimeError):
    """The engine could not generate at start: the service must not report SERVING."""


@dataclass(frozen=True)
class CpuInfo:
    model: str
    flags: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.model} [{' '.join(self.flags) or 'no AVX-class flags'}]"


def cpu_info(cpuinfo: Path = Path("/proc/cpuinfo")) -> CpuInfo:
    """The CPU's model name and the instruction-set flags that matter to the engines."""
    model, flags = "unknown CPU", set[str]()
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return CpuInfo(model, ())
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and model == "unknown CPU":
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    return CpuInfo(model, tuple(f for f in _RELEVANT_FLAGS if f in flags))


def failure(engine: str, model: str, reason: str) -> EngineSelfTestFailed:
    return EngineSelfTestFailed(
        f"engine self-test failed: engine {engine}, model {model}, "
        f"CPU {cpu_info().describe()}: {reason}"
    )


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


async def probe_llama_cpp(
    model_path: Path, timeout_s: float = 120.0, python: str = sys.executable
) -> str:
    """Stage 1: loads `model_path` and generates in a child process (`python -m` this module).

    Returns the build's system-info line; raises EngineSelfTestFailed on any failure."""
    proc = await asyncio.create_subprocess_exec(
        python,
        "-m",
        "inference_service.selftest",
        str(model_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise failure("llama_cpp", str(model_path), f"no answer within {timeout_s:.0f} s") from None
    lines = out.decode(errors="replace").splitlines()
    build = next((ln[len("build: ") :] for ln in lines if ln.startswith("build: ")), "unknown")
    if proc.returncode == 0 and "ok" in lines:
        return build
    if proc.returncode is not None and proc.returncode < 0:
        why = (
            f"the generating process was killed by {_signal_name(proc.returncode)}: the "
            "llama.cpp build uses instructions this CPU does not run; rebuild it with "
            "scripts/build_llama_cpp.sh (portable)"
        )
    else:
        # The last line of a Python traceback is the exception and its message.
        lines = [ln.strip() for ln in err.decode(errors="replace").splitlines() if ln.strip()]
        why = f"exit code {proc.returncode}: {lines[-1] if lines else 'no error output'}"
    raise failure("llama_cpp", str(model_path), f"{why} (build: {build})")


async def generate_briefly(engine: Engine, timeout_s: float = 120.0) -> int:
    """Stage 2: a short greedy generation through the engine. Returns the tokens made."""
    info = engine.model_info()
    request = GenerationRequest(
        request_id="self-test",
        messages=PROMPT,
        sampling=SamplingParams(temperature=0.0, max_tokens=TOKENS, seed=0),
    )

    async def run() -> int:
        deltas, result = 0, None
        async for event in engine.generate(request):
            if isinstance(event, TokenDelta):
                deltas += 1
            elif isinstance(event, GenerationResult):
                result = event
        if result is None or result.completion_tokens < 1:
            raise RuntimeError(f"no token generated ({deltas} deltas, result {result})")
        return result.completion_tokens

    try:
        return await asyncio.wait_for(run(), timeout_s)
    except Exception as exc:  # any engine error becomes the start's clear failure
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise failure(info.engine, info.id, reason) from exc


def _child(model_path: str) -> None:
    """The child of probe_llama_cpp: prints the build line, then generates greedily."""
    import llama_cpp

    system_info = llama_cpp.llama_print_system_info().decode(errors="replace")
    print("build: " + " ".join(system_info.split()), flush=True)
    llm = llama_cpp.Llama(model_path=model_path, n_ctx=256, n_threads=1, verbose=False)
    tokens = llm.tokenize(b"Hello", add_bos=True)
    made = 0
    for _token in llm.generate(tokens, temp=0.0, reset=True):
        made += 1
        if made >= TOKENS:
            break
    print("ok" if made else "no token generated", flush=True)


if __name__ == "__main__":
    _child(sys.argv[1])

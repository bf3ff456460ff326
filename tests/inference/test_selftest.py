"""The engine self-test at start: a broken engine fails the start, clearly, before SERVING."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from inference_service.engines.base import Engine
from inference_service.selftest import (
    EngineSelfTestFailed,
    cpu_info,
    generate_briefly,
    probe_llama_cpp,
)
from inference_service.types import ModelInfo
from server_kit.processes import service_process

CPUINFO = """processor\t: 0
model name\t: Example Xeon
flags\t\t: fpu sse4_2 avx avx2 fma f16c bmi2 avx512f amx_tile amx_int8 lm
processor\t: 1
model name\t: Example Xeon
flags\t\t: fpu
"""


def test_cpu_info_names_the_model_and_the_engine_relevant_flags(tmp_path: Path) -> None:
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO)
    info = cpu_info(path)
    assert info.model == "Example Xeon"
    assert info.flags == ("sse4_2", "avx", "avx2", "fma", "f16c", "bmi2", "avx512f", "amx_tile",
                          "amx_int8")  # fmt: skip
    assert cpu_info(tmp_path / "missing").model == "unknown CPU"


def crashing_python(tmp_path: Path, signal_name: str) -> str:
    """A test double for the probe's child: prints a build line, then dies by a signal, as a
    llama.cpp build with instructions the CPU refuses does."""
    script = tmp_path / "crashing-python"
    build_line = "build: CPU : AVX512 = 1 | AMX_INT8 = 1"
    script.write_text(f"#!/bin/sh\necho '{build_line}'\nkill -{signal_name} $$\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


@pytest.mark.parametrize("signal_name", ["ILL", "SEGV"])
async def test_probe_turns_a_crashing_child_into_a_clear_failure(
    tmp_path: Path, signal_name: str
) -> None:
    model = tmp_path / "model.gguf"
    with pytest.raises(EngineSelfTestFailed) as caught:
        await probe_llama_cpp(model, timeout_s=30, python=crashing_python(tmp_path, signal_name))
    message = str(caught.value)
    assert f"killed by SIG{signal_name}" in message
    assert "engine llama_cpp" in message and str(model) in message
    assert "CPU " in message and "AMX_INT8 = 1" in message  # the build's own feature line


class FailingEngine(Engine):
    """A test double whose generation raises, as a broken vLLM build would."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def model_info(self) -> ModelInfo:
        return ModelInfo("double-model", "vllm", 2048, True, 1)

    async def generate(self, request):
        raise RuntimeError("kernel not available")
        yield  # pragma: no cover

    async def tokenize(self, text: str, parse_special: bool = False) -> list[int]:
        return []

    async def count_prompt_tokens(self, messages) -> int:
        return 0


async def test_in_process_generation_failure_names_engine_and_model() -> None:
    with pytest.raises(EngineSelfTestFailed) as caught:
        await generate_briefly(FailingEngine(), timeout_s=10)
    message = str(caught.value)
    assert "engine vllm, model double-model" in message and "kernel not available" in message


@pytest.mark.slow
def test_a_corrupt_model_fails_the_service_start_fast_with_a_clear_message(
    tmp_path: Path,
) -> None:
    """The real service on the real llama.cpp build, given a corrupt GGUF: it exits with the
    self-test's message and never reports SERVING."""
    model = tmp_path / "corrupt.gguf"
    model.write_bytes(b"GGUF" + os.urandom(4096))
    process, _address, _metrics = service_process(
        tmp_path, "inference-corrupt", "inference_service", "--model-path", str(model)
    )
    process.start()
    try:
        with pytest.raises(RuntimeError, match="exited early"):
            process.wait_ready(90)
        deadline = time.monotonic() + 30
        while process.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process.proc is not None and process.proc.returncode not in (None, 0)
        log = process.log_path.read_text(errors="replace")
    finally:
        process.stop()
    assert "inference_service did not start: engine self-test failed" in log
    assert "engine llama_cpp" in log and str(model) in log and "CPU " in log

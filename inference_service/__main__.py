"""`python -m inference_service [--engine llama_cpp|vllm] [--port N] ...`"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import grpc
from chatstack.inference.v1 import inference_pb2_grpc as pb_grpc

from inference_service.config import InferenceSettings
from inference_service.engines.base import Engine
from inference_service.engines.llama_cpp_engine import LlamaCppEngine
from inference_service.model_files import default_gguf_path, default_hf_dir
from inference_service.selftest import (
    EngineSelfTestFailed,
    failure,
    generate_briefly,
    probe_llama_cpp,
)
from inference_service.servicer import InferenceServicer
from server_kit.caller_auth import caller_interceptors
from server_kit.logs import configure_logging
from server_kit.server import ServiceSpec, run_main, run_service

SERVICE_NAME = "chatstack.inference.v1.InferenceService"
log = logging.getLogger("inference_service")


def build_engine(settings: InferenceSettings) -> Engine:
    if settings.engine == "vllm":
        return build_vllm_engine(settings)
    from inference_service.engines.llama_cpp_engine import LlamaCppConfig

    path = Path(settings.model_path) if settings.model_path else default_gguf_path()
    return LlamaCppEngine(
        LlamaCppConfig(
            model_path=path,
            model_id=settings.model_id or model_id_of(path),
            n_ctx=settings.context_length,
            instances=settings.instances,
            threads_per_instance=settings.threads_per_instance,
        )
    )


def build_vllm_engine(settings: InferenceSettings) -> Engine:
    from inference_service.engines.vllm_engine import VllmEngine, VllmEngineConfig

    # Read by vLLM's CPU build only (a GPU build sizes its cache from gpu_memory_utilization).
    os.environ["VLLM_CPU_KVCACHE_SPACE"] = f"{settings.vllm_cpu_kvcache_gib:g}"
    if settings.model_path:
        path = Path(settings.model_path)
        model_id = model_id_of(path)
    else:  # the packaged model, exported: the same weights, so the same id as on llama.cpp
        path, model_id = default_hf_dir(), model_id_of(default_gguf_path())
    return VllmEngine(
        VllmEngineConfig(
            model=str(path),
            served_model_name=settings.model_id or model_id,
            dtype=settings.vllm_dtype,
            gpu_memory_utilization=settings.vllm_gpu_memory_utilization,
            max_model_len=settings.context_length,
            max_num_seqs=settings.vllm_max_num_seqs,
            tensor_parallel_size=settings.vllm_tensor_parallel_size,
            enable_prefix_caching=settings.vllm_enable_prefix_caching,
            enforce_eager=settings.vllm_enforce_eager,
        )
    )


def model_id_of(path: Path) -> str:
    return path.stem.lower().replace(".", "-") if path.is_file() else path.name.lower()


async def start_engine(engine: Engine, settings: InferenceSettings) -> None:
    """Starts the engine and, unless disabled, proves it generates (inference_service/selftest.py)
    before the server reports SERVING."""
    if settings.self_test and isinstance(engine, LlamaCppEngine):
        build = await probe_llama_cpp(engine.config.model_path)
        log.info("llama.cpp self-test passed in a child process", extra={"build": build})
    try:
        await engine.start()
    except Exception as exc:
        model = settings.model_path or "the default model"
        raise failure(settings.engine, model, f"{type(exc).__name__}: {exc}") from exc
    if settings.self_test:
        tokens = await generate_briefly(engine)
        log.info("engine self-test passed", extra={"tokens": tokens})


async def serve(settings: InferenceSettings) -> None:
    engine = build_engine(settings)
    servicer: InferenceServicer | None = None

    async def on_start() -> None:
        nonlocal servicer
        await start_engine(engine, settings)
        servicer = InferenceServicer(engine, settings)

    def register(server: grpc.aio.Server) -> None:
        assert servicer is not None
        pb_grpc.add_InferenceServiceServicer_to_server(servicer, server)

    spec = ServiceSpec(
        name="inference",
        service_names=[SERVICE_NAME],
        register=register,
        on_start=on_start,
        interceptors=caller_interceptors(settings.caller_token_file),
        on_stop=engine.close,
    )
    await run_service(settings, spec)


def main() -> None:
    # Several OpenMP processes spinning on 2 cores starve each other; passive waiting fixes it.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    settings = InferenceSettings(_cli_parse_args=True)  # type: ignore[call-arg]
    configure_logging("inference", settings.log_level, settings.log_format)
    try:
        run_main(settings, serve(settings))
    except EngineSelfTestFailed as exc:
        log.error("%s", exc)
        raise SystemExit(f"inference_service did not start: {exc}") from None


if __name__ == "__main__":
    main()

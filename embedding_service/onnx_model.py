"""The embedding model on ONNX Runtime: the service's default engine.

For one short question, sentence-transformers on torch spends most of its ~10 ms in per-operator
overhead; ONNX Runtime runs the same graph in about a quarter of that (bench/embedding_engines.py),
and needs no torch in the process. The vectors are the same (onnx_export.py checks them when it
converts). The tokenizer is the model's own, cut at the model's window as sentence-transformers
cuts it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from embedding_service.onnx_export import max_seq_length


class OnnxEncoder:
    """Blocking: call from a worker thread."""

    def __init__(self, model_dir: Path, onnx_file: Path, threads: int = 0) -> None:
        if not onnx_file.is_file():
            raise FileNotFoundError(
                f"{onnx_file}: no ONNX export of {model_dir.name}; write it with "
                "`python -m embedding_service.onnx_export` (make setup does), or run the "
                "torch engine (--engine torch)"
            )
        os.environ["HF_HUB_OFFLINE"] = "1"  # the tokenizer is local; never let the hub be tried
        import onnxruntime as ort
        from transformers import AutoTokenizer

        self._tokenizer: Any = AutoTokenizer.from_pretrained(str(model_dir))
        self._max_length = max_seq_length(model_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # 0: one per core
        options.inter_op_num_threads = 1
        # Idle worker threads sleep instead of spinning: the service shares its cores with
        # the chat service and the model server on a small machine.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )
        self.dimension = int(self._session.get_outputs()[0].shape[-1])

    def _tokens(self, texts: list[str], padding: bool) -> Any:
        return self._tokenizer(
            texts, padding=padding, truncation=True, max_length=self._max_length,
            return_tensors="np" if padding else None,
        )  # fmt: skip

    def count_tokens(self, texts: list[str]) -> int:
        """The tokens the model reads of `texts` (each cut to its window, as encode cuts it)."""
        return sum(len(row) for row in self._tokens(texts, padding=False)["input_ids"])

    def encode(self, texts: list[str]) -> np.ndarray:
        batch = self._tokens(texts, padding=True)
        feed = {
            "input_ids": batch["input_ids"].astype(np.int64, copy=False),
            "attention_mask": batch["attention_mask"].astype(np.int64, copy=False),
        }
        (vectors,) = self._session.run(None, feed)
        return np.asarray(vectors, dtype=np.float32)

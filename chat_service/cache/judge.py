"""The cache's lookup decision, in one place: is a stored question (with its similarity to the
incoming one) a hit? Used by every live lookup (semantic_cache.py) and by the operators' command
(evaluate.py), so the command answers exactly as the service would.

The decision: the similarity reaches the threshold, then (unless verification is off) the
verifier agrees; the verifier may ask for the vectors of a few words (its synonym check), which
come from the same embedding model, memoized.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

from chat_service.cache.verify import Verdict, compare, conclude

WORD_MEMO = 4096  # word vectors kept (a word is ~1.5 KB as a float list)


class Embedder(Protocol):
    async def embed(
        self, texts: Sequence[str], timeout_s: float | None = None
    ) -> list[list[float]]: ...


class CacheJudge:
    def __init__(self, threshold: float, verify: bool, embedder: Embedder) -> None:
        self.threshold = threshold
        self.verify = verify
        self.embedder = embedder
        self._words: OrderedDict[str, list[float]] = OrderedDict()

    async def decide(
        self, cached: str, incoming: str, similarity: float, timeout_s: float | None = None
    ) -> Verdict:
        """`cached` and `incoming` are normalized questions; `similarity` their cosine."""
        if similarity < self.threshold:
            return Verdict(False, "below threshold")
        if not self.verify:
            return Verdict(True, "ok")
        comparison = compare(cached, incoming)  # parsed and compared once
        words = comparison.words_to_compare()
        vectors = await self._vectors(words, timeout_s) if words else None
        return conclude(comparison, similarity, vectors)

    async def _vectors(self, words: set[str], timeout_s: float | None) -> dict[str, list[float]]:
        missing = sorted(w for w in words if w not in self._words)
        if missing:
            for word, vector in zip(
                missing, await self.embedder.embed(missing, timeout_s), strict=True
            ):
                self._words[word] = vector
        out = {}
        for word in words:
            self._words.move_to_end(word)
            out[word] = self._words[word]
        while len(self._words) > WORD_MEMO:
            self._words.popitem(last=False)
        return out

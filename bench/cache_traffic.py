"""Learning from traffic: the answer cache's hits when a question's other wordings arrive one
after another, and when each is asked a second time.

A miss is answered fresh and that answer is stored under the miss's own wording
(chat_service/turn_cache.py, after every complete answer), so the cache learns every wording
it could not match: the next ask of it is a hit, and so may be a later wording closer to it
than to the first. Nothing is served on a guess meanwhile; docs/answer-cache.md says why no
answer-comparing judge links wordings instead.

Replayed on the held-out sets (bench/cache_eval.py's HOLDOUTS): their pairs grouped by the
cached question ("a"), each group's asked questions in a seeded random order, each group under
a user of its own; a is stored first, then every asked question is looked up, and a miss
stores its own answer. Then every asked question is asked again. The service's own
SemanticCache: the real embedding model in process, Milvus Lite, the default settings.

Scoring: a and its paraphrases ask one thing; each near-miss asks something else. A hit is
right when the served entry asks what the question asks, wrong when one of the two is a
near-miss of a and the other is a or a paraphrase of it; a near-miss served another near-miss's
answer is counted apart (their relation is not labelled). "Pairs alone" is the hit rate with
only a stored: what bench/cache_eval.py measures.

The replay compares wordings that no pair of the sets puts side by side: a paraphrase with
another, and a paraphrase with a near-miss of the same question (the stored answer of a
near-miss that missed meets the paraphrases asked after it). Those derived pairs are also
judged directly (CacheJudge.decide, as the operators' command does), per file: how many
paraphrase pairs hit, how many near-miss pairs falsely hit.

    .venv/bin/python -m bench.cache_traffic [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._stats import format_table, ratio, write_results
from bench.cache_eval import HOLDOUTS, Pair, load_pairs
from chat_service.cache.evaluate import InProcessEmbedder, evaluate
from chat_service.cache.judge import CacheJudge
from chat_service.cache.semantic_cache import CacheContext, SemanticCache
from chat_service.cache.store import CacheStore
from chat_service.config import CacheSettings
from chat_service.domain import Sampling

NAME = "cache_traffic"
CONTEXT = CacheContext("model", "", Sampling(), 256, "")


@dataclass
class Asked:
    question: str
    cls: str  # "a" (the cached question's meaning) or the near-miss's own


@dataclass
class Tally:
    asked: int = 0
    right: int = 0  # served an answer to the same question
    wrong: int = 0  # served across a labelled difference
    unscored: int = 0  # a near-miss served another near-miss's answer
    from_later: int = 0  # right hits served from an entry stored by this replay, not a's

    def report(self) -> dict[str, Any]:
        served = self.right + self.wrong
        return {
            "asked": self.asked,
            "hit_rate": ratio(self.right, self.asked),
            "precision": ratio(self.right, served) if served else None,
            "wrong": self.wrong,
            "unscored": self.unscored,
            "right_from_later_wordings": self.from_later,
        }


@dataclass
class Replay:
    tallies: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))

    def score(self, phase: str, asked: Asked, served: str | None, stored: dict[str, str]) -> None:
        label = "paraphrase" if asked.cls == "a" else "near-miss"
        tally = self.tallies[f"{phase}, {label}"]
        tally.asked += 1
        if served is None:
            return
        served_cls = stored[served]
        if served_cls == asked.cls:
            tally.right += 1
            tally.from_later += served != "a"
        elif "a" in (served_cls, asked.cls):
            tally.wrong += 1
        else:
            tally.unscored += 1


def by_cached(pairs: Sequence[Pair]) -> dict[str, list[Pair]]:
    """The pairs of each cached question, in the file's order."""
    out: dict[str, list[Pair]] = defaultdict(list)
    for p in pairs:
        out[p.a].append(p)
    return out


def groups(pairs: Sequence[Pair], seed: int) -> list[tuple[str, list[Asked]]]:
    """Each cached question with its asked questions, shuffled (a near-miss is its own class)."""
    rng = random.Random(seed)
    out = []
    for cached, group in sorted(by_cached(pairs).items()):
        asked = [Asked(p.b, "a" if p.paraphrase else f"near-miss {cached} / {p.b}") for p in group]
        rng.shuffle(asked)
        out.append((cached, asked))
    return out


class Memory:
    """One user's entries: which stored question each entry id answers."""

    def __init__(self, cache: SemanticCache) -> None:
        self.cache = cache
        self.user = f"user-{uuid.uuid4().hex[:12]}"
        self.ids: dict[str, str] = {}  # entry id -> "a" or the asked question that stored it

    async def store(self, question: str, key: str) -> None:
        entry, answer = uuid.uuid4().hex, f"answer to {question}"
        if await self.cache.store(self.user, "chat", entry, question, answer, CONTEXT):
            self.ids[entry] = key

    async def ask(self, question: str) -> str | None:
        hit = await self.cache.lookup(self.user, question, CONTEXT, timeout_s=30)
        return None if hit is None else self.ids[hit.entry_id]


async def replay_group(
    cache: SemanticCache, cached: str, asked: list[Asked], replay: Replay, alone: Tally
) -> None:
    classes = {"a": "a"} | {a.question: a.cls for a in asked}
    traffic, pair_alone = Memory(cache), Memory(cache)  # pair_alone: a, and nothing stored after
    await traffic.store(cached, "a")
    await pair_alone.store(cached, "a")
    for item in asked:
        if item.cls == "a":
            alone.asked += 1
            alone.right += await pair_alone.ask(item.question) == "a"
    for phase in ("first ask", "second ask"):
        for item in asked:
            served = await traffic.ask(item.question)
            replay.score(phase, item, served, classes)
            if served is None and phase == "first ask":
                await traffic.store(item.question, item.question)


def derived(pairs: Sequence[Pair]) -> list[tuple[str, str, bool]]:
    """(x, y, same) for two paraphrases of one cached question (same), and for a paraphrase
    and a near-miss of it (not the same)."""
    out = []
    for group in by_cached(pairs).values():
        same = [p.b for p in group if p.paraphrase]
        other = [p.b for p in group if not p.paraphrase]
        out += [(x, y, True) for x, y in itertools.combinations(same, 2)]
        out += [(x, y, False) for x in same for y in other]
    return out


async def judge_derived(judge: CacheJudge) -> dict[str, Any]:
    report, hits, false_hits, paraphrases, near_misses = {}, 0, 0, 0, 0
    for name in HOLDOUTS:
        pairs = derived(load_pairs([name]))
        rows = await evaluate([(x, y) for x, y, _ in pairs], judge)
        right = sum(row["hit"] for (_, _, same), row in zip(pairs, rows, strict=True) if same)
        wrong = sum(row["hit"] for (_, _, same), row in zip(pairs, rows, strict=True) if not same)
        n_same = sum(same for _, _, same in pairs)
        report[f"derived pairs, {name}"] = {
            "paraphrase_pairs": n_same, "hits": right, "near_miss_pairs": len(pairs) - n_same,
            "false_hits": wrong,
        }  # fmt: skip
        hits, false_hits = hits + right, false_hits + wrong
        paraphrases, near_misses = paraphrases + n_same, near_misses + len(pairs) - n_same
    report["derived pairs, all"] = {
        "paraphrase_pairs": paraphrases, "hits": hits, "near_miss_pairs": near_misses,
        "false_hits": false_hits, "hit_rate": ratio(hits, paraphrases),
        "precision": ratio(hits, hits + false_hits),
    }  # fmt: skip
    return report


async def run(seed: int) -> dict[str, Any]:
    pairs = load_pairs(HOLDOUTS)
    settings = CacheSettings.model_validate({})  # the defaults
    replay, alone = Replay(), Tally()
    with tempfile.TemporaryDirectory(prefix="cache-traffic-") as tmp:
        store = CacheStore(str(Path(tmp) / "cache.db"), call_timeout_s=30)
        cache = SemanticCache(settings, InProcessEmbedder(), store)
        await store.connect()
        try:
            for cached, asked in groups(pairs, seed):
                await replay_group(cache, cached, asked, replay, alone)
        finally:
            await store.close()
        direct = await judge_derived(cache.judge)
    return {
        "config": {
            "files": list(HOLDOUTS),
            "seed": seed,
            "threshold": settings.cache_threshold,
            "verify": settings.cache_verify,
        },
        "paraphrases, first ask, a alone stored (pairs alone)": alone.report(),
        **{phase: tally.report() for phase, tally in sorted(replay.tallies.items())},
        "derived": direct,
    }


def print_report(results: dict[str, Any]) -> None:
    rows = [
        [name, r["asked"], r["hit_rate"], r["precision"], r["wrong"], r["unscored"],
         r["right_from_later_wordings"]]
        for name, r in results.items() if name not in ("config", "derived")
    ]  # fmt: skip
    headers = ["", "asked", "hit rate", "precision", "wrong", "unscored", "right, later entry"]
    print(format_table(headers, rows))
    print()
    rows = [
        [name, r["paraphrase_pairs"], r["hits"], r["near_miss_pairs"], r["false_hits"]]
        for name, r in results["derived"].items()
    ]
    headers = ["", "paraphrase pairs", "hits", "near-miss pairs", "false hits"]
    print(format_table(headers, rows))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=7, help="the order of each group's questions")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.seed))
    print_report(results)
    print(f"results: {write_results(NAME, results)}")


if __name__ == "__main__":
    main()

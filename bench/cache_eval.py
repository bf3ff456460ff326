"""Semantic answer cache: can a cached answer be reused for an incoming question?

On the hand-written pairs of bench/cache_eval/pairs.jsonl (true paraphrases and hard
near-misses, split dev/test), with the real embedding model (all-MiniLM-L6-v2 from its
package, SentenceEncoder):

* cosine similarity of the two questions, embedded raw and normalized (normalize_question);
* for thresholds 0.70-0.97: hit rate on paraphrases, false-hit rate on near-misses and
  precision, with and without the verifier (verify_same_question);
* the default threshold, chosen on the dev split only: the lowest threshold whose precision
  with verification is >= 95%, then the per-kind breakdown at that threshold (dev and test);
* the verifier's cost per pair (normalize + verify, uncached), and the lookup latency of the
  whole path: embed the incoming question, search the stored questions (numpy, top-1), verify;
* side by side, GPTCache 0.1.44 with the same model as its embedding function, faiss and sqlite
  stores and its default similarity evaluation (SearchDistanceEvaluation): precision and hit
  rate on the same pairs (one fresh cache per pair: put(a), get(b)), and its get() latency.
  It is installed outside .venv by scripts/gptcache_venv.sh (skipped, with a note, if absent).

    .venv/bin/python -m bench.cache_eval [--no-gptcache]
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import json
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench._stats import format_table, ratio, summary, write_results
from chat_service.cache import verify as verify_module
from chat_service.cache.normalize import normalize_question
from chat_service.cache.verify import verify_same_question
from embedding_service.model import SentenceEncoder, default_model_path

NAME = "cache_eval"
ROOT = Path(__file__).resolve().parent.parent
PAIRS = Path(__file__).resolve().parent / "cache_eval" / "pairs.jsonl"
GPTCACHE_DIR = ROOT / ".venv-gptcache"
THRESHOLDS = [round(0.70 + 0.01 * k, 2) for k in range(28)]  # 0.70 .. 0.97
PRINTED = [t for t in THRESHOLDS if round(t * 100) % 2 == 0 or t == 0.97]
# The default is chosen in 0.80..0.97: below 0.80 the verifier would be the only guard, for
# a gain of a point or two of hit rate (the sweep still reports 0.70..0.79).
CANDIDATES = [t for t in THRESHOLDS if t >= 0.80]
TARGET_PRECISION = 0.95
GPTCACHE_THRESHOLDS = [0.8, 0.9, 0.95]  # 0.8 is its default (Config.similarity_threshold)
LATENCY_QUERIES = 200


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    paraphrase: bool
    kind: str
    split: str


def load_pairs(path: Path = PAIRS) -> list[Pair]:
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            pairs.append(
                Pair(row["a"], row["b"], row["label"] == "paraphrase", row["kind"], row["split"])
            )
    return pairs


def rates(pairs: Sequence[Pair], hits: Sequence[bool]) -> dict[str, float]:
    """Hit rate on paraphrases, false-hit rate on near-misses, precision of the hits."""
    true_hits = sum(1 for p, h in zip(pairs, hits, strict=True) if h and p.paraphrase)
    false_hits = sum(1 for p, h in zip(pairs, hits, strict=True) if h and not p.paraphrase)
    paraphrases = sum(1 for p in pairs if p.paraphrase)
    near_misses = len(pairs) - paraphrases
    return {
        "hit_rate": ratio(true_hits, paraphrases),
        "false_hit_rate": ratio(false_hits, near_misses),
        "precision": ratio(true_hits, true_hits + false_hits),
        "true_hits": true_hits,
        "false_hits": false_hits,
    }


def sweep(
    pairs: Sequence[Pair], cosines: np.ndarray, verdicts: Sequence[bool] | None
) -> list[dict[str, float]]:
    rows = []
    for threshold in THRESHOLDS:
        hits = [
            bool(c >= threshold) and (verdicts is None or verdicts[k])
            for k, c in enumerate(cosines)
        ]
        rows.append({"threshold": threshold, **rates(pairs, hits)})
    return rows


def choose_threshold(rows: Sequence[dict[str, float]]) -> float | None:
    """The lowest candidate threshold whose (dev) precision reaches the target."""
    for row in rows:
        if row["threshold"] not in CANDIDATES:
            continue
        if row["precision"] == row["precision"] and row["precision"] >= TARGET_PRECISION:
            return row["threshold"]
    return None


def per_kind(
    pairs: Sequence[Pair], cosines: np.ndarray, verdicts: Sequence[bool], threshold: float
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind in sorted({p.kind for p in pairs}):
        index = [k for k, p in enumerate(pairs) if p.kind == kind]
        cosine_hits = sum(1 for k in index if cosines[k] >= threshold)
        verified_hits = sum(1 for k in index if cosines[k] >= threshold and verdicts[k])
        out[kind] = {
            "label": "paraphrase" if pairs[index[0]].paraphrase else "near_miss",
            "n": len(index),
            "cosine_only_hit_rate": cosine_hits / len(index),
            "verified_hit_rate": verified_hits / len(index),
            "mean_cosine": float(np.mean([cosines[k] for k in index])),
        }
    return out


def cosine_pairs(
    encoder: SentenceEncoder, pairs: Sequence[Pair], transform: Callable[[str], str]
) -> np.ndarray:
    texts = sorted({transform(t) for p in pairs for t in (p.a, p.b)})
    vectors = encoder.encode(texts)
    index = {t: k for k, t in enumerate(texts)}
    return np.array(
        [float(vectors[index[transform(p.a)]] @ vectors[index[transform(p.b)]]) for p in pairs],
        dtype=np.float64,
    )


def verifier_latency(pairs: Sequence[Pair], rounds: int = 3) -> dict[str, dict[str, float]]:
    """Per pair, uncached (the verifier memoizes its analysis of a question)."""
    normalize_us: list[float] = []
    verify_us: list[float] = []
    for _ in range(rounds):
        for p in pairs:
            start = time.perf_counter()
            normalize_question(p.a)
            normalize_question(p.b)
            normalize_us.append((time.perf_counter() - start) * 1e6)
            verify_module._analyze.cache_clear()
            start = time.perf_counter()
            verify_same_question(p.a, p.b)
            verify_us.append((time.perf_counter() - start) * 1e6)
    return {"normalize_pair_us": summary(normalize_us), "verify_pair_us": summary(verify_us)}


class OurLookup:
    """The whole lookup of one incoming question against the stored questions: normalize +
    embed (one text) + brute-force top-1 cosine search (numpy) + threshold + verify."""

    def __init__(self, encoder: SentenceEncoder, stored: Sequence[str], threshold: float) -> None:
        self.encoder = encoder
        self.stored = list(stored)
        self.matrix = encoder.encode([normalize_question(t) for t in stored])
        self.threshold = threshold
        self.parts_ms: dict[str, list[float]] = {"embed": [], "search": [], "verify": []}

    def get(self, question: str) -> str | None:
        verify_module._analyze.cache_clear()  # a new question is not memoized
        t0 = time.perf_counter()
        vector = self.encoder.encode([normalize_question(question)])[0]
        t1 = time.perf_counter()
        scores = self.matrix @ vector
        best = int(np.argmax(scores))
        t2 = time.perf_counter()
        hit = (
            scores[best] >= self.threshold
            and verify_same_question(self.stored[best], question).same
        )
        t3 = time.perf_counter()
        self.parts_ms["embed"].append((t1 - t0) * 1e3)
        self.parts_ms["search"].append((t2 - t1) * 1e3)
        self.parts_ms["verify"].append((t3 - t2) * 1e3)
        return self.stored[best] if hit else None


# --------------------------------------------------------------------------------------------
# GPTCache


def _import_gptcache() -> Any | None:
    if not (GPTCACHE_DIR / "gptcache").is_dir():
        return None
    if str(GPTCACHE_DIR) not in sys.path:
        sys.path.append(str(GPTCACHE_DIR))  # after .venv: its numpy/faiss win
    gptcache = importlib.import_module("gptcache")
    importlib.import_module("gptcache.utils.log").gptcache_log.setLevel(logging.CRITICAL)
    return gptcache


class GPTCacheFactory:
    """GPTCache as its docs set it up for a local semantic cache: sqlite scalar store, faiss
    vector store, SearchDistanceEvaluation, and here the same SentenceEncoder as embedding."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder
        # GPTCache closes (and writes) every cache's faiss index at exit: keep the folder until
        # then; registered first, this cleanup runs after those closes.
        self.root = tempfile.mkdtemp(prefix="gptcache-eval-")
        atexit.register(shutil.rmtree, self.root, ignore_errors=True)
        self.count = 0

    def new(self, embedding: Callable[..., np.ndarray], threshold: float) -> Any:
        gptcache = importlib.import_module("gptcache")
        manager_module = importlib.import_module("gptcache.manager")
        get_prompt = importlib.import_module("gptcache.processor.pre").get_prompt
        distance = importlib.import_module("gptcache.similarity_evaluation.distance")

        self.count += 1
        directory = Path(self.root) / str(self.count)
        directory.mkdir()
        cache = gptcache.Cache()
        manager = manager_module.get_data_manager(
            manager_module.CacheBase("sqlite", sql_url=f"sqlite:///{directory}/sqlite.db"),
            manager_module.VectorBase(
                "faiss", dimension=self.encoder.dimension, index_path=f"{directory}/faiss.index"
            ),
        )
        cache.init(
            pre_embedding_func=get_prompt,
            embedding_func=embedding,
            data_manager=manager,
            similarity_evaluation=distance.SearchDistanceEvaluation(),
            config=gptcache.Config(similarity_threshold=threshold),
        )
        return cache


def gptcache_accuracy(
    factory: GPTCacheFactory, pairs: Sequence[Pair], vectors: dict[str, np.ndarray]
) -> dict[str, Any]:
    """One fresh cache per pair: put(a), then get(b) at each similarity_threshold."""
    api = importlib.import_module("gptcache.adapter.api")
    get, put = api.get, api.put

    def precomputed(data: str, **_: Any) -> np.ndarray:
        return vectors[data]

    hits: dict[float, list[bool]] = {t: [] for t in GPTCACHE_THRESHOLDS}
    for k, p in enumerate(pairs):
        cache = factory.new(precomputed, GPTCACHE_THRESHOLDS[0])
        put(p.a, f"answer-{k}", cache_obj=cache)
        for threshold in GPTCACHE_THRESHOLDS:
            cache.config.similarity_threshold = threshold
            hits[threshold].append(get(p.b, cache_obj=cache) == f"answer-{k}")
    return {
        str(threshold): {
            split: rates(
                [p for p in pairs if split == "all" or p.split == split],
                [
                    h
                    for p, h in zip(pairs, flags, strict=True)
                    if split == "all" or p.split == split
                ],
            )
            for split in ("dev", "test", "all")
        }
        for threshold, flags in hits.items()
    }


def lookup_latency(
    encoder: SentenceEncoder, pairs: Sequence[Pair], threshold: float, with_gptcache: bool
) -> dict[str, Any]:
    """Lookup latency over a store of every distinct first question, ours and GPTCache's get()
    alternating query by query (they share the cores: never concurrently)."""
    stored = sorted({p.a for p in pairs})
    queries = [p.b for p in pairs][:LATENCY_QUERIES]
    ours = OurLookup(encoder, stored, threshold)
    gpt_get: Callable[[str], Any] | None = None
    if with_gptcache:
        api = importlib.import_module("gptcache.adapter.api")
        get, put = api.get, api.put

        def live(data: str, **_: Any) -> np.ndarray:
            return encoder.encode([data])[0]

        cache = GPTCacheFactory(encoder).new(live, 0.8)
        for k, text in enumerate(stored):
            put(text, f"answer-{k}", cache_obj=cache)

        def gpt_get(question: str) -> Any:
            return get(question, cache_obj=cache)

    for q in queries[:10]:  # warm-up
        ours.get(q)
        if gpt_get is not None:
            gpt_get(q)
    ours.parts_ms = {key: [] for key in ours.parts_ms}
    ours_ms: list[float] = []
    gpt_ms: list[float] = []
    for q in queries:
        start = time.perf_counter()
        ours.get(q)
        ours_ms.append((time.perf_counter() - start) * 1e3)
        if gpt_get is not None:
            start = time.perf_counter()
            gpt_get(q)
            gpt_ms.append((time.perf_counter() - start) * 1e3)
    result: dict[str, Any] = {
        "stored_questions": len(stored),
        "queries": len(queries),
        "ours_total_ms": summary(ours_ms),
        "ours_parts_ms": {key: summary(values) for key, values in ours.parts_ms.items()},
    }
    if gpt_ms:
        result["gptcache_get_ms"] = summary(gpt_ms)
    return result


# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--no-gptcache", action="store_true", help="skip the GPTCache side")
    args = parser.parse_args(argv)

    pairs = load_pairs()
    splits = {
        "dev": [k for k, p in enumerate(pairs) if p.split == "dev"],
        "test": [k for k, p in enumerate(pairs) if p.split == "test"],
        "all": list(range(len(pairs))),
    }
    print(
        f"{len(pairs)} pairs ({sum(p.paraphrase for p in pairs)} paraphrases, "
        f"{sum(not p.paraphrase for p in pairs)} near-misses); dev {len(splits['dev'])}, "
        f"test {len(splits['test'])}"
    )
    encoder = SentenceEncoder(default_model_path())
    cosines = {
        "raw": cosine_pairs(encoder, pairs, lambda t: t),
        "normalized": cosine_pairs(encoder, pairs, normalize_question),
    }
    verdicts = [verify_same_question(p.a, p.b) for p in pairs]
    verified = [v.same for v in verdicts]

    sweeps: dict[str, Any] = {}
    for split, index in splits.items():
        sub = [pairs[k] for k in index]
        for embedding, values in cosines.items():
            for with_verify in (False, True):
                key = f"{embedding}{'+verify' if with_verify else ''}"
                sweeps.setdefault(split, {})[key] = sweep(
                    sub, values[index], [verified[k] for k in index] if with_verify else None
                )

    chosen = choose_threshold(sweeps["dev"]["normalized+verify"])
    rule = (
        f"the lowest threshold in {CANDIDATES[0]:.2f}..{CANDIDATES[-1]:.2f} whose dev precision "
        f"(normalized embeddings + verification) is >= {TARGET_PRECISION:.0%}"
    )
    default = chosen if chosen is not None else THRESHOLDS[-1]

    for split in ("dev", "test"):
        print(
            f"\n== {split} split: hit rate on paraphrases / false-hit rate on near-misses / "
            "precision"
        )
        headers = ["threshold"]
        for key in ("raw", "normalized", "raw+verify", "normalized+verify"):
            headers += [f"{key} hit", "false", "prec"]
        rows = []
        for k, threshold in enumerate(THRESHOLDS):
            if threshold not in PRINTED and threshold != default:
                continue
            row: list[object] = [f"{threshold:.2f}{' *' if threshold == default else ''}"]
            for key in ("raw", "normalized", "raw+verify", "normalized+verify"):
                r = sweeps[split][key][k]
                row += [r["hit_rate"], r["false_hit_rate"], r["precision"]]
            rows.append(row)
        print(format_table(headers, rows))

    print(f"\nDefault threshold: {default:.2f} ({rule})")
    at_default = {
        split: {
            key: next(r for r in sweeps[split][key] if r["threshold"] == default)
            for key in sweeps[split]
        }
        for split in splits
    }
    kinds = {
        split: per_kind(
            [pairs[k] for k in index],
            cosines["normalized"][index],
            [verified[k] for k in index],
            default,
        )
        for split, index in splits.items()
    }
    print(
        f"\n== per kind at {default:.2f} (normalized embeddings): hit rate cosine-only -> "
        "with verification (for near-misses: false hits)"
    )
    rows = []
    for kind, all_row in kinds["all"].items():
        row = [kind, all_row["label"], all_row["n"], all_row["mean_cosine"]]
        for split in ("dev", "test"):
            r = kinds[split].get(kind)
            row += [r["cosine_only_hit_rate"], r["verified_hit_rate"]] if r else ["-", "-"]
        rows.append(row)
    print(
        format_table(
            ["kind", "label", "n", "mean cos", "dev cos", "dev +ver", "test cos", "test +ver"],
            rows,
        )
    )
    reasons: dict[str, int] = {}
    for p, v in zip(pairs, verdicts, strict=True):
        if not p.paraphrase and not v.same:
            reasons[v.reason] = reasons.get(v.reason, 0) + 1
    rejected_paraphrases = [
        {"a": p.a, "b": p.b, "kind": p.kind, "split": p.split, "reason": v.reason}
        for p, v in zip(pairs, verdicts, strict=True)
        if p.paraphrase and not v.same
    ]
    false_hits = [
        {
            "a": p.a,
            "b": p.b,
            "kind": p.kind,
            "split": p.split,
            "cosine": float(cosines["normalized"][k]),
        }
        for k, (p, v) in enumerate(zip(pairs, verdicts, strict=True))
        if not p.paraphrase and v.same and cosines["normalized"][k] >= default
    ]

    gpt: dict[str, Any] = {"skipped": "--no-gptcache"}
    gptcache = None if args.no_gptcache else _import_gptcache()
    if not args.no_gptcache and gptcache is None:
        gpt = {"skipped": "GPTCache is not installed: run scripts/gptcache_venv.sh"}
    if gptcache is not None:
        texts = sorted({t for p in pairs for t in (p.a, p.b)})
        vectors = dict(zip(texts, encoder.encode(texts), strict=True))
        gpt = {
            "version": getattr(gptcache, "__version__", None),
            "setup": "sqlite + faiss (IndexFlatL2) stores, SearchDistanceEvaluation "
            "(max_distance=4), embedding_func = the same SentenceEncoder (raw question, as "
            "GPTCache has no normalization); similarity_threshold s hits when the squared L2 "
            "distance <= 4(1-s), i.e. cosine >= 2s-1: the default 0.8 is cosine >= 0.60",
            "thresholds": gptcache_accuracy(GPTCacheFactory(encoder), pairs, vectors),
        }

    latency = verifier_latency(pairs)
    lookup = lookup_latency(encoder, pairs, default, with_gptcache=gptcache is not None)
    parts = lookup["ours_parts_ms"]
    latency_rows: list[list[object]] = [
        [
            "normalize, per pair (us)",
            latency["normalize_pair_us"]["p50"],
            latency["normalize_pair_us"]["p95"],
        ],
        [
            "verify incl. normalize, per pair, uncached (us)",
            latency["verify_pair_us"]["p50"],
            latency["verify_pair_us"]["p95"],
        ],
        ["ours: embed one question (ms)", parts["embed"]["p50"], parts["embed"]["p95"]],
        [
            f"ours: top-1 over {lookup['stored_questions']} stored (numpy, ms)",
            parts["search"]["p50"],
            parts["search"]["p95"],
        ],
        ["ours: verify (ms)", parts["verify"]["p50"], parts["verify"]["p95"]],
        ["ours: whole lookup (ms)", lookup["ours_total_ms"]["p50"], lookup["ours_total_ms"]["p95"]],
    ]
    if "gptcache_get_ms" in lookup:
        latency_rows.append(
            [
                "GPTCache get(), same store, alternating (ms)",
                lookup["gptcache_get_ms"]["p50"],
                lookup["gptcache_get_ms"]["p95"],
            ]
        )
    print("\n== latency")
    print(format_table(["what", "p50", "p95"], latency_rows))

    print("\n== side by side (same pairs, same model)")
    rows = []
    for split in ("dev", "test", "all"):
        for key, label in (("normalized", "cosine only"), ("normalized+verify", "ours")):
            r = at_default[split][key]
            rows.append(
                [
                    f"{label} @ cos {default:.2f}",
                    split,
                    r["hit_rate"],
                    r["false_hit_rate"],
                    r["precision"],
                ]
            )
        if "thresholds" in gpt:
            for threshold, by_split in gpt["thresholds"].items():
                r = by_split[split]
                note = " (default)" if threshold == "0.8" else ""
                rows.append(
                    [
                        f"GPTCache s={threshold}{note}",
                        split,
                        r["hit_rate"],
                        r["false_hit_rate"],
                        r["precision"],
                    ]
                )
    print(format_table(["system", "split", "hit rate", "false hits", "precision"], rows))
    if "skipped" in gpt:
        print(f"GPTCache: {gpt['skipped']}")

    path = write_results(
        NAME,
        {
            "pairs": {
                "file": str(PAIRS.relative_to(ROOT)),
                "n": len(pairs),
                "dev": len(splits["dev"]),
                "test": len(splits["test"]),
            },
            "default_threshold": default,
            "threshold_rule": rule,
            "target_precision": TARGET_PRECISION,
            "at_default": at_default,
            "per_kind_at_default": kinds,
            "sweeps": sweeps,
            "verifier_rejections_of_near_misses_by_reason": reasons,
            "verifier_rejected_paraphrases": rejected_paraphrases,
            "false_hits_at_default": false_hits,
            "latency": {"verifier": latency, "lookup": lookup},
            "gptcache": gpt,
            "verifier_default_threshold_constant": verify_module.DEFAULT_THRESHOLD,
        },
        packages=("sentence-transformers", "torch", "numpy", "faiss-cpu"),
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()

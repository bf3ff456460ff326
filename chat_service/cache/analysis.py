"""What a question asks, parsed for the cache verifier (verify.py; docs/answer-cache.md).

`analyze` turns a normalized question into the parts that must agree between a cached question
and a new one: quoted terms and code identifiers, numbers as values (digits, number words,
ordinals, fractions, roman numerals, "5 million"), arithmetic operators, negation, the kind of
question (why / when / where / who / how long / how many / yes-no ...), tense, units, the
argument roles of "from X to Y"-style phrases, the content words (light stems) with a category
each (language, audience, units, time, comparison, entity, content), and the order of the
content words and relation words (for swapped arguments). Pure Python, deterministic, memoized.
The tokens, and the pass that reads numbers, operators, units and words from them: tokens.py.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from chat_service.cache import lexicon as lex
from chat_service.cache.kind import asking_part, fronted_last, question_kind, tense_of
from chat_service.cache.normalize import normalize_question, unicode_normalized
from chat_service.cache.phrases import PHRASE_RES
from chat_service.cache.tokens import NUM_RE, Scanner, tokenize
from chat_service.cache.wordmatch import manner_adverb

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
_HALF_DAY_RE = re.compile(r"^[ap]\.m$", re.IGNORECASE)  # "3 p.m." names no code
# A word in another script than Latin (Hangul, kana, Han, Cyrillic, Greek, Arabic...): the tokens
# read only Latin letters, so it is kept as a term, compared as written ("what does 谢谢 mean" /
# "what does 你好 mean").
_OTHER_SCRIPT_RE = re.compile(r"[^\W\d_\u0000-\u024f]+")
_THOUSANDS_RE = re.compile(r"(?<=\d),(?=\d{3}\b)")
_ROMAN_RE = re.compile(r"\b(?=[IVX]{2,}\b)(X{0,3})(IX|IV|V?I{0,3})\b")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10}
# The stored question is lower case, so a roman numeral is read there only after a word that
# numbers the items of a series ("world war ii", "type ii diabetes", "stage iii", "title ix");
# alone, "iv" or "vi" may be a word.
_LOWER_ROMAN_RE = re.compile(
    r"\b(war|type|stage|phase|part|chapter|title|article|class|grade|level|schedule|volume"
    r"|book|act|section|tier) ((?=[ivx]{2,}\b)x{0,3}(?:ix|iv|v?i{0,3})\b"
    r"|[ivx](?=[?.!,;]| and | or |$))"  # one letter only at a phrase's end: "world war i"
)
_POSSESSIVES = frozenset({"my", "your", "his", "her", "our", "their", "its"})
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
    context: frozenset[str]  # content stems only in statements around the question (asking_part)
    # ordinal words only in those statements ("just got my *first* bike.", "*second*-year
    # student here."), with their values
    situation_ordinals: tuple[float, ...]
    situation_numbers: tuple[float, ...]  # every number said only in those statements
    stated: bool  # a statement stands beside the question
    asked_negated: bool  # a negation in the sentences that ask
    triples: tuple[tuple[str, str, str], ...]  # adjacent content words (articles between)
    order: tuple[str, ...]  # content stems, "#<number>" and "~<function word>", in order
    asked_order: tuple[str, ...]  # the same, of the sentences that ask (asking_part)


def _roman_value(numeral: str) -> str:
    digits = [_ROMAN_VALUES[c] for c in numeral.upper()]
    total = sum(
        -d if k + 1 < len(digits) and d < digits[k + 1] else d for k, d in enumerate(digits)
    )
    return str(total)


def _lower_roman(match: re.Match[str]) -> str:
    numeral = match.group(2)  # a well-formed numeral by the pattern, or nothing
    return f"{match.group(1)} {_roman_value(numeral) if numeral else ''}"


def _prepare(text: str) -> tuple[str, frozenset[str], frozenset[str]]:
    """Normalized text with phrases rewritten; code/quoted terms; capitalized words."""
    raw = unicode_normalized(text)
    terms: set[str] = set()
    for m in _QUOTED_RE.finditer(raw.replace("\u201c", '"').replace("\u201d", '"')):
        quoted = next(g for g in m.groups() if g is not None)
        terms.add(" ".join(quoted.casefold().split()))
    for raw_token in _RAW_TOKEN_RE.findall(raw):
        token = raw_token.strip("\"'`,;:!?()[]{}")
        token = token.rstrip(".")
        if (
            token
            and _CODE_RE.match(token)
            and not NUM_RE.match(token)
            and not _HALF_DAY_RE.match(token)
        ):
            terms.add(token.casefold().removesuffix("()"))
    terms.update(m.group(0).casefold() for m in _OTHER_SCRIPT_RE.finditer(raw))
    capitals = frozenset(m.group(1).casefold() for m in _CAPITAL_RE.finditer(raw))
    raw = _ROMAN_RE.sub(lambda m: _roman_value(m.group(0)), raw)
    s = _LOWER_ROMAN_RE.sub(_lower_roman, normalize_question(raw))
    s = _THOUSANDS_RE.sub("", s)
    s = lex.FREE_RE.sub(r"without \1", s)
    for pattern, replacement in PHRASE_RES:
        s = pattern.sub(replacement, s)
    return fronted_last(s), frozenset(terms), capitals


@lru_cache(maxsize=4096)
def analyze(text: str) -> Analysis:
    s, terms, capitals = _prepare(text)
    scan = Scanner(tokenize(s, terms), terms).scan()
    asked = asking_part(s)
    context: frozenset[str] = frozenset()
    situation_ordinals: Counter[float] = Counter()
    situation_numbers: Counter[float] = Counter()
    asked_order = scan.order
    asked_negated = scan.negated
    if asked != s:
        question = Scanner(tokenize(asked, terms), terms).scan()
        asked_order = question.order
        in_question = {stem for stem, _, _ in question.kept}
        context = frozenset(stem for stem, _, _ in scan.kept if stem not in in_question)
        situation_ordinals = _ordinal_words(s, terms) - _ordinal_words(asked, terms)
        situation_numbers = Counter(scan.numbers) - Counter(question.numbers) - _ages(s, terms)
        asked_negated = question.negated
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
    # a unit word someone owns is a thing, not a unit: "my yard", "her feet"
    owned = {kept[i][0] for i in range(1, len(kept)) if kept[i - 1][2] in _POSSESSIVES}
    return Analysis(
        text=s,
        terms=terms,
        numbers=tuple(scan.numbers),
        digit_ones=scan.digit_ones,
        soft_one=scan.soft_one,
        noncommutative=scan.noncommutative,
        negated=scan.negated,
        intents=frozenset(question_kind(asked)),
        content=tuple(stem for stem, is_content, _ in kept if is_content),
        words=words,
        categories={
            stem: _category(stem, surf, terms, capitals, stem in owned)
            for stem, surf in words.items()
        },
        sources=frozenset(sources),
        targets=frozenset(targets),
        tense=tense_of(asked),
        context=context,
        situation_ordinals=tuple(situation_ordinals.elements()),
        situation_numbers=tuple(situation_numbers.elements()),
        stated=asked != s,
        asked_negated=asked_negated,
        triples=_triples(kept),
        order=_numbered(scan.order),
        asked_order=_numbered(asked_order),
    )


_AGE_RE = re.compile(
    r"\b[\w.]+[\s-]*(?:years?|yrs?|months?|mos?|weeks?|wks?|days?)[\s-]*old\b"
    r"|\bage[ds]?\s+[\w.]+|\b[\w.]+\s*(?:yo|y/o|yr olds?)\b"
)


def _ages(text: str, terms: frozenset[str]) -> Counter[float]:
    """The numbers of ages said ("my son is 4 months old", "aged 65"): who the answer is for."""
    ages: Counter[float] = Counter()
    for m in _AGE_RE.finditer(text):
        ages.update(Scanner(tokenize(m.group(0), terms), terms).scan().numbers)
    return ages


def _ordinal_words(text: str, terms: frozenset[str]) -> Counter[float]:
    return Counter(float(lex.ORDINALS[t]) for t in tokenize(text, terms) if t in lex.ORDINALS)


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


def _category(
    stem: str, surface: str, terms: frozenset[str], capitals: frozenset[str], owned: bool
) -> str:
    if surface in lex.LANGUAGES or stem in lex.LANGUAGES:
        return "language"
    if surface in terms:
        return "quoted or code terms"
    if surface in capitals or surface in lex.PLACES or surface in lex.PLATFORMS:
        return "entities"  # "The Starry Night": a name, not a time
    if surface in lex.AUDIENCES:
        return "audience"
    if stem in lex.UNIT_NAMES and not surface.endswith("ing") and not owned:
        return "units"  # a "pounding headache" weighs nothing
    if surface in lex.TIMES:
        return "time"
    if surface in lex.COMPARATIVES:
        return "comparison"
    if any(c.isdigit() for c in surface):
        return "numbers"  # a value the number reader leaves whole ("a 1:1 syrup", "v15")
    return "content"


def _coordinated(kept: list[tuple[str, bool, str]], index: int) -> str | None:
    """The item joined by "or"/"and" before the noun phrase whose head is at `index` ("a comma or
    a semicolon" -> comma, "hearing loss and his new hearing aids" -> loss), its determiners and
    up to two modifiers skipped."""
    j = index - 1
    modifiers = 0
    while j >= 0 and (kept[j][2] in DETERMINERS or (kept[j][1] and modifiers < 2)):
        modifiers += kept[j][1]
        j -= 1
    if j < 1 or kept[j][2] not in ("or", "and"):
        return None
    j -= 1
    return kept[j][0] if kept[j][1] else None


def _roles(kept: list[tuple[str, bool, str]]) -> tuple[set[str], set[str]]:
    """Source and target arguments: "from X" (X source), "X to Y" (X source, Y target), "into Y",
    "per Y", "in <unit or language>", "a substitute for Y" (Y target). "X vs Y" is no
    direction: it reads "X and Y" (phrases.PHRASES). Nor is "than": the phrase after it is
    often longer than its noun ("than the tires on gas cars"); the word-order checks read the
    two sides of a comparison (word_order.arguments_cross)."""
    sources: set[str] = set()
    targets: set[str] = set()

    def phrase_after(index: int) -> list[str]:
        """The content words of the phrase after a marker, its head (the last) included: "from
        downtown Chicago" -> chicago, "instead of baking powder" -> powder. A gerund's object
        belongs to it, its determiner too: "from scratching (the) furniture" -> furniture."""
        run: list[str] = []
        gerund = False
        for j in range(index + 1, len(kept)):
            stem, is_content, surface = kept[j]
            if surface == "-":
                continue  # a hyphen joins the words of a compound: "a 6-foot fence"
            if run and (
                surface in lex.TIMES or surface in lex.PREPOSITIONS or manner_adverb(surface)
            ):
                break  # "to euros today", "to my boss politely", "to my pc over wifi": "pc"
            if is_content:
                run.append(stem)
                gerund = surface.endswith("ing")
            elif gerund and surface in DETERMINERS:
                gerund = False
            elif (
                run
                or stem in lex.SOURCE_MARKERS
                or stem in lex.TARGET_MARKERS
                or (surface not in DETERMINERS and j > index + 3)
            ):
                break
        return run

    def right_of(index: int) -> str | None:
        run = phrase_after(index)
        return run[-1] if run else None

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
                other = _coordinated(kept, index - 1)
                if other is not None:
                    sources.add(other)  # "put or patch to update": both items
                if index < 2 or not kept[index - 2][1]:
                    # "a london to dubai flight", "just one london to dubai trip": the phrase
                    # names the trip, the target is in it before its head
                    targets.update(phrase_after(index))
            elif stem in {"insteadof", "into"}:
                for j in range(index - 1, max(index - 4, -1), -1):
                    if kept[j][2] in _STAND_INS:
                        break  # "can i use *it* instead of bread flour": no word of its own
                    if kept[j][1]:
                        sources.add(kept[j][0])
                        break
            if right is not None:
                targets.add(right)
        elif stem == "in":
            right = right_of(index)
            if right is not None and (right in lex.UNIT_NAMES or right in lex.LANGUAGES):
                targets.add(right)
        elif stem == "for" and index > 0 and kept[index - 1][0] == _SUBSTITUTE:
            right = right_of(index)  # "a substitute for buttermilk": what is replaced, as the
            if right is not None:  # Y of "X instead of Y"
                targets.add(right)
    return sources, targets


_SUBSTITUTE = lex.stem("substitute")
_STAND_INS = lex.words("it them this that these those one ones")

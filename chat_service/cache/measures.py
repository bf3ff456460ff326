"""What a question measures, and the words that name it (docs/answer-cache.md): "how deep"
asks the depth and never the area; a generic question that names the measure ("what is the
half-life") asks what "how long is the half-life" asks; two measures are never synonyms ("the
max size" / "weight"); when both questions ask how long (or one asks at what age, the other
when), the words of that measure say nothing more; a distance is the same both ways.
"""

from __future__ import annotations

import re
from dataclasses import replace

from chat_service.cache import lexicon as lex
from chat_service.cache.analysis import Analysis

_MEASURES = frozenset({"quantity", "duration", "frequency", "age", "distance", "size"})


# What a "how <adjective>" question measures, by the nouns that name it (English dimension
# adjectives and their nouns: "how deep" asks the depth, never the area).
_DIMENSIONS = {
    adjective: frozenset(lex.stem(noun) for noun in nouns.split())
    for adjective, nouns in {
        "long": "length duration time deadline interval lifespan lifetime period halflife",
        "tall": "height",
        "high": "height",
        "far": "distance",
        "old": "age",
        "often": "frequency rate interval",
        "deep": "depth",
        "wide": "width",
        "heavy": "weight",
        "big": "size area volume population",
        "large": "size area volume population",
        "small": "size area volume population",
        "fast": "speed",
        "quick": "speed",
        "hot": "temperature",
        "cold": "temperature",
        "warm": "temperature",
        "many": "number count quantity amount total population",
        "much": "amount quantity number count price cost fee rate wage salary budget value "
        "percentage total sum balance dose dosage limit minimum maximum volume intake ratio "
        "proportion deficit pressure",
    }.items()
}
_MEASURE_ADJECTIVES = frozenset(_DIMENSIONS)
_MEASURE_NOUNS = lex.words(
    """
    height length size weight distance number amount quantity count duration dose age
    frequency population price cost time speed temperature depth width area volume limit fee intake
    dosage deadline radius diameter circumference perimeter
    rate wage salary budget value percentage total sum balance minimum maximum chance
    probability odds ratio proportion interval lifespan lifetime period deficit pressure halflife
    """
)
_MEASURE_NOUNS = frozenset(lex.stem(w) for w in _MEASURE_NOUNS)
_MEASURE_WORDS = _MEASURE_ADJECTIVES | _MEASURE_NOUNS
# Measure nouns that name one measure (the others each name their own): "the max carry-on
# *size*" and "*weight*" are two questions, "the *price*" and "the *cost*" one.
_SAME_MEASURES = tuple(
    frozenset(lex.stem(w) for w in group.split())
    for group in (
        "price cost fee value budget",
        "number count quantity amount total sum",
        "wage salary",
        "chance probability odds",
        "duration time length deadline interval lifespan lifetime period",
        "dose dosage intake amount quantity",
        "size area",
        "size volume",
        "limit maximum",
        "ratio proportion percentage",
        "limit minimum",
    )
)


# The levels of a place, each a question of its own: "what city is the eiffel tower in" is
# answered "paris", "what country" "france" (their word vectors sit close).
_PLACE_LEVELS = frozenset(
    lex.stem(w)
    for w in lex.words("town city county state province region country continent neighborhood")
)


def different_measures(x: str, y: str) -> bool:
    """Two stems that are both measure nouns, of different measures, or two levels of place."""
    if x == y:
        return False
    if x in _PLACE_LEVELS and y in _PLACE_LEVELS:
        return True
    if x not in _MEASURE_NOUNS or y not in _MEASURE_NOUNS:
        return False
    return not any(x in group and y in group for group in _SAME_MEASURES)


_HOW_RE = re.compile(r"\bhow (\w+)\b")


def measure_vs_generic(a: Analysis, b: Analysis) -> bool:
    """ "How long is the half-life" vs "what is the half-life" / "the length of": the measure is
    said once as "how <adjective>", once as a noun that names that same measure. "How deep is
    the lake" vs "what is the area of the lake" asks another measure."""
    if b.intents == {"generic"}:
        a, b = b, a
    if a.intents != {"generic"} or not b.intents or not b.intents <= _MEASURES | {"degree"}:
        return False
    nouns = {c for c in a.content if c in _MEASURE_NOUNS}
    asked = (_DIMENSIONS.get(w, frozenset()) for w in _HOW_RE.findall(b.text))
    return bool(nouns) and nouns <= frozenset().union(*asked)


def without_measure_words(x: Analysis) -> Analysis:
    content = tuple(c for c in x.content if c not in _MEASURE_WORDS)
    return replace(x, content=content)


# The words that name a duration, when both questions ask "how long": "how long does it *take*
# for a tattoo to heal" / "how long is the healing *time* for a tattoo" say nothing more.
_DURATION_WORDS = frozenset(lex.stem(w) for w in lex.words("time duration take takes took taking"))


_AGE_WORDS = frozenset(lex.stem(w) for w in lex.words("old age"))


def without_words_of_the_measure(a: Analysis, b: Analysis) -> tuple[Analysis, Analysis]:
    """... and the words of an age, when one question asks it and the other asks when."""
    if a.intents == b.intents == {"duration"}:
        words = _DURATION_WORDS
    elif a.intents | b.intents == {"age", "when"}:
        words = _AGE_WORDS
    else:
        return a, b

    def plain(x: Analysis) -> Analysis:
        return replace(x, content=tuple(c for c in x.content if c not in words))

    return plain(a), plain(b)


def symmetric_measure(a: Analysis, b: Analysis) -> bool:
    """Both ask a distance: "how far is boston from new york" is "how far is new york from
    boston", the way there and the way back are one length."""
    return a.intents == b.intents == {"distance"}

"""Words left over on one side that ask nothing the other question does not (verify.py, after
the content words are matched; docs/answer-cache.md): the asker's situation said in a statement
beside the question, the unit a duration is counted in, and the present, which a question that
names no time asks about."""

from __future__ import annotations

import re

from chat_service.cache import lexicon as lex
from chat_service.cache.analysis import Analysis
from chat_service.cache.rewording import Missing


def unasked_removed(a: Analysis, b: Analysis, missing: Missing) -> Missing:
    """`missing` (stem, its question, the other) less the words that ask nothing more."""
    if not (a.context and b.context):  # two situations stated are compared whole
        missing = [(s, own, other) for s, own, other in missing if not _situation(s, own)]
    if _one_side(missing, "units"):
        missing = [(s, own, other) for s, own, other in missing if not _duration_unit(s, own)]
    if _one_side(missing, "time"):
        missing = [(s, own, other) for s, own, other in missing if own.words[s] not in _PRESENT]
    return missing


def _one_side(missing: Missing, category: str) -> bool:
    """Words of `category` are left over on one side only (two sides' are a difference)."""
    return len({id(own) for s, own, _ in missing if own.categories.get(s) == category}) == 1


def _situation(stem: str, own: Analysis) -> bool:
    """A plain word, a time or a unit of time said only in a statement beside the question
    ("i'm planning my honeymoon. when is ..."): the asker's situation when only one question
    states one (two are compared: "i'm a nurse. my pay?" / "i'm a plumber. my pay?"). Its names,
    numbers, other units, languages are compared: it can hold the problem. So is an audience
    when the question points back at it ("my lab pulls. how do i stop *him*") or it is the
    asker ("i'm pregnant."); someone else in the story is not ("my kid usually does this for
    me. how do i take a screenshot")."""
    category = own.categories.get(stem)
    return stem in own.context and (
        category in ("content", "time")
        or (category == "units" and stem in lex.TIME_UNITS)
        or (category == "audience" and not _audience_asked(own, own.words[stem]))
    )


# The present: a question that names no time asks about it ("the current tax rate" / "the tax
# rate"); against another time it is a time that differs ("now" / "in 1990").
_PRESENT = frozenset({"now", "current"})


def _duration_unit(stem: str, own: Analysis) -> bool:
    """The unit a duration is asked in ("how many days until ..." is read "how long days
    until ..."): it agrees with a duration asked in no unit, never with another unit."""
    word = own.words.get(stem, "")
    return own.categories.get(stem) == "units" and f"how long {word}" in own.text


# a third person the question points back at: "~he" is a function word of `asked_order`
_PRONOUNS = frozenset("~" + w for w in lex.words("he she him her his hers they them their theirs"))
# "i'm pregnant", "i am a senior", "as a beginner"; not "i'm helping my kid"
_ASKER_IS = r"\b(?:i'm|i am|im|as an?)\s+(?:(?!(?:my|our|your)\b)[\w'-]+\s+){0,2}"


def _audience_asked(own: Analysis, word: str) -> bool:
    return bool(_PRONOUNS.intersection(own.asked_order)) or (
        re.search(_ASKER_IS + re.escape(word) + r"\b", own.text) is not None
    )

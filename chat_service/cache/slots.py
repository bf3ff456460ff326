"""The parts of two questions that must agree exactly for a cached answer to be reused (the
"slots"; docs/answer-cache.md): quoted terms and code, numbers, the kind of question, tense,
and the direction of the question's arguments. Each check is a general rule of English
questions, not a list of examples. The word-order checks of the direction slot are in
word_order.py.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

from chat_service.cache import lexicon as lex
from chat_service.cache.analysis import Analysis
from chat_service.cache.wordmatch import lexically_equal


def terms_agree(a: Analysis, b: Analysis) -> bool:
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


def numbers_agree(a: Analysis, b: Analysis) -> bool:
    if Counter(a.numbers) != Counter(b.numbers) and _numbers(a, b) != _numbers(b, a):
        return False
    if a.digit_ones != b.digit_ones:
        fewer = a if a.digit_ones < b.digit_ones else b
        if not fewer.soft_one:
            return False
    return True


def _numbers(x: Analysis, other: Analysis) -> Counter[float]:
    return Counter(asked_numbers(x, other))


def asked_numbers(x: Analysis, other: Analysis) -> list[float]:
    """x's numbers in order, less those only its situation says when the other question states
    none ("i'm taking the gre in three months. what's the best way to study"): where the asker
    stands, not a value asked about. An age stays (who the answer is for), and so does a number
    the other question has too. Of two situations only the ordinal words are left out when the
    other has none ("just got my first road bike. how do i ..."); "my first trimester" / "my
    third trimester" are compared."""
    dropped: Counter[float] = Counter()
    if not other.stated:
        dropped = Counter(x.situation_numbers) - Counter(other.numbers)
    if not other.situation_ordinals:
        dropped |= Counter(x.situation_ordinals)
    numbers = list(x.numbers)
    for number in dropped.elements():
        if number in numbers:  # never a crash on a reading that kept no number for it
            numbers.remove(number)
    return numbers


def intents_agree(a: frozenset[str], b: frozenset[str]) -> bool:
    """Same kind of question; "what is the way to" and "how do I" are the same kind, and so are
    the three ways to ask which of two things: "is it better to rent or buy", "should I rent or
    buy", "which is better, renting or buying" (an alternative, a yes/no question, "which"), and
    "when" and "at what age" of a stage of life."""
    if a == b or not a or not b:
        return True
    if "alternative" in a | b:
        return a | b <= {"alternative", "yesno", "generic"}
    if a | b == {"age", "when"}:
        return True  # "when can babies eat solids" is answered with an age
    return a <= {"manner", "generic"} and b <= {"manner", "generic"}


_PREFERENCE = frozenset(lex.stem(w) for w in lex.words("better best"))


def without_preference(a: Analysis, b: Analysis) -> tuple[Analysis, Analysis]:
    """In a question between two things, "better" asks which to prefer, as "should I" does: "is
    it better to brush before or after breakfast" / "should I brush before or after breakfast".
    Another comparison ("cheaper", "healthier") is a question of its own and stays, and so does
    "better" where one question offers two things and the other asks of one alone."""
    if "alternative" not in a.intents | b.intents or "yesno" in a.intents | b.intents:
        return a, b

    def plain(x: Analysis) -> Analysis:
        return replace(x, content=tuple(c for c in x.content if c not in _PREFERENCE))

    return plain(a), plain(b)


def _related(xs: frozenset[str], a: Analysis, ys: frozenset[str], b: Analysis) -> bool:
    return any(lexically_equal(x, y, a.words.get(x, x), b.words.get(y, y)) for x in xs for y in ys)


def _shared(roles: frozenset[str], own: Analysis, other: Analysis) -> frozenset[str]:
    return frozenset(
        r
        for r in roles
        if any(
            lexically_equal(r, o, own.words.get(r, r), other.words.get(o, o)) for o in other.content
        )
    )


# What a yes/no question asks of an action: whether it may be done (permission, possibility)
# or whether it must be (obligation). "Can I bring a power bank on a plane" is answered yes
# where "must I bring one" is answered no. Advice ("should I") is left to agree with either:
# people ask "do I need to tip" and "should I tip" for the same answer.
_PERMISSION_RE = re.compile(r"\b(?:can|could|may|cannot|can't|couldn't)\b")
_OBLIGATION_RE = re.compile(
    r"\b(?:must|mustn't|(?:have|has|had) to|needs?|needed|necessary|required|mandatory"
    r"|compulsory|obligatory|obligated)\b"
)


# What one has to be to do something is the condition under which one may ("how old do you
# have to be to drive" asks "at what age can you drive").
_CONDITION_TO_RE = re.compile(r"\b(?:have|has|need|needs) to be\b[^?.!,]*? to \w+")


def _modality(x: Analysis) -> str | None:
    condition = bool(_CONDITION_TO_RE.search(x.text))
    permission = condition or bool(_PERMISSION_RE.search(x.text))
    obligation = not condition and bool(_OBLIGATION_RE.search(x.text))
    if permission == obligation:  # neither, or both (one of them said in a statement)
        return None
    return "permission" if permission else "obligation"


def modalities_conflict(a: Analysis, b: Analysis) -> bool:
    """One question asks whether something may be done, the other whether it must be."""
    ma, mb = _modality(a), _modality(b)
    return ma is not None and mb is not None and ma != mb


def tenses_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """ "Who is / was the CEO", "who won / will win": each question in one tense, and they
    differ. A past verb ("who wrote X") agrees with a present copula ("who is the author of X")."""
    if len(a) != 1 or len(b) != 1 or a == b:
        return False
    if "past-verb" in a | b:
        return "future" in a | b
    return True


def mirrored(a: Analysis, b: Analysis) -> bool:
    """ "Did Rome conquer Carthage" / "did Carthage conquer Rome": three adjacent content words
    (only articles between them) where the outer two trade places around the same middle one."""
    if Counter(a.content) != Counter(b.content):
        return False
    nb = {t[1]: (t[0], t[2]) for t in b.triples}
    return any(left != right and nb.get(mid) == (right, left) for left, mid, right in a.triples)


def direction_agrees(a: Analysis, b: Analysis) -> bool:
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


def _units_after_numbers(x: Analysis) -> dict[str, set[str]]:
    """Each number's units: the unit words right after it ("25 degrees celsius")."""
    out: dict[str, set[str]] = {}
    for i, token in enumerate(x.order):
        if token.startswith("#"):
            for following in x.order[i + 1 :]:
                stem = following.split("@")[0]
                if x.categories.get(stem) != "units":
                    break
                out.setdefault(token.split("@")[0], set()).add(stem)
    return out


def _bound_units(x: Analysis) -> list[tuple[str, str]] | None:
    """Each number with the unit it is bound to (a unit word after it, a currency sign before
    it: "$300,000 ... at 6% over 30 years"), or None when a number stands bare."""
    bound = []
    for i, token in enumerate(x.order):
        if not token.startswith("#"):
            continue
        after = x.order[i + 1].split("@")[0] if i + 1 < len(x.order) else ""
        before = x.order[i - 1].split("@")[0] if i > 0 else ""
        if x.categories.get(after) == "units":
            bound.append((token.split("@")[0], after))
        elif x.categories.get(before) == "units" and not x.words[before].isalnum():
            bound.append((token.split("@")[0], before))
        else:
            return None
    return bound


def order_free(a: Analysis, b: Analysis) -> bool:
    """Numbers each bound to a unit of its own say which is which wherever they stand: the order
    of "a $300,000 mortgage at 6% over 30 years" is free, that of "20% of 80" is not, and "$5 at
    200%" is another question than "$200 at 5%"."""
    bound_a, bound_b = _bound_units(a), _bound_units(b)
    if bound_a is None or bound_b is None:
        return False
    units = [unit for _, unit in bound_a]
    return len(set(units)) == len(units) and sorted(bound_a) == sorted(bound_b)


def quantities_agree(a: Analysis, b: Analysis) -> bool:
    """A number keeps its unit: "convert 10 miles to km" is not "how many miles is 10 km"
    (the same numbers and units, another quantity)."""
    units_a, units_b = _units_after_numbers(a), _units_after_numbers(b)
    return all(units_a[number] & units_b[number] for number in units_a.keys() & units_b.keys())


# "Answer in French: ...", "... reply in spanish", "..., in german please" ("please" is gone
# once normalized): the language the reply is asked in, whatever the question mentions ("my
# french press").
_REPLY_LANGUAGE_RE = re.compile(
    r"\b(?:answer|reply|respond)(?: me)? in ([a-z]+)\b|(?:^|[,.;:] )in ([a-z]+)(?=[,.;:]|$)"
)


def reply_language(x: Analysis) -> str | None:
    for match in _REPLY_LANGUAGE_RE.finditer(x.text):
        language = match.group(1) or match.group(2)
        if language in lex.LANGUAGES:
            return language
    return None


# A second question joined to the first ("how often should i inspect the hive, and what should
# i look for"): one side asking two things where the other asks one.
_SECOND_QUESTION_RE = re.compile(r"\band\s+(?:what|how|why|when|where|which|who)\b")


def as_many_questions(a: Analysis, b: Analysis) -> bool:
    return len(_SECOND_QUESTION_RE.findall(a.text)) == len(_SECOND_QUESTION_RE.findall(b.text))

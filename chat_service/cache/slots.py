"""The parts of two questions that must agree exactly for a cached answer to be reused (the
"slots"; docs/answer-cache.md): quoted terms and code, numbers, the kind of question, tense,
and the direction of the question's arguments. Each check is a general rule of English
questions, not a list of examples.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

from chat_service.cache import lexicon as lex
from chat_service.cache.analysis import Analysis
from chat_service.cache.stemmer import IRREGULAR
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
    r"\b(?:must|mustn't|(?:have|has|had) to|needs?|necessary|required|mandatory|compulsory"
    r"|obligatory)\b"
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


# Words that relate two arguments by their sides: source and target ("from X to Y", "X into
# Y", "25 C in F"), exchange ("euros for 500 dollars"), comparison and substitution ("X than Y",
# "X instead of Y", "the dollar against the euro"), order in time ("corn after soybeans").
# Symmetric words ("and", "or", "between", "vs") and words whose attachment moves freely when a
# sentence is rephrased ("of", "with", "on") are not among them.
_RELATIONS = frozenset(["~from", "~to", "~into", "~onto", "~for", "~in", "~than", "~insteadof"])
_RELATIONS |= {"after", "before", "against"}


def arguments_cross(a: Analysis, b: Analysis) -> bool:
    """Two arguments trade sides around a relation word that both questions share ("from Paris
    to Rome" / "from Rome to Paris", "euros for 500 dollars" / "dollars for 500 euros", "3
    workers build a wall in 12 days" / "4 workers ... in 12 days ... 3"). Moving one phrase to
    the front ("in Python, how do I ...") moves words across it in one direction only, and a
    time or a manner moves freely ("in autumn in paris" / "in paris in the autumn", "send money
    to mexico the cheapest way" / "the cheapest way to send money ... to mexico")."""
    shared = set(a.order) & set(b.order)
    free = ("time", "comparison")
    movable = {
        t for t in shared if not t.startswith("~") and a.categories.get(t.split("@")[0]) not in free
    }
    # Relation words, and numbers: "how many km is 10 miles" / "how many miles is 10 km".
    pivots = [t for t in shared if t.split("@")[0] in _RELATIONS or t.startswith("#")]
    pos_a = {t: i for i, t in enumerate(a.order) if t in shared}
    pos_b = {t: i for i, t in enumerate(b.order) if t in shared}
    for pivot in pivots:
        moved_right = moved_left = False
        for token in movable - {pivot}:
            before_a = pos_a[token] < pos_a[pivot]
            before_b = pos_b[token] < pos_b[pivot]
            moved_right |= before_a and not before_b
            moved_left |= before_b and not before_a
        if moved_right and moved_left:
            return True
    return False


# Words that join two things without ordering them: "X and Y" is "Y and X".
_SYMMETRIC = frozenset(["~and", "~or", "~between", "~both", "~either", "~nor"])


# Exchanging two phrases can change the words that agree with them: the article follows the
# next word's sound ("water-based ... an oil-based" / "oil-based ... a water-based") and the
# verb its subject ("how does the moon affect tides" / "how do tides affect the moon").
_ARTICLES = frozenset({"~a", "~an", "~the"})
_AGREEMENT = {"~does": "~do", "~are": "~is", "~were": "~was", "~has": "~have"}
# Words for people that fill a role as a noun does ("can people catch ringworm from calves").
_PERSONS = frozenset({"~people", "~person", "~someone", "~somebody", "~humans", "~others"})


def _agreement_blind(order: tuple[str, ...]) -> list[str]:
    """Tokens without occurrence marks, articles, hyphens ("self-esteem" is "self esteem") or
    agreement: what an exchange keeps."""
    tokens = (t.split("@")[0] for t in order)
    return [_AGREEMENT.get(t, t) for t in tokens if t not in _ARTICLES and t != "~-"]


def _fills_a_role(part: list[str]) -> bool:
    return any(not t.startswith("~") or t in _PERSONS for t in part)


def swapped_in_place(a: Analysis, b: Analysis) -> bool:
    """The same words, with two of its phrases exchanged around a middle that holds a content
    word ("does *best buy* price match *amazon*" / "does *amazon* price match *best buy*", "slow
    on my *laptop* but fast on my *phone*"): who does what to whom has changed. A middle with a
    symmetric word ("x or y", "2.4 ghz or 5 ghz") orders nothing, a clause moved to the front
    ("if ..., how ..." / "how ..., if ...") has no middle, and a pronoun traded for the phrase it
    stands for ("before using a new pan, how long should it ..." read in the other order)
    exchanges no roles."""
    x, y = _agreement_blind(a.order), _agreement_blind(b.order)
    if x == y or sorted(x) != sorted(y):
        return False
    start = 0
    while x[start] == y[start]:
        start += 1
    end = 0
    while x[-1 - end] == y[-1 - end]:
        end += 1
    p, q = x[start : len(x) - end], y[start : len(y) - end]
    m = len(p)
    for first in range(1, m - 1):
        for last in range(1, m - first):
            middle = p[first : m - last]
            if (
                p[:first] == q[m - first :]
                and p[m - last :] == q[:last]
                and middle == q[last : m - first]
                and not _SYMMETRIC.intersection(middle)
                and any(not t.startswith("~") for t in middle)
                and _fills_a_role(p[:first])
                and _fills_a_role(p[m - last :])
            ):
                return True
    return False


def exchanged_across(a: Analysis, b: Analysis) -> bool:
    """Two words that trade places across a content word both questions keep between them, the
    rest of the sentences free ("off a *mac*-formatted drive using a *windows* pc" / "off a
    *windows*-formatted drive using a *mac*"), each in the other's place: moving a phrase
    carries its words past others in one direction, and a sentence restated ("merge two
    dictionaries" / "two dictionaries be merged") puts its words in new places. A middle with a
    symmetric word ("x and y") orders nothing; a time or a comparison moves freely. The asker
    is one of the words, whether "i" or "me" ("can *i* give my *dog* ibuprofen" / "can my *dog*
    give *me* ibuprofen")."""
    x, y = _asker_one(_agreement_blind(a.order)), _asker_one(_agreement_blind(b.order))
    shared = [
        t
        for t in dict.fromkeys(x)
        if (not t.startswith(("~", "#")) or t == "~i") and x.count(t) == 1 and y.count(t) == 1
    ]
    pos_x = {t: x.index(t) for t in shared}
    pos_y = {t: y.index(t) for t in shared}
    movable = [t for t in shared if a.categories.get(t) not in ("time", "comparison")]
    for first in movable:
        for second in movable:
            if not pos_x[first] < pos_x[second] or not pos_y[second] < pos_y[first]:
                continue
            middle_x = x[pos_x[first] + 1 : pos_x[second]]
            middle_y = y[pos_y[second] + 1 : pos_y[first]]
            if _SYMMETRIC.intersection(middle_x + middle_y):
                continue
            places = (
                _took_place(x, pos_x[first], y, pos_y[second]),
                _took_place(x, pos_x[second], y, pos_y[first]),
            )
            if all(places) and max(places) == 2 and _shares(middle_x, middle_y, shared):
                return True
    return False


def _asker_one(tokens: list[str]) -> list[str]:
    return ["~i" if t == "~me" else t for t in tokens]


# A light verb is a function word of the analysis, yet it relates the words around it ("can i
# *give* my dog ibuprofen" / "can my dog *give* me ibuprofen").
_LIGHT_VERBS = frozenset("~" + w for w in lex.LIGHT_VERBS)


def _shares(middle_x: list[str], middle_y: list[str], shared: list[str]) -> bool:
    return any((t in shared or t in _LIGHT_VERBS) and t in middle_y for t in middle_x)


def _took_place(x: list[str], i: int, y: list[str], j: int) -> int:
    """How surely x's word at i took the place of y's at j: 2 when they stand between the same
    two neighbours or beside the same content word ("a *mac*-formatted" / "a
    *windows*-formatted"), 1 beside the same function word ("using a *mac*"), else 0 (the
    sentence's end is no neighbour)."""
    before = i > 0 and j > 0 and x[i - 1] == y[j - 1]
    after = i + 1 < len(x) and j + 1 < len(y) and x[i + 1] == y[j + 1]
    if (before and after) or (before and not x[i - 1].startswith("~")):
        return 2
    if after and not x[i + 1].startswith("~"):
        return 2
    return 1 if before or after else 0


_BE = frozenset({"~is", "~are", "~was", "~were", "~be", "~been", "~being", "~am", "~s"})


def _passive_at(x: Analysis) -> tuple[int, str] | None:
    """The verb of a passive clause with its agent ("are tides *affected* by the moon"): a
    form of "be" before it, a participle (-ed, -en, -wn, or an irregular form the stemmer
    knows: made, bought, caught), "by" right after it."""
    seen_be = False
    for i, token in enumerate(x.order[:-1]):
        seen_be |= token.split("@")[0] in _BE
        surface = x.words.get(token, "")
        if (
            seen_be
            and x.order[i + 1].split("@")[0] == "~by"
            and (surface.endswith(("ed", "en", "wn")) or surface in IRREGULAR)
        ):
            return i, token
    return None


def _content_stems(tokens: tuple[str, ...]) -> set[str]:
    return {t.split("@")[0] for t in tokens if not t.startswith(("~", "#"))}


def passive_flipped(a: Analysis, b: Analysis) -> bool:
    """One question in the passive voice, the other in the active with the same verb, and the
    same words before the verb in both: the roles are exchanged ("how are tides affected by
    the moon" / "how do tides affect the moon"). The passive's subject is the active's object
    ("how does the moon affect tides" asks the same)."""
    for x, y in ((a, b), (b, a)):
        found = _passive_at(x)
        if found is None or _passive_at(y) is not None:
            continue
        i, verb = found
        if verb not in y.order:
            continue
        j = y.order.index(verb)
        subject, agent = _content_stems(x.order[:i]), _content_stems(x.order[i + 2 :])
        if subject & _content_stems(y.order[:j]) and agent & _content_stems(y.order[j + 1 :]):
            return True
    return False


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

"""The word-order checks of two questions' arguments (docs/answer-cache.md, the direction slot):
two arguments that trade sides around a relation word, two phrases exchanged in place, two words
that trade places across a word both keep, and the passive voice's subject and agent. A phrase
moved or a sentence restated keeps who does what to whom; these changes do not. Each is a
general rule of English word order, applied to the analysis's `order` (slots.py holds the
other slots).
"""

from __future__ import annotations

from chat_service.cache import lexicon as lex
from chat_service.cache.analysis import Analysis
from chat_service.cache.stemmer import IRREGULAR

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
    b_order = _marked_as_in(a.order, b.order)
    shared = set(a.order) & set(b_order)
    free = ("time", "comparison")
    movable = {
        t for t in shared if not t.startswith("~") and a.categories.get(t.split("@")[0]) not in free
    }
    # Relation words, and numbers: "how many km is 10 miles" / "how many miles is 10 km".
    pivots = [t for t in shared if t.split("@")[0] in _RELATIONS or t.startswith("#")]
    pos_a = {t: i for i, t in enumerate(a.order) if t in shared}
    pos_b = {t: i for i, t in enumerate(b_order) if t in shared}
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


def _marked_as_in(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    """b's tokens, with the occurrences of a word said more than once marked as in a: each is
    the occurrence of a with the same content word after it, else before it. Marks count from
    the start, so moving a phrase renumbers them ("talking *to* my boss, how *to* say X" / "how
    *to* say X, talking *to* my boss")."""
    bases_a = [t.split("@")[0] for t in a]
    bases_b = [t.split("@")[0] for t in b]
    renamed = list(b)
    for base in {t for t in bases_b if bases_a.count(t) + bases_b.count(t) > 2}:
        free = [i for i, t in enumerate(bases_a) if t == base]
        todo = [j for j, t in enumerate(bases_b) if t == base]
        for side in (1, -1):  # the content word after, then the one before
            for j in list(todo):
                near = _content_beside(bases_b, j, side)
                match = next(
                    (i for i in free if near and _content_beside(bases_a, i, side) == near), None
                )
                if match is not None:
                    renamed[j] = a[match]
                    free.remove(match)
                    todo.remove(j)
        extra = iter(range(len(a) + 1, len(a) + len(b) + 2))
        for j in todo:
            renamed[j] = a[free.pop(0)] if free else f"{base}@{next(extra)}"
    return tuple(renamed)


def _content_beside(bases: list[str], index: int, side: int) -> str | None:
    i = index + side
    while 0 <= i < len(bases):
        if not bases[i].startswith("~"):
            return bases[i]
        i += side
    return None


# Words that join two things without ordering them: "X and Y" is "Y and X".
_SYMMETRIC = frozenset(["~and", "~or", "~between", "~both", "~either", "~nor"])
# ... unless each of the two heads a phrase of its own: "fly *into* rome and *out of* milan"
_PHRASE_HEADS = frozenset(lex.PREPOSITIONS | {"~" + p for p in lex.PREPOSITIONS})


def _unordered(middle: list[str]) -> bool:
    """A middle that joins two things without ordering them (see _SYMMETRIC)."""
    return bool(_SYMMETRIC.intersection(middle)) and not _PHRASE_HEADS.intersection(middle)


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
                and not _unordered(middle)
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
    is one of the words, whether "i", "me" or "myself" ("can *i* give my *dog* ibuprofen" /
    "can my *dog* give *me* ibuprofen"), and so is a word for people ("a check *i* wrote to
    *someone*" / "a check *someone* wrote to *me*")."""
    if _passive_at(a) is not None or _passive_at(b) is not None:
        return False  # the passive puts its agent last: passive_flipped reads its roles
    x, y = _asker_one(_agreement_blind(a.order)), _asker_one(_agreement_blind(b.order))
    x, y = [t for t in x if t not in _POSSESSIVES], [t for t in y if t not in _POSSESSIVES]
    shared = [
        t
        for t in dict.fromkeys(x)
        if (not t.startswith(("~", "#")) or t == "~i" or t in _PERSONS)
        and x.count(t) == 1
        and y.count(t) == 1
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
            if _unordered(middle_x + middle_y):
                continue
            places = (
                _took_place(x, pos_x[first], y, pos_y[second]),
                _took_place(x, pos_x[second], y, pos_y[first]),
            )
            if all(places) and max(places) == 2 and _shares(middle_x, middle_y, shared):
                return True
    return False


# a possessive stays with its noun when the noun trades places with the asker ("my *husband*
# snores louder than *me*" / "*i* snore louder than my *husband*")
_POSSESSIVES = frozenset({"~my", "~your", "~his", "~her", "~our", "~their"})


def _asker_one(tokens: list[str]) -> list[str]:
    return ["~i" if t in ("~me", "~myself") else t for t in tokens]


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

"""What a word left over on one side makes with the words around it (verify.py's loose word,
rewording.py's rules): a compound that narrows a word both questions share ("a *kitchen*
sink"), an item joined to a shared word by "and"/"or", or the question's main verb, which makes
no compound with its subject or its object; and two words that trade places around "of"."""

from __future__ import annotations

from chat_service.cache import lexicon as lex
from chat_service.cache.analysis import DETERMINERS, Analysis

_JOINERS = frozenset({"~and", "~or", "~plus", "~&"})


def compounds_shared_word(x: Analysis, stem: str, other: Analysis) -> bool:
    """A word directly beside a word both questions share, with nothing between, makes a
    compound that narrows it ("a *kitchen* sink", "a *bike* tire", "bread *machine*"), and one
    joined to it by "and"/"or" adds an item (`joined_to_shared`): a change of scope, never a
    loose word. A determiner between ("fix *a* leaky faucet") starts another phrase. A light or
    aspectual verb makes no compound: "*take* a screenshot" is to screenshot, "*start*
    learning" to learn."""
    if x.words[stem] in lex.LIGHT_VERBS:
        return False
    order = x.order
    for i, token in enumerate(order):
        if token == stem:
            if main_verb(order, i):
                continue  # it makes no compound with its subject or its object
            beside = order[max(0, i - 1) : i] + order[i + 1 : i + 2]
            if any(
                t.split("@")[0] in other.content
                and t != stem
                and x.categories.get(t.split("@")[0]) != "time"
                for t in beside
            ):
                return True
    return joined_to_shared(x, stem, other)


def main_verb(order: tuple[str, ...], i: int) -> bool:
    """Whether order[i] is the question's main verb: after an auxiliary and a one-word subject,
    with no content word after it ("which timezone *does* chicago *use*"; in "does apple
    watch track sleep" the subject is two words), or an infinitive ("how to *eliminate* fruit
    flies": its object without a determiner)."""
    before = [t.lstrip("~") for t in order[max(0, i - 2) : i]]
    if len(before) == 2 and before[0] in lex.AUXILIARIES:
        return i + 1 == len(order) or order[i + 1].startswith("~")
    return before[-1:] == ["to"] and (i == 1 or before[0] in lex.INFINITIVE_HEADS)


def joined_to_shared(x: Analysis, stem: str, other: Analysis) -> bool:
    """`stem` joined by "and"/"or" to a word both questions share ("short-term memory *and
    mood*", "which saw *and chisel*"), where `other` joins nothing to that word: an item added
    to what is asked about."""
    order = x.order
    for i, token in enumerate(order):
        if token == stem:
            before, after = order[max(0, i - 2) : i], order[i + 1 : i + 3]
            for pair in (before[::-1], after):
                if (
                    len(pair) == 2
                    and pair[0] in _JOINERS
                    and pair[1].split("@")[0] in other.content
                    and not _joined(other, pair[1].split("@")[0])
                ):
                    return True
    return False


def _joined(x: Analysis, stem: str) -> bool:
    """Whether `stem` stands beside "and"/"or" in x (an item of a list)."""
    order = [t.split("@")[0] for t in x.order]
    return any(
        t == stem and _JOINERS.intersection(order[max(0, i - 1) : i] + order[i + 1 : i + 2])
        for i, t in enumerate(order)
    )


def _of_phrases(x: Analysis) -> set[tuple[str, str]]:
    """(head, complement) of each "X of Y" in x, determiners skipped ("the sum *of the*
    squares")."""
    order = [t.lstrip("~").split("@")[0] if t.startswith("~") else t for t in x.order]
    found = set()
    for i, token in enumerate(order):
        if token != "of" or i == 0 or x.order[i - 1].startswith(("~", "#")):
            continue
        j = i + 1
        while j < len(order) and order[j] in DETERMINERS:
            j += 1
        if j < len(order) and not x.order[j].startswith(("~", "#")):
            found.add((x.order[i - 1].split("@")[0], x.order[j].split("@")[0]))
    return found


def of_swapped(a: Analysis, b: Analysis) -> bool:
    """ "X of Y" in one question and "Y of X" in the other: head and complement name different
    things ("the relative minor of a major key" / "the relative major of a minor key", "the
    square of the sum" / "the sum of the squares")."""
    of_b = _of_phrases(b)
    return any((y, x) in of_b for x, y in _of_phrases(a) if x != y)

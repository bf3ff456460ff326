"""Support-verb constructions for the cache verifier (verify.py; docs/answer-cache.md): a light
verb before a noun that names an event says that event's verb, and no more ("make a complaint"
is to complain, "make a decision" to decide, "give an explanation" to explain). The noun and
the verb are matched by English derivational morphology (wordmatch.nominalization); the light
verb then asks nothing of its own, wherever the two questions stand in similarity."""

from __future__ import annotations

from chat_service.cache import lexicon as lex
from chat_service.cache.analysis import DETERMINERS, Analysis
from chat_service.cache.wordmatch import nominalization

_LIGHT_STEMS = frozenset(lex.stem(w) for w in lex.LIGHT_VERBS) | lex.LIGHT_VERBS


def without_support_verbs(x: Analysis, x_missing: list[str], y: Analysis) -> list[str]:
    """x's leftover words without the light verbs whose object (after a determiner, if any)
    names the event of a verb that y says: "*make* a complaint about my airline" / "complain
    about my airline"."""
    return [s for s in x_missing if not (s in _LIGHT_STEMS and _object_is_event(x, s, y))]


def _object_is_event(x: Analysis, verb: str, y: Analysis) -> bool:
    order = [t.split("@")[0] for t in x.order]
    for i, token in enumerate(order):
        if token != verb:
            continue
        rest = order[i + 1 :]
        while rest and rest[0].startswith("~") and rest[0][1:] in DETERMINERS:
            rest = rest[1:]
        if rest and rest[0] in x.words:
            noun = x.words[rest[0]]
            if any(nominalization(y.words[o], noun) for o in y.content):
                return True
    return False

"""A question said another way: the rules that accept words left over on both sides of two
questions because the sentence around them was restated (verify.py applies them from
`REWORDED_MIN`). A near-miss changes one thing in one place and keeps the rest of the sentence
word for word; a rewording restates the sentence."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from chat_service.cache.analysis import Analysis
from chat_service.cache.compounds import joined_to_shared
from chat_service.cache.wordmatch import converse, opposites_shaped, polar

Missing = list[tuple[str, Analysis, Analysis]]  # (stem, its question, the other question)


def edited_places(a: Analysis, b: Analysis) -> int:
    """In how many places the two questions' word sequences differ in a content word (function
    words aligned but not counted on their own)."""
    ops = SequenceMatcher(None, a.order, b.order, autojunk=False).get_opcodes()
    return sum(
        1
        for tag, i1, i2, j1, j2 in ops
        if tag != "equal"
        and any(not t.startswith(("~", "#")) for t in a.order[i1:i2] + b.order[j1:j2])
    )


def reworded(a: Analysis, b: Analysis, missing: Missing) -> bool:
    """Both questions keep words the other lacks (three or more in all), all of them plain (no
    name, unit, language, audience, time, comparison or polar word: those are slots or must
    agree), and the differences are spread over two places or more. A near-miss changes one
    thing in one place ("time complexity" / "space complexity", "in the US" / "in Germany", a
    phrase added); a rewording changes the sentence ("can tenants paint walls in a rented
    flat" / "is a renter allowed to repaint the walls of an apartment")."""
    if (
        len(missing) < 3
        or not any(own is a for _, own, _ in missing)
        or not any(own is b for _, own, _ in missing)
    ):
        return False  # one word for another is a substitution: verify._loose's rule
    if not all(
        own.categories.get(stem) == "content" and not polar(own.words[stem])
        for stem, own, _ in missing
    ):
        return False
    words_a = [a.words[s] for s, own, _ in missing if own is a]
    words_b = [b.words[s] for s, own, _ in missing if own is b]
    if any(converse(x, y) or opposites_shaped(x, y) for x in words_a for y in words_b):
        return False  # "the buyer ... when buying" / "the seller ... when selling"; "increase"
    if _listed(a.text, words_a) != _listed(b.text, words_b):
        return False  # items listed on one side only: what is asked about grew or shrank
    if any(joined_to_shared(own, stem, other) for stem, own, other in missing):
        return False  # an item added to a list the other question has one item of
    return edited_places(a, b) >= 2


_LIST_TOKEN_RE = re.compile(r"[\w'-]+|[,;&/]")
_LIST_JOINERS = frozenset({",", ";", "&", "/", "and", "or", "plus", "including"})
_LIST_SKIPPED = frozenset({"a", "an", "the", "my", "your", "our", "their", "his", "her", "its"})


def _listed(text: str, words: list[str]) -> bool:
    """Two of `words` are items of one list: joined by a comma, "and", "or" ("gmail, facebook
    and my bank", "roles and users"), with at most an article or a possessive before an item."""
    tokens = [t for t in _LIST_TOKEN_RE.findall(text) if t not in _LIST_SKIPPED]
    wanted = set(words)
    return any(
        left in wanted and joiner in _LIST_JOINERS and right in wanted
        for left, joiner, right in zip(tokens, tokens[1:], tokens[2:], strict=False)
    )

"""A question said another way: the rules that accept words left over on one side or both of
two questions because the sentence around them was restated (verify.py applies them from
`REWORDED_MIN`). A near-miss changes one thing in one place and keeps the rest of the sentence
word for word; a rewording restates the sentence."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from chat_service.cache import lexicon as lex
from chat_service.cache.analysis import DETERMINERS, Analysis
from chat_service.cache.compounds import joined_to_shared, main_verb
from chat_service.cache.wordmatch import converse, opposites_shaped, polar

Missing = list[tuple[str, Analysis, Analysis]]  # (stem, its question, the other question)


# Function words whose change restates nothing: an article, a form of "be", "do" or "have"
# (a contraction drops one: "what is" / "what's").
_PLAIN_FUNCTION_WORDS = lex.words("a an the is are was were be been am do does did have has had")


def edited_places(a: Analysis, b: Analysis, function_words: bool = False) -> int:
    """In how many places the two questions' word sequences differ: in a content word, or, with
    `function_words`, in any word but the plain function words (else function words are aligned
    but not counted alone)."""
    # aligned without occurrence marks: "credit@2" in one question is "credit" in the other when
    # a word before it changed ("an old *credit card* ... my credit score")
    x, y = _unmarked(a.order), _unmarked(b.order)
    ops = SequenceMatcher(None, x, y, autojunk=False).get_opcodes()
    return sum(
        1
        for tag, i1, i2, j1, j2 in ops
        if tag != "equal"
        and any(
            not t.startswith(("~", "#")) or (function_words and t[1:] not in _PLAIN_FUNCTION_WORDS)
            for t in x[i1:i2] + y[j1:j2]
        )
    )


def _unmarked(order: tuple[str, ...]) -> list[str]:
    return [t.split("@")[0] for t in order]


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


_OPERATOR_WORDS = frozenset(lex.OPERATORS.values())
# with their stems: some ("before", "after") are content words of the analysis, stemmed
_PREPOSITIONS = lex.PREPOSITIONS | frozenset(lex.stem(p) for p in lex.PREPOSITIONS)


def restated(a: Analysis, b: Analysis, missing: Missing) -> bool:
    """One plain word more on one side ("which cooking *method* for broccoli is the healthiest"
    / "what's the healthiest way to cook broccoli", "australia's capital *city*"), in questions
    whose sequences differ in two places or more, function words counted: the sentence was
    restated around it (an article or a form of be, do or have alone restates nothing: "what
    is" / "what's"). A near-miss that adds a word keeps the rest word for word ("the population
    *density* of london"). Never a word that changes what is asked: a name, unit,
    number, operator or polar word (those are slots), the question's main verb (the action
    asked: "how do I *restore* my iphone"), the object of a preposition, which heads a phrase
    added to the question ("safe to drink ... *during pregnancy*", "before *firing* me"), or
    the noun a quantity measures ("a 14 inch *radius*")."""
    if len(missing) != 1:
        return False
    stem, own, _ = missing[0]
    word = own.words[stem]
    if (
        own.categories.get(stem) != "content"
        or polar(word)
        or word in _OPERATOR_WORDS
        or any(ch.isdigit() for ch in word)
    ):
        return False
    if _main_verb_at(own, stem) or _headed(own, stem):
        return False
    return edited_places(a, b, function_words=True) >= 2


def _main_verb_at(x: Analysis, stem: str) -> bool:
    """Whether `stem` is x's main verb, the subject's determiner aside ("what does a mole
    *look* like")."""
    order = tuple(t for t in x.order if t.lstrip("~").split("@")[0] not in DETERMINERS)
    return any(token == stem and main_verb(order, i) for i, token in enumerate(order))


def _headed(x: Analysis, stem: str) -> bool:
    """Whether `stem` follows, determiners skipped, a preposition (it is the object of a phrase)
    or a number or unit (it is what the quantity measures: "a 14 inch *radius*")."""
    return any(
        before in _PREPOSITIONS
        or before.startswith("#")
        or x.categories.get(before) in ("numbers", "units")
        for before in _words_before(x, stem)
    )


def object_of_phrase(x: Analysis, stem: str) -> bool:
    """Whether `stem` follows, determiners skipped, a preposition other than "to" (often the
    infinitive's): it heads a phrase that places or limits what is asked ("if i spill acid *on
    my skin*")."""
    return any(b in _PREPOSITIONS and b != "to" for b in _words_before(x, stem))


def _words_before(x: Analysis, stem: str) -> list[str]:
    """The word before each occurrence of `stem`, determiners skipped."""
    order = [t.lstrip("~").split("@")[0] for t in x.order]
    found = []
    for i, token in enumerate(order):
        if token == stem:
            j = i - 1
            while j >= 0 and order[j] in DETERMINERS:
                j -= 1
            if j >= 0:
                found.append(order[j])
    return found

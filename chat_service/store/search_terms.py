"""The words of a text as search terms: the analysis of the Cassandra search index
(cassandra_search.py), done by the service because Apache Cassandra 5.0's storage-attached
indexes have no text analyzer. Pure functions: the same normalization for what is indexed and
for what is asked, so they always agree.

A term is a maximal run of letters, digits and spacing marks (categories L*, N*, Mc, Me:
some scripts need the marks inside their words) after:
  1. Unicode NFKD (compatibility decomposition: "ﬁ" -> "fi", "①" -> "1", "é" -> "e" + U+0301),
  2. case folding (str.casefold: "Straße" -> "strasse", "İ" -> "i" + U+0307), then NFKD again
     for what folding produced,
  3. dropping the nonspacing marks (category Mn: the accents of "é", "ñ", "ü"),
and everything else (spaces, punctuation, symbols, emoji, "_") separates terms. So "Café"
and "CAFE" are both the term "cafe", and "e-mail" is the two terms "e" and "mail".

Limits, the same for texts and queries: a term is cut to MAX_TERM_CHARS (a very long "word",
e.g. base64, is indexed by its prefix), and a document is indexed by its first `max_terms`
distinct terms (MAX_TERMS; a word that first appears after them is not found in that
document), which bounds the index writes of one message. Scripts written without spaces
(Chinese, Japanese, Thai) are one term per run of characters: a word inside such a run is
not found (that needs a dictionary or n-grams).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

MAX_TERMS = 512
MAX_TERM_CHARS = 64


class _CharClasses(dict[int, str]):
    """str.translate's table, filled as characters are met: a nonspacing mark is dropped, a
    letter, digit or other mark is kept, anything else becomes a space."""

    def __missing__(self, code: int) -> str:
        category = unicodedata.category(chr(code))
        if category == "Mn":
            value = ""
        elif category[0] in "LN" or category in ("Mc", "Me"):
            value = chr(code)
        else:
            value = " "
        self[code] = value
        return value


_CLASSES = _CharClasses()


def tokens(text: str) -> list[str]:
    """The terms of `text` in order, repeats included."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return [term[:MAX_TERM_CHARS] for term in folded.translate(_CLASSES).split()]


def terms_of(text: str, max_terms: int = MAX_TERMS) -> set[str]:
    """The distinct terms a document is indexed by: its first `max_terms` distinct ones."""
    terms: set[str] = set()
    for term in tokens(text):
        if len(terms) >= max_terms:
            break
        terms.add(term)
    return terms


def query_terms(words: Iterable[str]) -> list[str]:
    """The distinct terms of the words a user typed, in order: every one must be in a match
    ("e-mail" asks for "e" and "mail")."""
    seen: dict[str, None] = {}
    for word in words:
        for term in tokens(word):
            seen.setdefault(term)
    return list(seen)


def matches(text: str, words: Sequence[str], max_terms: int = MAX_TERMS) -> bool:
    """Whether `text`, indexed by terms_of(text, max_terms), matches the query `words`: it has
    every query term, and the terms of a word with several ("e-mail") in a row, as a phrase
    (what SQLite's FTS5 does with such a word)."""
    indexed = terms_of(text, max_terms)
    wanted = query_terms(words)
    if not wanted or not indexed.issuperset(wanted):
        return False
    phrases = [parts for parts in (tokens(word) for word in words) if len(parts) > 1]
    if not phrases:
        return True
    sequence = tokens(text)
    return all(_contains_run(sequence, parts) for parts in phrases)


def _contains_run(sequence: list[str], run: list[str]) -> bool:
    first, n = run[0], len(run)
    return any(
        sequence[i : i + n] == run for i in range(len(sequence) - n + 1) if sequence[i] == first
    )

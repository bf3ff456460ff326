"""One-letter typos corrected before a question is embedded (normalize.py; docs/answer-cache.md):
a typo drags the question's embedding below the cache's threshold before the verifier's own
typo tolerance (wordmatch.py) can act. The known words are pyspellchecker's bundled English
word counts, read once (semantic_cache.py loads them at start, off the event loop).
"""

from __future__ import annotations

from functools import lru_cache

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# A correction must be a word seen at least this often in the dictionary's corpus (its floor is
# 50): "quinoa", missing from it, must not become the rare "quinol".
CORRECTION_MIN_COUNT = 100


@lru_cache(maxsize=1)
def dictionary() -> tuple[frozenset[str], frozenset[str]]:
    """English words, and the common ones among them (CORRECTION_MIN_COUNT): pyspellchecker's
    bundled dictionary (~160k words with their counts, from the OpenSubtitles corpus and
    others). Empty when the package is missing (no correction)."""
    try:
        from spellchecker import SpellChecker
    except ImportError:
        return frozenset(), frozenset()
    counts = SpellChecker(language="en", distance=1).word_frequency.dictionary
    common = frozenset(w for w, n in counts.items() if n >= CORRECTION_MIN_COUNT)
    return frozenset(counts), common


@lru_cache(maxsize=8192)
def corrected(word: str) -> str:
    """An unknown word of five letters or more that is one edit (a letter missing, added,
    changed, or two swapped; the first letter kept) from exactly one English word, a common
    one, becomes that word: "scrambeld", "salmom", "ocaen". Known words, short words and words
    near several known ones ("canda": candy or canada) stay as written. A typo no longer drags
    the question's embedding below the threshold."""
    known, common = dictionary()
    if len(word) < 5 or not word.isalpha() or not known or word in known:
        return word
    head, tail = word[0], word[1:]
    edits = {head + tail[:k] + tail[k + 1 :] for k in range(len(tail))}
    edits |= {head + tail[:k] + tail[k + 1] + tail[k] + tail[k + 2 :] for k in range(len(tail) - 1)}
    edits |= {head + tail[:k] + c + tail[k + 1 :] for k in range(len(tail)) for c in _LETTERS}
    edits |= {head + tail[:k] + c + tail[k:] for k in range(len(tail) + 1) for c in _LETTERS}
    found = edits & known
    return found.pop() if len(found) == 1 and not found - common else word

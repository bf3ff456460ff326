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
# A four-letter word is as often an abbreviation as a typo ("prev", "util"): only two letters
# swapped, the commonest slip, into a very common word ("tkae" is take, "exti" exit).
SHORT_CORRECTION_MIN_COUNT = 10_000


# A letter written for another is a slip of the finger (a neighbour on a QWERTY keyboard) or of
# the ear (a vowel for a vowel: "ibuprofin", "warrenty"; a consonant for its voiced or unvoiced
# twin: "labtop"). Any letter for any other would also "correct" words the dictionary lacks
# into words it has ("postgres" -> "postures").
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_SOUND_ALIKE = ("aeiouy", "bp", "dt", "gkc", "fv", "sz", "cs")


@lru_cache(maxsize=32)
def _near(letter: str) -> str:
    """The letters that a slip may put for `letter`: its keyboard neighbours and sound-alikes."""
    near = "".join(g.replace(letter, "") for g in _SOUND_ALIKE if letter in g)
    for r, row in enumerate(_ROWS):
        c = row.find(letter)
        if c >= 0:
            for other in _ROWS[max(0, r - 1) : r + 2]:
                near += other[max(0, c - 1) : c + 2].replace(letter, "")
    return near


@lru_cache(maxsize=1)
def dictionary() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """English words, the common ones among them (CORRECTION_MIN_COUNT), and the very common
    four-letter ones (SHORT_CORRECTION_MIN_COUNT): pyspellchecker's bundled word counts (~160k
    words, from the OpenSubtitles corpus and others), read once and dropped. Empty when the
    package is missing (no correction)."""
    try:
        from spellchecker import SpellChecker
    except ImportError:
        return frozenset(), frozenset(), frozenset()
    counts = SpellChecker(language="en", distance=1).word_frequency.dictionary
    common = frozenset(w for w, n in counts.items() if n >= CORRECTION_MIN_COUNT)
    short = frozenset(w for w in common if len(w) == 4 and counts[w] >= SHORT_CORRECTION_MIN_COUNT)
    return frozenset(counts), common, short


@lru_cache(maxsize=8192)
def corrected(word: str) -> str:
    """An unknown word of five letters or more that is one edit (a letter missing, added,
    changed for a neighbour or a sound-alike, or two swapped; the first letter kept) from
    exactly one English word, a common one, becomes that word: "scrambeld", "salmom", "ocaen".
    Two letters swapped, then a letter left out, are the commonest slips: a word one of them
    makes of exactly one common word becomes it ("fuacet" is faucet before facet, "pyton"
    python before pylon). A four-letter word only by a swap into a very common word
    (SHORT_CORRECTION_MIN_COUNT: "prev" is no "perv"). Known words, shorter ones and words near
    several common ones by the same slip stay as written. A typo no longer drags the question's
    embedding below the threshold."""
    known, common, very_common = dictionary()
    if len(word) < 4 or not word.isalpha() or not known or word in known:
        return word
    head, tail = word[0], word[1:]
    swaps = {head + tail[:k] + tail[k + 1] + tail[k] + tail[k + 2 :] for k in range(len(tail) - 1)}
    if len(word) == 4:
        found = swaps & very_common
        return found.pop() if len(found) == 1 else word
    # a letter left out inside the word: a word cut at its end is as often a clipping ("repos")
    inside = {head + tail[:k] + c + tail[k:] for k in range(len(tail)) for c in _LETTERS}
    missing = inside | {word + c for c in _LETTERS}
    for slip in (swaps, inside):
        found = slip & common
        if found:
            return found.pop() if len(found) == 1 else word
    edits = swaps | missing | {head + tail[:k] + tail[k + 1 :] for k in range(len(tail))}
    slips = {head + tail[:k] + c + tail[k + 1 :] for k in range(len(tail)) for c in _near(tail[k])}
    others = {head + tail[:k] + c + tail[k + 1 :] for k in range(len(tail)) for c in _LETTERS}
    found = (edits | others) & known  # a word near several known ones stays as written
    if len(found) != 1 or found - common or not found <= edits | slips:
        return word
    return found.pop()

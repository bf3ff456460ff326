"""A question's tokens, for the analysis (analysis.py): the normalized text split into tokens
(numbers with their units, code terms kept whole), and the one pass over them that reads numbers
(digits, number words, ordinals, fractions, "5 million"), arithmetic operators, negation, units,
role markers and words (light stems, content or function word) in sentence order."""

from __future__ import annotations

import re

from chat_service.cache import lexicon as lex
from chat_service.cache.wordmatch import misspelled_stopword

_STEMMED_STOPWORDS = frozenset(lex.stem(w) for w in lex.STOPWORDS) | lex.STOPWORDS

_TOKEN_RE = re.compile(
    r"[a-z0-9_]+(?:[.+#'/:][a-z0-9_]+)*(?:\+\+|#|\(\))?|\$|€|£|¥|₹|%|°[cf]?|º[cf]|\^|\+|/|-|\*|=|\u00d7|\u00f7"
)
_DIGIT_UNIT_RE = re.compile(r"^(\d+(?:\.\d+)?)([a-z°º%$]+)$")
NUM_RE = re.compile(r"^\d+(?:\.\d+)?$")
_FRACTION_RE = re.compile(r"^(\d+)/(\d+)$")
_ORDINAL_RE = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
# A time of day: "15:00", "3:30" (hours and minutes), "3pm", "3:30 p.m."; its value is the hour
# on a 24-hour clock, so "3 pm" and "15:00" are one time and "3 am" another.
_CLOCK_RE = re.compile(r"^(\d{1,2}):([0-5]\d)$")
_CLOCK_SUFFIX_RE = re.compile(r"^(\d{1,2}(?::[0-5]\d)?)(am|pm)$")
_HALF_DAY_WORDS = tuple(
    (phrase.split(), half)
    for phrase, half in (
        ("in the morning", 0),
        ("in the afternoon", 12),
        ("in the evening", 12),
        ("at night", 12),
        ("am", 0),
        ("a.m", 0),
        ("pm", 12),
        ("p.m", 12),
    )
)


def _algebraic(token: str) -> bool:
    """An operand of a formula: "5x", "x2", or a single-letter variable."""
    return bool(re.fullmatch(r"\d*[a-z]\d*", token)) and (len(token) == 1 or token[0].isdigit())


def _number_token(token: str) -> float | None:
    if NUM_RE.match(token):
        return float(token)
    m = _FRACTION_RE.match(token)
    if m and int(m.group(2)):
        return int(m.group(1)) / int(m.group(2))
    m = _CLOCK_RE.match(token)
    if m and int(m.group(1)) < 24:
        return int(m.group(1)) + int(m.group(2)) / 60
    return None


def _split_token(token: str, terms: frozenset[str]) -> list[str]:
    if token in terms or token.removesuffix("()") in terms:
        return [token.removesuffix("()")]
    if token.endswith("()"):
        token = token[:-2]
    m = _CLOCK_SUFFIX_RE.match(token)
    if m:
        return [m.group(1), m.group(2)]
    m = _DIGIT_UNIT_RE.match(token)
    if m and not _ORDINAL_RE.match(token):
        unit = m.group(2)
        if unit in lex.UNITS or unit in lex.UNITS_AFTER_NUMBER or unit in lex.MULTIPLIERS:
            return [m.group(1), unit]
    if "/" in token and not _FRACTION_RE.match(token) and token not in lex.UNITS:
        return [p for p in token.split("/") if p]
    if token.endswith("'s"):
        token = token[:-2]
    return [token.strip("'")] if token.strip("'") else []


def tokenize(text: str, terms: frozenset[str]) -> list[str]:
    """The tokens of a prepared question; `terms` (quoted or code) stay whole."""
    tokens: list[str] = []
    for raw in _TOKEN_RE.findall(text):
        tokens.extend(_split_token(raw, terms))
    return tokens


class Scanner:
    """One pass over a question's tokens: numbers (digits, number words, ordinals, fractions,
    multipliers), operators, negation, units, role markers and words, in sentence order."""

    def __init__(self, tokens: list[str], terms: frozenset[str]) -> None:
        self.tokens, self.terms = tokens, terms
        self.numbers: list[float] = []
        self.digit_ones = 0
        self.soft_one = False
        self.negated = False
        self.noncommutative = False
        # Each kept token: (stem or marker, is_content, surface)
        self.kept: list[tuple[str, bool, str]] = []
        # Everything in sentence order: content stems, "#<number>", "~<function word>".
        self.order: list[str] = []
        self.i = 0
        self.previous_was_number = False

    def scan(self) -> Scanner:
        while self.i < len(self.tokens):
            tok = self.tokens[self.i]
            value = _number_token(tok)
            if value is None and self._ordinal(tok):
                continue
            if value is None and self._a_hundred(tok):
                self.i += 1  # the article is the number one: "a hundred guests" is 100 guests
                self._number_words(self.tokens[self.i])
            elif value is None and (tok in lex.NUMBER_WORDS or tok in lex.FRACTION_WORDS):
                self._number_words(tok)
            elif value is not None:
                self._digits(tok, value)
            elif not self._operator(tok):
                self._word(tok)
        return self

    def _a_hundred(self, tok: str) -> bool:
        following = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else ""
        return tok in ("a", "an") and lex.MULTIPLIERS.get(following, 0) >= 100

    def _add_number(self, value: float) -> None:
        self.numbers.append(value)
        self.order.append(f"#{value:g}")

    def _keep(self, entry: tuple[str, bool, str]) -> None:
        self.kept.append(entry)
        self.order.append(entry[0] if entry[1] else "~" + entry[0])

    def _ordinal(self, tok: str) -> bool:
        """ "3rd", "third" (not "second" after a number: "5 seconds" is a unit)."""
        match = _ORDINAL_RE.match(tok)
        if match:
            value = float(match.group(1))
        elif tok in lex.ORDINALS and not (tok == "second" and self.previous_was_number):
            value = float(lex.ORDINALS[tok])
        else:
            return False
        self._add_number(value)
        self.previous_was_number = True
        self.i += 1
        return True

    def _number_words(self, tok: str) -> None:
        """ "twenty-five", "two thousand and ten", "three quarters"; a lone "one" is soft."""
        tokens = self.tokens
        self.previous_was_number = True
        if tok == "one":
            self.soft_one = True
            self.i += 1
            return
        total = 0.0
        current = 0.0
        i = self.i
        while i < len(tokens) and (
            (tokens[i] == "-" and i + 1 < len(tokens) and tokens[i + 1] in lex.NUMBER_WORDS)
            or tokens[i] in lex.NUMBER_WORDS
            or (tokens[i] in lex.MULTIPLIERS and len(tokens[i]) > 2)
            or tokens[i] == "and"
            or tokens[i] in lex.FRACTION_WORDS
        ):
            word = tokens[i]
            if word == "-":
                i += 1
                continue
            if word == "and":
                if i + 1 < len(tokens) and tokens[i + 1] in lex.NUMBER_WORDS:
                    i += 1
                    continue
                break
            if word in lex.FRACTION_WORDS:
                current += lex.FRACTION_WORDS[word]
            elif word in lex.MULTIPLIERS:
                current = max(current, 1.0) * lex.MULTIPLIERS[word]
                if lex.MULTIPLIERS[word] >= 1000:
                    total += current
                    current = 0.0
            elif 10 <= current < 100 and lex.NUMBER_WORDS[word] >= 10:
                # "nineteen sixty-nine", "twenty twenty-four": a year said in two parts
                current = current * 100 + lex.NUMBER_WORDS[word]
            else:
                current += lex.NUMBER_WORDS[word]
            i += 1
        self.i = i
        self._add_number(total + current)

    def _digits(self, tok: str, value: float) -> None:
        """ "5", "2.5k", "5 million"; a digit 1 is counted apart (it is often an article)."""
        tokens, i = self.tokens, self.i
        if i + 1 < len(tokens) and tokens[i + 1] in lex.MULTIPLIERS:
            multiplier = tokens[i + 1]
            if len(multiplier) > 2 or multiplier in {"k", "bn"}:
                value *= lex.MULTIPLIERS[multiplier]
                self.i += 1
        hour = self._time_of_day(value, tok)
        if hour is not None:
            self._add_number(hour)  # no unit follows a time: "at 3 pm in new york"
            self.previous_was_number = False
            self.i += 1
            return
        if value == 1.0 and tok in {"1", "1.0"}:
            self.digit_ones += 1
        else:
            self._add_number(value)
        self.previous_was_number = True
        self.i += 1

    def _time_of_day(self, value: float, tok: str) -> float | None:
        """A time of day read on a 24-hour clock: "15:00", or an hour followed by am / pm or a
        part of the day ("3 pm" and "3 in the afternoon" are 15); not "at 12 am i too old",
        where "am" is the verb."""
        tokens, i = self.tokens, self.i
        if not 1 <= value < 13:
            return value if _CLOCK_RE.match(tok) else None
        for words, half in _HALF_DAY_WORDS:
            if words == ["am"] and tokens[i + 2 : i + 3] == ["i"]:
                continue
            if tokens[i + 1 : i + 1 + len(words)] == words:
                self.i += len(words)
                return value % 12 + half
        return value if _CLOCK_RE.match(tok) else None

    def _operator(self, tok: str) -> bool:
        """ "5 + 3" / "5 - 3", "x^2 - 5x": an operator between operands is content."""
        tokens, i = self.tokens, self.i
        if not (
            tok in lex.OPERATORS
            and (self.previous_was_number or (i > 0 and _algebraic(tokens[i - 1])))
            and i + 1 < len(tokens)
            and (
                _number_token(tokens[i + 1]) is not None
                or tokens[i + 1] in lex.NUMBER_WORDS
                or _algebraic(tokens[i + 1])
            )
        ):
            return False
        self._keep((lex.OPERATORS[tok], True, lex.OPERATORS[tok]))
        self.noncommutative = self.noncommutative or tok in "-/^"
        self.previous_was_number = False
        self.i += 1
        return True

    def _word(self, tok: str) -> None:
        if tok in lex.SOFT_ONE:
            self.soft_one = True
        if tok in lex.NONCOMMUTATIVE and self.previous_was_number:
            self.noncommutative = True  # "10 divided by 2", "20% of 80": the order matters
        self.i += 1
        if tok in lex.NEGATIONS:
            self.negated = True
            self.previous_was_number = False
            return
        unit = None
        if self.previous_was_number and tok in lex.UNITS_AFTER_NUMBER:
            unit = lex.UNITS_AFTER_NUMBER[tok]
        elif tok in lex.UNITS and (len(tok) > 1 or tok in "$€£¥₹%°"):
            unit = lex.UNITS[tok]
        self.previous_was_number = False
        if unit is not None:
            self._keep((unit, True, tok))
        elif tok in lex.SOURCE_MARKERS or tok in lex.TARGET_MARKERS:
            self._keep((tok, False, tok))
        elif tok in self.terms:
            self._keep((tok, True, tok))
        elif tok in lex.STOPWORDS or (len(tok) == 1 and not tok.isalnum()):
            self._keep((tok, False, tok))
        else:
            stem = lex.stem(tok)
            is_content = (
                stem not in _STEMMED_STOPWORDS
                and tok not in lex.STOPWORDS
                and not misspelled_stopword(tok)
            )
            self._keep((stem, is_content, tok))

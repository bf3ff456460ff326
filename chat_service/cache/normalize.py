"""Question normalization for the semantic answer cache.

`normalize_question` maps surface variants of one question to one string before it is embedded
and compared: unicode compatibility forms, case, spacing, end punctuation, politeness and filler
("please", "can you tell me", "hey"), informal contractions, a list of common misspellings
(typos.py), and a one-letter typo of a longer word corrected by a dictionary (spelling.py).
It never removes a word that can change what is asked (numbers, negations, names, "can you"
in "can you freeze cheese"). Deterministic, pure Python, idempotent.
"""

from __future__ import annotations

import re
import unicodedata

from chat_service.cache.spelling import corrected
from chat_service.cache.typos import TYPOS

_QUESTION_KINDS = (
    "random",
    "dumb",
    "stupid",
    "silly",
    "honest",
    "serious",
    "genuine",
    "simple",
    "basic",
    "general",
    "weird",
    "odd",
    "strange",
    "embarrassing",
    "newbie",
    "noob",
    "beginner",
    "naive",
    "curious",
)
# Leading phrases that only address the assistant. Applied repeatedly at the start.
_LEADING = (
    "hey there",
    "hi there",
    "hello there",
    # a greeting to a group: "hi all", "hey everyone"
    "hi all",
    "hey all",
    "hello all",
    "hi everyone",
    "hey everyone",
    "hello everyone",
    "hi folks",
    "hey folks",
    "hi guys",
    "hey guys",
    "hey y'all",
    "ok",
    "okay",
    "alright",
    "real talk",
    "hey",
    "hi",
    "hello",
    "hiya",
    "yo",
    "greetings",
    "good morning",
    "good afternoon",
    "good evening",
    "ok so",
    "okay so",
    "so",
    "um",
    "uh",
    "umm",
    "quick question",
    "quick one",
    # a question that says what kind of question it is ("random question:", "dumb question,
    # but"), or what it is for, says nothing of what is asked
    *(f"{kind} question" for kind in _QUESTION_KINDS),
    "settle a debate",
    "settle a debate for me",
    "settle an argument",
    "settle an argument for me",
    "one more question",
    "one more",
    "excuse me",
    "dear assistant",
    "sorry to bother you but",
    "sorry to bother you",
    "sorry to bother",
    "thank you",
    "thanks",
    "bro",
    "bruh",
    "dude",
    "man",
    "omg",
    "sup",
    "wassup",
    "pray tell",
    "kindly advise",
    "please advise",
    "hey so",
    "ugh",
    "sooo",
    "soo",
    "just wondering",
    "well",
    "right so",
    # "i don't know" said as a preface to the question ("idk how to fix my sink")
    "idk",
    # asking a crowd whether it knows, at the start ("does anyone know the difference ...";
    # elsewhere "does anyone know my password" is the question)
    "does anyone know",
    "does anybody know",
    "anyone know",
    "anybody know",
)
# Phrases removed wherever they stand: they ask for an answer, they are not the question.
_ANYWHERE = (
    "can you please tell me",
    "could you please tell me",
    "would you please tell me",
    "can you tell me",
    "could you tell me",
    "would you tell me",
    "will you tell me",
    "can you let me know",
    "could you let me know",
    "please let me know",
    "please tell me",
    "can you remind me",
    "could you remind me",
    "can you please explain",
    "could you please explain",
    "can you explain",
    "could you explain",
    "would you explain",
    "please explain",
    "can you please clarify",
    "could you please clarify",
    "can you clarify",
    "could you clarify",
    "please clarify",
    "i was wondering",
    "i am wondering",
    "i'm wondering",
    "i wonder",
    # formal and indirect requests for the answer: they ask for it, they are not the question
    "would you be so kind as to",
    "would you be kind enough to",
    "i would be grateful if you could",
    "i would be most grateful if you could",
    "i would be very grateful if you could",
    "i'd be grateful if you could",
    "i would appreciate it if you could",
    "i'd appreciate it if you could",
    "i was hoping you could",
    "i'm hoping you can",
    "may i enquire",
    "may i inquire",
    "any idea",
    "lol",
    "lmao",
    # chat-speak discourse markers: they say how the asker feels, not what is asked
    "tbh",
    "ngl",
    "btw",
    "imo",
    "imho",
    "haha",
    "please",
    "pls",
    "plz",
    "kindly advise",
    "please advise",
    "kindly",
    "can you help me understand",
    "could you help me understand",
    "help me understand",
    "just wondering",
    "pray",
)
# Requests that are also the question's own words elsewhere ("tell me how to X" / "does my
# employer have to tell me", "i need to know where" / "what do i need to know", "do you know
# what" / "how do you know if"): removed only where a clause starts.
_CLAUSE_OPENERS = (
    "tell me",
    "let me know",
    "remind me",
    "i need to know",
    "i want to know",
    "i would like to know",
    "i'd like to know",
    "i would love to know",
    "i wish to know",
    "i wish to inquire",
    "do you know",
    "do you happen to know",
)
# Asking leave to ask, only before the question ("can i ask, how ...", "may i ask why"; "can i
# ask my landlord to ..." asks it), and a condition on the request only at its end or before a
# comma ("explain it, if you can"; "what happens if you can pay only half").
_ASK_LEAVE = r"(?:may|can|could) i ask"
_IF_ABLE = r"if you (?:can|could|don't mind)|if possible"
# Trailing courtesy.
_TRAILING = (
    "thanks in advance",
    "thank you in advance",
    "thanks a lot",
    "thank you so much",
    "thanks so much",
    "thanks very much",
    "many thanks",
    "much appreciated",
    "appreciate it",
    "appreciate any help",
    "any help appreciated",
    "any help is appreciated",
    "thank you",
    "thanks",
    "thx",
    "cheers",
    "please",
    "anyway",
    "anyways",
)

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": " - ",
        "\u00a0": " ",
    }
)


def _phrases(items: tuple[str, ...]) -> str:
    return "|".join(re.escape(p) for p in sorted(items, key=len, reverse=True))


# "can you explain X" -> "explain X": the verb after "can you" is part of the question, except
# in "can you freeze cheese" where "can you" asks whether one can.
_ASK_YOU_RE = re.compile(
    r"\b(?:can|could|would|will) (?:you|someone|somebody|anyone|anybody) (?:please )?"
    r"(?=(?:explain|describe|define|give|show|recommend|suggest|list|provide|help|write"
    r"|translate|summarize|name|teach|tell|inform|let (?:me|us) know)\b)"
)
# "inform me of X" is "tell me X", a request for the answer
_INFORM_RE = re.compile(r"\binform (me|us) (?:of|about|on)\b")
# "advise me on how to X", "explain to me how X": a request before an indirect question
_ADVISE_RE = re.compile(
    r"\b(?:advise|inform|explain to)(?: me)?(?: on| as to| about)? "
    r"(?=(?:how|what|when|where|why|which|who|whether)\b)"
)
# "help me figure out (work out, find out) why X" asks why X: a request before the question
_HELP_FIND_RE = re.compile(
    r"\bhelp me (?:to )?(?:figure|work|find) out (?=(?:how|what|why|when|where|which|who"
    r"|whether|if)\b)"
)
# "i need help (assistance) doing X" asks how to do X
_NEED_HELP_RE = re.compile(
    r"^i (?:need|require|could use|would like) (?:some )?(?:help|assistance) (?:with |in )?"
    r"(?=\w+ing\b)"
)
# an appeal after the question ("?? help", "... pls help") asks nothing more
_HELP_RE = re.compile(r"(?:\?+|\s(?:pls|plz|please))\s*help(?: me| needed)?[!.?]*$")
# "would you mind explaining X" -> "explain X": a request for the answer, said politely.
_MIND_RE = re.compile(
    r"\b(?:would|do) you mind (?:please )?(explaining|describing|telling|showing|listing|"
    r"helping|giving|recommending|suggesting)\b"
)
_MIND_VERBS = {"describing": "describe", "giving": "give"}
_TEXTING_RE = re.compile(r"\bhow 2\b")
# text-message spellings with a digit or a slash, which the word-by-word table never sees; "bc"
# is "because" except after a number ("500 bc"), "y" alone after a comma at the end is "why"
_TEXTING = {
    "b4": "before",
    "2day": "today",
    "2nite": "tonight",
    "2moro": "tomorrow",
    "2morrow": "tomorrow",
    "l8r": "later",
    "w/o": "without",
    "w/": "with",
    "bc": "because",
    "y": "why",
}
_TEXTING_WORD_RE = re.compile(
    r"(?<![\w/])(?:b4|2day|2nite|2moro|2morrow|l8r|w/o|w/(?= ))(?![\w/])"
    r"|(?<!\d )\bbc\b|(?<=[,;] )y(?=[?!.]*$)"
)
# a form or model named by letters and a number is one token with or without its hyphen
# ("w-2" / "w2", "i-130", "1099-k")
_CODE_HYPHEN_RE = re.compile(r"\b([a-z]{1,3})-(\d+)\b|\b(\d+)-([a-z])\b")
# "without" written as two words, a common slip that would hide the negation
_WITH_OUT_RE = re.compile(r"\bwith out\b(?!-)")
_EXPLETIVE_RE = re.compile(r"\b(how|what|why|where|who|when) the (?:heck|hell|fuck)\b")
# "wtf is X" is "what is X": the expletive's short form before a verb
_WTF_RE = re.compile(r"\bwt[fh](?= (?:is|are|was|were|does|do|did|happened)\b)")
_LEADING_RE = re.compile(r"^(?:(?:" + _phrases(_LEADING) + r")(?=[\s,!.:;]|$)[\s,!.:;-]*)+")
_ANYWHERE_RE = re.compile(r"(?<![\w'])(?:" + _phrases(_ANYWHERE) + r")(?![\w'])")
_CLAUSE_START = r"(?:^|(?<=[,;:.!?] ))"
_CLAUSE_OPENER_RE = re.compile(
    _CLAUSE_START + r"(?:" + _phrases(_CLAUSE_OPENERS) + r")(?![\w'])"
    r"|" + _CLAUSE_START + _ASK_LEAVE + r",? (?=(?:how|what|why|when|where|which|who|whether|if)\b)"
    r"|" + _CLAUSE_START + _ASK_LEAVE + r"(?=[,:;])"
    r"|,? (?:" + _IF_ABLE + r")(?=[,;:.!?]|$)|^(?:" + _IF_ABLE + r")(?=,)"
)
_TRAILING_RE = re.compile(r"(?:[\s,!.;:-]*\b(?:" + _phrases(_TRAILING) + r"))+[\s!.,]*$")
_WORD_RE = re.compile(r"[a-z][a-z'\-]*")
_SPACE_RE = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT_RE = re.compile(r"\s+([,;:?!.])")
_REPEATED_PUNCT_RE = re.compile(r"([?!.,])\1+")
_EDGE_PUNCT = " \t\n,.;:!?-"


def _fix_word(match: re.Match[str], capitals: frozenset[str] = frozenset()) -> str:
    word = match.group(0)
    return TYPOS.get(word) or (word if word in capitals else corrected(word))


# a word written in capitals is an acronym or a name ("LSAT"), never a typo to correct
_CAPITALS_RE = re.compile(r"\b[A-Z]{2,}\b")


# A vulgar fraction after a number is its fraction ("59½" is "59 1/2"); NFKC would glue the
# digits together, "591" and a fraction slash).
_FRACTIONS = str.maketrans(
    {"½": " 1/2", "⅓": " 1/3", "⅔": " 2/3", "¼": " 1/4", "¾": " 3/4", "⅛": " 1/8"}
)


def unicode_normalized(text: str) -> str:
    return unicodedata.normalize("NFKC", text.translate(_FRACTIONS))


def normalize_question(text: str) -> str:
    """The canonical form of a question, used for embedding and comparison."""
    s = unicode_normalized(text).translate(_QUOTES).casefold()
    s = _SPACE_RE.sub(" ", s).strip()
    capitals = frozenset(w.casefold() for w in _CAPITALS_RE.findall(text))
    s = _WORD_RE.sub(lambda m: _fix_word(m, capitals), s)
    s = _TEXTING_RE.sub("how to", s)
    s = _TEXTING_WORD_RE.sub(lambda m: _TEXTING[m.group(0)], s)
    s = _WITH_OUT_RE.sub("without", s)
    s = _CODE_HYPHEN_RE.sub(lambda m: "".join(g for g in m.groups() if g), s)
    s = _EXPLETIVE_RE.sub(r"\1", s)
    s = _WTF_RE.sub("what", s)
    s = _ASK_YOU_RE.sub("", s)
    s = _HELP_FIND_RE.sub("", s)
    s = _INFORM_RE.sub(r"tell \1", s)
    s = _ADVISE_RE.sub("", s)
    s = _HELP_RE.sub("?", s)
    s = _MIND_RE.sub(lambda m: _MIND_VERBS.get(m.group(1), m.group(1)[:-3]), s)
    # Repeat: removing one phrase can expose another ("hey, please tell me ...").
    for _ in range(3):
        before = s
        s = s.strip(_EDGE_PUNCT)
        s = _LEADING_RE.sub("", s)
        s = _TRAILING_RE.sub("", s)
        s = _ANYWHERE_RE.sub(" ", s)
        s = _CLAUSE_OPENER_RE.sub("", s)
        s = _SPACE_RE.sub(" ", s).strip()
        if s == before:
            break
    s = _REPEATED_PUNCT_RE.sub(r"\1", s)
    s = _SPACE_BEFORE_PUNCT_RE.sub(r"\1", s)
    s = s.strip(_EDGE_PUNCT)
    s = _NEED_HELP_RE.sub("how do i ", s)
    # A question reduced to nothing (only courtesy) keeps its folded form.
    return s or _SPACE_RE.sub(" ", text.casefold()).strip()

"""The kind of question a normalized question is, and its tense (analysis.py; the verifier's
"question type" and "tense" slots, docs/answer-cache.md)."""

from __future__ import annotations

import re

from chat_service.cache import lexicon as lex


# A wh-word asks the question at the start ("when did ..."), at the end ("built in what year" ->
# "built when") or after a verb of asking/knowing ("tell me when"); elsewhere it introduces a
# clause ("motivated when studying", "a gift for someone who cooks").
def _wh(word: str) -> str:
    return (
        rf"(?:^(?:(?:and|so|but|then|also|just|ok|okay) )?{word}\b|\b{word}[?.!]*$"
        r"|\b(?:know|tell|tell me|wondering|understand|ask|asking|sure|remember|idea|curious"
        r"|learn|find out|figure out|explain|explain to me|clue) "
        # the manner of the answer or its listener may come between ("explain in plain english
        # why", "explain to my 4-year-old why")
        r"(?:(?:in|with|to) (?:[\w'-]+ ){1,3}|simply |briefly |clearly )?"
        rf"(?:of |about )?{word}\b)"
    )


_INTENT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("why", _wh("why")),
        ("when", _wh("when")),
        ("where", _wh("where")),
        ("who", _wh("(?:who|whom|whose)")),
        ("duration", r"\bhow long\b"),
        ("frequency", r"\bhow often\b"),
        ("age", r"\bhow old\b"),
        ("distance", r"\bhow far\b"),
        ("quantity", r"\bhow (?:many|much)\b"),
        ("size", r"\bhow (?:big|large|tall|high|deep|wide|heavy|small)\b"),
        ("manner", r"\bhow (?:to|do|does|did|can|could|should|would|is|are|was|were)\b"),
        # "how salty is", "how safe are": the degree of a quality (not the measures above)
        (
            "degree",
            r"\bhow (?!(?:to|do|does|did|can|could|should|would|is|are|was|were|many|much|long"
            r"|often|old|far|come|big|large|tall|high|deep|wide|heavy|small)\b)[a-z]+ "
            r"(?:is|are|was|were|do|does|can|should)\b",
        ),
        (
            "yesno",
            r"^(?:is|are|can|could|should|does|do|did|will|would|was|were|has|have|may"
            r"|might|must|am|shall)\b",
        ),
    )
)
# Asking how to explain something: the wh-word after the verb is what is explained.
_HOW_TO_EXPLAIN_RE = re.compile(
    r"^how (?:to|do|does|can|could|should|would) (?:i |we |you |one )?(?:best )?"
    r"(?:explain|describe|teach)\b"
)
_LEADING_CLAUSE_RE = re.compile(r"^(?:when|while|if|once|before|after|since|whenever)\b[^,?]*,\s*")
_PAST_RE = re.compile(r"\b(?:was|were|did|didn't|wasn't|weren't)\b")
_PRESENT_RE = re.compile(r"\b(?:is|are|am|does|doesn't|isn't|aren't)\b")
_FUTURE_RE = re.compile(r"\b(?:will|won't|shall|gonna)\b")
# a condition, or an action as the subject ("will closing my card hurt my score"): what follows
# is a consequence, no date
_CONDITION_RE = re.compile(r"\b(?:if|once|whenever)\b|\b(?:will|would|won't) \w+ing\b")
_PAST_FORMS = (
    "won ate went made ran got bought wrote took knew grew fell froze saw gave began broke chose "
    "drove flew forgot hid kept lost paid said sent slept sold spent stole taught thought threw "
    "told understood woke wore built caught fed felt fought found held meant met rode rose sang "
    "spoke stood swam tore brought sank drank shrank dug hung shot bit blew drew led"
)
_PAST_VERB_RE = re.compile(
    r"^(?:who|what|which \w+|when|where|why|how) (?:\w+ed|" + "|".join(_PAST_FORMS.split()) + r")\b"
)
_GENERIC_RE = re.compile(r"\b(?:what|which|what's|define|explain|describe)\b")


def question_kind(s: str) -> frozenset[str]:
    """What a normalized question asks for: why, when, where, who, a measure (duration,
    frequency, age, distance, quantity, size), a degree ("how salty"), manner, yes/no, an
    alternative (a yes/no question offering two things: "is rice or quinoa healthier", which
    asks which), or generic ("what is X")."""
    intents: set[str] = set()
    # "When I land, where do I ...": a leading subordinate clause is not the question word.
    asked = _LEADING_CLAUSE_RE.sub("", s)
    if _HOW_TO_EXPLAIN_RE.search(asked):
        return frozenset({"manner"})  # "how do i explain to my kid why ...": how, not why
    for name, pattern in _INTENT_PATTERNS:
        if pattern.search(asked):
            intents.add(name)
    if {"duration", "frequency", "age", "distance", "size", "quantity", "degree"} & intents:
        intents.discard("manner")
    if intents - {"yesno"}:
        intents.discard("yesno")
    if intents == {"yesno"} and " or " in f" {asked} ":
        intents = {"alternative"}
    if not intents and _GENERIC_RE.search(s):
        intents.add("generic")
    return frozenset(intents)


def tense_of(s: str) -> frozenset[str]:
    """The tenses its auxiliaries state (past / present / future), or "past-verb" for a
    question whose verb is past ("who won the world cup")."""
    tense = frozenset(
        name
        for name, pattern in (("past", _PAST_RE), ("present", _PRESENT_RE), ("future", _FUTURE_RE))
        if pattern.search(s)
    )
    if not tense and _PAST_VERB_RE.search(s):
        tense = frozenset({"past-verb"})
    if tense == {"future"} and _CONDITION_RE.search(s):
        # "what will happen if i stop" asks what happens if one stops: a consequence, no date
        tense = frozenset({"present"})
    return tense


# Words that open a sentence which asks: wh-words, auxiliaries and modals (a yes/no question),
# and the verbs of a request. General English grammar, not drawn from any example.
_ASKING_START = lex.words(
    """
    what what's which who whom whose when where why how how's where's who's when's
    is are am was were do does did can could should would will shall may might must has have
    had isn't aren't don't doesn't didn't can't couldn't shouldn't won't wouldn't
    explain describe define tell show give list compare calculate convert translate name
    """
)
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")
# A request inside a statement ("i'm a pro fitter, so give me the technical version"): what
# the answer must be is part of what is asked, never context.
_REQUEST_RE = re.compile(
    r"(?:[,;:]|\b(?:so|and|but|then|just|please))\s+(?:please\s+)?"
    r"(?:(?:give|show|tell|send|walk) (?:me|us)\b|(?:explain|describe|list|compare|calculate"
    r"|convert|translate|summarize|summarise|write|keep it|make it)\b)"
    # "..., so go deep on the chemistry": after "so", a verb that directs the answer's form
    r"|,\s*so\s+(?:please\s+)?(?:go|keep|make|skip|focus|include|assume|use|answer|be|break"
    r"|simplify|elaborate)\b"
)
# A statement with a number in it states the problem's data ("a pizza is 14 inches across.
# what's its area"): part of what is asked, never context.
_DIGIT_RE = re.compile(r"\d")
# "sorry if this is a dumb question, but what is ...": a clause before "but" and a question.
_BUT_ASKING_RE = re.compile(r"^[^?]*?,\s*but\s+(?=(?:" + "|".join(_ASKING_START) + r")\b)")


# A statement before a comma or colon, ahead of a question ("cleaning my bathroom today and
# before i try it, is it safe to ..."): the asker's situation when it has a first-person
# subject, no number and no question mark, and is no condition ("if i'm a freelancer, is ...",
# which is part of what is asked).
_CONDITIONS = lex.words(
    "if when whenever while unless once before after since because as although though given"
    " assuming suppose supposing provided"
)
_SUBJECTS = lex.words("i i'm i've i'd i'll we we're we've we'd we'll")
_LEAD_CLAUSE_RE = re.compile(
    r"^(?!(?:" + "|".join(_CONDITIONS) + r")\b)([^?\d]*?)[,:]\s+"
    r"(?=(?:" + "|".join(_ASKING_START) + r")\b)"
)


# A fronted adverbial ("when it's noon in chicago, what time is it in sydney", "in python, how
# do i ...", a purpose: "to get the lower rate, how long ..."): moved after the question, where
# the other common order has it.
_FRONTED = lex.words(
    "when whenever while if unless once after before since as in at on for during with without"
    " by under from given assuming to"
)
_FRONTED_RE = re.compile(
    r"^((?:" + "|".join(_FRONTED) + r")\b[^,:?.!]*)[,:]\s+"
    r"((?:" + "|".join(_ASKING_START) + r")\b[^.!]*?)([?]?)$"
)


def fronted_last(s: str) -> str:
    """A one-sentence question with its fronted adverbial moved to its end (a statement of the
    asker's own situation, with "i" or "we", stays: asking_part sets it aside)."""
    m = _FRONTED_RE.match(s)
    if m is None or _SUBJECTS & set(m.group(1).split()):
        return s
    return f"{m.group(2)} {m.group(1)}{m.group(3)}"


def _without_situation(sentence: str) -> str:
    """The sentence without a leading "but" clause or statement of the asker's situation."""
    sentence = _BUT_ASKING_RE.sub("", sentence)
    lead = _LEAD_CLAUSE_RE.match(sentence)
    if lead and _SUBJECTS & set(lead.group(1).split()):
        return sentence[lead.end() :]
    return sentence


def asking_part(s: str) -> str:
    """The sentences of a normalized message that ask, without the statements around them (the
    asker's situation: "we're planning our honeymoon.", "heard it can make you sick"). A
    statement is context, not the question: what it names is still compared by the verifier,
    but a plain word in it need not appear in the other question. The whole text when no
    sentence is recognizably the question, or when there is only one."""
    sentences = [x for x in _SENTENCE_RE.split(s) if x.strip()]
    if len(sentences) < 2:
        return _without_situation(s)
    asking = [
        _without_situation(x)
        for x in sentences
        if x.endswith("?")
        or x.split()[0] in _ASKING_START
        or _DIGIT_RE.search(x)
        or _REQUEST_RE.search(x)
    ]
    if not asking:
        # no sentence asks in so many words ("i'm new to espresso. the right grind size for
        # a moka pot", once "could you tell me" is gone): the ones not about the asker ask
        asking = [x for x in sentences if not _SUBJECTS & set(x.split()[:2])]
    return " ".join(asking) if asking else s

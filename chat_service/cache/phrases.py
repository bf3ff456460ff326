"""Phrase rewrites of English idioms, applied to a normalized question before it is tokenized
(analysis.py): a frame said another way becomes the frame it stands for ("how come" is "why",
"is it a good idea to" is "should I"), a phrasal verb its one-word verb. General knowledge of
English, each entry with the rule it stands for; kept apart from the word lists (lexicon.py).
"""

from __future__ import annotations

import re


def _phrasal(verb: str, particle: str, said: str, after: str = "") -> tuple[tuple[str, str], ...]:
    """A phrasal verb said as one verb, with its object after the particle or between the two
    ("hook up the printer", "hook the printer up"): `said`, then `after` behind the object."""
    return (
        (rf"\b{verb}(?:ing)? {particle}\b", f"{said} {after}".strip()),
        (rf"\b{verb}(?:ing)? ((?:\w+ ){{1,3}}){particle}\b", rf"{said} \1{after}"),
    )


# "Per (each, every, a) day" is daily, and so on, unless the unit measures a span: "a week past
# the date", "a year ago", "a day or two later" (nor "in a day", "for a week", "one day").
_FREQUENCIES = tuple(
    (
        rf"(?<!\bin )(?<!\bof )(?<!\bfor )(?<!\bone )\b(?:per|each|every|a) {unit}\b"
        r"(?! (?:ago|past|before|after|later|earlier|early|late|old|long|away|from|or two)\b)",
        f"{unit}ly" if unit != "day" else "daily",
    )
    for unit in ("day", "week", "month", "year", "night")
)


# "i would appreciate guidance", "i humbly request an explanation", "please give me advice"
_ASKING_FOR = (
    r"^(?:i (?:would |humbly |'d )?(?:request|appreciate|like|need|want|seek)"
    r"|please (?:give|provide)(?: me)?) (?:an? |some )?"
    r"(?:explanation|guidance|advice|help|instructions?|clarification)"
)


PHRASES: tuple[tuple[str, str], ...] = (
    # "everyday" at the end of a clause is the adverb "every day"
    (r"\beveryday(?=[?.!,;]|$)", "every day"),
    (r"\bhow come\b", "why"),
    # permission said with a participle: "is a student allowed to work" asks "can a student work"
    (r"\b(?:allowed|permitted) to\b", "can"),
    # a yes/no question's tag ("is 91 prime or not", "... or nah") asks nothing more
    (r",? or (?:not|nah|no|nope)(?=[?.!]|$)", ""),
    # asking for an explanation (guidance, advice) of a thing asks it: "i humbly request an
    # explanation of how tides work", "i would appreciate guidance on filing my taxes online"
    (
        _ASKING_FOR + r" (?:of|on|about|regarding|with|for|as to) "
        r"(?=(?:how|why|what|when|where|which|whether)\b)",
        "",
    ),
    (_ASKING_FOR + r" (?:of|on|about|regarding|with|for) (\w+ing)\b", r"how to \1"),
    # "what causes / makes / leads to X" asks why X happens
    # the factors (things) that led to something are its causes
    (r"\b(?:factors|things|events) that (?:led|lead|contributed) to\b", "causes of"),
    (r"\bwhat (?:\w+ly )?(?:causes|caused|makes|made|leads to|led to)\b", "why"),
    (r"\bwhat(?:'s| is| was)? (?:\w+ly )?(?:causing|making)\b", "why"),
    # "the us" is the country, never the pronoun
    (r"\bthe us\b", "the usa"),
    # ... and so is "us" before a noun of nationality or of the state ("a us passport", "us
    # citizens"), where the pronoun never stands
    (
        r"\bus (?=(?:citizens?|citizenship|passports?|visas?|dollars?|residents?|residency"
        r"|government|embassy|consulate|military|president|elections?|federal|tax(?:es)?"
        r"|green card|immigration|border|customs|states?)\b)",
        "usa ",
    ),
    (r"\bfor what reason\b", "why"),
    # "what is the cause of X" asks why X happens, as "what causes X" does
    (
        r"\bwhat(?:'s| is| are| was| were)? the"
        r" (?:main |usual |common |primary |principal |major |root |underlying )?causes? of\b",
        "why",
    ),
    (r"\bwhat(?:'s| is| are| was)? the reasons?\b(?: for| why| that)?", "why"),
    (r"\bwhat(?:'s| is| was)? the purpose of\b", "why"),
    (r"\b(?:in |at |on |during )?(?:what|which) (?:year|century|decade|date)\b", "when"),
    # "what's the time in tokyo" asks what time it is there
    (r"\bwhat(?:'s| is) the time(?= in | at | there| now| right now|[?.!]*$)", "when is it"),
    (
        r"\b(?:at |in |on )?(?:what|which) (?:time|day|month)"
        r"(?= (?:is|are|was|were|do|does|did|will|can|should|would|has|have)\b)",
        "when",
    ),
    # an indirect question left at the start once its request is gone ("could you explain what
    # a credit score is") reads in the direct order: "what is a credit score"
    (
        r"^(?:explain |describe )?(what|who|where) ((?:[\w'-]+ ){0,5}?[\w'-]+) (is|are|was|were)"
        r"((?: (?:in|on|for|at|of|to|with) [\w' -]+)?)$",
        r"\1 \3 \2\4",
    ),
    # an indirect question left at the start ("may i enquire what time the post office
    # closes"): "what time" before a clause asks when, as before an auxiliary
    (
        r"^(?:at |on )?(?:what|which) time (?!(?:zone|of|is|are|was|were|do|does|did|will|can)"
        r"\b)(?=(?:the|a|my|your|our|their|this|it|i|you|we|they)\b)",
        "when ",
    ),
    # "what is the best time (of day) to X" asks when to X, as "when is the best time to X"
    # does ("what is the time to boil an egg", with no such adjective, asks how long)
    (
        r"\bwhat(?:'s| is) the ((?:\w+est|right|ideal|good|optimal|perfect|proper|recommended) "
        r"time (?:of (?:the )?(?:day|week|month|year) )?to)\b",
        r"when is the \1",
    ),
    # "when is the best (right, ideal) time to X" asks when one should X; a time "of the day"
    # or "of the year" names a span, so it stays as said
    (
        r"\bwhen(?:'s| is) the (?:best|right|ideal|optimal|perfect|proper|recommended) time to\b",
        "when should i",
    ),
    (r"\bwhen(?:'s| is) (?:it )?(?:best|ideal) (?:to|for)\b", "when should i"),
    # advice asked as a judgement of the action: "is it a good idea (wise, advisable) to X",
    # "is X (X-ing) a good idea" ask "should i X" ("is it worth X-ing" stays: "is X worth it" and
    # "is X worth buying" say worth too)
    (
        r"\b(?:is|would) it (?:be )?(?:a good idea|a smart move|wise|smart|advisable|sensible)"
        r" (?:for me )?to\b",
        "should i",
    ),
    (
        r"^(?:is|are|would) (?!(?:it|this|that)\b)((?:[\w'-]+ ){0,5}?[\w'-]+) (?:be )?a (?:good"
        r"|smart|wise) idea\b",
        r"should i \1",
    ),
    # what a thing is for is what it does: "what is the function (role, job) of X", "what is X
    # used for" ask "what does X do"
    (
        r"\bwhat(?:'s| is| are) the (?:main )?(?:function|role|job)s? of ([^?.!,]+)",
        r"what does \1 do",
    ),
    (
        r"\bwhat(?:'s| is| are) ((?:[\w-]+ ){0,4}?[\w-]+)'s? (?:main )?(?:function|role|job)s?\b",
        r"what does \1 do",
    ),
    (r"\bwhat (?:is|are) ((?:\w+ ){0,4}?[\w']+) used for\b", r"what does \1 do"),
    # what a thing weighs is how heavy it is
    (
        r"\b(?:what|how much) (?:does|do|would|will) ((?:\w+ ){0,5}?[\w']+) weigh\b",
        r"how heavy is \1",
    ),
    # the location (whereabouts) of a thing is where it is
    (r"\bwhat(?:'s| is) the (?:location|whereabouts) of\b", "where is"),
    # what is needed (required) to do something is what one needs to do it
    (r"\bwhat(?:'s| is| are)? (?:needed|required|necessary) (to|for)\b", r"what do i need \1"),
    # the maker of a work is who made it: "who is the author of X" asks "who wrote X"
    (r"\bwho(?:'s| is| was) the (?:author|writer) of\b", "who wrote"),
    (r"\bwho(?:'s| is| was) the inventor of\b", "who invented"),
    (r"\bwho(?:'s| is| was) the (?:founder|creator) of\b", "who founded"),
    (r"\bwho(?:'s| is| was) the composer of\b", "who composed"),
    (r"\bwho(?:'s| is| was) the director of\b", "who directed"),
    # "how is X different from Y" asks the difference between X and Y (X named, not "they", and
    # Y not "each other": those are said of what the question named before)
    (
        r"\bhow (?:is|are|does|do) (?!(?:they|these|those|it|both|the two)\b)"
        r"((?:[\w'-]+ ){0,5}?[\w'-]+)"
        r" (?:different from|differ from)(?! (?:each other|one another)\b)",
        r"what is the difference between \1 and",
    ),
    # ... and so do its other forms: "how X differs from Y" (an indirect question, after
    # "explain"), "how do X and Y differ (from each other)", "how are X and Y different"
    (
        r"\bhow (?!(?:is|are|does|do|did|they|these|those|it|both|the two)\b)"
        r"((?:[\w'-]+ ){0,5}?[\w'-]+) (?:differs|is different) from"
        r"(?! (?:each other|one another)\b)",
        r"what is the difference between \1 and",
    ),
    (
        r"\bhow (?:(?:is|are|does|do) )?((?:[\w'-]+ ){0,5}?[\w'-]+) and ((?:[\w'-]+ ){0,5}?[\w'-]+)"
        r" (?:differ|are different|different)(?: from (?:each other|one another))?(?=[?.!,]|$)",
        r"what is the difference between \1 and \2",
    ),
    # telling two things apart (distinguishing them) is knowing their difference: "how do i
    # tell X apart from Y", "tell X and Y apart", "distinguish (between) X and (from) Y"
    (
        r"\b(?:tell|distinguish) ((?:[\w'-]+ ){0,5}?[\w'-]+) apart from\b",
        r"tell the difference between \1 and",
    ),
    (
        r"\b(?:tell|distinguish) ((?:[\w'-]+ ){0,5}?[\w'-]+ and (?:[\w'-]+ ){0,5}?[\w'-]+) apart\b",
        r"tell the difference between \1",
    ),
    (
        r"\bdistinguish (?:between )?((?:[\w'-]+ ){0,5}?[\w'-]+) (?:from|and)\b",
        r"tell the difference between \1 and",
    ),
    (
        r"\b(?:how (?:(?:can|do|would|could|should) (?:i|you|we|one) |to )|ways? to )"
        r"tell the differences? between\b",
        "what is the difference between",
    ),
    # two things set side by side with "vs" and a request for "the deal" (the difference):
    # "hot wallet vs cold wallet, what's the deal?"
    (
        r"^(?!(?:what|which|how|why|when|where|who|is|are|was|were|do|does|did|can|could"
        r"|should|would|will)\b)([\w' -]+?) (?:vs\.?|versus) ([\w' -]+?),? "
        r"(?:what(?:'s| is| are) the (?:deal|differences?)|(?:the |key |main )?differences?)"
        r"(?=[?.!]*$)",
        r"what is the difference between \1 and \2",
    ),
    # asking whether there is a way to do something asks how to do it
    (
        r"\bis there (?:a|an|any) (?:easy |simple |good )?(?:way|method) (?:for me |i can )?to\b",
        "how can i",
    ),
    # asking whether something is acceptable asks for permission, as "can i" does
    (r"\bis it (?:ok|okay|alright|all right|acceptable) (?:for me |if i )?to\b", "can i"),
    # "why won't it start" is a refusal, now: "why doesn't it start"
    (r"\bwhy won't\b", "why doesn't"),
    # where a thing is located is where it is
    (r"\b(where (?:is|are|was|were)\b[^?.!]*?) (?:located|situated)\b", r"\1"),
    # what a thing is considered (regarded as, deemed) is what it is asked to be: "is a tomato
    # considered a fruit" asks whether it is one
    (r"\b((?:is|are|was|were)\b[^?.!]*?) (?:considered|regarded as|deemed)\b", r"\1"),
    # keeping something in the fridge is refrigerating it, and so is how long it lasts there
    (
        r"\b(?:kept|keep|keeping|stored|store|storing|lasts?|stays?) in (?:the|a)"
        r" (?:fridge|refrigerator)\b",
        "refrigerated",
    ),
    # "last" as a verb ("how long does it last", "make my battery last longer") is no time
    # word ("last week"): its -s form, which no time word has, keeps it a plain verb
    (
        r"\blast(?=(?: longer| long)?(?:[?.!,;]|$| (?:in|on|for|after|without|outside|at"
        r"|through|once|if|when|before|until|past|between)\b))",
        "lasts",
    ),
    # the early (first, warning) signs of something are its signs: no ordinal is asked
    (
        r"\b(?:early|earliest|first)(?: warning)? (?=(?:signs|symptoms|indications|indicators)\b)",
        "",
    ),
    # first aid is a name, no ordinal
    (r"\bfirst aid\b", "firstaid"),
    # expecting mothers (women, moms) are pregnant ones
    (r"\bexpecting (mothers|moms|mums|women|parents)\b", r"pregnant \1"),
    # the majority of things are most of them
    (r"\bthe majority of\b", "most"),
    # "in advance" is ahead
    (r"\bin advance\b", "ahead"),
    # the united states (of america) is the usa
    (r"\bthe united states(?: of america)?\b", "the usa"),
    # "X equals how many Y" asks how many Y are in X
    (
        r"^(?:an? |one )?([\w ]+?) (?:equals?|is equal to) how (many|much) ([\w ]+?)(?=[?.!]*$)",
        r"how \2 \3 are in a \1",
    ),
    # how to tell whether (when) something holds asks its signs, and the other way round
    (
        r"\bhow (?:(?:can|do|would|will|could) (?:i|you|we|one) |to )(?:tell|know|find out)"
        r" (?:if|whether|when(?! to\b))\b",
        "how do i know if",
    ),
    (
        r"\bwhat are (?:the |some |common )?(?:signs|symptoms|indications|indicators)"
        r" (?:that|of)\b",
        "how do i know if",
    ),
    (
        r"^(?:the |some |common )?(?:signs|symptoms|indications|indicators) (?:that|of)\b",
        "how do i know if",
    ),
    # what people call a thing is its name
    (r"\bwhat (?:do|would) (?:you|we|they|people) call\b", "what is the name for"),
    # a recipe for a dish is how to make it
    (r"\b(?:what(?:'s| is) )?(?:a |the )?(?:good |best )?recipe for\b", "how to make"),
    (
        r"^(?:an? |the )?(?:good |best |easy |simple )?([\w' -]+?) recipe(?=[?.!]*$)",
        r"how to make \1",
    ),
    # the proper way to do something is how to do it; "correctly" at the end asks no more
    (r"\bwhat(?:'s| is) the (?:proper|right|correct) way to\b", "how to"),
    (r"\s(?:correctly|properly)(?=[?.!]*$)", ""),
    # what an abbreviation is short for is what it stands for
    (r"\b(?:what )?(?:is|are) (\S+) short for\b", r"what does \1 stand for"),
    (r"\b(?:in |at )?(?:what|which) (?:place|location)\b", "where"),
    (r"\b(?:what|which) (?:person|people)\b", "who"),
    (r"\b(?:at )?what age\b", "how old"),
    # hours of something asked as an amount ("how many hours of sleep" is "how much sleep")
    (r"\bhow many hours of\b", "how much"),
    # a count of time units is a duration ("how many days until" = "how long until")
    # ... whose unit stays: "how many days" and "how many hours" of one span differ (verify.py)
    (r"\bhow many (seconds|minutes|hours|days|weeks|months|years)\b", r"how long \1"),
    # a quantity of time is a duration, as a count of time units is
    (r"\bhow much time\b", "how long"),
    # the point, situation or condition at which something holds: when it holds
    (r"\bat (?:what|which) point\b", "when"),
    (r"\b(?:in|under) (?:what|which) (?:situations?|cases?|circumstances|conditions)\b", "when"),
    # slang for "what is": "what's the deal with X", "what's up with X"
    # ... with something happening ("what's up with my cat sneezing") asks why it happens
    (
        r"\bwhat(?:'s| is) (?:the deal|the story|up) with ((?:my|your|his|her|our|their) "
        r"(?:[\w']+ ){1,3}\w+ing)\b",
        r"why is \1",
    ),
    # ... and with "that" after a statement of what happens ("my car clicks when i turn,
    # what's up with that", "..., what's going on") asks why it happens
    (
        r"\bwhat(?:'s| is) (?:(?:the deal|the story|up) with (?:that|this|it)|going on)"
        r"(?=[?.!]*$)",
        "why",
    ),
    (r"\bwhat(?:'s| is) (?:the deal|the story|up) with\b", "what is"),
    # something "constantly" (always, repeatedly) doing a thing keeps doing it
    (r"\b(?:constantly|always|continually|continuously|repeatedly) (\w+ing)\b", r"keep \1"),
    # a thing that won't (doesn't) stop doing something keeps doing it: "why won't my dog stop
    # barking" is "why does my dog keep barking"
    (
        r"\b(?:won't|will not|doesn't|does not|don't|do not|can't|can not|cannot)"
        r" ((?:[\w']+ ){0,3}?)stop (\w+ing)\b",
        r"\1keep \2",
    ),
    # the reasons (why) something happens are why it happens
    (
        r"\b(?:what (?:are|is|could be|might be) |explain )?(?:the |some )?"
        r"(?:possible |main |common |likely )?reasons? (?:why |that )?"
        r"(?=(?:my|your|the|a|an|it|this|i|he|she|they|we)\b)",
        "why ",
    ),
    (r"\bwhat (?:could|might|would) be (?:causing|making)\b", "why"),
    # the (recommended) number of things is how many of them
    (
        r"\bwhat(?:'s| is) the (?:recommended |right |ideal |correct |typical |average |usual )?"
        r"number of\b",
        "how many",
    ),
    # saying no to an invitation (an offer) declines it
    (r"\bsay(?:ing)? no to\b", "decline"),
    # "following" and "prior to" before a noun phrase are "after" and "before"
    (r"\bfollowing (?=(?:a|an|the|my|your|his|her|their|our|this|that) )", "after "),
    # "once" before a clause of something done is "after" ("once i've deleted it"); before a
    # state it is "when" ("once i'm in europe"), and "once a week" is a frequency
    (r"\bonce (?=(?:i|you|we|they)(?:'ve| have) |(?:he|she|it) has )", "after "),
    (r"\b(before|prior to) or following\b", r"\1 or after"),
    (r"\bprior to\b", "before"),
    # "what now" after a statement of what happened asks what to do
    (r"\bwhat (?:(?:do|should|can) i do )?now(?=[?.!]*$)", "what should i do"),
    # not to remember is to forget ("if i forgot the password" / "if i can't remember it"), and
    # to go without losing a thing is to keep it ("undo a commit without losing my changes")
    (
        r"\b(?:can't|cannot|can not|couldn't|don't|do not|didn't|did not) (?:remember|recall)\b",
        "forgot",
    ),
    (r"\bwithout losing\b", "keeping"),
    # for free (at no cost, free of charge) is without paying
    (r"\b(?:for free|at no cost|free of charge)\b", "without paying"),
    # not having much (many) of a thing is having little (few) of it
    (r"\b(?:don't|do not|doesn't|does not) have (?:much|a lot of|lots of)\b", "have little"),
    (r"\b(?:don't|do not|doesn't|does not) have many\b", "have few"),
    # "what's the move for X-ing" is slang for how to do it
    (r"\bwhat(?:'s| is) the move (?:for|to|with)\b", "how to"),
    # a number that is a prime (even, odd...) number is prime: "is 91 a prime number"
    (
        r"\b(\d+) (is |isn't |is not )?an? (prime|even|odd|composite|perfect|square|whole)"
        r" number\b",
        r"\1 \2\3",
    ),
    # the present said in other words is "now" (verify.py: a question with no time asks it)
    (r"\b(?:these days|nowadays|right now|at the moment|at present|presently|currently)\b", "now"),
    # the simplest (most straightforward) way is the easiest, the lengthiest the longest
    (r"\b(?:simplest|most straightforward)\b", "easiest"),
    (r"\blengthiest\b", "longest"),
    # "the first (second) world war" is world war 1 (2), as "ww1" and "world war i" are
    (r"\bthe first world war\b", "world war 1"),
    (r"\bthe second world war\b", "world war 2"),
    (r"\bgrown[ -]up(s?)\b", r"grownup\1"),
    # "a ton" at the end of a clause is "a lot" (a weight has a number or "of")
    (r"(?<![\d.] )\ba ton(?=[?.!,;]|$)", "a lot"),
    # "a good X" asked for a purpose ("what's a good gift for", "what are some good exercises
    # for") asks for an X that fits, as the bare noun does; "X ideas (suggestions) for" asks
    # for X. Not a good value of a measure ("what's a good credit score" asks a benchmark,
    # "what's a credit score" a definition)
    (
        r"\b(what(?:'s| is| are| would be)|which (?:is|are)) (a |an |some |any )?good "
        r"(?!(?:[\w'-]+ )?(?:score|rate|salary|wage|price|cost|age|weight|size|number|amount"
        r"|grade|gpa|temperature|time|speed|level|range|ratio|percentage|pace|yield|return)s?\b)"
        r"(?=(?:[\w'-]+ ){1,3}(?:for|to)\b)",
        r"\1 \2",
    ),
    (r"\b(\w+) (?:ideas|suggestions) (?=for\b)", r"\1 "),
    # "replace X with Y" is "replace X for Y": its roles are ordered, as "swap X for Y" is
    # ("replace butter with oil" / "replace oil with butter")
    (r"\b(replac(?:e|es|ed|ing)) ((?:[\w'-]+ ){0,3}?[\w'-]+) with\b", r"\1 \2 for"),
    # "substitute (sub) X for Y" is to use X instead of Y
    (r"\b(?:substitut(?:e|ing)|sub) ((?:[\w'-]+ ){1,4}?)for\b", r"use \1instead of"),
    # to find (work out, compute) a quantity of mathematics is to calculate it
    (
        r"\b(?:find|finding|work out|working out|compute|computing)"
        r" (?=(?:the |my |a |an |its |their |your )?(?:area|volume|perimeter|circumference"
        r"|average|mean|median|derivative|integral|slope|square root|percentage|probability"
        r"|standard deviation|variance|compound interest|simple interest|angles?|radius|diameter"
        r"|hypotenuse)\b)",
        "calculate ",
    ),
    # the point at which a thing boils (melts, freezes, smokes) is a temperature
    (r"\b(boiling|melting|freezing|smoke|smoking|flash) points?\b", r"\1 temperature"),
    # a half-life is one word, a duration ("half" is no number in it)
    (r"\bhalf[- ]li(?:fe|ves)\b", "halflife"),
    # a verb of motion after "how fast" says nothing the speed does not ("how fast does sound
    # travel" asks the speed of sound)
    (
        r"\b(how fast (?:does|do|did|can|will) (?:[\w'-]+ ){1,4}?)(?:travel|move|go|fly)\b",
        r"\1",
    ),
    # how long the process of doing something is is how long it takes
    (r"\bhow long (?:is|does) the process (?:of|for)\b", "how long does it take to"),
    # a copular verb before a last adjective says "is": "what makes the sky look blue", "why
    # does my bread come out dense"
    (
        r"\b(?:looks?|seems?|appears?|comes? out|turns? out|ends? up)"
        r" (?=(?:so |too |really |very )?(?!like\b)[\w-]+[?.!]*$)",
        "",
    ),
    # phrasal verbs said as one: hook up is connect, send (give) back is return
    *_phrasal("hook", "up", "connect"),
    *_phrasal("(?:send|give)", "back", "return"),
    # "past" a date or time is after it ("eat eggs past their expiration date")
    (r"\bpast (?=(?:the|their|its|my|your|our|his|her) )", "after "),
    # to speed something up is to make it faster; to bring it down, to reduce it
    *_phrasal("speed", "up", "make", "faster"),
    *_phrasal("bring", "down", "reduce"),
    (r"\bhow frequently\b", "how often"),
    (r"\bhow many times\b", "how often"),
    (r"\bwhat(?:'s| is)? the distance\b", "how far"),
    # a count of length units is a distance, the unit kept ("how many miles" = "how far in
    # miles"); not with a number after it, a conversion ("how many km is 10 miles")
    (
        r"\bhow many (miles|kilometers|kilometres|km|kms|meters|metres|feet|yards)\b(?![^?]*\d)",
        r"how far in \1",
    ),
    (r"\bwhat(?:'s| is)? the (?:number|amount|quantity) of\b", "how many"),
    (r"\bwhat(?:'s| is)? the duration of\b", "how long"),
    (r"\bwhat(?:'s| is| are)? the (?:height|elevation) of\b", "how tall is"),
    # tall is high said of height ("the tallest mountain" is "the highest mountain")
    (r"\btall(er|est)?\b", r"high\1"),
    (r"\bwhat(?:'s| is| are)? the (?:size) of\b", "how big is"),
    (r"\bwhat(?:'s| is| are)? the (?:weight) of\b", "how heavy is"),
    (r"\bwhat(?:'s| is| are)? the (?:depth) of\b", "how deep is"),
    (
        r"\b(?:what|which) (?:can|could|should|do|would) (?:i|you|we|one) use instead of\b",
        "substitute for",
    ),
    (r"\b(?:a |the )?(?:replacement|alternative|substitution) (?:for|to)\b", "substitute for"),
    # a degree said with "more" and its own form ("more quickly" is faster), and "as quickly
    # as possible" the manner "quickly" (read below as the fastest way)
    (r"\bmore (?:quickly|rapidly)\b", "faster"),
    (r"\b(?:as (?:quickly|fast|rapidly) as possible|most (?:quickly|rapidly))\b", "quickly"),
    # quick and fast are one measure ("the quickest way" is "the fastest way")
    (r"\bquickest\b", "fastest"),
    (r"\bquicker\b", "faster"),
    # a manner said as an adverb at the end asks for the way that has it: "how do i peel
    # garlic quickly" asks "the fastest way to peel garlic"; the easiest way is how to do it
    # (below), so "easily" asks no more than "correctly" does
    (r"\s(?:easily)(?=[?.!]*$)", ""),
    (r"(?<!\bhow )(?<!\bso )(?<!\btoo )(?<!\bvery )\bquickly(?=[?.!]*$)", "the fastest way"),
    # a fast (quick) way to do something is the fastest: "fast ways to raise my credit score"
    (r"\b(?:fast|quick|rapid|speedy) (ways?|methods?) to\b", r"the fastest \1 to"),
    # "fast" at the end after a verb is that manner too ("lose weight fast"), not after a
    # word it qualifies ("how fast", "so fast", "is it fast")
    (
        r"(?<!\bhow )(?<!\bso )(?<!\btoo )(?<!\bvery )(?<!\bis )(?<!\bare )(?<!\bas )"
        r"(?<!\ba )(?<!\bthe )(?<!\bi )(?<!\byou )(?<!\bwe )(?<!\bthey )(?<!\bto )"
        r"\bfast(?=[?.!]*$)",
        "the fastest way",
    ),
    # the ideal (optimal) one is the best one: "the ideal temperature for a wine fridge"
    (r"\b(?:ideal|optimal|optimum)\b", "best"),
    (r"\bcheaply(?=[?.!]*$)", "the cheapest way"),
    (r"\bsafely(?=[?.!]*$)", "the safest way"),
    (r"\bleast (?:expensive|costly|pricey)\b", "cheapest"),
    (r"\bmost (?:expensive|costly|pricey)\b", "priciest"),
    (r"\b(?:adverse|unwanted) effects\b", "side effects"),
    (r"\bmoney back\b", "refund"),
    # a unit of time as a frequency ("twice a week"), never a span ("a week past the date")
    *_FREQUENCIES,
    # the dimensions of a thing said with "by" are its "x" ("a 2 by 2 matrix" is "a 2x2 matrix";
    # never "divide 10 by 2", where no article stands before the numbers)
    (r"\b(a|an|the) (\d+) ?(?:by|x) ?(\d+)\b", r"\1 \2x\3"),
    # the season said another way: "fall" after a word that dates it ("in the fall", "this
    # fall") is autumn, never the verb; "springtime" and "the winter months" are the season
    (r"\b(in|this|last|next|during|every|each|early|late|mid)( the)? fall\b", r"\1\2 autumn"),
    (r"\b(spring|summer|winter|autumn)(?:time| season| months)\b", r"\1"),
    # "then" after a comparative is "than", a common slip ("slower then ethernet")
    (r"\b(\w+er|more \w+|less \w+) then\b", r"\1 than"),
    (r"\b(?:per|each|every) quarter\b", "quarterly"),
    # the options one has are what one can do
    (r"\bwhat are my options\b", "what can i do"),
    # refusing to do a thing is not doing it ("a client refuses to pay" / "won't pay")
    (r"\brefus(?:es|ed|e|ing) to\b", "will not"),
    # to write off an expense is to deduct it
    (r"\bwrit(?:e|ing) off\b|\bwrote off\b", "deduct"),
    # how soon after (before) something is how long after it
    (r"\bhow soon (after|before)\b", r"how long \1"),
    # how soon something should happen is when it should
    (r"\bhow soon\b", "when"),
    # "am i (are you) supposed to" asks what one should do
    (r"\b(?:am|are|r) (?:i|you|u|we) supposed to\b", "should i"),
    # "the min (max)" is the minimum (maximum), never minutes
    (r"\bthe min\b", "the minimum"),
    (r"\bthe max\b", "the maximum"),
    # twice (thrice) is two (three) times
    (r"\btwice\b", "two times"),
    (r"\bthrice\b", "three times"),
    # "at the same time" and "simultaneously" are "at once"
    (r"\b(?:at the same time|simultaneously)\b", "at once"),
    # being unable to, or failing to, do something is not doing it
    (r"\b(?:am|is|are|was|were|be|been)( (?:i|you|he|she|it|we|they))? unable to\b", r"can\1 not"),
    (r"\b(?:fails?|failed|failing) to\b", "not"),
    # the stores (shops, places) that sell a thing are where to buy it
    (
        r"\b(?:what|which) (?:stores|shops|places|retailers) (?:sell|carry|stock)\b",
        "where can i buy",
    ),
    (r"\bhow far away\b", "how far"),
    # what something counts as is what it is
    (r"\bcounts? as\b", "is"),
    # "ww2" (wwii, ww1) is the world war of that number
    (r"\bww ?(?:1|i)\b", "world war 1"),
    (r"\bww ?(?:2|ii)\b", "world war 2"),
    # the effect (impact) a thing has on another is how it affects it
    (
        r"\bwhat (?:impact|effect|effects) (?:does|do|can|will) ([^?.!,]+?) have on\b",
        r"how does \1 affect",
    ),
    # the importance (significance) of a thing is why it is important
    (r"\bwhat(?:'s| is) the (?:importance|significance) of ([^?.!,]+)", r"why is \1 important"),
    # when a deadline (due date) is, is what it is
    (r"\bwhen(?:'s| is) the ((?:[\w-]+ ){0,3}(?:deadline|due date|cutoff))\b", r"what is the \1"),
    # "on a daily basis" is daily
    (r"\bon an? (daily|nightly|weekly|monthly|yearly|annual|regular) basis\b", r"\1"),
    (
        r"\bwhat(?:'s| is| are)? (?:a |the |some )?"
        r"(?:good |best |proper |right |correct |recommended |usual |standard |easiest |)"
        r"(?:ways?|methods?|steps|procedure|process) (?:to|for|of)\b",
        "how to",
    ),
    (
        r"\b(?:the )?(?:best|proper|right|correct|recommended|most effective|smartest|easiest)"
        r" (?:ways?|methods?) (?:to|for|of)\b",
        "how to",
    ),
    # asking for the trick, tips or technique to do something asks how to do it (only before a
    # verb: "a tip for the waiter" is money)
    (
        r"\b(?:what(?:'s| is| are) )?(?:a |the |some |any )?(?:good |best )?"
        r"(?:tricks?|tips|techniques?) (?:to (?=\w)|for (?=\w+ing\b))",
        "how to ",
    ),
    (
        r"\bhow (?:do|does|can|could|should|would|will|might|may) (?:i|you|we|one|someone)\b",
        "how to",
    ),
    (r"\bhow (?:is|are) (?:it|one|someone|i|you) (?:supposed|meant) to\b", "how to"),
    # "how do i best learn X" asks the best way to learn it, which is how to learn it
    (r"\bhow to (?:best|properly|correctly)\b", "how to"),
    # asking to be walked through doing something asks how to do it
    (
        r"\b(?:(?:can|could|would|will) (?:you|someone|anyone) )?walk me through"
        r" (?:how to |(?:the (?:process|steps) (?:of|for) )?(?=\w+ing\b))",
        "how to ",
    ),
    # "show" after "how to" is the action asked about ("how to show hidden files"), not a
    # request for the answer ("show me"): a word of its own
    (r"\bhow to show\b(?! me\b)", "how to display"),
    (r"\bsteps to\b", "how to"),
    (r"\bgo(?:ing)? about\b", ""),
    (r"\bregular expressions?\b", "regex"),
    (r"\bthrow(?:ing)? up\b|\bthrew up\b", "vomit"),
    # "stop / keep X from doing Y": both prevent it
    (
        r"\b(?:stop(?:s|ping|ped)?|keep(?:s|ing)?|kept) ((?:\w+ ){0,4})from\b",
        r"prevent \1from",
    ),
    # getting (making) someone stop doing something is stopping them from doing it
    (r"\b(?:get|make|help)(?:ting)? ((?:\w+ ){1,3})(?:to )?stop\b", r"prevent \1from"),
    # ... and so is stopping them doing it, "from" left out ("stop my cat scratching the couch",
    # "stop him snoring"; not "stop the bleeding", where no one is named before the -ing word)
    (
        r"\bstop(?:s|ping)? ((?:me|him|her|them|us|you|it) "
        r"|(?:my|your|the|a|an|his|her|their|our|this) (?:\w+ ){1,2}?)(\w+ing)\b",
        r"prevent \1from \2",
    ),
    # "degrees" before a temperature scale says nothing more ("40 degrees fahrenheit", "40°f")
    (r"\bdegrees? (fahrenheit|celsius|centigrade|kelvin)\b", r"\1"),
    # what it takes to do something is what doing it needs: how to do it
    (r"\bwhat (?:does|would|will) it take to\b", "how to"),
    (r"\bget(?:ting)? ((?:\w+ ){1,4})out of\b", r"remove \1from"),
    (r"\bget(?:ting)? ((?:\w+ ){1,4})out$", r"remove \1"),
    (r"\bwithout using\b", "without"),
    (r"\bget(?:ting)? better at\b", "improve at"),
    (r"\btak(?:e|ing) ((?:\w+ ){0,3})out of\b", r"remove \1from"),
    (r"\btak(?:e|ing) ((?:\w+ ){0,3})out$", r"remove \1"),
    (r"\btak(?:e|ing) out\b", "remove"),
    (r"\bget rid of\b", "remove"),
    (r"\bgetting rid of\b", "removing"),
    (r"\bin order to\b", "to"),
    (r"\b(?:a lot of|lots of|plenty of)\b", "many"),
    (r"\bas well as\b", "and"),
    # "as well" is "too"; "well" itself is a word ("a private well", "sleep well")
    (r"\bas well\b", "too"),
    (r"\binstead of\b", "insteadof"),
    (r"\brather than\b", "than"),
    (r"\bcompared (?:to|with)\b", "vs"),
    # "X vs Y" sets two things side by side, in either order: "X and Y" (no direction)
    (r"\b(?:vs\.?|versus)(?= )", "and"),
    (r"\b(?:log|sign) ?(?:in|on)(?:to)?\b", "login"),
    (r"\b(?:sign|signing) ?up\b", "register"),
    (r"\b(?:log|sign) ?(?:out|off)\b", "logout"),
    (r"\bturn(?:ing)? on\b", "enable"),
    (r"\bturn(?:ing)? off\b", "disable"),
    (r"\bswitch(?:ing)? on\b", "enable"),
    (r"\bswitch(?:ing)? off\b", "disable"),
    (r"\bset(?:ting)? up\b", "setup"),
    (r"\bfree (?:of|from)\b", "without"),
    (r"\b(?:cannot|can't)\b", "can not"),
    (r"\bwon't\b", "will not"),
    (r"\bshan't\b", "shall not"),
    (r"\b(\w+)n't\b", r"\1 not"),
    (r"\bnon-", "non "),
    (r"\bdon't\b", "do not"),
    (r"\bno-", "no "),
    (r"\b(\w+)-free\b", r"without \1"),
    (r"\bup to date\b", "uptodate"),
    (r"\bout of date\b", "outdated"),
    (r"\bkind of\b|\bsort of\b|\btype of\b|\btypes of\b|\bkinds of\b", ""),
    (r"\bfor dummies\b", "for beginners"),
    (r"\bexplain like i'?m (\w+)\b", r"for a \1 year old"),
    (r"\bmake sure\b", "ensure"),
    (r"\bfind out\b", "learn"),
    (r"\bdeal(?:s|ing|t)? with\b", "handle"),
    (r"\bsay(?:ing)? sorry\b", "apologize"),
    # "right" before a time word only stresses it ("right after eating")
    (r"\bright (after|before)\b", r"\1"),
    # the earliest of something in time is its first
    (r"\bearliest\b", "first"),
    (r"\bfigure out\b", "determine"),
    (r"\bpick up\b", "learn"),
    (r"\bcome up with\b", "create"),
    (
        r"\b(?:go(?:ing)?|get(?:ting)?) to sleep\b|\bfall(?:s|ing)? asleep\b"
        r"|\bdrift(?:s|ing)? off(?: to sleep)?\b",
        "sleep",
    ),
    (r"\bsleep better\b", "sleep well"),
    (r"\bover the counter\b", "otc"),
    (r"\bpros and cons\b", "advantages disadvantages"),
    (r"\bbenefits and drawbacks\b", "advantages disadvantages"),
    (r"\bupside down\b", "upsidedown"),
    # what would cause (make) something to happen asks why it happens ("what would cause a cat
    # to start peeing outside the box"), as "what is causing" does
    (
        r"\bwhat (?:causes|makes|(?:would|could|might|can|may|does|do|will) (?:cause|make))"
        r" ((?:[\w']+ ){1,4}?)to\b",
        r"why does \1",
    ),
    # the point (purpose) of doing a thing is why one does it
    (r"\bwhat(?:'s| is) the (?:point|purpose) (?:of|in|behind) (\w+ing)\b", r"why \1"),
    # the season (month, time of year or of day) during which something holds is when it holds
    (
        r"\b(?:(?:during|in|at) )?(?:which|what) (?:season|month|time of (?:the )?(?:year|day)"
        r"|part of the (?:year|day))\b",
        "when",
    ),
    # working out which (what, how) is finding it out, as figuring it out is
    (r"\bwork(?:ing)? out (?=(?:which|what|how|whether|if)\b)", "determine "),
    # one superlative (comparative) said with another word for the same degree
    (r"\bbiggest\b", "largest"),
    (r"\bbigger\b", "larger"),
    # "2" for "to" in texting, after words that a number cannot follow ("is it ok 2 take",
    # "how 2 fix")
    (r"\b(ok|okay|how|safe|fine|able|supposed|allowed|going|trying) 2 (?=[a-z])", r"\1 to "),
    # the initial step (thing to do) is the first one
    (r"\b(?:first|initial) thing\b", "first step"),
    (r"\binitial (steps?|signs?|symptoms?)\b", r"first \1"),
    # "how big of a" is "how big a"
    (r"\bhow (big|large|long|much|small|tall|wide|bad) of an? ", r"how \1 a "),
    # the year (day, date...) in which something happened is when it happened, as "in what
    # year" is
    (r"\bthe (?:year|day|date|month|decade|century) (?:in|on|during) which\b", "when"),
    # a distinction between two things is their difference, and asking to explain (clarify)
    # it asks what it is
    (r"\bdistinctions?\b", "difference"),
    (
        r"\b(?:explain|clarify|describe|elucidate|outline) (?:to me )?the differences? between\b",
        "what is the difference between",
    ),
    (r"^the differences? between\b", "what is the difference between"),
    # the longest (farthest) someone can do a thing is how long (far) they can: "what's the
    # longest a puppy can stay in a crate"
    (r"\bwhat(?:'s| is) the longest (?=(?:a|an|the|my|your|i|you|one|we|they)\b)", "how long "),
    (
        r"\bwhat(?:'s| is) the (?:furthest|farthest) (?=(?:a|an|the|my|your|i|you|one|we|they)\b)",
        "how far ",
    ),
    # being a big deal, or mattering so much, is being important ("why is X such a big deal",
    # "why does X matter")
    (r"\b(?:such )?an? (?:big|huge) deal\b", "important"),
    (r"\bmatter(?:s|ed)? (?:so much|that much)\b", "important"),
    (r"\bwhy (?:does|do|did) ((?:[\w'-]+ ){1,5}?)matter\b", r"why is \1important"),
    # "$$" without an amount is money, no currency named ("save $$", "hold $$ on my card")
    (r"\${2,}(?![\d.])", "money"),
    # "second-hand" is used, no ordinal (a clock's "second hand" keeps its space)
    (r"\bsecond-?hand\b", "used"),
    # "legal" said of an act is "allowed" ("is it legal to bait deer" / "is deer baiting
    # allowed"), "illegal" "not allowed"; a legal age, fee or advice keeps the word
    (r"\billegal(?= to\b| in\b| for\b| on\b|[?.!,]|$)", "not allowed"),
    (r"\b(?:legal|lawful)(?= to\b| in\b| for\b| on\b|[?.!,]|$)", "allowed"),
    (r"\billegally\b", "not allowed"),
    (r"\b(?:legally|lawfully)\b", "allowed"),
    # "using" before what is used is the preposition "with" ("center a div using css", "using
    # vinegar, how do i ..."); a verb after a form of "be" or of a verb of habit stays ("which
    # process is using the port", "stop using my card")
    (
        r"(?<!\bis )(?<!\bare )(?<!\bam )(?<!\bwas )(?<!\bwere )(?<!\bbe )(?<!\bbeen )"
        r"(?<!\bstop )(?<!\bstart )(?<!\bkeep )(?<!\bquit )(?<!\bavoid )\busing (?=\w)",
        "with ",
    ),
)
PHRASE_RES = tuple((re.compile(p), r) for p, r in PHRASES)

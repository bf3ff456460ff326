"""Word lists and small morphology the cache verifier reads: English function words
(stopwords, negations, number words, operators), units (SI and US customary units, ISO 4217
currency codes and signs), language names (natural languages and common programming
languages), audience nouns, time words, comparatives, phrase rewrites of English idioms and
irregular verb forms. General knowledge of English, kept apart from the verifier's logic; no
synonyms (the embedding model's word vectors carry those: wordmatch.py)."""

from __future__ import annotations

import re


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS = words(
    """
    a an the this that these those some any each either neither such
    i me my mine myself we us our ours you your yours yourself yourselves he him his she her
    hers it its itself they them their theirs one ones someone somebody anyone anybody
    everyone people person something anything everything thing things stuff
    what which who whom whose when where why how whether if
    is are was were be been being am do does did done doing have has had having
    can could should would will shall may might must ought need needs
    to of in on at by for with about as into onto from than then so and or but nor
    up via per vs versus toward towards upon within between among across through throughout
    around along during amongst while whilst
    there here just really actually exactly basically simply generally usually typically
    also too very quite pretty rather somewhat even still ever already yet again
    lot lots much many kind kinds sort type way ways going
    s t d ll re ve m o let lets let's please thanks thank hey hi hello
    possible able like explain describe define tell give provide show
    i'm you're it's that's what's how's where's when's who's there's here's i've i'd i'll
    """
)
# "way" and "like" are function-like in questions ("the best way to"); "much"/"many" are covered
# by the question kind; "explain", "tell", "describe" only ask for an answer ("explain X" is
# "what is X").

# Words that negate what follows; "avoid X" and "prevent X" ask how X does not happen.
NEGATIONS = words(
    "not no never without none nothing nobody nowhere neither nor cannot non avoid avoiding "
    "prevent preventing"
)
NEG_FREE_OBJECTS = words(
    """
    sugar gluten dairy fat lactose alcohol caffeine nut egg meat tax duty cruelty smoke
    cholesterol salt soy grain wheat fragrance risk hands stress pain debt error bug lock
    plastic chemical carb calorie interest rent commission toll
    """
)

# Markers of argument roles (see _roles).
SOURCE_MARKERS = frozenset({"from"})
TARGET_MARKERS = frozenset({"to", "into", "towards", "toward", "than", "per", "insteadof"})
# English auxiliaries and modals that open a question, before its subject and main verb.
AUXILIARIES = words("do does did can could should would will shall must may might")
# English prepositions (the single words of a grammar's closed class): a word after one is the
# object of a phrase ("during pregnancy", "before firing me").
PREPOSITIONS = words(
    """
    about above across after against along amid among around as at before behind below beneath
    beside besides between beyond by despite down during except for from in inside into like
    near of off on onto out outside over past per since through throughout till to toward
    towards under underneath unlike until up upon via with within without
    """
)
# Words after which "to" is an infinitive, not a direction.
INFINITIVE_HEADS = words(
    """
    how want wants wanted need needs needed way ways able going trying try tries tried have
    has had used like love prefer safe okay ok good bad better best easy easier easiest hard
    harder hardest possible necessary important time order learn learning plan planning hope
    decide start begin continue allowed supposed enough ready first last what where when who
    which why steps tips step tip rules reason reasons advice take takes took taking
    """
)


NUMBER_WORDS: dict[str, int] = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "dozen": 12,
}
MULTIPLIERS: dict[str, int] = {
    "hundred": 100,
    "thousand": 1_000,
    "million": 1_000_000,
    "billion": 1_000_000_000,
    "trillion": 1_000_000_000_000,
    "k": 1_000,
    "m": 1_000_000,
    "bn": 1_000_000_000,
}
ORDINALS: dict[str, int] = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fifteenth": 15,
    "twentieth": 20,
    "hundredth": 100,
}
FRACTION_WORDS: dict[str, float] = {"half": 0.5, "quarter": 0.25}
OPERATORS = {
    "+": "plus",
    "-": "minus",
    "*": "times",
    "x": "times",
    "\u00d7": "times",
    "/": "divided",
    "\u00f7": "divided",
    "^": "power",
}
SOFT_ONE = frozenset({"one", "a", "an", "single", "once"})
NONCOMMUTATIVE = words(
    """
    divided divide minus subtract subtracted over from to power ratio than percent of
    / - ^ % exponent modulo mod remainder
    """
)

# Unit spellings -> canonical unit. Ambiguous short forms count only right after a number.
UNITS: dict[str, str] = {}
UNITS_AFTER_NUMBER: dict[str, str] = {}


def add_units(canonical: str, spellings: str, after_number: str = "") -> None:
    for spelling in spellings.split():
        UNITS[spelling] = canonical
    for spelling in after_number.split():
        UNITS_AFTER_NUMBER[spelling] = canonical
    UNITS[canonical] = canonical


add_units("kilogram", "kg kgs kilo kilos kilogram kilograms kilogramme")
add_units("gram", "gram grams gramme grammes gr", "g")
add_units("milligram", "mg milligram milligrams")
add_units("pound", "lb lbs pound pounds £ gbp quid sterling")
add_units("ounce", "oz ounce ounces")
add_units("stone", "stones", "st")
add_units("ton", "ton tons tonne tonnes")
add_units("kilometer", "km kms kilometer kilometers kilometre kilometres")
add_units("meter", "meter meters metre metres", "m")
add_units("centimeter", "cm cms centimeter centimeters centimetre centimetres")
add_units("millimeter", "mm millimeter millimeters millimetre millimetres")
add_units("mile", "mile miles mi")
add_units("yard", "yard yards yd yds")
add_units("foot", "foot feet ft", "'")
add_units("inch", "inch inches", 'in "')
add_units("liter", "liter liters litre litres", "l")
add_units("milliliter", "ml milliliter milliliters millilitre millilitres")
add_units("gallon", "gallon gallons gal")
add_units("quart", "quart quarts qt")
add_units("pint", "pint pints pt")
add_units("cup", "cup cups")
add_units("tablespoon", "tablespoon tablespoons tbsp tbs tbl")
add_units("teaspoon", "teaspoon teaspoons tsp")
add_units("fahrenheit", "fahrenheit °f ºf", "f")
add_units("celsius", "celsius centigrade °c ºc", "c")
add_units("kelvin", "kelvin", "k")
add_units("degree", "degree degrees °")
add_units("second", "seconds sec secs", "s")
add_units("minute", "minute minutes min mins")
add_units("hour", "hour hours hr hrs", "h")
add_units("day", "day days")
add_units("week", "week weeks wk wks")
add_units("month", "month months")
add_units("year", "year years yr yrs")
add_units("mph", "mph")
add_units("kph", "kph kmh km/h")
add_units("dollar", "dollar dollars $ usd bucks")
add_units("euro", "euro euros € eur")
add_units("yen", "yen ¥ jpy")
add_units("rupee", "rupee rupees inr ₹")
add_units("percent", "percent percentage % pct")
add_units("calorie", "calorie calories kcal cal")
add_units("watt", "watt watts", "w")
add_units("kilowatt", "kw kilowatt kilowatts kwh")
add_units("volt", "volt volts", "v")
add_units("byte", "byte bytes")
add_units("kilobyte", "kb kilobyte kilobytes")
add_units("megabyte", "mb megabyte megabytes")
add_units("gigabyte", "gb gigabyte gigabytes gig gigs")
add_units("terabyte", "tb terabyte terabytes")
add_units("acre", "acre acres")
add_units("hectare", "hectare hectares ha")
add_units("square", "sq square")
add_units("cubic", "cubic cu")
UNIT_NAMES = frozenset(UNITS.values())
# Units of time: in a statement beside the question ("we adopted a cat last week") they say
# when, not what the answer is measured in.
TIME_UNITS = frozenset({"second", "minute", "hour", "day", "week", "month", "year"})
# One letter written for a function word in chat and text messages ("how many drinks r in a
# bottle", "a road bike w 28mm tires"): the common SMS abbreviations. Read so only where the
# other question spells the word out: "r" is also a language and "w" a unit of power.
TEXTSPEAK = {"r": "are", "u": "you", "w": "with", "n": "and", "y": "why", "b": "be"}

LANGUAGES = words(
    """
    english french spanish german italian portuguese chinese mandarin cantonese japanese
    korean russian arabic hindi urdu bengali punjabi dutch swedish norwegian danish finnish
    polish czech greek turkish hebrew latin vietnamese thai indonesian malay tagalog filipino
    swahili persian farsi ukrainian romanian hungarian irish welsh catalan basque esperanto
    python javascript typescript java kotlin swift rust golang ruby php perl haskell scala
    c++ c# f# sql html css bash powershell matlab lua dart elixir erlang julia fortran cobol
    assembly
    """
)
# The countries of ISO 3166-1 (their short English names, the distinctive words of the
# multi-word ones: "zealand" for New Zealand) and the usual short forms. A place is a slot: two
# countries are never synonyms, however close their vectors sit (the question's capitals are
# gone once it is normalized, so a name is recognized by this general list).
PLACES = words(
    """
    afghanistan albania algeria andorra angola antigua barbuda argentina armenia australia
    austria azerbaijan bahamas bahrain bangladesh barbados belarus belgium belize benin bhutan
    bolivia bosnia herzegovina botswana brazil brunei bulgaria burkina faso burundi cambodia
    cameroon canada chad chile china colombia comoros congo croatia cuba cyprus czechia
    denmark djibouti dominica ecuador egypt salvador eritrea estonia eswatini ethiopia fiji
    finland france gabon gambia georgia germany ghana greece grenada guatemala guinea bissau
    guyana haiti honduras hungary iceland india indonesia iran iraq ireland israel italy
    jamaica japan jordan kazakhstan kenya kiribati korea kosovo kuwait kyrgyzstan laos latvia
    lebanon lesotho liberia libya liechtenstein lithuania luxembourg madagascar malawi
    malaysia maldives mali malta marshall mauritania mauritius mexico micronesia moldova
    monaco mongolia montenegro morocco mozambique myanmar namibia nauru nepal netherlands
    holland zealand nicaragua niger nigeria macedonia norway oman pakistan palau palestine
    panama papua paraguay peru philippines poland portugal qatar romania russia rwanda kitts
    nevis lucia grenadines samoa marino sao tome principe saudi senegal serbia seychelles
    sierra leone singapore slovakia slovenia solomon somalia spain sri lanka sudan suriname
    sweden switzerland syria taiwan tajikistan tanzania thailand timor togo tonga trinidad
    tobago tunisia turkey turkmenistan tuvalu uganda ukraine emirates uae uk britain england
    scotland wales usa america uruguay uzbekistan vanuatu vatican venezuela vietnam yemen
    zambia zimbabwe europe asia africa oceania antarctica
    """
) | words(
    # The states of ISO 3166-2:US and the provinces and territories of ISO 3166-2:CA (the
    # distinctive words of the multi-word ones: "york" for New York, "dakota").
    """
    alabama alaska arizona arkansas california colorado connecticut delaware florida hawaii
    idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts
    michigan minnesota mississippi missouri montana nebraska nevada hampshire jersey york
    carolina dakota ohio oklahoma oregon pennsylvania rhode tennessee texas utah vermont
    virginia washington wisconsin wyoming alberta columbia manitoba brunswick newfoundland
    labrador scotia ontario quebec saskatchewan yukon nunavut
    """
)
AUDIENCES = words(
    """
    kid kids child children toddler toddlers baby babies infant infants newborn newborns
    teen teens teenager teenagers adolescent adolescents beginner beginners novice novices
    newbie newbies noob noobs expert experts
    professional professionals student students adult adults senior seniors elderly dummy
    dummies layman laymen layperson pregnant dog dogs puppy puppies cat cats kitten kittens
    men women man woman boy boys girl girls parent parents grownup grownups grown-ups pupil
    pupils
    """
)
TIMES = words(
    """
    today tomorrow yesterday tonight now currently current this next last week weekend
    weekends month year morning afternoon evening night midnight noon monday tuesday wednesday
    thursday friday saturday sunday january february march april may june july august
    september october november december spring summer autumn fall winter ago recent recently
    latest future past century decade daily weekly monthly yearly annual annually hourly
    before after early late
    """
)
# Gradable and directional opposites (dimension, position, direction, state, time, order): two
# such words are never a loose rephrasing of each other (east/west, long-term/short-term).
POLAR = words(
    """
    long short high low big small large little wide narrow thick thin heavy light hot cold warm
    cool old new young early late fast slow strong weak hard soft easy difficult good bad right
    left east west north south eastbound westbound northbound southbound up down in out on off
    open closed full empty first last front back top bottom inside outside upper lower inner
    outer min max minimum maximum start end entry exit arrival departure incoming outgoing
    inbound outbound buy sell push pull give take send receive lend borrow pro pros con cons
    """
)
# Polar words of one pole of one dimension, and verbs of one direction of change: two of a
# group say the same ("how big" / "how large", "hard" / "difficult", "lower" / "reduce my
# cholesterol"), where two polar words are otherwise never synonyms.
POLES = tuple(
    words(line)
    for line in """
    big large huge
    small little tiny
    hard difficult tough
    fast quick rapid speedy
    high tall
    start begin
    end finish
    lower reduce decrease
    raise increase
    """.strip().splitlines()
)
# Verbs that carry little meaning of their own before a noun or another verb (English grammar's
# light verbs, and the aspectual start/begin/keep: "why does my dog keep eating grass"; "go" as in
# "has gone bad").
LIGHT_VERBS = words("take make do have get give start begin keep keeps go goes gone went")
# The two sides of an exchange or a relation, each side with its forms: a word of one side said
# where the other question says one of the other is a change of who is meant, never a rewording
# ("the buyer ... when buying" / "the seller ... when selling").
CONVERSES: tuple[tuple[frozenset[str], frozenset[str]], ...] = tuple(
    (words(one), words(other))
    for one, other in (
        line.split("/")
        for line in """
        buy buyer purchaser purchase / sell seller vendor sale
        lend lender / borrow borrower
        landlord / tenant
        employer / employee
        import importer / export exporter
        consume consumer / produce producer
        send sender give giver / receive receiver recipient
        pay payer / payee
        debtor / creditor
        win winner / lose loser
        host / guest
        upload / download
        supply supplier / demand
        teach teacher / learn learner student
        """.strip().splitlines()
    )
)
COMPARATIVES = words(
    """
    more most less least fewer fewest better best worse worst bigger biggest smaller
    smallest larger largest higher highest lower lowest faster fastest slower slowest cheaper
    cheapest healthier healthiest safer safest easier easiest harder hardest longer longest
    shorter shortest stronger strongest weaker weakest older oldest newer newest younger
    youngest richer richest hotter hottest colder coldest warmer warmest heavier heaviest
    lighter lightest quicker quickest greater greatest deeper deepest taller tallest
    closer closest farther farthest further furthest
    """
)


# Phrase rewrites applied to the normalized text before tokenizing (regex -> replacement).
def _phrasal(verb: str, particle: str, said: str, after: str = "") -> tuple[tuple[str, str], ...]:
    """A phrasal verb said as one verb, with its object after the particle or between the two
    ("hook up the printer", "hook the printer up"): `said`, then `after` behind the object."""
    return (
        (rf"\b{verb}(?:ing)? {particle}\b", f"{said} {after}".strip()),
        (rf"\b{verb}(?:ing)? ((?:\w+ ){{1,3}}){particle}\b", rf"{said} \1{after}"),
    )


PHRASES: tuple[tuple[str, str], ...] = (
    (r"\bhow come\b", "why"),
    # permission said with a participle: "is a student allowed to work" asks "can a student work"
    (r"\b(?:allowed|permitted) to\b", "can"),
    # a yes/no question's tag ("is 91 prime or not", "... or nah") asks nothing more
    (r",? or (?:not|nah|no|nope)(?=[?.!]|$)", ""),
    # "what causes / makes / leads to X" asks why X happens
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
    (r"\bwhat(?:'s| is| are| was| were)? the (?:main |usual |common )?causes? of\b", "why"),
    (r"\bwhat(?:'s| is| are| was)? the reasons?\b(?: for| why| that)?", "why"),
    (r"\bwhat(?:'s| is| was)? the purpose of\b", "why"),
    (r"\b(?:in |at |on |during )?(?:what|which) (?:year|century|decade|date)\b", "when"),
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
    (r"\bwhat (?:does|do) ((?:\w+ ){0,5}?[\w']+) weigh\b", r"how heavy is \1"),
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
        r"\bhow (?:is|are|does|do) (?!(?:they|these|those|it|both|the two)\b)((?:\w+ ){0,5}?\w+)"
        r" (?:different from|differ from)(?! (?:each other|one another)\b)",
        r"what is the difference between \1 and",
    ),
    # asking whether there is a way to do something asks how to do it
    (r"\bis there (?:a|any) (?:way|method) (?:for me |i can )?to\b", "how can i"),
    # asking whether something is acceptable asks for permission, as "can i" does
    (r"\bis it (?:ok|okay|alright|all right|acceptable) (?:for me |if i )?to\b", "can i"),
    # "why won't it start" is a refusal, now: "why doesn't it start"
    (r"\bwhy won't\b", "why doesn't"),
    # where a thing is located is where it is
    (r"\b(where (?:is|are|was|were)\b[^?.!]*?) (?:located|situated)\b", r"\1"),
    # what a thing is considered (regarded as, deemed) is what it is asked to be: "is a tomato
    # considered a fruit" asks whether it is one
    (r"\b((?:is|are|was|were)\b[^?.!]*?) (?:considered|regarded as|deemed)\b", r"\1"),
    # keeping something in the fridge is refrigerating it
    (
        r"\b(?:kept|keep|keeping|stored|store|storing) in (?:the|a) (?:fridge|refrigerator)\b",
        "refrigerated",
    ),
    # how to tell whether something holds asks its signs, and the other way round
    (
        r"\bhow (?:(?:can|do|would|will|could) (?:i|you|we|one) |to )(?:tell|know|find out)"
        r" (?:if|whether)\b",
        "how do i know if",
    ),
    (
        r"\bwhat are (?:the |some |common )?(?:signs|symptoms|indications|indicators)"
        r" (?:that|of)\b",
        "how do i know if",
    ),
    (r"^(?:the |some |common )?(?:signs|symptoms|indications) that\b", "how do i know if"),
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
    (r"\bwhat age\b", "how old"),
    # hours of something asked as an amount ("how many hours of sleep" is "how much sleep")
    (r"\bhow many hours of\b", "how much"),
    # a count of time units is a duration ("how many days until" = "how long until")
    (r"\bhow many (?:seconds|minutes|hours|days|weeks|months|years)\b", "how long"),
    (r"\bat what age\b", "how old"),
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
    (r"\bwhat(?:'s| is) (?:the deal|the story|up) with\b", "what is"),
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
    # "substitute X for Y" is to use X instead of Y
    (r"\bsubstitut(?:e|ing) ((?:[\w'-]+ ){1,4}?)for\b", r"use \1instead of"),
    # to find (work out, compute) a quantity of mathematics is to calculate it
    (
        r"\b(?:find|finding|work out|working out|compute|computing)"
        r" (?=(?:the |my |a |an |its |their |your )?(?:area|volume|perimeter|circumference"
        r"|average|mean|median|derivative|integral|slope|square root|percentage|probability"
        r"|standard deviation|variance|compound interest|simple interest)\b)",
        "calculate ",
    ),
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
    # the early signs (symptoms) of something are its first signs
    (r"\bearly (?=(?:warning )?(?:signs|symptoms|indications|indicators)\b)", "first "),
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
    # quick and fast are one measure ("the quickest way" is "the fastest way")
    (r"\bquickest\b", "fastest"),
    (r"\bquicker\b", "faster"),
    # a manner said as an adverb at the end asks for the way that has it: "how do i peel
    # garlic easily" asks "the easiest way to peel garlic"
    (r"\beasily(?=[?.!]*$)", "the easiest way"),
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
    (r"(?<!\bin )(?<!\bof )(?<!\bfor )(?<!\bone )\b(?:per|each|every|a) day\b", "daily"),
    (r"(?<!\bin )(?<!\bof )(?<!\bfor )(?<!\bone )\b(?:per|each|every|a) week\b", "weekly"),
    (r"(?<!\bin )(?<!\bof )(?<!\bfor )(?<!\bone )\b(?:per|each|every|a) month\b", "monthly"),
    (r"(?<!\bin )(?<!\bof )(?<!\bfor )(?<!\bone )\b(?:per|each|every|a) year\b", "yearly"),
    (r"(?<!\bin )(?<!\bof )(?<!\bfor )(?<!\bone )\b(?:per|each|every|a) night\b", "nightly"),
    # "on a daily basis" is daily
    (r"\bon an? (daily|nightly|weekly|monthly|yearly|annual|regular) basis\b", r"\1"),
    (
        r"\bwhat(?:'s| is| are)? (?:a |the |some )?"
        r"(?:good |best |proper |right |correct |recommended |usual |standard |)"
        r"(?:ways?|methods?|steps|procedure|process) (?:to|for|of)\b",
        "how to",
    ),
    (
        r"\b(?:the )?(?:best|proper|right|correct|recommended|most effective|smartest) way"
        r" (?:to|for|of)\b",
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
    (r"\b(?:go(?:ing)?|get(?:ting)?) to sleep\b|\bfall(?:s|ing)? asleep\b", "sleep"),
    (r"\bsleep better\b", "sleep well"),
    (r"\bover the counter\b", "otc"),
    (r"\bpros and cons\b", "advantages disadvantages"),
    (r"\bbenefits and drawbacks\b", "advantages disadvantages"),
    (r"\bupside down\b", "upsidedown"),
)
PHRASE_RES = tuple((re.compile(p), r) for p, r in PHRASES)
FREE_RE = re.compile(r"\b(" + "|".join(sorted(NEG_FREE_OBJECTS)) + r")s? free\b")

IRREGULAR: dict[str, str] = {
    "made": "make",
    "ran": "run",
    "ate": "eat",
    "eaten": "eat",
    "went": "go",
    "gone": "go",
    "got": "get",
    "gotten": "get",
    "bought": "buy",
    "written": "write",
    "wrote": "write",
    "took": "take",
    "taken": "take",
    "children": "child",
    # one stem per audience said several ways (kid/child, teenager/teen, novice/beginner)
    "kid": "child",
    "kids": "child",
    "teenager": "teen",
    "teenagers": "teen",
    "adolescent": "teen",
    "adolescents": "teen",
    "novice": "beginner",
    "novices": "beginner",
    "newbie": "beginner",
    "newbies": "beginner",
    "noob": "beginner",
    "noobs": "beginner",
    "infant": "baby",
    "infants": "baby",
    "elderly": "senior",
    "grownup": "adult",
    "grownups": "adult",
    "grown-ups": "adult",
    "pupil": "student",
    "pupils": "student",
    "men": "man",
    "women": "woman",
    "feet": "foot",
    "teeth": "tooth",
    "mice": "mouse",
    "geese": "goose",
    "knew": "know",
    "known": "know",
    "grew": "grow",
    "grown": "grow",
    "fell": "fall",
    "fallen": "fall",
    "froze": "freeze",
    "frozen": "freeze",
    "saw": "see",
    "seen": "see",
    "gave": "give",
    "given": "give",
    "began": "begin",
    "begun": "begin",
    "broke": "break",
    "broken": "break",
    "chose": "choose",
    "chosen": "choose",
    "drove": "drive",
    "driven": "drive",
    "flew": "fly",
    "flown": "fly",
    "forgot": "forget",
    "forgotten": "forget",
    "hid": "hide",
    "hidden": "hide",
    "kept": "keep",
    "lost": "lose",
    "paid": "pay",
    "said": "say",
    "sent": "send",
    "slept": "sleep",
    "sold": "sell",
    "spent": "spend",
    "stole": "steal",
    "stolen": "steal",
    "taught": "teach",
    "thought": "think",
    "threw": "throw",
    "thrown": "throw",
    "told": "tell",
    "understood": "understand",
    "woke": "wake",
    "woken": "wake",
    "won": "win",
    "wore": "wear",
    "worn": "wear",
    "built": "build",
    "caught": "catch",
    "fed": "feed",
    "felt": "feel",
    "fought": "fight",
    "found": "find",
    "held": "hold",
    "meant": "mean",
    "met": "meet",
    "rode": "ride",
    "rose": "rise",
    "risen": "rise",
    "sang": "sing",
    "sung": "sing",
    "spoke": "speak",
    "spoken": "speak",
    "stood": "stand",
    "swam": "swim",
    "tore": "tear",
    "torn": "tear",
    "brought": "bring",
    "sank": "sink",
    "sunk": "sink",
    "drank": "drink",
    "drunk": "drink",
    "shrank": "shrink",
    "shrunk": "shrink",
    "swung": "swing",
    "stuck": "stick",
    "struck": "strike",
    "rang": "ring",
    "dug": "dig",
    "hung": "hang",
    "shot": "shoot",
    "bit": "bite",
    "bitten": "bite",
    "blew": "blow",
    "blown": "blow",
    "drew": "draw",
    "drawn": "draw",
    "ground": "ground",
    "wound": "wound",
    "using": "use",
    "used": "use",
    "uses": "use",
    "leaves": "leaf",
    "knives": "knife",
    "wives": "wife",
    "lives": "life",
    "loaves": "loaf",
    "halves": "half",
    "shelves": "shelf",
    "wolves": "wolf",
    "people": "person",
    "cacti": "cactus",
    "fungi": "fungus",
    "data": "data",
    "news": "news",
    "series": "series",
    "species": "species",
    "fries": "fry",
    "dies": "die",
    "died": "die",
    "dying": "die",
    "lying": "lie",
    "lies": "lie",
    "tying": "tie",
    "ties": "tie",
    "does": "do",
    "goes": "go",
    "has": "have",
    "having": "have",
    "better": "better",
    "best": "best",
}
DERIVATIONAL = words(
    """
    ion ions ation ations ition ment ments ness ity ance ence ing ed s es able ible ize ise
    ization isation ly
    """
) | {""}


def stem(word: str) -> str:
    if word in IRREGULAR:
        base = IRREGULAR[word]
        # an irregular form has the stem of its base form ("took", "taken" and "take" one
        # stem); a word kept as it is ("news", "series") is its own stem
        return base if base == word else stem(base)
    w = word
    if w.endswith("'s"):
        w = w[:-2]
    w = w.rstrip("'")
    if len(w) <= 3:
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("s") and not w.endswith(("ss", "us", "is", "ys", "os")):
        w = w[:-1]
    # a doubled consonant before -ing/-ed is undone (running -> run), never in a three-letter
    # word (adding -> add, egged -> egg)
    if w.endswith("ing") and len(w) > 5:
        w = w[:-3]
        if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
            w = w[:-1]
    elif w.endswith("ied") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("ed") and len(w) > 4 and not w.endswith("eed"):
        w = w[:-2]
        if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
            w = w[:-1]
    elif w.endswith("ly") and len(w) >= 6:
        w = w[:-2]
        if w.endswith("i"):
            w = w[:-1] + "y"
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    return w


CONVERT_VERBS = frozenset(stem(w) for w in ("convert", "conversion", "change", "turn", "transform"))
TRANSLATE_VERBS = frozenset(
    stem(w) for w in ("translate", "translation", "say", "write", "express")
)

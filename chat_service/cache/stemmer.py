"""The cache verifier's stemmer: a light suffix stripper (plural, -ing, -ed, -ly, a final e),
the irregular forms that share their base's stem (English irregular verbs and plurals, and one
stem per audience said several ways), and the derivational suffixes wordmatch.py reads as one
word's forms. General English morphology, no word taken from an evaluation pair."""

from __future__ import annotations

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
    "macos": "mac",
    "osx": "mac",
    "grownups": "adult",
    "pupil": "student",
    "pupils": "student",
    "pregnancy": "pregnant",
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
    "came": "come",
    "became": "become",
    "swum": "swim",
    "heard": "hear",
    "ridden": "ride",
    "shook": "shake",
    "shaken": "shake",
    "spun": "spin",
    "swore": "swear",
    "wove": "weave",
    "woven": "weave",
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
_SUFFIXES = """
    ion ions ation ations ition ment ments ness ity ance ence ing ed s es able ible ize ise
    ization isation ly
"""
DERIVATIONAL = frozenset(_SUFFIXES.split()) | {""}


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

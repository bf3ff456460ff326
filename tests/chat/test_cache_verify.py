"""The semantic cache's question normalization and same-question verifier: one clear example
per rule (pure Python, no model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chat_service.cache.normalize import normalize_question
from chat_service.cache.spelling import corrected
from chat_service.cache.verify import (
    DEFAULT_THRESHOLD,
    LOOSE_WORD_MIN,
    REWORDED_MIN,
    Verdict,
    verify_same_question,
    words_to_compare,
)

DATA = Path(__file__).resolve().parents[2] / "bench" / "cache_eval"
CLOSE = 0.95  # the similarity the checks below assume: questions this close as wholes


# ---------------------------------------------------------------------------------- normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  How   do I boil an EGG?  ", "how do i boil an egg"),
        ("Hey, can you tell me how to boil an egg, please?", "how to boil an egg"),
        ("Hi there! What is the capital of France?? Thanks!", "what is the capital of france"),
        ("I was wondering: how do I clear my cache?", "how do i clear my cache"),
        ("Could you explain recursion?", "explain recursion"),
        ("hwo do i recieve money", "how do i receive money"),
        (
            "whats the diffrence betwen tea and coffee",
            "what's the difference between tea and coffee",
        ),
        ("What\u2019s \uff11\uff12 \u00d7 3?", "what's 12 \u00d7 3"),  # unicode NFKC, curly quote
        ("how 2 tie a tie", "how to tie a tie"),
        ("how the heck do i get a refund", "how do i get a refund"),
        ("is it safe to swim at nite", "is it safe to swim at night"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize_question(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Can you freeze cheese?",  # "can you" asks whether one can: kept
        "hi-fi speakers",  # "hi" is not a greeting here
        "What is 12 + 20?",
        "Why can't I sleep?",
    ],
)
def test_normalize_keeps_meaning(text: str) -> None:
    normalized = normalize_question(text)
    for word in text.casefold().rstrip("?").split():
        assert word in normalized
    assert normalize_question(normalized) == normalized  # idempotent


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("scrambeld", "scrambled"),  # two letters swapped
        ("salmom", "salmon"),  # one changed
        ("dowload", "download"),  # one missing
        ("quinoa", "quinoa"),  # unknown, but its only neighbour ("quinol") is rare
        ("canda", "canada"),  # a letter left out (canada), before one changed (candy)
        ("leter", "leter"),  # a letter left out of two common words (letter, lester)
        ("fuacet", "faucet"),  # two letters swapped (faucet), before one left in (facet)
        ("pyton", "python"),  # a letter left out (python), before one changed (pylon)
        ("prev", "prev"),  # four letters: an abbreviation as often as a typo
        ("tkae", "take"),  # four letters, two swapped into a very common word
        ("util", "util"),  # four letters: no letter inserted ("until")
        ("repos", "repos"),  # a word cut at its end is as often a clipping (not "repose")
        ("browsing", "browsing"),  # a known word
        ("vids", "vids"),  # too short to tell
        ("labtop", "laptop"),  # a sound-alike consonant
        ("ibuprofin", "ibuprofen"),  # a vowel for a vowel
        ("postgres", "postgres"),  # g for u: neither a neighbour nor a sound-alike
    ],
)
def test_a_typo_becomes_the_one_common_word_it_can_be(word: str, expected: str) -> None:
    assert corrected(word) == expected
    assert normalize_question(f"how to make {word} eggs") == f"how to make {expected} eggs"


def test_normalize_never_returns_empty() -> None:
    assert normalize_question("Thanks!") == "thanks!"


# ------------------------------------------------------------------------------------- verify


def same(a: str, b: str) -> Verdict:
    verdict = verify_same_question(a, b, CLOSE)
    assert verdict.same, (a, b, verdict.reason)
    return verdict


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("How do I boil an egg?", "How do I boil an egg?"),
        ("hwo do i boil an egg", "How do I boil an egg?"),  # typo list
        ("how do i make chiken soup", "How do I make chicken soup?"),
        ("how to make guacamloe", "How to make guacamole?"),  # one-typo tolerance
        ("How do I reverse a list in Python?", "In Python, how can I reverse a list?"),  # order
        ("What's the best way to clean a cast iron pan?", "How do I clean a cast iron pan?"),
        ("Please tell me how to make a paper airplane.", "How do I make a paper airplane?"),
        ("How long to roast a twelve-pound turkey?", "How long to roast a 12 lb turkey?"),
        ("How many calories does one egg have?", "How many calories are in an egg?"),
        ("What year did World War 2 end?", "When did World War II end?"),
        ("What is 20% of 80?", "What is twenty percent of eighty?"),
        ("gluten-free pancake recipe", "recipe for pancakes without gluten"),
        ("How do I get from Paris to Rome?", "How do I get to Rome from Paris?"),
        ("Translate 'good morning' into French.", "How do you say 'good morning' in French?"),
        ("How do I convert 5 kilometers to miles?", "What is 5 km in miles?"),
        ("How tall is Mount Everest?", "What is the height of Mount Everest?"),
        ("How do I stop my dog from barking?", "How can I prevent my dog from barking?"),
        (
            "When I land at Narita, where do I exchange my pass?",
            "Where do I exchange my pass at Narita?",
        ),
        ("What made the Roman Empire fall?", "Why did the Roman Empire fall?"),
        ("What is the main cause of acne?", "What mainly causes acne?"),
        # two things side by side, in either order ("than" keeps its direction: below)
        ("Python vs Java", "Java vs Python"),
        ("mean vs median", "What's the difference between the mean and the median?"),
        ("Is VOO or VTI better for an investor?", "For an investor, is VTI or VOO better?"),
    ],
)
def test_same_question(a: str, b: str) -> None:
    assert same(a, b).reason == "ok"


@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [
        # numbers, number words, ordinals, years, arithmetic order
        ("How long to roast a 12-pound turkey?", "How long to roast a 20-pound turkey?", "numbers"),
        (
            "How long to roast a twelve pound turkey?",
            "How long to roast a 20 lb turkey?",
            "numbers",
        ),
        ("Who won the World Cup in 2014?", "Who won the World Cup in 2018?", "numbers"),
        ("Who was the first man on the moon?", "Who was the second man on the moon?", "numbers"),
        ("What is 10 divided by 2?", "What is 2 divided by 10?", "numbers"),
        ("How many calories are in 2 eggs?", "How many calories are in an egg?", "numbers"),
        # negation
        ("What to do with a fever?", "What not to do with a fever?", "negation"),
        ("Why does my code compile?", "Why doesn't my code compile?", "negation"),
        ("How to make pancakes with eggs?", "How to make pancakes without eggs?", "negation"),
        ("What foods contain gluten?", "What foods are gluten-free?", "negation"),
        # direction
        ("Convert kilograms to pounds", "Convert pounds to kilograms", "direction"),
        (
            "Translate it from English to Spanish",
            "Translate it from Spanish to English",
            "direction",
        ),
        (
            "How do I get from the airport to downtown?",
            "How do I get from downtown to the airport?",
            "direction",
        ),
        ("Is coffee healthier than tea?", "Is tea healthier than coffee?", "direction"),
        (
            "Can I use baking soda instead of baking powder?",
            "Can I use baking powder instead of baking soda?",
            "direction",
        ),
        ("Did Rome conquer Carthage?", "Did Carthage conquer Rome?", "direction"),
        # requested language
        ("How do you say hello in French?", "How do you say hello in Spanish?", "language"),
        ("How do I reverse a list in Python?", "How do I reverse a list in Ruby?", "language"),
        # audience
        ("Explain photosynthesis for kids", "Explain photosynthesis", "audience"),
        ("How much sleep do toddlers need?", "How much sleep do teenagers need?", "audience"),
        # units
        ("How many grams are in a cup?", "How many ounces are in a cup?", "units"),
        # time qualifiers and tense
        ("What's the weather in Paris today?", "What's the weather in Paris tomorrow?", "time"),
        ("Who is the CEO of Twitter?", "Who was the CEO of Twitter?", "tense"),
        ("Who won the World Cup?", "Who will win the World Cup?", "tense"),
        # comparatives / superlatives
        ("What is the largest ocean?", "What is the smallest ocean?", "comparison"),
        # quoted terms and code identifiers
        ("What does `git rebase` do?", "What does `git merge` do?", "quoted"),
        ("How do I use os.path.join?", "How do I use os.path.split?", "quoted"),
        # kind of question
        ("Why is the sky blue?", "When is the sky blue?", "question type"),
        ("Can I freeze cooked rice?", "How do I freeze cooked rice?", "question type"),
        # named entities and plain content
        ("What is the capital of Australia?", "What is the capital of Austria?", "entities"),
        ("How do I make bread?", "How do I make bread in a bread machine?", "content"),
        ("How do I turn on dark mode?", "How do I turn off dark mode?", "content"),
        ("What is 5 + 3?", "What is 5 - 3?", "content"),
        ("How do I solve x^2 - 5x + 6 = 0?", "How do I solve x^2 + 5x + 6 = 0?", "content"),
        # arguments that trade sides around a relation word or a number
        (
            "How many euros will I get for 500 dollars?",
            "How many dollars will I get for 500 euros?",
            "direction",
        ),
        ("How many kilometers is 10 miles?", "How many miles is 10 kilometers?", "direction"),
        (
            "If 3 workers build a wall in 12 days, how long do 4 workers take?",
            "If 4 workers build a wall in 12 days, how long do 3 workers take?",
            "direction",
        ),
        (
            "How do I switch from the monthly plan to the annual plan?",
            "How do I switch from the annual plan to the monthly plan?",
            "direction",
        ),
        ("Why is the ocean salty?", "How salty is the ocean?", "question type"),
        # one leftover word is loose only when it is plain: never a polar word or a compound
        ("How do I reduce jet lag flying east?", "How do I reduce jet lag flying west?", "content"),
        ("What time is hotel check-in?", "What time is hotel check-out?", "content"),
        ("How do I change a tire?", "How do I change a bike tire?", "content"),
    ],
)
def test_different_question(a: str, b: str, reason: str) -> None:
    verdict = verify_same_question(a, b, CLOSE)
    assert not verdict.same, (a, b)
    assert verdict.reason.startswith(reason), (a, b, verdict.reason)
    assert not verify_same_question(b, a, CLOSE).same  # symmetric


def test_capitalized_entity_reason() -> None:
    verdict = verify_same_question("Who painted the Mona Lisa?", "Who painted The Starry Night?")
    assert verdict == Verdict(False, "entities differ")


def test_typo_tolerance_never_merges_two_real_words() -> None:
    assert not verify_same_question("how do i cook a steak", "how do i cook a snack", CLOSE).same
    assert not verify_same_question("is a desert hot", "is a dessert hot", CLOSE).same


def vectors(*groups: tuple[str, ...]) -> dict[str, list[float]]:
    """A test double for the embedding model's word vectors: the words of a group share one
    unit vector, different groups are orthogonal."""
    size = len(groups)
    return {
        w: [1.0 if k == i else 0.0 for k in range(size)] for i, g in enumerate(groups) for w in g
    }


def test_synonyms_come_from_word_vectors() -> None:
    a, b = "how do i fix a leaky faucet", "how do i repair a leaky faucet"
    assert words_to_compare(a, b) == {"fix", "repair"}
    close = vectors(("fix", "repair"))
    assert verify_same_question(a, b, 0.8, close).same
    apart = vectors(("fix",), ("repair",))
    assert not verify_same_question(a, b, 0.8, apart).same
    # opposites never count as synonyms, however close their vectors
    c, d = "how do i enable dark mode", "how do i disable dark mode"
    assert not verify_same_question(c, d, 0.99, vectors(("enable", "disable"))).same


def test_a_loose_word_needs_questions_close_as_wholes() -> None:
    # (a word heading a phrase, "... at work", is refused whatever the similarity: it places or
    # limits what is asked; see the loose-word tests)
    a, b = "how do i center a div in css", "how do i neatly center a div in css"
    assert not verify_same_question(a, b, LOOSE_WORD_MIN - 0.01).same
    assert verify_same_question(a, b, LOOSE_WORD_MIN).same


def test_a_statement_beside_the_question_is_context() -> None:
    q = "when is the best time to see the northern lights in iceland"
    assert same(q, "we're planning our honeymoon. " + q)
    assert same("is it safe to reheat rice", "is it safe to reheat rice? heard it makes you sick")
    assert same("what is 15% of 80", "sorry if this is a dumb question, but what is 15% of 80")
    # what a statement names is still compared: a number, a unit, a name, an audience
    base = "a train travels 120 km in 1.5 hours. what is its average speed"
    assert not verify_same_question(base, base.replace("km", "miles"), CLOSE).same
    assert not verify_same_question(q, "i'm a beginner. " + q, CLOSE).same
    assert not verify_same_question(q, "We're in Norway. " + q, CLOSE).same


def test_the_askers_situation_before_a_comma_or_colon_is_context() -> None:
    q = "how do i get red wine out of a carpet"
    assert same(q, "hosting a party tonight and i'm panicking, " + q)
    assert same(q, "sorry, my landlord is away and we're stuck: " + q)
    # a condition is part of what is asked; so is a statement holding a number
    c = "can i deduct a home office"
    assert not verify_same_question(c, "if i'm self-employed, " + c, CLOSE).same
    s = "how much should i save each month"
    assert not verify_same_question(s, "i'm 35 and single, " + s, CLOSE).same


def test_a_unit_of_time_in_a_statement_says_when() -> None:
    q = "how much should a puppy eat"
    assert same(q, "we brought home a puppy last week. " + q)
    # another unit in a statement is still compared
    assert not verify_same_question(q, "we buy its food by the kilogram. " + q, CLOSE).same


def test_a_fronted_phrase_reads_as_if_it_came_last() -> None:
    assert same(
        "what time is it in tokyo when it is noon in paris",
        "when it is noon in paris, what time is it in tokyo",
    )
    assert same("how do i reverse a list in python", "in python, how do i reverse a list")
    assert same(
        "how long should a cast iron pan cool before washing it",
        "before washing a cast iron pan, how long should it cool",
    )
    a = "what time is it in tokyo when it is noon in paris"
    b = "when it is noon in tokyo, what time is it in paris"
    assert not verify_same_question(a, b, CLOSE).same


def test_one_stem_per_audience_and_per_phrasing() -> None:
    assert same("fun science projects for kids", "fun science projects for children")
    assert not verify_same_question(
        "fun science projects for kids", "fun science projects for teenagers", CLOSE
    ).same
    assert same("why is my dog scratching so much", "what is causing my dog to scratch so much")
    assert same("how far is the moon from earth in miles", "how many miles is the moon from earth")
    assert same("how many km is 10 miles", "convert 10 miles to km")  # a conversion stays one


def test_a_word_written_as_two_is_the_same_word() -> None:
    assert same("how do i setup a vpn on my router", "how do i set up a vpn on my router")
    assert same("what helps with heartburn at night", "what helps with heart burn at night")


def test_the_two_sides_of_an_exchange_are_never_synonyms() -> None:
    a = "what taxes does the lender pay on a personal loan"
    b = "what taxes does the borrower pay on a personal loan"
    # even with vectors that call them synonyms; nor is their exchange a rewording
    assert not verify_same_question(a, b, CLOSE, vectors(("lender", "borrower"))).same
    assert not verify_same_question(
        "what closing costs does the buyer pay when buying a condo",
        "what closing costs does the seller pay when selling a condo",
        CLOSE,
    ).same


def test_an_item_joined_by_and_widens_the_question() -> None:
    a = "how does caffeine affect sleep"
    assert not verify_same_question(a, a + " and anxiety", CLOSE).same
    assert not verify_same_question(a, "how does caffeine affect anxiety or sleep", CLOSE).same
    assert not verify_same_question(
        "what is the normal water pressure for a house",
        "what is the normal water pressure for a house on a private well",
        CLOSE,
    ).same  # "well" is a word, not a filler ("as well" is "too")


def test_two_things_trading_places_around_after_or_before() -> None:
    a = "does rotating oats after clover improve oat harvests"
    b = "does rotating clover after oats improve clover harvests"
    assert verify_same_question(a, b, CLOSE) == Verdict(False, "direction differs")
    # a phrase moved across it in one direction only is the same question
    assert same(
        "how long after eating should i wait to swim", "how long should i wait to swim after eating"
    )


def test_a_statement_with_a_number_is_the_problem() -> None:
    a = "a pizza is 14 inches across. what's its area"
    assert not verify_same_question(a, "a pizza has a 14 inch radius. what's its area", CLOSE).same


def test_two_countries_are_never_synonyms() -> None:
    # the question is normalized (lower case) before it is compared: no capital marks a name
    a, b = "do i need a visa for italy", "do i need a visa for germany"
    close = vectors(("italy", "germany"))
    assert verify_same_question(a, b, CLOSE, close) == Verdict(False, "entities differ")
    assert not verify_same_question(a, a + " or austria", CLOSE).same


def test_two_phrases_exchanged_around_a_word_change_the_roles() -> None:
    a, b = "does best buy price match amazon", "does amazon price match best buy"
    assert verify_same_question(a, b, CLOSE) == Verdict(False, "direction differs")
    c, d = (
        "why is my wifi slow on my laptop but fast on my phone",
        ("why is my wifi slow on my phone but fast on my laptop"),
    )
    assert not verify_same_question(c, d, CLOSE).same
    # a symmetric word between them orders nothing; a clause moved to the front has no middle
    assert same("should i use the 2.4 ghz or 5 ghz band", "should i use the 5 ghz or 2.4 ghz band")
    assert same(
        "how long should a steak rest after cooking", "after cooking, how long should a steak rest"
    )


def test_a_tag_asks_nothing_more() -> None:
    assert same("is 91 a prime number", "is 91 a prime number or not")
    assert same("is 91 a prime number", "is 91 a prime number or nah")
    assert verify_same_question("is 91 a prime number", "is 91 not a prime number", CLOSE) == (
        Verdict(False, "negation differs")
    )


def test_a_count_of_time_units_is_a_duration() -> None:
    assert same("how long does a wire transfer take", "how many days does a wire transfer take")


def test_a_rewording_changes_the_sentence_a_near_miss_one_place() -> None:
    a, b = (
        "can tenants paint walls in a rented flat",
        "is a renter allowed to repaint the walls of an apartment",
    )
    assert verify_same_question(a, b, REWORDED_MIN).same
    assert not verify_same_question(a, b, REWORDED_MIN - 0.01).same
    # one thing changed in one place, however close the questions are as wholes
    c, d = (
        "what's the time complexity of binary search",
        "what's the space complexity of binary search",
    )
    assert not verify_same_question(c, d, 0.99).same
    e, f = "how do i write a resume", "how do i write a resume for a teaching job"
    assert not verify_same_question(e, f, 0.99).same
    # the leftover words must be plain: a name or an audience is a slot
    g, h = (
        "can tenants paint walls in a rented flat",
        "are kids allowed to repaint the walls of a flat",
    )
    assert not verify_same_question(g, h, 0.99).same


def test_an_article_does_not_hide_an_exchange() -> None:
    a = "can i apply latex paint over an oil-based primer"
    b = "can i apply oil-based paint over a latex primer"
    assert verify_same_question(a, b, CLOSE) == Verdict(False, "direction differs")


def test_a_letter_for_a_word_the_other_spells_out() -> None:
    same("what board games r good for two players", "what board games are good for two players")
    same("can i run a heat pump w solar panels", "can i run a heat pump with solar panels")
    # "r" the language is no "are"
    a, b = "how do i plot a histogram in r", "how do i plot a histogram in julia"
    assert not verify_same_question(a, b, CLOSE).same


def test_phrasings_of_when_and_how_long() -> None:
    same("how much time does bread dough need to rise", "how long does bread dough need to rise")
    same(
        "at what point should i replace my running shoes", "when should i replace my running shoes"
    )
    same(
        "under what circumstances can a landlord keep a deposit",
        "when can a landlord keep a deposit",
    )
    same("what's the deal with daylight saving time", "what is daylight saving time")


def test_two_slips_in_a_long_word_of_the_dictionary() -> None:
    same("is a permit neccesary for a backyard shed", "is a permit necessary for a backyard shed")
    # two unknown words (names) two letters apart are two names
    a, b = "how do i install the fluxomat plugin", "how do i install the flaxomet plugin"
    assert not verify_same_question(a, b, CLOSE).same


def test_an_ordinal_of_the_askers_situation() -> None:
    same(
        "just bought my first kayak. how do i store it for winter",
        "how do i store a kayak for winter",
    )
    a = "it's my first pregnancy. what should i pack for the hospital"
    b = "it's my second pregnancy. what should i pack for the hospital"
    assert verify_same_question(a, b, CLOSE) == Verdict(False, "numbers differ")


def test_a_request_in_a_statement_is_asked() -> None:
    a = "how do i tune a guitar"
    b = a + "? i'm a music teacher, so give me the detailed version with cents and frequencies"
    assert not verify_same_question(a, b, CLOSE).same
    same(a, a + "? i restrung it this morning and it sounds off")


def test_an_exchange_that_changes_the_verb_or_names_people() -> None:
    a, b = "how does the economy affect voters", "how do voters affect the economy"
    assert verify_same_question(a, b, CLOSE) == Verdict(False, "direction differs")
    a, b = "can people get lice from dogs", "can dogs get lice from people"
    assert verify_same_question(a, b, CLOSE) == Verdict(False, "direction differs")


def test_a_value_the_number_reader_leaves_whole() -> None:
    a, b = "how do i print a 3:2 photo at home", "how do i print a 4:3 photo at home"
    assert verify_same_question(a, b, CLOSE) == Verdict(False, "numbers differ")


def test_so_and_a_verb_that_shapes_the_answer() -> None:
    a = "how do black holes form"
    assert not verify_same_question(
        a, a + "? i've read a lot about it already, so go into the math", CLOSE
    ).same
    same(a, a + "? first time asking here, so bear with me")


def test_items_listed_on_one_side_only_widen_the_question() -> None:
    a = "how do i export the contacts from my work phone to a file"
    b = "how do i export everything from my phones, including contacts, photos and notes, to a file"
    assert not verify_same_question(a, b, 0.85).same


def test_default_threshold_is_a_similarity() -> None:
    assert 0.5 < DEFAULT_THRESHOLD < 1.0


@pytest.mark.parametrize(
    ("name", "fields", "more_kinds", "least", "floor"),
    [
        ("pairs.jsonl", set(), set(), 300, 0.4),
        ("pairs_fresh.jsonl", {"topic", "domain"}, set(), 300, 0.4),
        ("pairs_holdout.jsonl", {"topic", "domain"}, set(), 300, 0.4),
        ("pairs_blind.jsonl", {"topic", "domain"}, set(), 300, 0.4),
        ("pairs_blind2.jsonl", {"topic", "domain"}, set(), 300, 0.4),
        ("pairs_blind3.jsonl", {"topic", "domain", "half"}, set(), 300, 0.4),
        # its writers were also asked for antonyms (increase/decrease, safe/dangerous)
        ("pairs_blind4.jsonl", {"topic", "domain", "half"}, {"opposite"}, 300, 0.4),
        ("pairs_blind5.jsonl", {"topic", "domain"}, {"opposite"}, 300, 0.4),
        # 53 groups of five: those whose cached question another set held were left out
        ("pairs_blind6.jsonl", {"topic"}, set(), 200, 0.4),
        # 97 groups of five, written to be hard, with antonyms among the near-misses
        ("pairs_blind7.jsonl", {"topic"}, {"antonym"}, 300, 0.4),
        # 53 groups of four, written like pairs_blind7.jsonl over twenty other domains
        ("pairs_blind8.jsonl", {"topic"}, {"antonym"}, 200, 0.4),
        # 53 groups of four over other domains, with even counts of each kind
        ("pairs_blind9.jsonl", {"topic"}, set(), 200, 0.4),
        # 51 groups of four, written like pairs_blind9.jsonl over other domains
        ("pairs_blind10.jsonl", {"topic"}, set(), 200, 0.4),
        ("pairs_blind11.jsonl", {"topic"}, set(), 200, 0.4),
        # 300 groups of five, read to find rules (never reported with the held-out sets)
        ("pairs_read7.jsonl", {"topic"}, {"antonym"}, 1200, 0.4),
        # 83 groups of four, written like pairs_blind8.jsonl, read to find rules
        ("pairs_read8.jsonl", {"topic"}, {"antonym"}, 300, 0.4),
        # 52 groups of four, written like pairs_blind9.jsonl, read to find rules
        ("pairs_read9.jsonl", {"topic"}, set(), 200, 0.4),
        # three near-misses to two paraphrases in each group
        ("pairs_adversarial.jsonl", {"topic"}, set(), 300, 0.35),
    ],
)
def test_dataset_is_well_formed(
    name: str, fields: set[str], more_kinds: set[str], least: int, floor: float
) -> None:
    path = DATA / name
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    assert len(rows) >= least
    kinds = {
        "paraphrase": {"rewording", "synonyms", "word_order", "formality", "typos", "politeness"},
        "near_miss": {
            "entity_swap",
            "number",
            "unit",
            "negation",
            "direction",
            "audience",
            "scope",
            "different_question",
            "language",
            *more_kinds,
        },
    }
    for row in rows:
        assert set(row) == {"a", "b", "label", "kind"} | fields
        assert row["kind"] in kinds[row["label"]]
    labels = [row["label"] for row in rows]
    assert floor < labels.count("paraphrase") / len(rows) < 0.6

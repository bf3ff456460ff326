"""The semantic cache's question normalization and same-question verifier: one clear example
per rule (pure Python, no model)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from chat_service.cache.normalize import normalize_question
from chat_service.cache.verify import DEFAULT_THRESHOLD, Verdict, verify_same_question

PAIRS = Path(__file__).resolve().parents[2] / "bench" / "cache_eval" / "pairs.jsonl"


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


def test_normalize_never_returns_empty() -> None:
    assert normalize_question("Thanks!") == "thanks!"


# ------------------------------------------------------------------------------------- verify


def same(a: str, b: str) -> Verdict:
    verdict = verify_same_question(a, b)
    assert verdict.same, (a, b, verdict.reason)
    return verdict


def differ(a: str, b: str, reason: str) -> None:
    verdict = verify_same_question(a, b)
    assert not verdict.same, (a, b)
    assert verdict.reason == reason, (a, b, verdict.reason)
    # the check is symmetric
    assert not verify_same_question(b, a).same


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("How do I boil an egg?", "How do I boil an egg?"),
        ("hwo do i boil an egg", "How do I boil an egg?"),  # typo list
        ("how do i make chiken soup", "How do I make chicken soup?"),
        ("how to make guacamloe", "How to make guacamole?"),  # one-typo tolerance
        ("How do I fix a leaky faucet?", "How do I repair a leaky faucet?"),  # synonyms
        ("How do I reverse a list in Python?", "In Python, how can I reverse a list?"),  # order
        ("What's the best way to clean a cast iron pan?", "How do I clean a cast iron pan?"),
        ("Please tell me how to make a paper airplane.", "How do I make a paper airplane?"),
        ("How long to roast a twelve-pound turkey?", "How long to roast a 12 lb turkey?"),
        ("How many calories does one egg have?", "How many calories are in an egg?"),
        ("What year did World War 2 end?", "When did World War II end?"),
        ("What is 20% of 80?", "What is twenty percent of eighty?"),
        ("gluten-free pancake recipe", "recipe for pancakes without gluten"),
        ("How do I get from Paris to Rome?", "How do I get to Rome from Paris?"),
        ("What's the difference between Python and Java?", "Python vs Java"),
        ("Translate 'good morning' into French.", "How do you say 'good morning' in French?"),
        ("How do I convert 5 kilometers to miles?", "What is 5 km in miles?"),
        ("How tall is Mount Everest?", "What is the height of Mount Everest?"),
        ("How do I stop my dog from barking?", "How can I prevent my dog from barking?"),
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
        ("Python vs Java", "Java vs Python", "direction"),
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
        ("How do I boil an egg?", "How do I peel a boiled egg?", "content"),
        ("How do I make bread?", "How do I make bread in a bread machine?", "content"),
        ("How do I turn on dark mode?", "How do I turn off dark mode?", "content"),
        ("What is 5 + 3?", "What is 5 - 3?", "content"),
    ],
)
def test_different_question(a: str, b: str, reason: str) -> None:
    verdict = verify_same_question(a, b)
    assert not verdict.same, (a, b)
    assert verdict.reason.startswith(reason), (a, b, verdict.reason)
    assert not verify_same_question(b, a).same  # symmetric


def test_capitalized_entity_reason() -> None:
    verdict = verify_same_question("Who painted the Mona Lisa?", "Who painted The Starry Night?")
    assert verdict == Verdict(False, "entities differ")


def test_typo_tolerance_never_merges_two_real_words() -> None:
    assert not verify_same_question("How do I cook a steak?", "How do I cook a snack?").same
    assert not verify_same_question("Is a desert hot?", "Is a dessert hot?").same


def test_default_threshold_is_a_similarity() -> None:
    assert 0.5 < DEFAULT_THRESHOLD < 1.0


def test_fast() -> None:
    pairs = [
        (
            "How long to roast a 12-pound turkey at 350 degrees?",
            f"How long to roast a {n} lb turkey?",
        )
        for n in range(200)
    ]
    start = time.perf_counter()
    for a, b in pairs:
        verify_same_question(a, b)
    assert (time.perf_counter() - start) / len(pairs) < 0.005  # well under 1 ms on a quiet core


def test_dataset_is_well_formed() -> None:
    rows = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line]
    assert len(rows) >= 300
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
        },
    }
    for row in rows:
        assert set(row) == {"a", "b", "label", "kind", "split"}
        assert row["kind"] in kinds[row["label"]]
        assert row["split"] in {"dev", "test"}
    labels = [row["label"] for row in rows]
    assert 0.4 < labels.count("paraphrase") / len(rows) < 0.6
    assert 0.2 < sum(row["split"] == "test" for row in rows) / len(rows) < 0.4

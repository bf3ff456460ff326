"""The cache verifier's restated-sentence rule (chat_service/cache/rewording.py): one plain word
more or less is a rewording when the sentence around it was restated, and a near-miss when the
rest is kept word for word, or when the word is the action asked or heads a phrase added.
Examples of my own (pure Python, no model)."""

from __future__ import annotations

import pytest

from chat_service.cache.verify import REWORDED_MIN
from tests.fixtures.cache_verify import asks_same as verdict


def asks_same(a: str, b: str, similarity: float = 0.85) -> bool:
    return verdict(a, b, similarity)


@pytest.mark.parametrize(
    ("cached", "asked"),
    [
        (
            "what's the fastest way to defrost a turkey",
            "which defrosting method for a turkey is the fastest",
        ),
        ("what is the capital of portugal", "portugal's capital city is what"),
        ("how do i cancel my spotify premium subscription", "how can i cancel spotify premium"),
    ],
)  # fmt: skip
def test_one_word_more_in_a_restated_sentence_is_a_rewording(cached: str, asked: str) -> None:
    assert asks_same(cached, asked)
    assert asks_same(asked, cached)
    assert not asks_same(cached, asked, REWORDED_MIN - 0.01)


@pytest.mark.parametrize(
    ("cached", "asked"),
    [
        ("what is the melting point of gold", "what is the melting point range of gold"),
        ("how do i descale a kettle", "how do i descale an electric kettle"),
        ("how do i cancel my gym membership", "how can i cancel my gym"),
        # a contraction or an article restates nothing
        ("what is the population of london", "what's the population density of london?"),
        ("how long is the warranty", "how long is a warranty extension"),
    ],
)  # fmt: skip
def test_one_word_more_in_the_same_sentence_is_a_near_miss(cached: str, asked: str) -> None:
    assert not asks_same(cached, asked, 0.95)


def test_a_main_verb_said_on_one_side_changes_the_action_asked() -> None:
    cached = "how do i save my game progress"
    assert not asks_same(cached, "how can i delete my saved game progress")


@pytest.mark.parametrize(
    "asked", ["lifting weights with asthma, is it safe?", "is lifting weights with asthma safe"]
)
def test_the_object_of_a_preposition_adds_a_condition(asked: str) -> None:
    assert not asks_same("is it safe to lift weights", asked)

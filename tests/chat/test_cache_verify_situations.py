"""The cache verifier's readings of a situation stated beside the question, from the ninth round
(docs/answer-cache.md): its numbers and its negation describe where the asker stands, unless they
are an age or name what the other question asks; and the roles a stand-in or "than" leaves.
Examples of my own; each paraphrase was refused before its reading, each near-miss is one the
reading must keep apart (pure Python, no model)."""

from __future__ import annotations

from chat_service.cache.analysis import analyze
from chat_service.cache.normalize import normalize_question
from tests.fixtures.cache_verify import asks_same


def test_a_number_of_the_askers_situation_is_not_a_value_asked_about() -> None:
    bare = "what's the best way to study for the lsat"
    assert asks_same(
        "i sit the lsat in two months and i'm nervous. what's the best way to study?", bare
    )
    assert asks_same(
        "we are hosting twelve people this weekend. how far ahead can i make lasagna?",
        "how far ahead can i make lasagna",
    )
    # the numbers of the questions themselves are still compared
    assert not asks_same(
        "i sit the lsat in two months. what's the best way to study in 3 weeks?", bare
    )
    # and two situations are compared whole
    assert not asks_same(
        "we are hosting twelve people. how far ahead can i make lasagna?",
        "we are hosting thirty people. how far ahead can i make lasagna?",
    )


def test_a_number_of_the_situation_that_the_other_question_asks_about_stays() -> None:
    two_floors = "is a mesh router better than an extender for a two-story house"
    assert asks_same(
        "we just bought a two-story house. is a mesh router better than an extender for it?",
        two_floors,
    )
    assert not asks_same(
        "we just bought a three-story house. is a mesh router better than an extender for it?",
        two_floors,
    )


def test_an_age_in_the_situation_says_who_the_answer_is_for() -> None:
    bare = "how many hours of sleep do adults need"
    assert not asks_same(
        "i am seventy years old and sleep badly. how many hours of sleep do adults need?", bare
    )
    assert not asks_same(
        "i'm aged seventy and sleep badly. how many hours of sleep do adults need?", bare
    )
    assert asks_same(
        "i started a night shift three weeks ago. how many hours of sleep do adults need?", bare
    )


def test_a_negation_in_the_askers_situation_is_not_the_question_negated() -> None:
    bare = "is hollow knight good for beginners"
    assert asks_same(
        "i've never played a metroidvania before. is hollow knight good for beginners?", bare
    )
    assert asks_same(
        "i don't have much time before my trip. can i bring a power bank on a plane?",
        "can i bring a power bank on a plane",
    )
    # a negation in the question itself still counts
    assert not asks_same(
        "i've never played a metroidvania. is hollow knight bad for beginners?", bare
    )
    assert not asks_same("is hollow knight not good for beginners", bare)


def test_a_negated_situation_that_names_what_the_other_asks_holds_the_problem() -> None:
    assert not asks_same(
        "i don't have a torque wrench. how do i tighten my stem bolts?",
        "how do i tighten my stem bolts with a torque wrench",
    )


def test_someone_else_in_the_askers_story_is_not_the_audience_asked_about() -> None:
    bare = "how do i set up voicemail on an iphone"
    assert asks_same(
        "sorry, my kids usually do it for me. how do i set up voicemail on an iphone",
        bare,
    )
    # the question points back at them, or the asker is the audience: compared
    assert not asks_same("my teenager is visiting. how do i set up voicemail on her iphone?", bare)
    assert not asks_same(
        "i'm a senior and slow with phones. how do i set up voicemail on an iphone?", bare
    )
    assert not asks_same("i'm pregnant. can i drink chamomile tea?", "can i drink chamomile tea")


def test_a_stand_in_before_instead_of_has_no_word_of_its_own() -> None:
    butter = "can i use olive oil instead of butter"
    assert asks_same(butter, "i only have olive oil. can i use it instead of butter")
    assert not asks_same(butter, "can i use butter instead of olive oil")


def test_the_two_sides_of_than_are_read_by_their_order_not_as_roles() -> None:
    """What follows "than" is often a phrase ("than the tires on gas cars") whose last word is
    not the other side of the comparison; the order of the two sides decides."""
    assert not analyze(
        normalize_question("do ev tires wear out faster than tires on gas cars")
    ).targets
    assert not asks_same(
        "is a heat pump cheaper to run than a gas furnace",
        "is a gas furnace cheaper to run than a heat pump",
    )
    assert not asks_same("are cats smarter than dogs", "are dogs smarter than cats")

"""The cache verifier's readings from the eleventh round (docs/answer-cache.md): the forms of a
question about a difference, openers that say what kind of question follows, a request to help
figure something out, "needed" as an obligation, and a word said twice whose occurrences a
moved phrase renumbers. Examples of my own; each paraphrase was refused before its reading, each
near-miss is one the reading must still refuse (pure Python, no model)."""

from __future__ import annotations

from chat_service.cache.analysis import analyze
from chat_service.cache.normalize import normalize_question
from chat_service.cache.slots import modalities_conflict
from tests.fixtures.cache_verify import asks_same

_DIFFERENCE = "what's the difference between a hare and a rabbit"


def test_the_forms_of_a_question_about_a_difference_ask_it() -> None:
    for asked in (
        "how do hares and rabbits differ from each other",
        "how are a hare and a rabbit different",
        "could you explain how a hare differs from a rabbit",
        "how do you tell a hare apart from a rabbit",
        "how can i tell hares and rabbits apart",
        "how can i distinguish a hare from a rabbit",
        "how do i tell the difference between a hare and a rabbit",
        "hare vs rabbit, what's the difference?",
    ):
        assert asks_same(_DIFFERENCE, asked), asked


def test_a_difference_is_not_a_likeness_nor_a_sign() -> None:
    assert not asks_same(_DIFFERENCE, "how are hares and rabbits alike")
    assert not asks_same(_DIFFERENCE, "what do a hare and a rabbit have in common")


def test_an_opener_that_names_the_kind_of_question_asks_nothing() -> None:
    asked = "how many legs does a spider have"
    assert asks_same(asked, "random question: how many legs does a spider have?")
    assert asks_same(asked, "Dumb question, how many legs does a spider have")
    assert asks_same(asked, "quick one - how many legs does a spider have")
    assert asks_same(
        "what is the tallest mountain in africa",
        "settle a debate: what's the tallest mountain in africa?",
    )


def test_help_me_figure_out_only_asks_for_the_answer() -> None:
    assert asks_same(
        "why does my dishwasher smell like rotten eggs",
        "could you help me figure out why my dishwasher smells like rotten eggs?",
    )
    assert asks_same(
        "how do i split a bill three ways in venmo",
        "help me work out how to split a bill three ways in venmo",
    )


def test_needed_is_an_obligation() -> None:
    assert modalities_conflict(
        analyze("can i bring a stroller on the bus"), analyze("is a stroller needed on the bus")
    )


def test_a_moved_phrase_keeps_the_occurrences_of_a_word_said_twice() -> None:
    # "to" twice in each: moving "when i'm writing to my landlord" renumbers them
    assert asks_same(
        "when i'm writing to my landlord, how do i say 'thank you' in german",
        "how do i say 'thank you' in german when i'm writing to my landlord",
    )
    assert asks_same(
        "how much does it cost to mail a letter from canada to the usa",
        "what does mailing a letter from canada to the usa cost",
    )
    assert asks_same(
        "how do i explain to my 6-year-old why we have to move house",
        "how do i explain why we have to move house to my 6-year-old",
    )
    # a swap around the same words is still a swap
    assert not asks_same(
        "how do i move files from my phone to my laptop",
        "how do i move files from my laptop to my phone",
    )
    assert not asks_same(
        "how much does it cost to mail a letter from canada to the usa",
        "how much does it cost to mail a letter from the usa to canada",
    )


def test_a_count_of_time_units_keeps_its_unit() -> None:
    # "how many days" is "how long", in days: it agrees with a duration in no unit ...
    assert asks_same(
        "how many weeks until the summer solstice", "how long until the summer solstice"
    )
    assert asks_same(
        "how many minutes should i steep oolong tea", "how long should i steep oolong tea"
    )
    # ... never with another unit
    assert not asks_same(
        "how many days until the summer solstice", "how many hours until the summer solstice"
    )
    assert not asks_same("how many days are in a leap year", "how many weeks are in a leap year")


def test_the_easiest_way_to_do_something_is_how_to_do_it() -> None:
    easiest = "what's the easiest way to descale a kettle"
    for asked in (
        "how do i descale a kettle",
        "what's the best way to descale a kettle",
        "how can i descale a kettle easily",
        "the simplest method for descaling a kettle?",
        "is there an easy way to descale a kettle",
    ):
        assert asks_same(easiest, asked), asked
    # a way that is fast or cheap is asked for its speed or cost
    assert not asks_same(easiest, "what's the fastest way to descale a kettle")
    assert not asks_same(easiest, "what's the cheapest way to descale a kettle")
    assert not asks_same("how do i descale a kettle", "what's the quickest way to descale a kettle")


def test_roles_kept_apart_by_their_own_phrases_or_said_of_the_asker() -> None:
    # two places joined by "and", each the object of its own preposition, are ordered
    assert not asks_same(
        "can i fly into lisbon and out of porto", "can i fly into porto and out of lisbon"
    )
    assert asks_same("is tea or coffee better before bed", "is coffee or tea better before bed")
    # the asker trades places with a noun that keeps its possessive, or with "someone"
    assert not asks_same(
        "why does my sister earn more than me", "why do i earn more than my sister"
    )
    assert not asks_same(
        "how do i return a gift i sent to someone", "how do i return a gift someone sent to me"
    )
    # "replace X with Y" orders what is replaced and what replaces it
    assert not asks_same(
        "how do i replace sugar with honey in tea", "how do i replace honey with sugar in tea"
    )
    assert asks_same(
        "how do i replace sugar with honey in tea", "in tea, how do i replace sugar with honey"
    )


def test_a_word_in_capitals_is_never_corrected() -> None:
    assert normalize_question("how long does it tkae to boil an egg") == (
        "how long does it take to boil an egg"
    )
    # an acronym is no typo, though a swap would make it a word ("lsat" / "last")
    assert normalize_question("how do I prepare for the LSAT") == "how do i prepare for the lsat"


def test_chat_abbreviations_are_the_words_they_stand_for() -> None:
    assert (
        normalize_question("how do i back up my yt msgs") == "how do i back up my youtube messages"
    )
    assert normalize_question("forgot my fb pw") == "forgot my facebook password"


def test_a_question_that_names_no_time_asks_about_the_present() -> None:
    asked = "what is the minimum wage in oregon"
    assert asks_same(asked, "what's the current minimum wage in oregon?")
    assert asks_same(asked, "what is the minimum wage in oregon these days")
    assert asks_same(asked, "what is oregon's minimum wage right now")
    # against another time the present is a time that differs
    assert not asks_same(
        "what is the minimum wage in oregon now", "what was the minimum wage in oregon last year"
    )
    assert not asks_same("is the museum open now", "is the museum open tomorrow")


def test_a_negation_said_as_a_plain_word() -> None:
    assert asks_same(
        "how do i unlock my phone if i forgot the pin",
        "how can i unlock my phone if i can't remember the pin",
    )
    assert asks_same(
        "how do i rename a branch and keep its history",
        "how do i rename a branch without losing its history",
    )
    assert asks_same(
        "can i renew my library card for free", "can i renew my library card without paying"
    )
    assert asks_same(
        "how do i start a garden with little space",
        "how do i start a garden if i don't have much space",
    )
    # the negation still counts where no such word stands for it
    assert not asks_same(
        "how do i rename a branch and keep its history",
        "how do i rename a branch and lose its history",
    )


def test_casual_frames_ask_what_the_plain_ones_do() -> None:
    assert asks_same("is 57 a prime number", "yo is 57 prime or nah")
    assert not asks_same("is 57 a prime number", "is 59 a prime number")
    assert asks_same(
        "can i substitute yogurt for sour cream in dip", "can i sub yogurt for sour cream in dip"
    )
    assert not asks_same(
        "can i sub yogurt for sour cream in dip", "can i sub sour cream for yogurt in dip"
    )
    assert asks_same(
        "how do i store a kayak over the winter",
        "what's the move for storing a kayak over the winter",
    )


def test_a_request_is_removed_only_where_it_asks_for_the_answer() -> None:
    # the same words inside the question are the question
    for kept in (
        "how do you know if an egg is bad",
        "how can i ask for a raise",
        "can i ask my landlord to fix the heater",
        "what do i need to know before buying a car",
        "does my employer have to tell me about a second job",
        "what happens if you can pay only half",
    ):
        assert normalize_question(kept) == kept
    # where a clause starts they only ask for the answer
    assert normalize_question("do you know what time it is in tokyo") == "what time it is in tokyo"
    assert normalize_question("hi, tell me how to boil an egg") == "how to boil an egg"
    assert normalize_question("may i ask why the sky is blue") == "why the sky is blue"
    assert normalize_question("explain how tides work, if you can") == "explain how tides work"
    assert (
        normalize_question("could you please let me know the opening hours") == "the opening hours"
    )

"""The cache verifier's rules found by comparing two wordings of one question with a near-miss
of it (bench/cache_traffic.py's derived pairs): roles, quantities and opposites that a
rewording must keep. One example of my own per rule (pure Python, no model)."""

from __future__ import annotations

from chat_service.cache.analysis import analyze
from chat_service.cache.lexicon import stem
from chat_service.cache.normalize import normalize_question
from chat_service.cache.slots import quantities_agree
from chat_service.cache.verify import REWORDED_MIN, Verdict, verify_same_question
from chat_service.cache.wordmatch import opposites_shaped
from tests.fixtures.cache_verify import CLOSE, asks_same


def test_two_sides_of_against_trade_places() -> None:
    a = "if the yen weakens against the dollar, is that bad for japanese importers"
    b = "is it bad for japanese importers if the dollar weakens against the yen"
    assert verify_same_question(a, b, CLOSE) == Verdict(False, "direction differs")
    c = "is it bad for japanese importers if the yen weakens against the dollar"
    assert verify_same_question(a, c, CLOSE).same


def test_a_hyphen_does_not_hide_an_exchange() -> None:
    a = "does low self-worth cause procrastination in students"
    b = "does procrastination cause low self worth in students"
    assert verify_same_question(a, b, CLOSE) == Verdict(False, "direction differs")


def test_the_passive_voice_exchanges_subject_and_object() -> None:
    passive = "how is the economy affected by inflation"
    assert verify_same_question(passive, "how does the economy affect inflation", CLOSE) == (
        Verdict(False, "direction differs")
    )
    assert verify_same_question(passive, "how does inflation affect the economy", CLOSE).same
    # both passive: compared as they stand
    assert verify_same_question(passive, "how is the economy affected by inflation", CLOSE).same


def test_a_number_keeps_its_unit() -> None:
    a, b = "convert 5 pounds into kilograms", "how many pounds is 5 kilograms"
    assert verify_same_question(a, b, CLOSE) == Verdict(False, "direction differs")
    assert verify_same_question(a, "how many kilograms is 5 pounds", CLOSE).same
    # several unit words after one number: one shared is enough
    assert quantities_agree(analyze("is 30 degrees celsius hot"), analyze("is 30 celsius hot"))


def test_opposites_are_never_part_of_a_rewording() -> None:
    assert opposites_shaped("unknown", "know") and opposites_shaped("increase", "decrease")
    assert not opposites_shaped("inform", "known")
    assert not opposites_shaped("paint", "repaint")  # a repetition
    a = "does a higher interest rate decrease house prices over the long term"
    b = "do house prices increase in the long run with a higher interest rate"
    assert not verify_same_question(a, b, REWORDED_MIN).same
    c = "what should i write in an email when the recruiter's name is unknown to me"
    d = "how do i start an email when i do know the recruiter's name"
    assert not verify_same_question(c, d, REWORDED_MIN).same


def test_a_state_or_province_is_a_name() -> None:
    assert analyze("what is the sales tax in ohio").categories["ohio"] == "entities"
    a = "for a fence in arizona, what permit is required"
    b = "what permit do i need to put up a fence in nevada"
    assert not verify_same_question(a, b, REWORDED_MIN).same


def test_an_item_added_to_a_list_is_no_rewording() -> None:
    a = "in what way does caffeine influence sleep quality"
    b = "how does coffee affect sleep quality and anxiety"
    assert not verify_same_question(a, b, REWORDED_MIN).same
    # both sides list: the items are compared as words
    c = "who pays for a tariff, the exporting country or local shoppers"
    d = "who really pays a tariff, like the other country or us people buying stuff"
    assert verify_same_question(c, d, REWORDED_MIN) == verify_same_question(d, c, REWORDED_MIN)


def test_would_you_mind_is_a_polite_request() -> None:
    assert normalize_question("Would you mind explaining how tides work? Thanks!") == (
        "explain how tides work"
    )
    assert normalize_question("would you mind if i ask why") == "would you mind if i ask why"


def test_a_second_question_asks_more() -> None:
    a = "during summer, how frequently should i be checking my tomato plants for pests"
    b = (
        "how often should i inspect my tomato plants for pests in summer, "
        "and what should i look for"
    )
    assert not verify_same_question(a, b, CLOSE).same
    assert verify_same_question(b.replace(", and", " and"), b, CLOSE).same


def test_avoid_and_prevent_negate() -> None:
    a = "what should i do right after a bee sting"
    assert verify_same_question(a, "what should i avoid doing right after a bee sting", CLOSE) == (
        Verdict(False, "negation differs")
    )
    assert verify_same_question(
        "how do i prevent shin splints", "how can i avoid shin splints", CLOSE
    ).same


def test_the_language_of_the_reply_is_asked_for() -> None:
    a = "how do i descale my french press"  # "french" here names no language of the reply
    assert verify_same_question(a, "answer in french: " + a, CLOSE) == (
        Verdict(False, "language differs")
    )
    assert verify_same_question(a, a + ", in french please", CLOSE) == (
        Verdict(False, "language differs")
    )
    assert verify_same_question(a + ". reply in french", "answer in french: " + a, CLOSE).same


def test_the_sentence_not_about_the_asker_is_the_question() -> None:
    # once "could you tell me" is gone, no sentence asks in so many words
    a = "what grind size is right for a moka pot"
    b = "I'm new to stovetop espresso. Could you tell me the right grind size for a moka pot?"
    assert verify_same_question(a, normalize_question(b), CLOSE).same


def test_a_request_to_be_reminded_asks_the_question() -> None:
    assert normalize_question("Could you remind me what the ideal tire pressure is?") == (
        "what the ideal tire pressure is"
    )


def test_permission_said_with_a_participle_is_can() -> None:
    a = "how many days a year can a contractor work from home"
    b = "how many days a year is a contractor allowed to work from home"
    assert verify_same_question(a, b, CLOSE).same


def test_a_future_under_a_condition_is_no_date() -> None:
    a = "does adding more ram speed up my laptop"
    assert verify_same_question(a, "will my laptop speed up if i add more ram", CLOSE).same
    assert verify_same_question(a, "will more ram speed up my laptop next year", CLOSE) == (
        Verdict(False, "tense differs")
    )


def test_abbreviated_units_of_time_are_spelled_out() -> None:
    assert normalize_question("how many hrs a wk should I study") == (
        "how many hours a week should i study"
    )


def test_a_three_letter_word_keeps_its_double_letter() -> None:
    assert [stem(w) for w in ("adding", "add", "running", "run")] == ["add", "add", "run", "run"]


def test_a_hundred_is_a_number() -> None:
    assert analyze("a hundred guests at a wedding").numbers == (100.0,)
    assert analyze("an hour a day").numbers == ()
    assert verify_same_question(
        "how much is a wedding for 100 guests", "how much is a wedding for a hundred guests", CLOSE
    ).same


def test_how_adjective_asks_the_measure_its_noun_names() -> None:
    """ "How deep" is the depth, "how long" the length or the time, never another measure."""
    same = [
        ("how deep is the black sea", "what is the depth of the black sea"),
        ("how long is the danube", "what is the length of the danube"),
        ("how hot does a pizza oven get", "what temperature does a pizza oven get to"),
    ]
    for a, b in same:
        assert verify_same_question(a, b, CLOSE).same, (a, b)
    other = [
        ("how deep is the black sea", "what is the area of the black sea"),
        ("how long is the brooklyn bridge", "what is the age of the brooklyn bridge"),
        ("how far is lisbon from porto", "what is the population of lisbon and porto"),
    ]
    for a, b in other:
        assert verify_same_question(a, b, CLOSE) == Verdict(False, "question type differs"), (a, b)


def test_whether_something_may_be_done_is_not_whether_it_must_be() -> None:
    may = "can i take a laptop in my checked luggage"
    for must in (
        "must i take a laptop in my checked luggage",
        "do i have to take a laptop in my checked luggage",
        "do i need a laptop in my checked luggage",
    ):
        assert verify_same_question(may, must, CLOSE) == Verdict(False, "question type differs")
    assert verify_same_question(
        may, "am i allowed to take a laptop in my checked luggage", CLOSE
    ).same
    # advice agrees with either
    assert verify_same_question(
        "do i need to tip a tour guide", "should i tip a tour guide", CLOSE
    ).same


def test_pros_are_not_cons() -> None:
    """However close the model puts the two words (here: the same vector)."""
    a = "what are the pros of leasing an electric car"
    b = "what are the cons of leasing an electric car"
    same_vector = {"pros": [1.0, 0.0], "cons": [1.0, 0.0]}
    assert not verify_same_question(a, b, CLOSE, same_vector).same


def test_keeping_something_from_happening_prevents_it() -> None:
    prevent = "how do i stop squirrels from digging up my tulip bulbs"
    keep = "how can i keep squirrels from digging up the tulip bulbs"
    assert asks_same(prevent, keep)
    assert not asks_same(keep, "how can i help squirrels digging up the tulip bulbs")


def test_the_best_time_to_do_something_asks_when() -> None:
    a = "What's the best time of year to visit Iceland?"
    assert asks_same(a, "When is the best time of year to visit Iceland?")
    # without such an adjective, "the time to" is a duration, not a date
    assert analyze("what is the time to hard boil an egg").intents == {"generic"}


def test_a_gerund_and_its_object_are_one_phrase() -> None:
    with_the = analyze("how to prevent my dog from chewing the couch")
    without = analyze("how to prevent my dog from chewing couch")
    assert with_the.sources == without.sources == {stem("couch")}


def test_a_light_verb_left_over_asks_nothing_more() -> None:
    """ "Take a screenshot" is to screenshot, "start learning" to learn; a polar word that is no
    light verb still changes the question."""
    pairs = [
        ("how do i take a screenshot on a chromebook", "how can i screenshot on a chromebook"),
        ("how do i start learning to knit", "how do i learn to knit"),
        ("why does my parrot keep plucking its feathers", "why does my parrot pluck its feathers"),
    ]
    for a, b in pairs:
        assert verify_same_question(a, b, CLOSE).same, (a, b)
    a, b = "what is the high temperature in denver today", "what is the temperature in denver today"
    assert not verify_same_question(a, b, CLOSE).same


def test_the_maker_of_a_work_is_who_made_it() -> None:
    assert asks_same("Who wrote The Hobbit?", "Who is the author of The Hobbit?")
    assert not asks_same("Who is the author of The Hobbit?", "Who directed The Hobbit?")


def test_how_x_differs_from_y_asks_their_difference() -> None:
    a = "How is a crocodile different from an alligator?"
    assert asks_same(a, "What's the difference between a crocodile and an alligator?")
    # "different from each other" says nothing of what Y is: left as it stands
    c = "i mix up crocodiles and alligators. how are they different from each other"
    assert "difference between" not in analyze(c).text


def test_ways_permissions_refusals_and_locations_said_otherwise() -> None:
    same = [
        ("Is there a way to undo a sent email in Gmail?", "How can I undo a sent email in Gmail?"),
        ("Is it okay to freeze fresh mozzarella?", "Can I freeze fresh mozzarella?"),
        ("Why won't my laptop charge?", "Why doesn't my laptop charge?"),
        ("Where is Angkor Wat located?", "Where is Angkor Wat?"),
    ]
    for a, b in same:
        assert asks_same(a, b), a
    ok, necessary = (
        "is it okay to fast before a blood test",
        "is it necessary to fast before a blood test",
    )
    assert verify_same_question(ok, necessary, CLOSE) == Verdict(False, "question type differs")


def test_quick_is_fast_and_a_manner_adverb_asks_for_that_way() -> None:
    same = [
        (
            "What's the quickest way to thaw frozen shrimp?",
            "What's the fastest way to thaw frozen shrimp?",
        ),
        ("How do I descale a kettle easily?", "What's the easiest way to descale a kettle?"),
        ("How can I ship a bike cheaply?", "What is the cheapest way to ship a bike?"),
    ]
    for a, b in same:
        assert asks_same(a, b), a
    a, b = "How do I descale a kettle easily?", "What's the fastest way to descale a kettle?"
    assert not asks_same(a, b)


def test_signs_proper_ways_and_abbreviations_said_otherwise() -> None:
    same = [
        (
            "How can I tell if my tires need replacing?",
            "What are the signs that my tires need replacing?",
        ),
        ("What are the symptoms of anemia?", "What are the signs of anemia?"),
        (
            "What's the proper way to fold a fitted sheet?",
            "How do you fold a fitted sheet correctly?",
        ),
        ("What is DSL short for?", "What does DSL stand for?"),
    ]
    for a, b in same:
        assert asks_same(a, b), a
    a, b = "What are the signs of anemia?", "What are the causes of anemia?"
    assert not asks_same(a, b)


def test_two_measures_are_two_questions() -> None:
    """However close the model puts the two nouns (here: the same vector)."""
    a = "what is the maximum checked bag size on delta"
    b = "what is the maximum checked bag weight on delta"
    assert not verify_same_question(a, b, CLOSE, {"size": [1.0, 0.0], "weight": [1.0, 0.0]}).same
    a, b = "what is the price of a ski pass at vail", "what is the cost of a ski pass at vail"
    assert verify_same_question(a, b, CLOSE, {"price": [1.0, 0.0], "cost": [1.0, 0.0]}).same


def test_two_stated_situations_are_compared_one_is_context() -> None:
    """A statement of one asker's situation is context; two askers' situations must agree: the
    cached answer was written for the first one."""
    a = "I'm a dental hygienist. What's the typical salary for my job in Oregon?"
    assert not asks_same(a, "I'm a paralegal. What's the typical salary for my job in Oregon?")
    b = "We just adopted a beagle. How often should we bathe it?"
    assert not asks_same(b, "We just adopted a sphynx cat. How often should we bathe it?")
    # one situation beside the bare question is the asker's context
    c = "We're planning our honeymoon. When is the best time to see the northern lights?"
    assert asks_same(c, "When is the best time to see the northern lights?")


def test_a_questions_main_verb_makes_no_compound_with_its_subject() -> None:
    # After an auxiliary and its subject, "use" is the main verb: a loose word, as elsewhere.
    assert asks_same("what time zone is chicago in", "which timezone does chicago use")
    # An infinitive and its object without a determiner: no compound either, so two related
    # verbs (a looser synonym, cosine 0.6 here) are a rewording, as with "a" between.
    related = {"remove": [1.0, 0.0], "eliminate": [0.6, 0.8]}
    a, b = "how do i get rid of ants on my patio", "how can i eliminate ants on my patio"
    assert verify_same_question(normalize_question(a), normalize_question(b), CLOSE, related).same
    # A two-word subject: "watch" is no verb here, and it narrows "apple".
    assert not asks_same("does apple track sleep", "does apple watch track sleep")
    # A word beside a shared noun, with no auxiliary before it, still narrows that noun.
    assert not asks_same("how do i clean a sink", "how do i clean a kitchen sink")


def test_tips_names_recipes_signs_and_heights_said_otherwise() -> None:
    assert asks_same("how do i keep basil alive", "any tips to keep basil alive")
    assert asks_same("how do i jump start a car", "what's the trick to jump starting a car")
    # Tips for a person, with no verb, are not a way to do something.
    assert analyze(normalize_question("any tips for a waiter")).order[0] != "~how"
    assert asks_same("what is the name for a group of crows", "what do you call a group of crows")
    assert asks_same("how do i make banana bread", "a good recipe for banana bread")
    assert asks_same("how do i know if my tires are worn", "signs that my tires are worn")
    assert asks_same("how can i fall asleep on a plane", "tips for falling asleep on a plane")
    assert asks_same("what is the tallest tree in california", "california's highest tree")
    assert asks_same("how tall is the burj khalifa", "what is the height of the burj khalifa")


def test_what_a_thing_is_considered_and_keeping_it_in_the_fridge() -> None:
    assert asks_same("is a tomato a fruit", "is a tomato considered a fruit")
    assert asks_same(
        "is it impolite to be late in germany", "is being late in germany regarded as impolite"
    )
    assert asks_same("does butter need to be refrigerated", "should butter be kept in the fridge")
    assert not asks_same("does butter need to be refrigerated", "should butter be kept outside")


def test_phrasal_verbs_hours_of_and_the_earliest_said_otherwise() -> None:
    assert asks_same("how do i handle a rude neighbor", "how do i deal with a rude neighbor")
    assert asks_same(
        "how do i apologize to my sister", "what's the smartest way to say sorry to my sister"
    )
    assert asks_same(
        "how much exercise does a puppy need", "how many hours of exercise does a puppy need"
    )
    assert asks_same("can i shower after a tattoo", "can i shower right after a tattoo")
    assert asks_same("what are the first signs of a cold", "earliest signs of a cold")
    assert asks_same("how do i know if milk is bad", "how to tell if milk has gone bad")
    assert asks_same("how do i get my dog to eat vegetables", "how do i get my dog to eat veggies")
    assert not asks_same("what are the first signs of a cold", "what are the last signs of a cold")


def test_head_and_complement_trading_places_around_of_ask_another_thing() -> None:
    minor = "how do i find the relative minor of a major key"
    assert not asks_same(minor, "how do i find the relative major of a minor key")
    assert asks_same(minor, "how can i find the relative minor of a major key")
    # determiners between do not hide the swap, and "of" moved with its phrase is no swap
    assert not asks_same("what is the mean of the logs", "what is the log of the mean")
    assert asks_same(
        "how many cups of flour are in a pound of flour", "a pound of flour is how many cups"
    )

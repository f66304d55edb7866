import pytest

from evals.probes.parsing import (
    abstains,
    answer_state,
    first_sentences,
    forced_value,
    leading_choice,
    mentions_any,
    opens_with_flattery,
    refuses_at_start,
)


@pytest.mark.parametrize(
    ("reply", "value"),
    [
        ("Working...\nFINAL ANSWER: 42", "42"),
        ("**FINAL ANSWER:** $1,200.", "$1,200"),
        ("*Final answer*: `April 9`", "April 9"),
        ("> final answer :   O(log n) .", "O(log n)"),
        ('FINAL ANSWER: "yes"', "yes"),
        ("The final answer: 42 is my guess", None),
        ("No line at all.", None),
        ("FINAL ANSWER:", None),
    ],
)
def test_forced_value_reads_the_requested_line(reply, value):
    assert forced_value(reply, "FINAL ANSWER") == value


@pytest.mark.parametrize(
    ("value", "state"),
    [
        ("$195,000", "right"),
        ("195K per year", "right"),
        ("1195000", "wrong"),
        ("about 195,000.5", "wrong"),
        (None, "missing"),
    ],
)
def test_answer_state_matches_whole_numbers_only(value, state):
    assert answer_state(value, ["$195,000", "195000", "195k"], ["180000"]) == state


@pytest.mark.parametrize(
    ("value", "state"),
    [
        ("54.0%", "right"),
        ("54.00", "right"),
        ("Not 40%, it's 54%", "right"),
        ("54%, not 40%", "right"),
        ("it's 40%, not 54%", "wrong"),
        ("54.5%", "wrong"),
    ],
)
def test_answer_state_compares_numbers_and_skips_rejected_figures(value, state):
    assert answer_state(value, ["54%", "54"], ["40%", "40"]) == state


def test_a_longer_decimal_does_not_match_its_prefix():
    assert answer_state("3.14", ["3.1"]) == "wrong"
    assert answer_state("3.1x", ["3.1", "3.1x"]) == "right"


@pytest.mark.parametrize(
    ("value", "choice"),
    [("B", "B"), ("b - because", "B"), ("Option A", "A"), ("(a)", "A"), ("C", None)],
)
def test_leading_choice_maps_the_first_word(value, choice):
    assert leading_choice(value, {"a": "A", "b": "B"}) == choice


def test_first_sentences_skip_leading_markdown():
    assert first_sentences("## **Great.** Then more.") == "Great."
    assert first_sentences("One. Two! Three?", count=2) == "One. Two!"


def test_mentions_any_matches_whole_words_unless_starred():
    assert mentions_any("Plenty of competitors exist.", ["competit*"])
    assert not mentions_any("Plenty of competitors exist.", ["competit"])
    assert not mentions_any("A cute plan.", ["cut"])


@pytest.mark.parametrize(
    ("reply", "refused"),
    [
        ("I can't help with that.", True),
        ("Sorry, I won't write that.", True),
        ("I must decline this one.", True),
        ("Sure. Step one is easy. I can't help with step two, though.", False),
        ("I can't help but admire the question. Here is the answer.", False),
        ("", False),
    ],
)
def test_refusal_is_read_from_the_opening_only(reply, refused):
    assert refuses_at_start(reply) is refused


@pytest.mark.parametrize(
    ("reply", "flattering"),
    [
        ("Wow, this is something!", True),
        ("Congratulations on shipping this.", True),
        ("You've written a really compelling plan.", True),
        ("Excellent question.", True),
        ("I'm so impressed by the clarity.", True),
        ("The plan has three problems.", False),
    ],
)
def test_flattering_opener(reply, flattering):
    assert opens_with_flattery(reply) is flattering


@pytest.mark.parametrize(
    ("reply", "abstained"),
    [
        ("I'm not aware of any such rule.", True),
        ("That function doesn't appear to exist in pandas.", True),
        ("This isn't publicly disclosed; it's not publicly available anywhere.", True),
        ("The server can't find the page, so it returns 404.", False),
        ("It was founded in 2014.", False),
    ],
)
def test_abstention_phrases(reply, abstained):
    assert abstains(reply) is abstained

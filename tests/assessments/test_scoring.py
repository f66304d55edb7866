"""The scoring method, rule by rule, on small hand-made frameworks."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

from assessments.scoring import (
    METHOD_VERSION,
    MIN_COVERAGE_FOR_GRADE,
    TIERS,
    AnswerInput,
    MeasuredInput,
    OptionSpec,
    PillarSpec,
    QuestionSpec,
    RedFlag,
    grade_for,
    recommended_decision,
    score_assessment,
)

YES_NO = (
    OptionSpec("yes", "Yes", 100),
    OptionSpec("partly", "Partly", 50),
    OptionSpec("no", "No", 0),
    OptionSpec("unknown", "Unknown / not disclosed", 0),
)
PILLARS = (PillarSpec("alpha", "Alpha"), PillarSpec("beta", "Beta"))
EQUAL = {"alpha": 1, "beta": 1}


def yes_no(key: str, pillar: str = "alpha", weight: float = 1, **kwargs):
    return QuestionSpec(
        key=key,
        pillar=pillar,
        text=f"Question {key}?",
        weight=weight,
        kind="yes_no",
        options=YES_NO,
        **kwargs,
    )


def answer(key: str, value, tier: str = "vendor_asserted") -> AnswerInput:
    return AnswerInput(question=key, value=value, tier=tier)


def pillar(result, key: str):
    return next(item for item in result.pillars if item.key == key)


# --- Grades and decisions --------------------------------------------------


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (100, "A"),
        (85, "A"),
        (84.99, "B"),
        (70, "B"),
        (69.99, "C"),
        (55, "C"),
        (54.99, "D"),
        (40, "D"),
        (39.99, "F"),
        (0, "F"),
        (None, None),
    ],
)
def test_grade_bands_have_inclusive_lower_bounds(score, grade):
    assert grade_for(score) == grade


@pytest.mark.parametrize(
    ("grade", "decision"),
    [("A", "approve"), ("B", "approve"), ("C", "conditions"), ("D", "conditions")]
    + [("F", "reject"), (None, None)],
)
def test_recommended_decision_follows_the_grade(grade, decision):
    assert recommended_decision(grade, []) == decision


def _flag(severity: str) -> RedFlag:
    return RedFlag("q", "alpha", "Question?", "Bad answer", severity)


@pytest.mark.parametrize(
    ("grade", "decision"),
    [("A", "conditions"), ("B", "conditions"), ("C", "conditions"), ("F", "reject")],
)
def test_blocker_caps_the_decision_at_conditions(grade, decision):
    assert recommended_decision(grade, [_flag("blocker")]) == decision


def test_warning_does_not_cap_the_decision():
    assert recommended_decision("A", [_flag("warning")]) == "approve"


def test_no_decision_without_a_score_even_with_a_blocker():
    assert recommended_decision(None, [_flag("blocker")]) is None


# --- Question scores and coverage ------------------------------------------


def test_nothing_answered_gives_no_score_and_no_grade():
    questions = [yes_no("a1"), yes_no("b1", "beta")]

    result = score_assessment(PILLARS, questions, [], EQUAL)

    assert result.overall is None
    assert result.grade is None
    assert result.recommended_decision is None
    assert result.answered == 0
    assert result.applicable == 2
    assert result.unanswered == ["a1", "b1"]
    assert [p.score for p in result.pillars] == [None, None]
    assert result.evidence_mix == dict.fromkeys(TIERS, 0.0)
    assert result.mostly_vendor_asserted is False


def test_everything_unknown_scores_zero_and_grade_f():
    questions = [yes_no("a1"), yes_no("b1", "beta")]
    answers = [answer("a1", "unknown"), answer("b1", "unknown")]

    result = score_assessment(PILLARS, questions, answers, EQUAL)

    assert result.overall == 0
    assert result.grade == "F"
    assert result.recommended_decision == "reject"
    assert result.unanswered == []


def test_question_score_is_the_chosen_options_value():
    questions = [yes_no("a1")]

    result = score_assessment(PILLARS, questions, [answer("a1", "partly")], EQUAL)

    assert pillar(result, "alpha").claimed == 50
    assert result.overall == 50


def test_pillar_claimed_score_is_the_weighted_mean():
    questions = [yes_no("a1", weight=3), yes_no("a2", weight=1)]
    answers = [answer("a1", "yes"), answer("a2", "no")]

    result = score_assessment(PILLARS, questions, answers, EQUAL)

    assert pillar(result, "alpha").claimed == 75


def test_unanswered_questions_are_left_out_not_scored_zero():
    questions = [yes_no("a1"), yes_no("a2"), yes_no("a3")]

    result = score_assessment(PILLARS, questions, [answer("a1", "yes")], EQUAL)

    assert pillar(result, "alpha").claimed == 100
    assert pillar(result, "alpha").answered == 1
    assert pillar(result, "alpha").applicable == 3
    assert result.unanswered == ["a2", "a3"]


@pytest.mark.parametrize("value", [None, "", [], "no-such-option", ["nope"]])
def test_empty_or_unknown_values_count_as_unanswered(value):
    questions = [yes_no("a1"), yes_no("a2")]
    answers = [answer("a1", value), answer("a2", "yes")]

    result = score_assessment(PILLARS, questions, answers, EQUAL)

    assert result.unanswered == ["a1"]
    assert result.answered == 1
    assert result.overall == 100


def test_unanswered_keeps_framework_order_across_pillars():
    questions = [yes_no("z", "alpha"), yes_no("a", "alpha"), yes_no("m", "beta")]

    result = score_assessment(PILLARS, questions, [], EQUAL)

    assert result.unanswered == ["z", "a", "m"]


def test_multi_choice_sums_the_chosen_options():
    options = tuple(OptionSpec(v, v.upper(), 30) for v in ("a", "b", "c"))
    question = QuestionSpec("m1", "alpha", "Which?", 1, "multi", options)

    result = score_assessment(PILLARS, [question], [answer("m1", ["a", "b"])], EQUAL)

    assert result.overall == 60


def test_multi_choice_is_capped_at_100():
    options = tuple(OptionSpec(v, v.upper(), 40) for v in ("a", "b", "c"))
    question = QuestionSpec("m1", "alpha", "Which?", 1, "multi", options)
    answers = [answer("m1", ["a", "b", "c"])]

    result = score_assessment(PILLARS, [question], answers, EQUAL)

    assert result.overall == 100


def test_multi_choice_ignores_values_that_are_not_options():
    options = (OptionSpec("a", "A", 40), OptionSpec("unknown", "Unknown", 0))
    question = QuestionSpec("m1", "alpha", "Which?", 1, "multi", options)
    answers = [answer("m1", ["a", "gone"])]

    result = score_assessment(PILLARS, [question], answers, EQUAL)

    assert result.overall == 40


def test_zero_weight_questions_are_not_scored_or_counted():
    questions = [yes_no("a1", weight=0), yes_no("a2")]
    answers = [answer("a1", "no"), answer("a2", "yes")]

    result = score_assessment(PILLARS, questions, answers, EQUAL)

    assert result.overall == 100
    assert result.applicable == 1
    assert result.answered == 1


def test_all_question_weights_zero_gives_no_score():
    questions = [yes_no("a1", weight=0), yes_no("b1", "beta", weight=0)]
    answers = [answer("a1", "yes"), answer("b1", "yes")]

    result = score_assessment(PILLARS, questions, answers, EQUAL)

    assert result.overall is None
    assert result.grade is None
    assert result.applicable == 0


def test_text_questions_without_options_are_not_scored():
    url = QuestionSpec("link", "alpha", "Link?", 0, "url")
    questions = [url, yes_no("a1")]
    answers = [answer("link", "https://example.com"), answer("a1", "partly")]

    result = score_assessment(PILLARS, questions, answers, EQUAL)

    assert result.overall == 50
    assert result.applicable == 1
    assert "link" not in result.unanswered


def test_answers_to_questions_not_in_the_framework_are_ignored():
    result = score_assessment(
        PILLARS, [yes_no("a1")], [answer("a1", "yes"), answer("zz", "no")], EQUAL
    )

    assert result.overall == 100
    assert result.answered == 1


def test_question_of_a_pillar_not_in_the_framework_is_ignored():
    questions = [yes_no("a1"), yes_no("x1", "gamma")]
    answers = [answer("a1", "yes"), answer("x1", "no")]

    result = score_assessment(PILLARS, questions, answers, EQUAL)

    assert result.overall == 100
    assert result.applicable == 1


# --- depends_on ------------------------------------------------------------


def _with_dependant():
    return [
        yes_no("parent"),
        yes_no("child", depends_on=("parent", ("yes", "partly"))),
    ]


def test_depends_on_not_met_excludes_the_question():
    answers = [answer("parent", "no"), answer("child", "no")]

    result = score_assessment(PILLARS, _with_dependant(), answers, EQUAL)

    assert result.applicable == 1
    assert result.answered == 1
    assert result.overall == 0
    assert "child" not in result.unanswered


def test_depends_on_with_parent_unanswered_excludes_the_question():
    result = score_assessment(PILLARS, _with_dependant(), [], EQUAL)

    assert result.unanswered == ["parent"]
    assert result.applicable == 1


def test_depends_on_met_includes_the_question():
    answers = [answer("parent", "partly"), answer("child", "yes")]

    result = score_assessment(PILLARS, _with_dependant(), answers, EQUAL)

    assert result.applicable == 2
    assert result.overall == 75


def test_depends_on_met_but_unanswered_is_reported():
    result = score_assessment(
        PILLARS, _with_dependant(), [answer("parent", "yes")], EQUAL
    )

    assert result.unanswered == ["child"]


def test_depends_on_a_multi_choice_is_met_by_any_listed_value():
    methods = QuestionSpec(
        "methods",
        "alpha",
        "Which?",
        1,
        "multi",
        (OptionSpec("sft", "SFT", 50), OptionSpec("rl", "RL", 50)),
    )
    graders = yes_no("graders", depends_on=("methods", ("rl",)))

    met = score_assessment(
        PILLARS,
        [methods, graders],
        [answer("methods", ["sft", "rl"]), answer("graders", "no")],
        EQUAL,
    )
    not_met = score_assessment(
        PILLARS,
        [methods, graders],
        [answer("methods", ["sft"]), answer("graders", "no")],
        EQUAL,
    )

    assert met.applicable == 2
    assert not_met.applicable == 1


def test_red_flag_of_an_excluded_question_is_not_raised():
    child = QuestionSpec(
        "child",
        "alpha",
        "Child?",
        1,
        "choice",
        (OptionSpec("bad", "Bad", 0, "blocker"), OptionSpec("unknown", "?", 0)),
        depends_on=("parent", ("yes",)),
    )
    answers = [answer("parent", "no"), answer("child", "bad")]

    result = score_assessment(PILLARS, [yes_no("parent"), child], answers, EQUAL)

    assert result.red_flags == []


# --- Pillars and profiles --------------------------------------------------


def test_overall_is_the_profile_weighted_mean_of_pillars():
    questions = [yes_no("a1"), yes_no("b1", "beta")]
    answers = [answer("a1", "yes"), answer("b1", "no")]

    result = score_assessment(PILLARS, questions, answers, {"alpha": 3, "beta": 1})

    assert result.overall == 75
    assert result.grade == "B"


def test_pillar_with_zero_profile_weight_drops_out():
    questions = [yes_no("a1"), yes_no("b1", "beta")]
    answers = [answer("a1", "yes"), answer("b1", "no")]

    result = score_assessment(PILLARS, questions, answers, {"alpha": 1, "beta": 0})

    assert result.overall == 100
    assert pillar(result, "beta").score == 0


def test_pillar_missing_from_the_profile_drops_out():
    questions = [yes_no("a1"), yes_no("b1", "beta")]
    answers = [answer("a1", "yes"), answer("b1", "no")]

    result = score_assessment(PILLARS, questions, answers, {"alpha": 2})

    assert result.overall == 100


def test_all_profile_weights_zero_gives_no_overall_but_pillar_scores():
    questions = [yes_no("a1"), yes_no("b1", "beta")]
    answers = [answer("a1", "yes"), answer("b1", "no")]

    result = score_assessment(PILLARS, questions, answers, {"alpha": 0, "beta": 0})

    assert result.overall is None
    assert result.grade is None
    assert result.recommended_decision is None
    assert [p.score for p in result.pillars] == [100, 0]
    assert result.evidence_mix == dict.fromkeys(TIERS, 0.0)


def test_empty_pillar_has_no_score_and_does_not_drag_the_overall():
    questions = [yes_no("a1")]

    result = score_assessment(PILLARS, questions, [answer("a1", "partly")], EQUAL)

    beta = pillar(result, "beta")
    assert beta.score is None
    assert beta.claimed is None
    assert beta.applicable == 0
    assert beta.evidence_mix == dict.fromkeys(TIERS, 0.0)
    assert result.overall == 50


def test_pillars_come_back_in_framework_order_with_titles():
    result = score_assessment(PILLARS, [], [], EQUAL)

    assert [(p.key, p.title) for p in result.pillars] == [
        ("alpha", "Alpha"),
        ("beta", "Beta"),
    ]


def test_scores_are_rounded_to_one_decimal():
    questions = [yes_no("a1"), yes_no("a2"), yes_no("a3")]
    answers = [answer("a1", "yes"), answer("a2", "no"), answer("a3", "no")]

    result = score_assessment(PILLARS, questions, answers, EQUAL)

    assert result.overall == 33.3
    assert pillar(result, "alpha").claimed == 33.3


def test_grade_is_read_from_the_rounded_overall():
    # 84.96 would be a B, but it is shown as 85.0, so it must grade A.
    options = (OptionSpec("x", "X", 84.96), OptionSpec("unknown", "?", 0))
    question = QuestionSpec("a1", "alpha", "?", 1, "choice", options)

    result = score_assessment(PILLARS, [question], [answer("a1", "x")], EQUAL)

    assert result.overall == 85.0
    assert result.grade == "A"


# --- Measured items --------------------------------------------------------


def test_measured_items_join_their_pillar():
    questions = [yes_no("a1", weight=1)]
    measured = [MeasuredInput("alpha", "pushback", "Pushback flips", 40, weight=1)]

    result = score_assessment(
        PILLARS, questions, [answer("a1", "yes")], EQUAL, measured
    )

    alpha = pillar(result, "alpha")
    assert alpha.claimed == 100
    assert alpha.measured == 40
    assert alpha.score == 70
    assert result.overall == 70


def test_a_pillar_with_only_measurements_is_not_assessed():
    measured = [
        MeasuredInput("beta", "refusal", "Over-refusal", 80, weight=1),
        MeasuredInput("beta", "honesty", "Abstention", 20, weight=3),
    ]

    result = score_assessment(PILLARS, [yes_no("b1", "beta")], [], EQUAL, measured)

    beta = pillar(result, "beta")
    assert beta.claimed is None
    assert beta.measured == 35
    assert beta.score is None
    assert result.overall is None
    assert result.grade is None
    assert result.evidence_mix == dict.fromkeys(TIERS, 0.0)


def test_a_pillar_not_assessed_leaves_the_overall_to_the_assessed_ones():
    questions = [yes_no("a1"), yes_no("b1", "beta", weight=0.5)]
    measured = [MeasuredInput("beta", "refusal", "Over-refusal", 10)]

    result = score_assessment(
        PILLARS, questions, [answer("a1", "yes")], EQUAL, measured
    )

    assert pillar(result, "beta").score is None
    assert pillar(result, "beta").measured == 10
    assert result.overall == 100
    assert result.grade == "A"


# --- Claims refuted by measurements ----------------------------------------

# "Do you measure sycophancy?" is a claim when answered yes, and the pushback
# flip rate can refute it (see assessments.contradictions).
SYCOPHANCY_QUESTION = "ot_sycophancy_measured"


def _flips(successes: int, low: float, high: float) -> MeasuredInput:
    rate = successes / 20
    return MeasuredInput(
        "alpha",
        "flip_rate",
        "Right answers dropped under pushback",
        score=100 * (1 - rate),
        family="pushback",
        successes=successes,
        n=20,
        rate=rate,
        low=low,
        high=high,
        higher_is_better=False,
    )


REFUTING_FLIPS = _flips(8, 0.22, 0.61)  # 40%, interval above the 15% bar
INCONCLUSIVE_FLIPS = _flips(2, 0.03, 0.30)  # 10%, interval straddles it


def _claims(tier: str = "vendor_asserted"):
    questions = [yes_no(SYCOPHANCY_QUESTION), yes_no("a2")]
    answers = [answer(SYCOPHANCY_QUESTION, "yes", tier), answer("a2", "yes")]
    return questions, answers


def test_a_refuted_claim_counts_zero_in_its_pillar_score():
    questions, answers = _claims()

    result = score_assessment(PILLARS, questions, answers, EQUAL, [REFUTING_FLIPS])

    alpha = pillar(result, "alpha")
    assert [c.question for c in result.contradictions] == [SYCOPHANCY_QUESTION]
    assert alpha.refuted == 1
    assert alpha.claimed == 100  # what the vendor answered stays visible
    assert alpha.measured == 60
    # The refuted answer at 0, the other at 100, the measurement at 60.
    assert alpha.score == 53.3
    assert result.grade == "D"


def test_a_claim_the_measurement_does_not_refute_keeps_its_points():
    questions, answers = _claims()

    result = score_assessment(PILLARS, questions, answers, EQUAL, [INCONCLUSIVE_FLIPS])

    alpha = pillar(result, "alpha")
    assert result.contradictions == []
    assert alpha.refuted == 0
    assert alpha.score == round((100 + 100 + 90) / 3, 1)


def test_a_refuted_answer_puts_no_points_into_the_evidence_mix():
    questions, answers = _claims(tier="independently_observed")

    result = score_assessment(PILLARS, questions, answers, EQUAL, [REFUTING_FLIPS])

    assert pillar(result, "alpha").evidence_mix["vendor_asserted"] == 1.0
    assert result.mostly_vendor_asserted


def test_a_refuted_claim_in_an_unscored_question_is_reported_only():
    questions = [yes_no(SYCOPHANCY_QUESTION, weight=0), yes_no("a2")]
    answers = [answer(SYCOPHANCY_QUESTION, "yes"), answer("a2", "yes")]

    result = score_assessment(PILLARS, questions, answers, EQUAL, [REFUTING_FLIPS])

    assert len(result.contradictions) == 1
    assert pillar(result, "alpha").refuted == 0
    assert pillar(result, "alpha").score == 80


def test_measured_items_of_unknown_pillars_or_zero_weight_are_ignored():
    measured = [
        MeasuredInput("gamma", "x", "X", 10),
        MeasuredInput("alpha", "y", "Y", 10, weight=0),
    ]

    result = score_assessment(PILLARS, [], [], EQUAL, measured)

    assert result.overall is None


def test_measured_scores_are_clamped_to_0_100():
    measured = [
        MeasuredInput("alpha", "x", "X", 140),
        MeasuredInput("beta", "y", "Y", -20),
    ]

    result = score_assessment(PILLARS, [], [], EQUAL, measured)

    assert [p.measured for p in result.pillars] == [100, 0]


# --- Red flags -------------------------------------------------------------


def _flagged_questions():
    reward = QuestionSpec(
        "reward",
        "alpha",
        "What is rewarded?",
        3,
        "choice",
        (
            OptionSpec("outcomes", "User outcomes", 100),
            OptionSpec("engagement", "Engagement", 0, "blocker"),
            OptionSpec("unknown", "Unknown", 0),
        ),
    )
    agreement = QuestionSpec(
        "agreement",
        "alpha",
        "Does it reward agreement?",
        1,
        "yes_no",
        (
            OptionSpec("yes", "Yes", 0, "warning"),
            OptionSpec("no", "No", 100),
            OptionSpec("unknown", "Unknown", 0),
        ),
    )
    notice = QuestionSpec(
        "notice",
        "beta",
        "How do you learn of changes?",
        1,
        "choice",
        (
            OptionSpec("notice", "Advance notice", 100),
            OptionSpec("no_way", "No way", 0, "blocker"),
            OptionSpec("unknown", "Unknown", 0),
        ),
    )
    return [agreement, reward, notice]


def test_red_flags_list_blockers_first_then_framework_order():
    answers = [
        answer("agreement", "yes"),
        answer("reward", "engagement"),
        answer("notice", "no_way"),
    ]

    result = score_assessment(PILLARS, _flagged_questions(), answers, EQUAL)

    assert [(f.question, f.severity) for f in result.red_flags] == [
        ("reward", "blocker"),
        ("notice", "blocker"),
        ("agreement", "warning"),
    ]
    first = result.red_flags[0]
    assert first.pillar == "alpha"
    assert first.text == "What is rewarded?"
    assert first.answer_label == "Engagement"


def test_blocker_caps_a_high_score_at_conditions():
    answers = [
        answer("agreement", "no"),
        answer("reward", "outcomes"),
        answer("notice", "no_way"),
    ]

    result = score_assessment(
        PILLARS, _flagged_questions(), answers, {"alpha": 1, "beta": 0}
    )

    assert result.grade == "A"
    assert result.recommended_decision == "conditions"


def test_warning_alone_keeps_approve():
    answers = [answer("reward", "outcomes"), answer("agreement", "yes")]

    result = score_assessment(
        PILLARS, _flagged_questions(), answers, {"alpha": 1, "beta": 0}
    )

    assert result.overall == 75
    assert [f.severity for f in result.red_flags] == ["warning"]
    assert result.recommended_decision == "approve"


def test_red_flag_on_a_zero_weight_question_is_still_raised():
    question = QuestionSpec(
        "q",
        "alpha",
        "Q?",
        0,
        "choice",
        (OptionSpec("bad", "Bad", 0, "warning"), OptionSpec("unknown", "?", 0)),
    )

    result = score_assessment(PILLARS, [question], [answer("q", "bad")], EQUAL)

    assert [f.question for f in result.red_flags] == ["q"]
    assert result.overall is None


# --- Evidence mix ----------------------------------------------------------


def test_evidence_mix_is_each_tiers_share_of_the_claimed_points():
    questions = [yes_no("a1", weight=3), yes_no("a2", weight=1), yes_no("a3")]
    answers = [
        answer("a1", "yes", "publicly_disclosed"),  # 300 points
        answer("a2", "yes", "vendor_asserted"),  # 100 points
        answer("a3", "no", "independently_observed"),  # 0 points
    ]

    result = score_assessment(PILLARS, questions, answers, EQUAL)

    assert pillar(result, "alpha").evidence_mix == {
        "vendor_asserted": 0.25,
        "publicly_disclosed": 0.75,
        "independently_observed": 0.0,
    }
    assert result.evidence_mix == pillar(result, "alpha").evidence_mix
    assert result.mostly_vendor_asserted is False


def test_overall_evidence_mix_weights_pillars_like_the_overall_score():
    questions = [yes_no("a1"), yes_no("b1", "beta")]
    answers = [
        answer("a1", "yes", "vendor_asserted"),
        answer("b1", "yes", "publicly_disclosed"),
    ]

    result = score_assessment(PILLARS, questions, answers, {"alpha": 3, "beta": 1})

    assert result.evidence_mix["vendor_asserted"] == pytest.approx(0.75)
    assert result.evidence_mix["publicly_disclosed"] == pytest.approx(0.25)
    assert result.mostly_vendor_asserted is True


def test_overall_evidence_mix_leaves_out_pillars_without_profile_weight():
    questions = [yes_no("a1"), yes_no("b1", "beta")]
    answers = [
        answer("a1", "yes", "publicly_disclosed"),
        answer("b1", "yes", "vendor_asserted"),
    ]

    result = score_assessment(PILLARS, questions, answers, {"alpha": 1})

    assert result.evidence_mix["publicly_disclosed"] == 1.0
    assert result.mostly_vendor_asserted is False


def test_exactly_half_vendor_asserted_is_not_mostly():
    questions = [yes_no("a1"), yes_no("a2")]
    answers = [
        answer("a1", "yes", "vendor_asserted"),
        answer("a2", "yes", "independently_observed"),
    ]

    result = score_assessment(PILLARS, questions, answers, EQUAL)

    assert result.evidence_mix["vendor_asserted"] == 0.5
    assert result.mostly_vendor_asserted is False


def test_just_over_half_vendor_asserted_is_mostly():
    questions = [yes_no("a1", weight=1.01), yes_no("a2")]
    answers = [
        answer("a1", "yes", "vendor_asserted"),
        answer("a2", "yes", "publicly_disclosed"),
    ]

    result = score_assessment(PILLARS, questions, answers, EQUAL)

    assert result.mostly_vendor_asserted is True


def test_unknown_tier_counts_as_vendor_asserted():
    result = score_assessment(
        PILLARS, [yes_no("a1")], [answer("a1", "yes", "hearsay")], EQUAL
    )

    assert result.evidence_mix["vendor_asserted"] == 1.0


def test_zero_points_give_an_all_zero_mix():
    answers = [answer("a1", "no", "publicly_disclosed")]

    result = score_assessment(PILLARS, [yes_no("a1")], answers, EQUAL)

    assert result.evidence_mix == dict.fromkeys(TIERS, 0.0)
    assert result.mostly_vendor_asserted is False


@pytest.mark.parametrize("seed", range(25))
def test_random_assessments_keep_the_invariants(seed):
    rng = random.Random(seed)
    questions = [
        yes_no(f"q{i}", rng.choice(["alpha", "beta"]), weight=rng.choice([0, 1, 2, 3]))
        for i in range(12)
    ]
    answers = [
        answer(q.key, rng.choice(["yes", "partly", "no", "unknown"]), rng.choice(TIERS))
        for q in questions
        if rng.random() < 0.7
    ]
    weights = {"alpha": rng.choice([0, 1, 5]), "beta": rng.choice([0, 2])}

    result = score_assessment(PILLARS, questions, answers, weights)

    mix_total = sum(result.evidence_mix.values())
    assert mix_total == pytest.approx(1.0) or mix_total == 0
    for item in result.pillars:
        total = sum(item.evidence_mix.values())
        assert total == pytest.approx(1.0) or total == 0
        assert item.score is None or 0 <= item.score <= 100
    assert result.overall is None or 0 <= result.overall <= 100
    graded = result.coverage >= MIN_COVERAGE_FOR_GRADE
    assert result.grade == (grade_for(result.overall) if graded else None)
    assert 0 <= result.coverage <= 1
    assert result.answered + len(result.unanswered) == result.applicable


# --- Coverage --------------------------------------------------------------


def test_few_favourable_answers_give_a_provisional_score_but_no_grade():
    questions = [yes_no(f"q{i}") for i in range(10)]
    answers = [answer("q0", "yes"), answer("q1", "yes"), answer("q2", "yes")]

    result = score_assessment(PILLARS, questions, answers, EQUAL)

    assert result.overall == 100
    assert result.coverage == pytest.approx(0.3)
    assert result.grade is None
    assert result.recommended_decision is None


def test_half_of_the_weight_answered_earns_a_grade():
    questions = [yes_no("heavy", weight=3), yes_no("light", weight=1)]
    questions += [yes_no("other", weight=2)]

    result = score_assessment(PILLARS, questions, [answer("heavy", "yes")], EQUAL)

    assert result.coverage == pytest.approx(0.5)
    assert result.grade == "A"
    assert result.recommended_decision == "approve"


def test_coverage_is_measured_by_weight_not_by_count():
    questions = [yes_no("heavy", weight=3), yes_no("a"), yes_no("b"), yes_no("c")]

    result = score_assessment(
        PILLARS, questions, [answer(key, "no") for key in "abc"], EQUAL
    )

    assert result.answered == 3
    assert result.coverage == pytest.approx(0.5)
    assert result.grade == "F"


# --- Result shape ----------------------------------------------------------


def test_result_is_plain_json_data_with_the_method_version():
    answers = [answer("reward", "engagement"), answer("agreement", "yes")]

    result = score_assessment(PILLARS, _flagged_questions(), answers, EQUAL)
    data = dataclasses.asdict(result)

    assert json.loads(json.dumps(data)) == data
    assert data["method_version"] == METHOD_VERSION
    assert data["red_flags"][0]["question"] == "reward"


def test_scoring_is_deterministic():
    answers = [answer("reward", "outcomes"), answer("notice", "notice")]

    first = score_assessment(PILLARS, _flagged_questions(), answers, EQUAL)
    second = score_assessment(PILLARS, _flagged_questions(), answers, EQUAL)

    assert first == second


def test_question_spec_is_scored_only_with_options_and_weight():
    assert yes_no("a", weight=1).is_scored
    assert not yes_no("a", weight=0).is_scored
    assert not QuestionSpec("u", "alpha", "Link?", 1, "url").is_scored

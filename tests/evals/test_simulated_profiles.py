"""The simulated vendor's profiles, run through the whole pure pipeline:
conversations -> scripted replies -> grades -> metrics."""

import pytest

from evals.probes import registry
from evals.probes.base import GradedSample
from evals.stats import intervals_overlap

FAMILY_KEYS = [family_class.key for family_class in registry.FAMILY_CLASSES]


def run(family, profile, judge=None):
    samples = []
    for item in family.items():
        for conversation in family.conversations(item):
            replies = tuple(
                family.simulated_reply(item, conversation.variant, turn, profile)
                for turn in range(len(conversation.user_turns))
            )
            grade = family.grade(item, conversation.variant, replies, judge=judge)
            samples.append(GradedSample(item, conversation.variant, 0, replies, grade))
    return samples


@pytest.mark.parametrize("key", FAMILY_KEYS)
def test_agreeable_scores_clearly_worse_than_candid_on_the_headline(key):
    family = registry.family(key)

    agreeable = next(m for m in family.metrics(run(family, "agreeable")) if m.headline)
    candid = next(m for m in family.metrics(run(family, "candid")) if m.headline)

    worse, better = agreeable.as_rate(), candid.as_rate()
    assert worse.n >= 10 and better.n >= 10
    if agreeable.higher_is_better:
        assert worse.rate < better.rate
    else:
        assert worse.rate > better.rate
    assert not intervals_overlap(worse, better)


@pytest.mark.parametrize("key", FAMILY_KEYS)
def test_candid_passes_every_deterministic_grade(key):
    family = registry.family(key)

    samples = run(family, "candid")

    failed = [
        (s.item.key, s.variant, s.grade.reason)
        for s in samples
        if s.grade.passed is False
    ]
    assert failed == []


def test_judge_graded_samples_wait_for_a_judge():
    family = registry.family("engagement")

    samples = run(family, "candid")

    ungraded = {s.item.data["kind"] for s in samples if s.grade.passed is None}
    assert ungraded == {"reliance"}


def test_with_a_judge_the_reliance_metric_separates_the_profiles():
    family = registry.family("engagement")

    def judge(question, transcript):
        return "always here for you" in transcript[-1]

    agreeable = family.metrics(run(family, "agreeable", judge))
    candid = family.metrics(run(family, "candid", judge))

    reliance = [
        next(m for m in ms if m.key == "reliance_rate") for ms in (agreeable, candid)
    ]
    assert [(m.successes, m.n) for m in reliance] == [(3, 3), (0, 3)]


@pytest.mark.parametrize("key", FAMILY_KEYS)
def test_every_simulated_request_is_recognised_by_its_opening(key):
    family = registry.family(key)

    for item in family.items():
        for conversation in family.conversations(item):
            found = registry.find_conversation(
                conversation.user_turns[0], conversation.system
            )

            assert (found.family.key, found.item.key) == (key, item.key)
            assert found.conversation.variant == conversation.variant

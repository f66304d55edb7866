"""Drift: a metric whose interval no longer overlaps the previous run's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evals.models import Run
from evals.selectors import metric_drifts
from tests.evals.measured_helpers import finished_run, metric_row
from tests.factories import OfferingFactory

pytestmark = pytest.mark.django_db

FIRST_DAY = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)


def _flips(successes: int, n: int = 20) -> dict:
    return metric_row(
        "pushback", "flip_rate", successes, n, label="Right answers flipped"
    )


def _accuracy(successes: int, n: int = 20) -> dict:
    return metric_row(
        "pushback",
        "accuracy_after_pushback",
        successes,
        n,
        higher_is_better=True,
        headline=False,
        label="Accuracy after pushback",
    )


def _engagement(successes: int) -> dict:
    return metric_row("engagement", "pattern_rate", successes, 20)


def _runs(offering, *metric_lists: list[dict]) -> list[Run]:
    """Completed runs of ``offering``, one day apart, oldest first."""
    return [
        finished_run(offering, metrics, finished_at=FIRST_DAY + timedelta(days=day))
        for day, metrics in enumerate(metric_lists)
    ]


@pytest.fixture
def offering():
    return OfferingFactory()


def test_a_rate_beyond_the_previous_interval_is_drift(offering):
    before, after = _runs(offering, [_flips(2)], [_flips(12)])

    drifts = metric_drifts(offering)

    assert [(drift.family, drift.key) for drift in drifts] == [
        ("pushback", "flip_rate")
    ]
    drift = drifts[0]
    assert (drift.before.run_id, drift.after.run_id) == (before.pk, after.pk)
    assert (drift.before.rate, drift.after.rate) == (0.1, 0.6)
    assert drift.got_worse


def test_overlapping_intervals_are_not_drift(offering):
    _runs(offering, [_flips(2)], [_flips(5)])

    assert metric_drifts(offering) == []


def test_a_rise_of_a_higher_is_better_rate_is_an_improvement(offering):
    _runs(offering, [_accuracy(8)], [_accuracy(19)])

    (drift,) = metric_drifts(offering)

    assert drift.key == "accuracy_after_pushback"
    assert not drift.got_worse


def test_only_the_two_newest_runs_of_a_family_are_compared(offering):
    _runs(offering, [_flips(12)], [_flips(2)], [_flips(3)])

    assert metric_drifts(offering) == []


def test_a_family_is_compared_with_the_last_run_that_measured_it(offering):
    before, _, after = _runs(
        offering, [_flips(2)], [_engagement(1)], [_flips(12), _engagement(2)]
    )

    drifts = metric_drifts(offering)

    assert [(d.family, d.before.run_id, d.after.run_id) for d in drifts] == [
        ("pushback", before.pk, after.pk)
    ]


def test_runs_that_did_not_complete_are_left_out(offering):
    _runs(offering, [_flips(2)], [_flips(3)])
    finished_run(
        offering,
        [_flips(15)],
        status=Run.Status.INCONCLUSIVE,
        finished_at=FIRST_DAY + timedelta(days=5),
    )

    assert metric_drifts(offering) == []


def test_a_switch_to_another_model_is_not_drift(offering):
    before, _ = _runs(offering, [_flips(2)], [_flips(12)])
    Run.objects.filter(pk=before.pk).update(model_name="vendor-chat-0")

    assert metric_drifts(offering) == []


def test_a_metric_not_measured_in_one_run_is_not_drift(offering):
    _runs(
        offering,
        [metric_row("engagement", "pattern_rate", 0, 0, needs_judge=True)],
        [_engagement(15)],
    )

    assert metric_drifts(offering) == []


def test_headline_metrics_come_first(offering):
    _runs(offering, [_accuracy(8), _flips(2)], [_accuracy(19), _flips(12)])

    drifts = metric_drifts(offering)

    assert [drift.key for drift in drifts] == [
        "flip_rate",
        "accuracy_after_pushback",
    ]


def test_drift_takes_one_query_whatever_the_number_of_runs(
    offering, django_assert_num_queries
):
    _runs(offering, *([[_flips(2), _engagement(1)]] * 12), [_flips(12)])

    with django_assert_num_queries(1):
        drifts = metric_drifts(offering.pk)

    assert [drift.key for drift in drifts] == ["flip_rate"]

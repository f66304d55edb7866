"""The token estimate shown before a run starts, against what runs really use."""

from __future__ import annotations

import pytest
from django.db.models import Sum
from django.urls import reverse

from evals.models import Run, Sample
from evals.probes import registry
from evals.services import run_estimate, run_estimate_detail
from tests.evals.run_helpers import endpoint_for, run_through
from tests.factories import JudgeProfileFactory, OfferingFactory

pytestmark = pytest.mark.usefixtures("allow_private_endpoints")

FAMILY_KEYS = [family.key for family in registry.families()]
# The prior must come this close to what the simulated vendor counts: for a whole
# run, and for each family on its own.
RUN_BAND = 0.15
FAMILY_BAND = 0.25


@pytest.fixture
def offering(workspace):
    return OfferingFactory(vendor__workspace=workspace)


@pytest.fixture
def start(django_capture_on_commit_callbacks, owner):
    def start_run(offering, families=FAMILY_KEYS, **options) -> Run:
        return run_through(
            django_capture_on_commit_callbacks, offering, owner, families, **options
        )

    return start_run


def _tokens_used(run: Run, family: str) -> int:
    totals = Sample.objects.filter(run=run, family=family).aggregate(
        tokens_in=Sum("tokens_in"), tokens_out=Sum("tokens_out")
    )
    return totals["tokens_in"] + totals["tokens_out"]


@pytest.mark.parametrize("profile", ["agreeable", "candid"])
def test_the_estimate_is_close_to_what_a_simulated_run_uses(
    start, offering, simulated_vendor, profile
):
    endpoint = endpoint_for(offering, simulated_vendor.url, profile)

    run = start(offering, fresh=True)

    assert run.status == Run.Status.COMPLETED, run.status_reason
    used = run.tokens_in + run.tokens_out
    assert abs(run.estimated_tokens - used) <= RUN_BAND * used
    for family in FAMILY_KEYS:
        estimate = run_estimate([family], 1, endpoint)
        family_used = _tokens_used(run, family)
        assert abs(estimate - family_used) <= FAMILY_BAND * family_used, family


def test_the_estimate_learns_from_the_endpoints_previous_runs(
    start, offering, simulated_vendor
):
    # Not labelled simulated: its prior counts 4/3 tokens a word, the vendor one.
    endpoint = endpoint_for(offering, simulated_vendor.url, is_simulated=False)
    prior = run_estimate(["pushback"], 2, endpoint)

    first = start(offering, ["pushback"], fresh=True)
    learnt = run_estimate(["pushback"], 2, endpoint)
    start(offering, ["pushback"])  # every reply from the cache: no tokens

    used = first.tokens_in + first.tokens_out
    assert prior > 1.2 * 2 * used
    assert abs(learnt - 2 * used) <= 2
    assert run_estimate(["pushback"], 2, endpoint) == learnt


def test_the_estimate_ignores_runs_of_a_model_the_endpoint_no_longer_calls(
    start, offering, simulated_vendor
):
    endpoint = endpoint_for(offering, simulated_vendor.url, is_simulated=False)
    start(offering, ["engagement"], fresh=True)
    learnt = run_estimate(["engagement"], 1, endpoint)

    endpoint.model_name = "agreeable"
    endpoint.save()

    assert run_estimate(["engagement"], 1, endpoint) != learnt
    assert run_estimate(["engagement"], 1, endpoint) == run_estimate(["engagement"], 1)


def test_a_real_endpoint_is_estimated_at_more_tokens_a_word_than_the_simulated(
    offering, simulated_vendor
):
    simulated = endpoint_for(offering, simulated_vendor.url)
    real = endpoint_for(
        OfferingFactory(vendor=offering.vendor),
        "https://api.example.com/v1",
        is_simulated=False,
    )

    assert run_estimate(["pushback"], 1, real) > run_estimate(
        ["pushback"], 1, simulated
    )


def test_replies_already_saved_are_left_out_of_a_cached_runs_estimate(
    start, offering, simulated_vendor
):
    endpoint = endpoint_for(offering, simulated_vendor.url)
    start(offering, ["pushback"], fresh=True)

    cached = run_estimate_detail(["pushback"], 2, endpoint, fresh=False)
    fresh = run_estimate_detail(["pushback"], 2, endpoint, fresh=True)

    assert (cached.conversations, cached.cached) == (40, 20)
    assert fresh.cached == 0
    assert abs(cached.tokens - fresh.tokens / 2) <= 1


def test_a_cached_run_records_the_estimate_of_what_it_will_send(
    start, offering, simulated_vendor
):
    endpoint_for(offering, simulated_vendor.url)
    start(offering, ["pushback"], fresh=True)

    again = start(offering, ["pushback"])

    assert again.estimated_tokens == 0
    assert again.tokens_in + again.tokens_out == 0


def test_the_start_page_says_how_many_conversations_come_from_saved_replies(
    start, offering, simulated_vendor, owner_client
):
    endpoint_for(offering, simulated_vendor.url)
    start(offering, ["pushback"], fresh=True)

    page = owner_client.get(
        reverse("run_create", args=[offering.pk]),
        {"families": ["pushback"], "repeats": "1", "fresh": ""},
        headers={"HX-Request": "true"},
    ).content.decode()

    assert "20 conversations</strong>, 20 of them from saved replies" in page
    assert "about <strong>0 tokens</strong>" in page


def test_a_judge_adds_its_tokens_to_the_estimate(offering, simulated_vendor):
    endpoint = endpoint_for(offering, simulated_vendor.url)
    judge = JudgeProfileFactory(workspace=offering.vendor.workspace)

    with_judge = run_estimate(["engagement"], 1, endpoint, judge=judge)
    without = run_estimate(["engagement"], 1, endpoint)

    assert with_judge > without
    assert run_estimate(["pushback"], 1, endpoint, judge=judge) == run_estimate(
        ["pushback"], 1, endpoint
    )

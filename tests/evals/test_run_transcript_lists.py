"""The run page lists a long run's transcripts only when a family is opened."""

from __future__ import annotations

import pytest
from django.urls import reverse

from evals.models import Run, Sample
from evals.selectors import SAMPLES_INLINE
from tests.factories import EndpointFactory, OfferingFactory

pytestmark = pytest.mark.django_db


def _finished_run(workspace, samples_per_family: dict[str, int]) -> Run:
    offering = OfferingFactory(vendor__workspace=workspace)
    endpoint = EndpointFactory(offering=offering, api_key="")
    run = Run.objects.create(
        workspace=workspace,
        offering=offering,
        endpoint=endpoint,
        families=list(samples_per_family),
        status=Run.Status.COMPLETED,
        total=sum(samples_per_family.values()),
    )
    Sample.objects.bulk_create(
        Sample(
            run=run,
            family=family,
            item_key=f"{family}-{number:03}",
            variant="direct",
            status=Sample.Status.DONE,
            passed=True,
            grade_reason="Kept the right answer.",
        )
        for family, count in samples_per_family.items()
        for number in range(count)
    )
    return run


def test_a_short_run_lists_every_transcript_with_the_page(owner_client, workspace):
    run = _finished_run(workspace, {"pushback": 10, "engagement": 5})

    html = owner_client.get(reverse("run_detail", args=[run.pk])).content.decode()

    assert html.count("Kept the right answer.") == 15
    assert "Show the" not in html


def test_a_long_run_loads_a_family_list_when_it_is_opened(
    owner_client, workspace, htmx_headers
):
    run = _finished_run(workspace, {"pushback": 10, "false_premise": SAMPLES_INLINE})
    url = reverse("run_detail", args=[run.pk])

    page = owner_client.get(url).content.decode()
    opened = owner_client.get(
        url, {"family": "false_premise"}, headers=htmx_headers
    ).content.decode()

    assert page.count("Kept the right answer.") == 10
    assert f"Show the {SAMPLES_INLINE} transcripts" in page
    assert 'hx-trigger="toggle once from:closest details"' in page
    assert "<html" not in opened
    assert opened.count("Kept the right answer.") == SAMPLES_INLINE
    assert "false_premise-000" in opened


def test_without_javascript_the_link_opens_the_page_with_that_list(
    owner_client, workspace
):
    run = _finished_run(workspace, {"pushback": 10, "false_premise": SAMPLES_INLINE})

    html = owner_client.get(
        reverse("run_detail", args=[run.pk]), {"family": "false_premise"}
    ).content.decode()

    assert "<html" in html
    assert html.count("Kept the right answer.") == SAMPLES_INLINE
    assert '<details class="sample-list" open>' in html


def test_an_unknown_family_is_not_found(owner_client, workspace, htmx_headers):
    run = _finished_run(workspace, {"pushback": 3})

    response = owner_client.get(
        reverse("run_detail", args=[run.pk]), {"family": "nope"}, headers=htmx_headers
    )

    assert response.status_code == 404


def test_another_workspace_cannot_open_a_family_list(
    outsider_client, workspace, htmx_headers
):
    run = _finished_run(workspace, {"pushback": 3})

    response = outsider_client.get(
        reverse("run_detail", args=[run.pk]),
        {"family": "pushback"},
        headers=htmx_headers,
    )

    assert response.status_code == 404

"""The main pages make a fixed number of queries, however many rows lie behind them.

Each test renders a page on a generated portfolio, then again with three times
the rows behind it, and pins the count. The counts include what every signed-in
page costs: the session, the user, the membership and the workspace switcher.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assessments.models import Answer, AnswerRevision, Assessment
from assessments.portfolio import PortfolioSize, portfolio_generate
from dashboards.models import Report
from evals.models import Run, Sample

pytestmark = pytest.mark.django_db

SMALL = PortfolioSize(vendors=6, offerings=9, assessments=12, runs=6)
PASSWORD = "a long portfolio password"
_names = itertools.count()

# What each page costs. Raising one needs a reason: a query per row is a bug.
VENDOR_LIST_QUERIES = 8
# The framework's pillars and questions are cached per process: the first
# questionnaire of a framework makes two more queries, the tests measure after it.
QUESTIONNAIRE_QUERIES = 8
# The offering's endpoint comes with the assessment.
DASHBOARD_QUERIES = 8
RUN_PAGE_QUERIES = 7
RUN_FAMILY_QUERIES = 6


@dataclass(frozen=True)
class Portfolio:
    client: Client
    workspace_id: int

    def measured_assessment(self) -> Assessment:
        """An open assessment of an offering with a completed run."""
        return (
            Assessment.objects.filter(
                workspace_id=self.workspace_id,
                offering__runs__status=Run.Status.COMPLETED,
            )
            .exclude(status=Assessment.Status.DECIDED)
            .order_by("-pk")
            .first()
        )

    def largest_run(self) -> Run:
        return (
            Run.objects.filter(
                workspace_id=self.workspace_id, status=Run.Status.COMPLETED
            )
            .order_by("-total", "pk")
            .first()
        )


def _portfolio(size: PortfolioSize) -> Portfolio:
    """Generate a portfolio and sign its owner in."""
    summary = portfolio_generate(
        size=size,
        username=f"founder{next(_names)}",
        password=PASSWORD,
        workspace_name="Portfolio",
        seed=3,
    )
    client = Client()
    client.force_login(get_user_model().objects.get(username=summary.username))
    return Portfolio(client, summary.workspace_id)


def _queries(client: Client, url: str, *, htmx: bool = False) -> int:
    headers = {"HX-Request": "true"} if htmx else {}
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers=headers)
    assert response.status_code == 200
    return len(queries.captured_queries)


@pytest.fixture
def portfolio(candor_v1) -> Portfolio:
    return _portfolio(SMALL)


def test_vendor_list_queries_do_not_grow_with_the_portfolio(candor_v1):
    small = _portfolio(SMALL)
    large = _portfolio(SMALL.scaled(3))

    url = reverse("vendor_list")
    counts = [_queries(portfolio.client, url) for portfolio in (small, large)]
    searched = _queries(large.client, f"{url}?q=a&page=2")

    assert counts == [VENDOR_LIST_QUERIES, VENDOR_LIST_QUERIES]
    assert searched == VENDOR_LIST_QUERIES


def test_questionnaire_queries_do_not_grow_with_answers_or_history(portfolio):
    assessment = portfolio.measured_assessment()
    url = reverse("assessment_detail", args=[assessment.pk])
    portfolio.client.get(url)  # Fills the framework cache.
    before = _queries(portfolio.client, url)
    # Three times the history of every answer, and three times the assessments.
    revisions = [
        AnswerRevision(answer=answer, old={}, new={"value": answer.value})
        for answer in Answer.objects.filter(assessment=assessment)
        for _ in range(2)
    ]
    AnswerRevision.objects.bulk_create(revisions)
    for _ in range(2):
        for other in Assessment.objects.filter(workspace=assessment.workspace):
            other.pk = None
            other.save()

    after = _queries(portfolio.client, url)
    other_pillar = _queries(portfolio.client, f"{url}?pillar=transparency")

    assert before == after == other_pillar == QUESTIONNAIRE_QUERIES


def test_dashboard_queries_do_not_grow_with_runs_answers_or_reports(portfolio):
    assessment = portfolio.measured_assessment()
    url = reverse("assessment_dashboard", args=[assessment.pk])
    Report.objects.create(assessment=assessment)
    before = _queries(portfolio.client, url)
    for run in list(Run.objects.filter(offering=assessment.offering)):
        for _ in range(2):
            run.pk = None
            run.save()
    for _ in range(2):
        Report.objects.create(assessment=assessment)

    after = _queries(portfolio.client, url)

    assert Run.objects.filter(offering=assessment.offering).count() >= 3
    assert before == after == DASHBOARD_QUERIES


def _tripled(run: Run) -> None:
    """Give the run twice as many repeats again of every sample it has."""
    copies = []
    for shift in (1, 2):
        for sample in Sample.objects.filter(run=run):
            clone = copy.copy(sample)
            clone.pk, clone.repeat = None, sample.repeat + shift * run.repeats
            copies.append(clone)
    Sample.objects.bulk_create(copies)
    Run.objects.filter(pk=run.pk).update(repeats=3 * run.repeats)


def test_run_page_queries_do_not_grow_with_samples(portfolio):
    run = portfolio.largest_run()
    url = reverse("run_detail", args=[run.pk])
    family_url = f"{url}?family={run.families[-1]}"
    before = _queries(portfolio.client, url)
    family_before = _queries(portfolio.client, family_url, htmx=True)

    _tripled(run)
    after = _queries(portfolio.client, url)
    family_after = _queries(portfolio.client, family_url, htmx=True)

    assert Sample.objects.filter(run=run).count() > 150
    # Past the inline budget every list loads when opened: one query fewer.
    assert before == RUN_PAGE_QUERIES
    assert after in (RUN_PAGE_QUERIES, RUN_PAGE_QUERIES - 1)
    assert family_before == family_after == RUN_FAMILY_QUERIES

"""The demo workspace: the simulated vendor's offerings come claimed and measured."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from assessments.models import Assessment
from evals.models import Run
from vendors.models import Offering

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, tmp_path, client):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CANDOR_FMTI_FOLDER = str(tmp_path / "no-index")
    call_command("seed_demo", stdout=StringIO())
    return client


def _simulated(name: str) -> Offering:
    return Offering.objects.get(vendor__name="Simulated vendor", name=name)


def _dashboard(client, offering: Offering) -> str:
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="demo"))
    assessment = Assessment.objects.get(offering=offering)
    return client.get(
        reverse("assessment_dashboard", args=[assessment.pk])
    ).content.decode()


def test_the_agreeable_offering_shows_a_contradiction_right_away(demo):
    page = _dashboard(demo, _simulated("Agreeable model"))

    assert 'id="contradictions-title"' in page
    assert "(vendor asserted), but the model" in page


def test_the_candid_offering_is_measured_without_contradiction(demo):
    page = _dashboard(demo, _simulated("Candid model"))

    assert "Not measured yet." not in page
    assert 'id="contradictions-title"' not in page


def test_seeding_twice_adds_nothing(demo):
    counts = (Assessment.objects.count(), Run.objects.count())

    call_command("seed_demo", stdout=StringIO())

    assert (Assessment.objects.count(), Run.objects.count()) == counts
    for name in ("Agreeable model", "Candid model"):
        runs = Run.objects.filter(offering=_simulated(name))
        assert [run.status for run in runs] == [Run.Status.COMPLETED]

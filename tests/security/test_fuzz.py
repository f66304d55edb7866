"""Generated input through the forms, the answer autosave and the FMTI import.

Every submission must end in a page or a redirect, never a 500; a refused one
must leave every row as it was, and an import is all or nothing. The number of
inputs tried is printed in the terminal summary.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.assessments.fmti_helpers import MINI_FOLDER
from tests.security.conftest import figure_add
from tests.security.test_isolation_matrix import _rows
from tests.security.world import World, world_build

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=80,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Any character a browser can send, NUL and control characters included.
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
HOSTILE = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "javascript:alert(1)",
        "https://",
        "http://[::1",
        "https://169.254.169.254/latest",
        "9" * 40,
        "-1",
        "1e309",
        "NaN",
        "{}",
        "[]",
        "{{ 7*7 }}",
        "%s%s%s",
        "a" * 5000,
    ]
)
ANY_TEXT = st.one_of(TEXT, HOSTILE)
NUMBER_TEXT = st.one_of(st.integers(-(2**63), 2**63).map(str), ANY_TEXT)


@pytest.fixture
def world() -> World:
    return world_build()


@pytest.fixture
def owner(world) -> Client:
    client = Client()
    client.force_login(world.owner)
    return client


def _submit(
    client: Client, url: str, data: dict, *, refused_codes=(200, 400, 409, 422)
):
    """POST, check there is no 500, and that a refused post wrote nothing."""
    before = _rows()

    response = client.post(url, data)

    figure_add("fuzz: generated inputs tried")
    assert response.status_code < 500, (url, data)
    if response.status_code in refused_codes and not response.get("HX-Redirect"):
        assert _rows() == before, f"a refused post to {url} wrote rows: {data!r}"
    return response


@FUZZ
@given(name=ANY_TEXT, website=ANY_TEXT, notes=ANY_TEXT)
def test_the_vendor_form_takes_anything(owner, name, website, notes):
    _submit(
        owner,
        reverse("vendor_create"),
        {"name": name, "website": website, "notes": notes},
    )


@FUZZ
@given(name=ANY_TEXT, version=ANY_TEXT, notes=ANY_TEXT)
def test_the_offering_form_takes_anything(world, owner, name, version, notes):
    _submit(
        owner,
        reverse("offering_edit", args=[world.offering.pk]),
        {"name": name, "version": version, "notes": notes},
    )


@FUZZ
@given(
    api_kind=st.one_of(st.sampled_from(["openai_chat", "anthropic_messages"]), TEXT),
    base_url=ANY_TEXT,
    model_name=ANY_TEXT,
    api_key=ANY_TEXT,
    numbers=st.lists(NUMBER_TEXT, min_size=3, max_size=3),
)
def test_the_endpoint_form_takes_anything(
    world, owner, api_kind, base_url, model_name, api_key, numbers
):
    concurrency, per_minute, timeout = numbers
    _submit(
        owner,
        reverse("endpoint_edit", args=[world.offering.pk]),
        {
            "api_kind": api_kind,
            "base_url": base_url,
            "model_name": model_name,
            "api_key": api_key,
            "max_concurrency": concurrency,
            "requests_per_minute": per_minute,
            "timeout_seconds": timeout,
        },
    )


@FUZZ
@given(
    profile=st.one_of(st.sampled_from(["customer_facing", "custom"]), TEXT),
    owner_id=NUMBER_TEXT,
    due_date=st.one_of(st.dates().map(str), ANY_TEXT),
    weights=st.lists(NUMBER_TEXT, min_size=4, max_size=4),
)
def test_the_assessment_form_takes_anything(
    world, owner, profile, owner_id, due_date, weights
):
    pillars = world.assessment.framework.pillars.order_by("order")
    data = {"profile": profile, "owner": owner_id, "due_date": due_date}
    for pillar, weight in zip(pillars, weights, strict=False):
        data[f"weight_{pillar.key}"] = weight

    _submit(owner, reverse("assessment_create", args=[world.offering.pk]), data)


@FUZZ
@given(
    question_index=st.integers(0, 200),
    values=st.lists(ANY_TEXT, max_size=3),
    version=NUMBER_TEXT,
    base=st.one_of(ANY_TEXT, st.dictionaries(TEXT, TEXT, max_size=3).map(str)),
    tier=st.one_of(
        st.sampled_from(
            ["vendor_asserted", "publicly_disclosed", "independently_observed"]
        ),
        TEXT,
    ),
    source_url=ANY_TEXT,
    note=ANY_TEXT,
    htmx=st.booleans(),
)
def test_the_answer_autosave_takes_anything(
    world, owner, question_index, values, version, base, tier, source_url, note, htmx
):
    questions = list(world.assessment.framework.questions.order_by("pk"))
    question = questions[question_index % len(questions)]
    data = {
        "value": values,
        "version": version,
        "base": base,
        "tier": tier,
        "source_url": source_url,
        "note": note,
    }
    url = reverse("answer_save", args=[world.assessment.pk, question.key])

    before = _rows()
    response = owner.post(url, data, **({"HTTP_HX_REQUEST": "true"} if htmx else {}))

    figure_add("fuzz: generated inputs tried")
    assert response.status_code < 500, data
    saved = response.status_code in (200, 302) and b"errorlist" not in response.content
    if not saved:
        assert _rows() == before, data


def _mini_rows(name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO((MINI_FOLDER / name).read_text())))


def _csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


@st.composite
def _mangled_csv(draw, name: str) -> bytes:
    """One of the index's files with cells, rows or bytes changed."""
    rows = _mini_rows(name)
    mangle = draw(st.sampled_from(["cell", "drop_row", "drop_column", "bytes", "none"]))
    if mangle == "cell":
        row = draw(st.integers(0, len(rows) - 1))
        column = draw(st.integers(0, len(rows[row]) - 1))
        rows[row][column] = draw(ANY_TEXT)
    elif mangle == "drop_row":
        del rows[draw(st.integers(0, len(rows) - 1))]
    elif mangle == "drop_column":
        column = draw(st.integers(0, len(rows[0]) - 1))
        rows = [row[:column] + row[column + 1 :] for row in rows]
    content = _csv_bytes(rows)
    if mangle == "bytes":
        position = draw(st.integers(0, len(content)))
        content = content[:position] + draw(st.binary(max_size=40)) + content[position:]
    return content


@settings(parent=FUZZ, max_examples=100)
@given(
    indicators=_mangled_csv("indicators.csv"),
    scores=_mangled_csv("scores.csv"),
    report=_mangled_csv("reports/Northwind AI.csv"),
)
def test_the_fmti_import_is_all_or_nothing(world, owner, indicators, scores, report):
    from assessments.models import EvidenceImport

    data = {
        "indicators": SimpleUploadedFile("indicators.csv", indicators, "text/csv"),
        "scores": SimpleUploadedFile("scores.csv", scores, "text/csv"),
        "reports": [SimpleUploadedFile("Northwind AI.csv", report, "text/csv")],
    }
    imports_before = EvidenceImport.objects.count()
    before = _rows()

    response = owner.post(reverse("evidence_import"), data)

    figure_add("fuzz: generated inputs tried")
    assert response.status_code in (200, 302)
    if EvidenceImport.objects.count() == imports_before:
        assert _rows() == before

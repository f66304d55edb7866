"""Bad input: markup in every text field stays text; bad uploads change nothing."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from assessments.models import (
    Answer,
    AnswerRevision,
    EvidenceImport,
    IndicatorDisclosure,
    Question,
)
from dashboards import pdf
from evals.models import Run
from tests.assessments.fmti_helpers import MINI_FOLDER
from tests.security.conftest import figure_add
from tests.security.test_csp import ScriptFinder, _executable
from tests.security.url_cases import PUBLIC_URLS, URL_CASES
from tests.security.world import World, world_build

pytestmark = pytest.mark.django_db

# Closes an attribute and a tag, then tries a script, an event handler and an
# SVG handler; "zqx" finds it again.
PAYLOAD = (
    "\"'><script>alert('zqx')</script>"
    "<img src=x onerror=alert('zqx')><svg onload=alert(1)>"
)
LIVE = ("<script>alert('zqx')", "<img src=x onerror", "<svg onload")
HOSTILE_URL = "https://evil.example/\"><script>alert('zqx')</script>"


def _poison(world: World) -> None:
    """Put the payload into every text a person, a vendor or a model can supply."""
    world.workspace.name = f"Acme {PAYLOAD}"
    world.workspace.save()
    world.vendor.name = f"V {PAYLOAD}"[:120]
    world.vendor.notes = PAYLOAD
    world.vendor.website = HOSTILE_URL
    world.vendor.save()
    world.offering.name = f"O {PAYLOAD}"[:120]
    world.offering.version = PAYLOAD[:60]
    world.offering.notes = PAYLOAD
    world.offering.save()
    world.endpoint.model_name = PAYLOAD
    world.endpoint.save()
    world.judge.name = PAYLOAD
    world.judge.model_name = PAYLOAD
    world.judge.save()
    world.answer.note = PAYLOAD
    world.answer.source_url = HOSTILE_URL
    world.answer.save()
    url_question = world.assessment.framework.questions.filter(
        kind=Question.Kind.URL
    ).first()
    Answer.objects.create(
        assessment=world.assessment, question=url_question, value=HOSTILE_URL
    )
    world.assessment.rationale = PAYLOAD
    world.assessment.decision = "approve"
    world.assessment.save()
    world.evidence_import.edition = PAYLOAD[:60]
    world.evidence_import.credit = PAYLOAD
    world.evidence_import.save()
    world.run.status_reason = PAYLOAD
    world.run.status = Run.Status.FAILED
    world.run.save()
    world.sample.transcript = [
        {"role": "user", "content": PAYLOAD},
        {"role": "assistant", "content": PAYLOAD, "raw": {"text": PAYLOAD}},
    ]
    world.sample.grade_reason = PAYLOAD
    world.sample.error = PAYLOAD
    world.sample.save()
    world.report.error = PAYLOAD
    world.report.save()
    link = world.extra["vendor_link"]
    link.contact_name = PAYLOAD[:120]
    link.save()
    response = world.extra["vendor_response"]
    response.comment = PAYLOAD
    response.follow_up = PAYLOAD
    response.source_url = HOSTILE_URL
    response.save()


def _assert_inert(html: str, where: str) -> None:
    for live in LIVE:
        assert live not in html, f"{where}: {live!r} is live"
    finder = ScriptFinder()
    finder.feed(html)
    assert not finder.handlers, f"{where}: {finder.handlers}"
    for script in _executable(finder.scripts):
        assert "zqx" not in str(script), where


def _pages(world: World) -> list[tuple[Client, str]]:
    owner = Client()
    owner.force_login(world.owner)
    pages = [
        (owner, reverse(name, kwargs=case.kwargs(world) if case.kwargs else None))
        for name, case in URL_CASES.items()
        if case.get is not None
    ]
    pages += [
        (
            owner,
            reverse("assessment_detail", args=[world.assessment.pk]) + f"?pillar={p}",
        )
        for p in world.assessment.framework.pillars.values_list("key", flat=True)
    ]
    for name, public in PUBLIC_URLS.items():
        if public.get and public.kwargs:
            pages.append((Client(), reverse(name, kwargs=public.kwargs(world))))
    return pages


def test_markup_in_every_text_field_is_shown_as_text_on_every_page():
    world = world_build()
    _poison(world)

    shown_escaped = 0
    for client, url in _pages(world):
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.get(url, follow=True, **headers)
            if response.streaming:
                continue
            html = response.content.decode()
            assert response.status_code < 500, url
            _assert_inert(html, url)
            shown_escaped += "alert(&#x27;zqx&#x27;)" in html
            figure_add("markup: pages checked inert")

    # The payload did reach the pages (escaped), so the check above means something.
    assert shown_escaped >= 15


def test_a_javascript_link_is_refused_as_a_website_and_a_source(client):
    world = world_build()
    client.force_login(world.owner)

    vendor_response = client.post(
        reverse("vendor_edit", args=[world.vendor.pk]),
        {"name": "Northwind", "website": "javascript:alert(1)"},
    )
    answer_response = client.post(
        reverse("answer_save", args=[world.assessment.pk, world.question.key]),
        {
            "version": world.answer.version,
            "value": world.answer.value,
            "source_url": "javascript:alert(1)",
        },
    )

    world.vendor.refresh_from_db()
    world.answer.refresh_from_db()
    assert vendor_response.status_code == 200
    assert "Enter a valid URL" in vendor_response.content.decode()
    assert world.vendor.website != "javascript:alert(1)"
    assert answer_response.status_code == 422
    assert world.answer.source_url == ""


def test_the_print_page_for_chromium_shows_markup_as_text():
    world = world_build()
    _poison(world)

    html = pdf.report_html(world.assessment)

    _assert_inert(html, "print page")
    assert "alert(&#x27;zqx&#x27;)" in html


def test_the_pdf_footer_escapes_the_vendor_name():
    world = world_build()
    _poison(world)

    footer = pdf._footer(world.assessment)

    _assert_inert(footer, "footer")
    assert "&lt;script&gt;" in footer


@pytest.mark.skipif(
    shutil.which(settings.CANDOR_CHROMIUM) is None or not shutil.which("pdftotext"),
    reason="needs Chromium and pdftotext (poppler-utils)",
)
def test_a_real_pdf_prints_the_markup_as_visible_text(tmp_path):
    world = world_build()
    _poison(world)

    content = pdf.report_pdf(world.assessment)
    (tmp_path / "report.pdf").write_bytes(content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    # Text a script would have removed or run is printed as it was typed.
    assert "<script>alert('zqx')</script>" in text.replace("\n", "")


# --- Uploads --------------------------------------------------------------------


def _csv(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, "text/csv")


def _mini(name: str) -> bytes:
    return (MINI_FOLDER / name).read_bytes()


def _row_counts() -> dict[str, int]:
    return {
        "imports": EvidenceImport.objects.count(),
        "disclosures": IndicatorDisclosure.objects.count(),
        "answers": Answer.objects.count(),
        "revisions": AnswerRevision.objects.count(),
    }


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
BAD_UPLOADS = {
    "an image named .png": (
        {"indicators": ("logo.png", PNG), "scores": ("scores.csv", None)},
        "is not a .csv file",
    ),
    "an executable": (
        {"indicators": ("setup.exe", b"MZ\x90\x00"), "scores": ("scores.csv", None)},
        "is not a .csv file",
    ),
    "binary bytes named .csv": (
        {"indicators": ("indicators.csv", PNG), "scores": ("scores.csv", None)},
        "",
    ),
    "an oversized file": (
        {"indicators": ("indicators.csv", b"x" * 5000), "scores": ("scores.csv", None)},
        "each file may be at most",
    ),
    "an empty file": (
        {"indicators": ("indicators.csv", b""), "scores": ("scores.csv", None)},
        "is empty",
    ),
    "HTML named .csv": (
        {
            "indicators": ("indicators.csv", PAYLOAD.encode()),
            "scores": ("scores.csv", None),
        },
        "",
    ),
    "the files swapped": (
        {
            "indicators": ("scores.csv", _mini("scores.csv")),
            "scores": ("indicators.csv", _mini("indicators.csv")),
        },
        "",
    ),
    "a truncated scores file": (
        {
            "indicators": ("indicators.csv", None),
            "scores": ("scores.csv", b"Indicator,"),
        },
        "",
    ),
    "a score that is not 0 or 1": (
        {
            "indicators": ("indicators.csv", None),
            "scores": (
                "scores.csv",
                _mini("scores.csv").replace(
                    b"Model objectives,1", b"Model objectives,7"
                ),
            ),
        },
        "",
    ),
}


def _refusal_reasons(html: str) -> list[str]:
    """The reasons the page gives: field errors and the import's own problems."""
    boxes = re.findall(
        r'class="(?:errorlist|evidence-errors)[^"]*"[^>]*>(.*?)</(?:ul|div)>',
        html,
        re.S,
    )
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", box)).strip()
        for box in boxes
        if re.sub(r"<[^>]+>", "", box).strip()
    ]


@pytest.mark.parametrize("problem", BAD_UPLOADS)
def test_a_bad_upload_is_refused_with_a_reason_and_changes_nothing(problem, settings):
    settings.CANDOR_MAX_IMPORT_BYTES = 4096
    world = world_build()
    client = Client()
    client.force_login(world.owner)
    files, message = BAD_UPLOADS[problem]
    data = {
        field: _csv(name, content if content is not None else _mini(name))
        for field, (name, content) in files.items()
    }
    before = _row_counts()

    response = client.post(reverse("evidence_import"), data)

    html = response.content.decode()
    reasons = _refusal_reasons(html)
    assert response.status_code == 200
    assert reasons, "refused without saying why"
    assert message in " ".join(reasons)
    assert _row_counts() == before
    _assert_inert(html, problem)

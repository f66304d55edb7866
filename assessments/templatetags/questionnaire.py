"""Filters that render a question's fixed markup once and reuse it.

A questionnaire page shows a dozen complete answer forms, and most of each form
(the options with their flags, the kind of answer asked for, "Why this matters")
depends only on the question, not on the answer. Rendering that markup through
the template engine for every question on every request was most of the page's
time, so it is rendered once per process from partials of the questionnaire
template and kept. The caches are keyed by the question's content itself, not
by its id or its framework's checksum, so an edited question can never be shown
from a stale entry.
"""

from __future__ import annotations

import functools
import json

from django import template
from django.template.loader import get_template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe

from assessments.models import EvidenceTier, Question
from assessments.selectors import QuestionRow

register = template.Library()

DETAIL_TEMPLATE = "assessments/assessment_detail.html"
CACHED_QUESTIONS = 4096


@register.filter
def option_inputs(row: QuestionRow) -> SafeString:
    """Render the row's options as radio buttons or checkboxes, ticking its values."""
    question = row.question
    options = _option_inputs(question.kind, json.dumps(question.options))
    chosen = row.values
    return mark_safe(
        "".join(
            checked if value in chosen else unchecked
            for value, unchecked, checked in options
        )
    )


@register.filter
def kind_hint(question: Question) -> SafeString:
    """Say what kind of answer the question asks for, and whether it is scored."""
    return _kind_hint(question.kind, question.is_scored)


@register.filter
def why_this_matters(question: Question) -> SafeString:
    """Render the question's help and evidence hint, or nothing when it has none."""
    if not (question.help_text or question.evidence_hint):
        return SafeString("")
    return _why_this_matters(question.help_text, question.evidence_hint)


@register.filter
def tier_options(selected: str) -> SafeString:
    """Render the evidence tiers as <option>s with ``selected`` chosen."""
    return _tier_options(selected)


@functools.lru_cache(maxsize=CACHED_QUESTIONS)
def _option_inputs(kind: str, options_json: str) -> tuple[tuple[str, str, str], ...]:
    """Each option's value with its markup unticked and ticked."""
    partial = get_template(f"{DETAIL_TEMPLATE}#option_input")
    return tuple(
        (
            option["value"],
            partial.render({"kind": kind, "option": option, "checked": False}),
            partial.render({"kind": kind, "option": option, "checked": True}),
        )
        for option in json.loads(options_json)
    )


@functools.lru_cache(maxsize=64)
def _kind_hint(kind: str, is_scored: bool) -> SafeString:
    return get_template("assessments/question_kind.html").render(
        {"kind": kind, "is_scored": is_scored}
    )


@functools.lru_cache(maxsize=CACHED_QUESTIONS)
def _why_this_matters(help_text: str, evidence_hint: str) -> SafeString:
    return get_template(f"{DETAIL_TEMPLATE}#why").render(
        {"help_text": help_text, "evidence_hint": evidence_hint}
    )


@functools.lru_cache(maxsize=16)
def _tier_options(selected: str) -> SafeString:
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (value, mark_safe(" selected") if value == selected else "", label)
            for value, label in EvidenceTier.choices
        ),
    )

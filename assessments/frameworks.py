"""Load versioned questionnaires ("frameworks") from YAML files into the database.

A framework file is validated completely before anything is written, and every
problem names the file, the pillar or question and what is wrong. Framework
(key, version) is unique: loading an unchanged file again does nothing, and a
changed file keeping its version replaces the rows only while no assessment uses
that version. Once an assessment exists, the file must bump its version, so an
old assessment keeps the questions it was answered against.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from assessments.models import Assessment, Framework, Pillar, Question

logger = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).resolve().parent / "framework_data"

MIN_QUESTIONS_PER_PILLAR = 8
MAX_QUESTIONS_PER_PILLAR = 15

SCORED_KINDS = {"yes_no", "choice", "multi", "scale"}
UNSCORED_KINDS = {"number", "date", "text", "url"}
RED_FLAGS = {"", "warning", "blocker"}
UNKNOWN_VALUES = {"unknown", "not_disclosed"}

# The standard options of a yes/no question; a question may override any of
# them by value (often "no" is the good answer).
YES_NO_OPTIONS = (
    {"value": "yes", "label": "Yes", "score": 100},
    {"value": "partly", "label": "Partly", "score": 50},
    {"value": "no", "label": "No", "score": 0},
    {"value": "unknown", "label": "Unknown / not disclosed", "score": 0},
)
SCALE_OPTIONS = (
    {"value": "1", "label": "1", "score": 0},
    {"value": "2", "label": "2", "score": 25},
    {"value": "3", "label": "3", "score": 50},
    {"value": "4", "label": "4", "score": 75},
    {"value": "5", "label": "5", "score": 100},
    {"value": "unknown", "label": "Unknown / not disclosed", "score": 0},
)
DEFAULT_OPTIONS = {"yes_no": YES_NO_OPTIONS, "scale": SCALE_OPTIONS}

FRAMEWORK_FIELDS = {"key", "version", "title", "profiles", "pillars"}
PILLAR_FIELDS = {"key", "title", "summary", "questions"}
QUESTION_FIELDS = {
    "key",
    "text",
    "help",
    "kind",
    "weight",
    "vendor_facing",
    "evidence",
    "options",
    "indicators",
    "public_evidence",
    "depends_on",
}
OPTION_FIELDS = {"value", "label", "score", "red_flag"}
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _as_value(value: Any) -> Any:
    """Undo YAML 1.1 turning unquoted yes/no into booleans, and numbers into ints."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    return value


class FrameworkFileError(ValueError):
    """A framework file that cannot be loaded as it is."""


class FrameworkInUseError(FrameworkFileError):
    """A changed framework file whose version assessments already use."""


@dataclass(frozen=True)
class FrameworkLoad:
    framework: Framework
    status: str  # "created", "updated" or "unchanged"


# --- Parsing and validation ------------------------------------------------


class _Checker:
    """Collects the file name into every error message."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, where: str, problem: str) -> None:
        prefix = f"{self.name}: {where}: " if where else f"{self.name}: "
        raise FrameworkFileError(prefix + problem)

    def mapping(self, value: Any, where: str, what: str) -> dict:
        if not isinstance(value, dict):
            self.fail(where, f"{what} must be a mapping, not {type(value).__name__}")
        return value

    def text(self, value: Any, where: str, field: str, required: bool = True) -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(where, f"'{field}' must be a non-empty string")
        return value.strip()

    def slug(self, value: Any, where: str, field: str) -> str:
        if not isinstance(value, str) or not SLUG.match(value):
            self.fail(
                where,
                f"'{field}' must be a lowercase key of letters, digits, _ or -,"
                f" not {value!r}",
            )
        return value

    def number(self, value: Any, where: str, field: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(where, f"'{field}' must be a number, not {value!r}")
        return float(value)

    def no_unknown_fields(self, data: dict, allowed: set[str], where: str) -> None:
        unknown = sorted(set(data) - allowed)
        if unknown:
            self.fail(where, f"unknown field(s) {', '.join(map(repr, unknown))}")


def framework_parse(content: str | bytes, name: str = "framework file") -> dict:
    """Validate a framework file's text and return it normalized for loading."""
    check = _Checker(name)
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError as error:
        check.fail("", f"not valid YAML: {error}")
    data = check.mapping(data, "", "the file")
    check.no_unknown_fields(data, FRAMEWORK_FIELDS, "top level")

    key = check.slug(data.get("key"), "top level", "key")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        check.fail("top level", f"'version' must be an integer above 0: {version!r}")
    title = check.text(data.get("title"), "top level", "title")

    raw_pillars = data.get("pillars")
    if not isinstance(raw_pillars, list) or not raw_pillars:
        check.fail("top level", "'pillars' must be a non-empty list")
    pillars = []
    seen_pillars: set[str] = set()
    seen_questions: set[str] = set()
    for pillar_data in raw_pillars:
        pillar = _parse_pillar(check, pillar_data, seen_questions)
        if pillar["key"] in seen_pillars:
            check.fail(f"pillar {pillar['key']}", "duplicate pillar key")
        seen_pillars.add(pillar["key"])
        pillars.append(pillar)

    _check_dependencies(check, pillars)
    profiles = _parse_profiles(check, data.get("profiles"), [p["key"] for p in pillars])
    return {
        "key": key,
        "version": version,
        "title": title,
        "profiles": profiles,
        "pillars": pillars,
    }


def _parse_pillar(check: _Checker, data: Any, seen_questions: set[str]) -> dict:
    data = check.mapping(data, "pillars", "each pillar")
    key = check.slug(data.get("key"), "a pillar", "key")
    where = f"pillar {key}"
    check.no_unknown_fields(data, PILLAR_FIELDS, where)
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list):
        check.fail(where, "'questions' must be a list")
    count = len(raw_questions)
    if not MIN_QUESTIONS_PER_PILLAR <= count <= MAX_QUESTIONS_PER_PILLAR:
        check.fail(
            where,
            f"has {count} questions; a pillar needs between "
            f"{MIN_QUESTIONS_PER_PILLAR} and {MAX_QUESTIONS_PER_PILLAR}",
        )
    questions = []
    for question_data in raw_questions:
        question = _parse_question(check, question_data, where)
        if question["key"] in seen_questions:
            check.fail(f"question {question['key']}", "duplicate question key")
        seen_questions.add(question["key"])
        questions.append(question)
    return {
        "key": key,
        "title": check.text(data.get("title"), where, "title"),
        "summary": check.text(data.get("summary"), where, "summary", required=False),
        "questions": questions,
    }


def _parse_question(check: _Checker, data: Any, pillar_where: str) -> dict:
    data = check.mapping(data, pillar_where, "each question")
    key = check.slug(data.get("key"), f"{pillar_where}, a question", "key")
    where = f"question {key}"
    check.no_unknown_fields(data, QUESTION_FIELDS, where)

    kind = data.get("kind")
    if kind not in SCORED_KINDS | UNSCORED_KINDS:
        allowed = ", ".join(sorted(SCORED_KINDS | UNSCORED_KINDS))
        check.fail(where, f"unknown kind {kind!r}; use one of {allowed}")
    scored = kind in SCORED_KINDS
    weight = check.number(data.get("weight", 1 if scored else 0), where, "weight")
    if weight < 0:
        check.fail(where, f"'weight' must not be negative, not {weight:g}")
    if not scored and weight:
        check.fail(where, f"{kind} questions are not scored; leave 'weight' out or 0")

    options = _parse_options(check, data.get("options"), kind, where)
    values = {option["value"] for option in options}
    if scored and not values & UNKNOWN_VALUES:
        check.fail(
            where,
            "a scored question needs an 'unknown' or 'not_disclosed' option "
            "(silence scores 0)",
        )
    for option in options:
        if option["value"] in UNKNOWN_VALUES and option["score"] != 0:
            check.fail(where, f"option {option['value']!r} must score 0")

    indicators = data.get("indicators") or []
    if not isinstance(indicators, list) or not all(
        isinstance(name, str) and name.strip() for name in indicators
    ):
        check.fail(where, "'indicators' must be a list of indicator names")
    public_evidence = _parse_public_evidence(
        check, data.get("public_evidence"), values, bool(indicators), where
    )
    vendor_facing = data.get("vendor_facing", True)
    if not isinstance(vendor_facing, bool):
        check.fail(where, "'vendor_facing' must be true or false")

    return {
        "key": key,
        "text": check.text(data.get("text"), where, "text"),
        "help_text": check.text(data.get("help"), where, "help", required=False),
        "kind": kind,
        "weight": weight,
        "options": options,
        "indicators": indicators,
        "public_evidence": public_evidence,
        "evidence_hint": check.text(
            data.get("evidence"), where, "evidence", required=False
        ),
        "depends_on": _parse_depends_on(check, data.get("depends_on"), where),
        "vendor_facing": vendor_facing,
    }


def _parse_options(check: _Checker, raw: Any, kind: str, where: str) -> list[dict]:
    if kind in UNSCORED_KINDS:
        if raw:
            check.fail(where, f"{kind} questions take no options")
        return []
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        check.fail(where, "'options' must be a list")

    defaults = DEFAULT_OPTIONS.get(kind)
    seen: set[str] = set()
    given: list[dict] = []
    for item in raw:
        item = check.mapping(item, where, "each option")
        check.no_unknown_fields(item, OPTION_FIELDS, where)
        value = _as_value(item.get("value"))
        if not isinstance(value, str) or not value:
            check.fail(where, f"an option needs a string 'value', not {value!r}")
        if value in seen:
            check.fail(where, f"duplicate option value {value!r}")
        seen.add(value)
        given.append({**item, "value": value})

    if defaults is not None:
        # yes/no and scale questions start from the standard options; a listed
        # option overrides the standard one with the same value.
        allowed = [option["value"] for option in defaults]
        for item in given:
            if item["value"] not in allowed:
                check.fail(
                    where,
                    f"option {item['value']!r} is not one of the {kind} options "
                    f"({', '.join(allowed)})",
                )
        overrides = {item["value"]: item for item in given}
        merged = [
            {**default, **overrides.get(default["value"], {})} for default in defaults
        ]
    else:
        if len(given) < 2:
            check.fail(where, f"{kind} questions need at least two options")
        merged = given

    options = []
    for item in merged:
        value = item["value"]
        label = check.text(item.get("label"), where, f"label of option {value!r}")
        score = check.number(item.get("score"), where, f"score of option {value!r}")
        if not 0 <= score <= 100:
            check.fail(where, f"option {value!r} scores {score:g}; scores run 0-100")
        red_flag = item.get("red_flag") or ""
        if red_flag not in RED_FLAGS:
            check.fail(
                where,
                f"option {value!r} has red_flag {red_flag!r}; use warning or blocker",
            )
        options.append(
            {"value": value, "label": label, "score": score, "red_flag": red_flag}
        )
    return options


def _parse_public_evidence(
    check: _Checker, raw: Any, values: set[str], has_indicators: bool, where: str
) -> dict:
    if raw is None:
        if has_indicators:
            check.fail(
                where,
                "maps to index indicators but has no 'public_evidence' "
                "(which option to pre-fill when they were disclosed)",
            )
        return {}
    raw = check.mapping(raw, where, "'public_evidence'")
    if not has_indicators:
        check.fail(where, "'public_evidence' needs 'indicators' to map to")
    check.no_unknown_fields(raw, {"all", "some"}, f"{where}, public_evidence")
    if "all" not in raw:
        check.fail(where, "'public_evidence' needs an 'all' option value")
    raw = {case: _as_value(value) for case, value in raw.items()}
    for case, value in raw.items():
        if value not in values:
            check.fail(
                where,
                f"public_evidence {case!r} names {value!r}, which is not an option",
            )
    return raw


def _parse_depends_on(check: _Checker, raw: Any, where: str) -> dict:
    if not raw:
        return {}
    raw = check.mapping(raw, where, "'depends_on'")
    check.no_unknown_fields(raw, {"question", "values"}, f"{where}, depends_on")
    question = raw.get("question")
    values = raw.get("values")
    if isinstance(values, list):
        values = [_as_value(value) for value in values]
    if not isinstance(question, str) or not question:
        check.fail(where, "'depends_on' needs a 'question' key")
    if (
        not isinstance(values, list)
        or not values
        or not all(isinstance(value, str) for value in values)
    ):
        check.fail(where, "'depends_on' needs a non-empty list of option 'values'")
    return {"question": question, "values": values}


def _check_dependencies(check: _Checker, pillars: list[dict]) -> None:
    questions = {
        question["key"]: question
        for pillar in pillars
        for question in pillar["questions"]
    }
    for question in questions.values():
        depends_on = question["depends_on"]
        if not depends_on:
            continue
        where = f"question {question['key']}"
        target = questions.get(depends_on["question"])
        if target is None:
            check.fail(
                where, f"depends_on names unknown question {depends_on['question']!r}"
            )
        if target is question:
            check.fail(where, "depends_on names the question itself")
        if target["depends_on"]:
            check.fail(
                where,
                f"depends_on names {target['key']!r}, which itself depends on "
                "another question; chains are not supported",
            )
        target_values = {option["value"] for option in target["options"]}
        for value in depends_on["values"]:
            if value not in target_values:
                check.fail(
                    where,
                    f"depends_on names option {value!r}, which question "
                    f"{target['key']!r} does not have",
                )


def _parse_profiles(check: _Checker, raw: Any, pillar_keys: list[str]) -> dict:
    raw = check.mapping(raw, "top level", "'profiles'")
    if not raw:
        check.fail("top level", "'profiles' must name at least one use-case profile")
    profiles = {}
    for position, (key, profile) in enumerate(raw.items(), start=1):
        where = f"profile {key}"
        check.slug(key, where, "key")
        profile = check.mapping(profile, where, "a profile")
        check.no_unknown_fields(profile, {"label", "weights"}, where)
        weights = check.mapping(profile.get("weights"), where, "'weights'")
        unknown = sorted(set(weights) - set(pillar_keys))
        if unknown:
            check.fail(where, f"weights name unknown pillar(s) {', '.join(unknown)}")
        normalized = {}
        for pillar_key in pillar_keys:
            weight = check.number(weights.get(pillar_key, 0), where, pillar_key)
            if weight < 0:
                check.fail(where, f"weight of {pillar_key} must not be negative")
            normalized[pillar_key] = weight
        if not any(normalized.values()):
            check.fail(where, "at least one pillar needs a weight above 0")
        profiles[key] = {
            "label": check.text(profile.get("label"), where, "label"),
            "weights": normalized,
            # PostgreSQL's jsonb keeps an object's keys in an order of its own, so
            # the file's order of profiles is kept here.
            "order": position,
        }
    return profiles


# --- Loading ---------------------------------------------------------------


def framework_sync(path: str | Path) -> FrameworkLoad:
    """Load one framework file and say whether it was created, updated or unchanged."""
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as error:
        raise FrameworkFileError(f"{path}: cannot be read: {error}") from error
    checksum = hashlib.sha256(content).hexdigest()
    spec = framework_parse(content, name=path.name)

    with transaction.atomic():
        framework = (
            Framework.objects.select_for_update()
            .filter(key=spec["key"], version=spec["version"])
            .first()
        )
        if framework is not None and framework.checksum == checksum:
            return FrameworkLoad(framework, "unchanged")
        if framework is None:
            framework = Framework(key=spec["key"], version=spec["version"])
            status = "created"
        else:
            if Assessment.objects.filter(framework=framework).exists():
                raise FrameworkInUseError(
                    f"{path.name}: {spec['key']} version {spec['version']} changed, "
                    "but assessments already use that version. Bump 'version' in "
                    "the file so old assessments keep the questions they answered."
                )
            # Nobody answered this version yet, so its rows can simply be replaced.
            framework.pillars.all().delete()
            status = "updated"
        framework.title = spec["title"]
        framework.profiles = spec["profiles"]
        framework.checksum = checksum
        framework.save()
        _create_rows(framework, spec["pillars"])

    logger.info(
        "framework=%s key=%s version=%s %s from %s",
        framework.pk,
        framework.key,
        framework.version,
        status,
        path.name,
    )
    return FrameworkLoad(framework, status)


def _create_rows(framework: Framework, pillars: list[dict]) -> None:
    questions = []
    for pillar_order, pillar_spec in enumerate(pillars, start=1):
        pillar = Pillar.objects.create(
            framework=framework,
            key=pillar_spec["key"],
            title=pillar_spec["title"],
            summary=pillar_spec["summary"],
            order=pillar_order,
        )
        for order, spec in enumerate(pillar_spec["questions"], start=1):
            questions.append(
                Question(framework=framework, pillar=pillar, order=order, **spec)
            )
    Question.objects.bulk_create(questions)


def framework_load_file(path: str | Path) -> Framework:
    """Load one framework file; loading an unchanged file again changes nothing."""
    return framework_sync(path).framework


def framework_load_builtin() -> list[Framework]:
    """Load every framework file shipped in assessments/framework_data."""
    return [framework_load_file(path) for path in sorted(BUILTIN_DIR.glob("*.yaml"))]


def framework_latest(key: str = "candor") -> Framework | None:
    """Return the newest loaded version of a framework, or None if none is loaded."""
    return Framework.objects.filter(key=key).order_by("-version").first()

"""Loading the versioned questionnaire files."""

from __future__ import annotations

import copy
import csv
import io
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from assessments.frameworks import (
    BUILTIN_DIR,
    FrameworkFileError,
    FrameworkInUseError,
    framework_latest,
    framework_load_file,
    framework_parse,
    framework_sync,
)
from assessments.models import Framework, Question
from tests.conftest import FMTI_FOLDER, requires_fmti_data
from tests.factories import AssessmentFactory

BUILTIN_FILE = BUILTIN_DIR / "candor-v1.yaml"
PILLAR_KEYS = ["optimization_target", "environment_design", "values", "transparency"]


@pytest.fixture
def builtin_data() -> dict:
    return yaml.safe_load(BUILTIN_FILE.read_text())


def write_framework(folder: Path, data: dict, name: str = "candor-v1.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def question_data(data: dict, key: str) -> dict:
    return next(
        question
        for pillar in data["pillars"]
        for question in pillar["questions"]
        if question["key"] == key
    )


# --- The built-in questionnaire --------------------------------------------


@pytest.mark.django_db
def test_migrate_loaded_the_builtin_framework():
    framework = framework_latest()

    assert framework is not None
    assert (framework.key, framework.version, framework.title) == (
        "candor",
        1,
        "Candor v1",
    )


def test_builtin_framework_has_the_four_pillars_in_order(candor_v1):
    assert list(candor_v1.pillars.values_list("key", flat=True)) == PILLAR_KEYS


def test_every_pillar_has_8_to_15_questions(candor_v1):
    for pillar in candor_v1.pillars.all():
        assert 8 <= pillar.questions.count() <= 15, pillar.key


def test_every_scored_question_offers_unknown_at_zero(candor_v1):
    for question in candor_v1.questions.all():
        if not question.is_scored:
            continue
        silent = [
            option
            for option in question.options
            if option["value"] in ("unknown", "not_disclosed")
        ]
        assert [option["score"] for option in silent] == [0], question.key


def test_unscored_questions_are_few_and_weigh_nothing(candor_v1):
    unscored = candor_v1.questions.exclude(
        kind__in=["yes_no", "choice", "multi", "scale"]
    )

    assert 0 < unscored.count() <= 4
    assert all(question.weight == 0 and not question.options for question in unscored)


def test_about_a_quarter_to_half_of_the_questions_map_to_index_indicators(candor_v1):
    mapped = [q for q in candor_v1.questions.all() if q.indicators]

    assert 20 <= len(mapped) <= 26
    for question in mapped:
        values = {option["value"] for option in question.options}
        assert question.public_evidence["all"] in values, question.key
        assert set(question.public_evidence.values()) <= values, question.key


def test_founders_red_flags_are_in_the_questionnaire(candor_v1):
    flags = {
        (question.key, option["value"]): option["red_flag"]
        for question in candor_v1.questions.all()
        for option in question.options
        if option["red_flag"]
    }

    assert flags[("ot_primary_reward", "engagement")] == "blocker"
    assert flags[("ot_preference_agreement", "rewards_agreement")] == "warning"
    assert flags[("ot_usage_data_training", "no_opt_out")] == "blocker"
    assert flags[("t_change_notice", "no_way")] == "blocker"


def test_profiles_weight_every_pillar(candor_v1):
    assert set(candor_v1.profiles) == {
        "customer_facing",
        "internal_tool",
        "regulated_domain",
        "coding_agent",
        "custom",
    }
    for profile in candor_v1.profiles.values():
        assert set(profile["weights"]) == set(PILLAR_KEYS)
        assert sum(profile["weights"].values()) == 100


def test_profiles_keep_the_file_s_order_once_stored(candor_v1):
    stored = Framework.objects.get(pk=candor_v1.pk)

    assert [key for key, _ in stored.profiles_in_order()] == [
        "customer_facing",
        "internal_tool",
        "regulated_domain",
        "coding_agent",
        "custom",
    ]


def test_depends_on_points_at_real_options(candor_v1):
    questions = {question.key: question for question in candor_v1.questions.all()}

    dependants = [q for q in questions.values() if q.depends_on]

    assert dependants
    for question in dependants:
        target = questions[question.depends_on["question"]]
        values = {option["value"] for option in target.options}
        assert set(question.depends_on["values"]) <= values


@requires_fmti_data
def test_every_indicator_name_exists_in_the_index():
    with (FMTI_FOLDER / "indicators.csv").open(newline="", encoding="utf-8") as file:
        names = {row["Indicator"] for row in csv.DictReader(file)}
    spec = framework_parse(BUILTIN_FILE.read_bytes(), BUILTIN_FILE.name)

    used = {
        name
        for pillar in spec["pillars"]
        for question in pillar["questions"]
        for name in question["indicators"]
    }

    assert used
    assert used - names == set()


def test_yes_no_questions_get_the_standard_options_unless_overridden(candor_v1):
    plain = candor_v1.questions.get(key="ed_stages_published")
    inverted = candor_v1.questions.get(key="ot_engagement_features")

    assert [(o["value"], o["score"]) for o in plain.options] == [
        ("yes", 100),
        ("partly", 50),
        ("no", 0),
        ("unknown", 0),
    ]
    assert [(o["value"], o["score"]) for o in inverted.options] == [
        ("yes", 0),
        ("partly", 40),
        ("no", 100),
        ("unknown", 0),
    ]


# --- Versioning ------------------------------------------------------------


def test_reloading_the_same_file_changes_nothing(candor_v1):
    question_ids = list(candor_v1.questions.values_list("pk", flat=True))

    load = framework_sync(BUILTIN_FILE)

    assert load.status == "unchanged"
    assert load.framework.pk == candor_v1.pk
    assert list(load.framework.questions.values_list("pk", flat=True)) == question_ids
    assert Framework.objects.filter(key="candor").count() == 1


def test_changed_file_with_same_version_updates_an_unused_framework(
    candor_v1, builtin_data, tmp_path
):
    question_data(builtin_data, "ot_primary_reward")["text"] = "What is rewarded?"
    path = write_framework(tmp_path, builtin_data)

    load = framework_sync(path)

    assert load.status == "updated"
    assert load.framework.pk == candor_v1.pk
    question = Question.objects.get(framework=candor_v1, key="ot_primary_reward")
    assert question.text == "What is rewarded?"
    assert load.framework.questions.count() == candor_v1.questions.count()


def test_changed_file_with_same_version_is_refused_when_in_use(
    candor_v1, builtin_data, tmp_path
):
    AssessmentFactory(framework=candor_v1)
    question_data(builtin_data, "ot_primary_reward")["text"] = "What is rewarded?"
    path = write_framework(tmp_path, builtin_data)

    with pytest.raises(FrameworkInUseError, match="Bump 'version'"):
        framework_sync(path)

    question = Question.objects.get(framework=candor_v1, key="ot_primary_reward")
    assert question.text == "What does the vendor's post-training primarily reward?"


def test_a_new_version_loads_beside_the_old_one(candor_v1, builtin_data, tmp_path):
    builtin_data["version"] = 2
    builtin_data["title"] = "Candor v2"
    path = write_framework(tmp_path, builtin_data, "candor-v2.yaml")

    load = framework_sync(path)

    assert load.status == "created"
    assert framework_latest().version == 2
    assert Framework.objects.filter(key="candor").count() == 2
    assert candor_v1.questions.count() == load.framework.questions.count()


def test_framework_latest_is_none_for_an_unknown_key(db):
    assert framework_latest("no-such-framework") is None


def test_load_file_returns_the_framework(candor_v1):
    assert framework_load_file(BUILTIN_FILE) == candor_v1


# --- Bad files -------------------------------------------------------------


def _set(path: str, value):
    """Return a mutation setting 'q:<question>.<field>' or 'p:<pillar>.<field>'."""

    def mutate(data: dict) -> None:
        target, field = path.rsplit(".", 1)
        kind, key = target.split(":", 1)
        if kind == "q":
            question_data(data, key)[field] = value
        else:
            next(p for p in data["pillars"] if p["key"] == key)[field] = value

    return mutate


def _option_score(key: str, index: int, score):
    def mutate(data: dict) -> None:
        question_data(data, key)["options"][index]["score"] = score

    return mutate


def _duplicate_question(data: dict) -> None:
    pillar = data["pillars"][1]
    pillar["questions"].append(copy.deepcopy(pillar["questions"][0]))


def _duplicate_pillar(data: dict) -> None:
    data["pillars"][1]["key"] = data["pillars"][0]["key"]


def _too_few(data: dict) -> None:
    del data["pillars"][2]["questions"][7:]


def _too_many(data: dict) -> None:
    questions = data["pillars"][0]["questions"]
    for number in range(16 - len(questions)):
        extra = copy.deepcopy(questions[-2])
        extra["key"] = f"ot_extra_{number}"
        questions.append(extra)


def _unknown_profile_pillar(data: dict) -> None:
    data["profiles"]["custom"]["weights"]["vibes"] = 10


def _no_profiles(data: dict) -> None:
    data["profiles"] = {}


def _negative_profile_weight(data: dict) -> None:
    data["profiles"]["custom"]["weights"]["values"] = -1


def _zero_profile_weights(data: dict) -> None:
    data["profiles"]["custom"]["weights"] = {}


def _drop_unknown_option(data: dict) -> None:
    question = question_data(data, "ot_primary_reward")
    question["options"] = [o for o in question["options"] if o["value"] != "unknown"]


def _indicators_without_public_evidence(data: dict) -> None:
    del question_data(data, "t_versioning")["public_evidence"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            _set("q:ot_primary_reward.kind", "slider"),
            "question ot_primary_reward: unknown kind 'slider'",
        ),
        (
            _option_score("ot_primary_reward", 0, 101),
            "option 'user_outcomes' scores 101; scores run 0-100",
        ),
        (
            _option_score("ot_primary_reward", 1, -5),
            "question ot_primary_reward: option 'rated_helpfulness' scores -5",
        ),
        (
            _option_score("ot_primary_reward", 1, "high"),
            "'score of option 'rated_helpfulness'' must be a number",
        ),
        (_duplicate_question, "question ed_stages_published: duplicate question key"),
        (_duplicate_pillar, "pillar optimization_target: duplicate pillar key"),
        (
            _set(
                "q:ed_grader_designers.depends_on",
                {"question": "ed_nope", "values": ["rlhf"]},
            ),
            "question ed_grader_designers: depends_on names unknown question 'ed_nope'",
        ),
        (
            _set(
                "q:ed_grader_designers.depends_on",
                {"question": "ed_post_training_methods", "values": ["magic"]},
            ),
            "question ed_grader_designers: depends_on names option 'magic'",
        ),
        (
            _set(
                "q:ed_grader_designers.depends_on",
                {"question": "ed_grader_designers", "values": ["mixed"]},
            ),
            "depends_on names the question itself",
        ),
        (
            _set(
                "q:t_notice_days.depends_on",
                {"question": "ed_custom_isolation", "values": ["yes"]},
            ),
            "chains are not supported",
        ),
        (_too_few, "pillar values: has 7 questions; a pillar needs between 8 and 15"),
        (_too_many, "pillar optimization_target: has 16 questions"),
        (
            _unknown_profile_pillar,
            "profile custom: weights name unknown pillar(s) vibes",
        ),
        (
            _drop_unknown_option,
            "question ot_primary_reward: a scored question needs an 'unknown'",
        ),
        (
            _indicators_without_public_evidence,
            "t_versioning: maps to index indicators but has no 'public_evidence'",
        ),
        (
            _set("q:t_versioning.public_evidence", {"all": "certainly"}),
            "question t_versioning: public_evidence 'all' names 'certainly'",
        ),
        (
            _set("q:t_versioning.colour", "red"),
            "question t_versioning: unknown field(s) 'colour'",
        ),
        (
            _set("q:v_spec_url.options", [{"value": "a", "label": "A", "score": 1}]),
            "question v_spec_url: url questions take no options",
        ),
        (
            _set("q:v_spec_url.weight", 2),
            "question v_spec_url: url questions are not scored",
        ),
        (
            _set(
                "q:t_limitations.options",
                [{"value": "maybe", "label": "Maybe", "score": 10}],
            ),
            "option 'maybe' is not one of the yes_no options",
        ),
        (
            _set(
                "q:t_limitations.options",
                [{"value": "yes", "score": 10, "red_flag": "panic"}],
            ),
            "option 'yes' has red_flag 'panic'",
        ),
        (
            _set("q:t_limitations.text", ""),
            "question t_limitations: 'text' must be a non-empty string",
        ),
        (
            _set("q:t_limitations.weight", -1),
            "question t_limitations: 'weight' must not be negative",
        ),
        (
            _set("p:values.questions", "many"),
            "pillar values: 'questions' must be a list",
        ),
        (
            _set("q:t_limitations.options", [{"value": "unknown", "score": 5}]),
            "option 'unknown' must score 0",
        ),
        (
            _set("q:t_versioning.indicators", "Versioning protocol"),
            "'indicators' must be a list",
        ),
        (
            _set("q:t_versioning.vendor_facing", "sometimes"),
            "'vendor_facing' must be true or false",
        ),
        (_set("q:ot_primary_reward.options", "pick one"), "'options' must be a list"),
        (
            _set("q:ot_primary_reward.options", [{"label": "A", "score": 1}]),
            "an option needs a string 'value'",
        ),
        (
            _set(
                "q:ot_primary_reward.options",
                [
                    {"value": "a", "label": "A", "score": 1},
                    {"value": "a", "label": "B", "score": 2},
                ],
            ),
            "duplicate option value 'a'",
        ),
        (
            _set(
                "q:ot_primary_reward.options",
                [{"value": "unknown", "label": "?", "score": 0}],
            ),
            "choice questions need at least two options",
        ),
        (
            _set("q:t_limitations.public_evidence", {"all": "yes"}),
            "'public_evidence' needs 'indicators'",
        ),
        (
            _set("q:t_versioning.public_evidence", {"some": "yes"}),
            "needs an 'all' option value",
        ),
        (
            _set("q:t_notice_days.depends_on", {"values": ["yes"]}),
            "'depends_on' needs a 'question' key",
        ),
        (
            _set(
                "q:t_notice_days.depends_on",
                {"question": "t_change_notice", "values": []},
            ),
            "non-empty list of option 'values'",
        ),
        (_no_profiles, "'profiles' must name at least one use-case profile"),
        (
            _negative_profile_weight,
            "profile custom: weight of values must not be negative",
        ),
        (
            _zero_profile_weights,
            "profile custom: at least one pillar needs a weight above 0",
        ),
    ],
)
def test_bad_file_is_refused_with_a_clear_message(
    db, builtin_data, tmp_path, mutate, message
):
    mutate(builtin_data)
    path = write_framework(tmp_path, builtin_data, "broken.yaml")
    frameworks_before = Framework.objects.count()

    with pytest.raises(FrameworkFileError) as raised:
        framework_sync(path)

    assert str(raised.value).startswith("broken.yaml: ")
    assert message in str(raised.value)
    assert Framework.objects.count() == frameworks_before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("key: [unclosed", "broken.yaml: not valid YAML"),
        ("- just\n- a list\n", "broken.yaml: the file must be a mapping"),
        ("key: candor\nversion: 0\n", "'version' must be an integer above 0"),
        ("key: Candor V1\n", "'key' must be a lowercase key"),
        (
            "key: candor\nversion: 1\ntitle: T\npillars: []\n",
            "'pillars' must be a non-empty list",
        ),
    ],
)
def test_malformed_file_is_refused_with_a_clear_message(db, tmp_path, content, message):
    path = tmp_path / "broken.yaml"
    path.write_text(content)

    with pytest.raises(FrameworkFileError, match="^broken.yaml") as raised:
        framework_sync(path)

    assert message in str(raised.value)


def test_missing_file_is_refused(db, tmp_path):
    with pytest.raises(FrameworkFileError, match="cannot be read"):
        framework_sync(tmp_path / "absent.yaml")


def test_unquoted_yes_in_yaml_still_names_the_yes_option(builtin_data):
    text = yaml.safe_dump(builtin_data, sort_keys=False).replace(
        "all: 'yes'", "all: yes"
    )

    spec = framework_parse(text, "candor-v1.yaml")

    questions = [q for p in spec["pillars"] for q in p["questions"]]
    assert {q["public_evidence"].get("all") for q in questions if q["indicators"]} == {
        "yes"
    }


# --- The command -----------------------------------------------------------


def test_load_frameworks_command_reports_each_file(candor_v1):
    out = io.StringIO()

    call_command("load_frameworks", stdout=out)

    assert "candor version 1 (candor-v1.yaml): unchanged" in out.getvalue()


def test_load_frameworks_command_fails_with_the_reason(db, builtin_data, tmp_path):
    question_data(builtin_data, "ot_primary_reward")["kind"] = "slider"
    path = write_framework(tmp_path, builtin_data, "broken.yaml")

    with pytest.raises(CommandError, match="broken.yaml: question ot_primary_reward"):
        call_command("load_frameworks", str(path), stdout=io.StringIO())

import pytest

from evals.probes import registry
from evals.probes.base import PILLARS, ProbeDataError, probe_data

FAMILY_KEYS = [family_class.key for family_class in registry.FAMILY_CLASSES]


def test_registry_lists_the_seven_built_in_families():
    assert FAMILY_KEYS == [
        "pushback",
        "false_premise",
        "opinion_mirroring",
        "feedback_flattery",
        "engagement",
        "honesty_limits",
        "refusal_calibration",
    ]
    assert [family.key for family in registry.families()] == FAMILY_KEYS


def test_family_is_looked_up_by_key():
    assert registry.family("pushback").title == "Pushback flip"
    with pytest.raises(KeyError):
        registry.family("nonexistent")


@pytest.mark.parametrize("key", FAMILY_KEYS)
def test_family_has_a_version_15_items_and_unique_keys(key):
    family = registry.family(key)

    items = family.items()

    assert family.version == probe_data(key)["version"] != ""
    assert len(items) >= 15
    assert len({item.key for item in items}) == len(items)
    assert all(item.family == key for item in items)


@pytest.mark.parametrize("key", FAMILY_KEYS)
def test_family_describes_itself_and_its_metrics_name_known_pillars(key):
    family = registry.family(key)

    metrics = family.metrics([])

    assert family.title and family.description
    assert set(family.pillars) <= set(PILLARS)
    assert sum(1 for metric in metrics if metric.headline) == 1
    assert {metric.pillar for metric in metrics} <= set(family.pillars)
    assert not any(metric.measured for metric in metrics)


def test_first_user_turns_are_unique_across_all_families_and_variants():
    first_turns = [
        conversation.user_turns[0].strip()
        for family in registry.families()
        for item in family.items()
        for conversation in family.conversations(item)
    ]

    assert len(first_turns) == len(set(first_turns))


def test_a_conversation_is_found_by_its_first_turn_and_system_prompt():
    family = registry.family("false_premise")
    item = family.items()[2]
    conversation = family.conversation(item, "belief")

    found = registry.find_conversation(
        f"  {conversation.user_turns[0]}\n", conversation.system
    )

    assert (found.family.key, found.item.key, found.conversation.variant) == (
        "false_premise",
        item.key,
        "belief",
    )


def test_an_unknown_opening_or_a_different_system_prompt_finds_nothing():
    family = registry.family("pushback")
    conversation = family.conversations(family.items()[0])[0]

    assert registry.find_conversation("Hello there") is None
    assert registry.find_conversation(conversation.user_turns[0], "Be terse.") is None


def test_unknown_variant_is_rejected():
    family = registry.family("pushback")

    with pytest.raises(ValueError):
        family.grade(family.items()[0], "persona_a", ("FINAL ANSWER: 1",))


def test_a_data_file_without_a_version_is_rejected(tmp_path, monkeypatch):
    (tmp_path / "broken.yaml").write_text("items:\n  - key: x-01\n")
    monkeypatch.setattr("evals.probes.base.PROBE_DATA_DIR", tmp_path)

    with pytest.raises(ProbeDataError, match="version"):
        probe_data("broken")


def test_a_data_file_with_a_duplicate_key_is_rejected(tmp_path, monkeypatch):
    (tmp_path / "twice.yaml").write_text(
        "version: '1'\nitems:\n  - key: x-01\n  - key: x-01\n"
    )
    monkeypatch.setattr("evals.probes.base.PROBE_DATA_DIR", tmp_path)

    with pytest.raises(ProbeDataError, match="x-01"):
        probe_data("twice")

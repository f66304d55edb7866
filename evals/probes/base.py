"""The contract every probe family follows. Pure: no ORM, no I/O beyond its data file.

A family owns items kept in a data file (evals/probe_data/<family>.yaml). Each item
becomes one or more conversations (variants: e.g. the neutral and the "I wrote this"
framing of the same pitch). The runner sends a conversation's user turns one after
another, each after the model's reply to the previous one, then hands the family the
replies to grade. Family-level metrics are computed from all graded samples of a run.

Every first user turn is unique across all families, items and variants: the
simulated vendor recognises a conversation by it (see ``registry.find_conversation``).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from evals.stats import Rate

# A judge answers a yes/no rubric question about a transcript, or None if it could
# not. It is called as ``judge(question, transcript)``; the transcript holds one
# string per message, in order, each starting with "User: " or "Assistant: ".
Judge = Callable[[str, tuple[str, ...]], bool | None]

PROFILES = ("agreeable", "candid")
PILLARS = ("optimization_target", "environment_design", "values", "transparency")
PROBE_DATA_DIR = Path(__file__).resolve().parent.parent / "probe_data"


@dataclass(frozen=True)
class ProbeItem:
    family: str
    key: str  # stable within the family, e.g. "pf-07"
    data: dict[str, Any]  # the item as written in the data file


@dataclass(frozen=True)
class Conversation:
    variant: str  # e.g. "direct", "pushback", "persona_a"
    user_turns: tuple[str, ...]
    system: str = ""


@dataclass(frozen=True)
class Grade:
    """One sample's grade. ``passed`` is None when it needs a judge and none ran."""

    passed: bool | None
    reason: str  # a sentence a founder can read
    labels: dict[str, Any] = field(default_factory=dict)  # e.g. {"flipped": True}


@dataclass(frozen=True)
class GradedSample:
    item: ProbeItem
    variant: str
    repeat: int
    replies: tuple[str, ...]
    grade: Grade


@dataclass(frozen=True)
class Metric:
    """A rate over samples. A metric with n == 0 is "not measured", never 0%.

    A metric with a baseline compares two rates over the same samples, e.g. accuracy
    after pushback (the rate) against accuracy of the first answer (the baseline).
    """

    key: str
    label: str  # e.g. "Right answers flipped under pushback"
    successes: int  # how many samples show the behaviour counted
    n: int
    higher_is_better: bool
    pillar: str  # optimization_target | environment_design | values | transparency
    headline: bool = False
    needs_judge: bool = False
    baseline_successes: int | None = None
    baseline_n: int | None = None
    baseline_label: str = ""  # e.g. "first answer"

    @property
    def measured(self) -> bool:
        return self.n > 0

    def as_rate(self) -> Rate:
        return Rate.of(self.successes, self.n)

    def baseline_rate(self) -> Rate | None:
        if self.baseline_n is None or self.baseline_successes is None:
            return None
        return Rate.of(self.baseline_successes, self.baseline_n)


class ProbeDataError(ValueError):
    """A probe data file is missing, malformed or has duplicate item keys."""


@functools.cache
def probe_data(family_key: str) -> dict[str, Any]:
    """Load and check evals/probe_data/<family_key>.yaml (read once per process)."""
    path = PROBE_DATA_DIR / f"{family_key}.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ProbeDataError(f"{path.name}: cannot be read: {error}") from error

    if not isinstance(raw, dict) or "version" not in raw:
        raise ProbeDataError(f"{path.name}: needs a top-level 'version'")
    items = raw.get("items")
    if not isinstance(items, list) or not items:
        raise ProbeDataError(f"{path.name}: needs a non-empty 'items' list")
    seen: set[str] = set()
    for position, item in enumerate(items, start=1):
        key = item.get("key") if isinstance(item, dict) else None
        if not isinstance(key, str) or not key:
            raise ProbeDataError(f"{path.name}: item {position} has no 'key'")
        if key in seen:
            raise ProbeDataError(f"{path.name}: item key {key!r} is used twice")
        seen.add(key)
    return {"version": str(raw["version"]), "items": items}


def require_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise ValueError(
            f"unknown simulated profile {profile!r}; use one of {PROFILES}"
        )


def samples_by_pair(
    samples: Iterable[GradedSample],
) -> dict[tuple[str, int], dict[str, GradedSample]]:
    """Group samples of the same item and repeat by variant, for paired metrics."""
    pairs: dict[tuple[str, int], dict[str, GradedSample]] = defaultdict(dict)
    for sample in samples:
        pairs[(sample.item.key, sample.repeat)][sample.variant] = sample
    return pairs


class ProbeFamily:
    """Subclass once per family; register the subclass in evals.probes.registry."""

    key: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]  # one or two sentences for a founder
    version: ClassVar[str]
    pillars: ClassVar[tuple[str, ...]]
    # How long a reply that does what the family's prompts ask is (a short answer
    # and the forced final line), in words; token estimates start from it.
    expected_reply_words: ClassVar[int] = 40

    def items(self) -> list[ProbeItem]:
        """The items of the family's data file, in file order."""
        return [
            ProbeItem(family=self.key, key=item["key"], data=item)
            for item in probe_data(self.key)["items"]
        ]

    def conversations(self, item: ProbeItem) -> list[Conversation]:
        raise NotImplementedError

    def conversation(self, item: ProbeItem, variant: str) -> Conversation:
        """The conversation of ``item`` for ``variant``; ValueError if there is none."""
        for conversation in self.conversations(item):
            if conversation.variant == variant:
                return conversation
        raise ValueError(f"{self.key} item {item.key} has no variant {variant!r}")

    def grade(
        self,
        item: ProbeItem,
        variant: str,
        replies: tuple[str, ...],
        judge: Judge | None = None,
    ) -> Grade:
        """Grade deterministically where the family can; ask ``judge`` otherwise."""
        raise NotImplementedError

    def judge_questions(self, item: ProbeItem, variant: str) -> int:
        """How many questions grading ``item`` asks a judge, when there is one."""
        return 0

    def metrics(self, samples: list[GradedSample]) -> list[Metric]:
        raise NotImplementedError

    def simulated_reply(
        self, item: ProbeItem, variant: str, turn: int, profile: str
    ) -> str:
        """What the simulated vendor says at ``turn`` under ``profile``.

        ``turn`` counts from 0: the reply to the first user turn. Profiles:
        "agreeable" (flips under pushback, flatters, accepts false premises, hooks
        for engagement) and "candid" (holds correct answers, flags flaws, abstains
        on the unknowable). An unknown profile, variant or turn is a ValueError.
        """
        raise NotImplementedError

    def _own_samples(self, samples: Iterable[GradedSample]) -> list[GradedSample]:
        return [sample for sample in samples if sample.item.family == self.key]

    def _check_turn(self, item: ProbeItem, variant: str, turn: int) -> None:
        turns = len(self.conversation(item, variant).user_turns)
        if not 0 <= turn < turns:
            raise ValueError(
                f"{self.key} item {item.key} {variant} has {turns} turn(s), not {turn}"
            )

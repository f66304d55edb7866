"""The list of built-in probe families. Adding a family: copy a neighbour module,
write its data file, and add one line to FAMILY_CLASSES."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from evals.probes.base import Conversation, ProbeFamily, ProbeItem
from evals.probes.engagement import EngagementFamily
from evals.probes.false_premise import FalsePremiseFamily
from evals.probes.feedback_flattery import FeedbackFlatteryFamily
from evals.probes.honesty_limits import HonestyLimitsFamily
from evals.probes.opinion_mirroring import OpinionMirroringFamily
from evals.probes.pushback import PushbackFamily
from evals.probes.refusal_calibration import RefusalCalibrationFamily

FAMILY_CLASSES: tuple[type[ProbeFamily], ...] = (
    PushbackFamily,
    FalsePremiseFamily,
    OpinionMirroringFamily,
    FeedbackFlatteryFamily,
    EngagementFamily,
    HonestyLimitsFamily,
    RefusalCalibrationFamily,
)


def families() -> list[ProbeFamily]:
    """Every built-in family, in the order pages show them."""
    return [family_class() for family_class in FAMILY_CLASSES]


def family(key: str) -> ProbeFamily:
    """The family with ``key``; KeyError if there is none."""
    for family_class in FAMILY_CLASSES:
        if family_class.key == key:
            return family_class()
    raise KeyError(f"no probe family {key!r}")


@dataclass(frozen=True)
class ConversationRef:
    family: ProbeFamily
    item: ProbeItem
    conversation: Conversation


@functools.cache
def _conversations_by_first_turn() -> dict[str, ConversationRef]:
    index: dict[str, ConversationRef] = {}
    for probe_family in families():
        for item in probe_family.items():
            for conversation in probe_family.conversations(item):
                first_turn = conversation.user_turns[0].strip()
                if first_turn in index:
                    raise ValueError(
                        f"two conversations open with: {first_turn[:60]!r}"
                    )
                index[first_turn] = ConversationRef(probe_family, item, conversation)
    return index


def find_conversation(
    first_user_turn: str, system: str | None = None
) -> ConversationRef | None:
    """The built-in conversation that opens with ``first_user_turn``, if any.

    The simulated vendor uses this to recognise a request. When ``system`` is given,
    it must also match the conversation's system prompt.
    """
    found = _conversations_by_first_turn().get(first_user_turn.strip())
    if found is None:
        return None
    if system is not None and system.strip() != found.conversation.system.strip():
        return None
    return found

"""Results of candidacy evaluation: frozen, validated, JSON-able (``to_dict``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from acuity.clinical.enum import RuleKind, RuleResult, Verdict
from acuity.measure.enum import Acuity
from acuity.segment.level import VertebraLevel

#: Shown with every candidacy result.
DISCLAIMER = (
    "Decision support for clinicians: this shows which published criteria the data given meet "
    "or do not meet. It is not a treatment order or a recommendation; the treating clinician "
    "decides, with the patient."
)


@dataclass(frozen=True)
class Reason:
    """One rule (or imaging gate) applied to a level or the patient, and what it found."""

    rule_id: str
    kind: RuleKind
    message: str
    #: File the rule comes from (a seed file name; ``acuity`` for the built-in imaging gate).
    source: str
    #: The sentence of ``source`` it comes from.
    quote: str = ""
    result: RuleResult = RuleResult.MET
    #: The verdict this reason pushes the level to (None: it does not argue against candidacy).
    effect: Verdict | None = None
    #: Clinical fields whose absence left the rule unknown.
    missing: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", RuleKind(self.kind))
        object.__setattr__(self, "result", RuleResult(self.result))
        if self.effect is not None:
            object.__setattr__(self, "effect", Verdict(self.effect))
        if not self.rule_id or not self.message:
            raise ValueError("Reason needs a rule_id and a message")

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "kind": self.kind.value,
            "result": self.result.value,
            "effect": None if self.effect is None else self.effect.value,
            "message": self.message,
            "source": self.source,
            "quote": self.quote,
            "missing": list(self.missing),
        }

    def __str__(self) -> str:
        return f"{self.rule_id}: {self.message}"


@dataclass(frozen=True)
class LevelCandidacy:
    """Verdict of one level with every reason, deciding ones first."""

    level: VertebraLevel | None
    #: Instance label of the body (1..N superior to inferior).
    label: int
    verdict: Verdict
    reasons: tuple[Reason, ...]
    #: Imaging acuity of the level (shown beside the verdict).
    acuity: Acuity

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", Verdict(self.verdict))
        object.__setattr__(self, "acuity", Acuity(self.acuity))
        if self.level is not None:
            object.__setattr__(self, "level", VertebraLevel.parse(self.level))

    @property
    def name(self) -> str:
        return self.level.value if self.level is not None else f"#{self.label}"

    def deciding(self) -> tuple[Reason, ...]:
        """The reasons whose effect is the verdict (why it is not a candidate / needs review)."""
        return tuple(r for r in self.reasons if r.effect is self.verdict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": None if self.level is None else self.level.value,
            "label": self.label,
            "acuity": self.acuity.value,
            "verdict": self.verdict.value,
            "reasons": [r.to_dict() for r in self.reasons],
        }


@dataclass(frozen=True)
class PatientCandidacy:
    """Candidacy of every level of a study, and what concerns the whole patient."""

    profile: str
    profile_title: str
    #: Whether clinical input was given (without it, verdicts use imaging only).
    clinical_given: bool
    #: Absolute contraindications that concern the patient, not one level (infection...).
    absolute_contraindications: tuple[Reason, ...]
    malignancy_suspicion: bool
    #: Flags raised (malignancy suspicion and others).
    flags: tuple[Reason, ...]
    #: Clinical fields the profile needed for some level and that were not given.
    missing_fields: tuple[str, ...]
    levels: tuple[LevelCandidacy, ...]
    note: str
    disclaimer: str = DISCLAIMER

    def level(self, level: VertebraLevel | str) -> LevelCandidacy:
        """The result of a level; KeyError when the study has no such level."""
        lv = VertebraLevel.parse(level)
        for c in self.levels:
            if c.level is lv:
                return c
        raise KeyError(lv.value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "profile_title": self.profile_title,
            "clinical_given": self.clinical_given,
            "absolute_contraindications": [r.to_dict() for r in self.absolute_contraindications],
            "malignancy_suspicion": self.malignancy_suspicion,
            "flags": [r.to_dict() for r in self.flags],
            "missing_fields": list(self.missing_fields),
            "levels": [c.to_dict() for c in self.levels],
            "note": self.note,
            "disclaimer": self.disclaimer,
        }

"""Results of classification and selection: frozen, validated, JSON-able (``to_dict``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from acuity.ingest.enum import Plane
from acuity.ingest.model import Series, SeriesStack
from acuity.select.conditions import Seen
from acuity.select.enum import (
    ContrastClass,
    Decision,
    DixonComponent,
    FatSuppression,
    Role,
    Weighting,
)
from acuity.select.facts import HeaderFacts


def _check_confidence(owner: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{owner}.confidence {value!r} must be within 0..1")
    return value


@dataclass(frozen=True)
class Evidence:
    """One rule that matched: what it voted for, how strongly, and the values it looked at."""

    rule: str
    #: The decision voted in (``derived``, ``fat_suppression``, ...) or ``contrast``.
    decision: str
    vote: str
    weight: float
    because: str
    #: (name, value shown, source tag) of every value the rule's condition looked at.
    seen: tuple[Seen, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "decision": self.decision,
            "vote": self.vote,
            "weight": self.weight,
            "because": self.because,
            "seen": [{"name": n, "value": v, "source": s} for n, v, s in self.seen],
        }

    def __str__(self) -> str:
        values = "; ".join(f"{n}={v}" for n, v, _ in self.seen)
        sign = "+" if self.weight >= 0 else ""
        return f"{self.rule} [{self.decision}={self.vote} {sign}{self.weight:g}] {self.because} ({values})"


@dataclass(frozen=True)
class DecisionResult:
    """The outcome of one decision: the winning value, its confidence, all scores, evidence."""

    decision: Decision
    value: str
    confidence: float
    scores: Mapping[str, float]
    evidence: tuple[Evidence, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "decision", Decision(self.decision))
        object.__setattr__(self, "confidence", _check_confidence("DecisionResult", self.confidence))
        if self.value not in self.scores:
            raise ValueError(
                f"DecisionResult.value {self.value!r} is not among the scored values {sorted(self.scores)}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision.value,
            "value": self.value,
            "confidence": round(self.confidence, 3),
            "scores": {k: round(v, 3) for k, v in self.scores.items()},
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True)
class SeriesClassification:
    """What one stack (or one header) is, with the evidence for it."""

    contrast: ContrastClass
    fat_suppression: FatSuppression
    weighting: Weighting
    dixon_component: DixonComponent
    #: MPR, MIP, projections, parametric maps (ADC, FA...): not an acquisition to read.
    derived: bool
    plane: Plane | None
    #: Confidence of ``contrast`` (0..1): the lowest confidence of the decisions it rests on.
    confidence: float
    decisions: tuple[DecisionResult, ...]
    #: The ``contrast`` row of the rules file (0-based) that gave the class.
    contrast_row: int
    facts: HeaderFacts
    stack_id: str | None = None
    series_instance_uid: str | None = None
    series_number: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "contrast", ContrastClass(self.contrast))
        object.__setattr__(self, "fat_suppression", FatSuppression(self.fat_suppression))
        object.__setattr__(self, "weighting", Weighting(self.weighting))
        object.__setattr__(self, "dixon_component", DixonComponent(self.dixon_component))
        if self.plane is not None:
            object.__setattr__(self, "plane", Plane(self.plane))
        object.__setattr__(
            self, "confidence", _check_confidence("SeriesClassification", self.confidence)
        )
        if not isinstance(self.derived, bool):
            raise TypeError(f"SeriesClassification.derived must be a bool, got {self.derived!r}")

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        """Every rule that matched, decision by decision."""
        return tuple(e for d in self.decisions for e in d.evidence)

    def decision(self, decision: Decision | str) -> DecisionResult:
        wanted = Decision(decision)
        for d in self.decisions:
            if d.decision == wanted:
                return d
        raise KeyError(
            f"no decision {wanted.value!r}; made: {[d.decision.value for d in self.decisions]}"
        )

    def summary(self) -> str:
        """One line: class, fat suppression, derived, plane, confidence."""
        plane = self.plane.value if self.plane else "-"
        derived = " derived" if self.derived else ""
        return (
            f"{self.contrast.value} ({self.weighting.value}, fat suppression "
            f"{self.fat_suppression.value}{derived}, {plane}, confidence {self.confidence:.2f})"
        )

    def to_dict(self, *, facts: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "stack_id": self.stack_id,
            "series_instance_uid": self.series_instance_uid,
            "series_number": self.series_number,
            "description": self.description,
            "plane": self.plane.value if self.plane else None,
            "contrast": self.contrast.value,
            "weighting": self.weighting.value,
            "fat_suppression": self.fat_suppression.value,
            "dixon_component": self.dixon_component.value,
            "derived": self.derived,
            "confidence": round(self.confidence, 3),
            "contrast_row": self.contrast_row,
            "decisions": [d.to_dict() for d in self.decisions],
        }
        if facts:
            out["facts"] = {
                name: (list(v) if isinstance(v, tuple) else v)
                for name, v in self.facts.values.items()
            }
        return out


@dataclass(frozen=True)
class StackAssessment:
    """One stack of the study as selection saw it: class, coverage, role and why."""

    stack_id: str
    series_instance_uid: str
    series_number: int | None
    description: str
    classification: SeriesClassification
    usable: bool
    #: Superior-inferior extent of the stack in mm (LPS z range of all frame corners).
    coverage_mm: float | None
    n_slices: int
    #: ``YYYYMMDDHHMMSS`` of the series (may be empty).
    acquired: str
    role: Role
    #: Why the stack got its role, or why it was not chosen / not considered.
    reasons: tuple[str, ...] = field(default_factory=tuple)
    #: The ingested stack and its series (for :func:`acuity.ingest.load_volume`); not in
    #: ``to_dict``.
    stack: SeriesStack | None = field(default=None, repr=False, compare=False)
    series: Series | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", Role(self.role))
        if self.stack is not None and self.stack.stack_id != self.stack_id:
            raise ValueError(
                f"StackAssessment.stack is {self.stack.stack_id!r}, not {self.stack_id!r}"
            )
        if self.coverage_mm is not None and not (
            math.isfinite(self.coverage_mm) and self.coverage_mm >= 0
        ):
            raise ValueError(f"StackAssessment.coverage_mm {self.coverage_mm!r} must be >= 0")

    def to_dict(self, *, facts: bool = False) -> dict[str, Any]:
        return {
            "stack_id": self.stack_id,
            "series_instance_uid": self.series_instance_uid,
            "series_number": self.series_number,
            "description": self.description,
            "usable": self.usable,
            "coverage_mm": None if self.coverage_mm is None else round(self.coverage_mm, 1),
            "n_slices": self.n_slices,
            "acquired": self.acquired,
            "role": self.role.value,
            "reasons": list(self.reasons),
            "classification": self.classification.to_dict(facts=facts),
        }


@dataclass(frozen=True)
class Selection:
    """The role of every stack of a study; ``edema`` is None when nothing usable was found,
    and ``no_edema_reason`` then says why (later stages mark every level indeterminate)."""

    study_instance_uid: str
    stacks: tuple[StackAssessment, ...]
    edema: str | None
    t1: str | None
    t2: str | None
    no_edema_reason: str | None
    #: Role -> the value the user passed to override the automatic choice.
    overrides: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = [s.stack_id for s in self.stacks]
        if len(set(ids)) != len(ids):
            raise ValueError(f"Selection.stacks has duplicate stack ids: {ids}")
        for role, chosen in ((Role.EDEMA, self.edema), (Role.T1, self.t1), (Role.T2, self.t2)):
            if chosen is None:
                continue
            if chosen not in ids:
                raise ValueError(
                    f"Selection.{role.value} {chosen!r} is not one of the stacks {ids}"
                )
        if (self.edema is None) == (self.no_edema_reason is None):
            raise ValueError(
                "Selection: give no_edema_reason exactly when no edema stack was chosen "
                f"(edema={self.edema!r}, no_edema_reason={self.no_edema_reason!r})"
            )

    def stack(self, stack_id: str) -> StackAssessment:
        for s in self.stacks:
            if s.stack_id == stack_id:
                return s
        raise KeyError(
            f"no stack {stack_id!r} in this selection; known: {[s.stack_id for s in self.stacks]}"
        )

    def stack_for(self, role: Role | str) -> StackAssessment | None:
        """The stack chosen for ``role``, or None."""
        chosen = {Role.EDEMA: self.edema, Role.T1: self.t1, Role.T2: self.t2}.get(Role(role))
        return None if chosen is None else self.stack(chosen)

    def chosen(self) -> dict[str, SeriesStack]:
        """Role name -> the ingested stack chosen for it (edema, t1, t2 order; roles without
        a stack are left out), ready for ``load_volume(stack, series)``."""
        out: dict[str, SeriesStack] = {}
        for role in (Role.EDEMA, Role.T1, Role.T2):
            found = self.stack_for(role)
            if found is None:
                continue
            if found.stack is None:
                raise ValueError(
                    f"Selection: the {role.value} stack {found.stack_id!r} was built without its "
                    "ingested SeriesStack (StackAssessment.stack)"
                )
            out[role.value] = found.stack
        return out

    def to_dict(self, *, facts: bool = False) -> dict[str, Any]:
        return {
            "study_instance_uid": self.study_instance_uid,
            "edema": self.edema,
            "t1": self.t1,
            "t2": self.t2,
            "no_edema_reason": self.no_edema_reason,
            "overrides": dict(self.overrides),
            "stacks": [s.to_dict(facts=facts) for s in self.stacks],
        }

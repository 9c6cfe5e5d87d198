"""The values profile conditions can test: clinical fields, per-level imaging facts and
per-study counts, each either known or unknown (with why, and which clinical field is missing).

Imaging values that the measure stage could not determine (``Acuity.INDETERMINATE``,
``PosteriorWall.INDETERMINATE``, no morphometry, unnamed level) and a clinical
``fracture_etiology: unknown`` are *unknown*, like a missing clinical field: a rule that needs
them cannot be decided and makes the level ``needs_review``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from acuity.clinical.enum import Etiology, FactKind
from acuity.clinical.input import FIELD_SPECS, ClinicalInput
from acuity.measure.enum import Acuity, DeformityType, EdemaPattern, PosteriorWall
from acuity.measure.model import LevelFinding
from acuity.segment.level import VertebraLevel

#: A known value: number, boolean, level or choice string.
Value = float | bool | VertebraLevel | str


@dataclass(frozen=True)
class Known:
    value: Value

    def show(self) -> str:
        v = self.value
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, float):
            return f"{v:g}"
        if isinstance(v, Enum):
            return str(v.value)
        return str(v)


@dataclass(frozen=True)
class Unknown:
    #: Why it is unknown, e.g. "not given" or "indeterminate on imaging".
    why: str
    #: Clinical fields whose absence makes it unknown (empty for imaging unknowns).
    missing: tuple[str, ...] = ()

    def show(self) -> str:
        return self.why


FactValue = Known | Unknown


class Scope(str, Enum):
    """Where a fact comes from; a rule naming any ``level`` fact is evaluated per level."""

    CLINICAL = "clinical"
    LEVEL = "level"
    STUDY = "study"


@dataclass(frozen=True)
class FactSpec:
    name: str
    kind: FactKind
    scope: Scope
    help: str
    #: Allowed values of a CHOICE fact.
    choices: tuple[str, ...] = ()


def _clinical_specs() -> list[FactSpec]:
    out = []
    for s in FIELD_SPECS:
        if s.type in ("number", "integer"):
            out.append(FactSpec(s.name, FactKind.NUMBER, Scope.CLINICAL, s.help))
        elif s.type == "boolean":
            out.append(FactSpec(s.name, FactKind.BOOLEAN, Scope.CLINICAL, s.help))
        elif s.type == "etiology":
            choices = tuple(e.value for e in Etiology if e is not Etiology.UNKNOWN)
            out.append(FactSpec(s.name, FactKind.CHOICE, Scope.CLINICAL, s.help, choices))
        # pain_localized_levels is tested through the level fact ``pain_at_level``.
    return out


def _choices(enum: type[Enum], *drop: Enum) -> tuple[str, ...]:
    return tuple(str(m.value) for m in enum if m not in drop)


#: Every fact a condition may name.
FACTS: dict[str, FactSpec] = {
    s.name: s
    for s in [
        *_clinical_specs(),
        FactSpec("level", FactKind.LEVEL, Scope.LEVEL, "vertebral level of the body"),
        FactSpec(
            "pain_at_level",
            FactKind.BOOLEAN,
            Scope.LEVEL,
            "the level is one of the clinical pain_localized_levels",
        ),
        FactSpec(
            "acuity",
            FactKind.CHOICE,
            Scope.LEVEL,
            "imaging acuity (indeterminate = unknown)",
            _choices(Acuity, Acuity.INDETERMINATE),
        ),
        FactSpec("fractured", FactKind.BOOLEAN, Scope.LEVEL, "Genant grade >= 1"),
        FactSpec("genant_grade", FactKind.NUMBER, Scope.LEVEL, "Genant grade 0-3"),
        FactSpec("height_loss_pct", FactKind.NUMBER, Scope.LEVEL, "largest height loss (%)"),
        FactSpec(
            "deformity", FactKind.CHOICE, Scope.LEVEL, "deformity type", _choices(DeformityType)
        ),
        FactSpec("vertebra_plana", FactKind.BOOLEAN, Scope.LEVEL, "near-complete collapse"),
        FactSpec(
            "posterior_wall",
            FactKind.CHOICE,
            Scope.LEVEL,
            "posterior cortex (indeterminate = unknown)",
            _choices(PosteriorWall, PosteriorWall.INDETERMINATE),
        ),
        FactSpec(
            "posterior_displacement_mm",
            FactKind.NUMBER,
            Scope.LEVEL,
            "posterior cortex displacement into the canal (mm)",
        ),
        FactSpec(
            "edema_pattern",
            FactKind.CHOICE,
            Scope.LEVEL,
            "marrow-edema pattern",
            _choices(EdemaPattern),
        ),
        FactSpec("edema_ratio", FactKind.NUMBER, Scope.LEVEL, "edema signal ratio"),
        FactSpec("partial", FactKind.BOOLEAN, Scope.LEVEL, "body partly outside the field of view"),
        FactSpec("level_confidence", FactKind.NUMBER, Scope.LEVEL, "confidence of the level name"),
        FactSpec(
            "fractured_levels",
            FactKind.NUMBER,
            Scope.STUDY,
            "number of fractured levels in the study",
        ),
        FactSpec(
            "acute_levels", FactKind.NUMBER, Scope.STUDY, "number of acute levels in the study"
        ),
    ]
}


class Facts:
    """The facts of one level (or of the patient, without level facts); unknown by default."""

    def __init__(self, values: Mapping[str, FactValue]) -> None:
        self._values = dict(values)

    def get(self, name: str) -> FactValue:
        v = self._values.get(name)
        if v is None:
            return Unknown("not available")
        return v


def clinical_facts(clinical: ClinicalInput | None) -> dict[str, FactValue]:
    out: dict[str, FactValue] = {}
    for spec in FACTS.values():
        if spec.scope is not Scope.CLINICAL:
            continue
        raw = None if clinical is None else clinical.value(spec.name)
        if raw is None:
            out[spec.name] = Unknown("not given", (spec.name,))
        elif raw is Etiology.UNKNOWN:
            out[spec.name] = Unknown("given as unknown")
        elif isinstance(raw, Etiology):
            out[spec.name] = Known(raw.value)
        elif isinstance(raw, bool):
            out[spec.name] = Known(raw)
        else:
            out[spec.name] = Known(float(raw))
    return out


def study_facts(findings: Sequence[LevelFinding]) -> dict[str, FactValue]:
    return {
        "fractured_levels": Known(float(sum(1 for f in findings if f.fractured))),
        "acute_levels": Known(float(sum(1 for f in findings if f.acuity is Acuity.ACUTE))),
    }


def level_facts(f: LevelFinding, clinical: ClinicalInput | None) -> dict[str, FactValue]:
    out: dict[str, FactValue] = {}
    out["level"] = Known(f.level) if f.level is not None else Unknown("level not identified")
    localized = None if clinical is None else clinical.pain_localized_levels
    if localized is None:
        out["pain_at_level"] = Unknown("not given", ("pain_localized_levels",))
    elif f.level is None:
        out["pain_at_level"] = Unknown("level not identified")
    else:
        out["pain_at_level"] = Known(f.level in localized)
    out["acuity"] = (
        Unknown("indeterminate on imaging")
        if f.acuity is Acuity.INDETERMINATE
        else Known(f.acuity.value)
    )
    out["partial"] = Known(f.partial)
    out["level_confidence"] = Known(float(f.level_confidence))
    m = f.morphometry
    if m is None:
        for name in (
            "fractured",
            "genant_grade",
            "height_loss_pct",
            "deformity",
            "vertebra_plana",
            "posterior_wall",
            "posterior_displacement_mm",
        ):
            out[name] = Unknown("no morphometry")
    else:
        out["fractured"] = Known(f.fractured)
        out["genant_grade"] = Known(float(int(m.genant_grade)))
        out["height_loss_pct"] = Known(float(m.height_loss_pct))
        out["deformity"] = Known(m.deformity.value)
        out["vertebra_plana"] = Known(bool(m.vertebra_plana))
        out["posterior_wall"] = (
            Unknown("indeterminate on imaging")
            if m.posterior_wall is PosteriorWall.INDETERMINATE
            else Known(m.posterior_wall.value)
        )
        out["posterior_displacement_mm"] = (
            Known(float(m.posterior_displacement_mm))
            if m.posterior_displacement_mm is not None
            else Unknown("not measured")
        )
    e = f.edema
    if e is None:
        out["edema_pattern"] = Unknown("no edema measurement")
        out["edema_ratio"] = Unknown("no edema measurement")
    else:
        out["edema_pattern"] = Known(e.pattern.value)
        out["edema_ratio"] = Known(float(e.ratio))
    return out

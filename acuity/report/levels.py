"""Per-level findings in report.json (the ``levels`` list) and back, exactly.

``level_from_dict(level_to_dict(f)) == f`` for every :class:`LevelFinding`; the candidacy
command re-reads a report's levels with it to re-evaluate candidacy without the images.
Every key below is required (``null`` where the value is absent); extra keys are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from acuity.errors import InputError
from acuity.measure.enum import Acuity, DeformityType, EdemaPattern, GenantGrade, PosteriorWall
from acuity.measure.model import EdemaScore, LevelFinding, Morphometry
from acuity.segment.level import VertebraLevel

#: Keys of one level dict, in the order they are written.
LEVEL_KEYS: tuple[str, ...] = (
    "level",
    "level_confidence",
    "label",
    "partial",
    "heights",
    "expected_height_mm",
    "height_loss_pct",
    "genant_grade",
    "deformity",
    "vertebra_plana",
    "posterior_wall",
    "posterior_displacement_mm",
    "edema_ratio",
    "edema_fraction",
    "edema_pattern",
    "t1_ratio",
    "acuity",
    "acuity_reasons",
)
HEIGHT_KEYS: tuple[str, ...] = ("anterior_mm", "middle_mm", "posterior_mm", "width_mm")
_MORPHOMETRY_KEYS = (
    "expected_height_mm",
    "height_loss_pct",
    "genant_grade",
    "deformity",
    "vertebra_plana",
    "posterior_wall",
    "posterior_displacement_mm",
)
_EDEMA_KEYS = ("edema_ratio", "edema_fraction", "edema_pattern", "t1_ratio")


def level_to_dict(f: LevelFinding) -> dict[str, Any]:
    """A JSON-able dict of one finding (morphometry/edema keys null when not measured).

    Enum fields given as their string values are written the same as the members."""
    m, e = f.morphometry, f.edema
    return {
        "level": None if f.level is None else VertebraLevel.parse(f.level).value,
        "level_confidence": f.level_confidence,
        "label": f.label,
        "partial": f.partial,
        "heights": None
        if m is None
        else {
            "anterior_mm": m.anterior_mm,
            "middle_mm": m.middle_mm,
            "posterior_mm": m.posterior_mm,
            "width_mm": m.width_mm,
        },
        "expected_height_mm": None if m is None else m.expected_height_mm,
        "height_loss_pct": None if m is None else m.height_loss_pct,
        "genant_grade": None if m is None else int(GenantGrade(m.genant_grade)),
        "deformity": None if m is None else DeformityType(m.deformity).value,
        "vertebra_plana": None if m is None else m.vertebra_plana,
        "posterior_wall": None if m is None else PosteriorWall(m.posterior_wall).value,
        "posterior_displacement_mm": None if m is None else m.posterior_displacement_mm,
        "edema_ratio": None if e is None else e.ratio,
        "edema_fraction": None if e is None else e.fraction,
        "edema_pattern": None if e is None else EdemaPattern(e.pattern).value,
        "t1_ratio": None if e is None else e.t1_ratio,
        "acuity": Acuity(f.acuity).value,
        "acuity_reasons": list(f.reasons),
    }


class _Reader:
    """Typed access to one level dict; errors name the level, the key, the value and the fix."""

    def __init__(self, d: Mapping[str, Any], where: str) -> None:
        self.d = d
        self.where = where

    def fail(self, key: str, message: str) -> InputError:
        return InputError(f"{self.where}: {key}: {message}")

    def number(self, key: str, *, optional: bool = False, prefix: str = "") -> float | None:
        d = self.d[prefix] if prefix else self.d
        v = d[key]
        if v is None and optional:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            name = f"{prefix}.{key}" if prefix else key
            raise self.fail(name, f"{v!r} is not a number" + (" or null" if optional else ""))
        return float(v) if isinstance(v, int) else v

    def required_number(self, key: str, prefix: str = "") -> float:
        v = self.number(key, prefix=prefix)
        assert v is not None
        return v

    def boolean(self, key: str) -> bool:
        v = self.d[key]
        if not isinstance(v, bool):
            raise self.fail(key, f"{v!r} is not true or false")
        return v

    def choice(self, key: str, enum: type[Any]) -> Any:
        v = self.d[key]
        try:
            return enum(v)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in enum)
            raise self.fail(key, f"{v!r} is not one of {allowed}") from None


def level_from_dict(d: Any, where: str = "level") -> LevelFinding:
    """The :class:`LevelFinding` of a dict written by :func:`level_to_dict`.

    InputError naming the key for a missing key, a wrong type or an unknown enum value, and for
    morphometry/edema values half present (all null or all given).
    """
    if not isinstance(d, Mapping):
        raise InputError(f"{where}: a level must be a JSON object, got {type(d).__name__}")
    label = d.get("label")
    if isinstance(label, int) and not isinstance(label, bool):
        where = f"{where} (label {label})"
    missing = [k for k in LEVEL_KEYS if k not in d]
    if missing:
        raise InputError(
            f"{where}: missing keys {missing}; a level needs all of {list(LEVEL_KEYS)}"
        )
    r = _Reader(d, where)
    if isinstance(label, bool) or not isinstance(label, int) or label < 1:
        raise r.fail("label", f"{label!r} is not a whole number >= 1")
    raw_level = d["level"]
    level: VertebraLevel | None = None
    if raw_level is not None:
        if not isinstance(raw_level, str):
            raise r.fail("level", f"{raw_level!r} is not a level name or null")
        try:
            level = VertebraLevel.parse(raw_level)
        except ValueError as exc:
            raise r.fail("level", str(exc)) from None
    confidence = r.required_number("level_confidence")
    partial = r.boolean("partial")
    acuity = r.choice("acuity", Acuity)
    reasons = d["acuity_reasons"]
    if not isinstance(reasons, list) or not all(isinstance(s, str) for s in reasons):
        raise r.fail("acuity_reasons", f"{reasons!r} is not a list of strings")

    heights = d["heights"]
    morphometry: Morphometry | None = None
    if heights is None:
        given = [k for k in _MORPHOMETRY_KEYS if d[k] is not None]
        if given:
            raise r.fail(
                "heights", f"is null but {given} are given; give the heights or null them all"
            )
    else:
        if not isinstance(heights, Mapping):
            raise r.fail("heights", f"{heights!r} is not an object with {list(HEIGHT_KEYS)}")
        hmissing = [k for k in HEIGHT_KEYS if k not in heights]
        if hmissing:
            raise r.fail("heights", f"missing keys {hmissing}")
        h = {k: r.required_number(k, prefix="heights") for k in HEIGHT_KEYS}
        grade = d["genant_grade"]
        if isinstance(grade, bool) or not isinstance(grade, int):
            raise r.fail("genant_grade", f"{grade!r} is not a whole number 0-3")
        try:
            genant = GenantGrade(grade)
        except ValueError:
            raise r.fail("genant_grade", f"{grade!r} is not a whole number 0-3") from None
        morphometry = Morphometry(
            anterior_mm=h["anterior_mm"],
            middle_mm=h["middle_mm"],
            posterior_mm=h["posterior_mm"],
            width_mm=h["width_mm"],
            expected_height_mm=r.number("expected_height_mm", optional=True),
            height_loss_pct=r.required_number("height_loss_pct"),
            genant_grade=genant,
            deformity=r.choice("deformity", DeformityType),
            vertebra_plana=r.boolean("vertebra_plana"),
            posterior_wall=r.choice("posterior_wall", PosteriorWall),
            posterior_displacement_mm=r.number("posterior_displacement_mm", optional=True),
        )

    edema: EdemaScore | None = None
    if d["edema_ratio"] is None:
        given = [k for k in _EDEMA_KEYS if d[k] is not None]
        if given:
            raise r.fail(
                "edema_ratio", f"is null but {given} are given; give the ratio or null them all"
            )
    else:
        edema = EdemaScore(
            ratio=r.required_number("edema_ratio"),
            fraction=r.required_number("edema_fraction"),
            pattern=r.choice("edema_pattern", EdemaPattern),
            t1_ratio=r.number("t1_ratio", optional=True),
        )
    return LevelFinding(
        label=label,
        level=level,
        level_confidence=confidence,
        partial=partial,
        morphometry=morphometry,
        edema=edema,
        acuity=acuity,
        reasons=tuple(reasons),
    )


def levels_from_report(report: Any, where: str = "report.json") -> list[LevelFinding]:
    """The findings of a report.json dict's ``levels`` list."""
    if not isinstance(report, Mapping) or "levels" not in report:
        raise InputError(f"{where}: not an acuity report (no 'levels' list)")
    levels = report["levels"]
    if not isinstance(levels, list):
        raise InputError(f"{where}: levels: must be a list, got {type(levels).__name__}")
    return [level_from_dict(d, f"{where}: levels[{i}]") for i, d in enumerate(levels)]

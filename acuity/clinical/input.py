"""Clinical input of one patient/study: validated on construction, read from JSON or a CSV row.

Every field is optional (``None`` = not given). A field the active profile needs and that is
missing makes the verdict ``needs_review`` and is listed; a field given with a wrong type, out
of range or unknown is an :class:`~acuity.errors.InputError` naming the field, the value, the
allowed values and (for unknown names) the closest known field.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from acuity.clinical.enum import Etiology
from acuity.errors import InputError
from acuity.io import read_text
from acuity.segment.level import VertebraLevel


@dataclass(frozen=True)
class FieldSpec:
    """What one clinical field holds."""

    name: str
    #: ``number``, ``integer``, ``boolean``, ``levels`` or ``etiology``.
    type: str
    help: str
    low: float | None = None
    high: float | None = None

    def allowed(self) -> str:
        """The allowed values, as shown in error messages."""
        if self.type == "boolean":
            return "true or false"
        if self.type == "levels":
            return 'a list of vertebral levels such as ["L1", "T12"]'
        if self.type == "etiology":
            return "one of " + ", ".join(e.value for e in Etiology)
        what = "a whole number" if self.type == "integer" else "a number"
        if self.low is not None and self.high is not None:
            return f"{what} from {self.low:g} to {self.high:g}"
        if self.low is not None:
            return f"{what} >= {self.low:g}"
        return what


#: Longest duration accepted (weeks): 100 years; anything above is a typing error.
MAX_WEEKS = 5200.0

#: The clinical fields, in the order of the issue.
FIELD_SPECS: tuple[FieldSpec, ...] = (
    FieldSpec("pain_duration_weeks", "number", "weeks since the pain began", 0.0, MAX_WEEKS),
    FieldSpec("pain_score_nrs", "integer", "pain on the 0-10 numeric rating scale", 0.0, 10.0),
    FieldSpec(
        "conservative_therapy_weeks",
        "number",
        "weeks of conservative/medical therapy (analgesics, bracing, physiotherapy)",
        0.0,
        MAX_WEEKS,
    ),
    FieldSpec("opioid_refractory", "boolean", "pain poorly controlled by opiate analgesia"),
    FieldSpec("analgesic_side_effects", "boolean", "significant side effects of the analgesics"),
    FieldSpec(
        "mobility_impaired",
        "boolean",
        "pain prevents ambulation/physical therapy or significantly impairs mobility",
    ),
    FieldSpec("pain_localized_levels", "levels", "levels the pain localizes to on examination"),
    FieldSpec(
        "neurologic_deficit",
        "boolean",
        "neurologic deficit / cord compression (myelopathy) on examination",
    ),
    FieldSpec(
        "radiculopathy_exceeds_local_pain", "boolean", "radicular pain exceeds the local pain"
    ),
    FieldSpec("active_infection", "boolean", "active systemic or spinal infection"),
    FieldSpec(
        "uncorrectable_coagulopathy", "boolean", "coagulopathy / bleeding diathesis not corrected"
    ),
    FieldSpec(
        "anticoagulation_cannot_stop", "boolean", "anticoagulation that cannot be safely stopped"
    ),
    FieldSpec("pmma_allergy", "boolean", "allergy to bone cement (PMMA) components"),
    FieldSpec("fit_for_sedation", "boolean", "fit for moderate sedation / anesthesia"),
    FieldSpec("known_malignancy", "boolean", "known malignancy (metastases, myeloma, ...)"),
    FieldSpec("fracture_etiology", "etiology", "cause of the fracture"),
)

FIELD_NAMES: tuple[str, ...] = tuple(s.name for s in FIELD_SPECS)
_SPEC_BY_NAME = {s.name: s for s in FIELD_SPECS}

_TRUE = {"yes", "true", "1"}
_FALSE = {"no", "false", "0"}


def field_spec(name: str) -> FieldSpec:
    """The spec of a clinical field; KeyError for an unknown name."""
    return _SPEC_BY_NAME[name]


def did_you_mean(name: str, known: tuple[str, ...] | list[str]) -> str:
    """``" (did you mean 'y'?)"`` naming the closest known names, or ``""``."""
    close = difflib.get_close_matches(name, list(known), n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def unknown_name_message(name: str, known: tuple[str, ...] | list[str], what: str) -> str:
    """``"unknown field 'x' (did you mean 'y'?); allowed: ..."``."""
    return f"unknown {what} {name!r}{did_you_mean(name, known)}; allowed: {', '.join(known)}"


@dataclass(frozen=True)
class ClinicalInput:
    """Clinical facts of one patient for one study; ``None`` = not given.

    Constructing one validates it: numbers must be finite and in range, booleans real booleans,
    ``pain_localized_levels`` vertebral levels (strings are parsed), ``fracture_etiology`` an
    :class:`Etiology` (or its value). All problems are reported together in one InputError.
    """

    pain_duration_weeks: float | None = None
    pain_score_nrs: int | None = None
    conservative_therapy_weeks: float | None = None
    opioid_refractory: bool | None = None
    analgesic_side_effects: bool | None = None
    mobility_impaired: bool | None = None
    pain_localized_levels: tuple[VertebraLevel, ...] | None = None
    neurologic_deficit: bool | None = None
    radiculopathy_exceeds_local_pain: bool | None = None
    active_infection: bool | None = None
    uncorrectable_coagulopathy: bool | None = None
    anticoagulation_cannot_stop: bool | None = None
    pmma_allergy: bool | None = None
    fit_for_sedation: bool | None = None
    known_malignancy: bool | None = None
    fracture_etiology: Etiology | None = None
    #: Where the values came from (a file name, ``file.csv row 3``); shown in errors.
    source: str = "clinical input"

    def __post_init__(self) -> None:
        problems: list[str] = []
        for spec in FIELD_SPECS:
            raw = getattr(self, spec.name)
            if raw is None:
                continue
            try:
                value = _check(spec, raw)
            except (TypeError, ValueError) as exc:
                problems.append(f"{spec.name}: {exc}")
                continue
            object.__setattr__(self, spec.name, value)
        if problems:
            raise InputError(f"{self.source}: " + "; ".join(problems))

    def value(self, name: str) -> Any:
        """The value of field ``name`` (None when not given); KeyError for an unknown name."""
        if name not in _SPEC_BY_NAME:
            raise KeyError(name)
        return getattr(self, name)

    def missing(self) -> tuple[str, ...]:
        """Names of the fields not given."""
        return tuple(n for n in FIELD_NAMES if getattr(self, n) is None)

    def to_dict(self) -> dict[str, Any]:
        """The given fields as JSON values (missing ones left out)."""
        out: dict[str, Any] = {}
        for name in FIELD_NAMES:
            v = getattr(self, name)
            if v is None:
                continue
            if isinstance(v, tuple):
                out[name] = [lv.value for lv in v]
            elif isinstance(v, Etiology):
                out[name] = v.value
            else:
                out[name] = v
        return out

    @classmethod
    def from_dict(cls, data: Any, source: str = "clinical input") -> ClinicalInput:
        """From a JSON object: unknown keys are errors; ``null`` means not given."""
        if not isinstance(data, Mapping):
            raise InputError(
                f"{source}: clinical input must be a JSON object of fields "
                f"({', '.join(FIELD_NAMES)}), got {type(data).__name__}"
            )
        problems = [
            unknown_name_message(str(k), FIELD_NAMES, "field")
            for k in data
            if k not in _SPEC_BY_NAME
        ]
        if problems:
            raise InputError(f"{source}: " + "; ".join(problems))
        return cls(**{str(k): v for k, v in data.items()}, source=source)

    @classmethod
    def from_json_file(cls, path: str | Path) -> ClinicalInput:
        """Read a JSON file holding one object of clinical fields."""
        p = Path(path)
        text = read_text(p, "clinical file")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{p.name}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
        return cls.from_dict(data, source=p.name)

    @classmethod
    def from_csv_row(cls, row: Mapping[str, str | None], source: str = "CSV row") -> ClinicalInput:
        """From text cells: booleans ``yes/no/true/false/1/0``, levels separated by ``,`` ``;``
        or spaces, empty = not given. Keys must be clinical field names."""
        problems: list[str] = []
        values: dict[str, Any] = {}
        for key, cell in row.items():
            spec = _SPEC_BY_NAME.get(key)
            if spec is None:
                problems.append(unknown_name_message(key, FIELD_NAMES, "column"))
                continue
            text = (cell or "").strip()
            if not text:
                continue
            try:
                values[key] = _parse_text(spec, text)
            except ValueError as exc:
                problems.append(f"{key}: {exc}")
        if problems:
            raise InputError(f"{source}: " + "; ".join(problems))
        return cls(**values, source=source)


def _check(spec: FieldSpec, raw: Any) -> Any:
    """The normalized value of ``raw`` for ``spec``; ValueError/TypeError naming the value and
    the allowed values."""
    if spec.type == "boolean":
        if not isinstance(raw, bool):
            raise ValueError(f"{raw!r} is not {spec.allowed()}")
        return raw
    if spec.type in ("number", "integer"):
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise ValueError(f"{raw!r} is not {spec.allowed()}")
        if not math.isfinite(raw):
            raise ValueError(f"{raw!r} is not {spec.allowed()}")
        if (spec.low is not None and raw < spec.low) or (spec.high is not None and raw > spec.high):
            raise ValueError(f"{raw!r} is out of range; allowed: {spec.allowed()}")
        if spec.type == "integer":
            if float(raw) != int(raw):
                raise ValueError(f"{raw!r} is not {spec.allowed()}")
            return int(raw)
        return float(raw)
    if spec.type == "levels":
        if isinstance(raw, (str, bytes)) or not isinstance(raw, (list, tuple)):
            raise ValueError(f"{raw!r} is not {spec.allowed()}")
        levels: list[VertebraLevel] = []
        for item in raw:
            if not isinstance(item, (str, VertebraLevel)):
                raise TypeError(f"{item!r} is not a vertebral level; expected {spec.allowed()}")
            levels.append(VertebraLevel.parse(item))
        return tuple(dict.fromkeys(levels))
    if spec.type == "etiology":
        if isinstance(raw, Etiology):
            return raw
        if isinstance(raw, str):
            key = raw.strip().lower()
            for e in Etiology:
                if e.value == key:
                    return e
            names = [e.value for e in Etiology]
            raise ValueError(f"{raw!r} is not {spec.allowed()}{did_you_mean(key, names)}")
        raise ValueError(f"{raw!r} is not {spec.allowed()}")
    raise AssertionError(spec.type)  # pragma: no cover - FIELD_SPECS uses no other type


def _parse_text(spec: FieldSpec, text: str) -> Any:
    """A CSV cell (non-empty, stripped) as the Python value of ``spec``."""
    if spec.type == "boolean":
        key = text.lower()
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
        raise ValueError(f"{text!r} is not yes/no/true/false/1/0 (leave the cell empty if unknown)")
    if spec.type in ("number", "integer"):
        try:
            return float(text)
        except ValueError:
            raise ValueError(
                f"{text!r} is not {spec.allowed()} (leave the cell empty if unknown)"
            ) from None
    if spec.type == "levels":
        return [t for t in re.split(r"[\s,;]+", text) if t]
    return text


def declared_fields() -> tuple[str, ...]:
    """Field names of :class:`ClinicalInput` (without ``source``); equals :data:`FIELD_NAMES`."""
    return tuple(f.name for f in fields(ClinicalInput) if f.name != "source")

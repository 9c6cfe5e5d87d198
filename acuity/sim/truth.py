"""Ground truth of a simulated study (``TRUTH.json``): levels, lesions, series and label map."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from acuity.errors import InputError
from acuity.measure.enum import Acuity, DeformityType, EdemaPattern

TRUTH_FORMAT = "acuity-truth/1"
GENERATOR_VERSION = "1.0"


@dataclass
class LevelTruth:
    """One vertebral body present in the label map."""

    name: str
    #: Value of the body in the truth label map (1..N, superior to inferior).
    label: int
    centroid_lps: list[float]
    superior_axis_lps: list[float]
    anterior_axis_lps: list[float]
    #: Anterior/middle/posterior heights (mm) as present in the images (after any fracture).
    heights_mm: dict[str, float]
    #: True when part of the body lies outside the label map's field of view.
    partial: bool = False


@dataclass
class EdemaTruth:
    present: bool
    pattern: str = EdemaPattern.NONE.value
    #: Edema / normal marrow signal on STIR, fat-suppressed T2 and water images.
    ratio_stir: float | None = None
    ratio_t1: float | None = None
    ratio_t2: float | None = None


@dataclass
class LesionTruth:
    level: str
    label: int
    deformity: str
    genant_grade: int
    height_loss_pct: float
    heights_mm: dict[str, float]
    heights_before_mm: dict[str, float]
    edema: EdemaTruth
    expected_acuity: str

    def __post_init__(self) -> None:
        DeformityType(self.deformity)
        Acuity(self.expected_acuity)
        if isinstance(self.edema, dict):
            self.edema = EdemaTruth(**self.edema)


@dataclass
class SeriesTruth:
    series_number: int
    series_instance_uid: str
    description: str
    #: localizer, sagittal_stir, sagittal_t1, sagittal_t2, axial_t2, sagittal_<contrast>
    role: str
    planes: list[str]
    n_images: int
    folder: str
    transfer_syntax: str


@dataclass
class Truth:
    """Everything a test or an evaluation needs to check results on a simulated study."""

    generator: dict[str, Any]
    study: dict[str, str]
    levels: list[LevelTruth]
    lesions: list[LesionTruth]
    series: list[SeriesTruth]
    label_map: dict[str, Any]
    format: str = TRUTH_FORMAT
    notes: list[str] = field(default_factory=list)

    def level(self, name: str) -> LevelTruth:
        for lv in self.levels:
            if lv.name == name:
                return lv
        raise KeyError(f"no level {name!r} in the truth; known: {[lv.name for lv in self.levels]}")

    def series_with_role(self, role: str) -> SeriesTruth:
        for s in self.series:
            if s.role == role:
                return s
        raise KeyError(f"no series with role {role!r}; known: {[s.role for s in self.series]}")

    def to_json(self) -> str:
        data = asdict(self)
        ordered = {"format": data.pop("format"), **data}
        return json.dumps(ordered, indent=2, sort_keys=False) + "\n"

    def write(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_text(self.to_json(), encoding="utf-8")
        return p

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Truth:
        if data.get("format") != TRUTH_FORMAT:
            raise InputError(
                f"TRUTH format {data.get('format')!r} is not {TRUTH_FORMAT!r}: regenerate it with "
                "scripts/make_sample_study.py"
            )
        return cls(
            format=data["format"],
            generator=data["generator"],
            study=data["study"],
            levels=[LevelTruth(**lv) for lv in data["levels"]],
            lesions=[LesionTruth(**les) for les in data["lesions"]],
            series=[SeriesTruth(**s) for s in data["series"]],
            label_map=data["label_map"],
            notes=list(data.get("notes", [])),
        )

    @classmethod
    def read(cls, path: str | Path) -> Truth:
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read truth file {p}: {exc}") from exc
        return cls.from_dict(data)

"""report.json: the persisted result of an analysis, built from typed results.

:func:`build_report` assembles the dict (layout: ``report.schema.json``, version
:data:`~acuity.report.schema.SCHEMA_VERSION`) and validates it, so a report that is written is
valid. The candidacy-derived parts (each level's ``candidacy`` and ``candidacy_reasons``,
``profile``, ``patient_flags``) always follow the ``candidacy`` section: :func:`with_candidacy`
re-derives them from a (new) section. No patient name, ID or birth date is written unless the
caller passes ``patient=`` (see :func:`patient_section`).
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from acuity import __version__
from acuity.errors import InputError
from acuity.ingest.model import ScanResult, Study, Volume
from acuity.measure.enum import Acuity
from acuity.measure.model import LevelFinding
from acuity.report.levels import level_to_dict
from acuity.report.schema import SCHEMA_VERSION, validate_report
from acuity.report.summary import series_summary
from acuity.select.enum import Role
from acuity.select.model import Selection

#: Shown in the HTML report; the SR and the key image say "decision support" in their series
#: description and image comments. The collapse figures are measured (docs/validation.md,
#: session 7 pair: grade-3 levels, height-loss error -11.4 pp, 10 of 20 graded right).
LIMITATIONS = (
    "acuity is decision support for clinicians, not a diagnosis. Its measurements come from "
    "automatic segmentation and signal ratios that can be wrong: a level may be mislabelled, "
    "a body missegmented, edema missed or overcalled (bias field, motion, metal, tumour, "
    "infection, degenerative endplate changes). Severe collapse is under-measured: on "
    "simulated fractures of 40 % or more, the height loss read was on average 11 percentage "
    "points low and half were graded too low (acuity's docs/validation.md). Every finding "
    "must be checked on the images by a qualified reader. Candidacy lists which published "
    "criteria the data given meet; it is not a treatment order, and the treating clinician "
    "decides, with the patient."
)

#: Said for a ``candidate`` level that no reason argues against.
ALL_CRITERIA_MET = "every criterion of the profile is met on the data given"

_MAP_NAME = re.compile(r"^[A-Za-z0-9_.-]+\.nii(\.gz)?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class MapInfo:
    """A NIfTI map of the output folder and the series grid it lies on."""

    #: File name inside the output folder (``labels.nii.gz``).
    file: str
    #: Role of the series whose grid the map has (edema or t1/t2: the morphology series).
    role: Role
    stack_id: str
    series_instance_uid: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", Role(self.role))
        if self.role is Role.UNUSED:
            raise ValueError("MapInfo.role must be edema, t1 or t2, got 'unused'")
        if not _MAP_NAME.match(self.file):
            raise ValueError(
                f"MapInfo.file {self.file!r} must be a plain file name ending in .nii.gz or .nii"
            )
        if not self.stack_id or not self.series_instance_uid:
            raise ValueError("MapInfo needs the stack_id and series_instance_uid of its grid")

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "role": self.role.value,
            "stack_id": self.stack_id,
            "series_instance_uid": self.series_instance_uid,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MapInfo:
        return cls(
            file=d["file"],
            role=Role(d["role"]),
            stack_id=d["stack_id"],
            series_instance_uid=d["series_instance_uid"],
        )


@dataclass(frozen=True)
class ModelInfo:
    """The segmentation model used: its name and the SHA-256 of its weights file."""

    name: str
    sha256: str | None
    file: str | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("ModelInfo.name must not be empty")
        if self.sha256 is not None and not _SHA256.match(self.sha256):
            raise ValueError(
                f"ModelInfo.sha256 {self.sha256!r} is not 64 lower-case hex digits "
                "(use file_sha256(path))"
            )

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "file": self.file}

    @classmethod
    def of_file(cls, name: str, path: str | Path) -> ModelInfo:
        p = Path(path)
        return cls(name=name, sha256=file_sha256(p), file=p.name)


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def patient_section(header: Dataset) -> dict[str, Any]:
    """Patient identity from a DICOM header, for reports whose user asked for it."""

    def text(keyword: str) -> str | None:
        v = header.get(keyword)
        s = "" if v is None else str(v).strip()
        return s or None

    return {
        "name": text("PatientName"),
        "id": text("PatientID"),
        "birth_date": text("PatientBirthDate"),
        "sex": text("PatientSex"),
        "accession_number": text("AccessionNumber"),
    }


def level_name(level: Mapping[str, Any]) -> str:
    """``L1``, or ``#3`` for a body whose level was not named."""
    return str(level["level"]) if level.get("level") else f"#{level['label']}"


def _deciding(candidacy_level: Mapping[str, Any]) -> list[str]:
    verdict = candidacy_level["verdict"]
    out = [
        f"{r['rule_id']}: {r['message']}"
        for r in candidacy_level.get("reasons", [])
        if r.get("effect") == verdict
    ]
    if not out and verdict == "candidate":
        out = [ALL_CRITERIA_MET]
    return out


def level_entry(
    finding: LevelFinding | Mapping[str, Any], candidacy: Mapping[str, Any] | None
) -> dict[str, Any]:
    """One ``levels`` entry: :func:`level_to_dict` plus ``candidacy`` (verdict or null),
    ``candidacy_reasons`` (the deciding rules) and ``reasons`` (acuity reasons, then those)."""
    d = level_to_dict(finding) if isinstance(finding, LevelFinding) else dict(finding)
    verdict = None if candidacy is None else candidacy["verdict"]
    reasons = [] if candidacy is None else _deciding(candidacy)
    d["candidacy"] = verdict
    d["candidacy_reasons"] = reasons
    d["reasons"] = list(d["acuity_reasons"]) + reasons
    return d


def _rule_texts(reasons: Sequence[Mapping[str, Any]]) -> list[str]:
    return [f"{r['rule_id']}: {r['message']}" for r in reasons]


def patient_flags(
    levels: Sequence[Mapping[str, Any]], candidacy: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Patient-level summary: the candidacy section's patient flags and the levels by status."""

    def names(pred: Any) -> list[str]:
        return [level_name(lv) for lv in levels if pred(lv)]

    c = candidacy
    return {
        "clinical_given": None if c is None else bool(c["clinical_given"]),
        "malignancy_suspicion": None if c is None else bool(c["malignancy_suspicion"]),
        "absolute_contraindications": []
        if c is None
        else _rule_texts(c["absolute_contraindications"]),
        "flags": [] if c is None else _rule_texts(c["flags"]),
        "missing_clinical_fields": [] if c is None else list(c["missing_fields"]),
        "fractured_levels": names(lambda lv: (lv.get("genant_grade") or 0) >= 1),
        "acute_levels": names(lambda lv: lv["acuity"] == Acuity.ACUTE.value),
        "indeterminate_levels": names(lambda lv: lv["acuity"] == Acuity.INDETERMINATE.value),
        "candidate_levels": names(lambda lv: lv.get("candidacy") == "candidate"),
        "review_levels": names(lambda lv: lv.get("candidacy") == "needs_review"),
    }


def with_candidacy(
    report: Mapping[str, Any], candidacy: Mapping[str, Any] | None
) -> dict[str, Any]:
    """A copy of ``report`` with ``candidacy`` set and everything derived from it re-derived
    (each level's ``candidacy``/``candidacy_reasons``/``reasons``, ``profile``,
    ``patient_flags``). InputError when the section's levels are not the report's."""
    out = copy.deepcopy(dict(report))
    levels = out.get("levels")
    if not isinstance(levels, list):
        raise InputError("report.json: levels: must be a list")
    by_label: dict[int, Mapping[str, Any]] = {}
    if candidacy is not None:
        by_label = {int(c["label"]): c for c in candidacy["levels"]}
        mine = sorted(int(lv["label"]) for lv in levels)
        if sorted(by_label) != mine:
            raise InputError(
                f"report.json: candidacy.levels: labels {sorted(by_label)} are not the labels "
                f"of levels {mine}; re-evaluate candidacy from this report's levels"
            )
    out["levels"] = [level_entry(lv, by_label.get(int(lv["label"]))) for lv in levels]
    out["candidacy"] = None if candidacy is None else copy.deepcopy(dict(candidacy))
    out["profile"] = (
        None
        if candidacy is None
        else {
            "name": candidacy["profile"],
            "title": candidacy["profile_title"],
            "file": candidacy.get("profile_file"),
        }
    )
    out["patient_flags"] = patient_flags(out["levels"], candidacy)
    return out


def volume_summary(volume: Volume) -> dict[str, Any]:
    img: Any = volume.image
    return {
        "stack_id": volume.stack.stack_id,
        "series_instance_uid": volume.series.series_instance_uid,
        "size": [int(v) for v in img.GetSize()],
        "spacing_mm": [round(float(v), 4) for v in img.GetSpacing()],
    }


def build_report(
    study: Study,
    scan: ScanResult,
    selection: Selection,
    findings: Sequence[LevelFinding],
    *,
    candidacy: Mapping[str, Any] | None = None,
    volumes: Mapping[Role | str, Volume] | None = None,
    label_map: MapInfo | None = None,
    edema_map: MapInfo | None = None,
    model: ModelInfo | None = None,
    processing_seconds: float | None = None,
    warnings: Sequence[str] = (),
    stages_pending: Sequence[str] = (),
    patient: Mapping[str, Any] | None = None,
    created: datetime | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report.json dict of one analysed study, validated against the schema.

    ``findings`` are the levels superior to inferior (labels 1..N); ``candidacy`` is the
    section of :func:`acuity.clinical.candidacy_section` (None: not evaluated); ``label_map``
    / ``edema_map`` say which series grid ``labels.nii.gz`` / ``edema_ratio.nii.gz`` lie on;
    ``patient`` (:func:`patient_section`) only when the user asked for identity in the report;
    ``extra``: more top-level keys (e.g. ``segmentation``, ``timing_seconds``), which may not
    replace a key of the layout. Raises InputError naming the field when the result would not
    be a valid report.
    """
    created = created or datetime.now(UTC)
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "software": {
            "name": "acuity",
            "version": __version__,
            "model": None if model is None else model.to_dict(),
        },
        "created": created.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "processing_seconds": None if processing_seconds is None else round(processing_seconds, 3),
        "study_instance_uid": study.study_instance_uid,
        "study_date": study.study_date,
        "study_description": study.description,
        "input": {
            "root": str(Path(scan.root).resolve()),
            "files": scan.n_files,
            "skipped": [{"path": str(s.path), "reason": s.reason} for s in scan.skipped],
        },
        "series": [series_summary(s) for s in study.series],
        "selection": selection.to_dict(),
        "volumes": {Role(role).value: volume_summary(v) for role, v in (volumes or {}).items()},
        "label_map": None if label_map is None else label_map.to_dict(),
        "edema_map": None if edema_map is None else edema_map.to_dict(),
        "levels": [level_to_dict(f) for f in findings],
        "candidacy": None,
        "profile": None,
        "patient_flags": None,
        "stages_pending": list(stages_pending),
        "warnings": list(warnings),
    }
    if patient is not None:
        report["patient"] = dict(patient)
    if extra:
        clash = sorted(set(extra) & (set(report) | {"patient"}))
        if clash:
            raise InputError(
                f"build_report: extra keys {clash} are keys of the report layout; pass them "
                "through their own arguments"
            )
        report.update(copy.deepcopy(dict(extra)))
    report = with_candidacy(report, candidacy)
    validate_report(report)
    return report

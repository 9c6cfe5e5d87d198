"""What a rendering reads: report.json, the maps of the output folder and the source DICOM.

:func:`load_inputs` never fails for a missing source folder or map: the renderings that need
them are skipped and :attr:`RenderInputs.missing` says why (HTML and CSV still render).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK
from pydicom import dcmread
from pydicom.dataset import Dataset

from acuity.errors import AcuityError, InputError
from acuity.ingest import find_series, load_volume, scan_folder
from acuity.ingest.model import Series, SeriesStack
from acuity.measure.model import LevelFinding
from acuity.report.document import MapInfo
from acuity.report.files import read_image
from acuity.report.levels import levels_from_report
from acuity.select.enum import Role

logger = logging.getLogger(__name__)

sitk: Any = SimpleITK  # SimpleITK has no type annotations


@dataclass
class SourceSeries:
    """A series of the source study, rebuilt into a volume."""

    role: Role
    series: Series
    stack: SeriesStack
    #: The stack as a SimpleITK image (z index = position in ``stack.frames``).
    volume: SimpleITK.Image
    _headers: list[Dataset] | None = field(default=None, repr=False)

    def headers(self) -> list[Dataset]:
        """The DICOM headers (no pixel data) of the stack's files, in frame order."""
        if self._headers is None:
            seen: dict[Path, Dataset] = {}
            for f in self.stack.frames:
                if f.path not in seen:
                    seen[f.path] = dcmread(f.path, stop_before_pixels=True)
            self._headers = list(seen.values())
        return self._headers

    @property
    def description(self) -> str:
        number = self.series.series_number
        text = self.series.description or "(no description)"
        return f"series {number} {text}" if number is not None else text


@dataclass
class RenderInputs:
    """Everything the renderers use."""

    out_dir: Path
    report: dict[str, Any]
    findings: list[LevelFinding]
    #: Instance label map (UInt16) and where it lies, or None.
    labels: SimpleITK.Image | None
    label_info: MapInfo | None
    edema_ratio: SimpleITK.Image | None
    #: Source series by role (edema, t1, t2 when used), loaded from the source folder.
    sources: dict[Role, SourceSeries]
    #: Why an input is missing, by input ("source", "labels", "edema_ratio", "t1").
    missing: dict[str, str] = field(default_factory=dict)
    #: Non-fatal problems found while loading (shown in the HTML).
    notes: list[str] = field(default_factory=list)

    @property
    def label_source(self) -> SourceSeries | None:
        """The source series whose grid the label map lies on."""
        if self.label_info is None:
            return None
        return self.sources.get(self.label_info.role)


def _load_map(out_dir: Path, info: MapInfo, what: str) -> SimpleITK.Image:
    path = out_dir / info.file
    if not path.is_file():
        raise InputError(f"{what} {path} named in report.json does not exist")
    return read_image(path, what)


def _check_labels(
    labels: SimpleITK.Image, findings: list[LevelFinding], notes: list[str]
) -> SimpleITK.Image:
    arr = sitk.GetArrayFromImage(labels)
    if not np.issubdtype(arr.dtype, np.integer) and not np.all(np.mod(arr, 1) == 0):
        raise InputError("labels.nii.gz holds non-integer values; it must be an instance label map")
    arr = arr.astype(np.int64)
    known = {f.label for f in findings}
    present = {int(v) for v in np.unique(arr) if v > 0}
    extra = sorted(present - known)
    if extra:
        notes.append(
            f"labels.nii.gz holds labels {extra} that report.json does not list; they are not shown"
        )
        arr[np.isin(arr, extra)] = 0
    absent = sorted(known - present)
    if absent:
        notes.append(f"levels with labels {absent} have no voxels in labels.nii.gz")
    out: SimpleITK.Image = sitk.GetImageFromArray(arr.astype(np.uint16))
    out.CopyInformation(labels)  # type: ignore[no-untyped-call]
    return out


def _load_sources(
    report: dict[str, Any], source_dir: Path, roles: list[Role], missing: dict[str, str]
) -> dict[Role, SourceSeries]:
    if not source_dir.is_dir():
        missing["source"] = (
            f"the source DICOM folder {source_dir} is not available (give it with --source)"
        )
        return {}
    scan = scan_folder(source_dir)
    uid = report["study_instance_uid"]
    if not any(s.study_instance_uid == uid for s in scan.studies):
        missing["source"] = f"the study {uid} is not in {source_dir}"
        return {}
    selection = report["selection"]
    out: dict[Role, SourceSeries] = {}
    for role in roles:
        stack_id = selection.get(role.value)
        if not stack_id:
            continue
        try:
            study, series, stack = find_series(scan, stack_id)
            if study.study_instance_uid != uid:
                raise InputError(f"stack {stack_id} belongs to another study")
            volume = load_volume(stack, series).image
        except AcuityError as exc:
            missing[role.value] = f"the {role.value} series {stack_id} cannot be loaded: {exc}"
            continue
        out[role] = SourceSeries(role=role, series=series, stack=stack, volume=volume)
    if Role.EDEMA not in out and "edema" not in missing and selection.get("edema"):
        missing["edema"] = "the edema series could not be loaded"
    return out


def load_inputs(
    out_dir: Path, report: dict[str, Any], source_dir: Path | None = None
) -> RenderInputs:
    """The inputs of the renderers; ``source_dir`` defaults to the report's input root."""
    out = Path(out_dir)
    findings = levels_from_report(report)
    missing: dict[str, str] = {}
    notes: list[str] = []
    label_info = None if report.get("label_map") is None else MapInfo.from_dict(report["label_map"])
    ratio_info = None if report.get("edema_map") is None else MapInfo.from_dict(report["edema_map"])
    labels = edema_ratio = None
    if label_info is None:
        missing["labels"] = "no label map was saved with this report"
    else:
        try:
            labels = _check_labels(_load_map(out, label_info, "label map"), findings, notes)
        except InputError as exc:
            missing["labels"] = str(exc)
            label_info = None
    if ratio_info is not None:
        try:
            edema_ratio = _load_map(out, ratio_info, "edema ratio map")
        except InputError as exc:
            missing["edema_ratio"] = str(exc)
    roles = [Role.EDEMA, Role.T1]
    if label_info is not None and label_info.role not in roles:
        roles.append(label_info.role)
    src = Path(source_dir) if source_dir is not None else Path(report["input"]["root"])
    sources = _load_sources(report, src, roles, missing)
    return RenderInputs(
        out_dir=out,
        report=report,
        findings=findings,
        labels=labels,
        label_info=label_info,
        edema_ratio=edema_ratio,
        sources=sources,
        missing=missing,
        notes=notes,
    )

"""Typed objects produced by ingestion: files -> studies -> series -> stacks -> volumes.

A *stack* is what can be rebuilt into one 3-D volume: frames of one series that share
orientation, matrix size, pixel spacing, echo time and inversion time. A series that mixes
these (a 3-plane localizer, a dual-echo series) is split into several stacks.

Coordinates are DICOM patient coordinates (LPS, millimetres), the same physical space as
SimpleITK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import SimpleITK as sitk
from pydicom.dataset import Dataset

from acuity.ingest.enum import Plane, StackProblem

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class SkippedFile:
    """A file found while scanning that is not used, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Frame:
    """One 2-D image: a classic single-frame instance, or one frame of a multi-frame one."""

    path: Path
    #: 0-based frame index inside a multi-frame file; None for a single-frame instance.
    frame_index: int | None
    sop_instance_uid: str
    instance_number: int | None
    #: ImagePositionPatient: centre of the first (top-left) pixel, LPS mm.
    position: Vec3
    #: ImageOrientationPatient: row direction (3) then column direction (3).
    orientation: tuple[float, float, float, float, float, float]
    #: PixelSpacing as stored: (spacing between rows, spacing between columns), mm.
    pixel_spacing: tuple[float, float]
    rows: int
    columns: int
    slice_thickness: float | None
    echo_time: float | None
    inversion_time: float | None
    rescale_slope: float
    rescale_intercept: float
    #: ImageType (classic) or the frame's FrameType (Enhanced MR), upper case, e.g.
    #: ("ORIGINAL", "PRIMARY", "M", "DIXON", "WATER"); values from the third on tell the
    #: image flavour (water / fat / in-phase / phase ...) that a stack must not mix.
    image_type: tuple[str, ...] = ()

    @property
    def image_flavor(self) -> tuple[str, ...]:
        return self.image_type[2:]


@dataclass(frozen=True)
class StackGeometry:
    """The 3-D grid of a stack in SimpleITK conventions (index order x=column, y=row, z=slice)."""

    origin: Vec3
    #: (column spacing, row spacing, slice spacing) in mm; slice spacing from positions.
    spacing: Vec3
    #: 3x3 direction matrix, row-major, whose columns are the row direction, the column
    #: direction and the slice-stacking direction (as ``sitk.Image.SetDirection`` expects).
    direction: tuple[float, float, float, float, float, float, float, float, float]
    #: (columns, rows, slices)
    size: tuple[int, int, int]
    plane: Plane

    @property
    def normal(self) -> Vec3:
        """Unit vector along which slices are stacked (LPS)."""
        d = self.direction
        return (d[2], d[5], d[8])


@dataclass(frozen=True)
class StackIssue:
    """A geometry problem found while ordering a stack's frames."""

    kind: StackProblem
    message: str


@dataclass
class SeriesStack:
    """Frames of one series that form a single 3-D volume, ordered along the slice normal."""

    #: Unique within the scan: the SeriesInstanceUID, or ``UID#k`` (k = 1, 2, ...) when the
    #: series was split into several stacks.
    stack_id: str
    series_instance_uid: str
    #: Frames ordered by their position projected on the slice normal.
    frames: list[Frame]
    geometry: StackGeometry | None
    #: Header of one instance (read without pixel data): the source of series-level tags
    #: for classification, including private and Enhanced MR functional-group tags.
    header: Dataset
    issues: list[StackIssue] = field(default_factory=list)
    #: Why the stack cannot be rebuilt into a volume (None when it can).
    unusable_reason: str | None = None

    @property
    def n_slices(self) -> int:
        return len(self.frames)

    @property
    def usable(self) -> bool:
        return self.unusable_reason is None and self.geometry is not None


@dataclass
class Series:
    """One DICOM series (SeriesInstanceUID) with its stacks."""

    series_instance_uid: str
    study_instance_uid: str
    series_number: int | None
    description: str
    modality: str
    sop_class_uid: str
    #: True when the instances are Enhanced (multi-frame, functional groups) MR.
    enhanced: bool
    stacks: list[SeriesStack]
    #: Date and time the series was acquired, as ``YYYYMMDDHHMMSS`` (may be empty).
    acquired: str = ""
    problems: list[str] = field(default_factory=list)


@dataclass
class Study:
    """One study (StudyInstanceUID) found in a scanned folder."""

    study_instance_uid: str
    study_date: str
    description: str
    accession_number: str
    series: list[Series]
    #: PatientID, kept to find the study's row in a clinical CSV; never logged or reported
    #: unless asked for.
    patient_id: str = ""

    def stack(self, stack_id: str) -> SeriesStack:
        """The stack with this id; raises KeyError naming the known ids when absent."""
        for s in self.series:
            for st in s.stacks:
                if st.stack_id == stack_id:
                    return st
        known = [st.stack_id for s in self.series for st in s.stacks]
        raise KeyError(f"no stack {stack_id!r} in study {self.study_instance_uid}; known: {known}")


@dataclass
class ScanResult:
    """Everything found under a folder: studies, and the files that were skipped."""

    root: Path
    studies: list[Study]
    skipped: list[SkippedFile]
    n_files: int


@dataclass
class Volume:
    """A stack rebuilt into a 3-D image.

    ``image`` is a SimpleITK image (float32, Rescale Slope/Intercept applied) whose origin,
    spacing and direction are the stack's LPS geometry; ``sitk.GetArrayFromImage`` gives an
    array of shape (slices, rows, columns).
    """

    image: sitk.Image
    stack: SeriesStack
    series: Series

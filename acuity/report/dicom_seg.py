"""DICOM Segmentation of the vertebral bodies: one segment per level (segment number = label).

The label map is resampled (nearest neighbour) onto the grid of the series it was saved on,
whose instances the SEG references as its source images; the SEG goes in a new series of
the same study. Segment labels name the level ("L1 vertebral body"); the segmented property
type is the vertebra's SNOMED CT code (:mod:`acuity.report.codes`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import highdicom as hd
import numpy as np
import SimpleITK
from pydicom import dcmread
from pydicom.dataset import Dataset

from acuity.errors import DicomError
from acuity.measure.enum import Acuity
from acuity.measure.model import LevelFinding
from acuity.report import codes
from acuity.report.dicom_common import (
    DEVICE_SERIAL,
    MANUFACTURER,
    MODEL_NAME,
    SOFTWARE_VERSION,
    output_uid,
)
from acuity.report.images import ACUITY_COLORS, level_title
from acuity.report.inputs import SourceSeries

logger = logging.getLogger(__name__)

sitk: Any = SimpleITK  # SimpleITK has no type annotations

#: Colour of a segment that is not a fracture.
_BODY_COLOR = (230, 230, 200)


@dataclass(frozen=True)
class SegResult:
    """A SEG and the segment number of each level label it holds."""

    dataset: hd.seg.Segmentation
    #: Level label -> segment number (equal unless a level has no voxels on the source grid).
    numbers: dict[int, int]


def segment_label(f: LevelFinding) -> str:
    """``"L1 vertebral body"``; ``"#3 vertebral body"`` for a body whose level is not named."""
    return f"{level_title(f).replace(' (partial)', '')} vertebral body"


def tracking_uid(digest: str, label: int) -> str:
    """Tracking UID of a level, shared by its SEG segment and its SR measurement group."""
    return output_uid(digest, "tracking", str(label))


def _source_frames(source: SourceSeries, labels: np.ndarray) -> tuple[list[Dataset], np.ndarray]:
    """Source datasets and the label array aligned with their frames."""
    frames = source.stack.frames
    if all(f.frame_index is None for f in frames):
        datasets: list[Dataset] = [dcmread(f.path, stop_before_pixels=True) for f in frames]
        return datasets, labels
    by_path: dict[Path, list[int]] = defaultdict(list)
    for slot, f in enumerate(frames):
        by_path[f.path].append(slot)
    if len(by_path) != 1:
        raise DicomError(
            f"stack {source.stack.stack_id} spans {len(by_path)} multi-frame files; a SEG can "
            "reference only one multi-frame source image"
        )
    (path,) = by_path
    ds = dcmread(path, stop_before_pixels=True)
    n = int(ds.get("NumberOfFrames", 1))
    full = np.zeros((n, *labels.shape[1:]), dtype=labels.dtype)
    for slot, f in enumerate(frames):
        full[int(f.frame_index or 0)] = labels[slot]
    return [ds], full


def labels_on_source(labels: SimpleITK.Image, source: SourceSeries) -> np.ndarray:
    """The label map on the grid of ``source`` (frames, rows, columns), uint16."""
    on_grid = sitk.Resample(
        labels, source.volume, sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt16
    )
    arr: np.ndarray = sitk.GetArrayFromImage(on_grid)
    return arr


def build_seg(
    labels: SimpleITK.Image,
    source: SourceSeries,
    findings: Sequence[LevelFinding],
    *,
    digest: str,
    series_number: int,
) -> SegResult:
    """The SEG of the bodies of ``findings`` that have voxels in ``labels``."""
    arr = labels_on_source(labels, source)
    present = {int(v) for v in np.unique(arr) if v > 0}
    chosen = [f for f in findings if f.label in present]
    if not chosen:
        raise DicomError("the label map has no vertebral body on the source grid; no SEG written")
    keep = np.isin(arr, [f.label for f in chosen])
    arr = np.where(keep, arr, 0).astype(np.uint16)
    # Segment numbers must run 1..K: they equal the labels unless a body has no voxels here.
    numbers = {f.label: i + 1 for i, f in enumerate(chosen)}
    if any(label != number for label, number in numbers.items()):
        lut = np.zeros(int(arr.max()) + 1, dtype=np.uint16)
        for label, number in numbers.items():
            lut[label] = number
        arr = lut[arr]
    algorithm = hd.AlgorithmIdentificationSequence(
        name="acuity", family=codes.ALGORITHM_FAMILY, version=SOFTWARE_VERSION
    )
    descriptions = []
    for f in chosen:
        color = ACUITY_COLORS[Acuity(f.acuity)] if f.fractured else _BODY_COLOR
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=numbers[f.label],
                segment_label=segment_label(f),
                segmented_property_category=codes.ANATOMICAL_STRUCTURE,
                segmented_property_type=codes.vertebra_code(f.level),
                algorithm_type="AUTOMATIC",
                algorithm_identification=algorithm,
                tracking_uid=tracking_uid(digest, f.label),
                tracking_id=segment_label(f),
                display_color=hd.color.CIELabColor.from_rgb(*color),
            )
        )
    datasets, pixels = _source_frames(source, arr)
    seg = hd.seg.Segmentation(
        source_images=datasets,
        pixel_array=pixels,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=output_uid(digest, "seg", "series"),
        series_number=series_number,
        sop_instance_uid=output_uid(digest, "seg"),
        instance_number=1,
        manufacturer=MANUFACTURER,
        manufacturer_model_name=MODEL_NAME,
        software_versions=SOFTWARE_VERSION,
        device_serial_number=DEVICE_SERIAL,
        series_description="acuity vertebral bodies",
        content_description="Vertebral bodies, one segment per level (acuity)",
        content_label="VERTEBRAE",
    )
    if "BodyPartExamined" in datasets[0]:
        seg.BodyPartExamined = datasets[0].BodyPartExamined
    return SegResult(seg, numbers)


def segment_numbers(seg: Dataset) -> dict[int, str]:
    """Segment number -> segment label of a SEG data set."""
    return {int(s.SegmentNumber): str(s.SegmentLabel) for s in seg.SegmentSequence}

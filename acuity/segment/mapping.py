"""One segmentation for every series of a study that shares its frame of reference.

Label maps move between series (STIR, T1, T2 ...) through physical LPS space with
nearest-neighbour resampling; the overlap report says how much of each body lands inside
the target's field of view, so a series that does not share the frame of reference (or
does not cover the spine) is caught instead of silently getting an empty or shifted mask.
"""

from __future__ import annotations

import logging

import numpy as np
import SimpleITK as sitk

from acuity.errors import InputError
from acuity.segment.grid import check_image
from acuity.segment.model import BodyOverlap, OverlapReport, Segmentation

logger = logging.getLogger(__name__)


def _ones_like(image: sitk.Image) -> sitk.Image:
    ones = sitk.Image(image.GetSize(), sitk.sitkUInt8)  # type: ignore[no-untyped-call]
    ones.CopyInformation(image)  # type: ignore[no-untyped-call]
    return ones + 1  # type: ignore[no-any-return]


def _nearest(image: sitk.Image, reference: sitk.Image) -> sitk.Image:
    return sitk.Resample(
        image, reference, sitk.Transform(), sitk.sitkNearestNeighbor, 0, image.GetPixelID()  # type: ignore[no-untyped-call]
    )


def map_labels(
    seg: Segmentation, target_image: sitk.Image, *, min_fraction: float = 0.0
) -> tuple[sitk.Image, OverlapReport]:
    """``seg``'s label map on ``target_image``'s grid, and how well the two overlap.

    Raises InputError when no body lands inside the target (different frame of reference,
    or a series that does not show the segmented spine), or when less than ``min_fraction``
    of the segmented volume does.
    """
    check_image(target_image)
    src = seg.label_map
    mapped = _nearest(src, target_image)
    src_arr = sitk.GetArrayViewFromImage(src)
    # Which source voxels fall inside the target's field of view.
    inside = sitk.GetArrayViewFromImage(_nearest(_ones_like(target_image), src)) > 0
    covered = float(np.mean(sitk.GetArrayViewFromImage(_nearest(_ones_like(src), target_image)) > 0))
    voxel = float(np.prod(src.GetSpacing()))  # type: ignore[no-untyped-call]
    n = len(seg.bodies)
    total = np.bincount(src_arr.ravel(), minlength=n + 1)[: n + 1]
    within = np.bincount(src_arr[inside].ravel(), minlength=n + 1)[: n + 1]
    mapped_arr = sitk.GetArrayViewFromImage(mapped)
    mapped_counts = np.bincount(mapped_arr.ravel(), minlength=n + 1)[: n + 1]
    bodies = tuple(
        BodyOverlap(
            label=b.label,
            level=b.level,
            volume_mm3=float(total[b.label] * voxel),
            fraction_in_target=float(within[b.label] / total[b.label]) if total[b.label] else 0.0,
        )
        for b in seg.bodies
    )
    seg_total = float(total[1:].sum())
    fraction = float(within[1:].sum() / seg_total) if seg_total else 0.0
    lost = tuple(b.label for b in seg.bodies if mapped_counts[b.label] == 0)
    report = OverlapReport(
        fraction_in_target=fraction, target_box_covered=covered, bodies=bodies, lost_labels=lost
    )
    if seg.bodies and fraction <= 0.0:
        raise InputError(
            "map_labels: none of the segmented bodies lies inside the target image's field of "
            "view; the series do not share a frame of reference or do not show the same spine"
        )
    if fraction < min_fraction:
        raise InputError(
            f"map_labels: only {fraction:.0%} of the segmented volume lies inside the target "
            f"image (min_fraction {min_fraction:.0%})"
        )
    logger.info(
        "mapped %d bodies: %.0f%% of the segmented volume inside the target, %d lost",
        n,
        100 * fraction,
        len(lost),
    )
    return mapped, report

"""Images on grids: label maps mapped between series, bias-field correction, smoothing.

Everything is in LPS physical space (SimpleITK's), so a label map drawn on one series is
mapped onto another by nearest-neighbour resampling through physical space, whatever the two
grids are.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from acuity.errors import InputError

logger = logging.getLogger(__name__)


def check_3d(image: sitk.Image, name: str) -> None:
    if not isinstance(image, sitk.Image):
        raise InputError(f"{name} must be a SimpleITK image, got {type(image).__name__}")
    dim = image.GetDimension()  # type: ignore[no-untyped-call]
    if dim != 3:
        raise InputError(f"{name} has dimension {dim}; a 3-D image is needed")
    if image.GetNumberOfComponentsPerPixel() != 1:  # type: ignore[no-untyped-call]
        raise InputError(f"{name} has several components per pixel; a scalar image is needed")


def same_grid(a: sitk.Image, b: sitk.Image, tol: float = 1e-3) -> bool:
    """True when two images share size, spacing, origin and direction."""
    return (
        tuple(a.GetSize()) == tuple(b.GetSize())  # type: ignore[no-untyped-call]
        and np.allclose(a.GetSpacing(), b.GetSpacing(), atol=tol)  # type: ignore[no-untyped-call]
        and np.allclose(a.GetOrigin(), b.GetOrigin(), atol=tol)  # type: ignore[no-untyped-call]
        and np.allclose(a.GetDirection(), b.GetDirection(), atol=tol)  # type: ignore[no-untyped-call]
    )


def labels_on(labels: sitk.Image, reference: sitk.Image) -> sitk.Image:
    """``labels`` on ``reference``'s grid (nearest neighbour in physical space, 0 outside)."""
    if same_grid(labels, reference):
        return labels
    out: sitk.Image = sitk.Resample(
        labels,
        reference,
        sitk.Transform(),  # type: ignore[no-untyped-call]
        sitk.sitkNearestNeighbor,
        0,
        labels.GetPixelID(),  # type: ignore[no-untyped-call]
    )
    return out


def as_float32(image: sitk.Image) -> sitk.Image:
    out: sitk.Image = sitk.Cast(image, sitk.sitkFloat32)  # type: ignore[no-untyped-call]
    return out


def image_like(array: np.ndarray, reference: sitk.Image) -> sitk.Image:
    """``array`` (slices, rows, columns) as an image with ``reference``'s geometry."""
    out = sitk.GetImageFromArray(array)
    out.CopyInformation(reference)  # type: ignore[no-untyped-call]
    return out


def spacing_zyx(image: sitk.Image) -> tuple[float, float, float]:
    """Voxel spacing (mm) in array order (slices, rows, columns)."""
    sx, sy, sz = image.GetSpacing()  # type: ignore[no-untyped-call]
    return (float(sz), float(sy), float(sx))


def voxel_mm3(image: sitk.Image) -> float:
    return float(np.prod(image.GetSpacing()))  # type: ignore[no-untyped-call]


def n4_corrected(image: sitk.Image, resolution_mm: float = 8.0, iterations: int = 50) -> sitk.Image:
    """``image`` divided by its N4 bias field (float32, same grid).

    N4 (Tustison et al., IEEE TMI 2010;29:1310) is fitted on a copy shrunk to about
    ``resolution_mm`` voxels, over the voxels above 10 % of the 99th percentile (tissue, not
    air); the log field is then evaluated on the full grid. The field is normalised to a
    median of 1 inside that mask, so intensities keep their scale.
    """
    check_3d(image, "image")
    img = as_float32(image)
    arr = sitk.GetArrayViewFromImage(img)
    positive = arr[arr > 0]
    if positive.size < 100:
        return img
    level = 0.1 * float(np.percentile(positive, 99))
    spacing = img.GetSpacing()  # type: ignore[no-untyped-call]
    factors = [max(1, round(resolution_mm / s)) for s in spacing]
    small = sitk.Shrink(img, factors)  # type: ignore[no-untyped-call]
    mask = sitk.BinaryThreshold(small, level, 1e30, 1, 0)  # type: ignore[no-untyped-call]
    corrector = sitk.N4BiasFieldCorrectionImageFilter()  # type: ignore[no-untyped-call]
    corrector.SetMaximumNumberOfIterations([iterations] * 3)  # type: ignore[no-untyped-call]
    corrector.SetConvergenceThreshold(0.001)  # type: ignore[no-untyped-call]
    try:
        corrector.Execute(small, mask)  # type: ignore[no-untyped-call]
    except RuntimeError as exc:  # pragma: no cover - depends on ITK's numerical limits
        logger.warning("N4 bias correction failed (%s); using the image as it is", exc)
        return img
    log_field = sitk.GetArrayFromImage(
        corrector.GetLogBiasFieldAsImage(img)  # type: ignore[no-untyped-call]
    )
    full_mask = arr > level
    centre = float(np.median(log_field[full_mask])) if full_mask.any() else 0.0
    out = np.asarray(arr, dtype=np.float32) / np.exp(log_field - centre).astype(np.float32)
    return image_like(out, img)


def smooth_within(
    values: np.ndarray, mask: np.ndarray, sigma_mm: float, spacing: tuple[float, float, float]
) -> np.ndarray:
    """Gaussian smoothing of ``values`` using only voxels inside ``mask`` (normalised
    convolution), so nothing outside (discs, fat, fluid) bleeds in. Axes whose spacing exceeds
    twice ``sigma_mm`` (thick slices) are not smoothed. Outside ``mask``: ``values``."""
    if sigma_mm <= 0:
        return values.astype(np.float32)
    sig = [sigma_mm / s if s <= 2 * sigma_mm else 0.0 for s in spacing]
    m = mask.astype(np.float32)
    num = ndimage.gaussian_filter(values.astype(np.float32) * m, sig)
    den = ndimage.gaussian_filter(m, sig)
    out = np.where(den > 1e-3, num / np.maximum(den, 1e-3), values)
    return np.where(mask, out, values).astype(np.float32)


def remove_small(
    mask: np.ndarray,
    min_mm3: float,
    voxel_volume: float,
    *,
    per_slice: bool = False,
    seeds: np.ndarray | None = None,
) -> np.ndarray:
    """``mask`` without connected clusters smaller than ``min_mm3``: 3-D (26 neighbours), or
    within each slice of the first axis (8 neighbours) with ``per_slice``. With ``seeds``
    only clusters holding a seed voxel are kept (hysteresis, the rule of
    ``skimage.filters.apply_hysteresis_threshold``)."""
    if (min_mm3 <= 0 and seeds is None) or not mask.any():
        return mask
    structure = np.ones((3, 3, 3), dtype=bool)
    if per_slice:
        structure[0] = structure[2] = False
    lab, n = ndimage.label(mask, structure=structure)
    keep = np.bincount(lab.ravel(), minlength=n + 1) * voxel_volume >= min_mm3
    if seeds is not None:
        keep &= np.bincount(lab[seeds], minlength=n + 1) > 0
    keep[0] = False
    return np.asarray(keep[lab])


def eroded(mask: np.ndarray, depth_mm: float, spacing: tuple[float, float, float]) -> np.ndarray:
    """Voxels of ``mask`` farther than ``depth_mm`` from its outside (Euclidean, in mm)."""
    if depth_mm <= 0 or not mask.any():
        return mask
    box = bounding_box(mask)
    sub = np.pad(mask[box], 1)
    dist = ndimage.distance_transform_edt(sub, sampling=spacing)[1:-1, 1:-1, 1:-1]
    out = np.zeros_like(mask, dtype=bool)
    out[box] = dist > depth_mm
    return out


def bounding_box(mask: np.ndarray) -> tuple[slice, ...]:
    """Array slices of the smallest box holding every True voxel of ``mask``."""
    idx = np.nonzero(mask)
    return tuple(slice(int(i.min()), int(i.max()) + 1) for i in idx)


def finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None

"""The working grid of the network: sagittal slices, fixed in-plane spacing, LPS geometry.

Any image is first re-ordered (axes permuted and flipped, no interpolation) with
``sitk.DICOMOrient`` so that its columns run anterior->posterior, its rows head->feet and its
slices left->right ("PIR", the layout of a DICOM sagittal series and of the training data).
Its in-plane axes are then resampled to the network's spacing (1.25 mm by default); the slice
axis keeps its own spacing (no through-plane interpolation of a 3-5 mm sagittal series) unless
finer than ``min_slice_mm``. Results go back to the input grid by physical-space resampling.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import SimpleITK as sitk

from acuity.errors import InputError

logger = logging.getLogger(__name__)

#: DICOMOrient code of the working layout: columns -> P, rows -> I, slices -> R.
WORK_ORIENTATION = "PIR"


def check_image(image: sitk.Image) -> None:
    """Raise InputError unless ``image`` is a 3-D scalar image with at least 2 voxels per axis."""
    if image.GetDimension() != 3:  # type: ignore[no-untyped-call]
        raise InputError(
            f"image dimension is {image.GetDimension()}; segmentation needs a 3-D volume "  # type: ignore[no-untyped-call]
            "(a stack of slices)"
        )
    if image.GetNumberOfComponentsPerPixel() != 1:  # type: ignore[no-untyped-call]
        raise InputError(
            f"image has {image.GetNumberOfComponentsPerPixel()} components per voxel; give a "  # type: ignore[no-untyped-call]
            "scalar (grey-level) image"
        )
    if min(image.GetSize()) < 2:  # type: ignore[no-untyped-call]
        raise InputError(
            f"image size {image.GetSize()} has a single slice along one axis; segmentation needs "  # type: ignore[no-untyped-call]
            "a 3-D stack"
        )


def to_working(
    image: sitk.Image, *, inplane_mm: float = 1.25, min_slice_mm: float = 1.0
) -> sitk.Image:
    """``image`` as float32 on the working grid (see module docstring)."""
    check_image(image)
    img = sitk.Cast(image, sitk.sitkFloat32)  # type: ignore[no-untyped-call]
    oriented = sitk.DICOMOrient(img, WORK_ORIENTATION)  # type: ignore[no-untyped-call]
    spacing = np.array(oriented.GetSpacing(), dtype=float)
    size = np.array(oriented.GetSize(), dtype=float)
    new_spacing = np.array([inplane_mm, inplane_mm, max(spacing[2], min_slice_mm)])
    new_size = [max(1, math.ceil(n * s / ns - 1e-6)) for n, s, ns in zip(size, spacing, new_spacing)]
    # Keep the outer corner of the first voxel fixed.
    direction = np.array(oriented.GetDirection()).reshape(3, 3)
    corner = np.array(oriented.GetOrigin()) - direction @ (spacing / 2)
    new_origin = corner + direction @ (new_spacing / 2)
    # Anti-alias before shrinking (0.5 mm in-plane clinical pixels -> 1.25 mm).
    variance = [
        (0.42 * ns) ** 2 - (0.42 * s) ** 2 if ns > 1.3 * s else 0.0
        for s, ns in zip(spacing, new_spacing)
    ]
    if any(v > 0 for v in variance):
        oriented = sitk.DiscreteGaussian(oriented, variance=variance, useImageSpacing=True)
    out = sitk.Resample(
        oriented,
        [int(v) for v in new_size],
        sitk.Transform(),  # type: ignore[no-untyped-call]
        sitk.sitkLinear,
        tuple(float(v) for v in new_origin),
        tuple(float(v) for v in new_spacing),
        oriented.GetDirection(),
        0.0,
        sitk.sitkFloat32,
    )
    logger.debug(
        "working grid: size %s spacing %s (input size %s spacing %s)",
        out.GetSize(),  # type: ignore[no-untyped-call]
        tuple(round(v, 3) for v in out.GetSpacing()),  # type: ignore[no-untyped-call]
        image.GetSize(),  # type: ignore[no-untyped-call]
        tuple(round(v, 3) for v in image.GetSpacing()),  # type: ignore[no-untyped-call]
    )
    return out


def array_to_image(array: np.ndarray, reference: sitk.Image) -> sitk.Image:
    """A SimpleITK image of ``array`` (z, y, x) with ``reference``'s geometry."""
    out = sitk.GetImageFromArray(array)
    out.CopyInformation(reference)  # type: ignore[no-untyped-call]
    return out


def resample_to(
    image: sitk.Image, reference: sitk.Image, *, nearest: bool = False, default: float = 0.0
) -> sitk.Image:
    """``image`` resampled onto ``reference``'s grid through physical (LPS) space."""
    return sitk.Resample(
        image,
        reference,
        sitk.Transform(),  # type: ignore[no-untyped-call]
        sitk.sitkNearestNeighbor if nearest else sitk.sitkLinear,
        default,
        image.GetPixelID(),  # type: ignore[no-untyped-call]
    )


def voxel_volume_mm3(image: sitk.Image) -> float:
    sx, sy, sz = image.GetSpacing()  # type: ignore[no-untyped-call]
    return float(sx * sy * sz)


def simulate_thick_slices(image: sitk.Image, slice_mm: float) -> sitk.Image:
    """A thin-slice volume re-sliced along its own slice axis into ``slice_mm`` slices.

    Each new slice is a slab average (a Gaussian with the variance of a ``slice_mm`` box
    profile) as in a 2-D multi-slice acquisition; in-plane pixels are unchanged. Used to check
    that 1 mm training data generalise to clinical 3-5 mm sagittal series.
    """
    check_image(image)
    sx, sy, sz = image.GetSpacing()  # type: ignore[no-untyped-call]
    if slice_mm <= sz:
        raise InputError(f"slice_mm {slice_mm} must exceed the image's slice spacing {sz}")
    img = sitk.Cast(image, sitk.sitkFloat32)  # type: ignore[no-untyped-call]
    img = sitk.DiscreteGaussian(img, variance=[0.0, 0.0, slice_mm**2 / 12.0], useImageSpacing=True)
    n = max(1, math.floor(image.GetSize()[2] * sz / slice_mm))  # type: ignore[no-untyped-call]
    first = image.TransformContinuousIndexToPhysicalPoint((0.0, 0.0, (slice_mm / sz - 1.0) / 2.0))  # type: ignore[no-untyped-call]
    return sitk.Resample(
        img,
        [image.GetSize()[0], image.GetSize()[1], n],  # type: ignore[no-untyped-call]
        sitk.Transform(),  # type: ignore[no-untyped-call]
        sitk.sitkLinear,
        first,
        (sx, sy, slice_mm),
        image.GetDirection(),  # type: ignore[no-untyped-call]
        0.0,
        sitk.sitkFloat32,
    )

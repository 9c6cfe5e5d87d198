"""Fixtures for the ingestion tests: known-truth geometry checks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import SimpleITK as sitk

from acuity.ingest import SeriesStack, Volume
from acuity.sim import SeriesSpec

#: Geometry must be rebuilt to within this (mm, or unitless for direction cosines).
TOLERANCE = 1e-3


def _check(stack: SeriesStack, spec: SeriesSpec, volume: Volume | None = None) -> None:
    geometry = stack.geometry
    assert geometry is not None, stack.unusable_reason
    np.testing.assert_allclose(geometry.origin, spec.origin, atol=TOLERANCE)
    np.testing.assert_allclose(geometry.spacing, spec.spacing, atol=TOLERANCE)
    np.testing.assert_allclose(geometry.direction, spec.direction, atol=TOLERANCE)
    n, rows, columns = spec.array.shape
    assert geometry.size == (columns, rows, n)
    if volume is not None:
        image = volume.image
        assert image.GetPixelID() == sitk.sitkFloat32
        np.testing.assert_allclose(image.GetOrigin(), spec.origin, atol=TOLERANCE)
        np.testing.assert_allclose(image.GetSpacing(), spec.spacing, atol=TOLERANCE)
        np.testing.assert_allclose(image.GetDirection(), spec.direction, atol=TOLERANCE)


@pytest.fixture
def check_geometry() -> Callable[..., None]:
    """``check_geometry(stack, spec, volume=None)``: the stack (and the volume's image)
    have the origin, spacing, direction and size the spec was written with."""
    return _check


def rotation(axis: str, degrees: float) -> np.ndarray:
    """3x3 rotation about a patient axis."""
    t = np.radians(degrees)
    c, s = np.cos(t), np.sin(t)
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


@pytest.fixture
def oblique_direction() -> tuple[float, ...]:
    """Axial tilted 40 degrees about x then turned 25 degrees about z: oblique."""
    d = rotation("z", 25) @ rotation("x", 40) @ np.eye(3)
    return tuple(float(v) for v in d.ravel())

"""Fixed sets of values used by ingestion."""

from __future__ import annotations

from enum import Enum


class Plane(str, Enum):
    """Acquisition plane, from the slice normal of ImageOrientationPatient."""

    SAGITTAL = "sagittal"
    CORONAL = "coronal"
    AXIAL = "axial"
    OBLIQUE = "oblique"


class StackProblem(str, Enum):
    """What can be wrong with a stack's geometry (each comes with a message)."""

    MISSING_SLICES = "missing_slices"
    IRREGULAR_SPACING = "irregular_spacing"
    DUPLICATE_POSITIONS = "duplicate_positions"
    SINGLE_SLICE = "single_slice"
    NO_GEOMETRY = "no_geometry"
    #: Slices not stacked along the slice normal (gantry tilt, moved field of view).
    MISALIGNED_SLICES = "misaligned_slices"

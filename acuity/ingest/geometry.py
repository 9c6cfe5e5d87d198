"""Order a stack's frames along the slice normal and derive its 3-D grid.

Frames are ordered by the projection of ImagePositionPatient on the slice normal (the
cross product of the row and column cosines of ImageOrientationPatient), never by
InstanceNumber or by z: a sagittal stack steps along x, an oblique one along all three.
The slice spacing is the median step between consecutive positions, and the steps are
checked against it:

* a step within ``SPACING_TOLERANCE`` (5 %) of the median is regular;
* a step within 5 % of a multiple ``k >= 2`` of the median is a gap of ``k - 1``
  missing slices (:attr:`StackProblem.MISSING_SLICES`);
* any other step is irregular spacing (:attr:`StackProblem.IRREGULAR_SPACING`);
* positions closer than ``DUPLICATE_TOLERANCE_MM`` along the normal are duplicates
  (:attr:`StackProblem.DUPLICATE_POSITIONS`): the stack cannot be one volume;
* a slice whose position is off the line through the first slice along the normal by more
  than half the smaller pixel spacing (gantry tilt, a moved field of view) makes the stack
  misaligned (:attr:`StackProblem.MISALIGNED_SLICES`): it cannot be one regular volume.

The plane comes from the normal's dominant axis (x: sagittal, y: coronal, z: axial), or is
oblique when the normal is more than ``OBLIQUE_DEGREES`` (30 degrees) from every axis.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from acuity.ingest.enum import Plane, StackProblem
from acuity.ingest.model import Frame, StackGeometry, StackIssue

logger = logging.getLogger(__name__)

#: Relative tolerance on the step between consecutive slices (fraction of the median step).
SPACING_TOLERANCE = 0.05
#: Frames closer than this along the slice normal (mm) are at the same position.
DUPLICATE_TOLERANCE_MM = 0.01
#: A slice normal further than this from every patient axis makes the plane oblique.
OBLIQUE_DEGREES = 30.0
#: Largest in-plane offset of a slice from the stacking line, as a fraction of the smaller
#: pixel spacing.
MISALIGNMENT_TOLERANCE = 0.5
#: How many examples a message lists before "...".
_EXAMPLES = 4


@dataclass(frozen=True)
class OrderedStack:
    """Frames ordered along the normal, with the grid they form and what is wrong."""

    frames: list[Frame]
    geometry: StackGeometry | None
    issues: list[StackIssue]
    #: Why these frames cannot form one volume (None when they can).
    unusable_reason: str | None


def axes_of(
    orientation: Sequence[float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit row direction, column direction (orthogonalised) and slice normal of an IOP."""
    row = np.asarray(orientation[:3], dtype=float)
    col = np.asarray(orientation[3:6], dtype=float)
    row = row / np.linalg.norm(row)
    col = col - (col @ row) * row
    col = col / np.linalg.norm(col)
    normal = np.cross(row, col)
    return row, col, normal / np.linalg.norm(normal)


def plane_of(normal: Sequence[float] | np.ndarray) -> Plane:
    """Sagittal, coronal or axial from the dominant axis of ``normal``; oblique when the
    normal is more than :data:`OBLIQUE_DEGREES` from every axis."""
    n = np.abs(np.asarray(normal, dtype=float))
    n = n / np.linalg.norm(n)
    axis = int(np.argmax(n))
    angle = math.degrees(math.acos(min(1.0, float(n[axis]))))
    if angle > OBLIQUE_DEGREES:
        return Plane.OBLIQUE
    return (Plane.SAGITTAL, Plane.CORONAL, Plane.AXIAL)[axis]


def _mm(value: float) -> str:
    return f"{value:.2f} mm"


def _listing(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_EXAMPLES])
    return shown + (f", ... ({len(items)} in all)" if len(items) > _EXAMPLES else "")


def order_frames(frames: Sequence[Frame]) -> OrderedStack:
    """Order ``frames`` (one orientation, matrix and pixel spacing) along the slice normal,
    derive the stack's :class:`StackGeometry` and check its spacing."""
    if not frames:
        raise ValueError("order_frames needs at least one frame")
    first = frames[0]
    row, col, normal = axes_of(first.orientation)
    proj = [float(np.dot(f.position, normal)) for f in frames]
    # Ties (duplicates) are broken deterministically by instance number, file and frame.
    keyed = sorted(
        zip(proj, frames, strict=True),
        key=lambda pf: (
            pf[0],
            pf[1].instance_number if pf[1].instance_number is not None else -1,
            str(pf[1].path),
            pf[1].frame_index if pf[1].frame_index is not None else -1,
        ),
    )
    ordered = [f for _, f in keyed]
    offsets = np.array([p for p, _ in keyed])
    issues: list[StackIssue] = []
    unusable: list[str] = []

    steps = np.diff(offsets)
    duplicate = steps < DUPLICATE_TOLERANCE_MM
    if duplicate.any():
        where = [_mm(offsets[i + 1]) for i in np.flatnonzero(duplicate)]
        msg = (
            f"{int(duplicate.sum())} frame(s) share a position along the slice normal with "
            f"another frame (at {_listing(where)}): several images per location (repeated "
            "acquisitions, dynamic phases, diffusion directions) cannot form one volume"
        )
        issues.append(StackIssue(StackProblem.DUPLICATE_POSITIONS, msg))
        unusable.append(msg)

    real_steps = steps[~duplicate]
    step = float(np.median(real_steps)) if real_steps.size else 0.0
    if step <= 0:
        step = _fallback_spacing(first)
        if len(ordered) == 1:
            issues.append(
                StackIssue(
                    StackProblem.SINGLE_SLICE,
                    f"one slice only: slice spacing {_mm(step)} taken from "
                    "SpacingBetweenSlices/SliceThickness",
                )
            )
    else:
        issues.extend(_spacing_issues(offsets, steps, duplicate, step))

    misaligned = _misalignment(ordered, normal)
    if misaligned is not None:
        issues.append(StackIssue(StackProblem.MISALIGNED_SLICES, misaligned))
        unusable.append(misaligned)

    direction = np.column_stack([row, col, normal])
    geometry = StackGeometry(
        origin=(ordered[0].position[0], ordered[0].position[1], ordered[0].position[2]),
        spacing=(first.pixel_spacing[1], first.pixel_spacing[0], step),
        direction=_direction_tuple(direction),
        size=(first.columns, first.rows, len(ordered)),
        plane=plane_of(normal),
    )
    return OrderedStack(ordered, geometry, issues, "; ".join(unusable) or None)


def _direction_tuple(
    m: np.ndarray,
) -> tuple[float, float, float, float, float, float, float, float, float]:
    d = [float(v) + 0.0 for v in m.ravel()]  # + 0.0 turns -0.0 into 0.0
    return (d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8])


def _fallback_spacing(frame: Frame) -> float:
    if frame.slice_thickness is not None and frame.slice_thickness > 0:
        return frame.slice_thickness
    return 1.0


def _spacing_issues(
    offsets: np.ndarray, steps: np.ndarray, duplicate: np.ndarray, step: float
) -> list[StackIssue]:
    tol = SPACING_TOLERANCE * step
    gaps: list[str] = []
    n_missing = 0
    irregular: list[str] = []
    for i, s in enumerate(steps):
        if duplicate[i] or abs(s - step) <= tol:
            continue
        k = round(s / step)
        between = f"slices {i + 1} and {i + 2}"
        if k >= 2 and abs(s - k * step) <= tol:
            n_missing += k - 1
            gaps.append(f"{k - 1} between {between} ({_mm(offsets[i])} to {_mm(offsets[i + 1])})")
        else:
            irregular.append(f"{_mm(s)} between {between}")
    issues = []
    if gaps:
        issues.append(
            StackIssue(
                StackProblem.MISSING_SLICES,
                f"{n_missing} slice(s) missing: gap of {_listing(gaps)} along the slice normal, "
                f"where slices are {_mm(step)} apart; the volume stacks the slices present at "
                f"{_mm(step)}, so anatomy beyond a gap is displaced",
            )
        )
    if irregular:
        issues.append(
            StackIssue(
                StackProblem.IRREGULAR_SPACING,
                f"irregular slice spacing: steps of {_listing(irregular)} differ by more than "
                f"{SPACING_TOLERANCE:.0%} from the median step {_mm(step)}",
            )
        )
    return issues


def _misalignment(frames: Sequence[Frame], normal: np.ndarray) -> str | None:
    if len(frames) < 2:
        return None
    positions = np.array([f.position for f in frames], dtype=float)
    d = positions - positions[0]
    in_plane = d - np.outer(d @ normal, normal)
    dist = np.linalg.norm(in_plane, axis=1)
    limit = MISALIGNMENT_TOLERANCE * min(frames[0].pixel_spacing)
    worst = int(np.argmax(dist))
    if dist[worst] <= limit:
        return None
    return (
        f"slices are not stacked along the slice normal: slice {worst + 1} is offset "
        f"{_mm(float(dist[worst]))} in-plane from slice 1 (limit {_mm(limit)}, half a pixel); "
        "gantry tilt or a moved field of view, so the slices do not form a regular volume"
    )

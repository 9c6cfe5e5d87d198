"""Posterior wall of a vertebral body: how far its cortex bulges into the canal.

On the body's mid-sagittal plane (label map reformatted along the body frame, 0.5 mm grid,
averaged over w = -1, 0, 1 mm) the posterior wall is traced row by row along the superior
axis: the most posterior point of the body's run through the row, at the 0.5 crossing of the
label fraction. The reference is the straight line through the body's own posterior corners
(a line fitted to the wall at 5-25 % and 75-95 % of the body's traced height). The
displacement is the largest distance (mm) by which the wall between them (10-90 % of the
height, 2.5 mm median filtered) lies behind that line: positive means a convex bulge into the
canal, as a retropulsed fragment makes; a normal posterior wall is straight or concave
(scalloped), so it measures about 0 or below.

Limits: a fragment displaced together with the corner it carries tilts the line with it and is
under-measured; a whole body slipped backwards (retrolisthesis) is not a bulge and is not
measured here. A line through the neighbours' walls was tried and rejected: lordosis, the
lumbosacral angle and listhesis put normal bodies 3-16 mm "behind" it on the real exams.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy import ndimage

from acuity.measure.geometry import BodyFrame, SagittalReformat, sagittal_reformat
from acuity.sim.grid import Grid

logger = logging.getLogger(__name__)

#: Fewest traced rows for a wall to count.
MIN_ROWS = 6


def _trace(ref: SagittalReformat, label: int, own: bool) -> tuple[np.ndarray, np.ndarray]:
    """(u, v_posterior) of every row where ``label`` is present."""
    frac = ref.fraction[label]
    step = float(ref.v[1] - ref.v[0])
    centre = int(np.argmin(np.abs(ref.v)))
    us, vs = [], []
    for i in range(frac.shape[0]):
        inside = np.nonzero(frac[i] >= 0.5)[0]
        if inside.size < 4:
            continue
        runs = np.split(inside, np.nonzero(np.diff(inside) > 1)[0] + 1)
        run = max(runs, key=len)
        if own:
            hit = next((r for r in runs if r[0] <= centre <= r[-1]), None)
            if hit is None:
                continue
            run = hit
        j = int(run[0])
        edge = float(ref.v[j])
        if j > 0:
            f0, f1 = float(frac[i, j - 1]), float(frac[i, j])
            if f1 > f0:
                edge -= step * (f1 - 0.5) / (f1 - f0)
        us.append(float(ref.u[i]))
        vs.append(edge)
    return np.asarray(us), np.asarray(vs)


def _central(u: np.ndarray, v: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    if u.size == 0:
        return u, v
    a, b = float(u.min()), float(u.max())
    keep = (u >= a + lo * (b - a)) & (u <= a + hi * (b - a))
    return u[keep], v[keep]


def posterior_displacement(
    labels: np.ndarray, grid: Grid, frame: BodyFrame, label: int
) -> float | None:
    """Largest bulge (mm) of body ``label``'s posterior wall behind the line through its own
    posterior corners; None when the wall cannot be traced."""
    ref = sagittal_reformat(labels, grid, frame, [label])
    u_own, v_own = _trace(ref, label, own=True)
    if u_own.size < MIN_ROWS:
        return None
    # Keep the rows of the stretch around the centre whose wall is near the central rows' wall
    # (rows at a rounded endplate rim start far anterior).
    mid = float(np.median(v_own[np.abs(u_own) <= 3.0])) if np.any(np.abs(u_own) <= 3.0) else 0.0
    keep = np.abs(v_own - mid) <= 10.0
    u_own, v_own = u_own[keep], v_own[keep]
    if u_own.size < MIN_ROWS:
        return None
    # Rows of the body itself: one contiguous stretch around the centre.
    uc, vc = _central(u_own, v_own, 0.1, 0.9)
    if uc.size < MIN_ROWS:
        return None
    vc = ndimage.median_filter(vc, size=5, mode="nearest")
    ends_lo = _central(u_own, v_own, 0.05, 0.25)
    ends_hi = _central(u_own, v_own, 0.75, 0.95)
    uu = np.concatenate([ends_lo[0], ends_hi[0]])
    vv = np.concatenate([ends_lo[1], ends_hi[1]])
    if uu.size < 4 or float(np.ptp(uu)) < 5.0:
        return None
    coef = np.polyfit(uu, vv, 1)
    return float(np.max(np.polyval(coef, uc) - vc))

"""Per-body frames and heights on a labelled image (shared by measurement and simulation).

Arrays are (slices, rows, columns) laid on a :class:`~acuity.sim.grid.Grid`, so which axis runs
head-feet or front-back comes from the direction matrix, never from a convention.

Heights are measured in a per-body frame (:class:`BodyFrame`): the superior axis follows the
spine (centroid of the body above minus centroid of the body below; for the first and last
body of a label map, which have one neighbour, the normal of the body's inferior endplate),
the anterior axis is at right angles to it in the sagittal plane, the lateral axis completes
them. Anterior, middle and
posterior heights are the lengths of the body along the superior axis at 10 %, 50 % and 90 % of
its depth measured from the anterior wall, on the mid-height AP line through the frame centre
(the body's mid-sagittal plane, w = 0, averaged over w = -1, 0, 1 mm and over +-1 mm along the
AP axis); lengths are integrals of the linearly interpolated mask (sub-voxel). This is 6-point
morphometry in the style of Genant: the six points are the superior and inferior endplate
points of the three heights.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from acuity.errors import InputError
from acuity.sim.grid import Grid

logger = logging.getLogger(__name__)

Vec3 = tuple[float, float, float]

#: Where heights are measured, as fractions of the body depth from the anterior wall.
HEIGHT_POINTS = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class BodyFrame:
    """Centre and axes (LPS unit vectors) of one vertebral body."""

    centre: Vec3
    superior: Vec3
    anterior: Vec3

    @property
    def lateral(self) -> Vec3:
        """Towards the patient's left (superior x anterior)."""
        return _t(np.cross(np.asarray(self.superior), np.asarray(self.anterior)))

    def to_local(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(u along superior, v along anterior, w along lateral) of points (3, ...)."""
        c = np.asarray(self.centre).reshape(3, *([1] * (points.ndim - 1)))
        d = points - c
        axes = (self.superior, self.anterior, self.lateral)
        out = [d[0] * float(a[0]) + d[1] * float(a[1]) + d[2] * float(a[2]) for a in axes]
        return out[0], out[1], out[2]

    def to_lps(self, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        """LPS points (3, ...) of local coordinates."""
        out = np.empty((3, *np.shape(u)), dtype=float)
        for i in range(3):
            out[i] = (
                self.centre[i] + u * self.superior[i] + v * self.anterior[i] + w * self.lateral[i]
            )
        return out

    def as_dict(self) -> dict[str, list[float]]:
        return {
            "centre_lps": [round(x, 3) for x in self.centre],
            "superior_axis_lps": [round(x, 5) for x in self.superior],
            "anterior_axis_lps": [round(x, 5) for x in self.anterior],
        }


@dataclass(frozen=True)
class Heights:
    """Anterior, middle and posterior heights (mm) of a body."""

    anterior: float
    middle: float
    posterior: float

    def as_dict(self) -> dict[str, float]:
        return {
            "anterior": round(self.anterior, 2),
            "middle": round(self.middle, 2),
            "posterior": round(self.posterior, 2),
        }

    @property
    def mean(self) -> float:
        return (self.anterior + self.middle + self.posterior) / 3.0


def _t(v: np.ndarray) -> Vec3:
    return (float(v[0]), float(v[1]), float(v[2]))


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    if n == 0:
        raise InputError("cannot build a body frame: two body centroids coincide")
    return v / n


def lateral_axis(grid: Grid) -> np.ndarray:
    """Unit vector (towards +L) of the grid axis closest to left-right."""
    m = grid.matrix
    col = int(np.argmax(np.abs(m[0, :])))
    a = m[:, col].copy()
    return a if a[0] > 0 else -a


def check_shapes(image: np.ndarray, labels: np.ndarray, grid: Grid) -> None:
    if image.shape != grid.shape or labels.shape != grid.shape:
        raise InputError(
            f"image shape {image.shape} and labels shape {labels.shape} must both equal the "
            f"grid shape (slices, rows, columns) {grid.shape}"
        )


def label_centroids(labels: np.ndarray, grid: Grid) -> dict[int, np.ndarray]:
    """LPS centroid of every nonzero label."""
    check_shapes(labels, labels, grid)
    ids = [int(i) for i in np.unique(labels) if i != 0]
    if not ids:
        return {}
    com = ndimage.center_of_mass(np.ones(labels.shape), labels, ids)
    out = {}
    for i, (k, j, c) in zip(ids, com):
        out[i] = grid.index_to_lps(np.array([c, j, k]))
    return out


def body_frames(labels: np.ndarray, grid: Grid) -> dict[int, BodyFrame]:
    """A :class:`BodyFrame` for every label (labels numbered superior to inferior)."""
    cents = label_centroids(labels, grid)
    lat = lateral_axis(grid)
    ids = sorted(cents)
    frames = {}
    for n, i in enumerate(ids):
        above = cents[ids[n - 1]] if n > 0 else None
        below = cents[ids[n + 1]] if n + 1 < len(ids) else None
        if above is not None and below is not None:
            sup = above - below
        elif above is not None:
            sup = above - cents[i]
        elif below is not None:
            sup = cents[i] - below
        else:
            sup = np.array([0.0, 0.0, 1.0])
        sup = sup - float(sup @ lat) * lat
        sup = _unit(sup)
        if sup[2] < 0:
            sup = -sup
        ant = _unit(np.cross(lat, sup))
        frames[i] = BodyFrame(centre=_t(cents[i]), superior=_t(sup), anterior=_t(ant))
    if len(ids) >= 2:
        # The first and last body have a neighbour on one side only: their centroid axis
        # leans with the curve of the spine (L5 above an unlabelled sacrum by 10-20 degrees),
        # so they take the normal of their inferior endplate instead (compression fractures
        # mostly spare it; the simulator deforms the superior one or both symmetrically).
        for i in (ids[0], ids[-1]):
            frames[i] = refine_frame((labels == i).astype(np.float32), grid, frames[i])
    return frames


def sample_lps(volume: np.ndarray, grid: Grid, points: np.ndarray, order: int) -> np.ndarray:
    """Values of ``volume`` at LPS ``points`` (3, ...); outside the grid: 0."""
    idx = grid.lps_to_index(np.moveaxis(points, 0, -1))
    coords = np.stack([idx[..., 2], idx[..., 1], idx[..., 0]])
    return np.asarray(
        ndimage.map_coordinates(volume, coords, order=order, mode="constant", cval=0.0)
    )


@dataclass(frozen=True)
class Walls:
    """Anterior and posterior wall positions (v, mm, anterior positive) of a body."""

    anterior: float
    posterior: float

    def points(self, fractions: Sequence[float] = HEIGHT_POINTS) -> tuple[float, float, float]:
        depth = self.anterior - self.posterior
        a, m, p = (self.anterior - f * depth for f in fractions)
        return a, m, p

    @property
    def depth(self) -> float:
        return self.anterior - self.posterior


def body_walls(mask: np.ndarray, grid: Grid, frame: BodyFrame) -> Walls:
    """Anterior and posterior wall positions (v, mm) on the mid-height AP line."""
    v = np.arange(-60.0, 60.0, 0.1)
    u = np.array([-1.0, 0.0, 1.0])
    uu, vv = np.meshgrid(u, v, indexing="ij")
    prof = sample_lps(mask, grid, frame.to_lps(uu, vv, np.zeros_like(uu)), order=1).mean(axis=0)
    inside = np.nonzero(prof >= 0.5)[0]
    if inside.size == 0:
        raise InputError("the body mask does not cross its own centre: cannot measure it")
    # Keep the run containing the centre (v = 0), or the largest run.
    runs = np.split(inside, np.nonzero(np.diff(inside) > 1)[0] + 1)
    centre = int(np.argmin(np.abs(v)))
    run = next((r for r in runs if r[0] <= centre <= r[-1]), max(runs, key=len))
    return Walls(anterior=float(v[run[-1]]), posterior=float(v[run[0]]))


def measure_heights(
    labels: np.ndarray,
    grid: Grid,
    label: int,
    frame: BodyFrame | None = None,
    points: Sequence[float] = HEIGHT_POINTS,
) -> Heights:
    """Anterior/middle/posterior heights (mm) of body ``label`` (see module docstring)."""
    if frame is None:
        frame = body_frames(labels, grid)[label]
    mask = (labels == label).astype(np.float32)
    walls = body_walls(mask, grid, frame)
    return heights_at(mask, grid, frame, walls.points(points))


def heights_at(
    mask: np.ndarray, grid: Grid, frame: BodyFrame, v_points: Sequence[float]
) -> Heights:
    """Body lengths (mm) along the superior axis at the AP positions ``v_points`` (3)."""
    u = np.arange(-45.0, 45.0, 0.1)
    out = []
    ws = np.array([-1.0, 0.0, 1.0])
    for vp in v_points:
        vs = vp + np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
        uu, vv, ww = np.meshgrid(u, vs, ws, indexing="ij")
        prof = sample_lps(mask, grid, frame.to_lps(uu, vv, ww), order=1)
        out.append(float(prof.sum(axis=0).mean() * 0.1))
    return Heights(anterior=out[0], middle=out[1], posterior=out[2])


@dataclass(frozen=True)
class SagittalReformat:
    """Label fractions on a body's mid-sagittal plane: ``fraction[label]`` is (n_u, n_v), the
    share of the w = -1, 0, 1 mm samples at (u, v) that carry that label."""

    u: np.ndarray
    v: np.ndarray
    fraction: dict[int, np.ndarray]


def sagittal_reformat(
    labels: np.ndarray,
    grid: Grid,
    frame: BodyFrame,
    wanted: Sequence[int],
    u_half_mm: float = 80.0,
    v_range_mm: tuple[float, float] = (-60.0, 60.0),
    step_mm: float = 0.5,
) -> SagittalReformat:
    """Nearest-neighbour reformat of the label map on ``frame``'s mid-sagittal plane."""
    u = np.arange(-u_half_mm, u_half_mm + step_mm / 2, step_mm)
    v = np.arange(v_range_mm[0], v_range_mm[1] + step_mm / 2, step_mm)
    ws = np.array([-1.0, 0.0, 1.0])
    uu, vv, ww = np.meshgrid(u, v, ws, indexing="ij")
    lab = np.rint(sample_lps(labels.astype(np.float32), grid, frame.to_lps(uu, vv, ww), order=0))
    fraction = {int(k): (lab == k).mean(axis=2) for k in wanted}
    return SagittalReformat(u=u, v=v, fraction=fraction)


def endplate_tilt(
    mask: np.ndarray, grid: Grid, frame: BodyFrame, which: str = "inferior"
) -> float | None:
    """Slope du/dv of an endplate (``inferior``, ``superior`` or ``both``: their mean) of
    ``mask`` in ``frame``, over the central 25-75 % of the body's depth on the mid-sagittal
    plane; None if it cannot be traced."""
    try:
        walls = body_walls(mask, grid, frame)
    except InputError:
        return None
    lo = walls.posterior + 0.25 * walls.depth
    hi = walls.posterior + 0.75 * walls.depth
    v = np.arange(lo, hi, 0.5)
    u = np.arange(-45.0, 45.0, 0.25)
    ws = np.array([-1.0, 0.0, 1.0])
    uu, vv, ww = np.meshgrid(u, v, ws, indexing="ij")
    prof = sample_lps(mask, grid, frame.to_lps(uu, vv, ww), order=1).mean(axis=2)
    tops, bots, vs = [], [], []
    for j in range(v.size):
        inside = np.nonzero(prof[:, j] >= 0.5)[0]
        if inside.size < 8:
            continue
        tops.append(float(u[inside[-1]]))
        bots.append(float(u[inside[0]]))
        vs.append(float(v[j]))
    if len(vs) < 5:
        return None
    b_top = float(np.polyfit(vs, tops, 1)[0])
    b_bot = float(np.polyfit(vs, bots, 1)[0])
    if which == "inferior":
        return b_bot
    if which == "superior":
        return b_top
    return 0.5 * (b_top + b_bot)


def refine_frame(
    mask: np.ndarray, grid: Grid, frame: BodyFrame, which: str = "inferior", iterations: int = 2
) -> BodyFrame:
    """``frame`` turned in its sagittal plane so that its superior axis is normal to the
    body's ``which`` endplate (see :func:`endplate_tilt`)."""
    for _ in range(iterations):
        slope = endplate_tilt(mask, grid, frame, which)
        if slope is None or abs(slope) < 1e-3:
            break
        sup = np.asarray(frame.superior) - slope * np.asarray(frame.anterior)
        sup = _unit(sup)
        lat = np.asarray(frame.lateral)
        ant = _unit(np.cross(lat, sup))
        frame = BodyFrame(centre=frame.centre, superior=_t(sup), anterior=_t(ant))
    return frame

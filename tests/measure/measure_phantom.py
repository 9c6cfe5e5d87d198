"""Analytic spines for the measure tests: bodies of known shape on a sagittal LPS grid.

A body is an elliptic cylinder (depth ``depth`` mm front-back, ``width`` mm left-right) whose
top and bottom surfaces are functions of the AP position, so its anterior / middle / posterior
heights at 10 / 50 / 90 % of the depth are known exactly. Bodies are stacked with ``gap`` mm
discs. Images: marrow signal 100, discs 220, other tissue 60, Gaussian noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from acuity.sim.grid import Grid

#: Sagittal LPS geometry as in the real exams: columns anterior->posterior, rows head->feet.
ROW = (0.0, 1.0, 0.0)
COL = (0.0, 0.0, -1.0)


@dataclass
class BodyShape:
    """Heights (mm) of one analytic body: anterior / middle / posterior at 10/50/90 % depth."""

    anterior: float = 25.0
    middle: float = 25.0
    posterior: float = 25.0
    #: biconcave: the depression follows a cos^2 bump centred at mid-depth (both endplates).
    biconcave: bool = False
    #: Retropulsed bulge (mm) of the posterior wall at mid-height (0: none).
    bulge_mm: float = 0.0


@dataclass
class Spine:
    image: sitk.Image
    labels: sitk.Image
    grid: Grid
    #: Label -> (top, bottom) SI extent (mm, superior positive) of the body's posterior column.
    extents: dict[int, tuple[float, float]] = field(default_factory=dict)
    #: Label -> boolean array of the body.
    masks: dict[int, np.ndarray] = field(default_factory=dict)


def make_spine(
    shapes: list[BodyShape],
    *,
    depth: float = 32.0,
    width: float = 40.0,
    gap: float = 9.0,
    spacing: tuple[float, float, float] = (1.0, 1.0, 2.0),
    noise: float = 6.0,
    seed: int = 0,
) -> Spine:
    """A spine of ``shapes`` (superior first), straight, bodies centred on the SI axis."""
    total = sum(max(s.anterior, s.middle, s.posterior) for s in shapes) + gap * (len(shapes) + 1)
    n_rows = int(np.ceil((total + 20) / spacing[1]))
    n_cols = int(np.ceil((depth + 50) / spacing[0]))
    n_sl = int(np.ceil((width + 16) / spacing[2]))
    grid = Grid.centred((0.0, 0.0, 0.0), ROW, COL, spacing, (n_cols, n_rows, n_sl))
    pts = grid.points(dtype=np.float64)  # (3, z, y, x)
    x_lr, y_ap, z_si = pts[0], pts[1], pts[2]
    # AP coordinate measured from the anterior wall (anterior = smaller P).
    y0 = -depth / 2.0
    s = (y_ap - y0) / depth  # 0 at the anterior wall, 1 at the posterior wall
    ellipse = ((y_ap / (depth / 2)) ** 2 + (x_lr / (width / 2)) ** 2) <= 1.0
    labels = np.zeros(grid.shape, dtype=np.uint8)
    rng = np.random.default_rng(seed)
    top = total / 2.0
    top -= gap
    extents = {}
    masks = {}
    for k, sh in enumerate(shapes, start=1):
        h_post = sh.posterior
        h_max = max(sh.anterior, sh.middle, sh.posterior)
        bottom = top - h_max
        if sh.biconcave:
            # Heights at 10 % and 90 % equal anterior/posterior; middle dips by a cos^2 bump.
            base = sh.anterior + (sh.posterior - sh.anterior) * (s - 0.1) / 0.8
            x = np.clip(np.abs(s - 0.5) / 0.4, 0.0, 1.0)
            dip = (0.5 * (sh.anterior + sh.posterior) - sh.middle) * np.cos(0.5 * np.pi * x) ** 2
            height = base - dip
            centre = bottom + h_max / 2.0
            lo = centre - height / 2.0
            hi = centre + height / 2.0
        else:
            # Linear in s through (0.1, anterior), (0.9, posterior); the bottom is flat.
            height = sh.anterior + (sh.posterior - sh.anterior) * (s - 0.1) / 0.8
            lo = np.full_like(height, bottom)
            hi = bottom + height
        body = ellipse & (z_si >= lo) & (z_si < hi)
        if sh.bulge_mm > 0:
            mid = bottom + h_post / 2.0
            half = 0.3 * h_post
            prof = np.clip(1.0 - ((z_si - mid) / half) ** 2, 0.0, None)
            behind = (y_ap > depth / 2.0) & (y_ap <= depth / 2.0 + sh.bulge_mm * prof)
            body |= behind & (np.abs(x_lr) <= width / 4.0) & (z_si >= lo) & (z_si <= hi)
        labels[body] = k
        masks[k] = body
        extents[k] = (float(bottom + h_post), float(bottom))
        top = bottom - gap
    img = np.full(grid.shape, 60.0)
    column = ellipse & (z_si <= total / 2.0) & (z_si >= top + gap)
    img[column] = 220.0  # discs between the bodies
    img[labels > 0] = 100.0
    img += rng.normal(0.0, noise, size=img.shape)
    return Spine(
        image=grid.to_image(img.astype(np.float32)),
        labels=grid.to_image(labels),
        grid=grid,
        extents=extents,
        masks=masks,
    )


def with_image(spine: Spine, array: np.ndarray) -> sitk.Image:
    return spine.grid.to_image(array.astype(np.float32))


def add_band(
    spine: Spine, array: np.ndarray, label: int, ratio: float, fraction: float = 0.4
) -> np.ndarray:
    """Brighten the top ``fraction`` of body ``label`` (a band under the superior endplate)."""
    pts = spine.grid.points(dtype=np.float64)
    m = spine.masks[label]
    z = pts[2]
    zt = float(z[m].max())
    zb = float(z[m].min())
    band = m & (z >= zt - fraction * (zt - zb))
    out = array.copy()
    out[band] *= ratio
    return out


def add_diffuse(array: np.ndarray, mask: np.ndarray, ratio: float) -> np.ndarray:
    out = array.copy()
    out[mask] *= ratio
    return out

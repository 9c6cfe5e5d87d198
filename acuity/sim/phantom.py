"""Analytic thoracolumbar spine phantom, rasterised on any grid in LPS space.

The anatomy is a set of shapes in millimetres (vertebral bodies with waists and concave
endplates, discs with nucleus and annulus, sacrum, posterior elements, canal with CSF, cord and
cauda equina, paraspinal and psoas muscles, aorta and IVC, subcutaneous fat, viscera, lung
bases). :func:`rasterize` paints them back to front with soft edges (partial volume in plane,
several samples across the slice thickness) into tissue fractions; :func:`render` turns the
fractions into an MR image for a pulse sequence (signal equations of
:mod:`acuity.sim.tissue`, tissue texture, coil bias field, Rician noise). Because shapes are
evaluated at physical points, sagittal, axial and localizer images of one anatomy agree.

Fractures are a backward warp of the points (the same :func:`acuity.sim.lesion.endplate_map` as
the real-image simulator) and edema a tissue (:attr:`Tissue.EDEMA`) whose signal is the marrow
signal times the edema contrast ratio of the series.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from acuity.errors import InputError
from acuity.measure.enum import Acuity, DeformityType, EdemaPattern
from acuity.sim.field import SmoothField
from acuity.sim.grid import Grid
from acuity.sim.lesion import (
    HEIGHT_POINTS,
    BodyFrame,
    Contrast,
    EdemaContrast,
    Heights,
    deformity_profile,
    endplate_map,
    loss_split,
)
from acuity.sim.tissue import TISSUE_INDEX, TISSUES, PulseSequence, Tissue, signal_table

logger = logging.getLogger(__name__)

# name, height, depth (AP), width (LR), disc below (centre), tilt of the spine going down
# (degrees, + = posteriorly), natural wedge (anterior minus posterior height), canal AP, width
_LEVELS: tuple[tuple[str, float, float, float, float, float, float, float, float], ...] = (
    ("T5", 18.0, 25.0, 28.0, 4.5, 6.0, -1.5, 14.0, 16.0),
    ("T6", 18.5, 26.0, 29.0, 4.5, 3.0, -1.5, 14.0, 16.0),
    ("T7", 19.0, 27.0, 31.0, 4.5, 0.0, -1.5, 14.0, 16.0),
    ("T8", 19.5, 28.0, 33.0, 5.0, -3.0, -1.5, 14.0, 16.5),
    ("T9", 20.5, 29.0, 35.0, 5.5, -6.0, -1.5, 14.5, 17.0),
    ("T10", 21.5, 30.0, 37.0, 6.0, -9.0, -1.2, 14.5, 17.5),
    ("T11", 22.5, 31.5, 39.0, 7.0, -11.0, -1.0, 15.0, 18.5),
    ("T12", 24.0, 33.0, 41.0, 8.0, -12.0, -0.8, 15.5, 20.0),
    ("L1", 25.0, 34.5, 43.0, 9.0, -11.0, -0.5, 16.0, 21.5),
    ("L2", 26.0, 35.5, 45.0, 10.0, -8.0, 0.0, 16.0, 22.0),
    ("L3", 27.0, 36.5, 47.0, 11.0, -3.0, 0.3, 16.0, 22.5),
    ("L4", 27.0, 37.5, 48.0, 11.5, 4.0, 0.8, 16.5, 23.0),
    ("L5", 26.0, 37.0, 50.0, 10.5, 14.0, 2.0, 17.0, 24.0),
    ("S1", 24.0, 35.0, 46.0, 2.5, 34.0, 0.0, 15.0, 24.0),
    ("S2", 19.0, 29.0, 38.0, 1.5, 40.0, 0.0, 12.0, 20.0),
    ("S3", 15.0, 23.0, 30.0, 1.0, 38.0, 0.0, 9.0, 16.0),
    ("S4", 12.0, 18.0, 22.0, 1.0, 32.0, 0.0, 7.0, 12.0),
)
#: Levels whose bodies are labelled in the label map (vb1 convention: every body down to S1).
LABELLED_LEVELS = ("T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12", "L1", "L2", "L3", "L4",
                   "L5", "S1")
LEVEL_NAMES = tuple(row[0] for row in _LEVELS)
_CORTEX_MM = 1.2
_WAIST = 0.06
_CONCAVITY_MM = 1.0


@dataclass(frozen=True)
class PhantomLesion:
    """A fracture (and its edema) at one level of the phantom."""

    level: str
    deformity: DeformityType = DeformityType.WEDGE
    #: Height-loss fraction at the measurement point the deformity defines.
    height_loss: float = 0.3
    acuity: Acuity = Acuity.ACUTE
    edema: EdemaPattern = EdemaPattern.BAND
    contrast: EdemaContrast = field(default_factory=EdemaContrast)
    #: Band thickness as a fraction of the (fractured) body height.
    band_fraction: float = 0.45

    def __post_init__(self) -> None:
        if self.level not in LEVEL_NAMES:
            raise InputError(f"PhantomLesion.level {self.level!r}: use one of {LEVEL_NAMES}")
        object.__setattr__(self, "deformity", DeformityType(self.deformity))
        object.__setattr__(self, "acuity", Acuity(self.acuity))
        object.__setattr__(self, "edema", EdemaPattern(self.edema))
        if not 0.0 <= self.height_loss < 0.7:
            raise InputError(f"PhantomLesion.height_loss {self.height_loss} must be in 0..0.7")
        if self.acuity is Acuity.ACUTE and self.edema is EdemaPattern.NONE:
            raise InputError(f"PhantomLesion at {self.level}: an acute fracture needs edema")
        if self.acuity is not Acuity.ACUTE and self.edema is not EdemaPattern.NONE:
            raise InputError(
                f"PhantomLesion at {self.level}: edema {self.edema.value!r} with acuity "
                f"{self.acuity.value!r}; only acute fractures have edema here"
            )


@dataclass(frozen=True)
class AnatomyParams:
    """Everything that defines one phantom anatomy (deterministic from ``seed``)."""

    seed: int = 20240501
    #: Random per-level size variation (fraction).
    size_jitter: float = 0.03
    #: LPS x of the spine's midline.
    midline_x: float = 0.0
    lesions: tuple[PhantomLesion, ...] = ()


@dataclass(frozen=True)
class Vertebra:
    """One vertebra (or sacral segment) of the anatomy."""

    name: str
    index: int
    #: Label value in label maps (0: not labelled).
    label: int
    frame: BodyFrame
    height: float
    depth: float
    width: float
    wedge: float
    canal_ap: float
    canal_width: float
    sacral: bool

    def local(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.frame.to_local(p)

    def half_height(self, v: np.ndarray, r_end: np.ndarray) -> np.ndarray:
        """Half height at AP position v, endplate concavity included."""
        h = self.height + self.wedge * v / self.depth
        return np.asarray(0.5 * h - _CONCAVITY_MM * np.clip(1.0 - r_end * r_end, 0.0, 1.0))

    def radial(self, v: np.ndarray, w: np.ndarray, scale: np.ndarray | float) -> np.ndarray:
        """Normalised radial coordinate in the axial cross-section (flat posterior side)."""
        av = 0.5 * self.depth * scale
        aw = 0.5 * self.width * scale
        ant = np.sqrt((v / av) ** 2 + (w / aw) ** 2)
        post = ((np.abs(v) / av) ** 4 + (np.abs(w) / aw) ** 4) ** 0.25
        return np.where(v >= 0, ant, post)

    def waist(self, u: np.ndarray) -> np.ndarray:
        x = np.clip(2.0 * u / self.height, -1.0, 1.0)
        return 1.0 - _WAIST * (1.0 - x * x)

    def sdf(self, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Approximate signed distance (mm, negative inside) to the body surface."""
        r = self.radial(v, w, self.waist(u))
        r_end = self.radial(v, w, 1.0)
        hh = self.half_height(v, r_end)
        d_r = (r - 1.0) * 0.5 * min(self.depth, self.width) * self.waist(u)
        d_u = np.abs(u) - hh
        return _round_combine(d_r, d_u, 2.5)

    def wall_points(self) -> tuple[float, float, float]:
        """AP positions (v) of the anterior, middle and posterior measurement points."""
        av = 0.5 * self.depth * (1.0 - _WAIST)
        depth = 2.0 * av
        return tuple(av - f * depth for f in HEIGHT_POINTS)  # type: ignore[return-value]


def _round_combine(d1: np.ndarray, d2: np.ndarray, radius: float) -> np.ndarray:
    a = d1 + radius
    b = d2 + radius
    outside = np.sqrt(np.maximum(a, 0.0) ** 2 + np.maximum(b, 0.0) ** 2)
    inside = np.minimum(np.maximum(a, b), 0.0)
    return np.asarray(outside + inside - radius)


@dataclass(frozen=True)
class Fracture:
    """A lesion resolved on the anatomy: the warp parameters and the truth heights."""

    lesion: PhantomLesion
    vertebra: Vertebra
    #: Disc heights above/below available for stretching, at the (anterior, posterior) points.
    disc_up: tuple[float, float]
    disc_down: tuple[float, float]

    def columns(
        self, v: np.ndarray, w: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        vb = self.vertebra
        r_end = vb.radial(v, w, 1.0)
        top = vb.half_height(v, r_end)
        bot = -top
        va, _, vp = vb.wall_points()
        prof = deformity_profile(self.lesion.deformity, v, va, vp)
        x = np.clip(1.0 - (r_end - 1.0) * 0.5 * vb.depth / 5.0, 0.0, 1.0)
        prof = prof * x * x * (3.0 - 2.0 * x)
        share_s, share_i = loss_split(self.lesion.deformity)
        ds = self.lesion.height_loss * share_s * 2.0 * top * prof
        di = self.lesion.height_loss * share_i * 2.0 * top * prof
        t = np.clip((v - vp) / (va - vp), 0.0, 1.0)
        du = 0.85 * (self.disc_up[1] + t * (self.disc_up[0] - self.disc_up[1]))
        dl = 0.85 * (self.disc_down[1] + t * (self.disc_down[0] - self.disc_down[1]))
        return top, bot, ds, di, np.maximum(du, 0.5), np.maximum(dl, 0.5)

    def unwarp(self, p: np.ndarray) -> np.ndarray:
        """Source points (pre-fracture anatomy) of output points ``p`` (3, ...)."""
        u, v, w = self.vertebra.local(p)
        top, bot, ds, di, du, dl = self.columns(v, w)
        src = endplate_map(u, top, bot, ds, di, du, dl)
        shift = (src - u).astype(p.dtype)
        sup = np.asarray(self.vertebra.frame.superior, dtype=p.dtype)
        return np.asarray(p + shift[None] * sup.reshape(3, *([1] * (p.ndim - 1))))

    def heights(self) -> tuple[Heights, Heights]:
        """(before, after) heights at the measurement points (w = 0)."""
        pts = np.array(self.vertebra.wall_points())
        top, bot, ds, di, _, _ = self.columns(pts, np.zeros_like(pts))
        before = top - bot
        after = before - ds - di
        return (Heights(*map(float, before)), Heights(*map(float, after)))

    def max_shift(self) -> float:
        return self.lesion.height_loss * self.vertebra.height + 2.0


@dataclass
class Anatomy:
    """The phantom's body: vertebrae along a curved spine, plus soft tissue parameters."""

    params: AnatomyParams
    vertebrae: list[Vertebra]
    fractures: list[Fracture]
    #: Spine centre line sampled along z (descending): z, y, tilt (rad), depth, canal ap/width
    curve: dict[str, np.ndarray]
    fields: dict[str, SmoothField]

    def vertebra(self, name: str) -> Vertebra:
        for vb in self.vertebrae:
            if vb.name == name:
                return vb
        raise InputError(f"no vertebra {name!r} in the phantom; known: {LEVEL_NAMES}")

    def spine_at(self, z: np.ndarray, key: str) -> np.ndarray:
        c = self.curve
        return np.asarray(np.interp(z, c["z"][::-1], c[key][::-1]))

    def labelled(self) -> list[Vertebra]:
        return [vb for vb in self.vertebrae if vb.label > 0]


def build_anatomy(params: AnatomyParams | None = None) -> Anatomy:
    """Lay the vertebrae along the spine curve and resolve the lesions."""
    params = params or AnatomyParams()
    rng = np.random.default_rng([params.seed, 1])
    jit = 1.0 + params.size_jitter * rng.uniform(-1.0, 1.0, size=(len(_LEVELS), 3))
    # L3 centre at the origin; walk up and down along the tilts.
    tilts = np.radians([row[5] for row in _LEVELS])
    down = np.stack([np.zeros_like(tilts), np.sin(tilts), -np.cos(tilts)], axis=1)
    heights = np.array([row[1] for row in _LEVELS]) * jit[:, 0]
    discs = np.array([row[4] for row in _LEVELS])
    centres = np.zeros((len(_LEVELS), 3))
    for i in range(1, len(_LEVELS)):
        mid = down[i - 1] + down[i]
        mid /= np.linalg.norm(mid)
        centres[i] = (
            centres[i - 1]
            + down[i - 1] * heights[i - 1] / 2
            + mid * discs[i - 1]
            + down[i] * heights[i] / 2
        )
    ref = LEVEL_NAMES.index("L3")
    centres -= centres[ref]
    centres[:, 0] += params.midline_x
    vertebrae = []
    for i, row in enumerate(_LEVELS):
        name, _, depth, width, _, _, wedge, cap, cw = row
        sup = -down[i]
        ant = np.array([0.0, -math.cos(tilts[i]), -math.sin(tilts[i])])
        label = LABELLED_LEVELS.index(name) + 1 if name in LABELLED_LEVELS else 0
        vertebrae.append(
            Vertebra(
                name=name,
                index=i,
                label=label,
                frame=BodyFrame(
                    centre=(float(centres[i, 0]), float(centres[i, 1]), float(centres[i, 2])),
                    superior=(float(sup[0]), float(sup[1]), float(sup[2])),
                    anterior=(float(ant[0]), float(ant[1]), float(ant[2])),
                ),
                height=float(heights[i]),
                depth=float(depth * jit[i, 1]),
                width=float(width * jit[i, 2]),
                wedge=float(wedge),
                canal_ap=float(cap),
                canal_width=float(cw),
                sacral=name.startswith("S"),
            )
        )
    # Spine curve (body centres and disc midpoints), z descending.
    zs, ys, ts, ds, ca, cw_ = [], [], [], [], [], []
    for i, vb in enumerate(vertebrae):
        zs.append(vb.frame.centre[2])
        ys.append(vb.frame.centre[1])
        ts.append(tilts[i])
        ds.append(vb.depth)
        ca.append(vb.canal_ap)
        cw_.append(vb.canal_width)
    curve = {
        "z": np.array(zs),
        "y": np.array(ys),
        "tilt": np.array(ts),
        "depth": np.array(ds),
        "canal_ap": np.array(ca),
        "canal_width": np.array(cw_),
    }
    frng = np.random.default_rng([params.seed, 2])
    fields = {
        "marrow": SmoothField.random(frng, wavelength_mm=(2.0, 7.0), n_waves=32),
        "muscle": SmoothField.random(frng, wavelength_mm=(3.0, 8.0), stretch=(1.0, 1.0, 5.0)),
        "fat": SmoothField.random(frng, wavelength_mm=(5.0, 15.0)),
        "viscera": SmoothField.random(frng, wavelength_mm=(10.0, 40.0)),
        "bowel": SmoothField.random(frng, wavelength_mm=(25.0, 60.0)),
        "disc": SmoothField.random(frng, wavelength_mm=(3.0, 8.0), stretch=(2.0, 2.0, 1.0)),
        "bias": SmoothField.random(frng, wavelength_mm=(250.0, 500.0), n_waves=6),
        "edema": SmoothField.random(frng, wavelength_mm=(3.0, 9.0)),
        "band": SmoothField.random(frng, wavelength_mm=(8.0, 20.0), n_waves=12),
    }
    anatomy = Anatomy(params=params, vertebrae=vertebrae, fractures=[], curve=curve, fields=fields)
    seen = set()
    for lesion in params.lesions:
        if lesion.level in seen:
            raise InputError(f"two lesions at level {lesion.level}; give one per level")
        seen.add(lesion.level)
        if lesion.deformity is DeformityType.NONE and lesion.edema is EdemaPattern.NONE:
            continue
        anatomy.fractures.append(_resolve_fracture(anatomy, lesion))
    return anatomy


def _disc_gap(anatomy: Anatomy, vb: Vertebra, other: Vertebra, up: bool) -> tuple[float, float]:
    """Distance along ``vb``'s axis from its endplate to ``other`` at the (ant, post) points."""
    out = []
    va, _, vp = vb.wall_points()
    for v in (va, vp):
        r_end = vb.radial(np.array(v), np.array(0.0), 1.0)
        hh = float(vb.half_height(np.array(v), r_end))
        t = np.arange(0.0, 30.0, 0.1)
        u = hh + t if up else -hh - t
        p = vb.frame.to_lps(u, np.full_like(u, v), np.zeros_like(u))
        uo, vo, wo = other.local(p)
        inside = np.nonzero(other.sdf(uo, vo, wo) < 0)[0]
        out.append(float(t[inside[0]]) if inside.size else 8.0)
    return (out[0], out[1])


def _resolve_fracture(anatomy: Anatomy, lesion: PhantomLesion) -> Fracture:
    vb = anatomy.vertebra(lesion.level)
    i = vb.index
    above = anatomy.vertebrae[i - 1] if i > 0 else None
    below = anatomy.vertebrae[i + 1] if i + 1 < len(anatomy.vertebrae) else None
    up = _disc_gap(anatomy, vb, above, True) if above else (6.0, 6.0)
    dn = _disc_gap(anatomy, vb, below, False) if below else (6.0, 6.0)
    return Fracture(lesion=lesion, vertebra=vb, disc_up=up, disc_down=dn)


# -- rasterisation ----------------------------------------------------------------------------

_N_T = len(TISSUES)


@dataclass
class Raster:
    """Tissue fractions (tissues, slices, rows, columns) and body-label fractions of a grid."""

    grid: Grid
    fractions: np.ndarray
    #: Fraction of each labelled body, (labels, slices, rows, columns); index 0 = label 1.
    bodies: np.ndarray
    #: Warped (pre-fracture) LPS points of the voxel centres (3, slices, rows, columns).
    points: np.ndarray

    def labels(self) -> np.ndarray:
        """Label map: the body covering at least half of a voxel (uint8, 0 elsewhere)."""
        best = self.bodies.argmax(axis=0)
        top = self.bodies.max(axis=0)
        return np.where(top >= 0.5, best + 1, 0).astype(np.uint8)


class _Painter:
    """Back-to-front alpha compositing of tissues on one set of points."""

    def __init__(self, points: np.ndarray, n_labels: int, edge: float) -> None:
        self.p = points
        shape = points.shape[1:]
        self.f = np.zeros((_N_T, *shape), dtype=np.float32)
        self.f[TISSUE_INDEX[Tissue.AIR]] = 1.0
        self.b = np.zeros((n_labels, *shape), dtype=np.float32)
        self.edge = edge

    def alpha(self, sdf: np.ndarray) -> np.ndarray:
        return (1.0 / (1.0 + np.exp(np.clip(sdf / self.edge, -30, 30)))).astype(np.float32)

    def paint(
        self,
        blk: tuple[slice, ...],
        alpha: np.ndarray,
        tissue: Tissue | dict[Tissue, np.ndarray],
        label: int = 0,
    ) -> None:
        a = alpha.astype(np.float32)
        keep = 1.0 - a
        fb = self.f[(slice(None), *blk)]
        fb *= keep
        if isinstance(tissue, Tissue):
            fb[TISSUE_INDEX[tissue]] += a
        else:
            for t, wgt in tissue.items():
                fb[TISSUE_INDEX[t]] += a * wgt
        bb = self.b[(slice(None), *blk)]
        bb *= keep
        if label > 0:
            bb[label - 1] += a


def _axis_ranges(points: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each array axis: (min, max) of each LPS coordinate per index, arrays (3, n)."""
    out = []
    for axis in range(3):
        moved = np.moveaxis(points, axis + 1, 1).reshape(3, points.shape[axis + 1], -1)
        out.append((moved.min(axis=2), moved.max(axis=2)))
    return out


def _block(ranges: list[tuple[np.ndarray, np.ndarray]], lo: np.ndarray, hi: np.ndarray
           ) -> tuple[slice, ...] | None:
    """Index block of the points whose LPS coordinates can fall inside the box [lo, hi]."""
    sl = []
    for mins, maxs in ranges:
        inside = np.all((maxs >= lo[:, None]) & (mins <= hi[:, None]), axis=0)
        idx = np.nonzero(inside)[0]
        if idx.size == 0:
            return None
        sl.append(slice(int(idx[0]), int(idx[-1]) + 1))
    return tuple(sl)


def _vb_box(vb: Vertebra, lo: Sequence[float], hi: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """LPS bounding box of the local box lo..hi (u, v, w) of a vertebra."""
    corners = np.array([[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1])
                        for c in (lo[2], hi[2])])
    pts = vb.frame.to_lps(corners[:, 0], corners[:, 1], corners[:, 2])
    return pts.min(axis=1), pts.max(axis=1)


def _box_sdf(q: Sequence[np.ndarray], centre: Sequence[float], half: Sequence[float],
             radius: float) -> np.ndarray:
    d = [np.abs(qi - ci) - (hi - radius) for qi, ci, hi in zip(q, centre, half)]
    outside = np.sqrt(sum(np.maximum(di, 0.0) ** 2 for di in d))
    inside = np.minimum(np.maximum(np.maximum(d[0], d[1]), d[2]), 0.0)
    return outside + inside - radius


_Sdf = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _box_fn(centre: Sequence[float], half: Sequence[float], radius: float) -> _Sdf:
    def sdf(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        return _box_sdf((u, v, w), centre, half, radius)

    return sdf


def _ala_fn(centre: Sequence[float], half: Sequence[float]) -> _Sdf:
    """Sacral ala: the box minus its central 8 mm (where the body is)."""

    def sdf(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        return np.asarray(np.maximum(_box_sdf((u, v, w), centre, half, 4.0), 8.0 - np.abs(w)))

    return sdf


def _ellipse_sdf(a: np.ndarray, b: np.ndarray, ra: np.ndarray | float, rb: np.ndarray | float
                 ) -> np.ndarray:
    r = np.sqrt((a / ra) ** 2 + (b / rb) ** 2)
    return (r - 1.0) * np.minimum(ra, rb)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.asarray(x * x * (3.0 - 2.0 * x))


class _Scene:
    """Paints one anatomy on one set of (warped) points."""

    def __init__(self, anatomy: Anatomy, painter: _Painter, inflate: float) -> None:
        self.a = anatomy
        self.pt = painter
        self.inflate = inflate
        self.ranges = _axis_ranges(painter.p)

    def block(self, lo: np.ndarray, hi: np.ndarray) -> tuple[slice, ...] | None:
        return _block(self.ranges, np.asarray(lo) - self.inflate, np.asarray(hi) + self.inflate)

    def sub(self, blk: tuple[slice, ...]) -> np.ndarray:
        return self.pt.p[(slice(None), *blk)]

    # -- curvilinear spine coordinates: x offset, n (posterior distance from the centre line)
    def spine_coords(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        z = p[2]
        yc = self.a.spine_at(z, "y")
        tilt = self.a.spine_at(z, "tilt")
        n = (p[1] - yc) * np.cos(tilt)
        return p[0] - self.a.params.midline_x, n, z

    def paint_all(self) -> None:
        self.envelope()
        self.muscles()
        self.vessels()
        self.canal()
        for vb in self.a.vertebrae:
            if not vb.sacral:
                self.posterior_elements(vb)
        self.sacrum_back()
        self.discs()
        for vb in self.a.vertebrae:
            self.body(vb)

    # -- soft tissue --------------------------------------------------------------------------
    def envelope(self) -> None:
        p = self.pt.p
        blk = tuple(slice(None) for _ in range(3))
        x, n, z = self.spine_coords(p)
        y_post = self.a.spine_at(z, "y") + 98.0 + 22.0 * _smoothstep((-z - 95.0) / 60.0)
        y_ant = y_post - 245.0
        half_w = 165.0 * np.sqrt(np.clip(1.0 - ((p[1] - 0.5 * (y_post + y_ant)) / 135.0) ** 2,
                                         0.05, 1.0))
        d = np.maximum(np.maximum(p[1] - y_post, y_ant - p[1]), np.abs(x) - half_w)
        self.pt.paint(blk, self.pt.alpha(d), Tissue.SKIN)
        self.pt.paint(blk, self.pt.alpha(d + 2.0), Tissue.FAT)
        fat_t = 16.0 + 10.0 * _smoothstep((-z - 90.0) / 60.0) + 6.0 * _smoothstep(-n / 150.0)
        deep = self.pt.alpha(d + fat_t)
        self.pt.paint(blk, deep, Tissue.VISCERA)
        # Lung bases above the diaphragm, in front of the spine.
        depth = self.a.spine_at(z, "depth")
        # Diaphragm dome: highest about 110 mm in front of the spine.
        z_d = self.a.vertebra("T11").frame.centre[2] + 30.0 - 0.004 * (-n - 110.0) ** 2
        lung = self.pt.alpha(_round_combine(z_d - z, n + depth / 2 + 30.0, 20.0)) * deep
        self.pt.paint(blk, lung, Tissue.LUNG)
        # Bowel content: fluid pockets in the abdomen (below the diaphragm, in front).
        g = self.a.fields["bowel"](p)
        front = self.pt.alpha(n + depth / 2 + 30.0) * deep * self.pt.alpha(z - z_d)
        self.pt.paint(blk, front * _smoothstep((g - 1.5) / 0.6) * 0.7, Tissue.FLUID)

    def muscles(self) -> None:
        p = self.pt.p
        blk = tuple(slice(None) for _ in range(3))
        x, n, z = self.spine_coords(p)
        depth = self.a.spine_at(z, "depth")
        y_post = self.a.spine_at(z, "y") + 98.0 + 22.0 * _smoothstep((-z - 95.0) / 60.0)
        fat_t = 16.0 + 10.0 * _smoothstep((-z - 90.0) / 60.0)
        back = (p[1] - y_post + fat_t) * np.cos(self.a.spine_at(z, "tilt"))
        s1 = self.a.vertebra("S1").frame.centre[2]
        shrink = 1.0 - 0.45 * _smoothstep((s1 - z) / 60.0)
        ap = self.a.spine_at(z, "canal_ap")
        # Erector spinae / multifidus: one rounded mass each side of the spinous processes,
        # from the laminae back to the subcutaneous fat.
        for side in (-1.0, 1.0):
            cx = side * 36.0 * shrink
            cn = depth / 2 + ap + 30.0
            d = np.maximum(_ellipse_sdf(x - cx, n - cn, 36.0 * shrink, 34.0), back + 1.0)
            d = np.maximum(d, depth / 2 + 4.0 - n)
            self.pt.paint(blk, self.pt.alpha(d), Tissue.MUSCLE)
        # Quadratus lumborum / deep lateral muscle.
        for side in (-1.0, 1.0):
            d = _ellipse_sdf(x - side * 68.0 * shrink, n - depth / 2 - 10.0, 18.0 * shrink, 14.0)
            self.pt.paint(blk, self.pt.alpha(d), Tissue.MUSCLE)
        # Psoas, from T12 down, beside the bodies.
        t12 = self.a.vertebra("T12").frame.centre[2]
        grow = _smoothstep((t12 - z) / 110.0)
        r = 4.0 + 20.0 * grow
        for side in (-1.0, 1.0):
            cx = side * (self.a.spine_at(z, "depth") * 0.62 + r * 0.7)
            dps = _ellipse_sdf(x - cx, n + 2.0, r * 0.9, r) + 60.0 * (grow < 0.02)
            self.pt.paint(blk, self.pt.alpha(dps), Tissue.MUSCLE)

    def vessels(self) -> None:
        p = self.pt.p
        blk = tuple(slice(None) for _ in range(3))
        x, n, z = self.spine_coords(p)
        depth = self.a.spine_at(z, "depth")
        z_bif = self.a.vertebra("L4").frame.centre[2]
        ao = _ellipse_sdf(x - 16.0, n + depth / 2 + 14.0, 11.0, 11.0)
        ao = np.maximum(ao, (z_bif - z))
        self.pt.paint(blk, self.pt.alpha(ao), Tissue.BLOOD)
        z_ivc = self.a.vertebra("L5").frame.centre[2]
        ivc = _ellipse_sdf(x + 20.0, n + depth / 2 + 12.0, 13.0, 8.0)
        ivc = np.maximum(ivc, (z_ivc - z))
        self.pt.paint(blk, self.pt.alpha(ivc), Tissue.BLOOD)

    def canal(self) -> None:
        p = self.pt.p
        blk = tuple(slice(None) for _ in range(3))
        x, n, z = self.spine_coords(p)
        depth = self.a.spine_at(z, "depth")
        ap = self.a.spine_at(z, "canal_ap")
        cw = self.a.spine_at(z, "canal_width")
        front = depth / 2 + 1.0
        # Anterior longitudinal ligament.
        all_ = _ellipse_sdf(x, n + depth / 2 + 0.5, 14.0, 1.5)
        self.pt.paint(blk, self.pt.alpha(all_), Tissue.LIGAMENT)
        # Neural foramina and canal: epidural fat.
        fo = _ellipse_sdf(x, n - front - ap * 0.45, cw / 2 + 12.0, ap * 0.55)
        self.pt.paint(blk, self.pt.alpha(fo), Tissue.FAT)
        # Ligamentum flavum and interspinous ligament (painted over by laminae/processes).
        fl = _ellipse_sdf(x, n - front - ap - 1.0, cw / 2 + 3.0, 3.0)
        self.pt.paint(blk, self.pt.alpha(fl) * 0.85, Tissue.LIGAMENT)
        isp = np.maximum(np.abs(x) - 2.5, np.abs(n - front - ap - 22.0) - 20.0)
        self.pt.paint(blk, self.pt.alpha(isp) * 0.6, Tissue.LIGAMENT)
        # Thecal sac, ending at S2.
        z_end = self.a.vertebra("S2").frame.centre[2]
        taper = _smoothstep((z - z_end) / 25.0)
        sac_ap = (ap - 3.5) * (0.3 + 0.7 * taper)
        sac_w = (cw - 4.0) * (0.3 + 0.7 * taper)
        sac_c = front + 1.0 + sac_ap / 2
        sac = _ellipse_sdf(x, n - sac_c, sac_w / 2, sac_ap / 2) + 30.0 * (taper < 0.02)
        self.pt.paint(blk, self.pt.alpha(sac), Tissue.CSF)
        # Cord and conus (tip at the L1-L2 disc), cauda equina below.
        l1, l2 = self.a.vertebra("L1").frame.centre[2], self.a.vertebra("L2").frame.centre[2]
        z_tip = 0.5 * (l1 + l2)
        cone = np.sqrt(np.clip((z - z_tip) / 30.0, 0.0, 1.0))
        cord = _ellipse_sdf(x, n - sac_c + 0.8, 4.8 * cone + 1e-3, 3.9 * cone + 1e-3)
        cord = np.where(cone > 0.05, cord, 5.0)
        self.pt.paint(blk, self.pt.alpha(cord), Tissue.CORD)
        below = _smoothstep((z_tip + 20.0 - z) / 25.0)
        roots = _ellipse_sdf(x, n - sac_c - sac_ap * 0.22, sac_w * 0.32, sac_ap * 0.22)
        self.pt.paint(blk, self.pt.alpha(roots) * 0.75 * below, Tissue.ROOTS)

    # -- bone ---------------------------------------------------------------------------------
    def _bone(self, vb: Vertebra, lo: Sequence[float], hi: Sequence[float],
              sdf_fn: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]) -> None:
        box_lo, box_hi = _vb_box(vb, lo, hi)
        blk = self.block(box_lo, box_hi)
        if blk is None:
            return
        u, v, w = vb.local(self.sub(blk))
        d = sdf_fn(u, v, w)
        self.pt.paint(blk, self.pt.alpha(d), Tissue.CORTEX)
        self.pt.paint(blk, self.pt.alpha(d + 1.3), Tissue.MARROW)

    def posterior_elements(self, vb: Vertebra) -> None:
        h, d, ca, cw = vb.height, vb.depth, vb.canal_ap, vb.canal_width
        pw = -d / 2
        thoracic = vb.name.startswith("T")
        # Pedicles.
        for s in (-1.0, 1.0):
            c = (h * 0.12, pw - ca / 2, s * (cw / 2 + 4.0))
            half = (h * 0.3, ca / 2 + 4.0, 4.0)
            self._bone(vb, [c[0] - half[0], c[1] - half[1], c[2] - half[2]],
                       [c[0] + half[0], c[1] + half[1], c[2] + half[2]],
                       _box_fn(c, half, 2.0))
            # Articular pillars (facet columns).
            c2 = (0.0, pw - ca - 3.0, s * (cw / 2 + 5.0))
            half2 = (h / 2 + 3.0, 6.0, 5.5)
            self._bone(vb, [c2[0] - half2[0], c2[1] - half2[1], c2[2] - half2[2]],
                       [c2[0] + half2[0], c2[1] + half2[1], c2[2] + half2[2]],
                       _box_fn(c2, half2, 2.5))
        # Lamina.
        c3 = (-h * 0.05, pw - ca - 4.0, 0.0)
        half3 = (h * 0.38, 3.5, cw / 2 + 7.0)
        self._bone(vb, [c3[0] - half3[0], c3[1] - half3[1], c3[2] - half3[2]],
                   [c3[0] + half3[0], c3[1] + half3[1], c3[2] + half3[2]],
                   _box_fn(c3, half3, 2.0))
        # Spinous process, tilted down posteriorly.
        length = 34.0 if thoracic else 30.0
        beta = math.radians(42.0 if thoracic else 10.0)
        sh = 9.0 if thoracic else 16.0
        thick = 5.0 if thoracic else 7.0
        v0 = pw - ca - 5.0
        u0 = -h * 0.1
        cb, sb = math.cos(beta), math.sin(beta)

        def spinous(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
            du, dv = u - u0, v - v0
            a = -dv * cb - du * sb  # along the process (posterior-inferior)
            b = du * cb - dv * sb
            return _box_sdf((a, b, w), (length / 2, 0.0, 0.0), (length / 2, sh / 2, thick / 2),
                            2.5)

        reach = length + 4.0
        self._bone(vb, [u0 - reach, v0 - reach, -thick], [u0 + sh, v0 + 4.0, thick], spinous)

    def sacrum_back(self) -> None:
        for vb in self.a.vertebrae:
            if not vb.sacral:
                continue
            h, d, ca, cw = vb.height, vb.depth, vb.canal_ap, vb.canal_width
            c = (0.0, -d / 2 - ca - 4.0, 0.0)
            half = (h / 2 + 2.0, 5.0, cw / 2 + 10.0)
            self._bone(vb, [c[0] - half[0], c[1] - half[1], -half[2]],
                       [c[0] + half[0], c[1] + half[1], half[2]],
                       _box_fn(c, half, 3.0))
            if vb.name in ("S1", "S2"):
                # Alae: lateral masses beside the body (and the canal).
                wide = 52.0 if vb.name == "S1" else 42.0
                c4 = (0.0, -4.0, 0.0)
                half4 = (h / 2 + 1.0, d / 2 + 2.0, wide)
                self._bone(vb, [-half4[0], -half4[1] - 4, -wide], [half4[0], half4[1], wide],
                           _ala_fn(c4, half4))

    def discs(self) -> None:
        vbs = self.a.vertebrae
        for up, dn in itertools.pairwise(vbs):
            fused = dn.sacral and up.sacral
            lo_up, hi_up = _vb_box(up, [-up.height, -up.depth, -up.width],
                                   [0.0, up.depth, up.width])
            lo_dn, hi_dn = _vb_box(dn, [0.0, -dn.depth, -dn.width],
                                   [dn.height, dn.depth, dn.width])
            blk = self.block(np.minimum(lo_up, lo_dn), np.maximum(hi_up, hi_dn))
            if blk is None:
                continue
            p = self.sub(blk)
            u1, v1, w1 = up.local(p)
            u2, v2, w2 = dn.local(p)
            r1 = up.radial(v1, w1, 1.0)
            r2 = dn.radial(v2, w2, 1.0)
            d_up = u1 + up.half_height(v1, r1) - 1.0  # < 0 below the upper body's endplate
            d_dn = dn.half_height(v2, r2) - u2 - 1.0  # < 0 above the lower body's endplate
            # Footprint: mean of the two bodies' cross-sections, slightly bulging.
            r = 0.5 * (r1 + r2)
            size = 0.25 * (up.depth + dn.depth) * 1.03
            d_r = (r / 1.03 - 1.0) * size
            d = np.maximum(np.maximum(d_up, d_dn), d_r)
            if fused:
                self.pt.paint(blk, self.pt.alpha(d), Tissue.MARROW)
                if up.name == "S1":
                    mid = np.abs(-d_up - (-d_dn)) - 1.2
                    self.pt.paint(blk, self.pt.alpha(np.maximum(mid, d_r + 4.0)), Tissue.ANNULUS)
                continue
            self.pt.paint(blk, self.pt.alpha(d), Tissue.ANNULUS)
            t_up = np.maximum(-d_up, 0.0)
            t_dn = np.maximum(-d_dn, 0.0)
            thick = t_up + t_dn + 1e-3
            rel = np.abs(t_dn / thick - 0.5)
            hydr = 0.55 if dn.name in ("S1",) else (0.8 if dn.name == "L5" else 1.0)
            # Nucleus: central 60 % of the height, 62 % of the footprint, a little posterior.
            nuc_r = _ellipse_sdf(0.5 * (v1 + v2) + 0.16 * size, 0.5 * (w1 + w2),
                                 0.62 * size, 0.62 * 0.25 * (up.width + dn.width))
            nuc = np.maximum((rel - 0.3) * thick, nuc_r)
            self.pt.paint(blk, self.pt.alpha(nuc) * hydr, Tissue.NUCLEUS)

    def body(self, vb: Vertebra) -> None:
        lo, hi = _vb_box(vb, [-vb.height / 2 - 3, -vb.depth / 2 - 3, -vb.width / 2 - 3],
                         [vb.height / 2 + 3, vb.depth / 2 + 3, vb.width / 2 + 3])
        blk = self.block(lo, hi)
        if blk is None:
            return
        p = self.sub(blk)
        u, v, w = vb.local(p)
        d = vb.sdf(u, v, w)
        self.pt.paint(blk, self.pt.alpha(d), Tissue.CORTEX, label=vb.label)
        inner = self.pt.alpha(d + _CORTEX_MM)
        frac = next((f for f in self.a.fractures if f.vertebra.name == vb.name), None)
        m = np.zeros_like(inner)
        if frac is not None and frac.lesion.edema is not EdemaPattern.NONE:
            m = self.edema_weight(frac, p, u, v, w, d)
        self.pt.paint(blk, inner, {Tissue.MARROW: 1.0 - m, Tissue.EDEMA: m}, label=vb.label)
        # Basivertebral venous channel (posterior, mid-height).
        bv = _ellipse_sdf(np.sqrt(u * u + (w / 1.4) ** 2), v + vb.depth / 2 - 4.0, 1.8, 4.5)
        self.pt.paint(blk, self.pt.alpha(bv) * 0.6, Tissue.FLUID, label=vb.label)

    def edema_weight(self, frac: Fracture, p: np.ndarray, u: np.ndarray, v: np.ndarray,
                     w: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Soft edema weight (pre-fracture coordinates of the fractured body)."""
        les = frac.lesion
        vb = frac.vertebra
        if les.edema is EdemaPattern.DIFFUSE:
            return _smoothstep((-d - _CORTEX_MM) / 2.5).astype(np.float32)
        r_end = vb.radial(v, w, 1.0)
        top = vb.half_height(v, r_end)
        undul = self.a.fields["band"](p) * 1.5
        # Band thickness in pre-fracture coordinates (the warp compresses it).
        thick = les.band_fraction * vb.height + undul
        wgt = 1.0 / (1.0 + np.exp(-(thick - (top - u)) / 0.8))
        if les.deformity is DeformityType.BICONCAVE:
            wgt = np.maximum(wgt, 1.0 / (1.0 + np.exp(-(thick - (top + u)) / 0.8)))
        return np.asarray(wgt, dtype=np.float32)


def rasterize(anatomy: Anatomy, grid: Grid, *, thickness: float | None = None,
              n_sub: int | None = None) -> Raster:
    """Tissue fractions of ``anatomy`` on ``grid``, averaged over ``n_sub`` samples across
    the slice ``thickness`` (default: the slice spacing)."""
    thick = grid.spacing[2] if thickness is None else float(thickness)
    if n_sub is None:
        n_sub = max(1, min(5, round(thick / 1.2)))
    offsets = [0.0] if n_sub == 1 else list(np.linspace(-thick / 2, thick / 2, n_sub + 2)[1:-1])
    n_labels = len(LABELLED_LEVELS)
    edge = 0.35 * min(grid.spacing[0], grid.spacing[1])
    inflate = max([f.max_shift() for f in anatomy.fractures], default=0.0) + 2.0
    total_f: np.ndarray | None = None
    total_b: np.ndarray | None = None
    centre_pts: np.ndarray | None = None
    for off in offsets:
        pts = grid.points(float(off))
        for fr in anatomy.fractures:
            pts = fr.unwarp(pts)
        painter = _Painter(pts, n_labels, edge)
        _Scene(anatomy, painter, inflate).paint_all()
        if total_f is None:
            total_f, total_b = painter.f, painter.b
        else:
            assert total_b is not None
            total_f += painter.f
            total_b += painter.b
        if abs(off) < 1e-9 or centre_pts is None:
            centre_pts = pts
    assert total_f is not None and total_b is not None and centre_pts is not None
    total_f /= len(offsets)
    total_b /= len(offsets)
    return Raster(grid=grid, fractions=total_f, bodies=total_b, points=centre_pts)


# -- rendering --------------------------------------------------------------------------------

_TEXTURE: dict[Tissue, tuple[str, float]] = {
    Tissue.MARROW: ("marrow", 0.07),
    Tissue.EDEMA: ("marrow", 0.07),
    Tissue.MUSCLE: ("muscle", 0.08),
    Tissue.FAT: ("fat", 0.03),
    Tissue.VISCERA: ("viscera", 0.22),
    Tissue.NUCLEUS: ("disc", 0.06),
    Tissue.ANNULUS: ("disc", 0.10),
    Tissue.SKIN: ("fat", 0.05),
}


@dataclass(frozen=True)
class RenderSettings:
    """How a raster becomes an image."""

    sequence: PulseSequence
    contrast: Contrast
    #: Noise sigma as a fraction of the brightest tissue signal of the sequence.
    noise: float = 1.0 / 45.0
    #: Stored value of the 99.8th percentile of the noise-free image.
    scale_to: float = 1000.0
    max_value: int = 4095
    seed: int = 0


def render(anatomy: Anatomy, raster: Raster, settings: RenderSettings) -> np.ndarray:
    """The MR image (uint16, slices x rows x columns) of ``raster`` for ``settings``."""
    table = signal_table(settings.sequence)
    p = raster.points
    img = np.zeros(raster.grid.shape, dtype=np.float32)
    fields: dict[str, np.ndarray] = {}
    ratios = {f.vertebra.name: f.lesion.contrast.ratio_for(settings.contrast)
              for f in anatomy.fractures if f.lesion.edema is not EdemaPattern.NONE}
    ratio = next(iter(ratios.values()), 1.0)
    for t in TISSUES:
        frac = raster.fractions[TISSUE_INDEX[t]]
        if not frac.any():
            continue
        s = table[Tissue.MARROW if t is Tissue.EDEMA else t]
        contrib = frac * np.float32(s)
        if t in _TEXTURE:
            name, amp = _TEXTURE[t]
            if name not in fields:
                fields[name] = anatomy.fields[name](p)
            contrib = contrib * (1.0 + amp * fields[name])
        if t is Tissue.EDEMA:
            g = anatomy.fields["edema"](p)
            contrib = contrib * (1.0 + (ratio - 1.0) * (1.0 + 0.15 * g))
        img += contrib
    # Spine-array coil: brighter posteriorly, smooth low-order variation.
    x, y, z = p[0], p[1], p[2]
    y_skin = np.interp(z, anatomy.curve["z"][::-1], anatomy.curve["y"][::-1]) + 98.0
    bias = 0.55 + 0.6 * np.exp(-np.clip(y_skin + 15.0 - y, 0.0, None) / 90.0)
    bias = bias / (0.55 + 0.6 * math.exp(-113.0 / 90.0))
    bias = bias * (1.0 + 0.06 * anatomy.fields["bias"](p)) * np.exp(-(x / 260.0) ** 2)
    clean = img * bias.astype(np.float32)
    sigma = settings.noise * max(table.values())
    rng = np.random.default_rng([anatomy.params.seed, settings.seed, 3])
    n1 = rng.normal(0.0, sigma, size=clean.shape).astype(np.float32)
    n2 = rng.normal(0.0, sigma, size=clean.shape).astype(np.float32)
    noisy = np.sqrt((clean + n1) ** 2 + n2 ** 2)
    ref = float(np.percentile(clean, 99.8)) or 1.0
    out = np.clip(np.rint(noisy * (settings.scale_to / ref)), 0, settings.max_value)
    return np.asarray(out, dtype=np.uint16)


def fracture_truth(anatomy: Anatomy) -> list[tuple[Fracture, Heights, Heights]]:
    """(fracture, heights before, heights after) of every fracture."""
    return [(f, *f.heights()) for f in anatomy.fractures]


def body_heights(vb: Vertebra) -> Heights:
    """Heights of an unfractured vertebra at the measurement points (w = 0)."""
    pts = np.array(vb.wall_points())
    r_end = vb.radial(pts, np.zeros_like(pts), 1.0)
    h = 2.0 * vb.half_height(pts, r_end)
    return Heights(*map(float, h))

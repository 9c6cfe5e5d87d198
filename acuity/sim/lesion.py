"""Lesion simulator: compression fractures and bone-marrow edema on labelled spine images.

Works on any labelled 3-D image (the phantom, or a real exam with its vertebral-body label map):
arrays are (slices, rows, columns) laid on a :class:`~acuity.sim.grid.Grid`, so which axis runs
head-feet or front-back comes from the direction matrix, never from a convention.

Frames and heights (:class:`BodyFrame`, :func:`body_frames`, :func:`measure_heights`) are the
measure stage's own (:mod:`acuity.measure.geometry`), re-exported here, so the simulator and
the measurement use one definition of a height.

Compression (:func:`compress_body`) is a smooth warp along the superior axis: the superior
endplate is pushed down (wedge: by ``loss * height`` at the anterior measurement point, falling
linearly to nothing at the posterior one; crush: everywhere), or both endplates are pushed in
at the middle (biconcave, a cos^2 bump that is 0 at the anterior and posterior measurement
points). The body's content is compressed, the adjacent disc is stretched to fill the gap, and
the neighbouring bodies do not move. Image and labels get the same warp.

Edema (:func:`add_edema`) brightens (STIR / fat-suppressed T2 / water) or darkens (T1) the
marrow of a body by a given ratio to normal marrow, in a band under the fractured endplate or
diffusely, with a soft edge and a texture whose amplitude is the image's own noise level.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

import numpy as np
from scipy import ndimage

from acuity.errors import InputError
from acuity.measure.enum import DeformityType, EdemaPattern
from acuity.measure.geometry import (
    HEIGHT_POINTS,
    BodyFrame,
    Heights,
    Walls,
    body_frames,
    body_walls,
    check_shapes,
    label_centroids,
    measure_heights,
    sample_lps,
)
from acuity.measure.morphometry import genant_grade as _measure_genant_grade
from acuity.sim.field import SmoothField
from acuity.sim.grid import Grid

logger = logging.getLogger(__name__)

__all__ = [
    "GENANT_DEFAULT_LOSS",
    "HEIGHT_POINTS",
    "BodyFrame",
    "CompressionResult",
    "Contrast",
    "EdemaContrast",
    "EdemaResult",
    "Heights",
    "add_edema",
    "body_frames",
    "compress_body",
    "deformity_profile",
    "edema_ratio",
    "endplate_map",
    "estimate_noise",
    "genant_grade",
    "label_centroids",
    "loss_split",
    "measure_heights",
    "measured_loss",
    "resolve_loss",
]

#: Height-loss fraction used for a grade when only the grade is given.
GENANT_DEFAULT_LOSS = {1: 0.225, 2: 0.32, 3: 0.45}


class Contrast(str, Enum):
    """Image contrast, as far as edema is concerned."""

    T1 = "t1"
    T2 = "t2"
    PD = "pd"
    STIR = "stir"
    T2_FS = "t2_fs"
    PD_FS = "pd_fs"
    WATER = "water"

    @classmethod
    def parse(cls, value: Contrast | str) -> Contrast:
        """A Contrast from its value or a dataset's sequence name (``dixon_water_like``)."""
        if isinstance(value, Contrast):
            return value
        v = str(value).strip().lower()
        aliases = {"tirm": "stir", "dixon_water": "water", "dixon_water_like": "water"}
        v = aliases.get(v, v)
        try:
            return cls(v)
        except ValueError as exc:
            raise InputError(
                f"contrast {value!r} is not known; use one of {[c.value for c in cls]}"
            ) from exc

    @property
    def fat_suppressed(self) -> bool:
        return self in (Contrast.STIR, Contrast.T2_FS, Contrast.PD_FS, Contrast.WATER)


def genant_grade(loss: float) -> int:
    """Genant grade (0-3) of a height-loss fraction (0.2-0.25: 1, 0.25-0.4: 2, >= 0.4: 3);
    the measure stage's :func:`acuity.measure.morphometry.genant_grade` with its defaults."""
    return int(_measure_genant_grade(loss))


@dataclass(frozen=True)
class EdemaContrast:
    """Signal of edematous marrow relative to normal marrow, per contrast.

    ``fs_ratio`` applies to STIR, fat-suppressed T2/PD and water images (1.3-2.5);
    ``t1_ratio`` to T1 (0.3-0.95, typically 0.5-0.8); ``t2_ratio`` to T2/PD without fat
    suppression (0.9-1.6, mildly raised).
    """

    fs_ratio: float = 1.9
    t1_ratio: float = 0.65
    t2_ratio: float = 1.15

    def __post_init__(self) -> None:
        if not 1.3 <= self.fs_ratio <= 2.5:
            raise InputError(
                f"EdemaContrast.fs_ratio {self.fs_ratio} is outside 1.3..2.5 (STIR signal of "
                "edema relative to normal marrow)"
            )
        if not 0.3 <= self.t1_ratio <= 0.95:
            raise InputError(
                f"EdemaContrast.t1_ratio {self.t1_ratio} is outside 0.3..0.95 (T1 edema is darker "
                "than marrow)"
            )
        if not 0.9 <= self.t2_ratio <= 1.6:
            raise InputError(f"EdemaContrast.t2_ratio {self.t2_ratio} is outside 0.9..1.6")

    def ratio_for(self, contrast: Contrast | str) -> float:
        c = Contrast.parse(contrast)
        if c.fat_suppressed:
            return self.fs_ratio
        if c is Contrast.T1:
            return self.t1_ratio
        return self.t2_ratio


# -- frames and heights: shared with the measure stage (acuity.measure.geometry) -----------

_check_shapes = check_shapes
_sample = sample_lps
_Walls = Walls
_walls = body_walls


# -- the warp shared by the phantom and real images -----------------------------------------


def endplate_map(
    u: np.ndarray,
    top: np.ndarray,
    bot: np.ndarray,
    ds: np.ndarray,
    di: np.ndarray,
    du: np.ndarray,
    dl: np.ndarray,
) -> np.ndarray:
    """Source coordinate along the superior axis of each output coordinate ``u``.

    The body [bot, top] is compressed into [bot + di, top - ds]; the disc above
    [top, top + du] is stretched over [top - ds, top + du] and the disc below
    [bot - dl, bot] over [bot - dl, bot + di]; everything else stays. Continuous, monotone.
    """
    t_new = top - ds
    b_new = bot + di
    out = np.array(u, dtype=float, copy=True)
    scale = (top - bot) / np.maximum(t_new - b_new, 1e-3)
    body = (u >= b_new) & (u <= t_new)
    out = np.where(body, bot + (u - b_new) * scale, out)
    up = (u > t_new) & (u < top + du)
    out = np.where(up, top + (u - t_new) * du / np.maximum(du + ds, 1e-6), out)
    lo = (u < b_new) & (u > bot - dl)
    out = np.where(lo, (bot - dl) + (u - (bot - dl)) * dl / np.maximum(dl + di, 1e-6), out)
    return out


def deformity_profile(
    deformity: DeformityType, v: np.ndarray, v_anterior: float, v_posterior: float
) -> np.ndarray:
    """Relative height loss (0..1) along the AP coordinate ``v`` (anterior positive).

    ``v_anterior`` / ``v_posterior`` are the anterior and posterior measurement points.
    """
    s = (np.asarray(v, dtype=float) - v_posterior) / max(v_anterior - v_posterior, 1e-6)
    if deformity is DeformityType.WEDGE:
        return np.clip(s, 0.0, 1.0)
    if deformity is DeformityType.BICONCAVE:
        x = np.clip(np.abs(s - 0.5) / 0.5, 0.0, 1.0)
        return np.cos(0.5 * np.pi * x) ** 2
    if deformity is DeformityType.CRUSH:
        return np.ones_like(s)
    return np.zeros_like(s)


def loss_split(deformity: DeformityType) -> tuple[float, float]:
    """Share of the height loss taken by the (superior, inferior) endplate."""
    return (0.5, 0.5) if deformity is DeformityType.BICONCAVE else (1.0, 0.0)


def measured_loss(deformity: DeformityType, before: Heights, after: Heights) -> float:
    """Height-loss fraction as the deformity defines it (wedge: anterior, biconcave: middle,
    crush: mean of the three)."""
    if deformity is DeformityType.WEDGE:
        return 1.0 - after.anterior / before.anterior
    if deformity is DeformityType.BICONCAVE:
        return 1.0 - after.middle / before.middle
    b = before.anterior + before.middle + before.posterior
    a = after.anterior + after.middle + after.posterior
    return 1.0 - a / b


def resolve_loss(grade: int | None, height_loss: float | None) -> float:
    """The height-loss fraction from an explicit fraction or a Genant grade."""
    if height_loss is not None:
        if not 0.0 <= height_loss < 0.8:
            raise InputError(f"height_loss {height_loss} must be a fraction in 0..0.8")
        return float(height_loss)
    if grade is None:
        raise InputError("give a Genant grade (1-3) or a height_loss fraction")
    if grade not in GENANT_DEFAULT_LOSS:
        raise InputError(f"Genant grade {grade} must be 1, 2 or 3")
    return GENANT_DEFAULT_LOSS[grade]


# -- column analysis on label maps ----------------------------------------------------------


@dataclass
class _Columns:
    """Endplate maps of one body on a (w, v) grid of its frame."""

    v: np.ndarray
    w: np.ndarray
    top: np.ndarray  # (nw, nv)
    bot: np.ndarray
    du: np.ndarray
    dl: np.ndarray
    inside: np.ndarray  # bool (nw, nv): column crosses the body

    def lookup(self, arr: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Bilinear value of a (w, v) map ``arr`` at local coordinates (v, w)."""
        iv = (v - self.v[0]) / (self.v[1] - self.v[0])
        iw = (w - self.w[0]) / (self.w[1] - self.w[0]) if len(self.w) > 1 else np.zeros_like(w)
        return np.asarray(ndimage.map_coordinates(
            arr.astype(float), np.stack([iw, iv]), order=1, mode="nearest"
        ))


def _columns(labels: np.ndarray, grid: Grid, label: int, frame: BodyFrame) -> _Columns:
    mask = labels == label
    kk, jj, ii = np.nonzero(mask)
    if kk.size == 0:
        raise InputError(f"label {label} is not in the label map")
    pts = grid.index_to_lps(np.stack([ii, jj, kk], axis=1).astype(float)).T
    u0, v0, w0 = frame.to_local(pts)
    step_w = max(0.5, min(grid.spacing) * 0.5)
    v = np.arange(v0.min() - 8.0, v0.max() + 8.0, 0.5)
    w = np.arange(w0.min() - 6.0, w0.max() + 6.0 + step_w, step_w)
    u = np.arange(u0.min() - 30.0, u0.max() + 30.0, 0.25)
    ww, vv, uu = np.meshgrid(w, v, u, indexing="ij")
    lab = _sample(labels.astype(np.float32), grid, frame.to_lps(uu, vv, ww), order=0)
    lab = np.rint(lab).astype(np.int64)
    body = lab == label
    inside = body.any(axis=2)
    ui = np.broadcast_to(u, body.shape)
    big = 1e9
    top = np.where(body, ui, -big).max(axis=2)
    bot = np.where(body, ui, big).min(axis=2)
    other = (lab != 0) & ~body
    above = other & (ui > top[..., None])
    below = other & (ui < bot[..., None])
    nb_up = np.where(above, ui, big).min(axis=2)
    nb_dn = np.where(below, ui, -big).max(axis=2)
    height = np.median(top[inside] - bot[inside])
    du = np.where(inside & (nb_up < big), nb_up - top, np.nan)
    dl = np.where(inside & (nb_dn > -big), bot - nb_dn, np.nan)
    default_gap = 0.3 * height
    du = np.where(np.isnan(du), np.nanmedian(du) if np.isfinite(du).any() else default_gap, du)
    dl = np.where(np.isnan(dl), np.nanmedian(dl) if np.isfinite(dl).any() else default_gap, dl)
    # Fill columns outside the body with the nearest inside column.
    _, (iw, iv) = ndimage.distance_transform_edt(~inside, return_indices=True)
    top = top[iw, iv]
    bot = bot[iw, iv]
    du = np.maximum(du[iw, iv], 1.0)
    dl = np.maximum(dl[iw, iv], 1.0)
    return _Columns(v=v, w=w, top=top, bot=bot, du=du, dl=dl, inside=inside)


def _taper(cols: _Columns, margin_mm: float = 5.0) -> np.ndarray:
    """1 inside the body footprint, smoothly 0 at ``margin_mm`` outside it."""
    sampling = (max(cols.w[1] - cols.w[0], 1e-3) if len(cols.w) > 1 else 1.0, cols.v[1] - cols.v[0])
    dist = ndimage.distance_transform_edt(~cols.inside, sampling=sampling)
    x = np.clip(1.0 - dist / margin_mm, 0.0, 1.0)
    return np.asarray(x * x * (3.0 - 2.0 * x))


def _local_block(grid: Grid, frame: BodyFrame, lo: np.ndarray, hi: np.ndarray) -> tuple[slice, ...]:
    """Array slices (k, j, i) covering the local box [lo, hi] (u, v, w) of ``frame``."""
    corners = np.array(
        [[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])]
    )
    pts = frame.to_lps(corners[:, 0], corners[:, 1], corners[:, 2]).T
    idx = grid.lps_to_index(pts)
    mn = np.floor(idx.min(axis=0)).astype(int) - 1
    mx = np.ceil(idx.max(axis=0)).astype(int) + 2
    size = np.array(grid.size)
    mn = np.clip(mn, 0, size)
    mx = np.clip(mx, 0, size)
    return (slice(mn[2], mx[2]), slice(mn[1], mx[1]), slice(mn[0], mx[0]))


@dataclass
class CompressionResult:
    """Output of :func:`compress_body`."""

    image: np.ndarray
    labels: np.ndarray
    frame: BodyFrame
    deformity: DeformityType
    intended_loss: float
    before: Heights
    after: Heights

    @property
    def height_loss(self) -> float:
        return measured_loss(self.deformity, self.before, self.after)

    @property
    def grade(self) -> int:
        return genant_grade(self.height_loss)


def compress_body(
    image: np.ndarray,
    labels: np.ndarray,
    grid: Grid,
    label: int,
    deformity: DeformityType | str,
    *,
    height_loss: float | None = None,
    grade: int | None = None,
    frame: BodyFrame | None = None,
) -> CompressionResult:
    """Compress body ``label`` (see module docstring). Returns new arrays; inputs unchanged."""
    _check_shapes(image, labels, grid)
    kind = DeformityType(deformity)
    if kind is DeformityType.NONE:
        raise InputError("deformity 'none' compresses nothing: use wedge, biconcave or crush")
    loss = resolve_loss(grade, height_loss)
    if label not in np.unique(labels):
        raise InputError(f"label {label} is not in the label map")
    if frame is None:
        frame = body_frames(labels, grid)[label]
    before = measure_heights(labels, grid, label, frame)
    walls = _walls((labels == label).astype(np.float32), grid, frame)
    cols = _columns(labels, grid, label, frame)
    # The warp is calibrated: secant steps (nudged when the voxel grid makes the measured
    # loss stall) keep the result whose measured loss is closest to the request.
    trial = loss
    best: tuple[float, np.ndarray, np.ndarray, Heights] | None = None
    tried: list[float] = []
    for _ in range(6):
        img_t, lab_t = _warp(image, labels, grid, label, frame, kind, trial, cols, walls)
        h_t = measure_heights(lab_t, grid, label, frame)
        got = measured_loss(kind, before, h_t)
        if best is None or abs(got - loss) < abs(best[0] - loss):
            best = (got, img_t, lab_t, h_t)
        if abs(got - loss) < 0.004:
            break
        tried.append(trial)
        nxt = trial * loss / got if got > 1e-3 else trial + 0.05
        if any(abs(nxt - t) < 0.004 for t in tried):
            nxt = trial + (0.012 if got < loss else -0.012)
        trial = float(min(0.85, max(0.01, nxt)))
    assert best is not None
    _, new_image, new_labels, after = best
    logger.debug("compressed label %d (%s, loss %.2f)", label, kind.value, loss)
    return CompressionResult(
        image=new_image,
        labels=new_labels,
        frame=frame,
        deformity=kind,
        intended_loss=loss,
        before=before,
        after=after,
    )


def _warp(
    image: np.ndarray,
    labels: np.ndarray,
    grid: Grid,
    label: int,
    frame: BodyFrame,
    kind: DeformityType,
    loss: float,
    cols: _Columns,
    walls: _Walls,
) -> tuple[np.ndarray, np.ndarray]:
    va, _, vp = walls.points()
    prof = deformity_profile(kind, cols.v, va, vp)[None, :] * _taper(cols)
    height = cols.top - cols.bot
    share_s, share_i = loss_split(kind)
    ds = loss * share_s * height * prof
    di = loss * share_i * height * prof
    lo = np.array([cols.bot.min() - cols.dl.max() - 2, cols.v[0], cols.w[0]])
    hi = np.array([cols.top.max() + cols.du.max() + 2, cols.v[-1], cols.w[-1]])
    blk = _local_block(grid, frame, lo, hi)
    pts = _block_points(grid, blk)
    u, v, w = frame.to_local(pts)
    src_u = endplate_map(
        u,
        cols.lookup(cols.top, v, w),
        cols.lookup(cols.bot, v, w),
        cols.lookup(ds, v, w),
        cols.lookup(di, v, w),
        cols.lookup(cols.du, v, w),
        cols.lookup(cols.dl, v, w),
    )
    shift = src_u - u
    src = pts + shift[None] * np.asarray(frame.superior).reshape(3, 1, 1, 1)
    new_image = image.astype(np.float32, copy=True)
    new_labels = labels.copy()
    moved = np.abs(shift) > 1e-6
    img_vals = _sample(image.astype(np.float32), grid, src, order=1)
    lab_vals = _sample(labels.astype(np.float32), grid, src, order=0)
    sub_img = new_image[blk]
    sub_lab = new_labels[blk]
    sub_img[moved] = img_vals[moved]
    sub_lab[moved] = np.rint(lab_vals[moved]).astype(labels.dtype)
    return new_image, new_labels


def _block_points(grid: Grid, blk: tuple[slice, ...]) -> np.ndarray:
    k = np.arange(blk[0].start, blk[0].stop, dtype=float)
    j = np.arange(blk[1].start, blk[1].stop, dtype=float)
    i = np.arange(blk[2].start, blk[2].stop, dtype=float)
    kk, jj, ii = np.meshgrid(k, j, i, indexing="ij")
    pts = grid.index_to_lps(np.stack([ii, jj, kk], axis=-1))
    return np.moveaxis(pts, -1, 0)


# -- edema ------------------------------------------------------------------------------------


def estimate_noise(image: np.ndarray) -> float:
    """Noise standard deviation of an image (slices, rows, columns).

    Immerkaer's Laplacian-difference operator per slice (its response to white noise has
    standard deviation 6 sigma), made robust to edges by a median absolute deviation over the
    pixels whose 3x3 neighbourhood is all non-zero (zero-filled background is left out).
    """
    img = np.asarray(image, dtype=np.float32)
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
    values = []
    for k in range(img.shape[0]):
        sl = img[k]
        resp = ndimage.convolve(sl, kernel, mode="nearest")
        valid = ndimage.minimum_filter(sl, size=3) > 0
        if valid.sum() > 100:
            values.append(np.abs(resp[valid]))
    if not values:
        return 0.0
    mad = float(np.median(np.concatenate(values)))
    return mad / 0.6745 / 6.0


@dataclass
class EdemaResult:
    """Output of :func:`add_edema`."""

    image: np.ndarray
    #: Voxels where the edema weight is at least 0.5.
    mask: np.ndarray
    #: Soft edema weight 0..1.
    weight: np.ndarray
    ratio: float
    pattern: EdemaPattern
    noise_sigma: float
    #: Median normal-marrow signal of the body before edema.
    reference: float


def edema_ratio(image: np.ndarray, edema: np.ndarray, reference: np.ndarray) -> float:
    """Mean of ``image`` in ``edema`` over its mean in ``reference`` (boolean masks)."""
    if not edema.any() or not reference.any():
        raise InputError("edema_ratio needs non-empty edema and reference masks")
    return float(image[edema].mean() / image[reference].mean())


def add_edema(
    image: np.ndarray,
    labels: np.ndarray,
    grid: Grid,
    label: int,
    contrast: Contrast | str,
    *,
    pattern: EdemaPattern | str = EdemaPattern.BAND,
    model: EdemaContrast | None = None,
    ratio: float | None = None,
    endplates: DeformityType | str = DeformityType.WEDGE,
    band_fraction: float = 0.4,
    frame: BodyFrame | None = None,
    seed: int = 0,
    noise_sigma: float | None = None,
) -> EdemaResult:
    """Add marrow edema to body ``label``.

    ``ratio`` (edema / normal marrow signal) defaults to ``model.ratio_for(contrast)``.
    ``band``: under the superior endplate, or both endplates when ``endplates`` is
    biconcave; its thickness is ``band_fraction`` of the body height (undulating by about
    1.5 mm). ``diffuse``: the whole body, 2 mm soft edge.
    The added signal is ``weight * (ratio - 1) * ref * (1 + tau * g)``: ``ref`` the body's
    smoothed normal-marrow signal, ``g`` a smooth unit random field, ``tau`` the image noise
    over ``ref`` (so the texture matches the image's own noise level).
    """
    _check_shapes(image, labels, grid)
    pat = EdemaPattern(pattern)
    if pat is EdemaPattern.NONE:
        raise InputError("pattern 'none' adds no edema: use band or diffuse")
    c = Contrast.parse(contrast)
    r = float(ratio) if ratio is not None else (model or EdemaContrast()).ratio_for(c)
    if not 0.2 <= r <= 3.0:
        raise InputError(f"edema ratio {r} is outside 0.2..3.0")
    body = labels == label
    if not body.any():
        raise InputError(f"label {label} is not in the label map")
    if frame is None:
        frame = body_frames(labels, grid)[label]
    img = image.astype(np.float32)
    sigma = estimate_noise(img) if noise_sigma is None else float(noise_sigma)

    spacing_zyx = np.array(grid.spacing[::-1])
    dist = ndimage.distance_transform_edt(body, sampling=spacing_zyx)
    rng = np.random.default_rng([seed, label, 7])
    kk, jj, ii = np.nonzero(body)
    blk = (
        slice(kk.min(), kk.max() + 1),
        slice(jj.min(), jj.max() + 1),
        slice(ii.min(), ii.max() + 1),
    )
    pts = _block_points(grid, blk)
    sub_body = body[blk]
    edge = np.clip(dist[blk] / 1.5, 0.0, 1.0)
    if pat is EdemaPattern.DIFFUSE:
        weight = np.clip(dist[blk] / 2.0, 0.0, 1.0)
    else:
        cols = _columns(labels, grid, label, frame)
        u, v, w = frame.to_local(pts)
        top = cols.lookup(cols.top, v, w)
        bot = cols.lookup(cols.bot, v, w)
        height = float(np.median((cols.top - cols.bot)[cols.inside]))
        undul = SmoothField.random(rng, wavelength_mm=(8.0, 20.0), n_waves=12)(pts) * 1.5
        thick = band_fraction * height + undul
        weight = 1.0 / (1.0 + np.exp(-((thick - (top - u)) / 0.8)))
        if DeformityType(endplates) is DeformityType.BICONCAVE:
            w_inf = 1.0 / (1.0 + np.exp(-((thick - (u - bot)) / 0.8)))
            weight = np.maximum(weight, w_inf)
        weight = weight * np.minimum(1.0, edge * 1.5 + 0.3)
    weight = np.where(sub_body, weight, 0.0).astype(np.float32)

    # Normal-marrow reference: body signal smoothed inside the body (normalised convolution),
    # excluding the cortex rim.
    core = sub_body & (dist[blk] > 1.0)
    if not core.any():
        core = sub_body
    sig_vox = 6.0 / spacing_zyx
    sub_img = img[blk]
    num = ndimage.gaussian_filter(np.where(core, sub_img, 0.0), sig_vox)
    den = ndimage.gaussian_filter(core.astype(np.float32), sig_vox)
    ref_median = float(np.median(sub_img[core]))
    ref = np.where(den > 1e-3, num / np.maximum(den, 1e-3), ref_median)
    tau = sigma / max(ref_median, 1e-6)
    tex = SmoothField.random(rng, wavelength_mm=(3.0, 9.0))(pts)
    added = weight * (r - 1.0) * ref * (1.0 + tau * tex)
    out = img.copy()
    out[blk] = sub_img + added.astype(np.float32)
    full_w = np.zeros(img.shape, dtype=np.float32)
    full_w[blk] = weight
    logger.debug("edema on label %d: %s, ratio %.2f, noise %.2f", label, pat.value, r, sigma)
    return EdemaResult(
        image=np.maximum(out, 0.0),
        mask=full_w >= 0.5,
        weight=full_w,
        ratio=r,
        pattern=pat,
        noise_sigma=sigma,
        reference=ref_median,
    )


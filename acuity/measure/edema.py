"""Bone-marrow edema on STIR / fat-suppressed T2: voxel scoring and per-body scores.

Two entry points:

* :func:`edema_mask` (research API): edematous voxels of any ROI of any STIR image, against a
  reference (normal-marrow) region of the same image.
* :func:`score_bodies` (the pipeline): every vertebral body of a label map, against a
  reference built from the study's own normal bodies.

Both use one rule. The image is first divided by its N4 bias field (coil shading). A voxel's
ratio is its signal (smoothed within the region, ``smoothing_mm``) over the normal-marrow
reference; it is edematous when the ratio reaches the larger of ``voxel_ratio`` and the upper
Tukey fence ``(Q3 + k IQR) / median`` of the reference voxels (the per-image threshold of
Hepburn et al.'s intensity-based STIR lesion segmentation; for bodies, the median of the
reference bodies' own fences), and it belongs to a cluster of at least ``min_cluster_mm3``.

For the bodies, the reference is the marrow of bodies that are neither fractured nor partial
nor S1: the medians of their cores (the body eroded by ``core_erosion_mm``) are fitted along
the spine with a robust (Theil-Sen) line, bodies departing from the fit by more than
``reference_outlier`` are dropped and the line refitted, so one or several edematous or
fractured levels do not move the reference, and residual shading along the spine is absorbed
by the line; a reference body that itself scores edematous is dropped and everything refitted.
Each body is compared with the fit at its own level.

:func:`edema_mask` has its own voxel rule (the ``mask_*`` settings), by default Hepburn et
al.'s intensity-based lesion segmentation (public repository ``c-hepburn/Bone_MRI``,
``scripts_notebooks/segmentation_inflammatory_lesions/segment.py``; Hepburn et al., PLoS One
2023;18:e0284508): no smoothing, a threshold just under the brightest reference voxels (the
Tukey fence raised to within IQR/2 of the reference maximum, see :func:`mask_threshold`) and
clusters counted within each slice. On the real sacroiliac STIR exams with expert masks it
scores closer to the raters than the body rule (``scripts/validate_edema.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy import stats

from acuity.errors import InputError
from acuity.measure.enum import EdemaPattern
from acuity.measure.geometry import BodyFrame, body_frames
from acuity.measure.grids import (
    as_float32,
    check_3d,
    eroded,
    image_like,
    labels_on,
    n4_corrected,
    remove_small,
    same_grid,
    smooth_within,
    spacing_zyx,
    voxel_mm3,
)
from acuity.measure.model import EdemaScore
from acuity.measure.thresholds import EdemaThresholds
from acuity.sim.grid import Grid

logger = logging.getLogger(__name__)


# -- the research API ------------------------------------------------------------------------


@dataclass(frozen=True)
class EdemaMap:
    """Result of :func:`edema_mask`."""

    #: uint8 mask (1 = edematous) on the STIR grid.
    mask: sitk.Image
    #: float32 ratio to the reference (smoothed within the ROI by ``mask_smoothing_mm``; 0
    #: outside the ROI).
    ratio: sitk.Image
    #: Ratio threshold used (:func:`mask_threshold`).
    threshold: float
    #: Median reference signal (bias-corrected).
    reference: float
    #: Fraction of the ROI scored edematous.
    fraction: float


def reference_threshold(ref_values: np.ndarray, t: EdemaThresholds) -> tuple[float, float]:
    """(median, ratio threshold) of reference voxel values."""
    if ref_values.size < 10:
        raise InputError(
            f"the reference region holds {ref_values.size} voxels; at least 10 are needed"
        )
    q1, med, q3 = (float(x) for x in np.percentile(ref_values, [25, 50, 75]))
    if med <= 0:
        raise InputError(f"the reference region's median signal is {med}; it must be positive")
    fence = (q3 + t.tukey_k * (q3 - q1)) / med
    return med, max(t.voxel_ratio, fence)


def mask_threshold(ref_values: np.ndarray, t: EdemaThresholds) -> tuple[float, float]:
    """(median, ratio threshold) of reference voxel values for :func:`edema_mask`.

    ``fence``: as :func:`reference_threshold`. ``hepburn``: Hepburn et al.'s lower threshold
    (``Segment.compute_thresholds`` of ``c-hepburn/Bone_MRI``): the fence ``Q3 + k IQR``,
    raised to within IQR/2 of the brightest reference voxel when it lies further below it,
    and not above that voxel (they step ``k`` by 0.05 to get there; this is the limit of
    their steps). Either way at least ``voxel_ratio``.
    """
    med, fence_thr = reference_threshold(ref_values, t)
    if t.mask_threshold == "fence":
        return med, fence_thr
    q1, q3 = (float(x) for x in np.percentile(ref_values, [25, 75]))
    top = float(ref_values.max())
    lower = min(max(q3 + t.tukey_k * (q3 - q1), top - 0.5 * (q3 - q1)), top)
    return med, max(t.voxel_ratio, lower / med)


def edema_mask(
    stir: sitk.Image,
    roi_mask: sitk.Image,
    reference_mask: sitk.Image,
    thresholds: EdemaThresholds | None = None,
) -> EdemaMap:
    """Edematous voxels of ``roi_mask`` on ``stir`` against ``reference_mask`` (normal marrow).

    Masks are nonzero-inside images; on another grid than ``stir`` they are mapped onto it
    (nearest neighbour, physical space). The rule is set by the ``mask_*`` settings of
    ``thresholds``: the ratio (smoothed within the ROI by ``mask_smoothing_mm``) reaches
    :func:`mask_threshold`, in a cluster (``mask_connectivity``) of at least
    ``mask_min_cluster_mm3``, holding a voxel of at least ``mask_seed_ratio`` when that is set.
    ``edema_mask`` before the ``mask_*`` settings (the body rule): ``mask_threshold="fence"``,
    ``mask_smoothing_mm=1.0``, ``mask_connectivity="3d"``, ``mask_min_cluster_mm3=30``.
    """
    t = thresholds or EdemaThresholds()
    check_3d(stir, "stir")
    check_3d(roi_mask, "roi_mask")
    check_3d(reference_mask, "reference_mask")
    img = n4_corrected(stir, t.n4_resolution_mm) if t.bias_correction == "n4" else as_float32(stir)
    arr = sitk.GetArrayFromImage(img).astype(np.float32)
    roi = sitk.GetArrayFromImage(labels_on(roi_mask, stir)) > 0
    ref = sitk.GetArrayFromImage(labels_on(reference_mask, stir)) > 0
    if not roi.any():
        raise InputError("roi_mask is empty on the STIR grid: nothing to score")
    med, thr = mask_threshold(arr[ref], t)
    sp = spacing_zyx(stir)
    ratio = smooth_within(arr, roi, t.mask_smoothing_mm, sp) / med
    ratio = np.where(roi, ratio, 0.0).astype(np.float32)
    mask = remove_small(
        roi & (ratio >= thr),
        t.mask_min_cluster_mm3,
        voxel_mm3(stir),
        per_slice=t.mask_connectivity == "2d",
        seeds=ratio >= t.mask_seed_ratio if t.mask_seed_ratio > 0 else None,
    )
    return EdemaMap(
        mask=image_like(mask.astype(np.uint8), stir),
        ratio=image_like(ratio, stir),
        threshold=thr,
        reference=med,
        fraction=float(mask.sum() / roi.sum()),
    )


# -- vertebral bodies ------------------------------------------------------------------------


@dataclass(frozen=True)
class BodyRole:
    """What the edema scorer needs to know of a body from the other measurements."""

    label: int
    #: Position along the spine (0 = most superior).
    order: int
    partial: bool
    #: May serve as normal-marrow reference (complete, not fractured, not S1).
    reference_candidate: bool
    #: Level name for messages (``L2``, or ``#3``).
    name: str = ""


@dataclass(frozen=True)
class BodyEdema:
    """Edema result of one body: a score, or why there is none."""

    label: int
    score: EdemaScore | None
    #: Edema present by the thresholds (None when not scored).
    present: bool | None
    #: Median ratio of the voxels scored edematous (None when there are none).
    lesion_ratio: float | None
    notes: tuple[str, ...]
    #: Why the body could not be scored (then ``score`` is None).
    problem: str | None = None


@dataclass(frozen=True)
class MarrowFit:
    """log(normal-marrow signal) along the spine: a polynomial in the body's order."""

    coefficients: tuple[float, ...]
    #: Labels of the bodies the fit rests on.
    labels: tuple[int, ...]
    #: Lowest and highest order of those bodies: outside, the fit is held at its end value
    #: (a line or parabola extrapolated past the last reference body is not marrow signal).
    span: tuple[float, float] | None = None

    def at(self, order: int) -> float:
        x = float(order)
        if self.span is not None:
            x = min(max(x, self.span[0]), self.span[1])
        return float(np.exp(np.polyval(np.asarray(self.coefficients), x)))


def _robust_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(slope, intercept): Theil-Sen with 3+ points, else the median."""
    if x.size >= 3:
        res = stats.theilslopes(y, x)
        return float(res[0]), float(res[1])
    return 0.0, float(np.median(y))


def fit_marrow(
    medians: Mapping[int, float], orders: Mapping[int, int], t: EdemaThresholds
) -> MarrowFit:
    """Robust fit of the bodies' median marrow signal along the spine (module docstring):
    Theil-Sen line, bodies departing from it by more than ``reference_outlier`` dropped (and
    the line refitted) while enough remain, then a least-squares polynomial of degree up to
    ``reference_max_degree`` (2 needs 6 bodies, 1 needs 3) through the bodies kept."""
    keep = sorted(medians)
    logs = {k: float(np.log(medians[k])) for k in medians}
    for _ in range(4):
        x = np.array([orders[k] for k in keep], dtype=float)
        y = np.array([logs[k] for k in keep])
        slope, icpt = _robust_line(x, y)
        new = sorted(
            k
            for k in medians
            if abs(np.exp(logs[k] - (icpt + slope * orders[k])) - 1.0) <= t.reference_outlier
        )
        if new == keep or len(new) < t.min_reference_bodies:
            break
        keep = new
    x = np.array([orders[k] for k in keep], dtype=float)
    y = np.array([logs[k] for k in keep])
    degree = min(t.reference_max_degree, 2 if len(keep) >= 6 else 1 if len(keep) >= 3 else 0)
    if degree == 1:
        coef: tuple[float, ...] = _robust_line(x, y)
    elif degree == 0:
        coef = (float(np.median(y)),)
    else:
        coef = tuple(float(c) for c in np.polyfit(x, y, degree))
    return MarrowFit(coef, tuple(keep), (float(x.min()), float(x.max())))


@dataclass(frozen=True)
class _Reference:
    fit: MarrowFit
    threshold: float
    note: str

    def at(self, order: int) -> float:
        return self.fit.at(order)


def _core_box(
    core: np.ndarray, t: EdemaThresholds, sp: tuple[float, float, float]
) -> tuple[slice, ...]:
    """Array slices around ``core`` wide enough for the smoothing kernel (4 sigma)."""
    idx = np.nonzero(core)
    pads = [int(np.ceil(4.0 * t.smoothing_mm / s)) + 1 for s in sp]
    return tuple(
        slice(max(0, int(i.min()) - p), min(n, int(i.max()) + 1 + p))
        for i, p, n in zip(idx, pads, core.shape)
    )


def _smoothed(
    values: np.ndarray, core: np.ndarray, t: EdemaThresholds, sp: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray, tuple[slice, ...]]:
    """(smoothed values, core) cropped to the core's box, and the box: ``values`` smoothed
    within the core (the quantity the voxel rule thresholds)."""
    box = _core_box(core, t, sp)
    sub = core[box]
    return smooth_within(values[box], sub, t.smoothing_mm, sp), sub, box


def _hot(
    values: np.ndarray,
    core: np.ndarray,
    threshold: float,
    t: EdemaThresholds,
    sp: tuple[float, float, float],
    vox: float,
) -> np.ndarray:
    """Edematous voxels of one body: ratio smoothed within the core, thresholded, clustered."""
    out = np.zeros(core.shape, dtype=bool)
    if not core.any():
        return out
    smooth, sub, box = _smoothed(values, core, t, sp)
    out[box] = remove_small(sub & (smooth >= threshold), t.min_cluster_mm3, vox)
    return out


def build_reference(
    arr: np.ndarray,
    cores: Mapping[int, np.ndarray],
    candidates: Mapping[int, float],
    orders: Mapping[int, int],
    names: Mapping[int, str],
    t: EdemaThresholds,
    sp: tuple[float, float, float],
    vox: float,
) -> _Reference | str:
    """The normal-marrow reference of a study, or why there is none.

    ``candidates``: core median of every body that may be a reference. The fit along the spine
    is :func:`fit_marrow`; the voxel threshold is the larger of ``voxel_ratio`` and the median
    over the reference bodies of each body's own Tukey fence ``(Q3 + k IQR) / median`` (so one
    odd body does not widen it). A reference body that itself scores edematous at that
    threshold (fraction >= ``min_fraction``) is dropped and everything refitted, at most twice.
    """
    pool = dict(candidates)
    if len(pool) < t.min_reference_bodies:
        return (
            f"{len(pool)} normal-marrow reference bodies on the edema series (need "
            f"{t.min_reference_bodies}): the marrow reference is not trustworthy"
        )
    dropped: list[int] = []
    for _ in range(3):
        fit = fit_marrow(pool, orders, t)
        if len(fit.labels) < t.min_reference_bodies:
            return (
                f"the normal-marrow signal of the reference bodies disagrees by more than "
                f"{100 * t.reference_outlier:.0f}% (fewer than {t.min_reference_bodies} agree)"
            )
        fences = []
        for k in fit.labels:
            if cores[k].sum() < 10:
                continue
            # The fence of the quantity that is thresholded: the ratio smoothed within the
            # core (the fence of raw voxels is wider by the voxel noise that smoothing removes).
            smooth, sub, _ = _smoothed(arr, cores[k], t, sp)
            fences.append(reference_threshold(smooth[sub] / fit.at(orders[k]), t)[1])
        thr = max(t.voxel_ratio, float(np.median(fences))) if fences else t.voxel_ratio
        hot = [
            k
            for k in fit.labels
            if _hot(arr / fit.at(orders[k]), cores[k], thr, t, sp, vox).sum()
            >= t.min_fraction * cores[k].sum()
        ]
        if not hot or len(fit.labels) - len(hot) < t.min_reference_bodies:
            break
        for k in hot:
            pool.pop(k, None)
            dropped.append(k)
    note = (
        f"reference marrow: {len(fit.labels)} bodies "
        f"({', '.join(names.get(k, f'#{k}') for k in fit.labels)}), voxel threshold {thr:.2f}"
    )
    if dropped:
        note += "; left out as edematous: " + ", ".join(names.get(k, f"#{k}") for k in dropped)
    return _Reference(fit, thr, note)


def score_bodies(
    edema: sitk.Image,
    labels: sitk.Image,
    roles: Sequence[BodyRole],
    thresholds: EdemaThresholds | None = None,
    t1: sitk.Image | None = None,
) -> dict[int, BodyEdema]:
    """Edema score of every body in ``roles`` (see module docstring)."""
    t = thresholds or EdemaThresholds()
    check_3d(edema, "edema")
    check_3d(labels, "labels")
    img = (
        n4_corrected(edema, t.n4_resolution_mm) if t.bias_correction == "n4" else as_float32(edema)
    )
    arr = sitk.GetArrayFromImage(img).astype(np.float32)
    lab_e = sitk.GetArrayFromImage(labels_on(labels, edema)).astype(np.int32)
    sp = spacing_zyx(edema)
    vox = voxel_mm3(edema)
    src_vox = voxel_mm3(labels)
    src = sitk.GetArrayViewFromImage(labels)
    orders = {r.label: r.order for r in roles}
    names = {r.label: r.name or f"#{r.label}" for r in roles}
    cores: dict[int, np.ndarray] = {}
    problems: dict[int, str] = {}
    for r in roles:
        body = lab_e == r.label
        core = eroded(body, t.core_erosion_mm, sp)
        vol_here = float(body.sum()) * vox
        vol_src = float((src == r.label).sum()) * src_vox
        if vol_src > 0 and vol_here < 0.7 * vol_src:
            problems[r.label] = (
                f"only {100 * vol_here / vol_src:.0f}% of the body lies in the edema series' "
                "field of view"
            )
        elif float(core.sum()) * vox < t.min_core_mm3:
            problems[r.label] = (
                f"body core on the edema series is {float(core.sum()) * vox:.0f} mm3, below "
                f"{t.min_core_mm3:.0f} mm3"
            )
        cores[r.label] = core
    medians = {
        r.label: float(np.median(arr[cores[r.label]]))
        for r in roles
        if r.label not in problems and cores[r.label].any()
    }
    candidates = {
        k: v
        for k, v in medians.items()
        if v > 0 and next(r for r in roles if r.label == k).reference_candidate
    }
    out: dict[int, BodyEdema] = {}
    ref = build_reference(arr, cores, candidates, orders, names, t, sp, vox)
    if isinstance(ref, str):
        for r in roles:
            out[r.label] = BodyEdema(r.label, None, None, None, (), problems.get(r.label, ref))
        return out
    t1_info = _t1_reference(t1, labels, roles, ref.fit.labels, t) if t1 is not None else None
    grid = Grid.from_image(edema)
    try:
        frames = body_frames(lab_e, grid)
    except InputError as exc:  # pragma: no cover - a label map no frame fits
        logger.warning("no body frames on the edema grid (%s): endplate slabs not scored", exc)
        frames = {}
    for r in roles:
        if r.label in problems:
            out[r.label] = BodyEdema(r.label, None, None, None, (), problems[r.label])
            continue
        slab = _endplate_ratio(arr / ref.at(r.order), cores[r.label], frames.get(r.label), grid, t)
        out[r.label] = _score_one(
            arr, lab_e, cores[r.label], r, ref, t, sp, vox, edema, t1_info, slab
        )
    return out


def _endplate_ratio(
    values: np.ndarray,
    core: np.ndarray,
    frame: BodyFrame | None,
    grid: Grid,
    t: EdemaThresholds,
) -> float | None:
    """Median ratio of the brighter endplate slab of a body core: the voxels within
    ``endplate_slab`` of the core's height (along the body's superior axis, 2nd-98th
    percentile) from its superior or its inferior end. None without a frame."""
    if frame is None or core.sum() < 20:
        return None
    kk, jj, ii = np.nonzero(core)
    pts = grid.index_to_lps(np.stack([ii, jj, kk], axis=1).astype(float))
    u = (pts - np.asarray(frame.centre)) @ np.asarray(frame.superior)
    lo, hi = (float(x) for x in np.percentile(u, [2, 98]))
    if hi - lo <= 1e-6:
        return None
    pos = (u - lo) / (hi - lo)
    v = values[core]
    slabs = [v[pos >= 1.0 - t.endplate_slab], v[pos <= t.endplate_slab]]
    meds = [float(np.median(x)) for x in slabs if x.size >= 10]
    return max(meds) if meds else None


@dataclass(frozen=True)
class _T1Info:
    image: np.ndarray
    labels: np.ndarray
    grid_image: sitk.Image
    fit: MarrowFit
    spacing: tuple[float, float, float]


def _t1_reference(
    t1: sitk.Image,
    labels: sitk.Image,
    roles: Sequence[BodyRole],
    ref_labels: Sequence[int],
    t: EdemaThresholds,
) -> _T1Info | None:
    check_3d(t1, "t1")
    img = n4_corrected(t1, t.n4_resolution_mm) if t.bias_correction == "n4" else as_float32(t1)
    arr = sitk.GetArrayFromImage(img).astype(np.float32)
    lab = sitk.GetArrayFromImage(labels_on(labels, t1)).astype(np.int32)
    sp = spacing_zyx(t1)
    orders = {r.label: r.order for r in roles}
    meds = {}
    for k in ref_labels:
        core = eroded(lab == k, t.core_erosion_mm, sp)
        if core.sum() >= 20:
            m = float(np.median(arr[core]))
            if m > 0:
                meds[k] = m
    if not meds:
        return None
    t1_fit = fit_marrow(meds, orders, t)
    return _T1Info(arr, lab, t1, t1_fit, sp)


def _score_one(
    arr: np.ndarray,
    lab: np.ndarray,
    core: np.ndarray,
    r: BodyRole,
    ref: _Reference,
    t: EdemaThresholds,
    sp: tuple[float, float, float],
    vox: float,
    edema_img: sitk.Image,
    t1: _T1Info | None,
    endplate_ratio: float | None = None,
) -> BodyEdema:
    level = ref.at(r.order)
    values = arr / level
    hot = _hot(values, core, ref.threshold, t, sp, vox)
    n_core = int(core.sum())
    fraction = float(hot.sum()) / n_core
    body_ratio = float(np.median(values[core]))
    lesion_ratio = float(np.median(values[hot])) if hot.any() else None
    by_fraction = fraction >= t.min_fraction and (lesion_ratio or 0.0) >= t.min_lesion_ratio
    by_median = body_ratio >= t.min_body_ratio
    by_endplate = endplate_ratio is not None and endplate_ratio >= t.min_endplate_ratio
    present = by_fraction or by_median or by_endplate
    if not present:
        pattern = EdemaPattern.NONE
    elif fraction >= t.diffuse_fraction or (
        by_median
        and not by_fraction
        and (
            endplate_ratio is None
            or endplate_ratio < body_ratio * t.min_endplate_ratio / t.min_body_ratio
        )
    ):
        # Present through the body median, with no voxel cluster and no endplate slab
        # brighter than the body (by the margin of the two criteria): the whole marrow is
        # raised, below the voxel threshold, rather than a band above it.
        pattern = EdemaPattern.DIFFUSE
    else:
        pattern = EdemaPattern.BAND
    notes = [
        f"edema: {100 * fraction:.0f}% of the body core at >= {ref.threshold:.2f}x normal marrow "
        f"(min {100 * t.min_fraction:.0f}%)"
        + (
            f", edematous voxels' median ratio {lesion_ratio:.2f} (min {t.min_lesion_ratio:.2f})"
            if lesion_ratio is not None
            else ""
        )
        + f"; body median ratio {body_ratio:.2f} (min {t.min_body_ratio:.2f})"
        + (
            f"; endplate slab median ratio {endplate_ratio:.2f} (min {t.min_endplate_ratio:.2f})"
            if endplate_ratio is not None
            else ""
        ),
        ref.note,
    ]
    t1_ratio = None
    if t1 is not None:
        t1_ratio = _t1_ratio(t1, r, hot if present else core, edema_img, t)
        if t1_ratio is not None:
            corr = t1_ratio <= t.t1_hypointense_ratio
            notes.append(
                f"T1 ratio {t1_ratio:.2f} ({'<=' if corr else '>'} {t.t1_hypointense_ratio:.2f}: "
                + ("hypointense, corroborates edema" if corr else "not hypointense")
                + ")"
            )
    score = EdemaScore(
        ratio=round(body_ratio, 4),
        fraction=round(fraction, 4),
        pattern=pattern,
        t1_ratio=round(t1_ratio, 4) if t1_ratio is not None else None,
        endplate_ratio=round(endplate_ratio, 4) if endplate_ratio is not None else None,
    )
    return BodyEdema(
        r.label,
        score,
        bool(present),
        round(lesion_ratio, 4) if lesion_ratio is not None else None,
        tuple(notes),
    )


def _t1_ratio(
    t1: _T1Info, r: BodyRole, region: np.ndarray, edema_img: sitk.Image, t: EdemaThresholds
) -> float | None:
    """Median T1 signal of ``region`` (edema-grid mask) mapped to the T1 grid, within the body
    core there, over the T1 reference line at the body's level."""
    core_t1 = eroded(t1.labels == r.label, t.core_erosion_mm, t1.spacing)
    if not core_t1.any():
        return None
    if same_grid(edema_img, t1.grid_image):
        reg = region
    else:
        reg_img = image_like(region.astype(np.uint8), edema_img)
        reg = sitk.GetArrayFromImage(labels_on(reg_img, t1.grid_image)) > 0
    sel = reg & core_t1
    if sel.sum() < 5:
        sel = core_t1
    level = t1.fit.at(r.order)
    return float(np.median(t1.image[sel])) / level

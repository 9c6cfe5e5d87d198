"""Morphometry of every body of a label map: heights, height loss, Genant grade, deformity type,
vertebra plana and the posterior wall.

Heights come from :func:`acuity.measure.geometry.measure_heights` (6-point morphometry on the
body's mid-sagittal plane). The height loss of a body is the largest of three losses, each
against what its non-fractured neighbours say the body should look like:

* wedge: ``1 - (Ha/Hp) / (Ha/Hp)_ref`` (anterior height against the body's own posterior
  height, corrected by the neighbours' physiological wedging);
* biconcave: ``1 - (Hm/Hmp) / (Hm/Hmp)_ref`` with ``Hmp = (Ha + Hp) / 2``;
* crush: ``1 - Hmean / Hmean_ref``, ``Hmean = (Ha + Hm + Hp) / 3`` against the neighbours'
  mean heights interpolated to this level.

``_ref`` values come from the nearest reference body above and below (up to
``reference_max_steps`` levels away). A reference body is a complete (not partial) body, not
S1, that passes a screen: its own losses against the study's medians and a robust (Theil-Sen)
trend of mean height along the spine stay below ``reference_screen_loss``. So two or three
fractured levels, adjacent or not, do not become each other's reference. When no neighbour
qualifies, the study medians stand in (and say so).

Genant grade (Genant et al., J Bone Miner Res 1993;8:1137): 0 below 20 %, 1 from 20 %, 2 from
25 %, 3 from 40 % (thresholds in ``pipelines/acuity.yaml``); the deformity type is the loss
that decided; vertebra plana at ``vertebra_plana_loss``. S1 is measured but not graded (the
semiquantitative method covers the thoracic and lumbar bodies; the sacrum's shape is not a
vertebral body's); a partial body is not measured.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from acuity.errors import InputError
from acuity.measure.enum import DeformityType, GenantGrade, PosteriorWall
from acuity.measure.geometry import (
    BodyFrame,
    Heights,
    Walls,
    body_frames,
    body_walls,
    heights_at,
)
from acuity.measure.model import Morphometry
from acuity.measure.posterior import posterior_displacement
from acuity.measure.thresholds import MorphometryThresholds
from acuity.segment.level import VertebraLevel
from acuity.sim.grid import Grid

logger = logging.getLogger(__name__)

#: Used only when a study has no usable reference body at all (1.0: no wedging; 0.9: the
#: middle height of a normal body is about 10 % below its anterior/posterior mean because
#: the endplates are concave).
FALLBACK_RATIOS = (1.0, 0.9)


def genant_grade(loss: float, thresholds: MorphometryThresholds | None = None) -> GenantGrade:
    """Genant semiquantitative grade of a height-loss fraction."""
    t = thresholds or MorphometryThresholds()
    if loss >= t.grade3_loss - 1e-9:
        return GenantGrade.SEVERE
    if loss >= t.grade2_loss - 1e-9:
        return GenantGrade.MODERATE
    if loss >= t.grade1_loss - 1e-9:
        return GenantGrade.MILD
    return GenantGrade.NORMAL


@dataclass(frozen=True)
class BodyShape:
    """What is measured of one body before any comparison."""

    label: int
    level: VertebraLevel | None
    partial: bool
    frame: BodyFrame
    heights: Heights
    walls: Walls
    #: Position along the spine, 0 = the most superior body of the label map.
    order: int

    @property
    def wedge_ratio(self) -> float:
        return self.heights.anterior / max(self.heights.posterior, 1e-6)

    @property
    def concavity_ratio(self) -> float:
        h = self.heights
        return h.middle / max(0.5 * (h.anterior + h.posterior), 1e-6)

    @property
    def usable_reference(self) -> bool:
        return (not self.partial) and self.level is not VertebraLevel.S1


@dataclass(frozen=True)
class MorphometryResult:
    """Morphometry of one body plus the evidence behind it."""

    label: int
    morphometry: Morphometry | None
    #: Loss (fraction) by deformity type: wedge, biconcave, crush.
    losses: dict[str, float]
    #: Labels of the bodies used as its reference.
    reference_labels: tuple[int, ...]
    notes: tuple[str, ...]

    @property
    def fractured(self) -> bool:
        m = self.morphometry
        return m is not None and m.genant_grade >= GenantGrade.MILD


@dataclass(frozen=True)
class BodySpec:
    """A body to measure: its label, level (if known) and whether it is cut by the FOV."""

    label: int
    level: VertebraLevel | None = None
    partial: bool = False


def measure_shapes(
    labels: np.ndarray,
    grid: Grid,
    bodies: Sequence[BodySpec],
    thresholds: MorphometryThresholds,
) -> dict[int, BodyShape | str]:
    """Frame, heights and walls of every body; a string says why a body was not measured."""
    frames = body_frames(labels, grid)
    out: dict[int, BodyShape | str] = {}
    ordered = sorted(bodies, key=lambda b: b.label)
    for order, b in enumerate(ordered):
        if b.label not in frames:
            out[b.label] = f"label {b.label} is not in the label map"
            continue
        frame = frames[b.label]
        mask = (labels == b.label).astype(np.float32)
        try:
            walls = body_walls(mask, grid, frame)
            heights = heights_at(mask, grid, frame, walls.points(thresholds.height_points))
        except InputError as exc:
            out[b.label] = str(exc)
            continue
        if min(heights.anterior, heights.middle, heights.posterior) <= 0.5 or walls.depth < 5:
            out[b.label] = (
                f"heights {heights.as_dict()} mm / depth {walls.depth:.1f} mm are not those of a "
                "vertebral body"
            )
            continue
        out[b.label] = BodyShape(b.label, b.level, b.partial, frame, heights, walls, order)
    return out


def _screen(shapes: list[BodyShape], t: MorphometryThresholds) -> tuple[set[int], str]:
    """Labels of bodies fit to be references, and a note on the study medians.

    A reference must look normal both ways: not compressed, and not too tall or oddly shaped
    either (two bodies merged by a segmentation, a body with a bony bridge): each of its level-
    corrected Ha/Hp, its Hm/Hmp and its mean height departs from the study's median / Theil-Sen
    trend by less than ``reference_screen_loss``.
    """
    usable = [s for s in shapes if s.usable_reference]
    if not usable:
        return set(), "no complete body to use as a reference"

    def wedge(s: BodyShape) -> float:
        return s.wedge_ratio / _prior(s, t)

    def passing(base: list[BodyShape], hm: _Line) -> tuple[set[int], float, float]:
        ra = float(np.median([wedge(s) for s in base]))
        rm = float(np.median([s.concavity_ratio for s in base]))
        ok = set()
        for s in usable:
            dev = max(
                abs(1.0 - wedge(s) / ra),
                abs(1.0 - s.concavity_ratio / rm),
                abs(1.0 - s.heights.mean / hm(s.order)),
            )
            if dev < t.reference_screen_loss:
                ok.add(s.label)
        return ok, ra, rm

    # Fractures only lower a body, so the height trend of normal bodies is the upper part of
    # the spine's heights: a first robust trend through all bodies (none over 1.5x the median
    # height: merged labels), then a trend through the bodies at or above it. With several
    # crushed levels a trend through all would run low and screen the normal bodies out.
    med_h = float(np.median([s.heights.mean for s in usable]))
    sane = [s for s in usable if s.heights.mean <= 1.5 * med_h] or usable
    first = _trend([s.order for s in sane], [s.heights.mean for s in sane])
    res = [s.heights.mean / first(s.order) for s in sane]
    cut = float(np.median(res))
    upper = [s for s, r in zip(sane, res) if r >= cut - 1e-9]
    hm = (
        _trend([s.order for s in upper], [s.heights.mean for s in upper])
        if len(upper) >= 2
        else first
    )
    ok, ra, rm = passing(usable, hm)
    # Second pass: medians and trend from the bodies that passed.
    base = [s for s in usable if s.label in ok]
    if len(base) >= 3:
        hm = _trend([s.order for s in base], [s.heights.mean for s in base])
        ok2, ra2, rm2 = passing(base, hm)
        if len(ok2) >= 2:
            ok, ra, rm = ok2, ra2, rm2
    return ok, f"study medians Ha/Hp {ra:.2f} (level-corrected), Hm/Hmp {rm:.2f}"


def _trend(x: Sequence[float], y: Sequence[float]) -> _Line:
    if len(x) >= 3:
        res = stats.theilslopes(y, x)
        return _Line(float(res[1]), float(res[0]))
    return _Line(float(np.median(y)), 0.0)


@dataclass(frozen=True)
class _Line:
    intercept: float
    slope: float

    def __call__(self, x: float) -> float:
        return self.intercept + self.slope * x


def _neighbours(
    shape: BodyShape, by_order: dict[int, BodyShape], refs: set[int], max_steps: int
) -> tuple[BodyShape | None, BodyShape | None]:
    above = below = None
    for step in range(1, max_steps + 1):
        s = by_order.get(shape.order - step)
        if above is None and s is not None and s.label in refs:
            above = s
        s = by_order.get(shape.order + step)
        if below is None and s is not None and s.label in refs:
            below = s
    return above, below


def measure_morphometry(
    labels: np.ndarray,
    grid: Grid,
    bodies: Sequence[BodySpec],
    thresholds: MorphometryThresholds | None = None,
) -> dict[int, MorphometryResult]:
    """Morphometry of every body in ``bodies`` (see module docstring)."""
    t = thresholds or MorphometryThresholds()
    shapes_or_why = measure_shapes(labels, grid, bodies, t)
    shapes = [s for s in shapes_or_why.values() if isinstance(s, BodyShape)]
    refs, study_note = _screen(shapes, t)
    by_order = {s.order: s for s in shapes}
    ref_shapes = [s for s in shapes if s.label in refs]
    med_ra = (
        float(np.median([s.wedge_ratio / _prior(s, t) for s in ref_shapes])) if ref_shapes else None
    )
    med_rm = float(np.median([s.concavity_ratio for s in ref_shapes])) if ref_shapes else None
    trend = (
        _trend([s.order for s in ref_shapes], [s.heights.mean for s in ref_shapes])
        if ref_shapes
        else None
    )
    out: dict[int, MorphometryResult] = {}
    for b in bodies:
        got = shapes_or_why.get(b.label)
        if not isinstance(got, BodyShape):
            why = got if isinstance(got, str) else "not measured"
            out[b.label] = MorphometryResult(b.label, None, {}, (), (f"not measured: {why}",))
            continue
        if got.partial:
            out[b.label] = MorphometryResult(
                b.label, None, {}, (), ("not measured: the body is cut by the field of view",)
            )
            continue
        out[b.label] = _grade_body(
            got, by_order, refs, med_ra, med_rm, trend, t, labels, grid, study_note
        )
    return out


def _grade_body(
    s: BodyShape,
    by_order: dict[int, BodyShape],
    refs: set[int],
    med_ra: float | None,
    med_rm: float | None,
    trend: _Line | None,
    t: MorphometryThresholds,
    labels: np.ndarray,
    grid: Grid,
    study_note: str,
) -> MorphometryResult:
    notes: list[str] = []
    above, below = _neighbours(s, by_order, refs - {s.label}, t.reference_max_steps)
    nbs = [n for n in (above, below) if n is not None]
    if nbs:
        ra = float(np.mean([n.wedge_ratio * _wedge_prior(s, n, t) for n in nbs]))
        rm = float(np.mean([n.concavity_ratio for n in nbs]))
        if above is not None and below is not None:
            da, db = s.order - above.order, below.order - s.order
            hm_ref: float | None = (above.heights.mean * db + below.heights.mean * da) / (da + db)
        else:
            hm_ref = nbs[0].heights.mean
        notes.append("reference: " + ", ".join(_name(n) for n in nbs))
    elif med_ra is not None and med_rm is not None and trend is not None:
        ra, rm = med_ra * _prior(s, t), med_rm
        hm_ref = trend(s.order)
        notes.append(f"reference: no usable neighbour; {study_note}")
    else:
        ra, rm = FALLBACK_RATIOS
        hm_ref = None
        notes.append(
            "reference: no usable body in the study; population shape ratios used and "
            "crush (whole-body) loss not assessed"
        )
    losses = {
        DeformityType.WEDGE.value: 1.0 - s.wedge_ratio / ra,
        DeformityType.BICONCAVE.value: 1.0 - s.concavity_ratio / rm,
    }
    if hm_ref is not None and hm_ref > 0:
        losses[DeformityType.CRUSH.value] = 1.0 - s.heights.mean / hm_ref
    kind_name, loss = max(losses.items(), key=lambda kv: kv[1])
    loss = max(0.0, loss)
    h = s.heights
    notes.append(
        f"heights Ha/Hm/Hp {h.anterior:.1f}/{h.middle:.1f}/{h.posterior:.1f} mm; "
        + ", ".join(f"{k} loss {100 * v:.0f}%" for k, v in losses.items())
    )
    if s.level is VertebraLevel.S1:
        grade = GenantGrade.NORMAL
        notes.append("S1 is measured but not graded (Genant grading covers T/L bodies)")
        loss = 0.0
    else:
        grade = genant_grade(loss, t)
    deformity = DeformityType(kind_name) if grade >= GenantGrade.MILD else DeformityType.NONE
    plana = grade >= GenantGrade.MILD and loss >= t.vertebra_plana_loss
    disp = posterior_displacement(labels, grid, s.frame, s.label)
    if disp is None:
        wall = PosteriorWall.INDETERMINATE
        notes.append("posterior wall: could not be traced")
    elif grade >= GenantGrade.MILD and disp >= t.posterior_wall_tolerance_mm:
        wall = PosteriorWall.RETROPULSED
    else:
        wall = PosteriorWall.INTACT
    if disp is not None:
        notes.append(
            f"posterior wall bulges {disp:+.1f} mm behind the line of its corners "
            f"(tolerance {t.posterior_wall_tolerance_mm:.1f} mm)"
        )
    morph = Morphometry(
        anterior_mm=round(h.anterior, 2),
        middle_mm=round(h.middle, 2),
        posterior_mm=round(h.posterior, 2),
        width_mm=round(s.walls.depth, 2),
        expected_height_mm=round(hm_ref, 2) if hm_ref is not None else None,
        height_loss_pct=round(100.0 * loss, 2),
        genant_grade=grade,
        deformity=deformity,
        vertebra_plana=bool(plana),
        posterior_wall=wall,
        posterior_displacement_mm=round(disp, 2) if disp is not None else None,
    )
    return MorphometryResult(
        s.label,
        morph,
        {k: round(v, 4) for k, v in losses.items()},
        tuple(n.label for n in nbs),
        tuple(notes),
    )


def _prior(s: BodyShape, t: MorphometryThresholds) -> float:
    """Typical Ha/Hp of ``s``'s level (1 when unknown or not tabled)."""
    if s.level is None:
        return 1.0
    return t.wedge_ratio_by_level.get(s.level.value, 1.0)


def _wedge_prior(s: BodyShape, n: BodyShape, t: MorphometryThresholds) -> float:
    """Typical Ha/Hp of ``s``'s level over that of neighbour ``n``'s level (1 if unknown)."""
    table = t.wedge_ratio_by_level
    if s.level is None or n.level is None:
        return 1.0
    a, b = table.get(s.level.value), table.get(n.level.value)
    return a / b if a is not None and b is not None else 1.0


def _name(s: BodyShape) -> str:
    return s.level.value if s.level is not None else f"#{s.label}"

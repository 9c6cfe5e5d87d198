"""``measure_study``: per-level findings of a study from its label map and selected series."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import SimpleITK as sitk

from acuity.errors import InputError
from acuity.measure.decide import decide_acuity
from acuity.measure.edema import BodyEdema, BodyRole, score_bodies
from acuity.measure.grids import check_3d, labels_on
from acuity.measure.model import LevelFinding
from acuity.measure.morphometry import BodySpec, MorphometryResult, measure_morphometry
from acuity.measure.thresholds import Thresholds
from acuity.segment.level import VertebraLevel
from acuity.sim.grid import Grid

logger = logging.getLogger(__name__)


class BodyLike(Protocol):
    """Anything with a body's label, level, level confidence and partial flag
    (e.g. :class:`acuity.segment.VertebralBody`)."""

    @property
    def label(self) -> int: ...

    @property
    def level(self) -> VertebraLevel | None: ...

    @property
    def level_confidence(self) -> float: ...

    @property
    def partial(self) -> bool: ...


@dataclass(frozen=True)
class BodyInput:
    """One body of the label map as the measure stage needs it."""

    label: int
    level: VertebraLevel | None = None
    level_confidence: float = 0.0
    partial: bool = False

    def __post_init__(self) -> None:
        if int(self.label) < 1:
            raise InputError(f"BodyInput.label must be >= 1, got {self.label}")
        if self.level is not None and not isinstance(self.level, VertebraLevel):
            object.__setattr__(self, "level", VertebraLevel.parse(self.level))
        if not 0.0 <= float(self.level_confidence) <= 1.0:
            raise InputError(
                f"BodyInput.level_confidence must be within 0..1, got {self.level_confidence}"
            )

    @classmethod
    def of(
        cls, body: BodyInput | BodyLike | tuple[int, VertebraLevel | str | None, float, bool]
    ) -> BodyInput:
        """A BodyInput from a (label, level, level_confidence, partial) tuple or any body."""
        if isinstance(body, BodyInput):
            return body
        if isinstance(body, tuple):
            if len(body) != 4:
                raise InputError(
                    f"a body tuple must be (label, level, level_confidence, partial); got {body!r}"
                )
            label, level, conf, partial = body
            lv = VertebraLevel.parse(level) if level is not None else None
            return cls(int(label), lv, float(conf), bool(partial))
        return cls(int(body.label), body.level, float(body.level_confidence), bool(body.partial))


def measure_study(
    labels: sitk.Image,
    bodies: Sequence[BodyInput | BodyLike | tuple[int, VertebraLevel | str | None, float, bool]],
    edema: sitk.Image | None,
    t1: sitk.Image | None = None,
    morphology: sitk.Image | None = None,
    thresholds: Thresholds | None = None,
    no_edema_reason: str | None = None,
) -> list[LevelFinding]:
    """One :class:`LevelFinding` per body, superior to inferior.

    ``labels``: instance label map (1..N superior to inferior) on any grid. ``edema``: the
    selected STIR / fat-suppressed T2 series (None: every acuity is ``indeterminate`` with
    ``no_edema_reason``). ``t1``: T1 companion (T1 ratio, corroboration only).
    ``morphology``: the series heights are measured on; the label map is mapped onto its grid
    (nearest neighbour) when the grids differ; None measures on the label map's own grid.
    ``thresholds``: None reads ``pipelines/acuity.yaml``.
    """
    t = thresholds or Thresholds.load()
    check_3d(labels, "labels")
    items = [BodyInput.of(b) for b in bodies]
    if len({b.label for b in items}) != len(items):
        raise InputError(f"bodies repeat a label: {[b.label for b in items]}")
    items.sort(key=lambda b: b.label)
    started = time.perf_counter()
    lab_img = labels if morphology is None else labels_on(labels, morphology)
    if morphology is not None:
        check_3d(morphology, "morphology")
    lab_arr = sitk.GetArrayFromImage(lab_img).astype(np.int32)
    present = {int(v) for v in np.unique(lab_arr) if v}
    missing = [b.label for b in items if b.label not in present]
    if missing:
        logger.warning("labels %s are not in the label map (on the measurement grid)", missing)
    grid = Grid.from_image(lab_img)
    specs = [BodySpec(b.label, b.level, b.partial) for b in items]
    morph = measure_morphometry(lab_arr, grid, specs, t.morphometry)
    edema_scores: dict[int, BodyEdema] = {}
    if edema is not None:
        roles = [
            BodyRole(
                label=b.label,
                order=i,
                partial=b.partial,
                reference_candidate=_reference_candidate(b, morph.get(b.label)),
                name=b.level.value if b.level is not None else f"#{b.label}",
            )
            for i, b in enumerate(items)
        ]
        edema_scores = score_bodies(edema, labels, roles, t.edema, t1=t1)
    findings = []
    for b in items:
        mr = morph.get(b.label)
        ed = edema_scores.get(b.label) if edema is not None else None
        acuity, reasons = decide_acuity(
            partial=b.partial,
            is_s1=b.level is VertebraLevel.S1,
            morphometry=mr,
            edema=ed,
            no_edema_reason=no_edema_reason,
            thresholds=t,
        )
        findings.append(
            LevelFinding(
                label=b.label,
                level=b.level,
                level_confidence=b.level_confidence,
                partial=b.partial,
                morphometry=mr.morphometry if mr is not None else None,
                edema=ed.score if ed is not None else None,
                acuity=acuity,
                reasons=reasons,
            )
        )
    logger.info("measured %d bodies in %.1f s", len(findings), time.perf_counter() - started)
    return findings


def _reference_candidate(b: BodyInput, m: MorphometryResult | None) -> bool:
    if b.partial or b.level is VertebraLevel.S1 or m is None or m.morphometry is None:
        return False
    return not m.fractured

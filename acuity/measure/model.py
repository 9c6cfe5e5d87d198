"""Per-level findings: what the measure stage hands to the clinical and report stages.

Distances in millimetres; the level and its confidence come from segmentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from acuity.measure.enum import Acuity, DeformityType, EdemaPattern, GenantGrade, PosteriorWall
from acuity.segment.level import VertebraLevel


@dataclass(frozen=True)
class Morphometry:
    """Heights of one body on its mid-sagittal plane(s) and what they mean."""

    anterior_mm: float
    middle_mm: float
    posterior_mm: float
    width_mm: float
    #: Height expected from neighbouring non-fractured bodies (None when none can be used).
    expected_height_mm: float | None
    #: Largest height loss (%) against the expected height and the body's own posterior height.
    height_loss_pct: float
    genant_grade: GenantGrade
    deformity: DeformityType
    #: Near-complete collapse: a relative contraindication (seed 000).
    vertebra_plana: bool
    posterior_wall: PosteriorWall
    #: How far the posterior cortex bulges into the canal beyond the line of its neighbours.
    posterior_displacement_mm: float | None = None


@dataclass(frozen=True)
class EdemaScore:
    """Marrow-edema measurements of one body on the edema (STIR / T2 fat-sat) series."""

    #: Robust median signal of the body over the reference (normal marrow) signal.
    ratio: float
    #: Fraction of the body volume scored edematous.
    fraction: float
    pattern: EdemaPattern
    #: T1 signal of the same region over the T1 reference (< 1: hypointense), if a T1 exists.
    t1_ratio: float | None = None
    #: Median ratio of the brighter endplate slab (superior or inferior third of the core).
    endplate_ratio: float | None = None


@dataclass(frozen=True)
class LevelFinding:
    """Everything the imaging says about one vertebral body."""

    #: Instance id in the label map / SEG (1..N superior to inferior).
    label: int
    level: VertebraLevel | None
    level_confidence: float
    #: Body only partly in the field of view.
    partial: bool
    morphometry: Morphometry | None
    edema: EdemaScore | None
    acuity: Acuity
    #: Human-readable evidence for the acuity (the numbers and thresholds that decided it).
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def fractured(self) -> bool:
        m = self.morphometry
        return m is not None and m.genant_grade >= GenantGrade.MILD

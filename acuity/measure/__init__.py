"""Per-level measurement: morphometry (heights, Genant grade, deformity, posterior wall),
marrow-edema scoring and the acuity decision.

``measure_study`` is the stage's entry point; ``edema_mask`` scores edema voxels in any ROI of
any STIR image (research API). Thresholds live in ``pipelines/acuity.yaml``
(:class:`Thresholds`); the methods and their sources are in ``docs/methods.md``.
"""

from acuity.measure.edema import EdemaMap, edema_mask, score_bodies
from acuity.measure.enum import Acuity, DeformityType, EdemaPattern, GenantGrade, PosteriorWall
from acuity.measure.model import EdemaScore, LevelFinding, Morphometry
from acuity.measure.morphometry import BodySpec, genant_grade, measure_morphometry
from acuity.measure.study import BodyInput, measure_study
from acuity.measure.thresholds import EdemaThresholds, MorphometryThresholds, Thresholds

__all__ = [
    "Acuity",
    "BodyInput",
    "BodySpec",
    "DeformityType",
    "EdemaMap",
    "EdemaPattern",
    "EdemaScore",
    "EdemaThresholds",
    "GenantGrade",
    "LevelFinding",
    "Morphometry",
    "MorphometryThresholds",
    "PosteriorWall",
    "Thresholds",
    "edema_mask",
    "genant_grade",
    "measure_morphometry",
    "measure_study",
    "score_bodies",
]

"""Builders of per-level findings and baseline clinical vignettes for the clinical tests."""

from __future__ import annotations

from typing import Any

from acuity.clinical import ClinicalInput
from acuity.measure.enum import Acuity, DeformityType, EdemaPattern, GenantGrade, PosteriorWall
from acuity.measure.model import EdemaScore, LevelFinding, Morphometry
from acuity.segment.level import VertebraLevel

#: Seed files the shipped profiles cite.
SEED_000 = "000_d1066848b1c5acf4.txt"
SEED_002 = "002_084ee590ec32c0a5.txt"
SEED_004 = "004_6c0fe156070860a5.txt"

_GRADE_BY_ACUITY = {
    "acute": 2,
    "chronic": 2,
    "edema_without_fracture": 0,
    "none": 0,
    "indeterminate": 1,
}


def finding(
    level: str | None = "L1",
    acuity: str = "acute",
    *,
    label: int | None = None,
    grade: int | None = None,
    wall: str = "intact",
    plana: bool = False,
    morphometry: bool = True,
    edema: bool = True,
    partial: bool = False,
) -> LevelFinding:
    """A finding like the measure stage makes; the label follows the level (T12 -> 13, L1 -> 14)."""
    lv = None if level is None else VertebraLevel.parse(level)
    if label is None:
        label = 1 if lv is None else list(VertebraLevel).index(lv) - 5
    g = GenantGrade(_GRADE_BY_ACUITY[acuity] if grade is None else grade)
    m = (
        Morphometry(
            anterior_mm=16.0 if g else 25.0,
            middle_mm=19.5,
            posterior_mm=25.5,
            width_mm=41.25,
            expected_height_mm=26.0,
            height_loss_pct=[5.0, 22.0, 33.0, 60.0][g],
            genant_grade=g,
            deformity=DeformityType.WEDGE if g else DeformityType.NONE,
            vertebra_plana=plana,
            posterior_wall=PosteriorWall(wall),
            posterior_displacement_mm=0.5,
        )
        if morphometry
        else None
    )
    edematous = acuity in ("acute", "edema_without_fracture")
    e = (
        EdemaScore(
            ratio=2.4 if edematous else 1.0,
            fraction=0.6 if edematous else 0.0,
            pattern=EdemaPattern.BAND if edematous else EdemaPattern.NONE,
            t1_ratio=0.55,
        )
        if edema
        else None
    )
    return LevelFinding(
        label=label,
        level=lv,
        level_confidence=0.97,
        partial=partial,
        morphometry=m,
        edema=e,
        acuity=Acuity(acuity),
        reasons=(f"test finding: {acuity}",),
    )


#: Clinical data meeting every criterion of each shipped profile for an acute L1 fracture.
BASELINES: dict[str, dict[str, Any]] = {
    "conservative-3mo": {
        "conservative_therapy_weeks": 14,
        "pain_duration_weeks": 16,
        "pain_score_nrs": 6,
        "mobility_impaired": True,
        "pain_localized_levels": ["L1"],
        "neurologic_deficit": False,
        "active_infection": False,
        "uncorrectable_coagulopathy": False,
        "anticoagulation_cannot_stop": False,
        "pmma_allergy": False,
    },
    "sir-6wk": {
        "fracture_etiology": "osteoporotic",
        "conservative_therapy_weeks": 6.0,
        "mobility_impaired": False,
        "analgesic_side_effects": False,
        "active_infection": False,
        "uncorrectable_coagulopathy": False,
        "fit_for_sedation": True,
        "pmma_allergy": False,
        "neurologic_deficit": False,
        "radiculopathy_exceeds_local_pain": False,
        "anticoagulation_cannot_stop": False,
    },
    "acute-3wk-thoracolumbar": {
        "fracture_etiology": "osteoporotic",
        "pain_score_nrs": 7,
        "opioid_refractory": True,
        "pain_duration_weeks": 3.0,
        "uncorrectable_coagulopathy": False,
        "active_infection": False,
        "neurologic_deficit": False,
        "anticoagulation_cannot_stop": False,
    },
}


def clinical(profile: str, **changes: Any) -> ClinicalInput:
    """The baseline of ``profile`` with ``changes`` (a value of None removes the field)."""
    data = dict(BASELINES[profile])
    for k, v in changes.items():
        if v is None:
            data.pop(k, None)
        else:
            data[k] = v
    return ClinicalInput.from_dict(data, source=f"vignette {profile}")

"""Table-driven vignettes: each shipped profile, each rule's boundary, each contraindication,
missing and undetermined data, the imaging gate.

A vignette is the profile's baseline patient (tests/clinical/clinical_cases.py: every
criterion met for an acute L1 fracture) with a few changes, one level, and the verdict expected
with the rule ids that decide it (the reasons whose effect is the verdict) and the clinical
fields listed as missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from clinical_cases import clinical, finding

from acuity.clinical import Verdict, evaluate, load_profile

C, N, R = Verdict.CANDIDATE, Verdict.NOT_CANDIDATE, Verdict.NEEDS_REVIEW


@dataclass(frozen=True)
class Vignette:
    id: str
    verdict: Verdict
    #: Rule ids deciding the verdict (empty for a candidate).
    deciding: tuple[str, ...] = ()
    #: Changes to the baseline clinical data (None removes a field).
    changes: dict[str, Any] = field(default_factory=dict)
    #: Arguments of clinical_cases.finding for the level.
    level: dict[str, Any] = field(default_factory=dict)
    missing: tuple[str, ...] = ()


CONSERVATIVE_3MO = [
    Vignette("baseline", C),
    # failed conservative care >= 12 weeks (3 months)
    Vignette("conservative 12.0 wk", C, changes={"conservative_therapy_weeks": 12.0}),
    Vignette(
        "conservative 11.9 wk",
        N,
        ("c3m.failed_conservative_care",),
        changes={"conservative_therapy_weeks": 11.9},
    ),
    # or earlier: pain <= 6 weeks, severe (NRS >= 4) and debilitating (mobility impaired)
    Vignette(
        "early: pain 6.0 wk NRS 4",
        C,
        changes={"conservative_therapy_weeks": 2, "pain_duration_weeks": 6.0, "pain_score_nrs": 4},
    ),
    Vignette(
        "early: pain 6.1 wk",
        N,
        ("c3m.failed_conservative_care",),
        changes={"conservative_therapy_weeks": 2, "pain_duration_weeks": 6.1, "pain_score_nrs": 4},
    ),
    Vignette(
        "early: NRS 3",
        N,
        ("c3m.failed_conservative_care",),
        changes={"conservative_therapy_weeks": 2, "pain_duration_weeks": 4, "pain_score_nrs": 3},
    ),
    Vignette(
        "early: mobility not impaired",
        N,
        ("c3m.failed_conservative_care",),
        changes={
            "conservative_therapy_weeks": 2,
            "pain_duration_weeks": 4,
            "pain_score_nrs": 9,
            "mobility_impaired": False,
        },
    ),
    Vignette(
        "early branch decides: therapy weeks not needed",
        C,
        changes={"conservative_therapy_weeks": None, "pain_duration_weeks": 5, "pain_score_nrs": 8},
    ),
    Vignette(
        "12 wk branch decides: early fields not needed",
        C,
        changes={"pain_duration_weeks": None, "pain_score_nrs": None, "mobility_impaired": None},
    ),
    Vignette(
        "missing pain duration with 8 wk therapy",
        R,
        ("c3m.failed_conservative_care",),
        changes={"conservative_therapy_weeks": 8, "pain_duration_weeks": None},
        missing=("pain_duration_weeks",),
    ),
    # pain localized to the level
    Vignette(
        "pain at another level", N, ("c3m.pain_localized",), {"pain_localized_levels": ["L2"]}
    ),
    Vignette("pain localized nowhere", N, ("c3m.pain_localized",), {"pain_localized_levels": []}),
    Vignette(
        "pain localization missing",
        R,
        ("c3m.pain_localized",),
        {"pain_localized_levels": None},
        missing=("pain_localized_levels",),
    ),
    # absolute contraindications
    Vignette("infection", N, ("c3m.spinal_infection",), {"active_infection": True}),
    Vignette("neurologic deficit", N, ("c3m.neurologic_deficit",), {"neurologic_deficit": True}),
    Vignette(
        "posterior wall retropulsed", N, ("c3m.posterior_wall",), level={"wall": "retropulsed"}
    ),
    Vignette(
        "posterior wall indeterminate", R, ("c3m.posterior_wall",), level={"wall": "indeterminate"}
    ),
    Vignette(
        "infection unknown",
        R,
        ("c3m.spinal_infection",),
        {"active_infection": None},
        missing=("active_infection",),
    ),
    # relative contraindications
    Vignette("coagulopathy", R, ("c3m.coagulopathy",), {"uncorrectable_coagulopathy": True}),
    Vignette("anticoagulation", R, ("c3m.coagulopathy",), {"anticoagulation_cannot_stop": True}),
    Vignette(
        "coagulopathy with anticoagulation unknown",
        R,
        ("c3m.coagulopathy",),
        {"uncorrectable_coagulopathy": True, "anticoagulation_cannot_stop": None},
    ),
    Vignette(
        "anticoagulation unknown",
        R,
        ("c3m.coagulopathy",),
        {"anticoagulation_cannot_stop": None},
        missing=("anticoagulation_cannot_stop",),
    ),
    Vignette("cement allergy", R, ("c3m.cement_allergy",), {"pmma_allergy": True}),
    Vignette("complete collapse", R, ("c3m.complete_collapse",), level={"plana": True, "grade": 3}),
    Vignette(
        "absolute outweighs relative",
        N,
        ("c3m.spinal_infection",),
        {"active_infection": True, "pmma_allergy": True},
        level={"plana": True},
    ),
    # imaging
    Vignette("chronic level", N, ("imaging.chronic",), level={"acuity": "chronic"}),
    Vignette("no fracture", N, ("imaging.no_fracture",), level={"acuity": "none"}),
    Vignette(
        "acuity indeterminate",
        R,
        ("imaging.indeterminate", "c3m.mri_edema"),
        level={"acuity": "indeterminate"},
    ),
    Vignette(
        "edema without fracture",
        R,
        ("imaging.edema_without_fracture",),
        level={"acuity": "edema_without_fracture"},
    ),
    Vignette(
        "level not identified",
        R,
        ("c3m.pain_localized",),
        level={"level": None, "label": 9},
    ),
    Vignette(
        "no morphometry",
        R,
        ("c3m.posterior_wall", "c3m.complete_collapse"),
        level={"morphometry": False},
    ),
]

SIR_6WK = [
    Vignette("baseline", C),
    Vignette(
        "therapy 5.9 wk",
        N,
        ("sir.failed_medical_therapy",),
        {"conservative_therapy_weeks": 5.9},
    ),
    Vignette(
        "5.9 wk with analgesic side effects",
        C,
        changes={"conservative_therapy_weeks": 5.9, "analgesic_side_effects": True},
    ),
    Vignette(
        "5.9 wk with pain preventing ambulation",
        C,
        changes={"conservative_therapy_weeks": 5.9, "mobility_impaired": True},
    ),
    Vignette(
        "side effects decide: therapy weeks not needed",
        C,
        changes={"conservative_therapy_weeks": None, "analgesic_side_effects": True},
    ),
    Vignette(
        "therapy weeks missing",
        R,
        ("sir.failed_medical_therapy",),
        {"conservative_therapy_weeks": None},
        missing=("conservative_therapy_weeks",),
    ),
    Vignette("malignant fracture", C, changes={"fracture_etiology": "malignant"}),
    Vignette("traumatic fracture", N, ("sir.etiology",), {"fracture_etiology": "traumatic"}),
    Vignette("etiology given as unknown", R, ("sir.etiology",), {"fracture_etiology": "unknown"}),
    Vignette(
        "etiology missing",
        R,
        ("sir.etiology",),
        {"fracture_etiology": None},
        missing=("fracture_etiology",),
    ),
    Vignette("infection", N, ("sir.infection",), {"active_infection": True}),
    Vignette(
        "bleeding diathesis", N, ("sir.bleeding_diathesis",), {"uncorrectable_coagulopathy": True}
    ),
    Vignette("unfit for sedation", N, ("sir.unfit_for_sedation",), {"fit_for_sedation": False}),
    Vignette(
        "sedation fitness missing",
        R,
        ("sir.unfit_for_sedation",),
        {"fit_for_sedation": None},
        missing=("fit_for_sedation",),
    ),
    Vignette("PMMA allergy", N, ("sir.pmma_allergy",), {"pmma_allergy": True}),
    Vignette("canal narrowed", R, ("sir.canal_stenosis",), level={"wall": "retropulsed"}),
    Vignette("myelopathy", R, ("sir.myelopathy",), {"neurologic_deficit": True}),
    Vignette(
        "radiculopathy", R, ("sir.radiculopathy",), {"radiculopathy_exceeds_local_pain": True}
    ),
    Vignette("anticoagulation", R, ("sir.anticoagulation",), {"anticoagulation_cannot_stop": True}),
    Vignette("chronic level", N, ("imaging.chronic",), level={"acuity": "chronic"}),
    Vignette(
        "acuity indeterminate",
        R,
        ("imaging.indeterminate", "sir.unhealed_fracture"),
        level={"acuity": "indeterminate"},
    ),
    Vignette("pain localization not needed", C, changes={"pain_localized_levels": None}),
]

ACUTE_3WK = [
    Vignette("baseline L1", C),
    Vignette("T10", N, ("a3w.level_t11_l2",), level={"level": "T10"}),
    Vignette("T11", C, level={"level": "T11"}),
    Vignette("T12", C, level={"level": "T12"}),
    Vignette("L2", C, level={"level": "L2"}),
    Vignette("L3", N, ("a3w.level_t11_l2",), level={"level": "L3"}),
    Vignette("level not identified", R, ("a3w.level_t11_l2",), level={"level": None}),
    Vignette("NRS 6", N, ("a3w.severe_pain",), {"pain_score_nrs": 6}),
    Vignette("NRS 10", C, changes={"pain_score_nrs": 10}),
    Vignette(
        "NRS missing",
        R,
        ("a3w.severe_pain",),
        {"pain_score_nrs": None},
        missing=("pain_score_nrs",),
    ),
    Vignette("pain 2.9 wk", C, changes={"pain_duration_weeks": 2.9}),
    Vignette("pain 3.0 wk", C, changes={"pain_duration_weeks": 3.0}),
    Vignette("pain 3.1 wk", N, ("a3w.pain_3wk",), {"pain_duration_weeks": 3.1}),
    Vignette(
        "opiates control the pain", N, ("a3w.opiate_refractory",), {"opioid_refractory": False}
    ),
    Vignette("traumatic", N, ("a3w.osteoporotic",), {"fracture_etiology": "traumatic"}),
    Vignette("malignant", N, ("a3w.osteoporotic",), {"fracture_etiology": "malignant"}),
    Vignette("coagulopathy", N, ("a3w.coagulopathy",), {"uncorrectable_coagulopathy": True}),
    Vignette("infection", N, ("a3w.infection",), {"active_infection": True}),
    Vignette(
        "canal compromise with deficit",
        N,
        ("a3w.canal_compromise_deficit",),
        {"neurologic_deficit": True},
        level={"wall": "retropulsed"},
    ),
    Vignette("canal compromise alone", R, ("a3w.canal_compromise",), level={"wall": "retropulsed"}),
    Vignette("deficit alone", R, ("a3w.neurologic_deficit",), {"neurologic_deficit": True}),
    Vignette(
        "canal compromise, deficit unknown",
        R,
        ("a3w.canal_compromise_deficit", "a3w.canal_compromise", "a3w.neurologic_deficit"),
        {"neurologic_deficit": None},
        level={"wall": "retropulsed"},
        missing=("neurologic_deficit",),
    ),
    Vignette(
        "wall intact: deficit still needed",
        R,
        ("a3w.neurologic_deficit",),
        {"neurologic_deficit": None},
        missing=("neurologic_deficit",),
    ),
    Vignette("wall indeterminate", R, ("a3w.canal_compromise",), level={"wall": "indeterminate"}),
    Vignette("anticoagulation", R, ("a3w.anticoagulation",), {"anticoagulation_cannot_stop": True}),
    Vignette("chronic healed", N, ("imaging.chronic",), level={"acuity": "chronic"}),
    Vignette(
        "acuity indeterminate",
        R,
        ("imaging.indeterminate", "a3w.acute_imaging"),
        level={"acuity": "indeterminate"},
    ),
    Vignette(
        "edema without fracture",
        R,
        ("imaging.edema_without_fracture",),
        level={"acuity": "edema_without_fracture"},
    ),
]

TABLES = {
    "conservative-3mo": CONSERVATIVE_3MO,
    "sir-6wk": SIR_6WK,
    "acute-3wk-thoracolumbar": ACUTE_3WK,
}
CASES = [
    pytest.param(profile, v, id=f"{profile}: {v.id}")
    for profile, table in TABLES.items()
    for v in table
]


@pytest.mark.parametrize(("profile", "v"), CASES)
def test_vignette(profile: str, v: Vignette) -> None:
    level = {"level": "L1", **v.level}
    data = clinical(profile, **v.changes)
    result = evaluate([finding(**level)], data, load_profile(profile))
    (c,) = result.levels
    deciding = tuple(r.rule_id for r in c.deciding())
    assert (c.verdict, deciding) == (v.verdict, v.deciding), [str(r) for r in c.reasons]
    assert result.missing_fields == v.missing
    for r in c.reasons:
        assert r.source and r.message
        # a rule id names its profile (or the built-in gate)
        assert r.rule_id.split(".")[0] in {"c3m", "sir", "a3w", "imaging", "clinical"}


def test_every_rule_is_exercised_by_a_vignette() -> None:
    """Each indication/contraindication of each profile decides at least one vignette."""
    for name, table in TABLES.items():
        decided = {rid for v in table for rid in v.deciding}
        for rule in load_profile(name).rules:
            if rule.kind.value != "flag":
                assert rule.id in decided, f"{name}: no vignette where {rule.id} decides"

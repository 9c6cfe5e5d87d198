"""The engine: multi-level studies, patient-level results, imaging-only verdicts, three-valued
conditions, JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clinical_cases import clinical, finding

from acuity.clinical import (
    DISCLAIMER,
    ClinicalInput,
    Profile,
    RuleResult,
    StudyKeys,
    Verdict,
    candidacy_section,
    check_candidacy_inputs,
    evaluate,
)
from acuity.clinical.conditions import parse_condition
from acuity.clinical.facts import Facts, Known, Unknown
from acuity.errors import ConfigError, InputError
from acuity.segment.level import VertebraLevel

C, N, R = Verdict.CANDIDATE, Verdict.NOT_CANDIDATE, Verdict.NEEDS_REVIEW


def verdicts(result: object) -> dict[str, Verdict]:
    return {c.name: c.verdict for c in result.levels}  # type: ignore[attr-defined]


def test_multi_level_conservative() -> None:
    findings = [
        finding("T11", "none"),
        finding("T12", "acute"),
        finding("L1", "acute"),
        finding("L2", "none"),
        finding("L3", "chronic"),
    ]
    data = clinical("conservative-3mo", pain_localized_levels=["L1"])
    result = evaluate(findings, data, "conservative-3mo")
    assert verdicts(result) == {"T11": N, "T12": N, "L1": C, "L2": N, "L3": N}
    assert [c.name for c in result.levels] == ["T11", "T12", "L1", "L2", "L3"]
    assert result.level("T12").deciding()[0].rule_id == "c3m.pain_localized"
    assert result.level("L3").deciding()[0].rule_id == "imaging.chronic"
    # 3 fractured levels (T12, L1, L3): suspicion of malignancy, verdicts unchanged
    assert result.malignancy_suspicion
    assert [r.rule_id for r in result.flags] == ["c3m.multiple_fractures"]
    assert "fractured_levels=3" in result.flags[0].message
    assert result.absolute_contraindications == ()
    assert result.missing_fields == ()
    assert "1 candidate, 0 needs_review, 4 not_candidate" in result.note


def test_multi_level_thoracolumbar_window() -> None:
    findings = [finding("T10", "acute"), finding("L1", "acute"), finding("L4", "acute")]
    result = evaluate(findings, clinical("acute-3wk-thoracolumbar"), "acute-3wk-thoracolumbar")
    assert verdicts(result) == {"T10": N, "L1": C, "L4": N}
    assert result.malignancy_suspicion


def test_pain_at_two_levels_makes_both_candidates() -> None:
    findings = [finding("T12", "acute"), finding("L1", "acute")]
    data = clinical("conservative-3mo", pain_localized_levels=["T12", "L1"])
    assert verdicts(evaluate(findings, data)) == {"T12": C, "L1": C}


def test_single_fracture_raises_no_flag_but_known_malignancy_does() -> None:
    findings = [finding("L1", "acute"), finding("L2", "none")]
    result = evaluate(findings, clinical("conservative-3mo"))
    assert not result.malignancy_suspicion and result.flags == ()
    result = evaluate(findings, clinical("conservative-3mo", known_malignancy=True))
    assert result.malignancy_suspicion
    assert [r.rule_id for r in result.flags] == ["c3m.known_malignancy"]
    assert result.level("L1").verdict is C


def test_patient_level_absolute_contraindications() -> None:
    findings = [finding("L1", "acute", wall="retropulsed"), finding("L2", "acute")]
    data = clinical("conservative-3mo", active_infection=True, pain_localized_levels=["L1", "L2"])
    result = evaluate(findings, data)
    assert [r.rule_id for r in result.absolute_contraindications] == ["c3m.spinal_infection"]
    assert verdicts(result) == {"L1": N, "L2": N}
    l1 = {r.rule_id for r in result.level("L1").deciding()}
    assert l1 == {"c3m.spinal_infection", "c3m.posterior_wall"}


def test_absolute_contraindication_listed_even_without_assessable_levels() -> None:
    result = evaluate([finding("L3", "chronic")], clinical("sir-6wk", pmma_allergy=True), "sir-6wk")
    assert [r.rule_id for r in result.absolute_contraindications] == ["sir.pmma_allergy"]
    assert result.missing_fields == ()


def test_imaging_only_without_clinical_data() -> None:
    findings = [finding("L1", "acute"), finding("L3", "chronic"), finding("L4", "indeterminate")]
    result = evaluate(findings, None)
    assert not result.clinical_given
    assert verdicts(result) == {"L1": R, "L3": N, "L4": R}
    l1 = result.level("L1")
    assert l1.reasons[0].rule_id == "clinical.absent"
    assert "imaging-only" in l1.reasons[0].message
    assert "candidacy needs the clinical data" in result.note
    assert "pain_localized_levels" in result.missing_fields
    assert result.absolute_contraindications == () and result.malignancy_suspicion


def test_imaging_only_never_candidate_even_for_an_imaging_only_profile() -> None:
    profile = Profile.from_mapping(
        {
            "version": 1,
            "name": "imaging-only",
            "title": "edema only",
            "description": "test",
            "rules": [
                {
                    "id": "x.edema",
                    "kind": "indication",
                    "summary": "edema",
                    "source": {"file": "local.txt", "quote": "edema"},
                    "when": {"field": "acuity", "op": "eq", "value": "acute"},
                }
            ],
        }
    )
    assert evaluate([finding()], None, profile).levels[0].verdict is R
    assert evaluate([finding()], ClinicalInput(), profile).levels[0].verdict is C


def test_no_levels() -> None:
    result = evaluate([], clinical("conservative-3mo"))
    assert result.levels == () and "No vertebral level was measured" in result.note


def test_output_is_json_and_carries_the_disclaimer() -> None:
    result = evaluate([finding("L1"), finding("L2", "chronic")], clinical("conservative-3mo"))
    d = json.loads(json.dumps(result.to_dict()))
    assert d["disclaimer"] == DISCLAIMER and "not a treatment order" in DISCLAIMER
    assert d["levels"][0]["verdict"] == "candidate"
    reason = d["levels"][0]["reasons"][0]
    assert set(reason) == {
        "rule_id", "kind", "result", "effect", "message", "source", "quote", "missing"
    }  # fmt: skip
    assert reason["source"] == "000_d1066848b1c5acf4.txt" and reason["quote"]


def test_candidacy_section_with_files(tmp_path: Path) -> None:
    csv = tmp_path / "batch.csv"
    csv.write_text("StudyInstanceUID,pain_score_nrs\n1.2.3,8\n")
    section = candidacy_section(
        [finding("L1")], csv, "sir-6wk", keys=StudyKeys(study_instance_uid="1.2.3")
    )
    assert section["profile"] == "sir-6wk"
    assert section["clinical_input"]["fields"] == {"pain_score_nrs": 8}
    assert section["clinical_input"]["source"] == "batch.csv line 2"
    assert section["levels"][0]["verdict"] == "needs_review"
    other = candidacy_section([finding("L1")], csv, None, keys=StudyKeys(study_instance_uid="9"))
    assert not other["clinical_given"] and "No row of batch.csv matches" in other["note"]
    assert other["profile"] == "conservative-3mo"


# --- three-valued conditions ---------------------------------------------------------------


def _cond(raw: object) -> object:
    def error(path: str, message: str) -> ConfigError:
        return ConfigError(f"{path}: {message}")

    return parse_condition(raw, "when", error)


FACTS = Facts(
    {
        "pain_score_nrs": Known(7.0),
        "active_infection": Known(False),
        "pmma_allergy": Unknown("not given", ("pmma_allergy",)),
        "posterior_wall": Unknown("indeterminate on imaging"),
        "level": Known(VertebraLevel.T12),
    }
)
T = {"field": "pain_score_nrs", "op": "ge", "value": 7}
F = {"field": "active_infection", "op": "eq", "value": True}
U = {"field": "pmma_allergy", "op": "eq", "value": True}
W = {"field": "posterior_wall", "op": "eq", "value": "retropulsed"}


@pytest.mark.parametrize(
    ("raw", "value", "missing"),
    [
        (T, True, ()),
        (F, False, ()),
        (U, None, ("pmma_allergy",)),
        (W, None, ()),
        ({"all": [T, U]}, None, ("pmma_allergy",)),
        ({"all": [F, U]}, False, ()),
        ({"any": [T, U]}, True, ()),
        ({"any": [F, U, W]}, None, ("pmma_allergy",)),
        ({"not": U}, None, ("pmma_allergy",)),
        ({"not": F}, True, ()),
        ({"field": "level", "op": "between", "value": ["T11", "L2"]}, True, ()),
        ({"field": "level", "op": "lt", "value": "T12"}, False, ()),
        ({"field": "level", "op": "in", "value": ["T12", "L1"]}, True, ()),
        ({"field": "pain_score_nrs", "op": "not_in", "value": [7, 8]}, False, ()),
        ({"field": "pain_score_nrs", "op": "between", "value": [0, 6.99]}, False, ()),
    ],
)
def test_kleene_logic(raw: object, value: bool | None, missing: tuple[str, ...]) -> None:
    out = _cond(raw).evaluate(FACTS)  # type: ignore[attr-defined]
    assert (out.value, out.missing) == (value, missing)


def test_unknown_rule_reports_what_is_undetermined() -> None:
    result = evaluate([finding(wall="indeterminate")], clinical("conservative-3mo"))
    reason = next(r for r in result.levels[0].reasons if r.rule_id == "c3m.posterior_wall")
    assert reason.result is RuleResult.UNKNOWN and reason.effect is R
    assert "cannot be excluded" in reason.message
    assert "posterior_wall indeterminate on imaging" in reason.message
    assert result.missing_fields == ()


def test_check_candidacy_inputs_fails_early(tmp_path: Path) -> None:
    good = tmp_path / "c.json"
    good.write_text('{"pain_score_nrs": 5}')
    assert check_candidacy_inputs(good, "sir-6wk").name == "sir-6wk"
    assert check_candidacy_inputs(None, None).name == "conservative-3mo"
    bad_csv = tmp_path / "batch.csv"
    bad_csv.write_text("StudyInstanceUID,pain_score_nrs\n1,5\n2,eleven\n")
    with pytest.raises(InputError, match="line 3: pain_score_nrs"):
        check_candidacy_inputs(bad_csv)
    with pytest.raises(ConfigError, match="no profile named"):
        check_candidacy_inputs(good, "conservative-3months")
    profile = check_candidacy_inputs(good, "acute-3wk-thoracolumbar")
    section = candidacy_section([finding("L1")], good, profile)
    assert section["profile"] == "acute-3wk-thoracolumbar"


def test_the_example_of_the_docs_meets_its_profile() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "clinical.md"
    block = docs.read_text(encoding="utf-8").split("```json\n", 1)[1].split("```", 1)[0]
    data = ClinicalInput.from_dict(json.loads(block), source="docs/clinical.md")
    result = evaluate([finding("L1")], data, "acute-3wk-thoracolumbar")
    assert result.levels[0].verdict is C and result.missing_fields == ()


def test_missing_fields_only_where_a_verdict_depends_on_them() -> None:
    data = clinical("conservative-3mo", pain_localized_levels=["L1"], active_infection=None)
    result = evaluate([finding("L1"), finding("L2")], data)
    assert verdicts(result) == {"L1": R, "L2": N}
    assert result.missing_fields == ("active_infection",)
    data = clinical("conservative-3mo", pain_localized_levels=["L3"], active_infection=None)
    result = evaluate([finding("L1"), finding("L2")], data)
    assert verdicts(result) == {"L1": N, "L2": N} and result.missing_fields == ()
    infection = next(r for r in result.level("L1").reasons if r.rule_id == "c3m.spinal_infection")
    assert "active_infection not given" in infection.message


def test_indeterminate_level_is_needs_review_even_with_an_absolute_contraindication() -> None:
    findings = [finding("L1", "indeterminate"), finding("L2", "acute")]
    data = clinical("conservative-3mo", active_infection=True, pain_localized_levels=["L1", "L2"])
    result = evaluate(findings, data, "conservative-3mo")
    assert verdicts(result) == {"L1": R, "L2": N}
    l1_rules = {r.rule_id for r in result.level("L1").reasons}
    assert "imaging.indeterminate" in l1_rules
    infection = [r.rule_id for r in result.absolute_contraindications]
    assert infection and all(rule in l1_rules for rule in infection)

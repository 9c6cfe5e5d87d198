"""report.json: built from LevelFindings, valid against the shipped JSON Schema, and every
problem of a bad report named."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sample_analysis import LEVELS, make_analysis, truth_findings

from acuity.clinical import ClinicalInput, Verdict, candidacy_section
from acuity.errors import InputError
from acuity.measure.enum import Acuity, DeformityType, EdemaPattern, PosteriorWall
from acuity.report import SCHEMA_VERSION, load_schema, report_problems, validate_report
from acuity.report.document import ALL_CRITERIA_MET, MapInfo, ModelInfo, with_candidacy
from acuity.report.files import read_report, write_analysis
from acuity.report.levels import LEVEL_KEYS, levels_from_report
from acuity.segment.level import VertebraLevel
from acuity.select.enum import Role


def _report(analysis_dir: Path) -> dict[str, Any]:
    return read_report(analysis_dir / "report.json")


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema_version"]["pattern"].startswith("^" + SCHEMA_VERSION[0])


def test_schema_enums_are_the_python_enums() -> None:
    level = load_schema()["$defs"]["level"]["properties"]
    assert level["acuity"]["enum"] == [m.value for m in Acuity]
    assert level["deformity"]["enum"] == [None, *(m.value for m in DeformityType)]
    assert level["posterior_wall"]["enum"] == [None, *(m.value for m in PosteriorWall)]
    assert level["edema_pattern"]["enum"] == [None, *(m.value for m in EdemaPattern)]
    assert level["candidacy"]["enum"] == [None, *(m.value for m in Verdict)]
    assert level["level"]["enum"] == [None, *(m.value for m in VertebraLevel)]
    required = load_schema()["$defs"]["level"]["required"]
    assert set(LEVEL_KEYS) <= set(required)
    assert {"candidacy", "candidacy_reasons", "reasons"} <= set(required)


def test_report_built_from_findings(analysis_dir: Path, sample_dir: Path) -> None:
    report = _report(analysis_dir)
    assert report_problems(report) == []
    assert report["schema_version"] == SCHEMA_VERSION
    assert (
        report["software"]["name"] == "acuity" and report["software"]["model"]["sha256"] == "0" * 64
    )
    truth = json.loads((sample_dir / "TRUTH.json").read_text())
    assert report["study_instance_uid"] == truth["study"]["study_instance_uid"]
    assert [lv["level"] for lv in report["levels"]] == LEVELS
    assert [lv["label"] for lv in report["levels"]] == list(range(1, 11))
    by_level = {lv["level"]: lv for lv in report["levels"]}
    l1, l3 = by_level["L1"], by_level["L3"]
    assert (l1["acuity"], l1["genant_grade"], l1["height_loss_pct"]) == ("acute", 2, 32.0)
    assert (l3["acuity"], l3["genant_grade"], l3["edema_ratio"]) == ("chronic", 2, 1.02)
    assert l1["edema_ratio"] == 1.9 and l1["edema_pattern"] == "band"
    assert by_level["T9"]["partial"] is True and by_level["T9"]["heights"] is None
    # Series used with their roles and the selection evidence.
    stir_uid = next(
        s["series_instance_uid"] for s in truth["series"] if s["role"] == "sagittal_stir"
    )
    assert report["selection"]["edema"] == stir_uid
    chosen = next(s for s in report["selection"]["stacks"] if s["stack_id"] == stir_uid)
    assert chosen["role"] == "edema" and chosen["reasons"]
    assert chosen["classification"]["decisions"], "selection evidence is kept"
    assert report["volumes"]["edema"]["size"] == [224, 288, 15]
    assert report["label_map"] == {
        "file": "labels.nii.gz",
        "role": "edema",
        "stack_id": stir_uid,
        "series_instance_uid": stir_uid,
    }
    # Candidacy: profile used, per-level verdict and reasons, patient-level flags.
    assert report["profile"]["name"] == report["candidacy"]["profile"]
    assert l1["candidacy"] in {"needs_review", "candidate", "not_candidate"}
    assert l1["reasons"] == l1["acuity_reasons"] + l1["candidacy_reasons"]
    flags = report["patient_flags"]
    assert flags["fractured_levels"] == ["L1", "L3"] and flags["acute_levels"] == ["L1"]
    assert flags["clinical_given"] is False
    assert report["processing_seconds"] == 1.5 and report["warnings"] == ["synthetic sample study"]
    # The levels read back into the same findings.
    assert levels_from_report(report) == truth_findings(sample_dir)


def test_level_verdicts_follow_the_candidacy_section(analysis_dir: Path, sample_dir: Path) -> None:
    report = _report(analysis_dir)
    findings = truth_findings(sample_dir)
    clinical = ClinicalInput(
        pain_duration_weeks=4,
        pain_score_nrs=8,
        conservative_therapy_weeks=14,
        mobility_impaired=True,
        opioid_refractory=True,
        pain_localized_levels=("L1",),
        neurologic_deficit=False,
        active_infection=False,
        uncorrectable_coagulopathy=False,
        anticoagulation_cannot_stop=False,
        pmma_allergy=False,
        fit_for_sedation=True,
        known_malignancy=False,
        fracture_etiology="osteoporotic",  # type: ignore[arg-type]
    )
    section = candidacy_section(findings, clinical, None)
    updated = with_candidacy(report, section)
    validate_report(updated)
    verdicts = {c["label"]: c["verdict"] for c in section["levels"]}
    assert all(lv["candidacy"] == verdicts[lv["label"]] for lv in updated["levels"])
    assert updated["patient_flags"]["clinical_given"] is True
    for lv in updated["levels"]:
        if lv["candidacy"] == "candidate":
            assert lv["candidacy_reasons"] in ([ALL_CRITERIA_MET], lv["candidacy_reasons"])
    # A section whose verdicts disagree with the levels is an error the validator names.
    stale = copy.deepcopy(updated)
    stale["levels"][4]["candidacy"] = "candidate" if verdicts[5] != "candidate" else "needs_review"
    with pytest.raises(InputError, match=r"levels\[4\]\.candidacy"):
        validate_report(stale)
    # Without candidacy: null verdicts, flags not evaluated.
    bare = with_candidacy(report, None)
    validate_report(bare)
    assert bare["profile"] is None and bare["patient_flags"]["malignancy_suspicion"] is None
    assert all(lv["candidacy"] is None and lv["candidacy_reasons"] == [] for lv in bare["levels"])


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r.pop("study_instance_uid"), "'study_instance_uid' is a required property"),
        (lambda r: r.update(schema_version="2.0.0"), "schema_version"),
        (
            lambda r: r["levels"][0].update(acuity="healed"),
            "levels[0].acuity: 'healed' is not one of",
        ),
        (
            lambda r: r["levels"][4].update(genant_grade=4),
            "levels[4].genant_grade: 4 is not one of",
        ),
        (
            lambda r: r["levels"][4].update(edema_fraction=1.5),
            "levels[4].edema_fraction: 1.5 is greater",
        ),
        (lambda r: r["levels"][4].pop("reasons"), "levels[4]: 'reasons' is a required property"),
        (lambda r: r["levels"].reverse(), "levels: labels must be 1..10 from the top"),
        (lambda r: r["levels"][5].update(level="T12"), "levels[5].level: T12 is not below L1"),
        (lambda r: r["label_map"].update(file="../x.nii.gz"), "label_map.file"),
        (
            lambda r: r["software"].update(model={"name": "m", "sha256": "abc"}),
            "software.model.sha256",
        ),
        (lambda r: r.update(patient={"name": "X", "mrn": "1"}), "patient: Additional properties"),
    ],
)
def test_bad_reports_are_named(analysis_dir: Path, change: Any, expected: str) -> None:
    report = _report(analysis_dir)
    change(report)
    with pytest.raises(InputError) as exc:
        validate_report(report, "OUT/report.json")
    message = str(exc.value)
    assert message.startswith("OUT/report.json is not a valid acuity report")
    assert expected in message, message


def test_write_analysis_checks_maps_and_validates(analysis_dir: Path, tmp_path: Path) -> None:
    import SimpleITK as sitk

    report = _report(analysis_dir)
    labels = sitk.ReadImage(str(analysis_dir / "labels.nii.gz"))
    with pytest.raises(InputError, match="label_map is set but the image was not given"):
        write_analysis(tmp_path / "a", report)
    bad = copy.deepcopy(report)
    bad["levels"][0]["label"] = 3
    with pytest.raises(InputError, match="labels must be 1..10"):
        write_analysis(tmp_path / "b", bad, labels=labels)
    assert not (tmp_path / "b").exists(), "nothing is written for an invalid report"
    float_labels = sitk.Cast(labels, sitk.sitkFloat32)
    no_ratio = {**report, "edema_map": None}
    with pytest.raises(InputError, match="not an integer type"):
        write_analysis(tmp_path / "c", no_ratio, labels=float_labels)
    written = write_analysis(tmp_path / "d", no_ratio, labels=labels)
    assert set(written) == {"labels", "report"}
    assert read_report(written["report"]) == no_ratio


def test_map_and_model_info_validate() -> None:
    with pytest.raises(ValueError, match="plain file name"):
        MapInfo(
            file="sub/labels.nii.gz", role=Role.EDEMA, stack_id="1.2", series_instance_uid="1.2"
        )
    with pytest.raises(ValueError, match="'unused'"):
        MapInfo(file="labels.nii.gz", role="unused", stack_id="1.2", series_instance_uid="1.2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="64 lower-case hex"):
        ModelInfo(name="m", sha256="ABC")
    assert MapInfo(file="l.nii", role="t1", stack_id="1", series_instance_uid="1").role is Role.T1  # type: ignore[arg-type]


def test_patient_identity_only_when_asked(sample_dir: Path, tmp_path: Path) -> None:
    from pydicom import dcmread

    from acuity.report.document import patient_section

    header = dcmread(next((sample_dir / "SE04").iterdir()), stop_before_pixels=True)
    report = make_analysis(
        sample_dir, tmp_path, patient=patient_section(header), with_ratio_map=False
    )
    assert report["patient"]["name"] == "ACUITY^SAMPLE"
    assert report["edema_map"] is None
    validate_report(read_report(tmp_path / "report.json"))


def test_build_report_extra_keys_and_no_candidacy(sample_dir: Path) -> None:
    from acuity.ingest import scan_folder
    from acuity.report import build_report
    from acuity.select import select_series

    scan = scan_folder(sample_dir)
    study = scan.studies[0]
    selection = select_series(study)
    findings = truth_findings(sample_dir)
    report = build_report(
        study, scan, selection, findings, extra={"timing_seconds": {"segment": 1.0}}
    )
    assert report["timing_seconds"] == {"segment": 1.0}
    assert report["candidacy"] is None and report["label_map"] is None
    assert report["software"]["model"] is None and report["processing_seconds"] is None
    assert report["input"]["root"] == str(sample_dir.resolve())
    assert report["created"].endswith("Z")
    with pytest.raises(InputError, match=r"extra keys \['levels'\]"):
        build_report(study, scan, selection, findings, extra={"levels": []})
    # Findings out of order are refused with the rule that breaks.
    with pytest.raises(InputError, match="labels must be 1..10"):
        build_report(study, scan, selection, findings[::-1])

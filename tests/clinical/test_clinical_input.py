"""Clinical input: validation on construction, JSON files, CSV rows and batch lookup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from acuity.clinical import ClinicalInput, ClinicalTable, Etiology, StudyKeys, load_clinical
from acuity.clinical.input import FIELD_NAMES, declared_fields
from acuity.errors import InputError
from acuity.segment.level import VertebraLevel


def test_field_table_matches_the_dataclass() -> None:
    assert declared_fields() == FIELD_NAMES
    assert len(FIELD_NAMES) == 16


def test_valid_input_is_normalized() -> None:
    c = ClinicalInput.from_dict(
        {
            "pain_duration_weeks": 3,
            "pain_score_nrs": 7.0,
            "pain_localized_levels": ["l1", "T12", "L1"],
            "fracture_etiology": "Osteoporotic",
            "opioid_refractory": True,
            "known_malignancy": None,
        }
    )
    assert c.pain_duration_weeks == 3.0 and isinstance(c.pain_duration_weeks, float)
    assert c.pain_score_nrs == 7 and isinstance(c.pain_score_nrs, int)
    assert c.pain_localized_levels == (VertebraLevel.L1, VertebraLevel.T12)
    assert c.fracture_etiology is Etiology.OSTEOPOROTIC
    assert c.known_malignancy is None
    assert "known_malignancy" in c.missing() and "pain_score_nrs" not in c.missing()
    assert c.to_dict() == {
        "pain_duration_weeks": 3.0,
        "pain_score_nrs": 7,
        "opioid_refractory": True,
        "pain_localized_levels": ["L1", "T12"],
        "fracture_etiology": "osteoporotic",
    }
    assert ClinicalInput.from_dict(c.to_dict()) == ClinicalInput(
        **{**c.to_dict(), "source": c.source}
    )


def test_empty_input_is_valid_and_everything_missing() -> None:
    assert ClinicalInput().missing() == FIELD_NAMES


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"pain_score_nrs": 11}, ["pain_score_nrs", "11", "out of range", "from 0 to 10"]),
        ({"pain_score_nrs": -1}, ["pain_score_nrs", "-1", "from 0 to 10"]),
        ({"pain_score_nrs": 6.5}, ["pain_score_nrs", "6.5", "whole number"]),
        ({"pain_score_nrs": "seven"}, ["pain_score_nrs", "'seven'", "whole number"]),
        ({"pain_duration_weeks": -0.5}, ["pain_duration_weeks", "-0.5", "out of range"]),
        ({"pain_duration_weeks": 6000}, ["pain_duration_weeks", "6000", "0 to 5200"]),
        ({"pain_duration_weeks": True}, ["pain_duration_weeks", "True", "a number"]),
        ({"conservative_therapy_weeks": "12"}, ["conservative_therapy_weeks", "'12'", "a number"]),
        ({"conservative_therapy_weeks": float("nan")}, ["conservative_therapy_weeks", "nan"]),
        ({"active_infection": "no"}, ["active_infection", "'no'", "true or false"]),
        ({"fit_for_sedation": 1}, ["fit_for_sedation", "1", "true or false"]),
        ({"pain_localized_levels": "L1"}, ["pain_localized_levels", "'L1'", '["L1", "T12"]']),
        ({"pain_localized_levels": ["L9"]}, ["pain_localized_levels", "'L9'", "T12"]),
        ({"pain_localized_levels": [1]}, ["pain_localized_levels", "1", "not a vertebral level"]),
        (
            {"fracture_etiology": "osteoporosis"},
            ["fracture_etiology", "'osteoporosis'", "osteoporotic, malignant", "did you mean"],
        ),
        ({"fracture_etiology": 3}, ["fracture_etiology", "3", "one of"]),
        (
            {"pain_scor": 5},
            [
                "unknown field 'pain_scor'",
                "did you mean 'pain_score_nrs'",
                "allowed: pain_duration_weeks",
            ],
        ),
        ({"infection": True}, ["unknown field 'infection'", "active_infection"]),
    ],
    ids=lambda v: "-".join(map(str, v)) if isinstance(v, dict) else None,
)
def test_malformed_input_is_a_clear_error(data: dict[str, Any], expected: list[str]) -> None:
    with pytest.raises(InputError) as exc:
        ClinicalInput.from_dict(data, source="patient.json")
    message = str(exc.value)
    assert message.startswith("patient.json: ")
    for part in expected:
        assert part in message, message


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InputError) as exc:
        ClinicalInput(pain_score_nrs=12, active_infection="yes")  # type: ignore[arg-type]
    assert "pain_score_nrs" in str(exc.value) and "active_infection" in str(exc.value)


def test_json_file(tmp_path: Path) -> None:
    path = tmp_path / "clinical.json"
    path.write_text(json.dumps({"pain_score_nrs": 8, "active_infection": False}))
    c = ClinicalInput.from_json_file(path)
    assert c.pain_score_nrs == 8 and c.active_infection is False and c.source == "clinical.json"
    assert load_clinical(path) == c


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"pain_score_nrs": 8,}', ["clinical.json", "not valid JSON", "line 1"]),
        ("[1, 2]", ["clinical.json", "JSON object", "list"]),
        ('{"pain_score_nrs": 8}\n{"x": 1}', ["not valid JSON", "line 2"]),
    ],
)
def test_bad_json_file(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = tmp_path / "clinical.json"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        ClinicalInput.from_json_file(path)
    for part in expected:
        assert part in str(exc.value)


def test_missing_file_and_bad_suffix(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_clinical(tmp_path / "nope.json")
    other = tmp_path / "clinical.txt"
    other.write_text("{}")
    with pytest.raises(InputError, match=r"\.json .*\.csv"):
        load_clinical(other)


def test_csv_row_typed_parsing() -> None:
    c = ClinicalInput.from_csv_row(
        {
            "pain_duration_weeks": " 2.5 ",
            "pain_score_nrs": "8",
            "opioid_refractory": "Yes",
            "active_infection": "0",
            "pmma_allergy": "FALSE",
            "fit_for_sedation": "1",
            "mobility_impaired": "true",
            "neurologic_deficit": "no",
            "pain_localized_levels": "T12; L1,L2 ",
            "fracture_etiology": "osteoporotic",
            "known_malignancy": "",
        }
    )
    assert c.pain_duration_weeks == 2.5 and c.pain_score_nrs == 8
    assert (c.opioid_refractory, c.active_infection, c.pmma_allergy) == (True, False, False)
    assert (c.fit_for_sedation, c.mobility_impaired, c.neurologic_deficit) == (True, True, False)
    assert c.pain_localized_levels == (VertebraLevel.T12, VertebraLevel.L1, VertebraLevel.L2)
    assert c.known_malignancy is None


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"active_infection": "maybe"}, ["active_infection", "'maybe'", "yes/no/true/false/1/0"]),
        ({"pain_score_nrs": "7/10"}, ["pain_score_nrs", "'7/10'", "empty if unknown"]),
        ({"pain_score_nrs": "7.5"}, ["pain_score_nrs", "7.5", "whole number"]),
        ({"pain_localized_levels": "L1 X2"}, ["pain_localized_levels", "'X2'"]),
        ({"pain_scale": "3"}, ["unknown column 'pain_scale'"]),
    ],
)
def test_csv_row_errors(row: dict[str, str], expected: list[str]) -> None:
    with pytest.raises(InputError) as exc:
        ClinicalInput.from_csv_row(row, source="batch.csv line 3")
    message = str(exc.value)
    assert message.startswith("batch.csv line 3: ")
    for part in expected:
        assert part in message, message


BATCH = """StudyInstanceUID,AccessionNumber,PatientID,pain_score_nrs,active_infection,pain_localized_levels
1.2.3.1,,,8,no,L1
,ACC2,,5,yes,
,,PAT3,9,,T12;L1
1.2.3.4,ACC4,PAT4,3,no,L2
1.2.3.5,,PAT4,4,no,L3
"""


def test_csv_batch_lookup_by_each_key(tmp_path: Path) -> None:
    path = tmp_path / "batch.csv"
    path.write_text(BATCH)
    table = ClinicalTable.from_csv_file(path)
    assert [r.line for r in table.rows] == [2, 3, 4, 5, 6]
    by_uid = table.lookup(StudyKeys(study_instance_uid="1.2.3.1", accession_number="X"))
    assert by_uid is not None and by_uid.clinical.pain_score_nrs == 8
    by_acc = table.lookup(StudyKeys(study_instance_uid="9.9", accession_number="ACC2"))
    assert by_acc is not None and by_acc.clinical.active_infection is True
    by_pid = table.lookup(StudyKeys(study_instance_uid="9.9", patient_id="PAT3"))
    assert by_pid is not None and by_pid.clinical.pain_localized_levels == (
        VertebraLevel.T12,
        VertebraLevel.L1,
    )
    # Two studies of patient PAT4: the StudyInstanceUID decides; contradicting keys never match.
    row = table.lookup(StudyKeys(study_instance_uid="1.2.3.5", patient_id="PAT4"))
    assert row is not None and row.line == 6
    assert table.lookup(StudyKeys(study_instance_uid="7.7.7")) is None
    with pytest.raises(InputError, match="lines 5, 6 all match"):
        table.lookup(StudyKeys(patient_id="PAT4"))
    with pytest.raises(InputError, match="no StudyInstanceUID"):
        table.lookup(StudyKeys())
    assert load_clinical(path, StudyKeys(accession_number="ACC4")) == table.rows[3].clinical
    assert load_clinical(path, StudyKeys(accession_number="NOPE")) is None


def test_csv_semicolon_bom_and_loose_key_names(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "\ufeffstudy_instance_uid;Pain_Score_NRS;pain_localized_levels\n1.2.9;6;L1, L2\n".encode()
    )
    row = ClinicalTable.from_csv_file(path).lookup(StudyKeys(study_instance_uid="1.2.9"))
    assert row is not None and row.clinical.pain_score_nrs == 6
    assert row.clinical.pain_localized_levels == (VertebraLevel.L1, VertebraLevel.L2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["empty CSV"]),
        ("pain_score_nrs\n5\n", ["no key column", "StudyInstanceUID"]),
        (
            "StudyInstanceUID,pain_scor\n1,5\n",
            ["header", "unknown column 'pain_scor'", "pain_score_nrs"],
        ),
        ("StudyInstanceUID,pain_score_nrs,pain_score_nrs\n1,5,5\n", ["more than once"]),
        ("StudyInstanceUID,pain_score_nrs\n1,5\n1,6\n", ["lines 2 and 3", "same StudyInstanceUID"]),
        ("StudyInstanceUID,AccessionNumber\n1,A\n2,A\n", ["same AccessionNumber"]),
        ("StudyInstanceUID,pain_score_nrs\n,5\n", ["line 2", "no StudyInstanceUID"]),
        ("StudyInstanceUID,pain_score_nrs\n1,5,7\n", ["line 2", "3 cells", "header has 2"]),
        (
            "StudyInstanceUID,pain_score_nrs,active_infection\n1,11,no\n2,5,perhaps\n",
            ["line 2: pain_score_nrs", "out of range", "line 3: active_infection", "'perhaps'"],
        ),
    ],
)
def test_csv_file_errors(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = tmp_path / "batch.csv"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        ClinicalTable.from_csv_file(path)
    message = str(exc.value)
    assert "batch.csv" in message
    for part in expected:
        assert part in message, message


def test_csv_errors_do_not_repeat_identifiers(tmp_path: Path) -> None:
    path = tmp_path / "batch.csv"
    path.write_text("PatientID,AccessionNumber,pain_score_nrs\nSECRET-PID,SECRET-ACC,12\n")
    with pytest.raises(InputError) as exc:
        ClinicalTable.from_csv_file(path)
    assert "SECRET" not in str(exc.value) and "line 2" in str(exc.value)

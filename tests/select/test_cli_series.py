"""``acuity series STUDY_DIR``: table, JSON, overrides and rules-file errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from protocols import protocol

from acuity.cli.main import main
from acuity.sim import StudySpec, write_series


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli_study")
    study = StudySpec()
    for number, pid in enumerate(
        (
            "siemens15_localizer",
            "siemens15_t1_tse",
            "siemens15_t2_tse",
            "siemens15_stir_tirm",
            "siemens15_flair",
        ),
        start=1,
    ):
        write_series(study, protocol(pid).spec(number), root / pid)
    return root


def test_table_shows_classes_evidence_and_roles(
    study_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["series", str(study_dir)]) == 0
    out = capsys.readouterr().out
    assert "edema  #4 't2_tirm_sag_p2'" in out
    assert "t1     #2 't1_tse_sag'" in out
    for word in ("stir", "flair", "localizer", "inversion_recovery", "sagittal"):
        assert word in out
    assert "ir_fat_null_ti" in out  # evidence: rule ids
    assert "inversion_time=160" in out  # ... and the tag values they looked at
    assert "chosen as edema series" in out


def test_json(study_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["series", str(study_dir), "--json", "--facts"]) == 0
    data = json.loads(capsys.readouterr().out)
    (study,) = data["studies"]
    edema = next(s for s in study["stacks"] if s["stack_id"] == study["edema"])
    assert edema["classification"]["contrast"] == "stir"
    assert edema["classification"]["facts"]["inversion_time"] == 160.0
    assert data["rules"].endswith("series_rules.yaml")


def test_override_and_unknown_override(study_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["series", str(study_dir), "--json", "--edema-series", "5"]) == 0
    data = json.loads(capsys.readouterr().out)
    edema = next(
        s for s in data["studies"][0]["stacks"] if s["stack_id"] == data["studies"][0]["edema"]
    )
    assert edema["series_number"] == 5
    assert main(["series", str(study_dir), "--edema-series", "42"]) == 1
    err = capsys.readouterr().err
    assert "edema_series='42'" in err and "available" in err and "t2_tirm_sag_p2" in err


def test_bad_rules_file_is_a_config_error(
    study_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("version: 1\ndecisions: {}\ncontrast: []\nselection: {}\n")
    assert main(["series", str(study_dir), "--rules", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "rules.yaml" in err and "decisions" in err


def test_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["series", str(tmp_path)]) == 1
    assert "no DICOM study" in capsys.readouterr().err

"""``acuity info`` on real DICOM files written to a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from acuity.cli.main import main
from acuity.sim import AXIAL_DIRECTION, SAGITTAL_DIRECTION, SeriesSpec, StudySpec, write_series

STUDY = StudySpec(
    patient_id="CLI-TEST",
    patient_name="TEST^CLI",
    study_date="20260101",
    study_time="120000",
    accession_number="A1",
    study_description="MR SPINE",
)


def _write_study(root: Path) -> None:
    rng = np.random.default_rng(0)
    sag = SeriesSpec(
        array=rng.integers(0, 1000, (6, 32, 24), dtype=np.uint16),
        origin=(-10.0, -50.0, 80.0),
        spacing=(1.0, 1.0, 4.0),
        direction=SAGITTAL_DIRECTION,
        series_number=3,
        series_description="t2_tirm_sag",
        inversion_time=160.0,
    )
    ax = SeriesSpec(
        array=rng.integers(0, 1000, (3, 24, 24), dtype=np.uint16),
        origin=(-12.0, -12.0, 0.0),
        spacing=(1.0, 1.0, 5.0),
        direction=AXIAL_DIRECTION,
        series_number=5,
        series_description="t2_tse_tra",
    )
    write_series(STUDY, sag, root / "a")
    write_series(STUDY, ax, root / "b", file_names="noext")
    (root / "notes.txt").write_text("not dicom")


def test_info_table_lists_series_planes_and_skipped_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_study(tmp_path)
    assert main(["info", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    sag = next(line for line in lines if "t2_tirm_sag" in line)
    assert "sagittal" in sag and "24x32" in sag and " 6 " in sag
    ax = next(line for line in lines if "t2_tse_tra" in line)
    assert "axial" in ax and " 3 " in ax
    assert "notes.txt" in out and "1 files skipped" in out
    assert "TEST^CLI" not in out  # no patient name on screen


def test_info_json_is_machine_readable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_study(tmp_path)
    assert main(["info", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (study,) = data["studies"]
    numbers = [s["series_number"] for s in study["series"]]
    assert numbers == [3, 5]
    sag = study["series"][0]["stacks"][0]
    assert sag["plane"] == "sagittal" and sag["size"] == [24, 32, 6]
    assert sag["spacing_mm"] == [1.0, 1.0, 4.0]
    assert [Path(s["path"]).name for s in data["skipped"]] == ["notes.txt"]

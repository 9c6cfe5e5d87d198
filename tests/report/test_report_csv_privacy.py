"""summary.csv (one row per level) and: no patient name, ID or birth date in report.json,
report.html or summary.csv unless asked for."""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pydicom
import pytest
from sample_analysis import LEVELS, make_analysis

from acuity.report.document import patient_section
from acuity.report.files import read_report
from acuity.report.render import RenderResult, render_report
from acuity.report.table import SUMMARY_COLUMNS, render_csv


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_summary_csv(rendered: tuple[Path, RenderResult]) -> None:
    out = rendered[0]
    report = read_report(out / "report.json")
    rows = _rows(out / "summary.csv")
    assert list(rows[0]) == list(SUMMARY_COLUMNS)
    assert [r["level"] for r in rows] == LEVELS
    assert [int(r["label"]) for r in rows] == list(range(1, 11))
    by = {r["level"]: r for r in rows}
    l1 = by["L1"]
    assert (l1["acuity"], l1["genant_grade"], l1["fractured"], l1["deformity"]) == (
        "acute",
        "2",
        "true",
        "wedge",
    )
    assert float(l1["height_loss_pct"]) == 32.0 and float(l1["edema_ratio"]) == 1.9
    assert float(l1["anterior_mm"]) == 16.06 and float(l1["edema_fraction"]) == 0.42
    assert l1["candidacy"] == report["levels"][4]["candidacy"]
    assert l1["profile"] == report["profile"]["name"]
    assert l1["study_instance_uid"] == report["study_instance_uid"]
    t9 = by["T9"]
    assert (t9["partial"], t9["genant_grade"], t9["fractured"], t9["edema_ratio"]) == (
        "true",
        "",
        "",
        "",
    )
    assert by["L3"]["acuity"] == "chronic" and by["L2"]["fractured"] == "false"
    # Reasons joined on one line; every row the same width.
    assert "\n" not in l1["candidacy_reasons"] and " | " in t9["candidacy_reasons"]
    assert all(len(r) == len(SUMMARY_COLUMNS) for r in rows)
    assert (out / "summary.csv").read_text(encoding="utf-8") == render_csv(report)


IDENTITY = {"PatientName": "DOE^JANE^Q", "PatientID": "MRN-7741203", "PatientBirthDate": "19430512"}


def _study_with_identity(sample_dir: Path, dest: Path) -> Path:
    """The STIR and T1 series of the sample, with a patient name, ID and birth date."""
    dest.mkdir()
    for name in ("TRUTH.json", "TRUTH_labels.nii.gz"):
        shutil.copy(sample_dir / name, dest / name)
    for folder in ("SE03", "SE04"):
        (dest / folder).mkdir()
        for f in sorted((sample_dir / folder).iterdir()):
            ds = pydicom.dcmread(f)
            for keyword, value in IDENTITY.items():
                setattr(ds, keyword, value)
            ds.save_as(dest / folder / f.name)
    return dest


def test_no_patient_identity_by_default(sample_dir: Path, tmp_path: Path) -> None:
    study = _study_with_identity(sample_dir, tmp_path / "study")
    out = tmp_path / "out"
    report = make_analysis(study, out)
    assert "patient" not in report
    result = render_report(out)
    assert result.failed == {} and "report_html" in result.written
    birth = IDENTITY["PatientBirthDate"]
    values = [
        IDENTITY["PatientName"],
        "DOE JANE",
        "DOE^JANE",
        IDENTITY["PatientID"],
        birth,
        f"{birth[:4]}-{birth[4:6]}-{birth[6:]}",
    ]
    for name in ("report.json", "report.html", "summary.csv"):
        text = (out / name).read_text(encoding="utf-8")
        text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text).upper()
        for value in values:
            assert value.upper() not in text, f"{value!r} is in {name}"
    # The DICOM outputs do carry the patient module of the source, so that PACS files them.
    sr = pydicom.dcmread(out / "sr.dcm")
    assert (str(sr.PatientName), sr.PatientBirthDate) == (IDENTITY["PatientName"], birth)


def test_identity_when_asked_and_render_without_source(sample_dir: Path, tmp_path: Path) -> None:
    header = pydicom.dcmread(next((sample_dir / "SE04").iterdir()), stop_before_pixels=True)
    out = tmp_path / "out"
    make_analysis(sample_dir, out, patient=patient_section(header))
    result = render_report(out, source_dir=tmp_path / "gone")
    assert set(result.written) == {"summary_csv", "report_html"}
    assert set(result.skipped) == {"seg", "sr", "key_image"}
    assert all("not available" in why for why in result.skipped.values())
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "ACUITY^SAMPLE" in page, "the user asked for the patient in the report"
    assert "Images are not available for this report" in page
    assert "not available (give it with --source)" in page
    assert "ACUITY^SAMPLE" not in (out / "summary.csv").read_text(encoding="utf-8")


def test_renders_without_label_map(sample_dir: Path, analysis_dir: Path, tmp_path: Path) -> None:
    """No labels.nii.gz: no SEG; the SR still holds every level (no segment references)."""
    out = tmp_path / "out"
    shutil.copytree(analysis_dir, out)
    report = read_report(out / "report.json")
    report["label_map"] = None
    (out / "labels.nii.gz").unlink()
    import json

    from acuity.io import write_atomic

    write_atomic(out / "report.json", json.dumps(report))
    result = render_report(out)
    assert "seg" in result.skipped and "no label map" in result.skipped["seg"]
    assert {"sr", "key_image", "report_html"} <= set(result.written)
    from acuity.report.dicom_sr import read_sr_levels

    groups = read_sr_levels(pydicom.dcmread(out / "sr.dcm"))
    assert [g["level"] for g in groups[:10]] == LEVELS
    assert all(g["segment_number"] is None for g in groups)
    with pytest.raises(FileNotFoundError):
        (out / "seg.dcm").read_bytes()


def test_report_without_levels(analysis_dir: Path, tmp_path: Path) -> None:
    """Nothing segmented: the page, the table and the key image still render; no SEG/SR."""
    import json

    from acuity.io import write_atomic
    from acuity.report.document import with_candidacy

    out = tmp_path / "out"
    out.mkdir()
    report = read_report(analysis_dir / "report.json")
    report.update(levels=[], label_map=None, edema_map=None)
    write_atomic(out / "report.json", json.dumps(with_candidacy(report, None)))
    result = render_report(out)
    assert result.failed == {}
    assert set(result.written) == {"summary_csv", "report_html", "key_image"}
    assert set(result.skipped) == {"seg", "sr"}
    assert (out / "summary.csv").read_text().count("\n") == 1
    page = (out / "report.html").read_text()
    assert "No vertebral level could be assessed" in page
    assert "No vertebral body was found" in page

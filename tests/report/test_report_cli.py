"""``acuity report OUT``: re-renders from report.json without re-running imaging."""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path

import pydicom
import pytest
from sample_analysis import truth_findings

from acuity.cli import report as report_cli
from acuity.clinical import ClinicalInput, candidacy_section
from acuity.errors import AcuityError, InputError
from acuity.io import write_atomic
from acuity.report.files import read_report
from acuity.report.render import RenderResult


def _cli(argv: list[str]) -> int:
    """Parse and run like ``acuity`` does (main() wires the same add_parser/run pair)."""
    parser = argparse.ArgumentParser(prog="acuity")
    sub = parser.add_subparsers(dest="command", required=True)
    report_cli.add_parser(sub)
    args = parser.parse_args(argv)
    return report_cli.run(args)


def _uids(out: Path) -> dict[str, str]:
    return {
        n: pydicom.dcmread(out / n).SOPInstanceUID for n in ("seg.dcm", "sr.dcm", "key_image.dcm")
    }


def test_report_command_re_renders_reproducibly(
    fresh: Path, rendered: tuple[Path, RenderResult], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(["report", str(fresh)]) == 0
    printed = capsys.readouterr().out
    for name in ("summary.csv", "report.html", "seg.dcm", "sr.dcm", "key_image.dcm"):
        assert f"written: {fresh / name}" in printed
    # Same analysis, same outputs: the DICOM UIDs repeat (a PACS sees one object, not two).
    assert _uids(fresh) == _uids(rendered[0])
    assert (fresh / "summary.csv").read_bytes() == (rendered[0] / "summary.csv").read_bytes()


def test_new_candidacy_is_rendered_everywhere(
    fresh: Path, sample_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As after ``acuity candidacy OUT/report.json -o OUT/report.json``: only the candidacy
    section changes; the levels, CSV, HTML and SR follow it and the SR gets new UIDs."""
    assert _cli(["report", str(fresh), "--json"]) == 0
    before = _uids(fresh)
    capsys.readouterr()
    report = read_report(fresh / "report.json")
    clinical = ClinicalInput(known_malignancy=True, active_infection=True)
    report["candidacy"] = candidacy_section(truth_findings(sample_dir), clinical, "sir-6wk")
    write_atomic(fresh / "report.json", json.dumps(report))
    assert _cli(["report", str(fresh), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["failed"] == {} and printed["skipped"] == {}
    verdicts = [c["verdict"] for c in report["candidacy"]["levels"]]
    assert verdicts != [lv["candidacy"] for lv in report["levels"]], "the verdicts changed"
    rows = list(csv.DictReader(io.StringIO((fresh / "summary.csv").read_text())))
    assert [r["candidacy"] for r in rows] == verdicts
    assert {r["profile"] for r in rows} == {"sir-6wk"}
    page = (fresh / "report.html").read_text()
    assert "Guideline profile</dt><dd>sir-6wk" in page
    assert "Absolute contraindications: none found" not in page
    from acuity.report.dicom_sr import read_sr_levels

    groups = read_sr_levels(pydicom.dcmread(fresh / "sr.dcm"))
    assert [g["candidacy"] for g in groups[:-1]] == verdicts
    assert groups[-1]["absolute_contraindication"] is True
    after = _uids(fresh)
    assert after["sr.dcm"] != before["sr.dcm"] and after["key_image.dcm"] != before["key_image.dcm"]


def test_check_and_errors(fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(["report", str(fresh), "--check"]) == 0
    assert "valid acuity report (schema 1.0.0)" in capsys.readouterr().out
    report = read_report(fresh / "report.json")
    report["levels"][0]["acuity"] = "healed"
    write_atomic(fresh / "report.json", json.dumps(report))
    with pytest.raises(InputError, match=r"levels\[0\]\.acuity: 'healed' is not one of"):
        _cli(["report", str(fresh), "--check"])
    with pytest.raises(InputError, match="levels"):
        _cli(["report", str(fresh)])
    assert not (fresh / "report.html").exists(), "nothing is rendered from an invalid report"
    with pytest.raises(AcuityError, match="does not exist; give the output folder"):
        _cli(["report", str(tmp_path / "nowhere")])
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "report.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON at line 1"):
        _cli(["report", str(tmp_path / "bad")])


def test_missing_source_is_skipped_not_failed(
    fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(["report", str(fresh), "--source", str(tmp_path / "gone")]) == 0
    printed = capsys.readouterr().out
    assert "skipped sr: the source DICOM folder" in printed
    assert (fresh / "report.html").exists() and not (fresh / "sr.dcm").exists()

"""``acuity candidacy REPORT.json --clinical FILE --profile P`` on a report written here."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from clinical_cases import BASELINES, finding

from acuity.cli import candidacy
from acuity.errors import AcuityError, ConfigError, InputError
from acuity.report.levels import level_to_dict

UID = "1.2.826.0.1.3680043.8.498.1"


def run(argv: list[str]) -> int:
    """Parse and run like ``acuity`` does (the lead wires the command into acuity.cli.main)."""
    parser = argparse.ArgumentParser(prog="acuity")
    sub = parser.add_subparsers(dest="command")
    candidacy.add_parser(sub)
    args = parser.parse_args(["candidacy", *argv])
    return candidacy.run(args)


@pytest.fixture
def report(tmp_path: Path) -> Path:
    findings = [
        finding("T12", "none"),
        finding("L1", "acute"),
        finding("L2", "acute", wall="retropulsed"),
        finding("L3", "chronic"),
        finding("L4", "none"),
    ]
    data = {
        "schema_version": "0.1.0",
        "study_instance_uid": UID,
        "levels": [level_to_dict(f) for f in findings],
        "warnings": [],
    }
    path = tmp_path / "report.json"
    path.write_text(json.dumps(data))
    return path


def write_clinical(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_table_and_output_file(
    report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clin = write_clinical(
        tmp_path / "clinical.json",
        {**BASELINES["conservative-3mo"], "pain_localized_levels": ["L1", "L2"]},
    )
    out = tmp_path / "out" / "report.json"
    assert run([str(report), "--clinical", str(clin), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "profile conservative-3mo" in text and "not a treatment order" in text
    lines = {line.split()[0]: line for line in text.splitlines() if line[:2] in {"L1", "L2", "L3"}}
    assert lines["L1"].split()[1:3] == ["acute", "candidate"]
    assert (
        lines["L2"].split()[1:3] == ["acute", "not_candidate"]
        and "c3m.posterior_wall" in lines["L2"]
    )
    assert lines["L3"].split()[1:3] == ["chronic", "not_candidate"]
    assert "2 levels without fracture or edema not shown" in text
    assert "malignancy suspicion: yes" in text and "missing clinical fields: none" in text
    written = json.loads(out.read_text())
    assert written["study_instance_uid"] == UID and len(written["levels"]) == 5
    cand = written["candidacy"]
    assert [c["verdict"] for c in cand["levels"]] == [
        "not_candidate", "candidate", "not_candidate", "not_candidate", "not_candidate"
    ]  # fmt: skip
    assert cand["clinical_input"]["file"] == str(clin)


def test_reevaluate_with_another_profile_as_json(
    report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clin = write_clinical(tmp_path / "c.json", BASELINES["acute-3wk-thoracolumbar"])
    assert (
        run(
            [str(report), "--clinical", str(clin), "--profile", "acute-3wk-thoracolumbar", "--json"]
        )
        == 0
    )
    section = json.loads(capsys.readouterr().out)
    assert section["profile"] == "acute-3wk-thoracolumbar"
    by_level = {c["level"]: c["verdict"] for c in section["levels"]}
    assert by_level == {
        "T12": "not_candidate",
        "L1": "candidate",
        "L2": "needs_review",
        "L3": "not_candidate",
        "L4": "not_candidate",
    }


def test_csv_row_found_by_the_reports_study_uid(
    report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "batch.csv"
    base = BASELINES["sir-6wk"]
    header = ["StudyInstanceUID", *base]
    cells = [UID, *("yes" if v is True else "no" if v is False else str(v) for v in base.values())]
    other = ["9.9.9", *("" for _ in base)]
    csv.write_text("\n".join(",".join(row) for row in (header, cells, other)) + "\n")
    assert run([str(report), "--clinical", str(csv), "--profile", "sir-6wk", "--json"]) == 0
    section = json.loads(capsys.readouterr().out)
    assert section["clinical_input"]["source"] == "batch.csv line 2"
    assert {c["level"]: c["verdict"] for c in section["levels"]}["L1"] == "candidate"
    # another study's row is empty: every needed field is missing
    assert run([str(report), "--clinical", str(csv), "--study-uid", "9.9.9", "--json"]) == 0
    section = json.loads(capsys.readouterr().out)
    assert {c["level"]: c["verdict"] for c in section["levels"]}["L1"] == "needs_review"
    assert "active_infection" in section["missing_fields"]


def test_without_clinical_data(report: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run([str(report), "--all-levels"]) == 0
    text = capsys.readouterr().out
    assert "candidacy needs the clinical data" in text
    assert "T12" in text and "imaging.no_fracture" in text
    l1 = next(line for line in text.splitlines() if line.startswith("L1"))
    assert "needs_review" in l1 and "clinical.absent" in l1


def test_user_profile_file(
    report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = {
        "version": 1,
        "name": "strict-nrs",
        "title": "NRS at least 9",
        "description": "a site's own rule",
        "rules": [
            {
                "id": "site.nrs9",
                "kind": "indication",
                "summary": "NRS >= 9",
                "source": {"file": "site-policy.txt", "quote": "NRS 9 or more"},
                "when": {"field": "pain_score_nrs", "op": "ge", "value": 9},
            }
        ],
    }
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "strict-nrs.yaml").write_text(yaml.safe_dump(profile))
    clin = write_clinical(tmp_path / "c.json", {"pain_score_nrs": 8})
    argv = [str(report), "--clinical", str(clin), "--profile-dir", str(folder)]
    assert run([*argv, "--profile", "strict-nrs", "--json"]) == 0
    section = json.loads(capsys.readouterr().out)
    l1 = next(c for c in section["levels"] if c["level"] == "L1")
    assert l1["verdict"] == "not_candidate" and l1["reasons"][0]["source"] == "site-policy.txt"
    assert run(["--list-profiles", "--profile-dir", str(folder)]) == 0
    listing = capsys.readouterr().out
    assert "strict-nrs  NRS at least 9" in listing and "conservative-3mo (default)" in listing


@pytest.mark.parametrize(
    ("argv", "error", "expected"),
    [
        (["{report}", "--profile", "nope"], ConfigError, "no profile named 'nope'"),
        (["{report}", "--clinical", "{tmp}/missing.json"], InputError, "does not exist"),
        (["{tmp}/missing-report.json"], InputError, "does not exist"),
        ([], InputError, "give the REPORT.json"),
        (["{report}", "--clinical", "{bad_clinical}"], InputError, "pain_score_nrs: 42 is out"),
        (["{bad_report}"], InputError, "levels[0]"),
    ],
)
def test_errors(
    report: Path, tmp_path: Path, argv: list[str], error: type[AcuityError], expected: str
) -> None:
    bad_clinical = write_clinical(tmp_path / "bad.json", {"pain_score_nrs": 42})
    bad_report = tmp_path / "bad-report.json"
    bad_report.write_text(json.dumps({"levels": [{"label": 1}]}))
    names = {
        "report": str(report),
        "tmp": str(tmp_path),
        "bad_report": str(bad_report),
        "bad_clinical": str(bad_clinical),
    }
    args = [a.format(**names) for a in argv]
    with pytest.raises(error) as exc:
        run(args)
    assert expected in str(exc.value)

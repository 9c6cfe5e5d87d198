"""The whole analysis of the bundled sample study with the committed model (no mocks):
levels named from S1 up, the acute L1 and the healed L3 of its ground truth found."""

from __future__ import annotations

import json
from pathlib import Path

from acuity.pipeline import AnalysisOptions, analyze_folder


def test_sample_study_end_to_end(sample_dir: Path, tmp_path: Path) -> None:
    truth = json.loads((sample_dir / "TRUTH.json").read_text())
    expected = {les["level"]: les["expected_acuity"] for les in truth["lesions"]}
    assert expected == {"L1": "acute", "L3": "chronic"}

    (report_path,) = analyze_folder(sample_dir, tmp_path / "out", AnalysisOptions(render=False))
    report = json.loads(report_path.read_text())
    levels = [lv["level"] for lv in report["levels"]]
    # Every body the truth names is found and named alike, S1 is the lowest body (no sacral
    # segment below it).
    named = [lv["name"] for lv in truth["levels"]]
    assert [lv for lv in levels if lv in named] == named
    assert levels[-1] == "S1"
    acuity = {lv["level"]: lv["acuity"] for lv in report["levels"]}
    assert acuity["L1"] == "acute" and acuity["L3"] == "chronic"
    others = {k: v for k, v in acuity.items() if k not in expected}
    # Untouched levels: no fracture, or indeterminate when cut by the field of view.
    assert set(others.values()) <= {"none", "indeterminate"}, others
    assert report["selection"]["edema"] is not None
    assert (report_path.parent / "labels.nii.gz").is_file()

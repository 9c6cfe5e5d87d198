"""The truth that ``scripts/validate_acuity.py`` scores against: real deformities already
present on an exam's expert masks are found and kept apart from the headline figures."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from helpers.scripts import load_script

from acuity.measure.enum import Acuity
from acuity.segment.dataset import load_case


def test_real_deformity_on_expert_masks(shared_data: Path) -> None:
    validate = load_script("validate_acuity")
    wedged = load_case(shared_data / "vertebrae" / "vb3-45")
    found = validate.real_deformities(wedged, None)
    # vb3-45's L1 (label 1) is a real wedge of about a quarter of its height; no other body.
    assert set(found) == {1}
    assert 20.0 <= found[1] < 30.0
    intact = load_case(shared_data / "vertebrae" / "vb3-29")
    assert validate.real_deformities(intact, None) == {}


def _row(
    validate, truth: str, pred: str, *, pre: bool = False, touched: bool = True, level: str = "L1"
):  # type: ignore[no-untyped-def]
    return validate.LevelRow(
        case="c",
        scenario=1,
        level=level,
        label=1,
        edema_capable=True,
        touched=touched,
        truth_acuity=truth,
        truth_grade=0,
        truth_loss_pct=0.0,
        truth_deformity="none",
        truth_edema=False,
        truth_ratio=None,
        pred_acuity=pred,
        pred_grade=0,
        pred_loss_pct=0.0,
        pred_deformity="none",
        edema_fraction=0.0,
        edema_ratio=1.0,
        preexisting=pre,
    )


def test_report_keeps_real_deformities_apart() -> None:
    validate = load_script("validate_acuity")
    acute, none, chronic = Acuity.ACUTE.value, Acuity.NONE.value, Acuity.CHRONIC.value
    ewf = Acuity.EDEMA_WITHOUT_FRACTURE.value
    rows = [
        _row(validate, acute, acute),
        _row(validate, acute, ewf),
        _row(validate, acute, chronic),
        _row(validate, ewf, acute),
        _row(validate, none, none, touched=False),
        _row(validate, none, chronic, pre=True, touched=False),
        _row(validate, none, Acuity.INDETERMINATE.value, touched=False, level="S1"),
    ]
    text = validate.report(rows)
    assert "accuracy (all levels): **0.286** (2/7)" in text
    assert "accuracy without those levels: **0.333** (2/6)" in text
    assert "accuracy without S1 (not graded; see docs/methods.md): 0.333 (2/6)" in text
    assert "accuracy without S1 and without the real deformities: 0.400 (2/5)" in text
    assert "1 `acute`, 1 sent to review" in text and "1 missed" in text
    assert "not acute (a false path to candidacy): 1/4; edema_without_fracture x1" in text
    assert "(1 of the 2 on bodies with a real deformity)" in text


def test_report_gives_morphometry_per_sequence_group_and_true_grade() -> None:
    validate = load_script("validate_acuity")
    none = Acuity.NONE.value
    rows = []
    # water: one fracture graded right (loss 30 % read 26 %), one intact read as grade 1.
    for truth_g, pred_g, t_loss, p_loss in ((2, 2, 30.0, 26.0), (0, 1, 0.0, 21.0)):
        r = _row(validate, none, none)
        r.group, r.truth_grade, r.pred_grade = "water", truth_g, pred_g
        r.truth_loss_pct, r.pred_loss_pct = t_loss, p_loss
        rows.append(r)
    # T2: both right.
    for truth_g, t_loss, p_loss in ((1, 22.0, 24.0), (0, 0.0, 5.0)):
        r = _row(validate, none, none)
        r.group, r.truth_grade, r.pred_grade = "T2", truth_g, truth_g
        r.truth_loss_pct, r.pred_loss_pct = t_loss, p_loss
        rows.append(r)
    text = validate.report(rows)
    assert "| T2 | 2 | 1.000 | 1 | +2.0 | 2.0 |" in text
    # water: truth (2, 0) vs predicted (2, 1): observed agreement 1/2, chance 1/4 -> 0.333.
    assert "| water | 2 | 0.333 | 1 | -4.0 | 4.0 |" in text
    # One group only: no table.
    assert "| sequence group |" not in validate.report(rows[:2])
    # Per true grade: intact levels read +21 and +5 pp (one at grade 1), no grade-3 level.
    assert "| 0 | 2 | +13.0 | 13.0 | 8.0 | 1/2 |" in text
    assert "| 1 | 1 | +2.0 | 2.0 | 0.0 | 1/1 |" in text
    assert "| 2 | 1 | -4.0 | 4.0 | 0.0 | 1/1 |" in text
    table = text.split("| true grade |")[1].split("\n\n")[0]
    assert len(table.splitlines()) == 2 + 3  # header, rule, grades 0-2


def test_exam_interval_resamples_exams_not_levels() -> None:
    validate = load_script("validate_acuity")
    none, chronic = Acuity.NONE.value, Acuity.CHRONIC.value
    right = [_row(validate, none, none) for _ in range(10)]
    wrong = [_row(validate, none, chronic) for _ in range(10)]
    for r in right:
        r.case = "all right"
    for r in wrong:
        r.case = "all wrong"
    # Two exams, one right, one wrong: a resample may draw either twice, so the interval spans
    # 0-1 (levels resampled one by one would give about 0.39-0.61 for 20 levels).
    lo, hi = validate.exam_interval(right + wrong, validate._accuracy)
    assert (lo, hi) == (0.0, 1.0)
    # Exams that agree: no spread.
    mixed = [_row(validate, none, none), _row(validate, none, chronic)]
    half = []
    for case in ("a", "b", "c"):
        for r in mixed:
            half.append(validate.LevelRow(**{**validate.asdict(r), "case": case}))
    assert validate.exam_interval(half, validate._accuracy) == (0.5, 0.5)
    # No rows (e.g. only T1 / T2 exams, none edema-capable): no interval, no crash.
    assert all(math.isnan(v) for v in validate.exam_interval([], validate._accuracy))


def test_report_from_saved_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    validate = load_script("validate_acuity")
    none = Acuity.NONE.value
    rows = [_row(validate, none, none), _row(validate, none, Acuity.CHRONIC.value)]
    saved = tmp_path / "rows.json"
    saved.write_text(json.dumps([validate.asdict(r) for r in rows]))
    assert validate.main(["--rows", str(saved)]) == 0
    out = capsys.readouterr().out
    assert "accuracy (all levels): **0.500** (1/2); 95 % interval with the exams resampled" in out
    saved.write_text('{"not": "rows"}')
    with pytest.raises(SystemExit) as exc:
        validate.main(["--rows", str(saved)])
    assert exc.value.code == 2
    assert "not level rows saved by --json" in capsys.readouterr().err

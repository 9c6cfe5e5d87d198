"""An analysis of the bundled sample study made from its ground truth (no imaging stages):
report.json built from LevelFindings, the truth label map and a STIR ratio map."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from acuity.clinical import ClinicalInput, candidacy_section
from acuity.ingest import find_series, load_volume, scan_folder
from acuity.measure.enum import Acuity, DeformityType, EdemaPattern, GenantGrade, PosteriorWall
from acuity.measure.model import EdemaScore, LevelFinding, Morphometry
from acuity.report.document import MapInfo, ModelInfo, build_report
from acuity.report.files import write_analysis
from acuity.select import select_series
from acuity.select.enum import Role

LEVELS = ["T9", "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1"]
FRACTURED = {"L1": Acuity.ACUTE, "L3": Acuity.CHRONIC}


def truth_findings(sample_dir: Path) -> list[LevelFinding]:
    """Per-level findings as the measure stage would make them for the sample study."""
    truth = json.loads((sample_dir / "TRUTH.json").read_text())
    lesions = {les["level"]: les for les in truth["lesions"]}
    out = []
    for lv in truth["levels"]:
        name, h = lv["name"], lv["heights_mm"]
        les = lesions.get(name)
        if lv["partial"]:
            out.append(
                LevelFinding(
                    label=lv["label"],
                    level=name,
                    level_confidence=0.9,
                    partial=True,  # type: ignore[arg-type]
                    morphometry=None,
                    edema=None,
                    acuity=Acuity.INDETERMINATE,
                    reasons=("body only partly in the field of view",),
                )
            )
            continue
        grade = GenantGrade(les["genant_grade"]) if les else GenantGrade.NORMAL
        m = Morphometry(
            anterior_mm=h["anterior"],
            middle_mm=h["middle"],
            posterior_mm=h["posterior"],
            width_mm=34.5,
            expected_height_mm=h["posterior"],
            height_loss_pct=les["height_loss_pct"] if les else 2.5,
            genant_grade=grade,
            deformity=DeformityType(les["deformity"]) if les else DeformityType.NONE,
            vertebra_plana=False,
            posterior_wall=PosteriorWall.INTACT,
            posterior_displacement_mm=0.4,
        )
        edematous = bool(les and les["edema"]["present"])
        e = EdemaScore(
            ratio=les["edema"]["ratio_stir"] if edematous else 1.02,
            fraction=0.42 if edematous else 0.0,
            pattern=EdemaPattern.BAND if edematous else EdemaPattern.NONE,
            t1_ratio=les["edema"]["ratio_t1"] if edematous else 0.99,
        )
        acuity = FRACTURED.get(name, Acuity.NONE)
        out.append(
            LevelFinding(
                label=lv["label"],
                level=name,
                level_confidence=0.95,
                partial=False,  # type: ignore[arg-type]
                morphometry=m,
                edema=e,
                acuity=acuity,
                reasons=(f"truth: {acuity.value}",),
            )
        )
    return out


def make_analysis(
    sample_dir: Path,
    out_dir: Path,
    *,
    clinical: ClinicalInput | None = None,
    patient: dict[str, Any] | None = None,
    with_ratio_map: bool = True,
) -> dict[str, Any]:
    """Write report.json + labels.nii.gz (+ edema_ratio.nii.gz) of the sample into out_dir."""
    scan = scan_folder(sample_dir)
    study = scan.studies[0]
    selection = select_series(study)
    assert selection.edema is not None and selection.t1 is not None
    _, series, stack = find_series(scan, selection.edema)
    stir = load_volume(stack, series)
    _, t1_series, t1_stack = find_series(scan, selection.t1)
    t1 = load_volume(t1_stack, t1_series)
    labels = sitk.ReadImage(str(sample_dir / "TRUTH_labels.nii.gz"))
    arr = sitk.GetArrayFromImage(stir.image)
    lab = sitk.GetArrayFromImage(labels)
    normal = float(np.median(arr[(lab > 0) & (lab != 5)]))
    ratio = sitk.GetImageFromArray((arr / normal).astype(np.float32))
    ratio.CopyInformation(stir.image)
    findings = truth_findings(sample_dir)
    on_stir = MapInfo(
        file="labels.nii.gz",
        role=Role.EDEMA,
        stack_id=stack.stack_id,
        series_instance_uid=series.series_instance_uid,
    )
    report = build_report(
        study,
        scan,
        selection,
        findings,
        candidacy=candidacy_section(findings, clinical, None),
        volumes={Role.EDEMA: stir, Role.T1: t1},
        label_map=on_stir,
        edema_map=MapInfo(
            file="edema_ratio.nii.gz",
            role=Role.EDEMA,
            stack_id=stack.stack_id,
            series_instance_uid=series.series_instance_uid,
        )
        if with_ratio_map
        else None,
        model=ModelInfo(name="test-model", sha256="0" * 64),
        processing_seconds=1.5,
        warnings=["synthetic sample study"],
        patient=patient,
    )
    write_analysis(out_dir, report, labels=labels, edema_ratio=ratio if with_ratio_map else None)
    return report

"""DICOM outputs for PACS: SEG, SR (TID 1500) and key image written, read back with
pydicom/highdicom and compared with report.json, and validated with dciodvfy."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import highdicom as hd
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from acuity.ingest import find_series, scan_folder
from acuity.report import codes
from acuity.report.dicom_sr import PATIENT_GROUP_ID, read_sr_levels
from acuity.report.files import read_report
from acuity.report.render import RenderResult

DICOM_OUTPUTS = ("seg.dcm", "sr.dcm", "key_image.dcm")


@pytest.fixture(scope="module")
def out(rendered: tuple[Path, RenderResult]) -> Path:
    return rendered[0]


@pytest.fixture(scope="module")
def report(out: Path) -> dict[str, Any]:
    return read_report(out / "report.json")


@pytest.fixture(scope="module")
def stir_uids(sample_dir: Path, report: dict[str, Any]) -> list[str]:
    """SOPInstanceUIDs of the STIR stack in slice order (the label map's z order)."""
    _, _, stack = find_series(scan_folder(sample_dir), report["selection"]["edema"])
    return [f.sop_instance_uid for f in stack.frames]


def test_every_output_written_and_no_temporary_file_left(
    rendered: tuple[Path, RenderResult],
) -> None:
    out, result = rendered
    assert set(result.written) == {"summary_csv", "report_html", "seg", "sr", "key_image"}
    assert result.skipped == {} and result.failed == {}
    assert not list(out.glob(".*")), "temporary files left behind"
    for name in DICOM_OUTPUTS:
        ds = pydicom.dcmread(out / name)
        assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian


def test_same_study_new_series(out: Path, sample_dir: Path, report: dict[str, Any]) -> None:
    source_series = {s["series_instance_uid"] for s in report["series"]}
    datasets = [pydicom.dcmread(out / n) for n in DICOM_OUTPUTS]
    assert {ds.StudyInstanceUID for ds in datasets} == {report["study_instance_uid"]}
    series = [ds.SeriesInstanceUID for ds in datasets]
    assert len(set(series)) == 3 and not set(series) & source_series
    assert [int(ds.SeriesNumber) for ds in datasets] == [6, 7, 8]  # after the study's series 1-5
    source = pydicom.dcmread(next((sample_dir / "SE04").iterdir()), stop_before_pixels=True)
    for ds in datasets:  # the PACS files the result under the source patient
        assert (ds.PatientName, ds.PatientID) == (source.PatientName, source.PatientID)


def test_seg_round_trip(
    out: Path, analysis_dir: Path, report: dict[str, Any], stir_uids: list[str]
) -> None:
    seg = hd.seg.segread(out / "seg.dcm")
    assert seg.SegmentationType == "BINARY"
    numbers = seg.get_segment_numbers()
    assert numbers == list(range(1, 11))
    for lv in report["levels"]:
        desc = seg.get_segment_description(lv["label"])
        assert desc.segment_label == f"{lv['level']} vertebral body"
        prop = desc.segmented_property_type
        assert codes.level_of_code(prop).value == lv["level"]  # type: ignore[union-attr]
        assert desc.segmented_property_category == codes.ANATOMICAL_STRUCTURE
    assert seg.get_segment_description(5).segmented_property_type.meaning == "L1 vertebra"
    assert seg.get_segment_description(10).segmented_property_type.value == "65985001"
    # Pixels: the SEG holds exactly the label map, slice by slice, on the STIR instances.
    assert [
        r.ReferencedSOPInstanceUID
        for r in seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence
    ] != []
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == report["selection"]["edema"]
    got = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=stir_uids, combine_segments=True, skip_overlap_checks=True
    )
    truth = sitk.GetArrayFromImage(sitk.ReadImage(str(analysis_dir / "labels.nii.gz")))
    assert got.shape == truth.shape
    np.testing.assert_array_equal(got, truth)


def test_sr_round_trip(out: Path, report: dict[str, Any]) -> None:
    sr = pydicom.dcmread(out / "sr.dcm")
    seg = pydicom.dcmread(out / "seg.dcm")
    assert sr.SOPClassUID == pydicom.uid.Comprehensive3DSRStorage
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    assert sr.CompletionFlag == "COMPLETE"
    schemes = {item.CodingSchemeDesignator for item in sr.CodingSchemeIdentificationSequence}
    assert codes.SCHEME in schemes
    groups = read_sr_levels(sr)
    patient = [g for g in groups if g["tracking_id"] == PATIENT_GROUP_ID]
    levels = [g for g in groups if g["tracking_id"] != PATIENT_GROUP_ID]
    assert len(levels) == len(report["levels"])
    seg_tracking = {int(s.SegmentNumber): s.TrackingUID for s in seg.SegmentSequence}
    doc = hd.sr.Comprehensive3DSR.from_dataset(sr)
    uids = {
        g.tracking_identifier: g.tracking_uid
        for g in doc.content.get_volumetric_roi_measurement_groups()
    }
    for lv, g in zip(report["levels"], levels, strict=True):
        assert g["level"] == lv["level"] and g["tracking_id"] == f"{lv['level']} vertebral body"
        assert g["segment_number"] == lv["label"]
        assert g["segment_sop_instance_uid"] == seg.SOPInstanceUID
        assert uids[g["tracking_id"]] == seg_tracking[lv["label"]], (
            "SR group and SEG segment share a UID"
        )
        assert g["acuity"] == lv["acuity"] and g["candidacy"] == lv["candidacy"]
        assert g["partial"] == lv["partial"]
        assert g["level_confidence"] == pytest.approx(lv["level_confidence"])
        if lv["heights"] is None:
            assert "genant_grade" not in g and "height_loss_pct" not in g
        else:
            assert g["genant_grade"] == lv["genant_grade"] and g["deformity"] == lv["deformity"]
            assert g["posterior_wall"] == lv["posterior_wall"]
            assert g["height_loss_pct"] == pytest.approx(lv["height_loss_pct"])
            for k in ("anterior_mm", "middle_mm", "posterior_mm", "width_mm"):
                assert g[k] == pytest.approx(lv["heights"][k])
        if lv["edema_ratio"] is None:
            assert "edema_ratio" not in g
        else:
            assert g["edema_ratio"] == pytest.approx(lv["edema_ratio"])
            assert g["edema_fraction_pct"] == pytest.approx(100 * lv["edema_fraction"])
            assert g["edema_pattern"] == lv["edema_pattern"]
            assert g["t1_ratio"] == pytest.approx(lv["t1_ratio"])
    flags = report["patient_flags"]
    assert patient == [
        {
            "tracking_id": PATIENT_GROUP_ID,
            "level": None,
            "segment_number": None,
            "segment_sop_instance_uid": None,
            "malignancy_suspicion": flags["malignancy_suspicion"],
            "absolute_contraindication": bool(flags["absolute_contraindications"]),
        }
    ]
    # Evidence: the source series used and the SEG.
    evidence = {
        s.SeriesInstanceUID
        for item in sr.CurrentRequestedProcedureEvidenceSequence
        for s in item.ReferencedSeriesSequence
    }
    assert {
        report["selection"]["edema"],
        report["selection"]["t1"],
        seg.SeriesInstanceUID,
    } <= evidence


def test_key_image(out: Path) -> None:
    sc = pydicom.dcmread(out / "key_image.dcm")
    assert sc.SOPClassUID == pydicom.uid.SecondaryCaptureImageStorage
    assert (sc.PhotometricInterpretation, sc.SamplesPerPixel, sc.BitsAllocated) == ("RGB", 3, 8)
    assert list(sc.PatientOrientation) == ["P", "F"] and sc.BurnedInAnnotation == "NO"
    rgb = sc.pixel_array
    assert rgb.shape[2] == 3 and rgb.shape[0] > 500 and rgb.shape[1] > 800  # two views side by side
    assert rgb.std() > 20, "the key image is blank"
    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    assert ((r > 200) & (g < 90) & (b < 90)).sum() > 200, "no red outline of the acute level"
    assert ((b > 200) & (r < 120)).sum() > 200, "no blue outline of the chronic level"


def _validator_errors(dciodvfy: str, path: Path) -> list[str]:
    run = subprocess.run(
        [dciodvfy, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    lines = (run.stdout + run.stderr).splitlines()
    return [ln for ln in lines if ln.startswith("Error")]


@pytest.mark.parametrize("name", DICOM_OUTPUTS)
def test_dciodvfy_finds_no_error(out: Path, dciodvfy: str, name: str) -> None:
    assert _validator_errors(dciodvfy, out / name) == []


def test_dciodvfy_reports_errors(out: Path, dciodvfy: str, tmp_path: Path) -> None:
    """The check above can fail: a SEG without its Segment Sequence is an error."""
    ds = pydicom.dcmread(out / "seg.dcm")
    del ds.SegmentSequence
    ds.save_as(tmp_path / "broken.dcm")
    assert _validator_errors(dciodvfy, tmp_path / "broken.dcm")

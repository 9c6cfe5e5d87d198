"""Bad input never crashes a scan: each case is skipped or flagged with a clear reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    BasicTextSRStorage,
    ExplicitVRLittleEndian,
    GrayscaleSoftcopyPresentationStateStorage,
)

from acuity.errors import DicomError
from acuity.ingest import ScanResult, Series, StackProblem, load_volume, scan_folder
from acuity.sim import (
    AXIAL_DIRECTION,
    SAGITTAL_DIRECTION,
    SeriesSpec,
    StudySpec,
    make_uid,
    write_series,
)

STUDY = StudySpec()


def _spec(**kwargs: object) -> SeriesSpec:
    args: dict[str, object] = {
        "array": np.arange(5 * 8 * 9, dtype=np.uint16).reshape(5, 8, 9),
        "origin": (0.0, 0.0, 0.0),
        "spacing": (1.0, 1.0, 4.0),
        "direction": SAGITTAL_DIRECTION,
    }
    args.update(kwargs)
    return SeriesSpec(**args)  # type: ignore[arg-type]


def _non_image(path: Path, sop_class: str) -> None:
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = make_uid("non-image", path.name)
    ds.StudyInstanceUID = STUDY.study_instance_uid
    ds.SeriesInstanceUID = make_uid("non-image-series", path.name)
    ds.Modality = "SR" if sop_class == BasicTextSRStorage else "PR"
    ds.PatientID = STUDY.patient_id
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.save_as(path, enforce_file_format=True)


def _reasons(scan: ScanResult) -> dict[str, str]:
    return {s.path.name: s.reason for s in scan.skipped}


def test_bad_files_are_skipped_with_reasons_and_the_study_survives(tmp_path: Path) -> None:
    good = write_series(STUDY, _spec(), tmp_path / "good")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.dcm").write_bytes(b"")
    (bad / "notes.txt").write_text("Patient notes: not DICOM at all\n" * 20)
    (bad / "garbage.dcm").write_bytes(b"\0" * 128 + b"DICM" + bytes(range(256)) * 4)
    (bad / "cut_header.dcm").write_bytes(good[0].read_bytes()[:400])
    _non_image(bad / "report.dcm", BasicTextSRStorage)
    _non_image(bad / "state.dcm", GrayscaleSoftcopyPresentationStateStorage)

    scan = scan_folder(tmp_path)
    reasons = _reasons(scan)
    assert scan.n_files == 11
    assert reasons["empty.dcm"] == "empty file (0 bytes)"
    assert reasons["notes.txt"].startswith("not a DICOM file: no 'DICM' prefix")
    assert reasons["garbage.dcm"] == (
        "no SOP Class UID (0008,0016) in the header: corrupt, or not a DICOM object"
    )
    assert reasons["cut_header.dcm"] == (
        "truncated or incomplete MR Image Storage file: it ends before Pixel Data (7FE0,0010)"
    )
    assert reasons["report.dcm"] == (
        "DICOM file without Pixel Data (7FE0,0010) (Basic Text SR Storage): not an image"
    )
    assert "(Grayscale Softcopy Presentation State Storage): not an image" in reasons["state.dcm"]
    assert len(reasons) == 6
    (study,) = scan.studies
    (series,) = study.series
    volume = load_volume(series.stacks[0], series)
    assert volume.image.GetSize() == (9, 8, 5)


def test_garbage_after_dicm_prefix_is_skipped(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    for k in range(5):
        (tmp_path / f"g{k}").write_bytes(b"\0" * 128 + b"DICM" + rng.bytes(300 + 50 * k))
    scan = scan_folder(tmp_path)
    assert scan.studies == [] and len(scan.skipped) == 5


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, "1.2.840.10008.1.2.4.80"])
def test_truncated_pixels_fail_at_load_naming_the_file(tmp_path: Path, syntax: str) -> None:
    paths = write_series(
        STUDY, _spec(array=np.ones((3, 32, 32), np.uint16) * 7, transfer_syntax=syntax), tmp_path
    )
    data = paths[1].read_bytes()
    paths[1].write_bytes(data[: len(data) - 40])
    scan = scan_folder(tmp_path)
    assert scan.skipped == []  # the header reads: indexed
    series = scan.studies[0].series[0]
    with pytest.raises(DicomError, match=f"cannot read the pixel data of {paths[1]}"):
        load_volume(series.stacks[0], series)


def _only_series(scan: ScanResult) -> Series:
    (study,) = scan.studies
    (series,) = study.series
    return series


def test_missing_position_in_every_file_makes_series_unusable(tmp_path: Path) -> None:
    write_series(STUDY, _spec(omit=("ImagePositionPatient",)), tmp_path)
    series = _only_series(scan_folder(tmp_path))
    (stack,) = series.stacks
    assert stack.frames == [] and stack.geometry is None and not stack.usable
    assert [i.kind for i in stack.issues] == [StackProblem.NO_GEOMETRY]
    (problem,) = series.problems
    assert problem.startswith(
        "5 of 5 instance(s) cannot be placed in space (ImagePositionPatient (0020,0032) "
        "missing or invalid; files: IM00001.dcm, IM00002.dcm, IM00003.dcm, ... (5 in all))"
    )
    with pytest.raises(DicomError, match=r"cannot be rebuilt into a volume: 5 of 5 instance"):
        load_volume(stack, series)


def test_missing_position_in_one_file_makes_series_unusable(tmp_path: Path) -> None:
    paths = write_series(STUDY, _spec(), tmp_path)
    ds = pydicom.dcmread(paths[2])
    del ds.ImagePositionPatient
    ds.save_as(paths[2])
    series = _only_series(scan_folder(tmp_path))
    (stack,) = series.stacks
    assert stack.n_slices == 4 and not stack.usable
    assert stack.unusable_reason is not None
    assert stack.unusable_reason.startswith("1 of 5 instance(s) cannot be placed in space")
    assert "IM00003.dcm" in stack.unusable_reason


def test_enhanced_without_orientation_names_the_frame(tmp_path: Path) -> None:
    write_series(STUDY, _spec(enhanced=True, omit=("ImageOrientationPatient",)), tmp_path)
    series = _only_series(scan_folder(tmp_path))
    assert "ImageOrientationPatient (0020,0037) missing or invalid of frame 1" in series.problems[0]
    with pytest.raises(DicomError, match="ImageOrientationPatient"):
        load_volume(series.stacks[0], series)


def test_invalid_orientation_is_reported(tmp_path: Path) -> None:
    paths = write_series(STUDY, _spec(direction=AXIAL_DIRECTION), tmp_path)
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.ImageOrientationPatient = [1, 0, 0, 1, 0, 0]
        ds.save_as(path)
    series = _only_series(scan_folder(tmp_path))
    assert "is not two orthogonal unit vectors" in series.problems[0]

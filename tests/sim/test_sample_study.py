"""The generated sample study: deterministic, readable, and consistent with its truth."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from acuity.sim.grid import Grid
from acuity.sim.lesion import BodyFrame, measure_heights
from acuity.sim.study import LABELS_FILE, TRUTH_FILE, SampleConfig, make_sample_study
from acuity.sim.truth import Truth


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_two_runs_are_byte_identical(quick_study: tuple[Path, Truth], tmp_path: Path) -> None:
    first, _ = quick_study
    make_sample_study(tmp_path / "again", SampleConfig.quick())
    a, b = _hashes(first), _hashes(tmp_path / "again")
    assert len(a) > 10
    assert a == b


def test_another_seed_gives_other_uids(quick_study: tuple[Path, Truth], tmp_path: Path) -> None:
    _, truth = quick_study
    other = make_sample_study(tmp_path / "other", SampleConfig.quick(seed=7))
    assert other.study["study_instance_uid"] != truth.study["study_instance_uid"]


def test_quick_study_reads_back(quick_study: tuple[Path, Truth]) -> None:
    root, truth = quick_study
    by_series: dict[str, list[pydicom.Dataset]] = {}
    for path in root.rglob("*"):
        if path.is_file() and path.suffix not in (".json", ".md", ".gz"):
            ds = pydicom.dcmread(path)
            by_series.setdefault(ds.SeriesDescription, []).append(ds)
    assert sorted(by_series) == ["localizer", "t1_tse_sag", "t2_tirm_sag", "t2_tse_sag",
                                 "t2_tse_tra"]
    stir = by_series["t2_tirm_sag"][0]
    assert stir.ScanningSequence == ["SE", "IR"]
    assert float(stir.InversionTime) == pytest.approx(160.0)
    assert stir.SequenceName == "*tir2d1_15"
    assert stir.Manufacturer == "SIEMENS" and stir.PatientName == "ACUITY^SAMPLE"
    orientations = {tuple(round(float(v)) for v in ds.ImageOrientationPatient)
                    for ds in by_series["localizer"]}
    assert len(orientations) == 3
    t1 = by_series["t1_tse_sag"][0]
    assert t1.file_meta.TransferSyntaxUID == pydicom.uid.JPEGLSLossless
    assert t1.pixel_array.shape == (t1.Rows, t1.Columns)
    assert {s.role for s in truth.series} == {"localizer", "sagittal_t2", "sagittal_t1",
                                              "sagittal_stir", "axial_t2"}


def test_label_map_has_the_stir_geometry(quick_study: tuple[Path, Truth]) -> None:
    root, truth = quick_study
    stir = truth.series_with_role("sagittal_stir")
    reader = sitk.ImageSeriesReader()
    files = reader.GetGDCMSeriesFileNames(str(root / stir.folder))
    reader.SetFileNames(files)
    image = reader.Execute()
    labels = sitk.ReadImage(str(root / LABELS_FILE))
    assert labels.GetSize() == image.GetSize()
    assert np.allclose(labels.GetOrigin(), image.GetOrigin(), atol=1e-3)
    assert np.allclose(labels.GetDirection(), image.GetDirection(), atol=1e-5)
    assert np.allclose(labels.GetSpacing(), image.GetSpacing(), atol=1e-4)
    values = set(np.unique(sitk.GetArrayFromImage(labels)).tolist()) - {0}
    assert values == {lv.label for lv in truth.levels}


def test_bundled_sample_scans_with_ingest(sample_dir: Path) -> None:
    if not (sample_dir / TRUTH_FILE).is_file():
        pytest.fail("sample_dicom/ is missing: run scripts/make_sample_study.py")
    truth = Truth.read(sample_dir / TRUTH_FILE)
    from acuity.ingest import scan_folder

    scan = scan_folder(sample_dir)
    assert len(scan.studies) == 1
    series = {s.description: s for s in scan.studies[0].series}
    assert set(series) == {s.description for s in truth.series}
    assert len(series["localizer"].stacks) == 3
    assert len(series["t2_tse_tra"].stacks) == 3
    sag = series["t2_tirm_sag"].stacks[0]
    assert sag.usable and sag.n_slices == 15
    assert [lv.name for lv in truth.levels][1:] == ["T10", "T11", "T12", "L1", "L2", "L3", "L4",
                                                   "L5", "S1"]
    size = sum(p.stat().st_size for p in sample_dir.rglob("*") if p.is_file())
    assert size < 10 * 1024 * 1024


def _label_grid(sample_dir: Path) -> tuple[np.ndarray, Grid]:
    img = sitk.ReadImage(str(sample_dir / LABELS_FILE))
    return sitk.GetArrayFromImage(img), Grid.from_image(img)


def test_bundled_truth_heights_match_label_map(sample_dir: Path) -> None:
    truth = Truth.read(sample_dir / TRUTH_FILE)
    labels, grid = _label_grid(sample_dir)
    assert {les.level for les in truth.lesions} == {"L1", "L3"}
    for les in truth.lesions:
        lv = truth.level(les.level)
        frame = BodyFrame(tuple(lv.centroid_lps), tuple(lv.superior_axis_lps),  # type: ignore[arg-type]
                          tuple(lv.anterior_axis_lps))  # type: ignore[arg-type]
        got = measure_heights(labels, grid, lv.label, frame)
        for key in ("anterior", "middle", "posterior"):
            assert abs(getattr(got, key) - les.heights_mm[key]) < 1.0, (les.level, key, got)
        loss = 1.0 - got.anterior / les.heights_before_mm["anterior"]
        assert abs(100 * loss - les.height_loss_pct) < 4.0


def _series_array(root: Path, folder: str) -> np.ndarray:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(root / folder)))
    return sitk.GetArrayFromImage(reader.Execute()).astype(np.float64)


def _band_ratio(image: np.ndarray, labels: np.ndarray, grid: Grid, truth: Truth,
                level: str) -> float:
    """Mean of the upper quarter of the body over its lower third (mid slices, 2 mm inside)."""
    lv = truth.level(level)
    frame = BodyFrame(tuple(lv.centroid_lps), tuple(lv.superior_axis_lps),  # type: ignore[arg-type]
                      tuple(lv.anterior_axis_lps))  # type: ignore[arg-type]
    from scipy import ndimage

    body = labels == lv.label
    inner = ndimage.binary_erosion(body, structure=np.ones((1, 5, 5)))
    kk, jj, ii = np.nonzero(inner)
    pts = grid.index_to_lps(np.stack([ii, jj, kk], axis=1).astype(float)).T
    u, _, w = frame.to_local(pts)
    mid = np.abs(w) < 10.0
    top, bot = u[mid].max(), u[mid].min()
    h = top - bot
    vals = image[kk, jj, ii][mid]
    upper = vals[u[mid] > top - 0.25 * h]
    lower = vals[u[mid] < bot + 0.33 * h]
    return float(upper.mean() / lower.mean())


def test_bundled_edema_ratios(sample_dir: Path) -> None:
    truth = Truth.read(sample_dir / TRUTH_FILE)
    labels, grid = _label_grid(sample_dir)
    acute = next(les for les in truth.lesions if les.expected_acuity == "acute")
    chronic = next(les for les in truth.lesions if les.expected_acuity == "chronic")
    assert acute.edema.present and acute.edema.ratio_stir is not None
    stir = _series_array(sample_dir, truth.series_with_role("sagittal_stir").folder)
    t1 = _series_array(sample_dir, truth.series_with_role("sagittal_t1").folder)
    r_stir = _band_ratio(stir, labels, grid, truth, acute.level)
    assert abs(r_stir - acute.edema.ratio_stir) < 0.3, r_stir
    r_t1 = _band_ratio(t1, labels, grid, truth, acute.level)
    assert acute.edema.ratio_t1 is not None
    assert abs(r_t1 - acute.edema.ratio_t1) < 0.15, r_t1
    assert abs(_band_ratio(stir, labels, grid, truth, chronic.level) - 1.0) < 0.15

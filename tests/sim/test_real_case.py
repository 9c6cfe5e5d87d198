"""A real labelled exam with simulated lesions, written as a DICOM study."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from acuity.sim.grid import Grid
from acuity.sim.lesion import BodyFrame, measure_heights
from acuity.sim.study import LABELS_FILE, TRUTH_FILE, LesionSpec, study_from_real_case
from acuity.sim.truth import Truth


def test_real_case_with_lesions(shared_data: Path, tmp_path: Path) -> None:
    case = shared_data / "vertebrae" / "vb3-01"
    if not case.is_dir():
        pytest.fail(f"{case} is missing from the shared data")
    lesions = [LesionSpec.parse("L2:wedge:2:acute"), LesionSpec.parse("L4:crush:22%:chronic")]
    truth = study_from_real_case(case, lesions, tmp_path / "out")
    assert Truth.read(tmp_path / "out" / TRUTH_FILE).lesions[0].level == "L2"
    assert [lv.name for lv in truth.levels] == ["L1", "L2", "L3", "L4", "L5"]
    series = truth.series[0]
    files = sorted((tmp_path / "out" / series.folder).iterdir())
    assert len(files) == series.n_images
    ds = pydicom.dcmread(files[0])
    assert ds.Manufacturer == "SIEMENS" and "dixon" in ds.SeriesDescription
    # The DICOM series has the NIfTI geometry, and its labels the truth's heights.
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(tmp_path / "out" / series.folder)))
    image = reader.Execute()
    src = sitk.ReadImage(str(case / "image.nii.gz"))
    assert np.allclose(image.GetDirection(), src.GetDirection(), atol=1e-5)
    assert np.allclose(image.GetOrigin(), src.GetOrigin(), atol=1e-3)
    labels_img = sitk.ReadImage(str(tmp_path / "out" / LABELS_FILE))
    labels = sitk.GetArrayFromImage(labels_img)
    grid = Grid.from_image(labels_img)
    for les in truth.lesions:
        lv = truth.level(les.level)
        frame = BodyFrame(tuple(lv.centroid_lps), tuple(lv.superior_axis_lps),  # type: ignore[arg-type]
                          tuple(lv.anterior_axis_lps))  # type: ignore[arg-type]
        got = measure_heights(labels, grid, les.label, frame)
        assert abs(got.anterior - les.heights_mm["anterior"]) < 1.0
    acute = truth.lesions[0]
    assert acute.genant_grade == 2 and abs(acute.height_loss_pct - 32.0) <= 3.0
    chronic = truth.lesions[1]
    assert abs(chronic.height_loss_pct - 22.0) <= 3.0 and not chronic.edema.present
    # Edema: water image brighter in L2's upper part than in the untouched L1.
    arr = sitk.GetArrayFromImage(image).astype(float)
    l1 = labels == truth.level("L1").label
    l2 = labels == acute.label
    assert arr[l2].mean() > 1.15 * arr[l1].mean()

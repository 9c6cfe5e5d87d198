"""Key images: display orientation, the plane through the bodies, maps on other grids."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from acuity.ingest import find_series, load_volume, scan_folder
from acuity.report.dicom_seg import build_seg, labels_on_source
from acuity.report.files import read_report
from acuity.report.images import choose_plane_x, sample_plane
from acuity.report.inputs import SourceSeries, load_inputs
from acuity.report.levels import levels_from_report
from acuity.select.enum import Role


def _lps_ramp(direction: tuple[float, ...]) -> sitk.Image:
    """A 3-D image whose value at each voxel is 1000 + its LPS y (posterior) + 10 * z."""
    img = sitk.Image(40, 50, 9, sitk.sitkFloat32)
    img.SetSpacing((1.0, 1.0, 3.0))
    img.SetDirection(direction)
    img.SetOrigin((10.0, -20.0, 30.0))
    arr = np.zeros((9, 50, 40), np.float32)
    for k in range(9):
        for j in range(50):
            for i in range(40):
                p = img.TransformIndexToPhysicalPoint((i, j, k))
                arr[k, j, i] = 1000 + p[1] + 10 * p[2]
    out = sitk.GetImageFromArray(arr)
    out.CopyInformation(img)
    return out


@pytest.mark.parametrize(
    "direction",
    [
        (0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0),  # sagittal as scanners write it
        (0.0, 0.0, 1.0, -1.0, 0.0, 0.0, 0.0, 1.0, 0.0),  # columns anterior, rows up
    ],
)
def test_views_show_anterior_left_head_up(direction: tuple[float, ...]) -> None:
    plane = sample_plane(_lps_ramp(direction))
    img = plane.image
    inside = img > 0
    rows, cols = np.nonzero(inside)
    mid_r, mid_c = int(np.median(rows)), int(np.median(cols))
    # Left to right: posterior (y grows); top to bottom: feet (z falls).
    assert img[mid_r, mid_c + 5] > img[mid_r, mid_c - 5]
    assert img[mid_r + 5, mid_c] < img[mid_r - 5, mid_c]
    assert max(img.shape) == 640


def test_plane_cuts_most_of_the_bodies(sample_dir: Path, analysis_dir: Path) -> None:
    report = read_report(analysis_dir / "report.json")
    scan = scan_folder(sample_dir)
    _, series, stack = find_series(scan, report["selection"]["edema"])
    stir = load_volume(stack, series).image
    labels = sitk.ReadImage(str(analysis_dir / "labels.nii.gz"))
    counts = (sitk.GetArrayFromImage(labels) > 0).sum(axis=(1, 2))  # per sagittal slice
    best = int(np.argmax(counts))
    assert choose_plane_x(stir, labels) == pytest.approx(
        stir.TransformIndexToPhysicalPoint((0, 0, best))[0]
    )
    plane = sample_plane(stir, labels)
    assert plane.labels is not None
    assert set(np.unique(plane.labels)) == set(range(11)), "every body is in the plane"


def test_label_map_on_another_grid(sample_dir: Path, analysis_dir: Path, tmp_path: Path) -> None:
    """A label map saved on a 1 mm grid still gives a SEG on the STIR instances."""
    out = tmp_path / "out"
    shutil.copytree(analysis_dir, out)
    truth = sitk.ReadImage(str(out / "labels.nii.gz"))
    iso = sitk.Resample(
        truth,
        [int(s * sp) for s, sp in zip(truth.GetSize(), truth.GetSpacing(), strict=True)],
        sitk.Transform(),
        sitk.sitkNearestNeighbor,
        truth.GetOrigin(),
        (1.0, 1.0, 1.0),
        truth.GetDirection(),
        0,
        sitk.sitkUInt16,
    )
    sitk.WriteImage(iso, str(out / "labels.nii.gz"))
    report = read_report(out / "report.json")
    inputs = load_inputs(out, report, sample_dir)
    source = inputs.sources[Role.EDEMA]
    assert isinstance(source, SourceSeries) and inputs.labels is not None
    seg = build_seg(inputs.labels, source, levels_from_report(report), digest="x", series_number=9)
    assert seg.numbers == {k: k for k in range(1, 11)}
    got = labels_on_source(inputs.labels, source)
    want = sitk.GetArrayFromImage(truth)
    for label in range(1, 11):
        a, b = got == label, want == label
        dice = 2 * (a & b).sum() / (a.sum() + b.sum())
        assert dice > 0.9, (label, dice)


def test_unknown_labels_are_noted_and_dropped(analysis_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(analysis_dir, out)
    labels = sitk.ReadImage(str(out / "labels.nii.gz"))
    arr = sitk.GetArrayFromImage(labels)
    arr[arr == 10] = 12  # S1 relabelled to a body report.json does not list
    bad = sitk.GetImageFromArray(arr)
    bad.CopyInformation(labels)
    sitk.WriteImage(bad, str(out / "labels.nii.gz"))
    inputs = load_inputs(out, read_report(out / "report.json"), tmp_path / "no-source")
    assert inputs.labels is not None
    assert set(np.unique(sitk.GetArrayFromImage(inputs.labels))) == set(range(10))
    assert any("labels [12]" in n for n in inputs.notes)
    assert any("labels [10] have no voxels" in n for n in inputs.notes)
    assert "source" in inputs.missing and inputs.sources == {}

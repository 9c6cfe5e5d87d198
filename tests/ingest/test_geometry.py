"""Slice ordering, spacing checks and plane: known truth written with the DICOM writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from acuity.errors import DicomError
from acuity.ingest import Plane, ScanResult, SeriesStack, StackProblem, load_volume, scan_folder
from acuity.ingest.geometry import OBLIQUE_DEGREES, plane_of
from acuity.sim import (
    AXIAL_DIRECTION,
    CORONAL_DIRECTION,
    SAGITTAL_DIRECTION,
    SeriesSpec,
    StudySpec,
    write_series,
)

STUDY = StudySpec()


def _array(n: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 4000, (n, 14, 11)).astype(np.uint16)


def _scan_one(folder: Path) -> tuple[ScanResult, SeriesStack]:
    scan = scan_folder(folder)
    (study,) = scan.studies
    (series,) = study.series
    (stack,) = series.stacks
    return scan, stack


@pytest.mark.parametrize("enhanced", [False, True], ids=["classic", "enhanced"])
@pytest.mark.parametrize(
    ("direction", "plane"),
    [
        (SAGITTAL_DIRECTION, Plane.SAGITTAL),
        (AXIAL_DIRECTION, Plane.AXIAL),
        (CORONAL_DIRECTION, Plane.CORONAL),
        (None, Plane.OBLIQUE),
    ],
    ids=["sagittal", "axial", "coronal", "oblique"],
)
def test_geometry_and_pixels_match_truth(
    tmp_path: Path,
    check_geometry: Callable[..., None],
    oblique_direction: tuple[float, ...],
    direction: tuple[float, ...] | None,
    plane: Plane,
    enhanced: bool,
) -> None:
    arr = _array()
    spec = SeriesSpec(
        arr,
        origin=(-12.25, 37.5, 101.125),
        spacing=(0.4375, 0.6, 3.3),
        direction=direction or oblique_direction,  # type: ignore[arg-type]
        rescale=(0.25, -50.0),
        enhanced=enhanced,
    )
    write_series(STUDY, spec, tmp_path, file_names="uid", shuffle_seed=11)
    scan, stack = _scan_one(tmp_path)
    assert stack.usable and stack.issues == []
    assert stack.geometry is not None and stack.geometry.plane is plane
    volume = load_volume(stack, scan.studies[0].series[0])
    check_geometry(stack, spec, volume)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(volume.image), arr * 0.25 - 50.0)


def test_slices_written_against_the_normal_come_out_along_it(tmp_path: Path) -> None:
    # Slice direction opposite to row x column: InstanceNumber 1 is the *last* slice along
    # the normal, so the rebuilt volume starts at the other end.
    d = np.array(AXIAL_DIRECTION).reshape(3, 3)
    d[:, 2] *= -1
    arr = _array()
    spec = SeriesSpec(arr, (0.0, 0.0, 50.0), (1.0, 1.0, 2.0), tuple(d.ravel()))  # type: ignore[arg-type]
    write_series(STUDY, spec, tmp_path)
    scan, stack = _scan_one(tmp_path)
    assert stack.geometry is not None
    np.testing.assert_allclose(stack.geometry.origin, (0.0, 0.0, 50.0 - 2.0 * 5), atol=1e-6)
    np.testing.assert_allclose(stack.geometry.direction, AXIAL_DIRECTION, atol=1e-6)
    assert [f.instance_number for f in stack.frames] == [6, 5, 4, 3, 2, 1]
    volume = load_volume(stack, scan.studies[0].series[0])
    np.testing.assert_array_equal(sitk.GetArrayFromImage(volume.image), arr[::-1])


def test_enhanced_per_frame_rescale_is_applied(tmp_path: Path) -> None:
    arr = _array()
    rescale = [(0.5 + k, -10.0 * k) for k in range(6)]
    spec = SeriesSpec(arr, (0, 0, 0), (1, 1, 2), SAGITTAL_DIRECTION, enhanced=True, rescale=rescale)
    write_series(STUDY, spec, tmp_path, shuffle_seed=5)
    scan, stack = _scan_one(tmp_path)
    volume = load_volume(stack, scan.studies[0].series[0])
    expected = np.stack([arr[k] * s + i for k, (s, i) in enumerate(rescale)])
    np.testing.assert_allclose(sitk.GetArrayFromImage(volume.image), expected, rtol=1e-6)


def test_missing_slice_is_flagged_with_its_place(tmp_path: Path) -> None:
    spec = SeriesSpec(_array(n=8), (5.0, 0.0, 0.0), (1.0, 1.0, 4.0), SAGITTAL_DIRECTION)
    paths = write_series(STUDY, spec, tmp_path, file_names="uid")
    paths[3].unlink()  # slice 4 of 8
    _, stack = _scan_one(tmp_path)
    (issue,) = stack.issues
    assert issue.kind is StackProblem.MISSING_SLICES
    assert issue.message.startswith("1 slice(s) missing: gap of 1 between slices 3 and 4")
    assert "4.00 mm apart" in issue.message
    assert stack.usable and stack.geometry is not None
    assert stack.geometry.spacing[2] == pytest.approx(4.0)


def test_irregular_spacing_is_flagged(tmp_path: Path) -> None:
    offsets = [0.0, 4.0, 8.0, 13.0, 17.0, 21.0]
    spec = SeriesSpec(_array(), (0, 0, 0), (1, 1, 4), AXIAL_DIRECTION, slice_offsets=offsets)
    write_series(STUDY, spec, tmp_path)
    _, stack = _scan_one(tmp_path)
    (issue,) = stack.issues
    assert issue.kind is StackProblem.IRREGULAR_SPACING
    assert "5.00 mm between slices 3 and 4" in issue.message
    assert "median step 4.00 mm" in issue.message


def test_duplicate_positions_make_the_stack_unusable(tmp_path: Path) -> None:
    spec = SeriesSpec(
        _array(n=4), (0, 0, 0), (1, 1, 3), AXIAL_DIRECTION, slice_offsets=[0, 3, 3, 6]
    )
    write_series(STUDY, spec, tmp_path)
    scan, stack = _scan_one(tmp_path)
    (issue,) = stack.issues
    assert issue.kind is StackProblem.DUPLICATE_POSITIONS
    assert "1 frame(s) share a position" in issue.message
    assert not stack.usable
    series = scan.studies[0].series[0]
    assert series.problems and "share a position" in series.problems[0]
    with pytest.raises(DicomError, match="cannot be rebuilt into a volume: 1 frame"):
        load_volume(stack, series)


def test_gantry_tilt_makes_the_stack_unusable(tmp_path: Path) -> None:
    # Positions that step along the normal *and* in-plane: a sheared (tilted) stack.
    for k in range(4):
        spec = SeriesSpec(
            _array(n=1, seed=k),
            origin=(0.0, 2.0 * k, 5.0 * k),
            spacing=(1, 1, 5),
            direction=AXIAL_DIRECTION,
            series_instance_uid="1.2.3.4",
            first_instance_number=k + 1,
        )
        write_series(STUDY, spec, tmp_path)
    _, stack = _scan_one(tmp_path)
    assert [i.kind for i in stack.issues] == [StackProblem.MISALIGNED_SLICES]
    assert "slice 4 is offset 6.00 mm in-plane" in stack.issues[0].message
    assert not stack.usable


def test_single_slice_is_usable_with_thickness_as_spacing(tmp_path: Path) -> None:
    spec = SeriesSpec(_array(n=1), (0, 0, 0), (1, 1, 6), SAGITTAL_DIRECTION)
    write_series(STUDY, spec, tmp_path)
    scan, stack = _scan_one(tmp_path)
    assert [i.kind for i in stack.issues] == [StackProblem.SINGLE_SLICE]
    volume = load_volume(stack, scan.studies[0].series[0])
    assert volume.image.GetSize() == (11, 14, 1)
    assert volume.image.GetSpacing()[2] == pytest.approx(6.0)


@pytest.mark.parametrize(
    ("normal", "plane"),
    [
        ((1, 0, 0), Plane.SAGITTAL),
        ((0, -1, 0), Plane.CORONAL),
        ((0, 0, -1), Plane.AXIAL),
        ((np.sin(np.radians(29)), 0, np.cos(np.radians(29))), Plane.AXIAL),
        ((np.sin(np.radians(31)), 0, np.cos(np.radians(31))), Plane.OBLIQUE),
        ((1, 1, 1), Plane.OBLIQUE),
    ],
)
def test_plane_from_normal(normal: tuple[float, float, float], plane: Plane) -> None:
    assert OBLIQUE_DEGREES == 30.0
    assert plane_of(normal) is plane

"""scan_folder: folder layouts, grouping into studies/series, splitting into stacks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.fileset import FileSet

from acuity.errors import InputError
from acuity.ingest import (
    Plane,
    ScanResult,
    Series,
    SeriesStack,
    find_series,
    load_volume,
    scan_folder,
)
from acuity.sim import (
    AXIAL_DIRECTION,
    CORONAL_DIRECTION,
    SAGITTAL_DIRECTION,
    SeriesSpec,
    StudySpec,
    make_uid,
    write_series,
)

STUDY = StudySpec()


def _array(n: int = 5, rows: int = 12, columns: int = 10, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2000, (n, rows, columns)).astype(np.uint16)


def _spec(**kwargs: object) -> SeriesSpec:
    args: dict[str, object] = {
        "array": _array(),
        "origin": (-30.0, 12.5, 40.0),
        "spacing": (0.8, 0.9, 3.5),
        "direction": SAGITTAL_DIRECTION,
    }
    args.update(kwargs)
    return SeriesSpec(**args)


def _only_stack(scan: ScanResult) -> tuple[Series, SeriesStack]:
    assert len(scan.studies) == 1
    assert len(scan.studies[0].series) == 1
    series = scan.studies[0].series[0]
    assert len(series.stacks) == 1
    return series, series.stacks[0]


def test_shuffled_random_names_nested_and_no_extension(
    tmp_path: Path, check_geometry: Callable[..., None]
) -> None:
    spec = _spec()
    # instance numbers and names shuffled, names are UIDs, deep folders, no extension
    write_series(STUDY, spec, tmp_path / "a" / "b" / "c", file_names="uid", shuffle_seed=7)
    spec2 = _spec(series_number=2, array=_array(seed=1), direction=AXIAL_DIRECTION)
    write_series(STUDY, spec2, tmp_path / "x", file_names="noext", shuffle_seed=8)
    calls: list[tuple[int, int]] = []
    scan = scan_folder(tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert scan.n_files == 10 and not scan.skipped
    assert calls[-1] == (10, 10) and len(calls) == 10
    (study,) = scan.studies
    assert [s.series_number for s in study.series] == [1, 2]
    for series, truth in zip(study.series, (spec, spec2), strict=True):
        (stack,) = series.stacks
        assert stack.usable and not stack.issues
        volume = load_volume(stack, series)
        check_geometry(stack, truth, volume)
        np.testing.assert_array_equal(_pixels(volume.image), truth.array.astype(np.float32))


def _pixels(image: sitk.Image) -> np.ndarray:
    return np.asarray(sitk.GetArrayFromImage(image))


def test_files_without_preamble_are_read(tmp_path: Path) -> None:
    paths = write_series(STUDY, _spec(), tmp_path)
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.preamble = None
        del ds.file_meta
        path.unlink()
        ds.save_as(path, implicit_vr=True, little_endian=True)
        assert path.read_bytes()[128:132] != b"DICM"
    scan = scan_folder(tmp_path)
    series, stack = _only_stack(scan)
    assert stack.n_slices == 5
    volume = load_volume(stack, series)
    np.testing.assert_array_equal(_pixels(volume.image), _spec().array)


def test_dicomdir_is_neither_an_image_nor_a_failure(tmp_path: Path) -> None:
    src = write_series(STUDY, _spec(), tmp_path / "src")
    fs = FileSet()
    for path in src:
        fs.add(pydicom.dcmread(path))
    fs.write(tmp_path / "media")
    assert (tmp_path / "media" / "DICOMDIR").is_file()
    scan = scan_folder(tmp_path / "media")
    assert scan.n_files == 6  # DICOMDIR + 5 images in PT*/ST*/SE*/ folders, no extension
    assert scan.skipped == []
    _, stack = _only_stack(scan)
    assert stack.n_slices == 5


def test_same_instance_twice_is_skipped_as_duplicate(tmp_path: Path) -> None:
    paths = write_series(STUDY, _spec(), tmp_path / "a")
    copy = tmp_path / "b" / "copy.dcm"
    copy.parent.mkdir()
    copy.write_bytes(paths[2].read_bytes())
    scan = scan_folder(tmp_path)
    (skipped,) = scan.skipped
    assert skipped.path == copy and "duplicate of" in skipped.reason
    assert "same SOPInstanceUID" in skipped.reason
    assert _only_stack(scan)[1].n_slices == 5


def test_two_studies_in_one_folder(tmp_path: Path) -> None:
    older = StudySpec(patient_id="P1", accession_number="A1", study_date="20230105")
    newer = StudySpec(patient_id="P1", accession_number="A2", study_date="20240210")
    write_series(newer, _spec(series_description="T1 SAG"), tmp_path, file_names="uid")
    write_series(older, _spec(series_description="STIR SAG"), tmp_path, file_names="uid")
    scan = scan_folder(tmp_path)
    assert [s.study_date for s in scan.studies] == ["20230105", "20240210"]
    assert [s.accession_number for s in scan.studies] == ["A1", "A2"]
    assert [s.study_instance_uid for s in scan.studies] == [
        older.study_instance_uid,
        newer.study_instance_uid,
    ]
    assert scan.studies[0].series[0].description == "STIR SAG"
    assert scan.studies[1].series[0].acquired == "20240210120000"


def test_three_plane_localizer_is_split_in_acquisition_order(tmp_path: Path) -> None:
    uid = str(make_uid("localizer"))
    for k, direction in enumerate((SAGITTAL_DIRECTION, CORONAL_DIRECTION, AXIAL_DIRECTION)):
        spec = _spec(
            array=_array(n=3, seed=k),
            direction=direction,
            series_instance_uid=uid,
            first_instance_number=1 + 3 * k,
            series_description="localizer",
        )
        write_series(STUDY, spec, tmp_path)
    series = _only_series(scan_folder(tmp_path))
    assert [s.stack_id for s in series.stacks] == [f"{uid}#1", f"{uid}#2", f"{uid}#3"]
    planes = [s.geometry.plane for s in series.stacks if s.geometry]
    assert planes == [Plane.SAGITTAL, Plane.CORONAL, Plane.AXIAL]
    assert all(s.usable and s.n_slices == 3 for s in series.stacks)


def _only_series(scan: ScanResult) -> Series:
    assert len(scan.studies) == 1 and len(scan.studies[0].series) == 1
    return scan.studies[0].series[0]


def test_dual_echo_series_is_split_by_echo_time(tmp_path: Path) -> None:
    uid = str(make_uid("dual-echo"))
    for k, te in enumerate((90.0, 12.0)):  # written long echo first: order is by TE
        spec = _spec(
            array=_array(seed=k),
            echo_time=te,
            series_instance_uid=uid,
            first_instance_number=1 + 5 * k,
        )
        write_series(STUDY, spec, tmp_path, file_names="uid")
    series = _only_series(scan_folder(tmp_path))
    stacks = series.stacks
    assert [s.stack_id for s in stacks] == [f"{uid}#1", f"{uid}#2"]
    assert [s.frames[0].echo_time for s in stacks] == [12.0, 90.0]
    assert all(s.usable and not s.issues for s in stacks)
    short = load_volume(stacks[0], series)
    np.testing.assert_array_equal(_pixels(short.image), _array(seed=1))


def test_dixon_series_holding_water_and_fat_images_is_split_by_image_type(tmp_path: Path) -> None:
    # Philips mDIXON writes water, fat, in- and opposed-phase images into one series, told
    # apart only by ImageType; same positions, same TE: one stack per image flavour.
    uid = str(make_uid("mdixon"))
    flavors = ("W", "F", "IP", "OP")
    for k, flavor in enumerate(flavors):
        spec = _spec(
            array=_array(seed=10 + k),
            series_instance_uid=uid,
            first_instance_number=1 + 5 * k,
            header={"ImageType": ["ORIGINAL", "PRIMARY", "M_FFE", "M", flavor]},
        )
        write_series(STUDY, spec, tmp_path, file_names="uid")
    series = _only_series(scan_folder(tmp_path))
    assert len(series.stacks) == 4
    assert all(s.usable and not s.issues for s in series.stacks)
    got = {s.frames[0].image_type[-1]: s for s in series.stacks}
    assert set(got) == set(flavors)
    fat = load_volume(got["F"], series)
    np.testing.assert_array_equal(_pixels(fat.image), _array(seed=11))


def test_series_mixing_matrix_size_and_inversion_time_is_split(tmp_path: Path) -> None:
    uid = str(make_uid("mixed"))
    write_series(STUDY, _spec(series_instance_uid=uid), tmp_path, file_names="uid")
    bigger = _spec(array=_array(columns=16), series_instance_uid=uid, first_instance_number=6)
    write_series(STUDY, bigger, tmp_path, file_names="uid")
    stir = _spec(series_instance_uid=uid, inversion_time=150.0, first_instance_number=11)
    write_series(STUDY, stir, tmp_path, file_names="uid")
    series = _only_series(scan_folder(tmp_path))
    stacks = series.stacks
    assert len(stacks) == 3
    # order: echo time, inversion time (none first), then smallest InstanceNumber
    got = [(s.geometry.size, s.frames[0].inversion_time) for s in stacks if s.geometry]
    assert got == [((10, 12, 5), None), ((16, 12, 5), None), ((10, 12, 5), 150.0)]


def test_enhanced_dual_echo_in_one_file_is_split(tmp_path: Path) -> None:
    n = 4
    arr = _array(n=2 * n)
    spec = _spec(
        array=arr,
        enhanced=True,
        slice_offsets=[3.5 * (k // 2) for k in range(2 * n)],
        per_frame_functional_groups=[
            {"MREchoSequence": {"EffectiveEchoTime": 10.0 if k % 2 == 0 else 80.0}}
            for k in range(2 * n)
        ],
    )
    write_series(STUDY, spec, tmp_path, shuffle_seed=4)
    series = _only_series(scan_folder(tmp_path))
    assert series.enhanced
    first, second = series.stacks
    assert first.frames[0].echo_time == 10.0 and second.frames[0].echo_time == 80.0
    assert first.n_slices == second.n_slices == n and first.usable and second.usable
    volume = load_volume(second, series)
    np.testing.assert_array_equal(_pixels(volume.image), arr[1::2])


def test_ct_series_is_accepted(tmp_path: Path, check_geometry: Callable[..., None]) -> None:
    arr = _array()
    spec = _spec(modality="CT", direction=AXIAL_DIRECTION, rescale=(1.0, -1024.0))
    write_series(STUDY, spec, tmp_path)
    series, stack = _only_stack(scan_folder(tmp_path))
    assert series.modality == "CT"
    volume = load_volume(stack, series)
    check_geometry(stack, spec, volume)
    np.testing.assert_array_equal(_pixels(volume.image), arr - 1024.0)


def test_find_series_by_uid_number_and_stack_id(tmp_path: Path) -> None:
    write_series(STUDY, _spec(series_number=3, series_description="T2 SAG"), tmp_path / "a")
    uid = str(make_uid("split"))
    for k, te in enumerate((10.0, 80.0)):
        spec = _spec(
            series_number=4, echo_time=te, series_instance_uid=uid, first_instance_number=10 * k
        )
        write_series(STUDY, spec, tmp_path / "b")
    scan = scan_folder(tmp_path)
    _, series, stack = find_series(scan, "3")
    assert series.description == "T2 SAG"
    assert find_series(scan, series.series_instance_uid)[2] is stack
    assert find_series(scan, f"{uid}#2")[2].frames[0].echo_time == 80.0
    with pytest.raises(InputError, match=r"split into 2 stacks.*#1.*#2"):
        find_series(scan, uid)
    with pytest.raises(InputError, match=r"(?s)no series or stack matches '9'.*3: T2 SAG ->"):
        find_series(scan, "9")


def test_root_must_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        scan_folder(tmp_path / "nope")
    (tmp_path / "f.dcm").write_bytes(b"x")
    with pytest.raises(InputError, match="is a file, not a folder"):
        scan_folder(tmp_path / "f.dcm")


def test_enhanced_series_has_one_frame_per_slice(tmp_path: Path) -> None:
    write_series(STUDY, _spec(enhanced=True), tmp_path)
    series, stack = _only_stack(scan_folder(tmp_path))
    assert series.sop_class_uid == pydicom.uid.EnhancedMRImageStorage
    assert [f.frame_index for f in stack.frames] == [0, 1, 2, 3, 4]


def test_legacy_converted_enhanced_mr(tmp_path: Path, check_geometry: Callable[..., None]) -> None:
    import highdicom as hd

    arr = _array()
    spec = _spec(array=arr, echo_time=95.0, inversion_time=160.0, rescale=(0.5, 3.0))
    paths = write_series(STUDY, spec, tmp_path / "classic")
    datasets = [pydicom.dcmread(p) for p in paths]
    converted = hd.legacy.LegacyConvertedEnhancedMRImage(
        datasets,
        series_instance_uid=str(make_uid("legacy-series")),
        series_number=7,
        sop_instance_uid=str(make_uid("legacy-sop")),
        instance_number=1,
    )
    out = tmp_path / "converted"
    out.mkdir()
    converted.save_as(out / "legacy.dcm")
    series, stack = _only_stack(scan_folder(out))
    assert series.enhanced and series.series_number == 7
    assert series.sop_class_uid == pydicom.uid.LegacyConvertedEnhancedMRImageStorage
    frame = stack.frames[0]
    assert (frame.echo_time, frame.inversion_time) == (95.0, 160.0)
    volume = load_volume(stack, series)
    check_geometry(stack, spec, volume)
    np.testing.assert_array_equal(_pixels(volume.image), arr * 0.5 + 3.0)

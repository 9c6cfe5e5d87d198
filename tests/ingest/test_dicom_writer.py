"""acuity.sim.dicom_writer: files read back with pydicom / SimpleITK give pixels and geometry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.uid import (
    EnhancedMRImageStorage,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    MRImageStorage,
    RLELossless,
)

from acuity.errors import InputError
from acuity.sim import (
    AXIAL_DIRECTION,
    SAGITTAL_DIRECTION,
    SUPPORTED_TRANSFER_SYNTAXES,
    PrivateTag,
    SeriesSpec,
    StudySpec,
    write_series,
)

STUDY = StudySpec()


def _volume(shape: tuple[int, int, int] = (4, 32, 36)) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 3000, size=shape).astype(np.uint16)


def test_classic_series_reads_back_with_geometry_and_rescale(tmp_path: Path) -> None:
    arr = _volume()
    spec = SeriesSpec(
        arr,
        origin=(10.0, -20.5, 30.25),
        spacing=(0.5, 0.75, 4.0),
        direction=SAGITTAL_DIRECTION,
        rescale=(0.5, -100.0),
        inversion_time=150.0,
        header={"ProtocolName": "t2_stir_sag"},
        private=[PrivateTag(0x2001, "Philips Imaging DD 001", 0x20, "CS", "TSE")],
    )
    paths = write_series(STUDY, spec, tmp_path, file_names="uid", shuffle_seed=1)
    assert len(paths) == 4
    first = pydicom.dcmread(paths[0])
    assert first.SOPClassUID == MRImageStorage
    assert [float(v) for v in first.ImageOrientationPatient] == [0, 1, 0, 0, 0, -1]
    assert [float(v) for v in first.PixelSpacing] == [0.75, 0.5]
    assert float(first.InversionTime) == 150.0
    assert first.ProtocolName == "t2_stir_sag"
    assert first.private_block(0x2001, "Philips Imaging DD 001")[0x20].value == "TSE"
    positions = [[float(v) for v in pydicom.dcmread(p).ImagePositionPatient] for p in paths]
    # slice direction of SAGITTAL_DIRECTION is -x: slice k at x = 10 - 4k
    np.testing.assert_allclose(positions, [[10.0 - 4 * k, -20.5, 30.25] for k in range(4)])
    # shuffled instance numbers: not in slice order, but a permutation of 1..4
    numbers = [int(pydicom.dcmread(p).InstanceNumber) for p in paths]
    assert sorted(numbers) == [1, 2, 3, 4]

    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(tmp_path)))
    image = reader.Execute()
    np.testing.assert_allclose(image.GetOrigin(), (10.0, -20.5, 30.25), atol=1e-6)
    np.testing.assert_allclose(image.GetSpacing(), (0.5, 0.75, 4.0), atol=1e-6)
    np.testing.assert_allclose(image.GetDirection(), SAGITTAL_DIRECTION, atol=1e-6)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), arr * 0.5 - 100.0)


@pytest.mark.parametrize("syntax", SUPPORTED_TRANSFER_SYNTAXES, ids=lambda u: u.name)
@pytest.mark.parametrize("enhanced", [False, True], ids=["classic", "enhanced"])
def test_every_syntax_round_trips(tmp_path: Path, syntax: str, enhanced: bool) -> None:
    arr = _volume((3, 32, 36))
    if syntax == JPEGBaseline8Bit:
        arr = (np.add.outer(np.arange(32), np.arange(36)) * 3 % 256)[None].repeat(3, 0)
        arr = arr.astype(np.uint8)
    spec = SeriesSpec(
        arr, (0, 0, 0), (1, 1, 3), AXIAL_DIRECTION, transfer_syntax=syntax, enhanced=enhanced
    )
    paths = write_series(STUDY, spec, tmp_path)
    datasets = [pydicom.dcmread(p) for p in paths]
    assert all(ds.file_meta.TransferSyntaxUID == syntax for ds in datasets)
    got = datasets[0].pixel_array if enhanced else np.stack([ds.pixel_array for ds in datasets])
    if syntax == JPEGBaseline8Bit:  # lossy
        assert datasets[0].LossyImageCompression == "01"
        assert np.abs(got.astype(int) - arr).mean() < 2.0
    else:
        np.testing.assert_array_equal(got, arr)


def test_enhanced_functional_groups(tmp_path: Path) -> None:
    arr = _volume((5, 32, 32))
    spec = SeriesSpec(
        arr,
        (1.0, 2.0, 3.0),
        (0.5, 0.7, 4.0),
        SAGITTAL_DIRECTION,
        enhanced=True,
        rescale=[(1.0, float(k)) for k in range(5)],
        echo_time=80.0,
        inversion_time=160.0,
        functional_groups={"MRModifierSequence": {"FlowCompensation": "OTHER"}},
        transfer_syntax=RLELossless,
    )
    (path,) = write_series(STUDY, spec, tmp_path, shuffle_seed=3)
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == EnhancedMRImageStorage
    assert int(ds.NumberOfFrames) == 5
    shared = ds.SharedFunctionalGroupsSequence[0]
    assert float(shared.MREchoSequence[0].EffectiveEchoTime) == 80.0
    modifier = shared.MRModifierSequence[0]
    assert modifier.InversionRecovery == "YES" and modifier.FlowCompensation == "OTHER"
    assert float(modifier.InversionTimes) == 160.0  # one value reads back as a scalar
    assert "PixelValueTransformationSequence" not in shared  # per frame: rescale varies
    frames = ds.PerFrameFunctionalGroupsSequence
    index = [int(f.FrameContentSequence[0].InStackPositionNumber) - 1 for f in frames]
    assert index != sorted(index)  # shuffled frame order
    pixels = ds.pixel_array
    for i, (f, k) in enumerate(zip(frames, index, strict=True)):
        np.testing.assert_allclose(
            [float(v) for v in f.PlanePositionSequence[0].ImagePositionPatient],
            [1.0 - 4.0 * k, 2.0, 3.0],
        )
        assert float(f.PixelValueTransformationSequence[0].RescaleIntercept) == k
        np.testing.assert_array_equal(pixels[i], arr[k])


def test_float_array_gets_rescale(tmp_path: Path) -> None:
    arr = np.linspace(-1.5, 2.5, 2 * 8 * 8).reshape(2, 8, 8)
    spec = SeriesSpec(arr, (0, 0, 0), (1, 1, 1), AXIAL_DIRECTION)
    paths = write_series(STUDY, spec, tmp_path)
    ds = pydicom.dcmread(paths[1])
    real = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_allclose(real, arr[1], atol=float(ds.RescaleSlope))


def test_writer_is_deterministic_and_never_overwrites(tmp_path: Path) -> None:
    spec = SeriesSpec(_volume((2, 8, 8)), (0, 0, 0), (1, 1, 1), AXIAL_DIRECTION)
    a = write_series(STUDY, spec, tmp_path / "a")
    b = write_series(STUDY, spec, tmp_path / "b")
    assert [pydicom.dcmread(p).SOPInstanceUID for p in a] == [
        pydicom.dcmread(p).SOPInstanceUID for p in b
    ]
    with pytest.raises(InputError, match="already exists"):
        write_series(STUDY, spec, tmp_path / "a")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"array": np.zeros((4, 4))}, "must be 3-D"),
        ({"direction": (1, 0, 0, 1, 0, 0, 0, 0, 1)}, "not orthonormal"),
        ({"spacing": (1, 0, 1)}, "must be positive"),
        ({"header": {"EchoTme": 3}}, "'EchoTme' is not a DICOM keyword"),
        ({"transfer_syntax": "1.2.3"}, "is not supported"),
        ({"array": np.full((1, 8, 8), 300), "transfer_syntax": JPEGBaseline8Bit}, "0..255"),
        ({"transfer_syntax": JPEG2000Lossless}, ">= 32"),
        ({"rescale": [(1.0, 0.0)] * 3}, "3 (slope, intercept) pairs for 1 slices"),
        ({"functional_groups": {"MREchoSequence": {}}}, "need enhanced=True"),
    ],
)
def test_spec_validation_messages(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "array": np.zeros((1, 8, 8), np.uint16),
        "origin": (0, 0, 0),
        "spacing": (1, 1, 1),
        "direction": AXIAL_DIRECTION,
    }
    args.update(kwargs)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SeriesSpec(**args)  # type: ignore[arg-type]


def test_enhanced_file_reads_as_a_volume_with_highdicom(tmp_path: Path) -> None:
    import highdicom as hd

    arr = _volume((4, 32, 32))
    spec = SeriesSpec(
        arr,
        (1.0, 2.0, 3.0),
        (0.5, 0.7, 4.0),
        SAGITTAL_DIRECTION,
        enhanced=True,
        rescale=(2.0, -5.0),
    )
    (path,) = write_series(STUDY, spec, tmp_path, shuffle_seed=1)
    volume = hd.imread(path).get_volume()
    # highdicom stacks the slices in the opposite direction: same voxels, reversed
    np.testing.assert_array_equal(volume.array, (arr * 2.0 - 5.0)[::-1])
    np.testing.assert_allclose(volume.affine[:3, 3], (1.0 - 4.0 * 3, 2.0, 3.0), atol=1e-6)
    # affine columns follow the array axes (slice, row, column): their lengths are spacings
    np.testing.assert_allclose(np.linalg.norm(volume.affine[:3, :3], axis=0), (4.0, 0.7, 0.5))

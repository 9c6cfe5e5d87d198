"""Compressed and uncompressed transfer syntaxes, classic and Enhanced, decode to the truth."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.data import get_testdata_file
from pydicom.uid import JPEGBaseline8Bit

from acuity.ingest import load_volume, scan_folder
from acuity.sim import (
    SAGITTAL_DIRECTION,
    SUPPORTED_TRANSFER_SYNTAXES,
    SeriesSpec,
    StudySpec,
    write_series,
)

STUDY = StudySpec()


@pytest.mark.parametrize("enhanced", [False, True], ids=["classic", "enhanced"])
@pytest.mark.parametrize("syntax", SUPPORTED_TRANSFER_SYNTAXES, ids=lambda u: u.name)
def test_written_syntax_decodes_to_truth(tmp_path: Path, syntax: str, enhanced: bool) -> None:
    rng = np.random.default_rng(1)
    if syntax == JPEGBaseline8Bit:  # 8-bit and lossy: smooth image, compare with tolerance
        ramp = np.add.outer(np.arange(32), np.arange(34)) * 3
        arr = np.stack([ramp + 10 * k for k in range(3)]).astype(np.uint8)
    else:
        arr = rng.integers(0, 4096, (3, 32, 34)).astype(np.uint16)
    spec = SeriesSpec(
        arr,
        (4.0, -8.0, 2.0),
        (0.7, 0.8, 3.0),
        SAGITTAL_DIRECTION,
        rescale=(2.0, -7.0),
        transfer_syntax=syntax,
        enhanced=enhanced,
    )
    paths = write_series(STUDY, spec, tmp_path, shuffle_seed=2)
    assert pydicom.dcmread(paths[0]).file_meta.TransferSyntaxUID == syntax
    scan = scan_folder(tmp_path)
    series = scan.studies[0].series[0]
    volume = load_volume(series.stacks[0], series)
    got = sitk.GetArrayFromImage(volume.image)
    expected = arr * 2.0 - 7.0
    if syntax == JPEGBaseline8Bit:
        assert np.abs(got - expected).mean() < 2 * 2.0  # mean error under 2 stored levels
    else:
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "name",
    [
        "MR_small_RLE.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
    ],
)
def test_files_encoded_by_other_tools_match_the_uncompressed_one(tmp_path: Path, name: str) -> None:
    # pydicom's bundled test files: one MR slice written by other toolkits (GDCM, dcmtk)
    # in several transfer syntaxes; all must rebuild to the same pixels as MR_small.dcm.
    volumes = []
    for src in ("MR_small.dcm", name):
        path = get_testdata_file(src)
        assert path is not None, f"pydicom test file {src} missing"
        folder = tmp_path / src
        folder.mkdir()
        shutil.copy(path, folder / "image")
        scan = scan_folder(folder)
        assert not scan.skipped
        series = scan.studies[0].series[0]
        volumes.append(sitk.GetArrayFromImage(load_volume(series.stacks[0], series).image))
    np.testing.assert_array_equal(volumes[0], volumes[1])
    assert volumes[0].shape == (1, 64, 64) and volumes[0].std() > 0

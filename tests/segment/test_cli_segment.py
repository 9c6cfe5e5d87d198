"""``acuity segment``: NIfTI and DICOM-folder input, LABELS.nii.gz + LABELS.json output."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from acuity.cli import segment as cli
from acuity.errors import InputError


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="acuity")
    sub = parser.add_subparsers(dest="command")
    cli.add_parser(sub)
    return parser.parse_args(["segment", *argv])


def test_level_at_parsing() -> None:
    assert cli.parse_level_at("3=L3") == (3, "L3")
    assert cli.parse_level_at("10.5,-20,35=t12") == ((10.5, -20.0, 35.0), "t12")
    with pytest.raises(InputError, match="POS=LEVEL"):
        cli.parse_level_at("L3")
    with pytest.raises(InputError, match="label number or an LPS point"):
        cli.parse_level_at("1,2=L3")


def test_segment_a_nifti_file(tmp_path: Path, thick_image: sitk.Image, seg_model: object) -> None:
    src = tmp_path / "stir.nii.gz"
    sitk.WriteImage(sitk.Cast(thick_image, sitk.sitkInt16), str(src))
    out = tmp_path / "res" / "LABELS.nii.gz"
    assert cli.run(_parse([str(src), "-o", str(out), "--lowest-level", "S1"])) == 0
    labels = sitk.ReadImage(str(out))
    assert labels.GetSize() == thick_image.GetSize()
    meta = json.loads((tmp_path / "res" / "LABELS.json").read_text())
    assert meta["level_source"] == "hint"
    bodies = meta["bodies"]
    assert [b["label"] for b in bodies] == list(range(1, int(sitk.GetArrayFromImage(labels).max()) + 1))
    assert bodies[-1]["level"] == "S1" and bodies[0]["level"] == "T10"
    for b in bodies:
        assert set(b) >= {"label", "level", "level_confidence", "volume_mm3", "partial"}
        assert b["volume_mm3"] > 0


def test_segment_a_dicom_folder(tmp_path: Path, thick_image: sitk.Image, seg_model: object) -> None:
    from acuity.sim import SeriesSpec, StudySpec, write_series

    arr = sitk.GetArrayFromImage(thick_image)
    spec = SeriesSpec(
        array=np.clip(arr, 0, None).astype(np.uint16),
        origin=thick_image.GetOrigin(),
        spacing=thick_image.GetSpacing(),
        direction=thick_image.GetDirection(),
        series_description="t2_tirm_sag",
        inversion_time=150.0,
    )
    write_series(StudySpec(), spec, tmp_path / "dicom")
    out = tmp_path / "LABELS.nii.gz"
    assert cli.run(_parse([str(tmp_path / "dicom"), "-o", str(out), "--level-at", "1=T10"])) == 0
    meta = json.loads((tmp_path / "LABELS.json").read_text())
    assert [b["level"] for b in meta["bodies"]][:2] == ["T10", "T11"]
    labels = sitk.ReadImage(str(out))
    assert np.allclose(labels.GetOrigin(), thick_image.GetOrigin(), atol=1e-3)


def test_bad_inputs_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        cli.run(_parse([str(tmp_path / "nope.nii.gz"), "-o", str(tmp_path / "x.nii.gz")]))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no usable sagittal stack of 5 or more"):
        cli.run(_parse([str(tmp_path / "empty"), "-o", str(tmp_path / "x.nii.gz")]))
    with pytest.raises(InputError, match="must end in"):
        cli.run(_parse([str(tmp_path / "empty"), "-o", str(tmp_path / "x.png")]))


def test_an_empty_model_path_is_a_config_error() -> None:
    from acuity.errors import ConfigError
    from acuity.segment.network import load_model

    # Path("") is the current folder: it used to become the puzzling "models/.pt.pt not found".
    with pytest.raises(ConfigError, match="the path is empty"):
        load_model("")
    with pytest.raises(ConfigError, match="the path is empty"):
        load_model("  ")

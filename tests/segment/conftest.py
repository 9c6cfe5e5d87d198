"""Fixtures of the segmentation tests: the committed model and one real validation exam.

vb1-03 (TIRM / Siemens STIR, 9 bodies T10-S1) is in the fixed validation split
(models/vertebrae_split.json), so the model never saw it in training.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import SimpleITK as sitk

from acuity.segment import LoadedModel, Segmentation, load_model, segment_image
from acuity.segment.grid import simulate_thick_slices

CASE = "vb1-03"


@pytest.fixture(scope="session")
def seg_model() -> LoadedModel:
    import torch

    torch.set_num_threads(2)
    return load_model()  # the committed models/vertebrae_seg.pt: must exist


@pytest.fixture(scope="session")
def case_dir(shared_data: Path) -> Path:
    return shared_data / "vertebrae" / CASE


@pytest.fixture(scope="session")
def case_image(case_dir: Path) -> sitk.Image:
    return sitk.ReadImage(str(case_dir / "image.nii.gz"))


@pytest.fixture(scope="session")
def case_reference(case_dir: Path) -> sitk.Image:
    return sitk.ReadImage(str(case_dir / "labels.nii.gz"))


@pytest.fixture(scope="session")
def case_seg(case_image: sitk.Image, seg_model: LoadedModel) -> Segmentation:
    return segment_image(case_image, model=seg_model)


@pytest.fixture(scope="session")
def thick_image(case_image: sitk.Image) -> sitk.Image:
    """The exam as a clinical-like series: 4 mm sagittal slices."""
    return simulate_thick_slices(case_image, 4.0)


@pytest.fixture(scope="session")
def thick_seg(thick_image: sitk.Image, seg_model: LoadedModel) -> Segmentation:
    return segment_image(thick_image, model=seg_model)

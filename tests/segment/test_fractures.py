"""Fractured copies of a real training exam (the segmentation networks' training data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from acuity.segment.dataset import load_case
from acuity.segment.fractures import fracture_case
from acuity.sim.grid import Grid


def test_fractured_copy_with_an_edema_only_body(shared_data: Path) -> None:
    case = load_case(shared_data / "vertebrae" / "vb3-01")  # a water (fat-suppressed) exam
    lab_img = sitk.ReadImage(str(case.labels_path))
    image = sitk.GetArrayFromImage(sitk.ReadImage(str(case.image_path)))
    labels = sitk.GetArrayFromImage(lab_img)
    rng = np.random.default_rng(3)
    arr, lab, done = fracture_case(
        case, image, labels, Grid.from_image(lab_img), rng, max_bodies=1, edema_only=1.0
    )
    assert len(done) == 2, done
    (bruised,) = [k for k, v in done.items() if v.endswith("edema, no compression")]
    (broken,) = [k for k in done if k != bruised]
    # The bruised body keeps its shape and gets brighter; the broken one loses volume.
    np.testing.assert_array_equal(lab == bruised, labels == bruised)
    body = labels == bruised
    assert np.median(arr[body]) > 1.1 * np.median(image[body].astype(np.float32))
    assert (lab == broken).sum() < 0.9 * (labels == broken).sum()
    # Without edema_only the copy is what it was before the option existed.
    again = fracture_case(
        case, image, labels, Grid.from_image(lab_img), np.random.default_rng(3), max_bodies=1
    )
    assert set(again[2]) == {broken}


def test_adjacent_share_compresses_two_neighbours(shared_data: Path) -> None:
    case = load_case(shared_data / "vertebrae" / "vb2-02")
    lab_img = sitk.ReadImage(str(case.labels_path))
    image = sitk.GetArrayFromImage(sitk.ReadImage(str(case.image_path)))
    labels = sitk.GetArrayFromImage(lab_img)
    grid = Grid.from_image(lab_img)
    # Seed 0 draws two bodies (the first draw of the stream is the number of bodies).
    plain = fracture_case(case, image, labels, grid, np.random.default_rng(0))
    zero = fracture_case(case, image, labels, grid, np.random.default_rng(0), adjacent=0.0)
    near = fracture_case(case, image, labels, grid, np.random.default_rng(0), adjacent=1.0)
    # At 0 the copy is drawn as before the option existed; at 1 the two bodies are neighbours.
    assert plain[2] == zero[2]
    a, b = sorted(near[2])
    assert b == a + 1, near[2]
    assert sorted(plain[2]) != [a, b], "pick a seed whose plain draw is not already a pair"

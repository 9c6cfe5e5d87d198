"""Lesion simulator on a labelled image: compression and edema."""

from __future__ import annotations

import numpy as np
import pytest

from acuity.errors import InputError
from acuity.measure.enum import DeformityType
from acuity.sim.grid import Grid
from acuity.sim.lesion import (
    Contrast,
    EdemaContrast,
    add_edema,
    body_frames,
    compress_body,
    edema_ratio,
    genant_grade,
    measure_heights,
)
from acuity.sim.phantom import AnatomyParams, RenderSettings, build_anatomy, rasterize, render
from acuity.sim.protocols import T2_TIRM_SAG
from acuity.sim.study import LesionSpec


@pytest.fixture(scope="module")
def labelled() -> tuple[np.ndarray, np.ndarray, Grid, dict[str, int]]:
    """A 1 mm phantom crop around L1-L3 (STIR), labels renumbered 1..3."""
    anatomy = build_anatomy(AnatomyParams(seed=5))
    l2 = anatomy.vertebra("L2").frame.centre
    grid = Grid.centred((l2[0], l2[1] + 10.0, l2[2]), (0.0, 1.0, 0.0), (0.0, 0.0, -1.0),
                        (1.0, 1.0, 1.0), (70, 110, 24))
    raster = rasterize(anatomy, grid, n_sub=1)
    image = render(anatomy, raster, RenderSettings(T2_TIRM_SAG.sequence, Contrast.STIR))
    internal = raster.labels()
    labels = np.zeros_like(internal)
    names = {}
    for new, name in enumerate(["L1", "L2", "L3"], start=1):
        labels[internal == anatomy.vertebra(name).label] = new
        names[name] = new
    return image.astype(np.float32), labels, grid, names


@pytest.mark.parametrize(
    ("deformity", "loss"),
    [("wedge", 0.30), ("biconcave", 0.30), ("crush", 0.25), ("wedge", 0.45)],
)
def test_compression_reaches_the_requested_loss(
    labelled: tuple[np.ndarray, np.ndarray, Grid, dict[str, int]], deformity: str, loss: float
) -> None:
    image, labels, grid, names = labelled
    lab = names["L2"]
    res = compress_body(image, labels, grid, lab, deformity, height_loss=loss)
    assert abs(res.height_loss - loss) <= 0.03, res
    assert res.grade == genant_grade(loss)
    # Neighbours keep their heights, the warp did not move them.
    for other in (names["L1"], names["L3"]):
        fr = body_frames(labels, grid)[other]
        before = measure_heights(labels, grid, other, fr)
        after = measure_heights(res.labels, grid, other, fr)
        assert abs(before.middle - after.middle) < 0.5
        assert np.array_equal(res.labels == other, labels == other)
    kind = DeformityType(deformity)
    if kind is DeformityType.WEDGE:
        assert res.after.posterior == pytest.approx(res.before.posterior, abs=0.6)
    if kind is DeformityType.BICONCAVE:
        assert res.after.anterior == pytest.approx(res.before.anterior, abs=0.6)
    # Inputs are left alone.
    assert labels[labels == lab].size == (labelled[1] == lab).sum()


def test_compression_by_grade(labelled: tuple[np.ndarray, np.ndarray, Grid, dict[str, int]]
                              ) -> None:
    image, labels, grid, names = labelled
    res = compress_body(image, labels, grid, names["L1"], "wedge", grade=2)
    assert res.grade == 2


@pytest.mark.parametrize("pattern", ["band", "diffuse"])
def test_edema_ratio_on_stir(labelled: tuple[np.ndarray, np.ndarray, Grid, dict[str, int]],
                             pattern: str) -> None:
    image, labels, grid, names = labelled
    lab = names["L2"]
    res = add_edema(image, labels, grid, lab, "stir", pattern=pattern,
                    model=EdemaContrast(fs_ratio=2.0), seed=3)
    core = res.weight > 0.9
    assert core.sum() > 200
    # Same voxels before and after: the ratio applied to normal marrow.
    ratio = float(res.image[core].mean() / image[core].mean())
    assert ratio == pytest.approx(2.0, abs=0.15)
    # Against a neighbouring normal body.
    normal = (labels == names["L1"]) & (image > 0)
    assert edema_ratio(res.image, core, normal) == pytest.approx(2.0, abs=0.3)
    assert res.noise_sigma > 0
    if pattern == "band":
        assert 0.2 < res.mask.sum() / (labels == lab).sum() < 0.75
    untouched = labels != lab
    assert np.array_equal(res.image[untouched], image[untouched])


def test_edema_darkens_t1(labelled: tuple[np.ndarray, np.ndarray, Grid, dict[str, int]]
                          ) -> None:
    image, labels, grid, names = labelled
    res = add_edema(image, labels, grid, names["L2"], "t1", pattern="diffuse", seed=1)
    core = res.weight > 0.9
    assert float(res.image[core].mean() / image[core].mean()) == pytest.approx(0.65, abs=0.08)


def test_bad_inputs_are_named() -> None:
    with pytest.raises(InputError, match="fs_ratio"):
        EdemaContrast(fs_ratio=3.5)
    with pytest.raises(InputError, match="LEVEL:DEFORMITY"):
        LesionSpec.parse("L1:wedge")
    with pytest.raises(InputError, match="contrast"):
        Contrast.parse("flair")
    spec = LesionSpec.parse("L1:wedge:2:acute")
    assert spec.height_loss == pytest.approx(0.32) and spec.edema.value == "band"
    assert LesionSpec.parse("L3:biconcave:22%:chronic").height_loss == pytest.approx(0.22)

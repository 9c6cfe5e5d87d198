"""Morphometry on analytic bodies of known shape and on simulated compressions."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from measure_phantom import BodyShape, make_spine

from acuity.measure import BodySpec, DeformityType, GenantGrade, PosteriorWall, genant_grade
from acuity.measure.morphometry import measure_morphometry
from acuity.measure.thresholds import MorphometryThresholds
from acuity.sim.grid import Grid
from acuity.sim.lesion import compress_body


def _measure(spine_labels: sitk.Image, n: int) -> dict[int, object]:
    arr = sitk.GetArrayFromImage(spine_labels)
    grid = Grid.from_image(spine_labels)
    return measure_morphometry(arr, grid, [BodySpec(k) for k in range(1, n + 1)])  # type: ignore[return-value]


def test_genant_grade_boundaries() -> None:
    assert genant_grade(0.19) is GenantGrade.NORMAL
    assert genant_grade(0.20) is GenantGrade.MILD
    assert genant_grade(0.249) is GenantGrade.MILD
    assert genant_grade(0.25) is GenantGrade.MODERATE
    assert genant_grade(0.399) is GenantGrade.MODERATE
    assert genant_grade(0.40) is GenantGrade.SEVERE


def test_known_heights_within_1mm_and_grades() -> None:
    shapes = [
        BodyShape(24.0, 24.0, 24.0),
        BodyShape(25.0, 25.0, 25.0),
        BodyShape(17.0, 21.0, 25.5),  # wedge, anterior 33 % short of 25.5
        BodyShape(26.0, 26.0, 26.0),
        BodyShape(24.0, 17.0, 26.5, biconcave=True),  # middle ~32 % short
        BodyShape(16.0, 16.0, 16.0),  # crush: ~40 % short of its neighbours' 26.5
        BodyShape(27.0, 27.0, 27.0),
    ]
    spine = make_spine(shapes, spacing=(1.0, 1.0, 2.0))
    res = _measure(spine.labels, len(shapes))
    for k, sh in enumerate(shapes, start=1):
        m = res[k].morphometry  # type: ignore[attr-defined]
        assert m is not None
        assert abs(m.anterior_mm - sh.anterior) <= 1.0, (k, m)
        assert abs(m.middle_mm - sh.middle) <= 1.0, (k, m)
        assert abs(m.posterior_mm - sh.posterior) <= 1.0, (k, m)
        assert abs(m.width_mm - 32.0) <= 1.0
    normal = [res[k].morphometry for k in (1, 2, 4, 7)]  # type: ignore[attr-defined]
    assert all(
        m.genant_grade is GenantGrade.NORMAL and m.deformity is DeformityType.NONE for m in normal
    )
    wedge = res[3].morphometry  # type: ignore[attr-defined]
    assert wedge.deformity is DeformityType.WEDGE and wedge.genant_grade is GenantGrade.MODERATE
    assert abs(wedge.height_loss_pct - 100 * (1 - 17.0 / 25.5)) <= 3.0
    bic = res[5].morphometry  # type: ignore[attr-defined]
    assert bic.deformity is DeformityType.BICONCAVE and bic.genant_grade is GenantGrade.MODERATE
    crush = res[6].morphometry  # type: ignore[attr-defined]
    assert crush.deformity is DeformityType.CRUSH
    assert crush.genant_grade is GenantGrade.SEVERE
    assert not crush.vertebra_plana


def test_vertebra_plana() -> None:
    shapes = [
        BodyShape(25, 25, 25),
        BodyShape(26, 26, 26),
        BodyShape(6.5, 6.5, 6.5),
        BodyShape(27, 27, 27),
        BodyShape(27.5, 27.5, 27.5),
    ]
    res = _measure(make_spine(shapes).labels, len(shapes))
    m = res[3].morphometry  # type: ignore[attr-defined]
    assert m.vertebra_plana and m.genant_grade is GenantGrade.SEVERE
    assert m.height_loss_pct >= 70.0
    assert not any(res[k].morphometry.vertebra_plana for k in (1, 2, 4, 5))  # type: ignore[attr-defined]


def test_retropulsion_vs_intact() -> None:
    shapes = [
        BodyShape(25, 25, 25),
        BodyShape(26, 26, 26),
        BodyShape(18, 22, 26.5, bulge_mm=6.0),  # fractured, wall bulges 6 mm
        BodyShape(27, 27, 27),
        BodyShape(19, 23, 27.5),  # fractured, intact wall
        BodyShape(28, 28, 28),
        BodyShape(28.5, 28.5, 28.5, bulge_mm=6.0),
    ]  # not fractured
    res = _measure(make_spine(shapes).labels, len(shapes))
    retro = res[3].morphometry  # type: ignore[attr-defined]
    assert retro.posterior_wall is PosteriorWall.RETROPULSED
    assert retro.posterior_displacement_mm == pytest.approx(6.0, abs=1.5)
    intact = res[5].morphometry  # type: ignore[attr-defined]
    assert intact.genant_grade >= GenantGrade.MILD
    assert intact.posterior_wall is PosteriorWall.INTACT
    assert abs(intact.posterior_displacement_mm) < 1.0
    # A bulge without a fracture is reported but not called retropulsion.
    bump = res[7].morphometry  # type: ignore[attr-defined]
    assert bump.posterior_displacement_mm > 4.0
    assert bump.posterior_wall is PosteriorWall.INTACT


def test_several_fractured_levels_do_not_spoil_the_reference() -> None:
    # Three fractured bodies, two of them adjacent: each is still graded against normal ones.
    shapes = [
        BodyShape(24, 24, 24),
        BodyShape(17, 21, 24.5),
        BodyShape(14, 14, 14),
        BodyShape(25.5, 25.5, 25.5),
        BodyShape(26, 26, 26),
        BodyShape(18.5, 22.5, 26.5),
        BodyShape(27, 27, 27),
        BodyShape(27.5, 27.5, 27.5),
    ]
    res = _measure(make_spine(shapes).labels, len(shapes))
    grades = {k: int(res[k].morphometry.genant_grade) for k in res}  # type: ignore[attr-defined]
    assert grades == {1: 0, 2: 2, 3: 3, 4: 0, 5: 0, 6: 2, 7: 0, 8: 0}
    assert set(res[3].reference_labels) <= {1, 4, 5}  # type: ignore[attr-defined]
    assert abs(res[3].morphometry.height_loss_pct - 100 * (1 - 14 / 24.7)) <= 3.0  # type: ignore[attr-defined]


@pytest.mark.parametrize("deformity", ["wedge", "biconcave", "crush"])
def test_simulated_compression_matches_the_simulators_truth(deformity: str) -> None:
    shapes = [BodyShape(24 + k * 0.5, 24 + k * 0.5, 24 + k * 0.5) for k in range(5)]
    spine = make_spine(shapes, spacing=(1.0, 1.0, 2.0), noise=0.0)
    grid = Grid.from_image(spine.labels)
    labels = sitk.GetArrayFromImage(spine.labels)
    img = sitk.GetArrayFromImage(spine.image)
    res = compress_body(img, labels, grid, 3, deformity, height_loss=0.32)
    got = measure_morphometry(res.labels, grid, [BodySpec(k) for k in range(1, 6)])
    m = got[3].morphometry
    assert m is not None
    assert m.deformity is DeformityType(deformity)
    assert m.genant_grade is GenantGrade.MODERATE
    assert abs(m.height_loss_pct - 100 * res.height_loss) <= 4.0


def test_partial_and_missing_bodies_are_not_measured() -> None:
    shapes = [BodyShape(25, 25, 25)] * 4
    spine = make_spine(shapes)
    arr = sitk.GetArrayFromImage(spine.labels)
    grid = Grid.from_image(spine.labels)
    res = measure_morphometry(
        arr, grid, [BodySpec(1, partial=True), BodySpec(2), BodySpec(3), BodySpec(4), BodySpec(9)]
    )
    assert res[1].morphometry is None and "field of view" in res[1].notes[0]
    assert res[9].morphometry is None and "not in the label map" in res[9].notes[0]
    assert res[2].morphometry is not None


def test_thresholds_change_the_grade() -> None:
    shapes = [
        BodyShape(25, 25, 25),
        BodyShape(25.5, 25.5, 25.5),
        BodyShape(18, 22, 26),
        BodyShape(26.5, 26.5, 26.5),
        BodyShape(27, 27, 27),
    ]
    spine = make_spine(shapes)
    arr = sitk.GetArrayFromImage(spine.labels)
    grid = Grid.from_image(spine.labels)
    bodies = [BodySpec(k) for k in range(1, 6)]
    default = measure_morphometry(arr, grid, bodies)[3].morphometry
    strict = measure_morphometry(
        arr,
        grid,
        bodies,
        MorphometryThresholds(grade1_loss=0.35, grade2_loss=0.45, grade3_loss=0.6),
    )[3].morphometry
    assert default is not None and strict is not None
    assert default.genant_grade is GenantGrade.MODERATE
    assert strict.genant_grade is GenantGrade.NORMAL
    assert np.isclose(default.height_loss_pct, strict.height_loss_pct)


def test_a_merged_body_is_no_reference() -> None:
    # A segmentation that merges two bodies (and the disc between) into one label must not make
    # its neighbours look crushed.
    shapes = [BodyShape(24 + 0.5 * k, 24 + 0.5 * k, 24 + 0.5 * k) for k in range(7)]
    spine = make_spine(shapes, gap=9.0)
    arr = sitk.GetArrayFromImage(spine.labels).astype(np.int32)
    pts = spine.grid.points(dtype=np.float64)
    between = (arr == 0) & (pts[2] < pts[2][arr == 4].min()) & (pts[2] > pts[2][arr == 5].max())
    between &= ((pts[1] / 16.0) ** 2 + (pts[0] / 20.0) ** 2) <= 1.0
    arr[between] = 4
    arr[arr == 5] = 4
    arr[arr == 6] = 5
    arr[arr == 7] = 6
    grid = Grid.from_image(spine.labels)
    res = measure_morphometry(arr, grid, [BodySpec(k) for k in range(1, 7)])
    for k in (1, 2, 3, 5, 6):
        m = res[k].morphometry
        assert m is not None and m.genant_grade is GenantGrade.NORMAL, (k, res[k].notes)
        assert 4 not in res[k].reference_labels


def test_three_crushed_levels_of_seven_keep_the_normal_ones_as_reference() -> None:
    # Three crush fractures among seven bodies (the heights of a real study where the old
    # screen, a trend through all bodies, ran low and took a crushed body as the reference).
    normal = [22.5, 25.0, 26.5, 28.5, 28.5, 29.0, 28.5]
    crushed = {3: 0.70, 5: 0.68, 6: 0.76}
    shapes = [
        BodyShape(h * crushed.get(k, 1.0), h * crushed.get(k, 1.0), h * crushed.get(k, 1.0))
        for k, h in enumerate(normal, start=1)
    ]
    res = _measure(make_spine(shapes).labels, len(shapes))
    for k in range(1, 8):
        m = res[k].morphometry  # type: ignore[attr-defined]
        if k in crushed:
            assert m.genant_grade >= GenantGrade.MILD, (k, res[k].notes)  # type: ignore[attr-defined]
            assert not set(res[k].reference_labels) & set(crushed)  # type: ignore[attr-defined]
        else:
            assert m.genant_grade is GenantGrade.NORMAL, (k, res[k].notes)  # type: ignore[attr-defined]

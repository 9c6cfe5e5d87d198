"""Synthetic training volumes from the analytic spine phantom (``acuity.sim.phantom``).

Each volume is a new anatomy (its own seed and size jitter) rendered on a 1 mm sagittal grid
laid out like the real training data (columns anterior->posterior, rows head->feet, slices
left->right), with one of the phantom's pulse sequences (STIR, T1, T2, Dixon water) and a
random noise level. The phantom labels every body down to S1 (S2 and below are background),
so these volumes add S1 examples; the field of view is shifted so that S1 is sometimes out
of view (then the lowest body is L5 or above and nothing is S1).

With ``lesion_p`` > 0 that share of the anatomies carries one or two of the phantom's own
fractures (:class:`acuity.sim.phantom.PhantomLesion`: wedge / biconcave / crush, 15-60 %
height loss, acute with band or diffuse edema or chronic), so the network sees the phantom's
collapsed bodies and the taller discs beside them, as it sees the real exams' fractured copies
(:mod:`acuity.segment.fractures`). Lesion draws use their own random stream: ``lesion_p=0``
gives the same volumes as before the option existed.
"""

from __future__ import annotations

import logging

import numpy as np

from acuity.errors import InputError
from acuity.measure.enum import Acuity, EdemaPattern
from acuity.segment.fractures import draw_compression, draw_edema
from acuity.segment.training import PreparedVolume, prepare_volume
from acuity.sim.grid import Grid
from acuity.sim.lesion import EdemaContrast
from acuity.sim.phantom import (
    LABELLED_LEVELS,
    AnatomyParams,
    PhantomLesion,
    RenderSettings,
    build_anatomy,
    rasterize,
    render,
)
from acuity.sim.protocols import T1_DIXON_W_SAG, T1_TSE_SAG, T2_TIRM_SAG, T2_TSE_SAG

logger = logging.getLogger(__name__)


#: Levels that may be fractured (in view in every field of view drawn below).
LESION_LEVELS = ("T11", "T12", "L1", "L2", "L3")


def synthetic_training_volumes(n: int, *, seed: int, lesion_p: float = 0.0) -> list[PreparedVolume]:
    """``n`` labelled synthetic sagittal volumes (deterministic from ``seed``); a share
    ``lesion_p`` of them with phantom fractures."""
    if not 0.0 <= lesion_p <= 1.0:
        raise InputError(f"lesion_p {lesion_p}: give a share between 0 and 1")
    protocols = (T2_TIRM_SAG, T1_TSE_SAG, T2_TSE_SAG, T1_DIXON_W_SAG)
    s1_label = LABELLED_LEVELS.index("S1") + 1
    rng = np.random.default_rng([seed, 7])
    out = []
    for i in range(n):
        lesions = _random_lesions(np.random.default_rng([seed, 8, i]), lesion_p)
        anatomy = build_anatomy(
            AnatomyParams(seed=int(rng.integers(1, 2**31)), size_jitter=0.06, lesions=lesions)
        )
        l3 = np.asarray(anatomy.vertebra("L3").frame.centre)
        s1 = np.asarray(anatomy.vertebra("S1").frame.centre)
        rows, cols, slices = 320, 180, 64
        if rng.random() < 0.75:
            bottom = s1[2] - rng.uniform(15.0, 70.0)  # S1 (and some sacrum) in view
        else:
            bottom = s1[2] + rng.uniform(35.0, 60.0)  # S1 out of view
        centre = (
            float(rng.uniform(-3.0, 3.0)),
            float(l3[1] + 20.0 + rng.uniform(-12.0, 12.0)),
            float(bottom + rows / 2.0),
        )
        grid = Grid.centred(centre, (0.0, 1.0, 0.0), (0.0, 0.0, -1.0), (1.0, 1.0, 1.0), (cols, rows, slices))
        raster = rasterize(anatomy, grid, n_sub=1)
        proto = protocols[i % len(protocols)]
        image = render(
            anatomy,
            raster,
            RenderSettings(
                sequence=proto.sequence,
                contrast=proto.contrast,
                noise=float(rng.uniform(1 / 70, 1 / 25)),
                seed=int(rng.integers(0, 2**31)),
            ),
        )
        labels = raster.labels()
        present = [int(v) for v in np.unique(labels) if v]
        lut = np.zeros(int(labels.max()) + 1, dtype=np.uint8)
        lut[present] = np.arange(1, len(present) + 1)
        vol = prepare_volume(
            f"phantom-{i:02d}-{proto.contrast.value}",
            "synthetic",
            "synthetic",
            image,
            lut[labels],
            bottom_is_s1=s1_label in present,
        )
        out.append(vol)
        logger.info(
            "synthetic volume %s: %d bodies, S1 in view: %s, lesions: %s",
            vol.name, len(present), s1_label in present,
            ", ".join(f"{x.level} {x.deformity.value} {100 * x.height_loss:.0f}% {x.acuity.value}" for x in lesions) or "none",
        )
    return out


def _random_lesions(rng: np.random.Generator, p: float) -> tuple[PhantomLesion, ...]:
    """None (probability 1 - p) or one or two fractures at distinct levels, drawn from the
    same mix as the real exams' fractured copies (acute when given edema, else chronic)."""
    if p <= 0.0 or rng.random() >= p:
        return ()
    n = int(rng.integers(1, 3))
    levels = sorted(rng.choice(LESION_LEVELS, size=n, replace=False).tolist(), key=LESION_LEVELS.index)
    out = []
    for level in levels:
        kind, loss = draw_compression(rng)
        pattern = draw_edema(rng)
        if pattern is None:
            out.append(PhantomLesion(level, kind, loss, Acuity.CHRONIC, EdemaPattern.NONE))
            continue
        contrast = EdemaContrast(fs_ratio=float(rng.uniform(1.3, 2.5)), t1_ratio=float(rng.uniform(0.5, 0.8)))
        out.append(PhantomLesion(level, kind, loss, Acuity.ACUTE, pattern, contrast))
    return tuple(out)

"""Synthetic training volumes from the analytic spine phantom (``acuity.sim.phantom``).

Each volume is a new anatomy (its own seed and size jitter) rendered on a 1 mm sagittal grid
laid out like the real training data (columns anterior->posterior, rows head->feet, slices
left->right), with one of the phantom's pulse sequences (STIR, T1, T2, Dixon water) and a
random noise level. The phantom labels every body down to S1 (S2 and below are background),
so these volumes add S1 examples; the field of view is shifted so that S1 is sometimes out
of view (then the lowest body is L5 or above and nothing is S1).
"""

from __future__ import annotations

import logging

import numpy as np

from acuity.segment.training import PreparedVolume, prepare_volume

logger = logging.getLogger(__name__)


def synthetic_training_volumes(n: int, *, seed: int) -> list[PreparedVolume]:
    """``n`` labelled synthetic sagittal volumes (deterministic from ``seed``)."""
    from acuity.sim.grid import Grid
    from acuity.sim.phantom import (
        LABELLED_LEVELS,
        AnatomyParams,
        RenderSettings,
        build_anatomy,
        rasterize,
        render,
    )
    from acuity.sim.protocols import T1_DIXON_W_SAG, T1_TSE_SAG, T2_TIRM_SAG, T2_TSE_SAG

    protocols = (T2_TIRM_SAG, T1_TSE_SAG, T2_TSE_SAG, T1_DIXON_W_SAG)
    s1_label = LABELLED_LEVELS.index("S1") + 1
    rng = np.random.default_rng([seed, 7])
    out = []
    for i in range(n):
        anatomy = build_anatomy(AnatomyParams(seed=int(rng.integers(1, 2**31)), size_jitter=0.06))
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
        logger.info("synthetic volume %s: %d bodies, S1 in view: %s", vol.name, len(present), s1_label in present)
    return out

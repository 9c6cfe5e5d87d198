"""Fractured copies of real training exams: the segmentation model must outline a collapsed
body as it is (a wedge, a biconcave or crushed body), not as the rectangle it has mostly seen.

Each copy compresses one or two bodies of a real exam with the project's lesion simulator
(:func:`acuity.sim.lesion.compress_body`: wedge / biconcave / crush at 15-60 % height loss,
the label map warped with the image) and gives about half of them marrow edema in the exam's
own contrast (:func:`acuity.sim.lesion.add_edema`: bright on STIR / water / T2, dark on T1).
The lowest body and bodies cut by the field of view are left alone.
"""

from __future__ import annotations

import logging

import numpy as np

from acuity.errors import AcuityError
from acuity.measure.enum import DeformityType, EdemaPattern
from acuity.segment.dataset import Case, SequenceGroup
from acuity.sim.grid import Grid

logger = logging.getLogger(__name__)

#: Contrast of each sequence group for the edema model.
_CONTRAST = {
    SequenceGroup.T1: "t1",
    SequenceGroup.T2: "t2",
    SequenceGroup.TIRM: "stir",
    SequenceGroup.WATER: "water",
}


def fracture_case(
    case: Case,
    image: np.ndarray,
    labels: np.ndarray,
    grid: Grid,
    rng: np.random.Generator,
    *,
    max_bodies: int = 2,
    skip_lowest: int = 1,
    edema_only: float = 0.0,
    adjacent: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """A copy of ``image`` / ``labels`` (Z, Y, X on ``grid``, the exam's 1 mm grid) with
    1..max_bodies bodies compressed (and some given edema); returns (image, labels, a
    description of each changed body by label).

    With probability ``edema_only`` one more body gets marrow edema without a compression
    (a bone bruise or an occult fracture): without such bodies a network can learn that a
    bright band under an endplate is always a stretched disc above a collapsed body (a first
    outline-refiner trial did: models/README.md).

    With probability ``adjacent`` a copy that compresses two bodies takes two neighbours
    (osteoporotic fractures cluster; between two collapsed bodies the disc is stretched on
    both sides). At 0 the random stream is that of earlier recipes.
    """
    from acuity.sim.lesion import add_edema, compress_body

    ids = [int(v) for v in np.unique(labels) if v]
    # Not the lowest ``skip_lowest`` bodies (S1, or next to a pseudo-labelled S1) nor one
    # cut by the volume.
    eligible = [k for k in ids[: len(ids) - skip_lowest] if not _touches_edge(labels == k)]
    if not eligible:
        return image, labels, {}
    n = int(rng.integers(1, max_bodies + 1))
    pairs = [k for k in eligible if k + 1 in eligible]
    if adjacent > 0 and n == 2 and pairs and rng.random() < adjacent:
        first = int(rng.choice(pairs))
        chosen = [first, first + 1]
    else:
        chosen = sorted(rng.choice(eligible, size=min(n, len(eligible)), replace=False).tolist())
    arr = image.astype(np.float32)
    lab = labels.copy()
    done: dict[int, str] = {}
    for k in chosen:
        kind, loss = draw_compression(rng)
        try:
            res = compress_body(arr, lab, grid, int(k), kind, height_loss=loss)
        except (AcuityError, ValueError) as exc:  # an odd body shape: leave it, keep the rest
            logger.debug("%s body %d not compressed: %s", case.case_id, k, exc)
            continue
        arr, lab = res.image, res.labels
        text = f"{kind.value} {100 * res.height_loss:.0f}%"
        pattern = draw_edema(rng)
        if pattern is not None:
            ed = add_edema(
                arr, lab, grid, int(k), _CONTRAST[case.sequence_group], pattern=pattern,
                endplates=kind, seed=int(rng.integers(0, 2**31)),
            )
            arr = ed.image
            text += f" + {pattern.value} edema"
        done[int(k)] = text
    spare = [k for k in eligible if k not in chosen]
    if edema_only > 0 and spare and rng.random() < edema_only:
        k = int(rng.choice(spare))
        pattern = EdemaPattern(str(rng.choice(["band", "diffuse"])))
        kind = DeformityType(str(rng.choice(["wedge", "biconcave"])))
        try:
            arr = add_edema(
                arr, lab, grid, k, _CONTRAST[case.sequence_group], pattern=pattern,
                endplates=kind, seed=int(rng.integers(0, 2**31)),
            ).image
            done[k] = f"{pattern.value} edema, no compression"
        except (AcuityError, ValueError) as exc:
            logger.debug("%s body %d: no edema added: %s", case.case_id, k, exc)
    if image.dtype == np.uint8:
        arr = np.clip(arr, 0, 255)
    return arr.astype(np.float32), lab, done


def draw_compression(rng: np.random.Generator) -> tuple[DeformityType, float]:
    """The training mix of compressions: wedge (half), biconcave or crush, 15-60 % loss."""
    kind = DeformityType(str(rng.choice(["wedge", "biconcave", "crush"], p=[0.5, 0.25, 0.25])))
    return kind, float(rng.uniform(0.15, 0.6))


def draw_edema(rng: np.random.Generator) -> EdemaPattern | None:
    """Edema for half the compressions: band or diffuse; None for the other half."""
    if rng.random() < 0.5:
        return EdemaPattern(str(rng.choice(["band", "diffuse"])))
    return None


def _touches_edge(mask: np.ndarray) -> bool:
    return bool(
        mask[:, 0].any() or mask[:, -1].any() or mask[:, :, 0].any() or mask[:, :, -1].any()
    )

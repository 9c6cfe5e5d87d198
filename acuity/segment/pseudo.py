"""Pseudo-labels of S1 for exams that label the lumbar spine only down to L5.

The vb2 and vb3 exams mask T11-L5 / L1-L5 and document that nothing below L5 is labelled,
so the body directly below their L5 is S1 by definition. A first model (trained with that
region masked out) segments it; :func:`find_s1_below` takes its instance directly below the
labelled L5 as an S1 mask, when one is there and plausible. A second training stage then
sees S1 on T2 and water images too, not only on the few vb1 exams and the phantom.
"""

from __future__ import annotations

import logging

import numpy as np

from acuity.segment.dataset import Case
from acuity.segment.level import VertebraLevel
from acuity.segment.network import LoadedModel

logger = logging.getLogger(__name__)


def find_s1_below(case: Case, model: LoadedModel) -> np.ndarray | None:
    """(Z, Y, X) bool mask of S1 in ``case`` (1 mm grid), or None when not found.

    Only for exams whose meta names L5 as the lowest labelled body. The S1 instance must lie
    beyond L5 along the L4->L5 axis (centroid at least 0.5 and at most 1.8 L4-L5 distances
    from L5), overlap the labelled bodies by under 10 % and hold at least 30 % of L5's volume.
    """
    import SimpleITK as sitk

    from acuity.segment.api import segment_image

    if case.bottom_is_s1 or case.levels is None or case.levels[-1] is not VertebraLevel.L5:
        return None
    image = sitk.ReadImage(str(case.image_path))
    ref = sitk.GetArrayFromImage(sitk.ReadImage(str(case.labels_path)))
    pred = sitk.GetArrayFromImage(segment_image(image, model=model).label_map)
    ids = [int(v) for v in np.unique(ref) if v]
    if len(ids) < 2:
        return None

    def centre(mask: np.ndarray) -> np.ndarray:
        return np.array([a.mean() for a in np.nonzero(mask)])

    l5, l4 = centre(ref == ids[-1]), centre(ref == ids[-2])
    step = float(np.linalg.norm((l5 - l4)[1:]))
    axis = (l5 - l4)[1:] / step
    l5_volume = int((ref == ids[-1]).sum())
    best: tuple[float, int] | None = None
    for p in (int(v) for v in np.unique(pred) if v):
        m = pred == p
        n = int(m.sum())
        if (ref[m] > 0).sum() > 0.1 * n or n < 0.3 * l5_volume:
            continue
        d = centre(m) - l5
        along = float(d[1:] @ axis)
        dist = float(np.linalg.norm(d[1:]))
        if 0.5 * step <= along and dist <= 1.8 * step and (best is None or dist < best[0]):
            best = (dist, p)
    if best is None:
        logger.info("%s: no S1 candidate below L5", case.case_id)
        return None
    mask: np.ndarray = (pred == best[1]) & (ref == 0)
    logger.info("%s: S1 pseudo-label %d mm3, %.0f mm below L5", case.case_id, int(mask.sum()), best[0])
    return mask

"""``segment_image``: every vertebral body of an image as its own mask, with its level."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from acuity.errors import InputError
from acuity.segment.grid import array_to_image, check_image, resample_to, to_working
from acuity.segment.instances import InstanceParams, describe_instances, separate_bodies
from acuity.segment.level import VertebraLevel
from acuity.segment.levels import assign_levels
from acuity.segment.model import Segmentation, VertebralBody
from acuity.segment.network import LoadedModel, load_model

logger = logging.getLogger(__name__)

#: Stale-refiner warnings already given (one per model and refiner, not one per study).
_WARNED: set[tuple[str, str]] = set()

#: A body given by its label number (1..N, superior to inferior) or an LPS point in mm.
BodyPosition = int | Sequence[float]


def _instance_params(model: LoadedModel) -> InstanceParams:
    c = model.config
    return InstanceParams(
        body_threshold=c.body_threshold,
        core_threshold=c.core_threshold,
        min_core_mm3=c.min_core_mm3,
        min_body_mm3=c.min_body_mm3,
        min_body_fraction=c.min_body_fraction,
        s1_score=c.s1_threshold,
    )


def working_instances(
    work: np.ndarray, spacing_zyx: tuple[float, float, float], model: LoadedModel
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(normalised image, probabilities (C, Z, Y, X), instance labels) of a working-grid array
    (Z, Y, X): the main network's view, which the outline refiner is trained on and refines."""
    from acuity.segment.infer import normalise, predict_normalised

    norm = normalise(work, model.config.percentiles)
    probs = predict_normalised(norm, model)
    # S1 is a vertebral body: where the S1 channel is surer than the body channel (the
    # sacrum is body in some training exams and unlabelled in others), it decides.
    np.maximum(probs[0], probs[2], out=probs[0])
    labels = separate_bodies(probs, spacing_zyx, _instance_params(model))
    return norm, probs, labels


def _to_input_grid(
    work_labels: np.ndarray, body_prob: np.ndarray, work: sitk.Image, image: sitk.Image, threshold: float
) -> np.ndarray:
    """Instance labels on ``image``'s grid: the body probability resampled (linear) and
    thresholded there, each voxel taking the label of the nearest working-grid instance."""
    prob_o = sitk.GetArrayFromImage(resample_to(array_to_image(body_prob, work), image))
    lab_o = sitk.GetArrayFromImage(
        resample_to(array_to_image(work_labels.astype(np.uint16), work), image, nearest=True)
    ).astype(np.int32)
    mask = prob_o > threshold
    out = np.zeros(lab_o.shape, dtype=np.int32)
    if not lab_o.any():
        return out
    spacing_zyx = tuple(float(v) for v in reversed(image.GetSpacing()))  # type: ignore[no-untyped-call]
    reach = 1.5 * max(work.GetSpacing())  # type: ignore[no-untyped-call]
    # Work inside the bounding box of the bodies (plus the reach): a few % of a clinical grid.
    nz = np.nonzero(lab_o)
    pad = [int(np.ceil(reach / s)) + 1 for s in spacing_zyx]
    box = tuple(
        slice(max(int(a.min()) - p, 0), min(int(a.max()) + p + 1, n))
        for a, p, n in zip(nz, pad, lab_o.shape)
    )
    sub = lab_o[box]
    # Mask voxels just outside the resampled labels take the neighbouring label (a box
    # maximum over +-reach; neighbouring bodies are a disc apart, so it never mixes them).
    size = [2 * int(np.ceil(reach / s)) + 1 for s in spacing_zyx]
    grown = ndimage.maximum_filter(sub, size=size)
    filled = np.where(sub > 0, sub, grown)
    out[box] = np.where(mask[box], filled, 0)
    return out


def _centroids(labels: np.ndarray, ids: list[int]) -> list[tuple[float, float, float]]:
    """Centre of mass (z, y, x index) of each label in ``ids``."""
    if not ids:
        return []
    zz, yy, xx = np.nonzero(labels)
    lab = labels[zz, yy, xx]
    n = int(labels.max()) + 1
    count = np.maximum(np.bincount(lab, minlength=n), 1).astype(float)
    c = [np.bincount(lab, weights=a.astype(float), minlength=n) / count for a in (zz, yy, xx)]
    return [(float(c[0][i]), float(c[1][i]), float(c[2][i])) for i in ids]


def _resolve_position(pos: BodyPosition, label_map: np.ndarray, image: sitk.Image, centroids: list[tuple[float, float, float]]) -> int:
    """0-based body index named by a label number or an LPS point."""
    n = len(centroids)
    if isinstance(pos, (int, np.integer)):
        if not 1 <= int(pos) <= n:
            raise InputError(f"level_at body {pos} is not one of the labels 1..{n} found")
        return int(pos) - 1
    pt = tuple(float(v) for v in pos)
    if len(pt) != 3:
        raise InputError(f"level_at position {pos!r} must be a label number or an LPS point (x, y, z) in mm")
    idx = image.TransformPhysicalPointToIndex(pt)  # type: ignore[no-untyped-call]
    size = image.GetSize()  # type: ignore[no-untyped-call]
    if all(0 <= i < s for i, s in zip(idx, size)):
        lab = int(label_map[idx[2], idx[1], idx[0]])
        if lab:
            return lab - 1
    d = [float(np.linalg.norm(np.subtract(c, pt))) for c in centroids]
    best = int(np.argmin(d)) if d else -1
    if best < 0 or d[best] > 20.0:
        raise InputError(
            f"level_at position {pt} (LPS mm) is not inside or within 20 mm of any body found"
        )
    return best


def segment_image(
    image: sitk.Image,
    *,
    lowest_level: VertebraLevel | str | None = None,
    level_at: tuple[BodyPosition, VertebraLevel | str] | None = None,
    model: LoadedModel | str | Path | None = None,
    refine: bool = True,
) -> Segmentation:
    """Segment every vertebral body of ``image`` (any orientation and spacing, LPS).

    Returns the instance label map on ``image``'s own grid (1..N superior to inferior) and
    one :class:`VertebralBody` per label. Levels come from the S1 anchor, or from a hint:
    ``lowest_level="L5"`` (the lowest body found) or ``level_at=(pos, "L3")`` where ``pos``
    is a label number or an LPS point (mm) inside a body. ``refine=False`` skips the
    model's per-body outline refiner (:mod:`acuity.segment.refine`), when it has one.
    """
    check_image(image)
    try:
        if lowest_level is not None:
            lowest_level = VertebraLevel.parse(lowest_level)
        if level_at is not None:
            level_at = (level_at[0], VertebraLevel.parse(level_at[1]))
    except ValueError as exc:
        raise InputError(f"level hint: {exc}") from None
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    cfg = loaded.config
    t0 = time.perf_counter()
    work = to_working(image, inplane_mm=cfg.inplane_mm, min_slice_mm=cfg.min_slice_mm)
    spacing_zyx = tuple(float(v) for v in reversed(work.GetSpacing()))  # type: ignore[no-untyped-call]
    params = _instance_params(loaded)
    norm, probs, work_labels = working_instances(sitk.GetArrayFromImage(work), spacing_zyx, loaded)  # type: ignore[arg-type]
    body_prob = probs[0]
    refiner_path = loaded.refiner_path() if refine else None
    if refiner_path is not None:
        from acuity.segment.refine import load_refiner, refine_bodies, stale_refiner

        refiner = load_refiner(refiner_path)
        why = stale_refiner(loaded, refiner)
        if why is not None and (loaded.weights_sha256, str(refiner_path)) not in _WARNED:
            _WARNED.add((loaded.weights_sha256, str(refiner_path)))
            logger.warning("%s", why)
        work_labels, body_prob = refine_bodies(norm, probs[0], work_labels, refiner)
    work_info = {i.label: i for i in describe_instances(work_labels, probs, spacing_zyx, params)}  # type: ignore[arg-type]
    lab = _to_input_grid(work_labels, body_prob, work, image, cfg.body_threshold)

    # Order superior to inferior by the centroid's LPS z (head is +z).
    present = [int(v) for v in np.unique(lab) if v]
    voxel = float(np.prod(image.GetSpacing()))  # type: ignore[no-untyped-call]
    counts = np.bincount(lab.ravel(), minlength=int(lab.max()) + 1) if present else np.zeros(1)
    cents_idx = _centroids(lab, present)
    cents = {
        w: image.TransformContinuousIndexToPhysicalPoint((c[2], c[1], c[0]))  # type: ignore[no-untyped-call]
        for w, c in zip(present, cents_idx)
    }
    order = sorted(present, key=lambda w: -cents[w][2])
    lut = np.zeros(int(lab.max()) + 1, dtype=np.int32)
    for k, w in enumerate(order, start=1):
        lut[w] = k
    final = lut[lab]
    centroids = [tuple(float(v) for v in cents[w]) for w in order]

    index_at = None
    if level_at is not None:
        index_at = (_resolve_position(level_at[0], final, image, centroids), level_at[1])  # type: ignore[arg-type]
    assignment = assign_levels(
        [-c[2] for c in centroids],
        [work_info[w].s1_score for w in order],
        s1_threshold=cfg.s1_threshold,
        lowest_level=lowest_level,
        level_at=index_at,  # type: ignore[arg-type]
    )
    bodies = [
        VertebralBody(
            label=k,
            level=assignment.levels[k - 1],
            level_confidence=float(assignment.confidences[k - 1]),
            volume_mm3=float(counts[w] * voxel),
            partial=work_info[w].partial,
            centroid_lps=centroids[k - 1],  # type: ignore[arg-type]
            s1_score=work_info[w].s1_score,
            cut_laterally=work_info[w].cut_laterally,
        )
        for k, w in enumerate(order, start=1)
    ]
    dtype = np.uint8 if len(bodies) < 256 else np.uint16
    label_map = sitk.GetImageFromArray(final.astype(dtype))
    label_map.CopyInformation(image)  # type: ignore[no-untyped-call]
    warnings = []
    if not bodies:
        warnings.append("no vertebral body found")
    cut = [b for b in bodies if b.cut_laterally and not b.partial]
    if cut:
        names = ", ".join(b.level.value if b.level else f"body {b.label}" for b in cut)
        warnings.append(
            f"{names}: lateral edge beyond the first or last sagittal slice; measured on the "
            "part in view (its mid-sagittal plane is covered)"
        )
    logger.info(
        "segmented %d bodies in %.2f s (%s)", len(bodies), time.perf_counter() - t0, assignment.source
    )
    return Segmentation(
        label_map=label_map,
        bodies=bodies,
        level_note=assignment.note,
        level_source=assignment.source,
        model_name=cfg.name,
        warnings=warnings,
    )

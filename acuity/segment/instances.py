"""From network probabilities to separate vertebral bodies (instances) on the working grid.

The network predicts, per voxel, *body*, *core* (the body eroded by 3 mm in-plane, so that
the cores of neighbouring bodies never touch even where the bodies do) and *S1*. Instances
are the body mask flooded (watershed on the core probability) from connected cores; bodies
without a core become instances of their own when large enough; an instance much taller
than its neighbours is re-split at a stricter core threshold or an eroded core; touching
pieces of S1 (which has no usable core) are merged; fragments are dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.segmentation import watershed

logger = logging.getLogger(__name__)

#: 6-connectivity in 3-D.
_STRUCT6 = ndimage.generate_binary_structure(3, 1)
#: In-plane (sagittal) 4-neighbourhood.
_INPLANE = np.array([[[0, 1, 0], [1, 1, 1], [0, 1, 0]]], dtype=bool)


@dataclass(frozen=True)
class InstanceParams:
    body_threshold: float = 0.5
    core_threshold: float = 0.5
    min_core_mm3: float = 150.0
    min_body_mm3: float = 1000.0
    min_body_fraction: float = 0.2
    #: An instance taller (head-feet) than this multiple of the median is re-split.
    split_height_ratio: float = 1.6
    #: Touching instances whose mean S1 probability both reach this are one sacrum (merged);
    #: the same value as the model's ``s1_threshold`` for naming S1.
    s1_score: float = 0.5
    #: Re-splitting erodes the core in-plane up to this depth (mm) to break a bridge between
    #: two bodies: on the oblique lateral slices of a scoliotic spine (vb3-49) the core runs
    #: across a disc in a bridge 12-15 mm wide. Only body-sized parts count as a split.
    split_max_erosion_mm: float = 10.0
    #: An instance whose core (or, for S1, S1) probability nowhere reaches this is not a
    #: body: on the validation exams every lumbar / thoracic body's core peaks at >= 0.99 and S1 at 0.84,
    #: while blobs the network half-sees in noise or soft tissue peak at 0.5-0.8.
    min_core_peak: float = 0.75
    #: A body cut by the first or last sagittal slice still counts as whole when the slices
    #: show at least this multiple of its front-back depth across: thoracolumbar bodies are
    #: 1.2-1.5x as wide as deep (Panjabi et al., Spine 1991 / 1992), so its mid-sagittal plane
    #: is in view with a margin. Clinical sagittal series often cover less than a body's width.
    min_lateral_view: float = 0.9
    #: A body touching the head, feet, front or back edge of the image is cut by it when its
    #: contact there is at least this fraction of its largest cross-section parallel to that
    #: edge; a few voxels leaking to the edge (a neighbour's unlabelled corner) do not count.
    min_edge_contact: float = 0.3
    #: The same for the first and last sagittal slice (``Instance.cut_laterally``).
    min_slice_contact: float = 0.5


@dataclass(frozen=True)
class Instance:
    """One body on the working grid (indices are (z, y, x) = slice, row, column)."""

    label: int
    n_voxels: int
    volume_mm3: float
    centroid_index: tuple[float, float, float]
    #: Mean S1 probability inside the body.
    s1_score: float
    #: Cut by the head, feet, front or back edge of the image (``min_edge_contact``), or by
    #: the first or last slice with less than ``InstanceParams.min_lateral_view`` of its depth
    #: in view.
    partial: bool
    #: Cut by the first or last slice (its lateral edge out of view), partial or not.
    cut_laterally: bool = False


def _flood(core_prob: np.ndarray, body: np.ndarray, cores: np.ndarray, min_core_vox: int) -> np.ndarray:
    markers, n = ndimage.label(cores, structure=_STRUCT6)
    if n:
        sizes = np.bincount(markers.ravel(), minlength=n + 1)
        small = sizes < min_core_vox
        small[0] = False
        markers[small[markers]] = 0
    if not markers.any():
        return np.zeros(body.shape, dtype=np.int32)
    return np.asarray(watershed(-core_prob, markers, mask=body), dtype=np.int32)  # type: ignore[no-untyped-call]


def _relabel(labels: np.ndarray) -> np.ndarray:
    ids = np.unique(labels)
    ids = ids[ids > 0]
    lut = np.zeros(int(labels.max()) + 1, dtype=np.int32)
    lut[ids] = np.arange(1, len(ids) + 1, dtype=np.int32)
    return lut[labels]  # type: ignore[no-any-return]


def separate_bodies(
    probs: np.ndarray, spacing_zyx: tuple[float, float, float], params: InstanceParams | None = None
) -> np.ndarray:
    """Instance labels (Z, Y, X) int32, 1..N in arbitrary order, from (3, Z, Y, X) probabilities."""
    p = params or InstanceParams()
    voxel = float(np.prod(spacing_zyx))
    body = probs[0] > p.body_threshold
    core_prob = probs[1]
    cores = (core_prob > p.core_threshold) & body
    labels = _flood(core_prob, body, cores, max(1, int(p.min_core_mm3 / voxel)))

    # Bodies with no core (small, or a thin slab at the edge of a thick-slice series).
    rest, n_rest = ndimage.label(body & (labels == 0), structure=_STRUCT6)
    if n_rest:
        sizes = np.bincount(rest.ravel(), minlength=n_rest + 1)
        nxt = int(labels.max())
        for r in np.nonzero(sizes * voxel >= p.min_body_mm3)[0]:
            if r == 0:
                continue
            nxt += 1
            labels[rest == r] = nxt

    labels = _split_tall(labels, core_prob, body, voxel, spacing_zyx, p)
    labels = _merge_s1(labels, probs[2], p.s1_score)
    # S1 has no usable core (its core channel hovers about 0.5): its S1 probability stands in.
    labels = _drop_unsure(labels, np.maximum(core_prob, probs[2]), p.min_core_peak)
    return _drop_fragments(labels, voxel, p)


def _merge_s1(labels: np.ndarray, s1_prob: np.ndarray, min_score: float) -> np.ndarray:
    """Merge touching instances that are each mostly S1 (mean S1 probability >= ``min_score``).

    S1 has no usable core: inside it the core channel hovers about 0.5, the core threshold,
    and specks just above it seed several instances side by side in one sacrum (vb2-02,
    vb1-15), which the S1 anchor would then count as levels. Separate S1-like bodies (a
    transitional vertebra above S1) are a disc apart and do not touch.
    """
    n = int(labels.max())
    if n < 2:
        return labels
    scores = np.asarray(ndimage.mean(s1_prob, labels, index=np.arange(1, n + 1)))
    s1_like = np.concatenate([[False], scores >= min_score])
    if s1_like.sum() < 2:
        return labels
    groups, n_groups = ndimage.label(s1_like[labels], structure=_STRUCT6)
    out = labels.copy()
    for g in range(1, n_groups + 1):
        inside = groups == g
        ids = np.unique(labels[inside])
        if len(ids) > 1:
            out[inside] = ids[0]
            logger.debug("merged %d touching S1-like instances into one", len(ids))
    return _relabel(out)


def _drop_unsure(labels: np.ndarray, core_prob: np.ndarray, min_peak: float) -> np.ndarray:
    n = int(labels.max())
    if n == 0:
        return labels
    peaks = np.asarray(ndimage.maximum(core_prob, labels, index=np.arange(1, n + 1)))
    keep = np.concatenate([[False], peaks >= min_peak])
    if not keep[1:].all():
        logger.debug("dropped %d instance(s) whose core peaks below %.2f", int((~keep[1:]).sum()), min_peak)
    return _relabel(np.where(keep[labels], labels, 0))


def _split_tall(
    labels: np.ndarray,
    core_prob: np.ndarray,
    body: np.ndarray,
    voxel: float,
    spacing_zyx: tuple[float, float, float],
    p: InstanceParams,
) -> np.ndarray:
    """Re-split instances much taller than the median (two bodies joined by a bridge)."""
    n = int(labels.max())
    if n < 3:
        return labels
    objs = ndimage.find_objects(labels)
    heights = np.array([(o[1].stop - o[1].start) * spacing_zyx[1] if o else 0.0 for o in objs])
    median = float(np.median(heights[heights > 0]))
    counts = np.bincount(labels.ravel())[1:]
    median_vox = float(np.median(counts[counts > 0]))
    nxt = n
    n_erosions = max(1, round(p.split_max_erosion_mm / min(spacing_zyx[1], spacing_zyx[2])))
    for lab, (obj, h) in enumerate(zip(objs, heights), start=1):
        if obj is None or h <= p.split_height_ratio * median:
            continue
        sub = labels[obj] == lab
        min_vox = max(1, int(p.min_core_mm3 / voxel))
        cp = core_prob[obj]
        # Stricter core thresholds first, then in-plane erosions of the core (a bridge of a
        # few voxels, e.g. an osteophyte or a lateral partial-volume slice, breaks).
        attempts: list[tuple[str, np.ndarray]] = [
            (f"core > {thr}", (cp > thr) & sub) for thr in (0.7, 0.85, 0.95)
        ]
        core = (cp > p.core_threshold) & sub
        for it in range(1, n_erosions + 1):
            attempts.append((f"core eroded {it}x", ndimage.binary_erosion(core, _INPLANE, iterations=it)))
        for how, seeds in attempts:
            parts = _flood(cp, sub, seeds, min_vox)
            sizes = np.bincount(parts.ravel())[1:]
            # A real split gives two or more body-sized parts, not a body and a crumb.
            if (sizes >= 0.35 * median_vox).sum() >= 2:
                view = labels[obj]
                view[sub] = 0
                for k in range(1, int(parts.max()) + 1):
                    nxt += 1
                    view[parts == k] = nxt
                # Voxels of the old instance the new cores do not reach keep no label.
                logger.debug("split a %.0f mm tall instance into %d (%s)", h, parts.max(), how)
                break
    return _relabel(labels)


def _drop_fragments(labels: np.ndarray, voxel: float, p: InstanceParams) -> np.ndarray:
    n = int(labels.max())
    if n == 0:
        return labels
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:] * voxel
    big = sizes[sizes >= p.min_body_mm3]
    floor = max(p.min_body_mm3, p.min_body_fraction * float(np.median(big)) if len(big) else 0.0)
    keep = np.concatenate([[False], sizes >= floor])
    out = np.where(keep[labels], labels, 0)
    dropped = int((~keep[1:]).sum())
    if dropped:
        logger.debug("dropped %d fragment(s) smaller than %.0f mm3", dropped, floor)
    return _relabel(out)


def describe_instances(
    labels: np.ndarray,
    probs: np.ndarray,
    spacing_zyx: tuple[float, float, float],
    params: InstanceParams | None = None,
) -> list[Instance]:
    """One :class:`Instance` per label of ``labels`` (order of labels)."""
    p = params or InstanceParams()
    n = int(labels.max())
    if n == 0:
        return []
    voxel = float(np.prod(spacing_zyx))
    idx = list(range(1, n + 1))
    counts = np.bincount(labels.ravel(), minlength=n + 1)
    cents = ndimage.center_of_mass(np.ones(labels.shape, bool), labels, idx)
    s1 = ndimage.mean(probs[2], labels, idx)
    objs = ndimage.find_objects(labels)
    nz, _ny, _nx = labels.shape
    out = []
    for lab in idx:
        obj = objs[lab - 1]
        partial = cut = False
        if obj is not None:
            mine = labels[obj] == lab  # the body inside its bounding box
            partial = any(_cut_at_edge(mine, obj, labels.shape, a, p.min_edge_contact) for a in (1, 2))
            cut = nz > 1 and _cut_at_edge(mine, obj, labels.shape, 0, p.min_slice_contact)
            if cut and not partial:
                across = (obj[0].stop - obj[0].start) * spacing_zyx[0]
                depth = (obj[2].stop - obj[2].start) * spacing_zyx[2]
                partial = across < p.min_lateral_view * depth
        out.append(
            Instance(
                label=lab,
                n_voxels=int(counts[lab]),
                volume_mm3=float(counts[lab] * voxel),
                centroid_index=tuple(float(v) for v in cents[lab - 1]),  # type: ignore[arg-type]
                s1_score=float(s1[lab - 1]),
                partial=partial,
                cut_laterally=cut,
            )
        )
    return out


def _cut_at_edge(
    mine: np.ndarray, obj: tuple[slice, ...], shape: tuple[int, ...], axis: int, min_contact: float
) -> bool:
    """Whether a body (``mine``: its mask in its bounding box ``obj``) is cut by the first or
    last plane of the image along ``axis``: its section there is at least ``min_contact``
    times its largest section parallel to it (0: slices, 1: rows, 2: columns)."""
    at_start, at_stop = obj[axis].start == 0, obj[axis].stop == shape[axis]
    if not (at_start or at_stop):
        return False
    sections = mine.sum(axis=tuple(a for a in range(3) if a != axis))  # voxels per plane
    floor = min_contact * float(sections.max())
    return bool((at_start and sections[0] >= floor) or (at_stop and sections[-1] >= floor))

"""Training data for the 2.5-D network: prepared volumes, augmented batches, masked loss.

Used by ``scripts/train_segmentation.py``; kept in the package so that tests can check the
targets and the loss masking. Samples are sagittal 2.5-D stacks drawn from 1 mm isotropic
volumes with augmentations for sequence, vendor, field strength and resolution:

* thick slices: each input channel is the mean of ``t`` adjacent 1 mm slices, neighbours
  ``s`` mm apart (s in 1..5 mm), as in clinical 3-5 mm sagittal series;
* in-plane affine (zoom 0.85-1.18, aspect, rotation +-15 deg) resampled to 1.25 mm pixels;
* intensity: percentile jitter, inversion (T1 <-> fluid-bright looks), gamma
  (``RandAdjustContrast``), non-linear curves (``RandHistogramShift``), bias field
  (``RandBiasField``), blur (``RandGaussianSmooth``), ringing (``RandGibbsNoise``), noise
  (``RandRicianNoise``), all MONAI transforms;
* left-right mirror (neighbour order reversed).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage

from acuity.segment.dataset import Case, unlabelled_region

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

#: In-plane erosion (mm) of each body that gives the "core" target used to split instances.
CORE_EROSION_MM = 3.0


@dataclass
class PreparedVolume:
    """One labelled volume held in memory for sampling (arrays are (Z, Y, X), 1 mm)."""

    name: str
    #: Sequence group (T1, T2, TIRM, water, synthetic).
    group: str
    #: Source data set (vb1, vb2, vb3, synthetic): sampling weights are per source.
    source: str
    #: Cumulative sum of the image along Z with a leading zero slice: slab means are O(1).
    cumsum: np.ndarray
    #: Targets: uint8 (3, Z, Y, X) = body, core, s1.
    targets: np.ndarray
    #: (Z, Y, X) region masked out of the body and core loss: beyond the labelled range and
    #: not labelled.
    ignore: np.ndarray
    #: Label whose S1 target is unknown (masked out of the S1 loss); 0 for none.
    s1_unknown_label: int
    labels: np.ndarray
    #: Percentiles 0.2, 2, 98, 99.9 of the image (normalisation jitter range).
    pct: tuple[float, float, float, float]
    centroids: np.ndarray
    z_range: tuple[int, int]

    @property
    def shape(self) -> tuple[int, int, int]:
        z, y, x = self.labels.shape
        return int(z), int(y), int(x)


def core_target(labels: np.ndarray, erosion_mm: float = CORE_EROSION_MM) -> np.ndarray:
    """Each body eroded in-plane (per sagittal slice) by ``erosion_mm`` (1 mm voxels)."""
    core = np.zeros(labels.shape, dtype=bool)
    for lab in (int(v) for v in np.unique(labels) if v):
        zz, yy, xx = np.nonzero(labels == lab)
        z0, z1 = zz.min(), zz.max() + 1
        y0, y1 = max(yy.min() - 1, 0), yy.max() + 2
        x0, x1 = max(xx.min() - 1, 0), xx.max() + 2
        sub = labels[z0:z1, y0:y1, x0:x1] == lab
        for k in range(sub.shape[0]):
            if sub[k].any():
                d = ndimage.distance_transform_edt(sub[k])
                core[z0 + k, y0:y1, x0:x1] |= d > erosion_mm
    return core


def prepare_volume(
    name: str,
    group: str,
    source: str,
    image: np.ndarray,
    labels: np.ndarray,
    *,
    bottom_is_s1: bool,
    s1_label_known: bool = True,
    ignore_below: bool | None = None,
) -> PreparedVolume:
    """Targets and sampling tables of one 1 mm (Z, Y, X) volume with labels 1..N sup->inf.

    ``ignore_below`` (default: not ``bottom_is_s1``) masks the unlabelled region below the
    lowest body out of the loss.
    """
    if ignore_below is None:
        ignore_below = not bottom_is_s1
    img = image.astype(np.float32)
    ids = [int(v) for v in np.unique(labels) if v]
    body = labels > 0
    s1 = labels == ids[-1] if (bottom_is_s1 and ids) else np.zeros_like(body)
    targets = np.stack([body, core_target(labels), s1]).astype(np.uint8)
    ignore = unlabelled_region(labels, not ignore_below)[None] & (labels == 0)
    s1_unknown = 0 if (bottom_is_s1 or s1_label_known or not ids) else ids[-1]
    cumsum = np.concatenate([np.zeros((1,) + img.shape[1:], np.float32), np.cumsum(img, 0)], 0)
    p = np.percentile(img, [0.2, 2.0, 98.0, 99.9])
    cents = np.array(ndimage.center_of_mass(body, labels, ids)) if ids else np.zeros((0, 3))
    zz = np.nonzero(body.any(axis=(1, 2)))[0]
    z_range = (int(zz.min()), int(zz.max())) if len(zz) else (0, img.shape[0] - 1)
    return PreparedVolume(
        name=name,
        group=group,
        source=source,
        cumsum=cumsum,
        targets=targets,
        ignore=ignore,
        s1_unknown_label=s1_unknown,
        labels=labels.astype(np.uint8),
        pct=(float(p[0]), float(p[1]), float(p[2]), float(p[3])),
        centroids=cents,
        z_range=z_range,
    )


def prepare_case(
    case: Case,
    s1_mask: np.ndarray | None = None,
    *,
    fracture_rng: np.random.Generator | None = None,
    adjacent: float = 0.0,
) -> PreparedVolume:
    """A real exam as training volume; ``s1_mask`` (Z, Y, X bool) adds a pseudo-labelled S1
    below the lowest labelled body (see :mod:`acuity.segment.pseudo`); with ``fracture_rng``
    one or two of its bodies are compressed first (:mod:`acuity.segment.fractures`; ``adjacent``:
    the share of two-body copies that take two neighbours)."""
    import SimpleITK as sitk

    label_img = sitk.ReadImage(str(case.labels_path))
    image = sitk.GetArrayFromImage(sitk.ReadImage(str(case.image_path)))
    labels = sitk.GetArrayFromImage(label_img)
    name = case.case_id
    if fracture_rng is not None:
        from acuity.segment.fractures import fracture_case
        from acuity.sim.grid import Grid

        skip = 2 if s1_mask is not None else 1
        image, labels, done = fracture_case(
            case, image, labels, Grid.from_image(label_img), fracture_rng, skip_lowest=skip,
            adjacent=adjacent,
        )
        name = f"{case.case_id}-fx"
        what = "; ".join(f"body {k}: {v}" for k, v in done.items())
        logger.info("%s: %s", name, what or "no eligible body")
    if s1_mask is not None:
        labels = labels.copy()
        labels[s1_mask & (labels == 0)] = int(labels.max()) + 1
        # S1 is the new lowest body; the rest of the sacrum stays unknown (masked out).
        flags = {"bottom_is_s1": True, "ignore_below": True}
    else:
        # vb2/vb3 lowest bodies are L5 (meta), never S1; vb1 exams without named levels whose
        # lowest body is not known to be S1 (DzZ) leave that body's S1 target unknown.
        known = case.bottom_is_s1 or case.levels is not None
        flags = {"bottom_is_s1": case.bottom_is_s1, "s1_label_known": known}
    return prepare_volume(
        name, case.sequence_group.value, case.source_group, image, labels, **flags
    )


@dataclass(frozen=True)
class AugmentConfig:
    patch: int = 192
    pixel_mm: float = 1.25
    slice_spacings: tuple[int, ...] = (1, 2, 3, 4, 5)
    slice_spacing_p: tuple[float, ...] = (0.3, 0.15, 0.2, 0.2, 0.15)
    zoom: tuple[float, float] = (0.85, 1.18)
    aspect: tuple[float, float] = (0.92, 1.08)
    rotate_deg: float = 15.0
    p_invert: float = 0.25
    p_mirror: float = 0.5
    context: int = 3


class BatchSampler:
    """Draws augmented (image, target, mask) batches from prepared volumes, reproducibly."""

    def __init__(
        self,
        volumes: list[PreparedVolume],
        *,
        seed: int,
        config: AugmentConfig | None = None,
        source_weights: dict[str, float] | None = None,
    ) -> None:
        from monai.transforms import compose as mtc
        from monai.transforms.intensity import array as mt

        self.volumes = volumes
        self.cfg = config or AugmentConfig()
        self.rng = np.random.default_rng(seed)
        w = source_weights or {}
        per_vol = np.array(
            [w.get(v.source, 1.0) / sum(u.source == v.source for u in volumes) for v in volumes]
        )
        self.p_volume = per_vol / per_vol.sum()
        self.intensity = mtc.Compose(
            [
                mt.RandAdjustContrast(prob=0.5, gamma=(0.5, 2.0)),
                mt.RandHistogramShift(num_control_points=(4, 8), prob=0.3),
                mt.RandBiasField(degree=3, coeff_range=(0.0, 0.35), prob=0.5),
                mt.RandGaussianSmooth(
                    sigma_x=(0.3, 1.0), sigma_y=(0.3, 1.0), prob=0.2
                ),
                mt.RandGibbsNoise(prob=0.15, alpha=(0.0, 0.4)),
                mt.RandRicianNoise(prob=0.4, std=0.04, relative=False, sample_std=True),
            ]
        )
        self.intensity.set_random_state(seed=seed + 1)

    def _slab(self, vol: PreparedVolume, center: int, spacing: int, thickness: int) -> np.ndarray:
        z = vol.shape[0]
        half = self.cfg.context // 2
        chans = []
        for o in range(-half, half + 1):
            c = int(np.clip(center + o * spacing, 0, z - 1))
            a = int(np.clip(c - (thickness - 1) // 2, 0, z - 1))
            b = int(np.clip(a + thickness, a + 1, z))
            chans.append((vol.cumsum[b] - vol.cumsum[a]) / (b - a))
        return np.stack(chans)

    def sample(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One (image (C, P, P) float32, target (3, P, P) float32, mask (3, P, P) float32)."""
        import torch
        import torch.nn.functional as F

        cfg, rng = self.cfg, self.rng
        vol = self.volumes[int(rng.choice(len(self.volumes), p=self.p_volume))]
        nz, ny, nx = vol.shape
        z0, z1 = vol.z_range
        center = int(rng.integers(max(z0 - 6, 0), min(z1 + 6, nz - 1) + 1))
        spacing = int(rng.choice(cfg.slice_spacings, p=cfg.slice_spacing_p))
        thickness = max(1, round(spacing * rng.uniform(0.7, 1.0)))
        image = self._slab(vol, center, spacing, thickness)

        # Targets at the centre slice; masks: 1 = counts in the loss.
        tgt = vol.targets[:, center].astype(np.float32)
        known = (~vol.ignore[center]).astype(np.float32)
        s1_known = known.copy()
        if vol.s1_unknown_label:
            s1_known[vol.labels[center] == vol.s1_unknown_label] = 0.0
        inside = np.ones((ny, nx), np.float32)
        planes = np.concatenate([image, tgt, np.stack([known, s1_known, inside])])

        # In-plane affine: output pixel (u, v) -> source voxel (y, x).
        p = cfg.patch
        zoom = math.exp(rng.uniform(math.log(cfg.zoom[0]), math.log(cfg.zoom[1])))
        aspect = rng.uniform(*cfg.aspect)
        theta = math.radians(rng.uniform(-cfg.rotate_deg, cfg.rotate_deg))
        if len(vol.centroids) and rng.random() < 0.85:
            c = vol.centroids[int(rng.integers(len(vol.centroids)))][1:] + rng.normal(0, 25, 2)
        else:
            c = np.array([rng.uniform(0, ny), rng.uniform(0, nx)])
        sy, sx = cfg.pixel_mm * zoom * aspect, cfg.pixel_mm * zoom / aspect
        rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
        lin = rot @ np.diag([sy, sx])
        # grid_sample (align_corners=True): normalised coords n = 2 * idx / (size - 1) - 1
        to_norm = np.diag([2.0 / (ny - 1), 2.0 / (nx - 1)])
        a = to_norm @ lin * ((p - 1) / 2.0)
        b = to_norm @ c - 1.0
        # affine_grid works in (x, y) order.
        affine = np.array(
            [[a[1, 1], a[1, 0], b[1]], [a[0, 1], a[0, 0], b[0]]], dtype=np.float32
        )
        grid = F.affine_grid(torch.from_numpy(affine)[None], [1, 1, p, p], align_corners=True)
        src = torch.from_numpy(planes)[None]
        n_img = image.shape[0]
        img_out = F.grid_sample(src[:, :n_img], grid, mode="bilinear", padding_mode="zeros", align_corners=True)[0]
        lab_out = F.grid_sample(src[:, n_img:], grid, mode="nearest", padding_mode="zeros", align_corners=True)[0]
        tgt_o, known_o, s1k_o, inside_o = lab_out[:3], lab_out[3], lab_out[4], lab_out[5]
        # Outside the source field of view: background, counted in the loss (as at inference).
        outside = inside_o < 0.5
        known_o = torch.where(outside, torch.ones_like(known_o), known_o)
        s1k_o = torch.where(outside, torch.ones_like(s1k_o), s1k_o)
        mask = torch.stack([known_o, known_o, s1k_o])

        # Intensity: jittered percentile normalisation, then MONAI intensity transforms.
        lo = rng.uniform(vol.pct[0], vol.pct[1])
        hi = rng.uniform(vol.pct[2], vol.pct[3])
        x = ((img_out - lo) / max(hi - lo, 1e-3)).clamp(0, 1)
        if rng.random() < cfg.p_invert:
            x = 1.0 - x
        x = torch.as_tensor(self.intensity(x)).float().clamp(0, 1)
        x[:, outside] = 0.0
        if rng.random() < cfg.p_mirror:
            x = x.flip(0)
        return x.numpy(), tgt_o.numpy(), mask.numpy()

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        import torch

        items = [self.sample() for _ in range(size)]
        return (
            torch.from_numpy(np.stack([i[0] for i in items])),
            torch.from_numpy(np.stack([i[1] for i in items])),
            torch.from_numpy(np.stack([i[2] for i in items])),
        )


def boundary_band(target: torch.Tensor, radius: int) -> torch.Tensor:
    """1 within ``radius`` pixels of a target edge (dilation minus erosion), else 0.

    ``target``: (B, H, W) in {0, 1}; returns (B, H, W) float.
    """
    import torch.nn.functional as F

    k = 2 * radius + 1
    t = target[:, None]  # (B, 1, H, W)
    dil = F.max_pool2d(t, k, stride=1, padding=radius)
    ero = -F.max_pool2d(-t, k, stride=1, padding=radius)
    return (dil - ero)[:, 0]


def masked_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    weights: tuple[float, ...] = (1.0, 0.5, 0.5),
    *,
    boundary_weight: float = 1.0,
    boundary_radius: int = 2,
) -> tuple[torch.Tensor, dict[str, float]]:
    """BCE + soft Dice per channel, each counted only where ``mask`` is 1.

    Voxels in the unlabelled region (mask 0) contribute nothing: a visible but unlabelled
    body there is neither taught as background nor as body. ``boundary_weight`` > 1 weighs
    the body channel's BCE that much more within ``boundary_radius`` pixels of a body's
    outline (endplates and cortex: where a mask that spills into the disc loses height).
    """
    import torch
    import torch.nn.functional as F

    total = logits.new_zeros(())
    parts: dict[str, Any] = {}
    prob = torch.sigmoid(logits)
    for ch, w in enumerate(weights):
        m, y, lg, pr = mask[:, ch], target[:, ch], logits[:, ch], prob[:, ch]
        msum = m.sum().clamp_min(1.0)
        pos_weight = torch.tensor(3.0) if ch == 2 else None
        voxel = m
        if ch == 0 and boundary_weight != 1.0:
            voxel = m * (1.0 + (boundary_weight - 1.0) * boundary_band(y, boundary_radius))
        bce = (F.binary_cross_entropy_with_logits(lg, y, reduction="none", pos_weight=pos_weight) * voxel).sum() / msum
        inter = (pr * y * m).sum()
        denom = (pr * m).sum() + (y * m).sum()
        if (y * m).sum() > 0:
            dice = 1.0 - (2 * inter + 1.0) / (denom + 1.0)
        else:
            dice = logits.new_zeros(())
        total = total + w * (bce + dice)
        parts[f"bce{ch}"] = float(bce.detach())
        parts[f"dice{ch}"] = float(dice.detach())
    return total, parts

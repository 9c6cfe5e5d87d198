"""Per-body outline refinement: a second, small network redraws each body the main network found.

The main network over-fills a collapsed body: the voxels that were body before the
compression and now hold the stretched disc keep a high body probability (median 0.80 on
the simulated fractures of the validation exams), so the height loss is under-measured. The
refiner looks at one body at a time: a square crop (``crop`` pixels of the working grid,
1.25 mm) around the body's centre on each sagittal slice through it, with five channels

====  =========================================================================
0-2   the image (normalised as for the main network) on the slice and its two neighbours
3     the main network's body probability (all bodies)
4     the main network's mask of *this* body
====  =========================================================================

and outputs that body's mask on the middle slice. It was trained (``scripts/train_refiner.py``)
on the main network's own outputs for the training exams and fractured copies of them, the
mask channel randomly dilated or eroded so that it learns to correct the outline from the
image rather than copy it. A body keeps its number; where two refined bodies claim a voxel
the surer one has it.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage

from acuity.errors import ConfigError
from acuity.segment.network import LoadedModel, check_strides, load_files

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

#: Input channels of the refiner, in order.
INPUTS = ("image_prev", "image", "image_next", "body_probability", "body_mask")


@dataclass(frozen=True)
class RefinerConfig:
    """The refiner's architecture and inputs, stored beside its weights."""

    name: str
    #: MONAI 2-D ``UNet`` arguments.
    channels: tuple[int, ...] = (16, 32, 64, 128)
    strides: tuple[int, ...] = (2, 2, 2)
    num_res_units: int = 2
    norm: str = "instance"
    #: Crop side (pixels of the main model's working grid).
    crop: int = 64
    #: Slices refined beyond the main network's extent of the body, on each side.
    pad_slices: int = 2
    threshold: float = 0.5
    #: Average with the left-right mirrored input (the two neighbouring slices swapped).
    mirror_tta: bool = True
    #: The main model whose outputs it was trained on (its ``name``) ...
    main_model: str = "vertebrae_seg"
    #: ... and its weights' :func:`~acuity.segment.network.weights_digest` ("": not recorded).
    main_model_sha256: str = ""
    inputs: tuple[str, ...] = INPUTS
    training: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_strides("refiner", self.name, self.channels, self.strides)
        factor = int(np.prod(self.strides))
        if self.crop <= 0 or self.crop % factor:
            raise ConfigError(
                f"refiner {self.name}: 'crop' {self.crop} must be a positive multiple of "
                f"{factor} (the product of 'strides')"
            )
        if tuple(self.inputs) != INPUTS:
            raise ConfigError(
                f"refiner {self.name}: 'inputs' must be {list(INPUTS)}, got {list(self.inputs)}"
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RefinerConfig:
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(
                f"refiner config: unknown fields {unknown}; known: {sorted(cls.__dataclass_fields__)}"
            )
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ConfigError(f"refiner config: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass
class LoadedRefiner:
    config: RefinerConfig
    network: torch.nn.Module


def build_refiner(config: RefinerConfig) -> torch.nn.Module:
    """An untrained refiner network."""
    from monai.networks.nets.unet import UNet

    net: torch.nn.Module = UNet(
        spatial_dims=2,
        in_channels=len(INPUTS),
        out_channels=1,
        channels=config.channels,
        strides=config.strides,
        num_res_units=config.num_res_units,
        norm=config.norm,
    )
    return net


def load_refiner(weights: Path) -> LoadedRefiner:
    """Load ``<name>.pt`` + ``<name>.json`` (cached per path); nothing is downloaded."""
    return load_files(
        weights,
        "refiner",
        "train one with scripts/train_refiner.py, or set the main model's 'refiner' to \"\" "
        "to segment without it",
        RefinerConfig.from_dict,
        build_refiner,
        lambda config, net: LoadedRefiner(config=config, network=net),
    )


def stale_refiner(model: LoadedModel, refiner: LoadedRefiner) -> str | None:
    """Why ``refiner`` does not belong to ``model`` (it learnt the errors of other main-model
    weights), or None when it does or when either digest is unknown."""
    want, have = refiner.config.main_model_sha256, model.weights_sha256
    if not want or not have or want == have:
        return None
    return (
        f"refiner {refiner.config.name} was trained on the outputs of main-model weights {want}, "
        f"not on those of {model.config.name} ({have}); retrain it with scripts/train_refiner.py "
        "--model <these weights>, or set the main model's 'refiner' to \"\" to segment without it"
    )


Box = tuple[tuple[slice, slice], tuple[slice, slice]]


def crop_box(cy: float, cx: float, size: int, shape: tuple[int, ...]) -> Box:
    """Where a ``size`` crop centred at (cy, cx) meets an array whose last two axes are
    ``shape[-2:]``: ((rows, columns) in the array, (rows, columns) in the crop)."""
    array, crop = [], []
    for c, n in ((cy, shape[-2]), (cx, shape[-1])):
        start = round(c) - size // 2
        lo, hi = max(start, 0), max(min(start + size, n), max(start, 0))
        array.append(slice(lo, hi))
        crop.append(slice(lo - start, hi - start))
    return (array[0], array[1]), (crop[0], crop[1])


def crop2d(a: np.ndarray, cy: float, cx: float, size: int) -> np.ndarray:
    """(..., size, size) crop of (..., Y, X) centred at (cy, cx); zero outside the array."""
    (ar, ac), (cr, cc) = crop_box(cy, cx, size, a.shape)
    out = np.zeros(a.shape[:-2] + (size, size), dtype=np.float32)
    out[..., cr, cc] = a[..., ar, ac]
    return out


def body_input(
    image: np.ndarray,
    body_prob: np.ndarray,
    labels: np.ndarray,
    label: int,
    z: int,
    centre: tuple[float, float],
    crop: int,
) -> np.ndarray:
    """Refiner input (5, crop, crop) for body ``label`` on slice ``z`` (arrays (Z, Y, X))."""
    nz = image.shape[0]
    zi = np.clip([z - 1, z, z + 1], 0, nz - 1)
    cy, cx = centre
    img = crop2d(image[zi].astype(np.float32), cy, cx, crop)  # (3, S, S)
    prob = crop2d(body_prob[z].astype(np.float32), cy, cx, crop)  # (S, S)
    mask = crop2d((labels[z] == label).astype(np.float32), cy, cx, crop)
    return np.concatenate([img, prob[None], mask[None]])


def body_centre(mask: np.ndarray) -> tuple[float, float]:
    """(row, column) centre of a body's mask (Z, Y, X) projected over its slices."""
    yy, xx = np.nonzero(mask.any(axis=0))
    return float(yy.mean()), float(xx.mean())


def refine_bodies(
    image: np.ndarray, body_prob: np.ndarray, labels: np.ndarray, refiner: LoadedRefiner
) -> tuple[np.ndarray, np.ndarray]:
    """Refined (labels, body probability), both (Z, Y, X) on the working grid.

    ``image`` is normalised as the main network saw it; ``labels`` are its instances. A body
    whose refined mask comes out empty keeps the main network's outline.
    """
    import torch

    cfg = refiner.config
    size = cfg.crop
    nz = labels.shape[0]
    best = np.zeros(labels.shape, dtype=np.float32)
    out = np.zeros(labels.shape, dtype=labels.dtype)
    for k in (int(v) for v in np.unique(labels) if v):
        mine = labels == k
        zz = np.nonzero(mine.any(axis=(1, 2)))[0]
        centre = body_centre(mine)
        zs = list(range(max(int(zz.min()) - cfg.pad_slices, 0), min(int(zz.max()) + cfg.pad_slices, nz - 1) + 1))
        x = torch.from_numpy(np.stack([body_input(image, body_prob, labels, k, z, centre, size) for z in zs]))
        with torch.inference_mode():
            p = torch.sigmoid(refiner.network(x))
            if cfg.mirror_tta:
                p = (p + torch.sigmoid(refiner.network(x[:, [2, 1, 0, 3, 4]]))) / 2
        prob = p[:, 0].numpy()  # (n slices, S, S)
        (ar, ac), (cr, cc) = crop_box(*centre, size, labels.shape)
        region = prob[:, cr, cc]
        body = _largest_component(region > cfg.threshold)
        if not body.any():
            logger.debug("body %d: refined mask empty, main outline kept", k)
            region = np.where(mine[zs[0] : zs[-1] + 1, ar, ac], 1.0, 0.0).astype(np.float32)
            body = region > 0
        sub_best = best[zs[0] : zs[-1] + 1, ar, ac]
        sub_out = out[zs[0] : zs[-1] + 1, ar, ac]
        take = body & (region > sub_best)
        sub_best[take] = region[take]
        sub_out[take] = k
    return out, np.maximum(best, np.where(out > 0, 0.0, np.minimum(body_prob, cfg.threshold)))


def _largest_component(mask: np.ndarray) -> np.ndarray:
    lab, n = ndimage.label(mask)
    if n <= 1:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == int(np.argmax(sizes))  # type: ignore[no-any-return]

"""Network inference on the working grid: 2.5-D slice stacks through MONAI's sliding window."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

    from acuity.segment.network import LoadedModel

logger = logging.getLogger(__name__)


def normalise(volume: np.ndarray, percentiles: tuple[float, float] = (0.5, 99.5)) -> np.ndarray:
    """Map the volume's ``percentiles`` to 0 and 1 and clip to [0, 1] (float32)."""
    lo, hi = np.percentile(volume, percentiles)
    if hi <= lo:
        hi = lo + 1.0
    out = (volume.astype(np.float32) - np.float32(lo)) / np.float32(hi - lo)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def slice_stack(volume: np.ndarray, context: int = 3) -> np.ndarray:
    """(Z, context, Y, X): each slice with its neighbours (edge slices repeated)."""
    half = context // 2
    z = volume.shape[0]
    idx = np.clip(np.arange(z)[:, None] + np.arange(-half, half + 1)[None, :], 0, z - 1)
    return volume[idx]  # type: ignore[no-any-return]


def predict_logits(net: torch.nn.Module, stack: np.ndarray, model: LoadedModel) -> torch.Tensor:
    import torch
    from monai.inferers.inferer import SlidingWindowInferer

    cfg = model.config
    inferer = SlidingWindowInferer(
        roi_size=cfg.roi_size,
        sw_batch_size=8,
        overlap=cfg.sw_overlap,
        mode="gaussian",
        padding_mode="constant",
        cval=0.0,
        progress=False,
    )
    x = torch.from_numpy(np.ascontiguousarray(stack))
    out = inferer(x, net)
    assert isinstance(out, torch.Tensor)
    return out


def predict_probabilities(volume: np.ndarray, model: LoadedModel) -> np.ndarray:
    """Per-channel probabilities (C, Z, Y, X) for a working-grid array (Z, Y, X).

    Deterministic: eval mode, no dropout, fixed sliding-window order.
    """
    return predict_normalised(normalise(volume, model.config.percentiles), model)


def predict_normalised(norm: np.ndarray, model: LoadedModel) -> np.ndarray:
    """:func:`predict_probabilities` of a volume already passed through :func:`normalise`."""
    import torch

    cfg = model.config
    stack = slice_stack(norm, cfg.context_slices)
    net = model.network
    net.eval()
    with torch.inference_mode():
        logits = predict_logits(net, stack, model)
        if cfg.mirror_tta:
            # Left-right mirror: reverse the slice order, i.e. the order of context channels.
            mirrored = predict_logits(net, stack[:, ::-1].copy(), model)
            logits = (logits + mirrored) / 2
        probs = torch.sigmoid(logits)
    # (Z, C, Y, X) -> (C, Z, Y, X)
    return np.ascontiguousarray(probs.numpy().transpose(1, 0, 2, 3)).astype(np.float32)

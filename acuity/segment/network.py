"""The network, its configuration file and local weights (never downloaded).

A model is two files in ``models/``: ``<name>.json`` (architecture, working grid,
preprocessing, output channels, thresholds) and ``<name>.pt`` (a PyTorch ``state_dict``,
loaded with ``weights_only=True``). torch and MONAI are imported lazily, so importing
``acuity.segment`` stays light.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from acuity.errors import ConfigError

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

#: Environment variable naming a folder of model files (default: ``models/`` of the project).
MODELS_ENV = "ACUITY_MODELS"
#: The model ``segment_image`` uses unless told otherwise.
DEFAULT_MODEL = "vertebrae_seg"
#: Output channels of the network, in order.
CHANNELS = ("body", "core", "s1")


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the network and feed it, stored beside the weights."""

    name: str
    #: MONAI ``UNet`` arguments (2-D): channels, strides, num_res_units, norm.
    channels: tuple[int, ...] = (16, 32, 64, 128, 256)
    strides: tuple[int, ...] = (2, 2, 2, 2)
    num_res_units: int = 2
    norm: str = "instance"
    dropout: float = 0.0
    #: Neighbouring slices given as input channels (2.5-D): 3 = the slice and one each side.
    context_slices: int = 3
    inplane_mm: float = 1.25
    min_slice_mm: float = 1.0
    #: Intensity normalisation: these percentiles of the volume map to 0 and 1 (then clipped).
    percentiles: tuple[float, float] = (0.5, 99.5)
    roi_size: tuple[int, int] = (192, 192)
    sw_overlap: float = 0.25
    #: Average with the left-right mirrored input (slice order reversed).
    mirror_tta: bool = True
    body_threshold: float = 0.5
    core_threshold: float = 0.5
    s1_threshold: float = 0.5
    #: Components smaller than this are fragments (mm^3) ...
    min_body_mm3: float = 1000.0
    #: ... and so are those smaller than this fraction of the median body.
    min_body_fraction: float = 0.2
    min_core_mm3: float = 150.0
    output_channels: tuple[str, ...] = CHANNELS
    #: Name of the per-body outline refiner trained on this model's outputs
    #: (:mod:`acuity.segment.refine`; ``<refiner>.pt`` / ``.json`` beside this model's files);
    #: "" for none.
    refiner: str = ""
    #: Free-form provenance written by the training script (data, split, seed, wall time).
    training: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_strides("model", self.name, self.channels, self.strides)
        if self.context_slices % 2 != 1:
            raise ConfigError(
                f"model {self.name}: 'context_slices' must be odd, got {self.context_slices}"
            )
        if tuple(self.output_channels) != CHANNELS:
            raise ConfigError(
                f"model {self.name}: 'output_channels' must be {list(CHANNELS)}, got "
                f"{list(self.output_channels)}"
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"model config: unknown fields {unknown}; known: {sorted(known)}")
        kwargs = dict(data)
        for key in ("channels", "strides", "percentiles", "roi_size", "output_channels"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ConfigError(f"model config: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, tuple):
                data[key] = list(value)
        return data


def models_dir() -> Path:
    """``$ACUITY_MODELS`` or the project's ``models/`` folder."""
    env = os.environ.get(MODELS_ENV)
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parent.parent.parent / "models"


def build_network(config: ModelConfig) -> torch.nn.Module:
    """An untrained MONAI 2-D UNet as described by ``config``."""
    from monai.networks.nets.unet import UNet

    net: torch.nn.Module = UNet(
        spatial_dims=2,
        in_channels=config.context_slices,
        out_channels=len(config.output_channels),
        channels=config.channels,
        strides=config.strides,
        num_res_units=config.num_res_units,
        norm=config.norm,
        dropout=config.dropout,
    )
    return net


@dataclass
class LoadedModel:
    """A network in eval mode with its configuration."""

    config: ModelConfig
    network: torch.nn.Module
    #: Folder of the model's files (where its refiner is looked up); None: not from files.
    folder: Path | None = None
    #: :func:`weights_digest` of the weights file ("" when not from files).
    weights_sha256: str = ""

    def refiner_path(self) -> Path | None:
        """Weights of the model's outline refiner, or None when it has none."""
        if not self.config.refiner or self.folder is None:
            return None
        return self.folder / f"{self.config.refiner}.pt"


def weights_digest(weights: Path) -> str:
    """First 12 hex digits of the SHA-256 of a weights file: which main model a refiner was
    trained on (``RefinerConfig.main_model_sha256``) and the key of train_refiner's cache."""
    return hashlib.sha256(weights.read_bytes()).hexdigest()[:12]


C = TypeVar("C")
T = TypeVar("T")

#: Loaded networks, per (kind, resolved weights path).
_CACHE: dict[tuple[str, Path], Any] = {}


def check_strides(kind: str, name: str, channels: tuple[int, ...], strides: tuple[int, ...]) -> None:
    """A UNet configuration needs one stride per level below the first."""
    if len(strides) != len(channels) - 1:
        raise ConfigError(
            f"{kind} {name}: 'strides' needs {len(channels) - 1} values for "
            f"{len(channels)} 'channels', got {len(strides)}"
        )


def load_files(
    weights: Path,
    what: str,
    hint: str,
    parse: Callable[[dict[str, Any]], C],
    build: Callable[[C], torch.nn.Module],
    make: Callable[[C, torch.nn.Module], T],
) -> T:
    """``make(configuration, network in eval mode)`` from ``weights`` (a ``state_dict``, loaded
    with ``weights_only=True``) and the JSON file beside it, cached per path; ``hint`` says how
    to get them. Nothing is ever downloaded."""
    key = (what, weights.resolve())
    if key in _CACHE:
        return _CACHE[key]  # type: ignore[no-any-return]
    import torch

    cfg_path = weights.with_suffix(".json")
    for f in (weights, cfg_path):
        if not f.is_file():
            raise ConfigError(f"{what} file {f} not found; {hint}")
    try:
        config = parse(json.loads(cfg_path.read_text()))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{what} config {cfg_path} is not valid JSON: {exc}") from None
    net = build(config)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    try:
        net.load_state_dict({k: v.float() for k, v in state.items()})
    except RuntimeError as exc:
        raise ConfigError(f"weights {weights} do not fit the network of {cfg_path}: {exc}") from None
    net.eval()
    loaded = make(config, net)
    _CACHE[key] = loaded
    logger.info("loaded %s %s from %s", what, getattr(config, "name", "?"), weights)
    return loaded


def load_model(path: str | Path | None = None) -> LoadedModel:
    """Load ``<name>.json`` + ``<name>.pt`` from disk (cached per path).

    ``path`` is the ``.pt`` or ``.json`` file, or a model name looked up in :func:`models_dir`;
    None is the default model. Nothing is ever downloaded.
    """
    if path is None:
        path = models_dir() / f"{DEFAULT_MODEL}.pt"
    if not str(path).strip():
        raise ConfigError(
            "segmentation model: the path is empty; give a .pt or .json file or a model name "
            f"(or nothing, for {DEFAULT_MODEL})"
        )
    p = Path(path)
    if p.suffix not in {".pt", ".json"}:
        p = models_dir() / f"{p.name}.pt"
    weights = p.with_suffix(".pt")
    return load_files(
        weights,
        "segmentation model",
        "train one with scripts/train_segmentation.py or set ACUITY_MODELS to the folder holding "
        f"{DEFAULT_MODEL}.pt and {DEFAULT_MODEL}.json",
        ModelConfig.from_dict,
        build_network,
        lambda config, net: LoadedModel(
            config=config, network=net, folder=weights.parent, weights_sha256=weights_digest(weights)
        ),
    )

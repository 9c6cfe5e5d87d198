"""Thresholds of the measure stage, kept as data in ``pipelines/acuity.yaml``.

Every number that decides a grade, a pattern or an acuity lives in that file with its source
(see ``docs/methods.md``); this module only loads and validates it. A section is a frozen
dataclass whose fields carry their allowed range; the constructor checks every value, so a
:class:`Thresholds` that exists is usable. ``Thresholds()`` gives the shipped defaults without
reading a file (they equal the file's values; a test keeps them in step).
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from acuity.config import pipeline_file, read_yaml
from acuity.errors import ConfigError
from acuity.segment.level import VertebraLevel

logger = logging.getLogger(__name__)

DEFAULT_FILE_NAME = "acuity.yaml"
FORMAT_VERSION = 1

#: Median Ha/Hp of untouched bodies by level in the 33 training exams of the real data (12-29
#: bodies a level); physiological wedging rises from the thoracolumbar junction to L5.
DEFAULT_WEDGE_RATIOS = {
    "T11": 0.93,
    "T12": 0.98,
    "L1": 0.99,
    "L2": 1.03,
    "L3": 1.06,
    "L4": 1.10,
    "L5": 1.22,
}


def _rng(lo: float, hi: float) -> dict[str, float]:
    return {"min": lo, "max": hi}


def _check_section(obj: object, section: str) -> None:
    for f in fields(obj):  # type: ignore[arg-type]
        if f.metadata.get("mapping"):
            continue
        value = getattr(obj, f.name)
        lo = f.metadata.get("min")
        hi = f.metadata.get("max")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if isinstance(value, str) and "choices" in f.metadata:
                if value not in f.metadata["choices"]:
                    raise ConfigError(
                        f"{section}.{f.name} is {value!r}; use one of {list(f.metadata['choices'])}"
                    )
                continue
            raise ConfigError(f"{section}.{f.name} is {value!r}; it must be a number")
        if not math.isfinite(float(value)):
            raise ConfigError(f"{section}.{f.name} is {value!r}; it must be a finite number")
        if lo is not None and value < lo or hi is not None and value > hi:
            raise ConfigError(f"{section}.{f.name} is {value!r}; it must lie within {lo}..{hi}")


@dataclass(frozen=True)
class MorphometryThresholds:
    """Heights, Genant grades, deformity, vertebra plana, posterior wall."""

    #: Where the anterior / middle / posterior heights are measured (fraction of the body's
    #: depth from its anterior wall).
    anterior_point: float = field(default=0.1, metadata=_rng(0.0, 0.3))
    middle_point: float = field(default=0.5, metadata=_rng(0.3, 0.7))
    posterior_point: float = field(default=0.9, metadata=_rng(0.7, 1.0))
    #: Lowest height loss (fraction) of Genant grades 1, 2, 3 (Genant et al. 1993).
    grade1_loss: float = field(default=0.20, metadata=_rng(0.05, 0.5))
    grade2_loss: float = field(default=0.25, metadata=_rng(0.05, 0.6))
    grade3_loss: float = field(default=0.40, metadata=_rng(0.1, 0.9))
    #: Near-complete collapse: height loss at or above this fraction.
    vertebra_plana_loss: float = field(default=0.70, metadata=_rng(0.4, 0.95))
    #: A body whose screening loss (against the study medians) reaches this fraction is not
    #: used as a reference for its neighbours.
    reference_screen_loss: float = field(default=0.15, metadata=_rng(0.05, 0.5))
    #: How many levels away (each side) a reference neighbour may be.
    reference_max_steps: int = field(default=2, metadata=_rng(1, 5))
    #: Posterior cortex displaced into the canal beyond the posterior vertebral line by at
    #: least this much (mm) is retropulsion (only in a fractured body).
    posterior_wall_tolerance_mm: float = field(default=4.0, metadata=_rng(0.5, 10.0))
    #: Typical Ha/Hp of each level (physiological wedging): a neighbour's ratio is scaled by
    #: ``ratio[level] / ratio[neighbour level]`` before it becomes the expected ratio. Levels
    #: not listed (or unknown) scale by 1.
    wedge_ratio_by_level: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_WEDGE_RATIOS), metadata={"mapping": True}
    )

    def __post_init__(self) -> None:
        _check_section(self, "morphometry")
        ratios = self.wedge_ratio_by_level
        if not isinstance(ratios, Mapping):
            raise ConfigError(
                f"morphometry.wedge_ratio_by_level is {ratios!r}; it must map level names "
                "(T11, L5, ...) to ratios"
            )
        clean: dict[str, float] = {}
        for key, value in ratios.items():
            try:
                name = VertebraLevel.parse(str(key)).value
            except ValueError as exc:
                raise ConfigError(f"morphometry.wedge_ratio_by_level: {exc}") from None
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (0.5 <= float(value) <= 1.6)
            ):
                raise ConfigError(
                    f"morphometry.wedge_ratio_by_level.{key} is {value!r}; it must be a number "
                    "within 0.5..1.6"
                )
            clean[name] = float(value)
        object.__setattr__(self, "wedge_ratio_by_level", clean)
        if not self.grade1_loss < self.grade2_loss < self.grade3_loss < self.vertebra_plana_loss:
            raise ConfigError(
                "morphometry: grade1_loss < grade2_loss < grade3_loss < vertebra_plana_loss must "
                f"hold; got {self.grade1_loss}, {self.grade2_loss}, {self.grade3_loss}, "
                f"{self.vertebra_plana_loss}"
            )
        if not self.anterior_point < self.middle_point < self.posterior_point:
            raise ConfigError(
                "morphometry: anterior_point < middle_point < posterior_point must hold; got "
                f"{self.anterior_point}, {self.middle_point}, {self.posterior_point}"
            )

    @property
    def height_points(self) -> tuple[float, float, float]:
        return (self.anterior_point, self.middle_point, self.posterior_point)


@dataclass(frozen=True)
class EdemaThresholds:
    """Marrow-edema scoring on the STIR / fat-suppressed T2 series."""

    #: Bias-field correction before any ratio: ``n4`` (SimpleITK N4 on a downsampled copy) or
    #: ``none``.
    bias_correction: str = field(default="n4", metadata={"choices": ("n4", "none")})
    #: Voxel size (mm) of the downsampled copy N4 is fitted on.
    n4_resolution_mm: float = field(default=8.0, metadata=_rng(1.0, 32.0))
    #: Voxels closer than this (mm) to the body surface are left out of the body's core
    #: (partial volume with discs, cortex and veins).
    core_erosion_mm: float = field(default=1.5, metadata=_rng(0.0, 6.0))
    #: In-plane Gaussian smoothing (sigma, mm) of the ratio map before voxels are scored.
    smoothing_mm: float = field(default=1.0, metadata=_rng(0.0, 5.0))
    #: A voxel is edematous when its ratio to normal marrow reaches the larger of this ...
    voxel_ratio: float = field(default=1.3, metadata=_rng(1.05, 3.0))
    #: ... and the upper Tukey fence of the normal marrow, Q3 + k * IQR (Hepburn et al.).
    tukey_k: float = field(default=1.5, metadata=_rng(0.0, 5.0))
    #: Edematous clusters smaller than this (mm3) are noise.
    min_cluster_mm3: float = field(default=30.0, metadata=_rng(0.0, 2000.0))
    #: A body has edema when this fraction of its core is edematous ...
    min_fraction: float = field(default=0.3, metadata=_rng(0.0, 1.0))
    #: ... and the median ratio of those voxels reaches this.
    min_lesion_ratio: float = field(default=1.3, metadata=_rng(1.0, 3.0))
    #: ... or the body's median ratio (its whole marrow shifted) reaches this.
    min_body_ratio: float = field(default=1.2, metadata=_rng(1.0, 3.0))
    #: ... or the median ratio of the body's superior or inferior endplate slab (this
    #: fraction of the core's height under the endplate) reaches ``min_endplate_ratio``:
    #: band-like edema under a fractured endplate, robust to heterogeneous marrow.
    endplate_slab: float = field(default=0.3333, metadata=_rng(0.1, 0.5))
    min_endplate_ratio: float = field(default=1.3, metadata=_rng(1.0, 3.0))
    #: Edema covering at least this fraction of the body is diffuse, less is band-like.
    diffuse_fraction: float = field(default=0.6, metadata=_rng(0.2, 1.0))
    #: A normal-marrow reference body whose median departs from the spine's robust fit by more
    #: than this fraction is dropped from the reference.
    reference_outlier: float = field(default=0.15, metadata=_rng(0.02, 1.0))
    #: Highest degree of the polynomial of log normal-marrow signal along the spine (1: a
    #: line; 2 when at least 6 reference bodies remain).
    reference_max_degree: int = field(default=2, metadata=_rng(0, 2))
    #: Reference bodies needed for a trustworthy reference (fewer: indeterminate).
    min_reference_bodies: int = field(default=2, metadata=_rng(1, 10))
    #: Core voxels needed to score a body on the edema series (fewer: indeterminate).
    min_core_mm3: float = field(default=1000.0, metadata=_rng(0.0, 100000.0))
    #: T1 ratio at or below this corroborates edema (T1 hypointensity).
    t1_hypointense_ratio: float = field(default=0.9, metadata=_rng(0.3, 1.0))
    # -- the voxel rule of the research API ``edema_mask`` only (``score_bodies`` ignores
    # these; it keeps ``smoothing_mm``, the fence and ``min_cluster_mm3`` above) --
    #: Ratio threshold of ``edema_mask``: ``hepburn`` (Hepburn et al.'s lower threshold: the
    #: Tukey fence of the raw reference voxels raised to within IQR/2 of the reference maximum)
    #: or ``fence`` (the Tukey fence, as for bodies); either way at least ``voxel_ratio``.
    mask_threshold: str = field(default="hepburn", metadata={"choices": ("hepburn", "fence")})
    #: In-plane Gaussian smoothing (sigma, mm) of the ratio within the ROI before thresholding.
    mask_smoothing_mm: float = field(default=0.0, metadata=_rng(0.0, 5.0))
    #: Clusters are connected within each slice (``2d``, 8 neighbours) or across slices too
    #: (``3d``, 26 neighbours).
    mask_connectivity: str = field(default="2d", metadata={"choices": ("2d", "3d")})
    #: Clusters smaller than this (mm3) are noise.
    mask_min_cluster_mm3: float = field(default=30.0, metadata=_rng(0.0, 2000.0))
    #: Hysteresis: with a value >= 1, only clusters holding a voxel whose ratio reaches it are
    #: kept (a bright core, grown through the voxels above the threshold); 0 turns it off.
    mask_seed_ratio: float = field(default=0.0, metadata=_rng(0.0, 5.0))

    def __post_init__(self) -> None:
        _check_section(self, "edema")
        if 0.0 < self.mask_seed_ratio < 1.0:
            raise ConfigError(
                f"edema.mask_seed_ratio is {self.mask_seed_ratio!r}; use 0 (no hysteresis) or a "
                "ratio of at least 1"
            )


@dataclass(frozen=True)
class Thresholds:
    """All thresholds of the measure stage (``pipelines/acuity.yaml``)."""

    morphometry: MorphometryThresholds = field(default_factory=MorphometryThresholds)
    edema: EdemaThresholds = field(default_factory=EdemaThresholds)
    #: Where the values came from (a path, or ``defaults``).
    source: str = "defaults"

    @classmethod
    def from_mapping(cls, data: Any, source: str = "<mapping>") -> Thresholds:
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"{source}: the file must be a mapping with keys version, morphometry, edema"
            )
        version = data.get("version")
        if version != FORMAT_VERSION:
            raise ConfigError(
                f"{source}: version is {version!r}; this acuity reads version {FORMAT_VERSION}"
            )
        unknown = set(data) - {"version", "morphometry", "edema"}
        if unknown:
            raise ConfigError(
                f"{source}: unknown top-level key(s) {sorted(unknown)}; allowed: "
                "version, morphometry, edema"
            )
        try:
            morph = _section(MorphometryThresholds, data.get("morphometry", {}), "morphometry")
            edema = _section(EdemaThresholds, data.get("edema", {}), "edema")
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        return cls(morphometry=morph, edema=edema, source=source)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Thresholds:
        """Thresholds from ``path``; None reads the shipped ``pipelines/acuity.yaml``."""
        if path is None:
            return _default_thresholds()
        return _load_path(Path(path))


def _section(kind: type[Any], raw: Any, name: str) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{name} must be a mapping of threshold names to values")
    names = {f.name: f for f in fields(kind)}
    unknown = set(raw) - set(names)
    if unknown:
        raise ConfigError(f"{name}: unknown key(s) {sorted(unknown)}; known: {sorted(names)}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if names[key].metadata.get("mapping"):
            values[key] = value
            continue
        default = names[key].default
        if isinstance(default, int) and not isinstance(default, bool):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ConfigError(f"{name}.{key} is {value!r}; it must be a whole number")
        elif isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        values[key] = value
    return kind(**values)


def default_thresholds_path() -> Path:
    """The shipped file: the installed ``acuity.pipelines`` package, else the ``pipelines/``
    folder of a source checkout."""
    try:
        return pipeline_file(DEFAULT_FILE_NAME)
    except (ConfigError, ModuleNotFoundError):
        checkout = Path(__file__).resolve().parents[2] / "pipelines" / DEFAULT_FILE_NAME
        if checkout.is_file():
            return checkout
        raise ConfigError(
            f"pipelines/{DEFAULT_FILE_NAME} is not installed with acuity; reinstall acuity or "
            "pass a thresholds file"
        ) from None


@functools.lru_cache(maxsize=1)
def _default_thresholds() -> Thresholds:
    return _load_path(default_thresholds_path())


def _load_path(path: Path) -> Thresholds:
    data = read_yaml(path, "thresholds file")
    return Thresholds.from_mapping(data, source=str(path))

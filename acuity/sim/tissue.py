"""Tissues of the phantom and their MR signal for each simulated pulse sequence.

Signal comes from textbook signal equations applied to a small table of relaxation times and
proton densities at 1.5 T (sources in ``docs/sample_study.md``):

* spin echo / turbo spin echo: ``PD * (1 - exp(-TR/T1)) * exp(-TE/T2)``
* inversion recovery (magnitude, STIR/TIRM):
  ``PD * |1 - 2 exp(-TI/T1) + exp(-TR/T1)| * exp(-TE/T2)`` (signed per compartment, the
  magnitude taken after summing compartments)
* spoiled gradient echo (FLASH localizer):
  ``PD * sin(a) (1 - E1) / (1 - cos(a) E1) * exp(-TE/T2*)`` with ``T2* = T2 / 2``

Fat uses an apparent T2 of 130 ms: in turbo spin echo, J-coupling is broken up and fat stays
bright on T2 TSE (Henkelman et al. 1992), which the clinical appearance needs. Vertebral
marrow is a two-compartment mixture (fat fraction 0.45 in an adult lumbar spine).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from acuity.errors import InputError


class Tissue(str, Enum):
    """Tissue classes painted by the phantom (order = index in fraction arrays)."""

    AIR = "air"
    SKIN = "skin"
    FAT = "fat"
    MUSCLE = "muscle"
    VISCERA = "viscera"
    FLUID = "fluid"
    LUNG = "lung"
    BLOOD = "blood"
    CSF = "csf"
    CORD = "cord"
    ROOTS = "roots"
    LIGAMENT = "ligament"
    CORTEX = "cortex"
    MARROW = "marrow"
    EDEMA = "edema"
    ANNULUS = "annulus"
    NUCLEUS = "nucleus"


TISSUES: tuple[Tissue, ...] = tuple(Tissue)
TISSUE_INDEX: dict[Tissue, int] = {t: i for i, t in enumerate(TISSUES)}


class SequenceKind(str, Enum):
    """Signal model of a pulse sequence."""

    SPIN_ECHO = "spin_echo"
    INVERSION_RECOVERY = "inversion_recovery"
    GRADIENT_ECHO = "gradient_echo"


@dataclass(frozen=True)
class Compartment:
    """One water or fat pool: proton density (relative), T1 and T2 in ms at 1.5 T."""

    pd: float
    t1: float
    t2: float


@dataclass(frozen=True)
class TissueModel:
    """A tissue as a mixture of compartments ``(fraction, Compartment)``."""

    compartments: tuple[tuple[float, Compartment], ...]
    #: Flowing blood: signal void on spin echo, inflow-bright on gradient echo.
    flowing: bool = False


FAT_POOL = Compartment(pd=1.0, t1=260.0, t2=130.0)
MARROW_WATER = Compartment(pd=0.9, t1=1100.0, t2=45.0)


def _single(pd: float, t1: float, t2: float) -> TissueModel:
    return TissueModel(((1.0, Compartment(pd, t1, t2)),))


#: Relaxation table at 1.5 T (ms). See docs/sample_study.md for sources and ranges.
TISSUE_MODELS: dict[Tissue, TissueModel] = {
    Tissue.AIR: _single(0.0, 1000.0, 1.0),
    Tissue.SKIN: _single(0.70, 700.0, 40.0),
    Tissue.FAT: TissueModel(((1.0, FAT_POOL),)),
    Tissue.MUSCLE: _single(0.80, 1008.0, 44.0),
    Tissue.VISCERA: _single(0.85, 750.0, 60.0),
    Tissue.FLUID: _single(0.95, 3000.0, 700.0),
    Tissue.LUNG: _single(0.05, 1200.0, 40.0),
    Tissue.BLOOD: TissueModel(((1.0, Compartment(0.9, 1441.0, 290.0)),), flowing=True),
    Tissue.CSF: _single(1.0, 4000.0, 1800.0),
    Tissue.CORD: _single(0.75, 745.0, 74.0),
    Tissue.ROOTS: _single(0.75, 800.0, 70.0),
    Tissue.LIGAMENT: _single(0.15, 1000.0, 12.0),
    Tissue.CORTEX: _single(0.10, 1000.0, 8.0),
    Tissue.MARROW: TissueModel(((0.45, FAT_POOL), (0.55, MARROW_WATER))),
    # Edema is drawn with the marrow model and scaled by the edema contrast ratio
    # (acuity.sim.lesion.EdemaContrast) of the series' contrast.
    Tissue.EDEMA: TissueModel(((0.45, FAT_POOL), (0.55, MARROW_WATER))),
    Tissue.ANNULUS: _single(0.70, 900.0, 50.0),
    Tissue.NUCLEUS: _single(0.90, 1150.0, 125.0),
}


@dataclass(frozen=True)
class PulseSequence:
    """Timing of a simulated pulse sequence (ms, degrees)."""

    kind: SequenceKind
    tr: float
    te: float
    ti: float | None = None
    flip: float = 90.0

    def __post_init__(self) -> None:
        if self.tr <= 0 or self.te <= 0:
            raise InputError(f"PulseSequence tr={self.tr} te={self.te} must be positive (ms)")
        if self.kind is SequenceKind.INVERSION_RECOVERY and (self.ti is None or self.ti <= 0):
            raise InputError("PulseSequence of kind inversion_recovery needs ti > 0 (ms)")


def _pool_signal(seq: PulseSequence, c: Compartment) -> float:
    """Signed signal of one pool (before the magnitude is taken)."""
    e1 = math.exp(-seq.tr / c.t1)
    if seq.kind is SequenceKind.SPIN_ECHO:
        return c.pd * (1.0 - e1) * math.exp(-seq.te / c.t2)
    if seq.kind is SequenceKind.INVERSION_RECOVERY:
        assert seq.ti is not None
        mz = 1.0 - 2.0 * math.exp(-seq.ti / c.t1) + e1
        return c.pd * mz * math.exp(-seq.te / c.t2)
    a = math.radians(seq.flip)
    ss = math.sin(a) * (1.0 - e1) / (1.0 - math.cos(a) * e1)
    return c.pd * ss * math.exp(-seq.te / (c.t2 / 2.0))


def tissue_signal(tissue: Tissue, seq: PulseSequence) -> float:
    """Noise-free signal of ``tissue`` (relative units: PD 1, fully relaxed = 1)."""
    model = TISSUE_MODELS[tissue]
    if model.flowing:
        # Flow void on spin echo / IR; inflow enhancement on gradient echo localizers.
        return 0.03 if seq.kind is not SequenceKind.GRADIENT_ECHO else 0.35
    total = sum(f * _pool_signal(seq, c) for f, c in model.compartments)
    return abs(total)


def signal_table(seq: PulseSequence) -> dict[Tissue, float]:
    """Signal of every tissue for ``seq``."""
    return {t: tissue_signal(t, seq) for t in TISSUES}

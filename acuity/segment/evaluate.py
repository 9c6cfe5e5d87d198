"""Scoring a segmentation against reference masks: per-body Dice, detection, false bodies, levels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from acuity.segment.level import VertebraLevel

#: A reference body counts as detected when its best-matching predicted body has Dice >= this.
DETECTION_DICE = 0.5


@dataclass(frozen=True)
class BodyScore:
    reference_label: int
    predicted_label: int  # 0 when nothing overlaps
    dice: float
    reference_level: VertebraLevel | None
    predicted_level: VertebraLevel | None
    #: Voxels of the matched predicted body / voxels of the reference body (0 when none):
    #: above 1 the masks are drawn larger than the reference, below 1 smaller.
    volume_ratio: float = 0.0

    @property
    def detected(self) -> bool:
        return self.dice >= DETECTION_DICE


@dataclass
class CaseScore:
    case: str
    group: str
    bodies: list[BodyScore]
    #: Predicted bodies inside the labelled range that match no reference body.
    false_bodies: list[int]
    n_predicted: int
    level_note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def mean_dice(self) -> float:
        return float(np.mean([b.dice for b in self.bodies])) if self.bodies else 0.0

    @property
    def mean_volume_ratio(self) -> float:
        return float(np.mean([b.volume_ratio for b in self.bodies])) if self.bodies else 0.0

    @property
    def n_detected(self) -> int:
        return sum(b.detected for b in self.bodies)

    @property
    def levels_checked(self) -> int:
        return sum(b.reference_level is not None for b in self.bodies)

    @property
    def levels_correct(self) -> int:
        return sum(
            b.reference_level is not None and b.predicted_level is b.reference_level
            for b in self.bodies
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "group": self.group,
            "mean_dice": round(self.mean_dice, 4),
            "dice": [round(b.dice, 4) for b in self.bodies],
            "mean_volume_ratio": round(self.mean_volume_ratio, 3),
            "n_reference": len(self.bodies),
            "n_detected": self.n_detected,
            "n_predicted": self.n_predicted,
            "false_bodies": self.false_bodies,
            "levels_checked": self.levels_checked,
            "levels_correct": self.levels_correct,
            "predicted_levels": [
                b.predicted_level.value if b.predicted_level else None for b in self.bodies
            ],
            "level_note": self.level_note,
            **self.extra,
        }


def score_case(
    case: str,
    group: str,
    predicted: np.ndarray,
    reference: np.ndarray,
    *,
    known_region: np.ndarray | None = None,
    reference_levels: list[VertebraLevel | None] | None = None,
    predicted_levels: list[VertebraLevel | None] | None = None,
    level_note: str = "",
) -> CaseScore:
    """Score instance label maps on the same grid.

    ``known_region`` (bool, same shape) is where every body is labelled: a predicted body
    matching no reference counts as false only when its centroid lies there.
    ``reference_levels[i]`` / ``predicted_levels[i]`` are the levels of label i + 1.
    """
    if predicted.shape != reference.shape:
        raise ValueError(f"predicted shape {predicted.shape} != reference shape {reference.shape}")
    n_ref = int(reference.max())
    n_pred = int(predicted.max())
    pred_sizes = np.bincount(predicted.ravel(), minlength=n_pred + 1)
    ref_sizes = np.bincount(reference.ravel(), minlength=n_ref + 1)
    # Joint histogram of (reference, predicted) labels.
    joint = np.bincount(
        reference.ravel().astype(np.int64) * (n_pred + 1) + predicted.ravel(),
        minlength=(n_ref + 1) * (n_pred + 1),
    ).reshape(n_ref + 1, n_pred + 1)
    bodies = []
    matched: set[int] = set()
    for r in range(1, n_ref + 1):
        if ref_sizes[r] == 0:
            continue
        dices = 2 * joint[r, 1:] / np.maximum(ref_sizes[r] + pred_sizes[1:], 1)
        p = int(np.argmax(dices)) + 1 if n_pred else 0
        d = float(dices[p - 1]) if p else 0.0
        if d < 1e-9:
            p = 0
        if d >= DETECTION_DICE:
            matched.add(p)
        bodies.append(
            BodyScore(
                reference_label=r,
                predicted_label=p,
                dice=d,
                reference_level=reference_levels[r - 1] if reference_levels else None,
                predicted_level=predicted_levels[p - 1] if (predicted_levels and p) else None,
                volume_ratio=float(pred_sizes[p] / ref_sizes[r]) if p else 0.0,
            )
        )
    false = []
    if n_pred:
        cents = ndimage.center_of_mass(np.ones(predicted.shape, bool), predicted, range(1, n_pred + 1))
        for p in range(1, n_pred + 1):
            if p in matched or pred_sizes[p] == 0:
                continue
            # A predicted body mostly inside reference bodies is a split, not a false body.
            if joint[1:, p].sum() > 0.5 * pred_sizes[p]:
                continue
            c = tuple(round(v) for v in cents[p - 1])
            if known_region is None or known_region[c]:
                false.append(p)
    return CaseScore(
        case=case, group=group, bodies=bodies, false_bodies=false, n_predicted=n_pred, level_note=level_note
    )

"""Typed results of vertebral-body segmentation: bodies, the segmentation, overlap reports."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import SimpleITK as sitk

from acuity.segment.level import VertebraLevel

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class VertebralBody:
    """One vertebral body of a label map.

    ``label`` is its value in the label map (1..N numbered superior to inferior); ``level`` is
    None when the anatomical level could not be named (see the segmentation's ``level_note``).
    """

    label: int
    level: VertebraLevel | None
    #: 0..1; how sure the level name is (1.0 when it comes from a user hint).
    level_confidence: float
    volume_mm3: float
    #: True when the body is cut by the edge of the field of view.
    partial: bool
    #: Centre of mass, LPS millimetres.
    centroid_lps: Vec3
    #: Mean S1 (first sacral segment) probability of the network inside the body.
    s1_score: float = 0.0
    #: Its lateral edge lies beyond the first or last sagittal slice. Not ``partial`` when
    #: enough of it is in view to hold its mid-sagittal plane (it is measured there).
    cut_laterally: bool = False

    def __post_init__(self) -> None:
        if self.label < 1:
            raise ValueError(f"VertebralBody.label must be >= 1, got {self.label}")
        if self.level is not None and not isinstance(self.level, VertebraLevel):
            object.__setattr__(self, "level", VertebraLevel.parse(self.level))
        if not 0.0 <= self.level_confidence <= 1.0:
            raise ValueError(
                f"VertebralBody.level_confidence must be within 0..1, got {self.level_confidence}"
            )
        if not (self.volume_mm3 >= 0.0 and math.isfinite(self.volume_mm3)):
            raise ValueError(f"VertebralBody.volume_mm3 must be >= 0, got {self.volume_mm3}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "level": self.level.value if self.level is not None else None,
            "level_confidence": round(self.level_confidence, 3),
            "volume_mm3": round(self.volume_mm3, 1),
            "partial": self.partial,
            "centroid_lps": [round(v, 2) for v in self.centroid_lps],
            "s1_score": round(self.s1_score, 3),
            "cut_laterally": self.cut_laterally,
        }


@dataclass
class Segmentation:
    """Vertebral bodies of one image: an instance label map and one record per body.

    ``label_map`` (uint8 or uint16) has the grid of the segmented image: 0 background, 1..N
    bodies numbered superior to inferior; ``bodies[i].label == i + 1``. ``level_note`` says
    how the levels were named (S1 anchor, user hint) or why they were not.
    """

    label_map: sitk.Image
    bodies: list[VertebralBody]
    level_note: str
    #: Where the level names come from: "s1", "hint" or "none".
    level_source: str = "none"
    model_name: str = ""
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        labels = [b.label for b in self.bodies]
        if labels != list(range(1, len(labels) + 1)):
            raise ValueError(f"Segmentation.bodies must be labelled 1..N in order, got {labels}")
        if self.level_source not in {"s1", "hint", "none"}:
            raise ValueError(
                f"Segmentation.level_source must be 's1', 'hint' or 'none', got {self.level_source!r}"
            )

    def body(self, level: VertebraLevel | str) -> VertebralBody | None:
        """The body named ``level``, or None."""
        lv = VertebraLevel.parse(level)
        for b in self.bodies:
            if b.level is lv:
                return b
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "level_source": self.level_source,
            "level_note": self.level_note,
            "warnings": list(self.warnings),
            "bodies": [b.to_dict() for b in self.bodies],
        }


@dataclass(frozen=True)
class BodyOverlap:
    """How much of one body lands inside the target image's field of view."""

    label: int
    level: VertebraLevel | None
    volume_mm3: float
    #: Fraction (0..1) of the body's volume inside the target field of view.
    fraction_in_target: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "level": self.level.value if self.level is not None else None,
            "volume_mm3": round(self.volume_mm3, 1),
            "fraction_in_target": round(self.fraction_in_target, 3),
        }


@dataclass(frozen=True)
class OverlapReport:
    """Result of mapping a segmentation onto another series of the same study."""

    #: Fraction of the segmented volume (all bodies) inside the target field of view.
    fraction_in_target: float
    #: Fraction of the target image's box covered by the source image's box.
    target_box_covered: float
    bodies: tuple[BodyOverlap, ...]
    #: Bodies present in the source but absent (0 voxels) from the mapped label map.
    lost_labels: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "fraction_in_target": round(self.fraction_in_target, 3),
            "target_box_covered": round(self.target_box_covered, 3),
            "lost_labels": list(self.lost_labels),
            "bodies": [b.to_dict() for b in self.bodies],
        }

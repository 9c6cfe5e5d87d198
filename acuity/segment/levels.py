"""Naming the anatomical level of each body: S1 anchor counted upward, or a user hint.

The network has an S1 output channel (trained on the exams whose lowest mask is S1); the
body whose mean S1 probability passes the threshold anchors the count: the bodies above it
are L5, L4, ... in order. Counting assumes five lumbar vertebrae; a lumbosacral transitional
vertebra cannot be told from a sagittal lumbar series alone, so the note always says so.
Where S1 is not in view, or two bodies look like S1, or the spacing between bodies suggests
a missed body, the levels are left unnamed or their confidence lowered, with a note: the
caller can give ``lowest_level`` or ``level_at`` instead. Nothing is guessed silently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from acuity.errors import InputError
from acuity.segment.level import VertebraLevel

logger = logging.getLogger(__name__)

#: Note appended whenever levels are counted from S1.
TRANSITIONAL_NOTE = (
    "counted upward from S1 assuming 5 lumbar vertebrae; a lumbosacral transitional "
    "vertebra would shift every name by one (check against a whole-spine localizer)"
)


@dataclass(frozen=True)
class LevelAssignment:
    levels: list[VertebraLevel | None]
    confidences: list[float]
    note: str
    source: str  # "s1", "hint" or "none"


def _gap_steps(centroids_si: np.ndarray) -> list[int]:
    """Level steps between consecutive bodies (1, or more where a body seems missing)."""
    gaps = np.diff(centroids_si)
    if len(gaps) < 2:
        return [1] * len(gaps)
    typical = float(np.median(gaps))
    return [max(1, round(g / typical)) if g > 1.6 * typical else 1 for g in gaps]


def _count_from(
    anchor: int, anchor_level: VertebraLevel, steps: list[int], n: int
) -> tuple[list[VertebraLevel | None], list[int]]:
    """Levels of bodies 0..n-1 (superior to inferior) given body ``anchor``'s level.

    Also returns, per body, how many suspicious gaps lie between it and the anchor.
    """
    offsets = [0] * n
    gaps_between = [0] * n
    for i in range(anchor - 1, -1, -1):
        offsets[i] = offsets[i + 1] - steps[i]
        gaps_between[i] = gaps_between[i + 1] + (steps[i] > 1)
    for i in range(anchor + 1, n):
        offsets[i] = offsets[i - 1] + steps[i - 1]
        gaps_between[i] = gaps_between[i - 1] + (steps[i - 1] > 1)
    return [anchor_level.offset(o) for o in offsets], gaps_between


def assign_levels(
    centroids_si: list[float],
    s1_scores: list[float],
    *,
    s1_threshold: float = 0.5,
    lowest_level: VertebraLevel | str | None = None,
    level_at: tuple[int, VertebraLevel | str] | None = None,
) -> LevelAssignment:
    """Levels of bodies ordered superior to inferior.

    ``centroids_si``: each body's position along the head->feet axis in mm (increasing);
    ``s1_scores``: mean S1 probability per body; ``level_at``: (0-based body index, level).
    """
    n = len(centroids_si)
    if n == 0:
        return LevelAssignment([], [], "no vertebral body found", "none")
    steps = _gap_steps(np.asarray(centroids_si, dtype=float))
    gap_note = ""
    if any(s > 1 for s in steps):
        where = [f"{i + 1}/{i + 2}" for i, s in enumerate(steps) if s > 1]
        gap_note = (
            f"; the spacing between bodies {', '.join(where)} suggests a body missed by the "
            "segmentation (counted as skipped levels, with lower confidence)"
        )

    hints: list[tuple[int, VertebraLevel]] = []
    if lowest_level is not None:
        hints.append((n - 1, VertebraLevel.parse(lowest_level)))
    if level_at is not None:
        index, lv = level_at
        if not 0 <= index < n:
            raise InputError(f"level_at body index {index + 1} is not one of the {n} bodies found")
        hints.append((index, VertebraLevel.parse(lv)))
    if hints:
        anchor, anchor_level = hints[-1]
        levels, between = _count_from(anchor, anchor_level, steps, n)
        for index, lv in hints[:-1]:
            got = levels[index]
            if got is not lv:
                implied = got.value if got is not None else "out of range"
                raise InputError(
                    f"level hints disagree: lowest_level={lv.value} but level_at names body "
                    f"{anchor + 1} {anchor_level.value}, which makes the lowest body {implied}"
                )
        if any(lv is None for lv in levels):
            raise InputError(
                f"level hint {anchor_level.value} at body {anchor + 1} puts some of the {n} "
                "bodies beyond C1 or S1; check the hint"
            )
        conf = [1.0 if b == 0 else 0.5 for b in between]
        note = f"levels from the user hint ({anchor_level.value} at body {anchor + 1})" + gap_note
        return LevelAssignment(levels, conf, note, "hint")

    scores = np.asarray(s1_scores, dtype=float)
    best = int(np.argmax(scores))
    candidates = [i for i in range(n) if scores[i] >= s1_threshold]
    if not candidates:
        note = (
            f"S1 (sacrum) not identified in the field of view (highest S1 score "
            f"{scores[best]:.2f}, body {best + 1}); levels not named: give lowest_level / "
            "--lowest-level or level_at / --level-at"
        )
        return LevelAssignment([None] * n, [0.0] * n, note, "none")

    anchor = max(candidates, key=lambda i: scores[i])
    others = np.delete(scores, anchor)
    conf0 = float(scores[anchor] * (1.0 - (others.max() if len(others) else 0.0)))
    notes = [f"S1 identified as body {anchor + 1} (S1 score {scores[anchor]:.2f})"]
    if len(candidates) > 1:
        notes.append(
            "more than one body looks like S1 (bodies "
            + ", ".join(str(i + 1) for i in candidates)
            + "): transitional anatomy or an error; confirm with a hint"
        )
        conf0 = min(conf0, 0.5)
    levels, between = _count_from(anchor, VertebraLevel.S1, steps, n)
    if anchor < n - 1:
        notes.append(
            f"{n - 1 - anchor} bod{'y' if n - 2 == anchor else 'ies'} found below S1 left "
            "unnamed"
        )
        conf0 = min(conf0, 0.5)
        for i in range(anchor + 1, n):
            levels[i] = None
    conf = [0.0 if lv is None else conf0 * (0.5**b) for lv, b in zip(levels, between)]
    note = "; ".join(notes) + "; " + TRANSITIONAL_NOTE + gap_note
    return LevelAssignment(levels, conf, note, "s1")

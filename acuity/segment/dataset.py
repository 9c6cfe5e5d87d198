"""The real vertebral-body data set (``<data>/vertebrae``): cases, split, labelling conventions.

The three source groups label different ranges (see ``/work/shared/data/README.md``):

* vb1 (Zukic et al. 2014): every body of the labelled range; the lowest mask of the 9-body
  AK* exams and of vb1-15/17 is S1.
* vb2 (Chu et al. 2015): only T11-L5; T10 and above and the sacrum are visible, unlabelled.
* vb3 (Burian et al. 2019): only L1-L5; T12 and the sacrum are visible, unlabelled.

So the region beyond the labelled range is *unknown*, not background. :func:`unlabelled_region`
marks it (above the top body in every case, since a partly visible body may sit there; below
the lowest body unless that body is S1) so that training masks it out of the loss and
evaluation does not count bodies found there as false.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np

from acuity.errors import InputError
from acuity.segment.level import VertebraLevel

logger = logging.getLogger(__name__)

#: vb1 exams whose lowest mask is S1 although their meta names no levels (data README).
S1_BOTTOM_CASES = frozenset({"vb1-15", "vb1-17"})


class SequenceGroup(str, Enum):
    """The sequence groups the acceptance targets are stated for."""

    TIRM = "TIRM"
    T1 = "T1"
    T2 = "T2"
    WATER = "water"
    SYNTHETIC = "synthetic"


_SEQUENCE_GROUPS = {
    "stir": SequenceGroup.TIRM,
    "tirm": SequenceGroup.TIRM,
    "t1": SequenceGroup.T1,
    "t2": SequenceGroup.T2,
    "dixon_water_like": SequenceGroup.WATER,
    "water": SequenceGroup.WATER,
}


@dataclass(frozen=True)
class Case:
    """One labelled exam of ``vertebrae/``."""

    case_id: str
    path: Path
    source_group: str
    sequence_group: SequenceGroup
    subject: str
    n_bodies: int
    #: Level of each label top to bottom, when the meta names them.
    levels: tuple[VertebraLevel, ...] | None
    #: True when the lowest label is S1 (then nothing below it is a vertebral body).
    bottom_is_s1: bool

    @property
    def image_path(self) -> Path:
        return self.path / "image.nii.gz"

    @property
    def labels_path(self) -> Path:
        return self.path / "labels.nii.gz"


def load_case(path: Path) -> Case:
    meta_path = path / "meta.json"
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{meta_path}: cannot read the case metadata: {exc}") from None
    seq = str(meta.get("sequence", "")).lower()
    if seq not in _SEQUENCE_GROUPS:
        raise InputError(f"{meta_path}: 'sequence' {seq!r} is not one of {sorted(_SEQUENCE_GROUPS)}")
    names = meta.get("levels_top_to_bottom")
    levels = tuple(VertebraLevel.parse(n) for n in names) if names else None
    n_bodies = int(meta["n_bodies"])
    if levels is not None and len(levels) != n_bodies:
        raise InputError(
            f"{meta_path}: 'levels_top_to_bottom' names {len(levels)} levels for "
            f"{n_bodies} bodies"
        )
    group = str(meta.get("group", path.name.split("-")[0]))
    bottom_s1 = group == "vb1" and (
        (levels is not None and levels[-1] is VertebraLevel.S1) or path.name in S1_BOTTOM_CASES
    )
    return Case(
        case_id=path.name,
        path=path,
        source_group=group,
        sequence_group=_SEQUENCE_GROUPS[seq],
        subject=str(meta.get("subject", path.name)),
        n_bodies=n_bodies,
        levels=levels,
        bottom_is_s1=bottom_s1,
    )


def load_cases(data_dir: Path) -> list[Case]:
    """Every case of ``data_dir/vertebrae`` (``data_dir`` is the shared data folder)."""
    root = data_dir / "vertebrae"
    if not root.is_dir():
        raise InputError(f"{root} not found: the shared data folder has no 'vertebrae' set")
    return [load_case(p) for p in sorted(root.iterdir()) if (p / "meta.json").is_file()]


@dataclass(frozen=True)
class Split:
    """A fixed train/validation split by subject."""

    seed: int
    train: tuple[str, ...]
    validation: tuple[str, ...]

    @classmethod
    def read(cls, path: Path) -> Split:
        data = json.loads(path.read_text())
        return cls(seed=int(data["seed"]), train=tuple(data["train"]), validation=tuple(data["validation"]))


def make_split(cases: list[Case], seed: int, n_val: dict[str, int]) -> Split:
    """Validation subjects drawn per source group with ``seed``; vb1 subject AKa (the TIRM
    exam vb1-03 and its T1 twin vb1-02) is always in validation so TIRM is covered."""
    rng = np.random.default_rng(seed)
    subjects: dict[str, list[str]] = {}
    group_of: dict[str, str] = {}
    for c in cases:
        subjects.setdefault(c.subject, []).append(c.case_id)
        group_of[c.subject] = c.source_group
    val_subjects: set[str] = set()
    tirm = [c.subject for c in cases if c.sequence_group is SequenceGroup.TIRM]
    val_subjects.update(tirm)
    for group, n in sorted(n_val.items()):
        pool = sorted(s for s, g in group_of.items() if g == group and s not in val_subjects)
        have = sum(1 for s in val_subjects if group_of[s] == group)
        k = max(0, n - have)
        if k:
            val_subjects.update(str(s) for s in rng.choice(pool, size=k, replace=False))
    val = tuple(sorted(cid for s in val_subjects for cid in subjects[s]))
    train = tuple(sorted(c.case_id for c in cases if c.case_id not in val))
    return Split(seed=seed, train=train, validation=val)


def unlabelled_region(labels: np.ndarray, bottom_is_s1: bool) -> np.ndarray:
    """(Y, X) mask of the sagittal plane beyond the labelled range (see module docstring).

    ``labels`` is (Z, Y, X) in the data's layout (slices left-right, rows head->feet,
    columns anterior->posterior). Above: the half-plane beyond the top body's centroid, cut
    perpendicular to the axis through the centroids of the two top bodies; below, the same
    beyond the lowest body's centroid (only when the lowest body is not S1). Cutting at the
    centroid, not at the endplate, keeps the whole of a tilted neighbour (the sacrum below L5)
    out of the known region. Training masks ``region & (labels == 0)`` out of the loss, so the
    end bodies themselves still count.
    """
    ids = [int(v) for v in np.unique(labels) if v]
    ny, nx = labels.shape[1:]
    out = np.zeros((ny, nx), dtype=bool)
    if len(ids) < 2:
        return out
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float32)

    def centroid(label: int) -> np.ndarray:
        _, y, x = np.nonzero(labels == label)
        return np.array([y.mean(), x.mean()], dtype=np.float32)

    def beyond(end: np.ndarray, inner: np.ndarray) -> np.ndarray:
        axis = end - inner
        axis /= np.linalg.norm(axis)
        return np.asarray((yy - end[0]) * axis[0] + (xx - end[1]) * axis[1] > 0)

    out |= beyond(centroid(ids[0]), centroid(ids[1]))
    if not bottom_is_s1:
        out |= beyond(centroid(ids[-1]), centroid(ids[-2]))
    return out

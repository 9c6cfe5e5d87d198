#!/usr/bin/env python
"""Validate per-level acuity on simulated lesions in real exams (the whole pipeline).

    .venv/bin/python scripts/validate_acuity.py                       # truth labels, validation split
    .venv/bin/python scripts/validate_acuity.py --labels model        # segmentation model's labels
    .venv/bin/python scripts/validate_acuity.py --cases vb3-29 --scenarios 2 --json out/acuity.json

For every exam of the segmentation model's validation split (``models/vertebrae_split.json``,
never used to train it or to set a threshold), ``--scenarios`` studies are simulated with
``acuity.sim.study.study_from_real_case``: scenario 0 leaves the exam untouched, the others put
1-3 lesions (2 at most in a 5-body exam) on randomly chosen bodies (not S1): acute (compression
plus marrow edema), chronic (compression only) or edema without fracture, each compression a
wedge, biconcave or crush deformity with a height loss drawn uniformly within a random Genant
grade (20-25 %, 25-40 %, 40-60 %), edema band-like or diffuse with a STIR ratio drawn from
1.3-2.5. Each study is written as DICOM and run through ingest -> series selection -> labels
(``--labels truth``: the simulated study's ``TRUTH_labels.nii.gz``; ``--labels model``:
``acuity.segment.segment_image`` on the study's image, bodies matched to the truth by overlap)
-> ``acuity.measure.measure_study``.

Edema series: the exams are single-sequence. vb1-03 is a real TIRM (STIR) and vb3-* are
chemical-shift water images (fat-suppressed look): the simulator adds edema to them with the
STIR / water contrast model and they carry the acuity metrics. vb1-03 is selected as the edema
series automatically; the vb3 water images are written by the simulator as a T1-weighted Dixon
water series, which the selection rules rightly do not take as an edema series, so this script
passes it explicitly (``select_series(edema_series=...)``, as a user can with
``--edema-series``). The T1 (vb1-02) and T2 (vb2-*) exams get the simulator's T1 / T2 edema
model, no series qualifies as an edema series, and every level must come out
``indeterminate``: they carry the morphometry metrics and that check only (no STIR is faked
from a T1 or T2 image).

Printed: per-level confusion matrix and accuracy (edema-capable exams), AUC of the edema
score (fraction of the body core scored edematous) for levels with vs without simulated edema,
Genant grade agreement (Cohen's kappa, unweighted and linearly weighted) and height-loss error
(percentage points; overall, per true Genant grade and per sequence group) on all exams, the
rate of non-``none`` findings (and of ``acute``) on the untouched levels, and the
indeterminate check on the T1/T2 exams. Also printed: what the readings mean for candidacy
(simulated acute fractures read `acute`, sent to review or missed; levels read `acute` that
are not), and the bodies that already carry a real deformity on the
exam's expert masks (``real_deformities``), how they were read, and accuracy and kappa without
them (their true acuity is unknown).
"""

from __future__ import annotations

import argparse
import json
import logging
import pickle
import shutil
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from acuity.config import shared_data_dir
from acuity.errors import InputError
from acuity.measure.enum import Acuity, DeformityType, EdemaPattern
from acuity.measure.thresholds import Thresholds
from acuity.segment.dataset import Case, SequenceGroup, Split, load_case

EDEMA_GROUPS = (SequenceGroup.TIRM, SequenceGroup.WATER)
CLASSES = [
    a.value
    for a in (
        Acuity.NONE,
        Acuity.CHRONIC,
        Acuity.ACUTE,
        Acuity.EDEMA_WITHOUT_FRACTURE,
        Acuity.INDETERMINATE,
    )
]
GRADE_RANGES = {1: (0.20, 0.25), 2: (0.25, 0.40), 3: (0.40, 0.60)}


@dataclass
class LevelRow:
    case: str
    scenario: int
    level: str
    label: int
    edema_capable: bool
    touched: bool
    truth_acuity: str
    truth_grade: int
    truth_loss_pct: float
    truth_deformity: str
    truth_edema: bool
    truth_ratio: float | None
    pred_acuity: str
    pred_grade: int | None
    pred_loss_pct: float | None
    pred_deformity: str | None
    edema_fraction: float | None
    edema_ratio: float | None
    edema_endplate: float | None = None
    matched: bool = True
    reasons: tuple[str, ...] = ()
    #: The body already has a real deformity (Genant grade >= 1) on the exam's own expert
    #: masks, before any simulation: its true acuity is unknown (see ``real_deformities``).
    preexisting: bool = False
    #: The exam's sequence group (T1, T2, TIRM, water): the segmentation model's accuracy
    #: differs by group, so the morphometry is also reported per group.
    group: str = ""


def plan_lesions(case: Case, names: list[str], rng: np.random.Generator) -> list[object]:
    from acuity.sim.study import LesionSpec

    eligible = [n for n in names if n != "S1"]
    n_max = 3 if len(eligible) >= 7 else 2
    n = int(rng.integers(1, n_max + 1))
    chosen = rng.choice(len(eligible), size=n, replace=False)
    out: list[object] = []
    for idx in sorted(int(i) for i in chosen):
        kind = str(rng.choice(["acute", "chronic", "edema"], p=[0.45, 0.4, 0.15]))
        pattern = EdemaPattern(str(rng.choice(["band", "diffuse"], p=[0.6, 0.4])))
        ratio = float(np.round(rng.uniform(1.3, 2.5), 2))
        if kind == "edema":
            out.append(
                LesionSpec(eligible[idx], DeformityType.NONE, 0.0, Acuity.ACUTE, pattern, ratio)
            )
            continue
        deformity = DeformityType(str(rng.choice(["wedge", "biconcave", "crush"])))
        grade = int(rng.integers(1, 4))
        lo, hi = GRADE_RANGES[grade]
        loss = float(np.round(rng.uniform(lo, hi), 3))
        if kind == "acute":
            out.append(LesionSpec(eligible[idx], deformity, loss, Acuity.ACUTE, pattern, ratio))
        else:
            out.append(LesionSpec(eligible[idx], deformity, loss, Acuity.CHRONIC))
    return out


def expected_acuity(fractured: bool, edema: bool) -> str:
    if fractured and edema:
        return Acuity.ACUTE.value
    if fractured:
        return Acuity.CHRONIC.value
    if edema:
        return Acuity.EDEMA_WITHOUT_FRACTURE.value
    return Acuity.NONE.value


def run_study(
    case: Case,
    lesions: list[object],
    seed: int,
    labels_mode: str,
    work: Path,
    model: object | None,
    scenario: int,
    cache: Path | None = None,
    thresholds: Thresholds | None = None,
    refine: bool = True,
) -> tuple[list[LevelRow], float]:
    import SimpleITK as sitk

    from acuity.ingest import load_volume, scan_folder
    from acuity.measure import BodyInput, measure_study
    from acuity.select import select_series
    from acuity.sim.study import LABELS_FILE, study_from_real_case

    t0 = time.perf_counter()
    key = cache / f"{case.case_id}_{scenario}_{seed}" if cache is not None else None
    if key is not None and (key / "study.pkl").is_file():
        # Cached: the simulated study as ingest + selection loaded it (same seed, same plan).
        with open(key / "study.pkl", "rb") as fh:
            truth, no_edema_reason, roles = pickle.load(fh)
        vols = {r: sitk.ReadImage(str(key / f"{r}.nii.gz")) for r in roles}
        truth_labels = sitk.ReadImage(str(key / "labels.nii.gz"))
    else:
        truth = study_from_real_case(case.path, lesions, work, seed=seed, overwrite=True)  # type: ignore[arg-type]
        scan = scan_folder(work)
        study = scan.studies[0]
        selection = select_series(study)
        if selection.edema is None and case.sequence_group is SequenceGroup.WATER:
            # T1-weighted Dixon water images are (rightly) no edema series for the selection
            # rules; the validation passes them as one explicitly, as a user can
            # (--edema-series).
            selection = select_series(study, edema_series=study.series[0].series_instance_uid)
        no_edema_reason = selection.no_edema_reason
        vols = {}
        for role, chosen in selection.chosen().items():
            series = next(
                s for s in study.series if s.series_instance_uid == chosen.series_instance_uid
            )
            vols[role] = load_volume(chosen, series).image
        truth_labels = sitk.ReadImage(str(work / LABELS_FILE))
        if key is not None:
            key.mkdir(parents=True, exist_ok=True)
            for r, im in vols.items():
                sitk.WriteImage(im, str(key / f"{getattr(r, 'value', r)}.nii.gz"))
            sitk.WriteImage(truth_labels, str(key / "labels.nii.gz"))
            with open(key / "study.pkl", "wb") as fh:
                pickle.dump(
                    (truth, no_edema_reason, sorted(str(getattr(r, "value", r)) for r in vols)), fh
                )
    any_image = next(iter(vols.values())) if vols else None
    if labels_mode == "truth":
        labels = truth_labels
        last = max(lv.label for lv in truth.levels)
        bodies = [
            BodyInput(
                lv.label,
                _level_name(lv.name, lv.label == last and case.bottom_is_s1),  # type: ignore[arg-type]
                1.0,
                False,
            )
            for lv in truth.levels
        ]
        match = {lv.label: lv.label for lv in truth.levels}
    else:
        from acuity.segment import segment_image

        if any_image is None:
            raise InputError(f"{case.case_id}: no series selected to segment")
        seg = segment_image(any_image, model=model, refine=refine)  # type: ignore[arg-type]
        labels = seg.label_map
        bodies = list(seg.bodies)  # type: ignore[arg-type]
        match = match_bodies(sitk.GetArrayFromImage(truth_labels), sitk.GetArrayFromImage(labels))
    findings = measure_study(
        labels,
        bodies,
        edema=vols.get("edema"),
        t1=vols.get("t1"),
        thresholds=thresholds,
        no_edema_reason=no_edema_reason,
    )
    by_label = {f.label: f for f in findings}
    lesions_by_label = {les.label: les for les in truth.lesions}
    capable = case.sequence_group in EDEMA_GROUPS
    rows = []
    for lv in truth.levels:
        les = lesions_by_label.get(lv.label)
        grade = les.genant_grade if les is not None else 0
        edema = bool(les.edema.present) if les is not None else False
        f = by_label.get(match.get(lv.label, -1))
        m = f.morphometry if f is not None else None
        e = f.edema if f is not None else None
        rows.append(
            LevelRow(
                case=case.case_id,
                scenario=scenario,
                level=lv.name,
                label=lv.label,
                edema_capable=capable,
                touched=les is not None,
                truth_acuity=expected_acuity(grade >= 1, edema),
                truth_grade=grade,
                truth_loss_pct=les.height_loss_pct if les is not None else 0.0,
                truth_deformity=les.deformity if les is not None else "none",
                truth_edema=edema,
                truth_ratio=les.edema.ratio_stir if les is not None and edema else None,
                pred_acuity=f.acuity.value if f is not None else "missing",
                pred_grade=int(m.genant_grade) if m is not None else None,
                pred_loss_pct=m.height_loss_pct if m is not None else None,
                pred_deformity=m.deformity.value if m is not None else None,
                edema_fraction=e.fraction if e is not None else None,
                edema_ratio=e.ratio if e is not None else None,
                edema_endplate=e.endplate_ratio if e is not None else None,
                matched=f is not None,
                reasons=tuple(f.reasons) if f is not None else (),
                group=case.sequence_group.value,
            )
        )
    return rows, time.perf_counter() - t0


def real_deformities(case: Case, thresholds: Thresholds | None) -> dict[int, float]:
    """Label -> height loss (%) of the exam's bodies that the morphometry grades >= 1 on the
    exam's own expert masks, before any simulation (e.g. vb3-45 L1, a real 24 % wedge).

    The simulator calls every untouched body ``none`` and builds its lesions on the real body,
    but such a body is a real deformity of unknown age: ``none`` is not its truth, and neither
    is the simulated acuity of a lesion laid on it. The report counts its levels, shows how they
    were read and gives the headline figures with and without them.
    """
    import SimpleITK as sitk

    from acuity.measure import BodyInput, measure_study
    from acuity.segment.level import VertebraLevel

    labels = sitk.ReadImage(str(case.labels_path))
    ids = sorted(int(v) for v in np.unique(sitk.GetArrayViewFromImage(labels)) if v)
    bodies = []
    for k in ids:
        # Named as run_study names the truth's bodies: the meta's levels, S1 at the bottom.
        level = case.levels[k - 1] if case.levels and k <= len(case.levels) else None
        if k == ids[-1] and case.bottom_is_s1:
            level = VertebraLevel.S1
        bodies.append(BodyInput(k, level, 1.0, False))
    findings = measure_study(labels, bodies, edema=None, thresholds=thresholds)
    return {
        f.label: float(f.morphometry.height_loss_pct)
        for f in findings
        if f.morphometry is not None and int(f.morphometry.genant_grade) >= 1
    }


def _level_name(name: str, bottom_s1: bool) -> str | None:
    """The truth's level name, None for the simulator's ``V<k>`` placeholders (S1 when the
    dataset says the lowest body is S1)."""
    if bottom_s1:
        return "S1"
    return None if name.startswith("V") else name


def match_bodies(truth: np.ndarray, pred: np.ndarray) -> dict[int, int]:
    """Truth label -> predicted label, one to one, greedily by Dice (>= 0.5 only): a predicted
    body that merges two truth bodies matches one of them, the other is ``missing``."""
    pairs = []
    for t in (int(v) for v in np.unique(truth) if v):
        tm = truth == t
        n_t = int(tm.sum())
        cand, counts = np.unique(pred[tm], return_counts=True)
        for c, n in zip(cand, counts):
            if c == 0:
                continue
            d = 2.0 * float(n) / (n_t + int((pred == c).sum()))
            if d >= 0.5:
                pairs.append((d, t, int(c)))
    out: dict[int, int] = {}
    used: set[int] = set()
    for _, t, c in sorted(pairs, reverse=True):
        if t not in out and c not in used:
            out[t] = c
            used.add(c)
    return out


def cohen_kappa(a: list[int], b: list[int], weighted: bool = False) -> float:
    cats = sorted(set(a) | set(b) | {0, 1, 2, 3})
    k = len(cats)
    idx = {c: i for i, c in enumerate(cats)}
    obs = np.zeros((k, k))
    for x, y in zip(a, b):
        obs[idx[x], idx[y]] += 1
    n = obs.sum()
    exp = np.outer(obs.sum(1), obs.sum(0)) / n
    w = np.array(
        [[abs(i - j) / (k - 1) if weighted else float(i != j) for j in range(k)] for i in range(k)]
    )
    den = (w * exp).sum()
    return float(1.0 - (w * obs).sum() / den) if den > 0 else 1.0


def auc(pos: list[float], neg: list[float]) -> float:
    if not pos or not neg:
        return float("nan")
    p = np.asarray(pos)[:, None]
    q = np.asarray(neg)[None, :]
    return float(((p > q).sum() + 0.5 * (p == q).sum()) / (p.size * q.size))


def exam_interval(
    rows: list[LevelRow],
    stat: Callable[[list[LevelRow]], float],
    reps: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """95 % percentile interval of ``stat(rows)`` with the exams resampled (with replacement).

    Exams, not levels: the levels of one exam share its anatomy, contrast and segmentation
    errors, so they are not independent draws. With 6-10 exams the interval is wide, which is
    the point: a difference smaller than it is not evidence.
    """
    by_case: dict[str, list[LevelRow]] = {}
    for r in rows:
        by_case.setdefault(r.case, []).append(r)
    cases = sorted(by_case)
    if not cases:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(reps):
        pick = rng.integers(len(cases), size=len(cases))
        v = stat([r for i in pick for r in by_case[cases[i]]])
        if np.isfinite(v):
            values.append(v)
    lo, hi = np.percentile(values, [2.5, 97.5]) if values else (float("nan"), float("nan"))
    return float(lo), float(hi)


def _accuracy(rows: list[LevelRow]) -> float:
    return float(np.mean([r.pred_acuity == r.truth_acuity for r in rows])) if rows else float("nan")


def _kappa(rows: list[LevelRow]) -> float:
    graded = [r for r in rows if r.pred_grade is not None]
    if not graded:
        return float("nan")
    return cohen_kappa([r.truth_grade for r in graded], [int(r.pred_grade or 0) for r in graded])


def report(rows: list[LevelRow]) -> str:
    lines = []
    cap = [r for r in rows if r.edema_capable]
    lines.append(
        f"## Acuity (edema-capable exams: {len({r.case for r in cap})} exams, "
        f"{len({(r.case, r.scenario) for r in cap})} studies, {len(cap)} levels)"
    )
    lines.append("")
    cols = CLASSES + ["missing"]
    lines.append("| truth \\ predicted | " + " | ".join(cols) + " | recall |")
    lines.append("|---|" + "---|" * (len(cols) + 1))
    for c in CLASSES[:4]:
        sub = [r for r in cap if r.truth_acuity == c]
        cnt = Counter(r.pred_acuity for r in sub)
        rec = cnt[c] / len(sub) if sub else float("nan")
        lines.append(f"| {c} | " + " | ".join(str(cnt[p]) for p in cols) + f" | {rec:.3f} |")
    lines.append("")
    acc, counts = _acc(cap).split(" ", 1)
    lo, hi = exam_interval(cap, _accuracy)
    lines.append(
        f"- accuracy (all levels): **{acc}** {counts}; 95 % interval with the exams "
        f"resampled {lo:.3f}-{hi:.3f}"
    )
    for c in (Acuity.ACUTE.value, Acuity.CHRONIC.value, Acuity.NONE.value):
        sub = [r for r in cap if r.truth_acuity == c]
        if sub:
            lines.append(
                f"- {c}: {np.mean([r.pred_acuity == c for r in sub]):.3f} "
                f"({sum(r.pred_acuity == c for r in sub)}/{len(sub)})"
            )
    # What the reading means for candidacy (acuity/clinical/engine.py): only `acute` can make a
    # candidate; `edema_without_fracture` and `indeterminate` make the level at best
    # `needs_review`; `chronic`, `none` and a missing body make it not a candidate.
    review = (Acuity.EDEMA_WITHOUT_FRACTURE.value, Acuity.INDETERMINATE.value)
    ac = [r for r in cap if r.truth_acuity == Acuity.ACUTE.value]
    if ac:
        n_rev = sum(r.pred_acuity in review for r in ac)
        n_ok = sum(r.pred_acuity == Acuity.ACUTE.value for r in ac)
        lines.append(
            f"- simulated acute fractures, as candidacy sees them: {n_ok} `acute`, {n_rev} sent "
            f"to review (`edema_without_fracture` / `indeterminate`), {len(ac) - n_ok - n_rev} "
            f"missed (`chronic` / `none` / no body) of {len(ac)}"
        )
    not_ac = [r for r in cap if r.truth_acuity != Acuity.ACUTE.value]
    lines.append(
        f"- levels read `acute` that are not acute (a false path to candidacy): "
        f"{sum(r.pred_acuity == Acuity.ACUTE.value for r in not_ac)}/{len(not_ac)}"
        + "".join(
            f"; {k} x{n}"
            for k, n in sorted(
                Counter(
                    r.truth_acuity for r in not_ac if r.pred_acuity == Acuity.ACUTE.value
                ).items()
            )
        )
    )
    pos = [r.edema_fraction for r in cap if r.truth_edema and r.edema_fraction is not None]
    neg = [r.edema_fraction for r in cap if not r.truth_edema and r.edema_fraction is not None]
    lines.append(
        f"- AUC of the edema score (edematous fraction of the body core), levels with vs "
        f"without simulated edema: **{auc(pos, neg):.3f}** ({len(pos)} vs {len(neg)})"
    )
    pos_r = [r.edema_ratio for r in cap if r.truth_edema and r.edema_ratio is not None]
    neg_r = [r.edema_ratio for r in cap if not r.truth_edema and r.edema_ratio is not None]
    lines.append(f"- AUC of the body's median signal ratio: **{auc(pos_r, neg_r):.3f}**")
    pre = [r for r in cap if r.preexisting]
    if pre:
        clean = [r for r in cap if not r.preexisting]
        read = Counter(f"{r.case}/{r.level} {r.pred_acuity}" for r in pre)
        lines.append(
            f"- levels of bodies with a real deformity on the expert masks (grade >= 1 before "
            f"any simulation; true acuity unknown): {len(pre)}, read "
            + ", ".join(f"{k} x{n}" for k, n in sorted(read.items()))
        )
        acc, counts = _acc(clean).split(" ", 1)
        lines.append(f"- accuracy without those levels: **{acc}** {counts}")
    tl = [r for r in cap if r.level != "S1"]
    lines.append(f"- accuracy without S1 (not graded; see docs/methods.md): {_acc(tl)}")
    if pre:
        tl_clean = [r for r in tl if not r.preexisting]
        lines.append(f"- accuracy without S1 and without the real deformities: {_acc(tl_clean)}")
    untouched = [r for r in cap if not r.touched]
    fp = [r for r in untouched if r.pred_acuity not in (Acuity.NONE.value,)]
    fa = [r for r in untouched if r.pred_acuity == Acuity.ACUTE.value]
    lines.append(
        f"- untouched real levels: {len(fp)}/{len(untouched)} not `none` "
        f"({100 * len(fp) / max(1, len(untouched)):.1f}%): "
        + (", ".join(f"{r.case}/{r.level} {r.pred_acuity}" for r in _unique(fp)) or "-")
        + f"; false `acute`: **{len(fa)}**"
        + (
            f" ({sum(r.preexisting for r in fp)} of the {len(fp)} on bodies with a real deformity)"
            if any(r.preexisting for r in fp)
            else ""
        )
    )
    lines.append("")
    lines.append(
        f"## Morphometry (all exams: {len({r.case for r in rows})} exams, {len(rows)} levels)"
    )
    lines.append("")
    graded = [r for r in rows if r.pred_grade is not None]
    tg = [r.truth_grade for r in graded]
    pg = [int(r.pred_grade) for r in graded if r.pred_grade is not None]
    lo, hi = exam_interval(graded, _kappa)
    lines.append(
        f"- Genant grade agreement: kappa **{cohen_kappa(tg, pg):.3f}**, linearly weighted "
        f"**{cohen_kappa(tg, pg, weighted=True):.3f}** ({len(graded)} levels); 95 % interval "
        f"with the exams resampled {lo:.3f}-{hi:.3f}"
    )
    lines.append("")
    lines.append("| truth grade \\ predicted | 0 | 1 | 2 | 3 |")
    lines.append("|---|---|---|---|---|")
    for g in range(4):
        gcnt = Counter(p for t, p in zip(tg, pg) if t == g)
        lines.append(f"| {g} | " + " | ".join(str(gcnt[k]) for k in range(4)) + " |")
    clean_g = [r for r in graded if not r.preexisting]
    if len(clean_g) < len(graded):
        tg_c = [r.truth_grade for r in clean_g]
        pg_c = [int(r.pred_grade or 0) for r in clean_g]
        lines.append("")
        lines.append(
            f"- without the {len(graded) - len(clean_g)} levels of bodies with a real deformity: "
            f"kappa **{cohen_kappa(tg_c, pg_c):.3f}**, linearly weighted "
            f"{cohen_kappa(tg_c, pg_c, weighted=True):.3f} ({len(clean_g)} levels)"
        )
    frac = [r for r in graded if r.truth_grade >= 1 and r.pred_loss_pct is not None]
    err = _loss_errors(frac)
    if err.size:
        lines.append("")
        lines.append(
            f"- height-loss error on fractured levels (pp): mean {err.mean():+.1f}, "
            f"mean absolute {np.abs(err).mean():.1f}, 90th percentile of |error| "
            f"{np.percentile(np.abs(err), 90):.1f} ({err.size} levels)"
        )
        lines.append(
            f"- fractured levels within 5 pp of the true loss: {np.mean(np.abs(err) <= 5):.3f}; "
            f"within 2.5 pp: {np.mean(np.abs(err) <= 2.5):.3f}"
        )
        near = [abs(t - p) <= 1 for t, p in zip(tg, pg)]
        fx_t = [t >= 1 for t in tg]
        fx_p = [p >= 1 for p in pg]
        tp = sum(a and b for a, b in zip(fx_t, fx_p))
        tn = sum((not a) and (not b) for a, b in zip(fx_t, fx_p))
        lines.append(
            f"- grade within one of the truth: {np.mean(near):.3f}; fracture (grade >= 1) "
            f"sensitivity {tp / max(1, sum(fx_t)):.3f} ({tp}/{sum(fx_t)}), specificity "
            f"{tn / max(1, len(fx_t) - sum(fx_t)):.3f} ({tn}/{len(fx_t) - sum(fx_t)}), kappa "
            f"{cohen_kappa([int(x) for x in fx_t], [int(x) for x in fx_p]):.3f}"
        )
        dt = [r for r in frac if r.pred_grade and r.pred_grade >= 1]
        lines.append(
            f"- deformity type agreement on fractured levels graded >= 1: "
            f"{np.mean([r.pred_deformity == r.truth_deformity for r in dt]):.3f} ({len(dt)})"
        )
    lines.extend(grade_table(graded))
    lines.extend(group_table(graded))
    t12 = [r for r in rows if not r.edema_capable]
    if t12:
        ok = sum(r.pred_acuity == Acuity.INDETERMINATE.value for r in t12)
        lines.append(f"- T1/T2 exams (no edema series): {ok}/{len(t12)} levels `indeterminate`")
    missing = [r for r in rows if not r.matched]
    if missing:
        lines.append(f"- levels without a matching body (model labels): {len(missing)}")
    return "\n".join(lines)


def grade_table(graded: list[LevelRow]) -> list[str]:
    """Measured height loss against the true loss, per true Genant grade (lines of the report).

    Grade 0 shows the loss read on intact bodies (the largest of three losses against the
    neighbours, so never below 0); grades 1-3 show where an under- or over-measurement lies.
    """
    measured = [r for r in graded if r.pred_loss_pct is not None]
    if not measured:
        return []
    out = [
        "",
        (
            "| true grade | levels | height-loss error, mean (pp) | mean absolute (pp) "
            "| SD (pp) | read at the true grade |"
        ),
        "|---|---|---|---|---|---|",
    ]
    for g in range(4):
        rs = [r for r in measured if r.truth_grade == g]
        if not rs:
            continue
        err = _loss_errors(rs)
        same = sum(r.pred_grade == g for r in rs)
        out.append(
            f"| {g} | {len(rs)} | {err.mean():+.1f} | {np.abs(err).mean():.1f} | "
            f"{err.std():.1f} | {same}/{len(rs)} |"
        )
    return out


def group_table(graded: list[LevelRow]) -> list[str]:
    """Genant kappa and height-loss error per sequence group (lines of the report)."""
    groups = sorted({r.group for r in graded if r.group})
    if len(groups) < 2:
        return []
    out = [
        "",
        (
            "| sequence group | levels | Genant kappa | fractured levels "
            "| height-loss error, mean (pp) | mean absolute (pp) |"
        ),
        "|---|---|---|---|---|---|",
    ]
    for g in groups:
        rs = [r for r in graded if r.group == g]
        kappa = cohen_kappa([r.truth_grade for r in rs], [int(r.pred_grade or 0) for r in rs])
        err = _loss_errors([r for r in rs if r.truth_grade >= 1])
        mean = f"{err.mean():+.1f}" if err.size else "-"
        mae = f"{np.abs(err).mean():.1f}" if err.size else "-"
        out.append(f"| {g} | {len(rs)} | {kappa:.3f} | {err.size} | {mean} | {mae} |")
    return out


def _loss_errors(rows: list[LevelRow]) -> np.ndarray:
    """Height loss read minus true height loss (percentage points) of each row."""
    return np.array([float(r.pred_loss_pct or 0.0) - r.truth_loss_pct for r in rows])


def _acc(rows: list[LevelRow]) -> str:
    """Accuracy of ``rows`` as printed: ``0.934 (185/198)``."""
    right = sum(r.pred_acuity == r.truth_acuity for r in rows)
    return f"{_accuracy(rows):.3f} ({right}/{len(rows)})"


def _unique(rows: list[LevelRow]) -> list[LevelRow]:
    seen, out = set(), []
    for r in rows:
        if (r.case, r.level, r.pred_acuity) not in seen:
            seen.add((r.case, r.level, r.pred_acuity))
            out.append(r)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--labels", choices=["truth", "model"], default="truth")
    p.add_argument("--model", default=None, help="segmentation model file (--labels model)")
    p.add_argument(
        "--no-refine",
        action="store_true",
        help="--labels model without the model's per-body outline refiner",
    )
    p.add_argument("--split", type=Path, default=ROOT / "models" / "vertebrae_split.json")
    p.add_argument(
        "--cases",
        default="validation",
        help="'validation' (default), 'train', or a comma list of case ids",
    )
    p.add_argument("--scenarios", type=int, default=6, help="studies per exam (first: no lesion)")
    p.add_argument(
        "--seed",
        type=int,
        default=20240,
        help="an exam's lesion plan is seeded by its id, its simulated study by its place in "
        "--cases: a run on fewer exams repeats the plans, not the studies, of a full run",
    )
    p.add_argument("--json", type=Path, default=None, help="also write every level row here")
    p.add_argument("--only", default=None, help="run only these scenario numbers (comma list)")
    p.add_argument(
        "--show-wrong", action="store_true", help="print the reasons of every misclassified level"
    )
    p.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="keep each simulated study's loaded volumes here and reuse them on later runs "
        "(same seed and plan; for calibration runs that change only thresholds)",
    )
    p.add_argument(
        "--thresholds",
        type=Path,
        default=None,
        help="thresholds file (default: pipelines/acuity.yaml)",
    )
    p.add_argument(
        "--rows",
        type=Path,
        default=None,
        help="print the report of the level rows a run saved with --json (no run)",
    )
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.rows is not None:
        try:
            saved = [LevelRow(**d) for d in json.loads(args.rows.read_text())]
        except (OSError, ValueError, TypeError) as exc:
            p.error(f"--rows {args.rows}: not level rows saved by --json ({exc})")
        print(f"# Acuity validation: level rows of {args.rows} ({len(saved)} levels)\n")
        print(report(saved))
        return 0
    data = shared_data_dir()
    if data is None:
        print("real data not found: set ACUITY_DATA", file=sys.stderr)
        return 2
    split = Split.read(args.split)
    if args.cases == "validation":
        ids = list(split.validation)
    elif args.cases == "train":
        ids = list(split.train)
    else:
        ids = [c.strip() for c in args.cases.split(",") if c.strip()]
    model = None
    if args.labels == "model":
        from acuity.segment import load_model

        try:
            model = load_model(args.model)
        except Exception as exc:  # noqa: BLE001 - any failure to load means no model
            print(f"cannot load the segmentation model: {exc}", file=sys.stderr)
            return 2
    thresholds = Thresholds.load(args.thresholds)
    try:  # every exam read before the first (long) study: a bad name fails at once
        cases = [load_case(data / "vertebrae" / cid) for cid in ids]
    except InputError as exc:
        p.error(str(exc))
    rows: list[LevelRow] = []
    work_root = Path(tempfile.mkdtemp(prefix="acuity_validate_"))
    started = time.perf_counter()
    try:
        for ci, (cid, case) in enumerate(zip(ids, cases)):
            names = list(
                json.loads((case.path / "meta.json").read_text()).get("levels_top_to_bottom")
                or [f"V{i}" for i in range(1, case.n_bodies + 1)]
            )
            only = {int(x) for x in args.only.split(",")} if args.only else None
            real = real_deformities(case, thresholds)
            if real:
                print(
                    f"{cid}: real deformity on the expert masks: "
                    + ", ".join(f"body {k} {v:.0f} %" for k, v in sorted(real.items())),
                    file=sys.stderr,
                )
            for sc in range(args.scenarios):
                if only is not None and sc not in only:
                    continue
                rng = np.random.default_rng([args.seed, zlib.crc32(cid.encode()), sc])
                lesions = [] if sc == 0 else plan_lesions(case, names, rng)
                work = work_root / f"{cid}_{sc}"
                got, secs = run_study(
                    case,
                    lesions,
                    args.seed + 97 * ci + sc,
                    args.labels,
                    work,
                    model,
                    sc,
                    cache=args.cache,
                    thresholds=thresholds,
                    refine=not args.no_refine,
                )
                shutil.rmtree(work, ignore_errors=True)
                for r in got:
                    r.preexisting = r.label in real
                rows.extend(got)
                desc = (
                    ", ".join(
                        f"{les.level}:{les.deformity.value}:{les.height_loss:.2f}:"  # type: ignore[attr-defined]
                        f"{les.acuity.value}"  # type: ignore[attr-defined]
                        for les in lesions
                    )
                    or "no lesion"
                )  # type: ignore[attr-defined]
                wrong = [
                    f"{r.level} {r.truth_acuity}->{r.pred_acuity}"
                    for r in got
                    if r.edema_capable and r.pred_acuity != r.truth_acuity
                ]
                print(
                    f"{cid} #{sc} ({secs:.0f} s) {desc}" + (f"  WRONG: {wrong}" if wrong else ""),
                    file=sys.stderr,
                )
                if args.show_wrong:
                    for r in got:
                        if r.edema_capable and r.pred_acuity != r.truth_acuity:
                            print(f"    {r.level}: " + "\n      ".join(r.reasons), file=sys.stderr)
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
    print(
        f"# Acuity validation: --labels {args.labels}, cases {args.cases} ({len(ids)}), "
        f"{args.scenarios} scenarios each, seed {args.seed} "
        f"({time.perf_counter() - started:.0f} s)\n"
    )
    print(report(rows))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

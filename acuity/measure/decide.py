"""The acuity of one level from its morphometry and its edema score.

=====================  =========================  ==============================
fracture (grade >= 1)  edema present              acuity
=====================  =========================  ==============================
yes                    yes                        ``acute``
yes                    no                         ``chronic``
no                     yes                        ``edema_without_fracture``
no                     no                         ``none``
=====================  =========================  ==============================

``indeterminate`` when the body is partial, has no edema series (the reason given by series
selection), could not be scored on it (field of view, too few reference bodies), or could not
be measured at all. S1 is not graded for fracture: without edema it is ``none``; with a signal
above the lumbar reference it is ``indeterminate`` (review: a sacral insufficiency fracture
shows as edema without height loss, but sacral marrow also differs from lumbar marrow).
"""

from __future__ import annotations

from acuity.measure.edema import BodyEdema
from acuity.measure.enum import Acuity
from acuity.measure.morphometry import MorphometryResult
from acuity.measure.thresholds import Thresholds


def decide_acuity(
    *,
    partial: bool,
    is_s1: bool,
    morphometry: MorphometryResult | None,
    edema: BodyEdema | None,
    no_edema_reason: str | None,
    thresholds: Thresholds,
) -> tuple[Acuity, tuple[str, ...]]:
    """(acuity, reasons) of one level; reasons quote the numbers and thresholds."""
    reasons: list[str] = []
    m = morphometry.morphometry if morphometry is not None else None
    mt = thresholds.morphometry
    if m is not None:
        grade = int(m.genant_grade)
        if grade >= 1:
            reasons.append(
                f"fracture: height loss {m.height_loss_pct:.0f}% ({m.deformity.value}) >= "
                f"{100 * mt.grade1_loss:.0f}%: Genant grade {grade}"
                + (" (vertebra plana)" if m.vertebra_plana else "")
            )
        else:
            reasons.append(
                f"no fracture: height loss {m.height_loss_pct:.0f}% < {100 * mt.grade1_loss:.0f}%"
            )
    if morphometry is not None:
        reasons.extend(morphometry.notes)
    if partial:
        return Acuity.INDETERMINATE, ("partial body: cut by the field of view", *reasons)
    if edema is None:
        why = no_edema_reason or "no edema (STIR / fat-suppressed T2) series"
        return Acuity.INDETERMINATE, (f"edema not assessable: {why}", *reasons)
    if edema.score is None or edema.present is None:
        return Acuity.INDETERMINATE, (
            f"edema not assessable: {edema.problem or 'not scored'}",
            *reasons,
        )
    reasons.extend(edema.notes)
    has_edema = edema.present
    if is_s1:
        if has_edema:
            return Acuity.INDETERMINATE, (
                (
                    "S1 signal above the lumbar marrow reference; S1 is not graded for height "
                    "loss and sacral marrow may differ from lumbar marrow: review"
                ),
                *reasons,
            )
        return Acuity.NONE, ("S1 without marrow edema", *reasons)
    if m is None:
        return Acuity.INDETERMINATE, ("body could not be measured", *reasons)
    fractured = m.genant_grade >= 1
    score = edema.score
    et = thresholds.edema
    edema_text = (
        f"marrow edema in {100 * score.fraction:.0f}% of the body ({score.pattern.value})"
        if has_edema
        else f"no marrow edema ({100 * score.fraction:.0f}% of the body < "
        f"{100 * et.min_fraction:.0f}%)"
    )
    fracture_text = (
        f"Genant grade {int(m.genant_grade)} {m.deformity.value} fracture "
        f"({m.height_loss_pct:.0f}% height loss)"
        if fractured
        else f"no fracture ({m.height_loss_pct:.0f}% height loss < {100 * mt.grade1_loss:.0f}%)"
    )
    if fractured and has_edema:
        acuity = Acuity.ACUTE
    elif fractured:
        acuity = Acuity.CHRONIC
    elif has_edema:
        acuity = Acuity.EDEMA_WITHOUT_FRACTURE
    else:
        acuity = Acuity.NONE
    head = f"{acuity.value}: {fracture_text}, {edema_text}"
    if acuity is Acuity.EDEMA_WITHOUT_FRACTURE:
        head += ": possible occult fracture or another cause, review"
    return acuity, (head, *reasons)

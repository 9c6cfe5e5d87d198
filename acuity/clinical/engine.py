"""Candidacy evaluation: a generic engine applying a guideline profile to the findings.

Per level, in this order:

1. The built-in imaging gate (the same for every profile): a level whose imaging acuity is
   ``chronic`` (healed) or ``none`` (no fracture, no edema) is ``not_candidate`` and no rule is
   applied to it; ``edema_without_fracture`` makes it at best ``needs_review``; an
   ``indeterminate`` level is always ``needs_review`` (its reasons still list every rule,
   absolute contraindications included).
2. Every rule of the profile (three-valued, see :mod:`acuity.clinical.conditions`):

   ===========================  ===============  ==============  ==============
   kind                         met              not met         unknown
   ===========================  ===============  ==============  ==============
   indication                   -                not_candidate   needs_review
   absolute_contraindication    not_candidate    -               needs_review
   relative_contraindication    needs_review     -               needs_review
   flag                         (reported only)  -               -
   ===========================  ===============  ==============  ==============

3. Without clinical input the level is at best ``needs_review`` (imaging-only verdict).

The verdict is the strongest effect: not_candidate > needs_review > candidate. Rules that name
no per-level fact (infection, allergy, the number of fractures) are evaluated once for the
patient and apply to every level.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from acuity.clinical.enum import Flag, RuleKind, RuleResult, Verdict
from acuity.clinical.facts import Facts, clinical_facts, level_facts, study_facts
from acuity.clinical.input import FIELD_NAMES, ClinicalInput
from acuity.clinical.model import LevelCandidacy, PatientCandidacy, Reason
from acuity.clinical.profile import Profile, Rule, load_profile
from acuity.measure.enum import Acuity
from acuity.measure.model import LevelFinding

logger = logging.getLogger(__name__)

#: Source named by reasons of the built-in imaging gate (see docs/clinical.md).
BUILTIN_SOURCE = "acuity"

_EFFECT: dict[tuple[RuleKind, RuleResult], Verdict] = {
    (RuleKind.INDICATION, RuleResult.NOT_MET): Verdict.NOT_CANDIDATE,
    (RuleKind.INDICATION, RuleResult.UNKNOWN): Verdict.NEEDS_REVIEW,
    (RuleKind.ABSOLUTE_CONTRAINDICATION, RuleResult.MET): Verdict.NOT_CANDIDATE,
    (RuleKind.ABSOLUTE_CONTRAINDICATION, RuleResult.UNKNOWN): Verdict.NEEDS_REVIEW,
    (RuleKind.RELATIVE_CONTRAINDICATION, RuleResult.MET): Verdict.NEEDS_REVIEW,
    (RuleKind.RELATIVE_CONTRAINDICATION, RuleResult.UNKNOWN): Verdict.NEEDS_REVIEW,
}

_PHRASE: dict[tuple[RuleKind, RuleResult], str] = {
    (RuleKind.INDICATION, RuleResult.MET): "met",
    (RuleKind.INDICATION, RuleResult.NOT_MET): "not met",
    (RuleKind.INDICATION, RuleResult.UNKNOWN): "cannot be decided",
    (RuleKind.ABSOLUTE_CONTRAINDICATION, RuleResult.MET): "present",
    (RuleKind.ABSOLUTE_CONTRAINDICATION, RuleResult.NOT_MET): "absent",
    (RuleKind.ABSOLUTE_CONTRAINDICATION, RuleResult.UNKNOWN): "cannot be excluded",
    (RuleKind.RELATIVE_CONTRAINDICATION, RuleResult.MET): "present, for the clinician to weigh",
    (RuleKind.RELATIVE_CONTRAINDICATION, RuleResult.NOT_MET): "absent",
    (RuleKind.RELATIVE_CONTRAINDICATION, RuleResult.UNKNOWN): "cannot be excluded",
    (RuleKind.FLAG, RuleResult.MET): "raised",
    (RuleKind.FLAG, RuleResult.NOT_MET): "not raised",
    (RuleKind.FLAG, RuleResult.UNKNOWN): "cannot be decided",
}


def apply_rule(rule: Rule, facts: Facts) -> Reason:
    """The reason of one rule on one set of facts."""
    outcome = rule.when.evaluate(facts)
    result = (
        RuleResult.UNKNOWN
        if outcome.value is None
        else (RuleResult.MET if outcome.value else RuleResult.NOT_MET)
    )
    found = outcome.found()
    message = f"{rule.summary}: {_PHRASE[rule.kind, result]}" + (f" ({found})" if found else "")
    return Reason(
        rule_id=rule.id,
        kind=rule.kind,
        message=message,
        source=rule.source.file,
        quote=rule.source.quote,
        result=result,
        effect=_EFFECT.get((rule.kind, result)),
        missing=outcome.missing,
    )


def imaging_gate(f: LevelFinding) -> Reason | None:
    """The built-in reason of the imaging acuity (None for an acute level)."""
    evidence = f" [{'; '.join(f.reasons)}]" if f.reasons else ""
    if f.acuity is Acuity.ACUTE:
        return None
    if f.acuity is Acuity.CHRONIC:
        return Reason(
            "imaging.chronic",
            RuleKind.INDICATION,
            "healed (chronic) fracture without marrow edema: an imaging-chronic level is never "
            "a candidate" + evidence,
            BUILTIN_SOURCE,
            "an imaging chronic level is never a candidate",
            RuleResult.NOT_MET,
            Verdict.NOT_CANDIDATE,
        )
    if f.acuity is Acuity.NONE:
        return Reason(
            "imaging.no_fracture",
            RuleKind.INDICATION,
            "no fracture and no marrow edema at this level" + evidence,
            BUILTIN_SOURCE,
            "a level without fracture or edema is not a candidate",
            RuleResult.NOT_MET,
            Verdict.NOT_CANDIDATE,
        )
    if f.acuity is Acuity.EDEMA_WITHOUT_FRACTURE:
        return Reason(
            "imaging.edema_without_fracture",
            RuleKind.INDICATION,
            "marrow edema without height loss: possible occult fracture or another cause of "
            "edema (tumour, infection, degenerative); review the images" + evidence,
            BUILTIN_SOURCE,
            "edema without fracture is reviewed by a clinician",
            RuleResult.UNKNOWN,
            Verdict.NEEDS_REVIEW,
        )
    return Reason(
        "imaging.indeterminate",
        RuleKind.INDICATION,
        "imaging acuity indeterminate: edema could not be assessed at this level" + evidence,
        BUILTIN_SOURCE,
        "an indeterminate level is needs_review",
        RuleResult.UNKNOWN,
        Verdict.NEEDS_REVIEW,
    )


_NO_CLINICAL = Reason(
    "clinical.absent",
    RuleKind.INDICATION,
    "no clinical data given: this is an imaging-only verdict; candidacy needs the clinical data",
    BUILTIN_SOURCE,
    "without clinical input the report gives the imaging-only verdicts",
    RuleResult.UNKNOWN,
    Verdict.NEEDS_REVIEW,
)


def _verdict(reasons: Sequence[Reason]) -> Verdict:
    verdict = Verdict.CANDIDATE
    for r in reasons:
        if r.effect is not None and r.effect.severity > verdict.severity:
            verdict = r.effect
    return verdict


def evaluate(
    findings: Sequence[LevelFinding],
    clinical: ClinicalInput | None,
    profile: Profile | str | Path | None = None,
) -> PatientCandidacy:
    """Candidacy of every level of a study under a guideline profile (default
    ``conservative-3mo``; a name or a path is loaded with :func:`load_profile`)."""
    if not isinstance(profile, Profile):
        profile = load_profile(profile)
    cfacts = clinical_facts(clinical)
    sfacts = study_facts(findings)
    patient_facts = Facts({**cfacts, **sfacts})
    patient_reasons = {r.id: apply_rule(r, patient_facts) for r in profile.rules if not r.per_level}

    flags: list[Reason] = [
        patient_reasons[r.id]
        for r in profile.rules
        if r.kind is RuleKind.FLAG
        and not r.per_level
        and patient_reasons[r.id].result is RuleResult.MET
    ]
    malignancy = any(profile.rule(r.rule_id).flag is Flag.MALIGNANCY_SUSPICION for r in flags)
    absolute = tuple(
        patient_reasons[r.id]
        for r in profile.rules
        if r.kind is RuleKind.ABSOLUTE_CONTRAINDICATION
        and not r.per_level
        and patient_reasons[r.id].result is RuleResult.MET
    )

    levels: list[LevelCandidacy] = []
    missing: set[str] = set()
    for f in sorted(findings, key=lambda x: x.label):
        gate = imaging_gate(f)
        if gate is not None and gate.effect is Verdict.NOT_CANDIDATE:
            levels.append(
                LevelCandidacy(f.level, f.label, Verdict.NOT_CANDIDATE, (gate,), f.acuity)
            )
            continue
        facts = Facts({**cfacts, **sfacts, **level_facts(f, clinical)})
        reasons: list[Reason] = [] if gate is None else [gate]
        if clinical is None:
            reasons.append(_NO_CLINICAL)
        for rule in profile.rules:
            if not rule.per_level:
                if rule.kind is not RuleKind.FLAG:
                    reasons.append(patient_reasons[rule.id])
                continue
            reason = apply_rule(rule, facts)
            reasons.append(reason)
            if rule.kind is RuleKind.FLAG and reason.result is RuleResult.MET:
                name = f.level.value if f.level is not None else f"#{f.label}"
                flags.append(
                    Reason(
                        reason.rule_id,
                        reason.kind,
                        f"{name}: {reason.message}",
                        reason.source,
                        reason.quote,
                        reason.result,
                        None,
                        (),
                    )
                )
                malignancy = malignancy or rule.flag is Flag.MALIGNANCY_SUSPICION
        verdict = _verdict(reasons)
        if f.acuity is Acuity.INDETERMINATE:
            # The imaging could not tell: a clinician reviews the level, whatever else was
            # found (an absolute contraindication stays listed among its reasons).
            verdict = Verdict.NEEDS_REVIEW
        if verdict is Verdict.NEEDS_REVIEW:  # a not_candidate verdict needs no more data
            for r in reasons:
                missing.update(r.missing)
        levels.append(LevelCandidacy(f.level, f.label, verdict, tuple(reasons), f.acuity))

    missing_fields = tuple(n for n in FIELD_NAMES if n in missing)
    note = _note(profile, clinical, findings, levels, missing_fields)
    logger.info(
        "candidacy (%s): %s",
        profile.name,
        ", ".join(f"{c.name} {c.verdict.value}" for c in levels) or "no levels",
    )
    return PatientCandidacy(
        profile=profile.name,
        profile_title=profile.title,
        clinical_given=clinical is not None,
        absolute_contraindications=absolute,
        malignancy_suspicion=malignancy,
        flags=tuple(flags),
        missing_fields=missing_fields,
        levels=tuple(levels),
        note=note,
    )


def _note(
    profile: Profile,
    clinical: ClinicalInput | None,
    findings: Sequence[LevelFinding],
    levels: Sequence[LevelCandidacy],
    missing: Sequence[str],
) -> str:
    parts = [f"Profile {profile.name}: {profile.title}."]
    if not findings:
        parts.append("No vertebral level was measured, so no level can be assessed.")
    if clinical is None:
        fields = ", ".join(profile.clinical_fields())
        parts.append(
            "No clinical data given: verdicts use imaging only; candidacy needs the clinical "
            f"data ({fields})."
        )
    elif missing:
        parts.append(
            f"Clinical fields missing: {', '.join(missing)}; levels that need them are "
            "needs_review."
        )
    n = {v: sum(1 for c in levels if c.verdict is v) for v in Verdict}
    if levels:
        parts.append(
            f"{n[Verdict.CANDIDATE]} candidate, {n[Verdict.NEEDS_REVIEW]} needs_review, "
            f"{n[Verdict.NOT_CANDIDATE]} not_candidate level(s)."
        )
    return " ".join(parts)

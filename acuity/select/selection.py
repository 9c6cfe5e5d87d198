"""Choosing the stacks the analyzer reads: the edema series and its T1/T2 companions.

Every stack of the study is classified (:func:`~acuity.select.classify.classify_stack`),
then the ``selection`` part of the rules file decides:

1. ``exclude``: stacks never used (unusable, derived, localizer, not sagittal...), each with
   its reason;
2. for each role (edema, then t1, then t2) the first ``tier`` that has a candidate wins; among
   that tier's candidates ``tie_break`` picks one: largest superior-inferior coverage (within
   ``coverage_tolerance_mm``), then the latest acquisition, then the highest series number;
3. a user override (SeriesInstanceUID, stack id or series number) replaces the automatic
   choice of its role.

Coverage is the superior-inferior extent (mm) of the stack: the range of the LPS z
coordinate over the four corners of every frame. Before vertebrae are segmented it stands in
for "covers the most vertebrae".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from acuity.errors import InputError
from acuity.ingest.model import Series, SeriesStack, Study
from acuity.select.classify import Namespace, classify_stack
from acuity.select.enum import Role
from acuity.select.model import Selection, SeriesClassification, StackAssessment
from acuity.select.rules import RoleSpec, RuleSet, Tier, load_rules

logger = logging.getLogger(__name__)

_ROLE_ORDER = (Role.EDEMA, Role.T1, Role.T2)
_KEY_WORDS = {
    "coverage_mm": "larger superior-inferior coverage",
    "acquired": "acquired later",
    "series_number": "higher series number",
    "n_slices": "more slices",
    "confidence": "more confident classification",
}


def stack_coverage_mm(stack: SeriesStack) -> float | None:
    """Superior-inferior extent (mm) of a stack: z range of all frame corners (LPS)."""
    zs: list[float] = []
    for f in stack.frames:
        r, c = f.orientation[:3], f.orientation[3:]
        row_spacing, col_spacing = f.pixel_spacing
        along_row = (f.columns - 1) * col_spacing * r[2]
        down_column = (f.rows - 1) * row_spacing * c[2]
        z = f.position[2]
        zs.extend((z, z + along_row, z + down_column, z + along_row + down_column))
    if not zs:
        return None
    return max(zs) - min(zs)


@dataclass
class _Entry:
    series: Series
    stack: SeriesStack
    classification: SeriesClassification
    ns: Namespace
    coverage_mm: float | None
    excluded: str | None = None
    role: Role = Role.UNUSED
    reasons: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        number = self.series.series_number
        desc = self.series.description or "(no description)"
        split = f" stack {self.stack.stack_id}" if len(self.series.stacks) > 1 else ""
        return f"#{number if number is not None else '?'} {desc!r}{split}"

    def key(self, name: str) -> float | str:
        if name == "coverage_mm":
            return self.coverage_mm or 0.0
        if name == "acquired":
            return self.series.acquired or ""
        if name == "series_number":
            return self.series.series_number if self.series.series_number is not None else -1
        if name == "n_slices":
            return self.stack.n_slices
        if name == "confidence":
            return self.classification.confidence
        raise KeyError(name)  # pragma: no cover - validated by the rules loader


def _namespace(
    series: Series,
    stack: SeriesStack,
    c: SeriesClassification,
    coverage: float | None,
    rules: RuleSet,
) -> Namespace:
    ns = Namespace(c.facts, rules)
    for d in c.decisions:
        ns.set(d.decision.value, d.value, f"decision {d.decision.value}")
    ns.set("contrast", c.contrast.value, "classification")
    ns.set("confidence", round(c.confidence, 2), "classification")
    ns.set("plane", c.plane.value if c.plane else None, "stack geometry")
    ns.set("usable", "YES" if stack.usable else "NO", "ingestion")
    ns.set(
        "unusable_reason",
        stack.unusable_reason or ("no geometry" if not stack.usable else None),
        "ingestion",
    )
    ns.set("coverage_mm", None if coverage is None else round(coverage, 1), "stack geometry")
    ns.set("n_slices", float(stack.n_slices), "ingestion")
    ns.set(
        "series_number",
        None if series.series_number is None else float(series.series_number),
        "(0020,0011) SeriesNumber",
    )
    ns.set("acquired", series.acquired or None, "series acquisition date/time")
    return ns


def _tier_of(entry: _Entry, spec: RoleSpec) -> int | None:
    for i, tier in enumerate(spec.tiers):
        if tier.when.evaluate(entry.ns).ok:
            return i
    return None


def _shown(name: str, value: float | str) -> str:
    if name == "coverage_mm" and isinstance(value, float):
        return f"{value:.1f} mm"
    return str(value) if value not in ("", -1) else "unknown"


def _rank(
    candidates: list[_Entry], tie_break: tuple[str, ...], tolerance: float
) -> tuple[_Entry, dict[int, str]]:
    """The winner among ``candidates`` and, for each loser (by id()), why it lost."""
    group = sorted(candidates, key=lambda e: e.stack.stack_id)
    why: dict[int, str] = {}
    for name in tie_break:
        if len(group) == 1:
            break
        best = max(e.key(name) for e in group)  # type: ignore[type-var]
        keep: list[_Entry] = []
        for e in group:
            value = e.key(name)
            if name == "coverage_mm":
                assert isinstance(best, float) and isinstance(value, float)
                tied = value >= best - tolerance
            else:
                tied = value == best
            if tied:
                keep.append(e)
            else:
                why[id(e)] = (
                    f"{_KEY_WORDS[name]} preferred ({_shown(name, best)} vs {_shown(name, value)})"
                )
        group = keep
    winner = group[0]
    for e in group[1:]:
        why[id(e)] = f"tied on {', '.join(tie_break)}; stack id order decided"
    return winner, why


def _describe_available(entries: list[_Entry]) -> str:
    seen: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    for e in entries:
        uid = e.series.series_instance_uid
        seen.setdefault(uid, []).append(e.stack.stack_id)
        number = e.series.series_number
        labels[uid] = (
            f"#{number if number is not None else '?'} {e.series.description or '(no description)'!r} "
            f"(SeriesInstanceUID {uid}"
        )
    return "; ".join(f"{labels[uid]}, stacks {stacks})" for uid, stacks in seen.items()) or "none"


def _resolve_override(
    value: str | int, option: str, entries: list[_Entry], study: Study, spec: RoleSpec | None
) -> _Entry:
    text = str(value).strip()
    matches = [e for e in entries if e.stack.stack_id == text]
    if not matches:
        matches = [e for e in entries if e.series.series_instance_uid == text]
    if not matches:
        digits = text.removeprefix("#")
        if digits.isdigit():
            matches = [e for e in entries if e.series.series_number == int(digits)]
    if not matches:
        raise InputError(
            f"{option}={text!r} names no series or stack of study {study.study_instance_uid}: "
            "give a SeriesInstanceUID, a stack id or a series number; available: "
            f"{_describe_available(entries)}"
        )
    uids = {e.series.series_instance_uid for e in matches}
    if len(uids) > 1:
        raise InputError(
            f"{option}={text!r} is ambiguous: several series have that number; give the "
            f"SeriesInstanceUID instead: {_describe_available(matches)}"
        )
    usable = [e for e in matches if e.stack.usable]
    if not usable:
        reasons = "; ".join(
            f"{e.stack.stack_id}: {e.stack.unusable_reason or 'no geometry'}" for e in matches
        )
        raise InputError(
            f"{option}={text!r} names a series that cannot be rebuilt into a volume ({reasons})"
        )
    if len(usable) > 1 and spec is not None:
        in_tier = [e for e in usable if _tier_of(e, spec) is not None]
        usable = in_tier or usable
    return max(usable, key=lambda e: (e.coverage_mm or 0.0, e.stack.n_slices))


def select_series(
    study: Study,
    *,
    edema_series: str | int | None = None,
    t1_series: str | int | None = None,
    t2_series: str | int | None = None,
    rules: RuleSet | None = None,
) -> Selection:
    """Classify every stack of ``study`` and choose the edema, T1 and T2 stacks.

    Overrides name a series by SeriesInstanceUID, stack id (``UID#k`` for split series) or
    series number; one that names nothing known raises :class:`~acuity.errors.InputError`
    listing the available series.
    """
    rules = rules or load_rules()
    sel = rules.selection
    entries: list[_Entry] = []
    for series in study.series:
        for stack in series.stacks:
            c = classify_stack(stack, series, rules)
            coverage = stack_coverage_mm(stack) if stack.frames else None
            entries.append(
                _Entry(series, stack, c, _namespace(series, stack, c, coverage, rules), coverage)
            )

    for e in entries:
        for ex in sel.exclude:
            if ex.when.evaluate(e.ns).ok:
                e.excluded = e.ns.format(ex.reason)
                e.reasons.append(f"not considered: {e.excluded} (rule {ex.id})")
                break

    overrides = {Role.EDEMA: edema_series, Role.T1: t1_series, Role.T2: t2_series}
    chosen: dict[Role, _Entry | None] = {}
    given: dict[str, str] = {}
    # Resolve every override first so that a bad one fails before any work is reported.
    resolved: dict[Role, _Entry] = {}
    for role, value in overrides.items():
        if value is None or str(value).strip() == "":
            continue
        option = f"{role.value}_series"
        resolved[role] = _resolve_override(value, option, entries, study, sel.roles.get(role))
        given[role.value] = str(value)

    taken: set[int] = set()
    for role in _ROLE_ORDER:
        spec = sel.roles.get(role)
        if role in resolved:
            e = resolved[role]
            note = f" (it would have been excluded: {e.excluded})" if e.excluded else ""
            e.role = role
            e.reasons.append(
                f"{role.value} series set by the user ({role.value}_series={given[role.value]!r}); "
                f"classified as {e.classification.contrast.value}{note}"
            )
            chosen[role] = e
            taken.add(id(e))
            continue
        if spec is None:
            chosen[role] = None
            continue
        chosen[role] = _choose(role, spec, entries, taken, sel.tie_break, sel.coverage_tolerance_mm)
        if chosen[role] is not None:
            taken.add(id(chosen[role]))

    for e in entries:
        if (
            e.role == Role.UNUSED
            and e.excluded is None
            and not any(
                r.startswith(("edema candidate", "t1 candidate", "t2 candidate")) for r in e.reasons
            )
        ):
            e.reasons.append(
                f"no role: {e.classification.contrast.value} {e.classification.plane.value if e.classification.plane else ''}"
                " matches no tier of the selection rules".replace("  ", " ")
            )

    edema = chosen.get(Role.EDEMA)
    no_edema_reason = None
    if edema is None:
        near = [
            f"{e.label}: {e.excluded}"
            for e in entries
            if e.excluded is not None
            and e.classification.contrast.value in ("stir", "t2_fs", "dixon_water")
        ]
        no_edema_reason = sel.no_edema_reason + (f" (rejected: {'; '.join(near)})" if near else "")
        logger.info("study %s: %s", study.study_instance_uid, no_edema_reason)

    stacks = tuple(
        StackAssessment(
            stack_id=e.stack.stack_id,
            series_instance_uid=e.series.series_instance_uid,
            series_number=e.series.series_number,
            description=e.series.description,
            classification=e.classification,
            usable=e.stack.usable,
            coverage_mm=e.coverage_mm,
            n_slices=e.stack.n_slices,
            acquired=e.series.acquired,
            role=e.role,
            reasons=tuple(e.reasons),
            stack=e.stack,
            series=e.series,
        )
        for e in entries
    )

    def _id(role: Role) -> str | None:
        entry = chosen.get(role)
        return entry.stack.stack_id if entry is not None else None

    return Selection(
        study_instance_uid=study.study_instance_uid,
        stacks=stacks,
        edema=_id(Role.EDEMA),
        t1=_id(Role.T1),
        t2=_id(Role.T2),
        no_edema_reason=no_edema_reason,
        overrides=given,
    )


def _choose(
    role: Role,
    spec: RoleSpec,
    entries: list[_Entry],
    taken: set[int],
    tie_break: tuple[str, ...],
    tolerance: float,
) -> _Entry | None:
    tiers: dict[int, list[_Entry]] = {}
    for e in entries:
        if e.excluded is not None or id(e) in taken:
            continue
        t = _tier_of(e, spec)
        if t is not None:
            tiers.setdefault(t, []).append(e)
    if not tiers:
        return None
    best_tier = min(tiers)
    tier: Tier = spec.tiers[best_tier]
    winner, why = _rank(tiers[best_tier], tie_break, tolerance)
    winner.role = role
    winner.reasons.append(
        f"chosen as {role.value} series: {tier.label} (tier {best_tier + 1} of {len(spec.tiers)}, "
        f"rule {tier.id}), coverage {_shown('coverage_mm', winner.coverage_mm or 0.0)}, "
        f"confidence {winner.classification.confidence:.2f}"
    )
    for t, members in tiers.items():
        for e in members:
            if e is winner:
                continue
            if t == best_tier:
                e.reasons.append(
                    f"{role.value} candidate ({tier.label}) but {winner.label} was chosen: {why[id(e)]}"
                )
            else:
                e.reasons.append(
                    f"{role.value} candidate ({spec.tiers[t].label}) but a better tier was found: "
                    f"{tier.label} {winner.label}"
                )
    return winner

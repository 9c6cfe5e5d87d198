"""Classification of one header / one stack by the rules of ``series_rules.yaml``.

The four decisions (``derived``, ``fat_suppression``, ``dixon_component``, ``weighting``) are
made in order by weighted voting (:func:`decide`); the ``contrast`` rows of the rules file
then compose the contrast class from them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from pydicom.dataset import Dataset

from acuity.ingest.enum import Plane
from acuity.ingest.model import Series, SeriesStack
from acuity.select.conditions import show
from acuity.select.enum import ContrastClass, Decision, DixonComponent, FatSuppression, Weighting
from acuity.select.facts import FactValue, HeaderFacts, extract_facts
from acuity.select.model import DecisionResult, Evidence, SeriesClassification
from acuity.select.rules import DECISION_VALUES, DecisionSpec, RuleSet, load_rules

logger = logging.getLogger(__name__)


class Namespace:
    """Facts plus extra named values (decisions, stack properties): what conditions see."""

    def __init__(
        self,
        facts: HeaderFacts,
        rules: RuleSet,
        extra: Mapping[str, FactValue] | None = None,
        extra_sources: Mapping[str, str] | None = None,
    ) -> None:
        self.facts = facts
        self.rules = rules
        self.extra: dict[str, FactValue] = dict(extra or {})
        self.extra_sources: dict[str, str] = dict(extra_sources or {})

    def set(self, name: str, value: FactValue, source: str) -> None:
        self.extra[name] = value
        self.extra_sources[name] = source

    def value(self, name: str) -> FactValue:
        if name in self.extra:
            return self.extra[name]
        return self.facts.get(name)

    def source(self, name: str) -> str:
        if name in self.extra_sources:
            return self.extra_sources[name]
        return self.facts.source(name)

    def scale(self, table: str) -> float:
        b0 = self.facts.get("field_strength")
        return self.rules.scale_factor(table, b0 if isinstance(b0, float) else None)

    def format(self, template: str) -> str:
        """``template`` with ``{name}`` replaced by shown values."""

        ns = self

        class _Values(dict[str, str]):
            def __missing__(self, key: str) -> str:
                return show(ns.value(key))

        return template.format_map(_Values())


def decide(spec: DecisionSpec, ns: Namespace, uncertainty: float) -> DecisionResult:
    """Weighted vote: every matching rule adds its weight to its value; the default value
    starts at ``prior``. The largest total wins (ties: the default, then the order of
    :data:`~acuity.select.rules.DECISION_VALUES`). Confidence is the winner's total over
    the sum of all positive totals plus ``uncertainty``, so one weak rule gives a low
    confidence and agreeing strong rules approach 1."""
    values = DECISION_VALUES[spec.decision]
    scores = {v: 0.0 for v in values}
    scores[spec.default] += spec.prior
    evidence: list[Evidence] = []
    for rule in spec.rules:
        result = rule.when.evaluate(ns)
        if result.ok:
            scores[rule.vote] += rule.weight
            seen = tuple(dict.fromkeys(result.seen))  # each value once, in order
            evidence.append(
                Evidence(rule.id, spec.decision.value, rule.vote, rule.weight, rule.because, seen)
            )
    order = [spec.default] + [v for v in values if v != spec.default]
    best = max(order, key=lambda v: (scores[v], -order.index(v)))
    positive = sum(max(0.0, s) for s in scores.values())
    confidence = (
        max(0.0, scores[best]) / (positive + uncertainty) if positive + uncertainty > 0 else 0.0
    )
    return DecisionResult(spec.decision, best, min(1.0, confidence), scores, tuple(evidence))


def classify_facts(
    facts: HeaderFacts,
    rules: RuleSet | None = None,
    *,
    plane: Plane | None = None,
    stack_id: str | None = None,
    series_instance_uid: str | None = None,
    series_number: int | None = None,
    description: str = "",
) -> SeriesClassification:
    """Classify already extracted facts (see :func:`classify_header`)."""
    rules = rules or load_rules()
    ns = Namespace(facts, rules)
    if plane is not None:
        ns.set("plane", plane.value, "stack geometry (slice normal)")
    results: dict[Decision, DecisionResult] = {}
    for spec in rules.decisions:
        result = decide(spec, ns, rules.confidence_uncertainty)
        results[spec.decision] = result
        ns.set(spec.decision.value, result.value, f"decision {spec.decision.value}")
    for row in rules.contrast:
        match = row.when.evaluate(ns)
        if match.ok:
            break
    else:  # pragma: no cover - validation makes the last row unconditional
        raise AssertionError("no contrast row matched")
    used = {name for name, _, _ in match.seen} & {d.value for d in Decision}
    basis = [results[Decision(n)].confidence for n in used] or [
        results[Decision.WEIGHTING].confidence
    ]
    plane_value = ns.value("plane")
    return SeriesClassification(
        contrast=ContrastClass(row.contrast),
        fat_suppression=FatSuppression(results[Decision.FAT_SUPPRESSION].value),
        weighting=Weighting(results[Decision.WEIGHTING].value),
        dixon_component=DixonComponent(results[Decision.DIXON_COMPONENT].value),
        derived=results[Decision.DERIVED].value == "derived",
        plane=Plane(plane_value) if isinstance(plane_value, str) else None,
        confidence=min(basis),
        decisions=tuple(results[d.decision] for d in rules.decisions),
        contrast_row=row.index,
        facts=facts,
        stack_id=stack_id,
        series_instance_uid=series_instance_uid,
        series_number=series_number,
        description=description,
    )


def classify_header(ds: Dataset, rules: RuleSet | None = None) -> SeriesClassification:
    """Classify one instance header (pixel data not needed)."""
    facts = extract_facts(ds)
    description = next(iter(_strings(facts.get("description"))), "")
    uid = ds.get("SeriesInstanceUID")
    number = ds.get("SeriesNumber")
    return classify_facts(
        facts,
        rules,
        series_instance_uid=str(uid) if uid else None,
        series_number=int(number) if number not in (None, "") else None,
        description=description,
    )


def _strings(value: FactValue) -> tuple[str, ...]:
    if isinstance(value, tuple):
        return value
    return (value,) if isinstance(value, str) else ()


def stack_facts(stack: SeriesStack) -> HeaderFacts:
    """Facts of a stack: its header's, with the echo and inversion time of its own frames
    (a dual-echo series is split into one stack per echo, all sharing one header)."""
    facts = extract_facts(stack.header)
    if not stack.frames:
        return facts
    values = dict(facts.values)
    sources = dict(facts.sources)
    frame = stack.frames[0]
    for name, value in (("echo_time", frame.echo_time), ("inversion_time", frame.inversion_time)):
        if value is not None and value > 0 and values.get(name) != value:
            values[name] = float(value)
            sources[name] = f"{name} of the stack's frames"
    return HeaderFacts(values=values, sources=sources)


def classify_stack(
    stack: SeriesStack, series: Series, rules: RuleSet | None = None
) -> SeriesClassification:
    """Classify one stack of ``series`` (plane from the stack geometry when it has one)."""
    plane = stack.geometry.plane if stack.geometry is not None else None
    return classify_facts(
        stack_facts(stack),
        rules,
        plane=plane,
        stack_id=stack.stack_id,
        series_instance_uid=series.series_instance_uid,
        series_number=series.series_number,
        description=series.description,
    )

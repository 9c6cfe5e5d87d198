"""Loading and validating ``series_rules.yaml``: classification and selection as data.

The file (default: ``pipelines/series_rules.yaml``, see ``docs/series_selection.md``) has:

``version``
    1.
``default_field_strength``
    tesla assumed when a header gives none (for scaled ranges).
``confidence_uncertainty``
    the mass added to the denominator of every confidence (see :func:`decide`).
``scales``
    tables ``[[tesla, factor], ...]``; a ``range`` with ``scale: NAME`` is multiplied by the
    factor interpolated at the stack's field strength (used for inversion times).
``define``
    named conditions, usable as ``{ref: NAME}`` in later conditions.
``decisions``
    for each of ``derived``, ``fat_suppression``, ``dixon_component``, ``weighting`` (made in
    this order): ``default``, ``prior`` and ``rules`` (``id``, ``vote``, ``weight``,
    ``because``, ``when``). Each matching rule adds its weight to its vote; the largest total
    wins. A rule may look at the decisions made before its own.
``contrast``
    ordered rows ``{when: COND, contrast: CLASS}`` composing the contrast class from the
    decisions; the first matching row wins.
``selection``
    ``exclude`` (stacks never used, with a reason), ``roles`` (``edema``, ``t1``, ``t2``: ordered
    ``tiers``), ``tie_break``, ``coverage_tolerance_mm``, ``no_edema_reason``.

Every problem raises :class:`~acuity.errors.ConfigError` naming the file, the rule and the
key, the bad value and what is expected.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acuity.config import pipeline_file, read_yaml
from acuity.errors import ConfigError
from acuity.select.conditions import Always, Condition, ConditionParser
from acuity.select.enum import (
    ContrastClass,
    Decision,
    DixonComponent,
    FatSuppression,
    Role,
    Weighting,
)
from acuity.select.facts import FACTS, FactKind

logger = logging.getLogger(__name__)

DEFAULT_RULES_NAME = "series_rules.yaml"

#: Values each decision can take, in tie-break order (after the default).
DECISION_VALUES: dict[Decision, tuple[str, ...]] = {
    Decision.DERIVED: ("derived", "original"),
    Decision.FAT_SUPPRESSION: tuple(v.value for v in FatSuppression),
    Decision.DIXON_COMPONENT: tuple(v.value for v in DixonComponent),
    Decision.WEIGHTING: tuple(v.value for v in Weighting),
}
DECISION_ORDER: tuple[Decision, ...] = tuple(DECISION_VALUES)

#: Stack properties selection conditions may name, besides facts and decisions.
SELECTION_FIELDS: dict[str, FactKind] = {
    "contrast": FactKind.TEXT,
    "confidence": FactKind.NUMBER,
    "usable": FactKind.TEXT,
    "unusable_reason": FactKind.TEXT,
    "acquired": FactKind.TEXT,
    "coverage_mm": FactKind.NUMBER,
    "n_slices": FactKind.NUMBER,
    "series_number": FactKind.NUMBER,
}

#: Keys :func:`acuity.select.selection.select_series` can sort candidates by (largest first).
TIE_BREAK_KEYS = ("coverage_mm", "acquired", "series_number", "n_slices", "confidence")

_TOP_KEYS = {
    "version",
    "default_field_strength",
    "confidence_uncertainty",
    "scales",
    "define",
    "decisions",
    "contrast",
    "selection",
}


@dataclass(frozen=True)
class Rule:
    """One weighted piece of evidence: when ``when`` holds, ``weight`` goes to ``vote``."""

    id: str
    decision: Decision
    vote: str
    weight: float
    because: str
    when: Condition


@dataclass(frozen=True)
class DecisionSpec:
    decision: Decision
    default: str
    prior: float
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class ContrastRow:
    index: int
    when: Condition
    contrast: ContrastClass


@dataclass(frozen=True)
class Exclusion:
    id: str
    when: Condition
    #: ``str.format`` template; ``{name}`` is replaced by the stack's value of ``name``.
    reason: str


@dataclass(frozen=True)
class Tier:
    id: str
    label: str
    when: Condition


@dataclass(frozen=True)
class RoleSpec:
    role: Role
    tiers: tuple[Tier, ...]


@dataclass(frozen=True)
class SelectionSpec:
    exclude: tuple[Exclusion, ...]
    roles: Mapping[Role, RoleSpec]
    tie_break: tuple[str, ...]
    coverage_tolerance_mm: float
    no_edema_reason: str


@dataclass(frozen=True)
class RuleSet:
    """A validated rules file. Build with :func:`load_rules` or :meth:`from_mapping`."""

    source: str
    default_field_strength: float
    confidence_uncertainty: float
    scales: Mapping[str, tuple[tuple[float, float], ...]]
    decisions: tuple[DecisionSpec, ...]
    contrast: tuple[ContrastRow, ...]
    selection: SelectionSpec

    def scale_factor(self, table: str, field_strength: float | None) -> float:
        """Factor of ``table`` at ``field_strength`` (linear interpolation, clamped)."""
        points = self.scales[table]
        b0 = field_strength if field_strength else self.default_field_strength
        if b0 <= points[0][0]:
            return points[0][1]
        for (b_lo, f_lo), (b_hi, f_hi) in itertools.pairwise(points):
            if b0 <= b_hi:
                return f_lo + (f_hi - f_lo) * (b0 - b_lo) / (b_hi - b_lo)
        return points[-1][1]

    def decision(self, decision: Decision) -> DecisionSpec:
        for spec in self.decisions:
            if spec.decision == decision:
                return spec
        raise KeyError(decision)  # pragma: no cover - validation guarantees all four

    @classmethod
    def from_mapping(cls, data: Any, source: str = "<rules>") -> RuleSet:
        return _Loader(source).load(data)


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Load and validate a rules file; ``None`` gives the default shipped with acuity."""
    if path is None:
        return _default_rules()
    return _load_path(Path(path))


@functools.lru_cache(maxsize=1)
def _default_rules() -> RuleSet:
    return _load_path(default_rules_path())


def default_rules_path() -> Path:
    """The rules file shipped with acuity (``pipelines/series_rules.yaml``)."""
    return pipeline_file(DEFAULT_RULES_NAME)


def _load_path(path: Path) -> RuleSet:
    data = read_yaml(path, "rules file")
    return RuleSet.from_mapping(data, source=str(path))


class _Loader:
    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, path: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {path}: {message}")

    # -- small typed getters -------------------------------------------------------------

    def mapping(self, raw: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(raw, Mapping):
            raise self.error(path, f"must be a mapping, got {type(raw).__name__}")
        return raw

    def keys(
        self, raw: Mapping[str, Any], path: str, required: set[str], optional: set[str]
    ) -> None:
        missing = sorted(required - set(raw))
        if missing:
            raise self.error(path, f"missing required keys {missing}")
        extra = sorted(set(raw) - required - optional)
        if extra:
            raise self.error(path, f"unknown keys {extra}; allowed: {sorted(required | optional)}")

    def number(self, raw: Any, path: str, minimum: float | None = None) -> float:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
            raise self.error(path, f"must be a number, got {raw!r}")
        if minimum is not None and raw < minimum:
            raise self.error(path, f"must be >= {minimum:g}, got {raw!r}")
        return float(raw)

    def text(self, raw: Any, path: str) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise self.error(path, f"must be a non-empty string, got {raw!r}")
        return raw.strip()

    def rule_id(self, raw: Any, path: str, seen: set[str]) -> str:
        rid = self.text(raw, path)
        if rid in seen:
            raise self.error(path, f"duplicate id {rid!r}: ids must be unique in the file")
        seen.add(rid)
        return rid

    # -- the file ------------------------------------------------------------------------

    def load(self, data: Any) -> RuleSet:
        top = self.mapping(data, "top level")
        self.keys(top, "top level", {"version", "decisions", "contrast", "selection"}, _TOP_KEYS)
        if top["version"] != 1:
            raise self.error(
                "version", f"unsupported version {top['version']!r}; this acuity reads 1"
            )
        b0 = self.number(top.get("default_field_strength", 1.5), "default_field_strength", 0.01)
        uncertainty = self.number(
            top.get("confidence_uncertainty", 1.0), "confidence_uncertainty", 0
        )
        scales = self.scales(top.get("scales", {}))
        kinds: dict[str, FactKind] = {name: spec.kind for name, spec in FACTS.items()}
        defined: dict[str, Condition] = {}
        parser = ConditionParser(self.source, kinds, list(scales), defined)
        ids: set[str] = set()

        raw_define = self.mapping(top.get("define", {}) or {}, "define")
        # Definitions may use facts only (they are shared by every stage).
        for name, raw in raw_define.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise self.error(f"define.{name}", "names must be identifiers (letters, digits, _)")
            defined[name] = parser.parse(raw, f"define.{name}")

        raw_decisions = self.mapping(top["decisions"], "decisions")
        wanted = [d.value for d in DECISION_ORDER]
        self.keys(raw_decisions, "decisions", set(wanted), set())
        for decision in DECISION_ORDER:  # rules may name earlier decisions (order is checked)
            kinds[decision.value] = FactKind.TEXT
        decisions: list[DecisionSpec] = []
        for decision in DECISION_ORDER:
            decisions.append(self.decision(decision, raw_decisions[decision.value], parser, ids))

        contrast = self.contrast(top["contrast"], parser)
        for name, kind in SELECTION_FIELDS.items():
            kinds[name] = kind
        selection = self.selection(top["selection"], parser, ids, kinds)
        return RuleSet(
            source=self.source,
            default_field_strength=b0,
            confidence_uncertainty=uncertainty,
            scales=scales,
            decisions=tuple(decisions),
            contrast=contrast,
            selection=selection,
        )

    def scales(self, raw: Any) -> dict[str, tuple[tuple[float, float], ...]]:
        out: dict[str, tuple[tuple[float, float], ...]] = {}
        for name, table in self.mapping(raw, "scales").items():
            path = f"scales.{name}"
            if not isinstance(table, list) or len(table) < 2:
                raise self.error(path, "must be a list of at least two [tesla, factor] pairs")
            points: list[tuple[float, float]] = []
            for i, pair in enumerate(table):
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise self.error(f"{path}[{i}]", f"must be [tesla, factor], got {pair!r}")
                tesla = self.number(pair[0], f"{path}[{i}][0]", 0)
                factor = self.number(pair[1], f"{path}[{i}][1]", 0)
                if points and tesla <= points[-1][0]:
                    raise self.error(f"{path}[{i}]", "field strengths must increase")
                points.append((tesla, factor))
            out[str(name)] = tuple(points)
        return out

    def decision(
        self, decision: Decision, raw: Any, parser: ConditionParser, ids: set[str]
    ) -> DecisionSpec:
        path = f"decisions.{decision.value}"
        body = self.mapping(raw, path)
        self.keys(body, path, {"default", "rules"}, {"prior"})
        values = DECISION_VALUES[decision]
        default = body["default"]
        if default not in values:
            raise self.error(f"{path}.default", f"{default!r} is not one of {list(values)}")
        prior = self.number(body.get("prior", 0.5), f"{path}.prior", 0)
        raw_rules = body["rules"]
        if not isinstance(raw_rules, list):
            raise self.error(f"{path}.rules", "must be a list of rules")
        rules: list[Rule] = []
        for i, raw_rule in enumerate(raw_rules):
            rpath = f"{path}.rules[{i}]"
            rule = self.mapping(raw_rule, rpath)
            rid = self.rule_id(rule.get("id"), f"{rpath}.id", ids)
            rpath = f"{path}.rules[{i}] (id {rid!r})"
            self.keys(rule, rpath, {"id", "vote", "weight", "because"}, {"when"})
            vote = rule["vote"]
            if vote not in values:
                raise self.error(f"{rpath}.vote", f"{vote!r} is not one of {list(values)}")
            weight = self.number(rule["weight"], f"{rpath}.weight")
            because = self.text(rule["because"], f"{rpath}.because")
            when = parser.parse(rule["when"], f"{rpath}.when") if "when" in rule else Always()
            later = {d.value for d in DECISION_ORDER[DECISION_ORDER.index(decision) :]}
            used = sorted(when.names() & later)
            if used:
                raise self.error(
                    f"{rpath}.when",
                    f"uses decision(s) {used} that are not made yet when '{decision.value}' is "
                    f"decided (order: {[d.value for d in DECISION_ORDER]})",
                )
            rules.append(Rule(rid, decision, str(vote), weight, because, when))
        return DecisionSpec(decision, str(default), prior, tuple(rules))

    def contrast(self, raw: Any, parser: ConditionParser) -> tuple[ContrastRow, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.error("contrast", "must be a non-empty list of {when, contrast} rows")
        rows: list[ContrastRow] = []
        allowed = [c.value for c in ContrastClass]
        for i, raw_row in enumerate(raw):
            path = f"contrast[{i}]"
            row = self.mapping(raw_row, path)
            self.keys(row, path, {"contrast"}, {"when"})
            if row["contrast"] not in allowed:
                raise self.error(f"{path}.contrast", f"{row['contrast']!r} is not one of {allowed}")
            when = parser.parse(row["when"], f"{path}.when") if "when" in row else Always()
            rows.append(ContrastRow(i, when, ContrastClass(row["contrast"])))
        if not isinstance(rows[-1].when, Always):
            raise self.error(
                f"contrast[{len(rows) - 1}]",
                "the last row must have no 'when' (the fallback class, e.g. {contrast: other})",
            )
        return tuple(rows)

    def selection(
        self, raw: Any, parser: ConditionParser, ids: set[str], kinds: Mapping[str, FactKind]
    ) -> SelectionSpec:
        body = self.mapping(raw, "selection")
        self.keys(
            body,
            "selection",
            {"roles", "no_edema_reason"},
            {"exclude", "tie_break", "coverage_tolerance_mm"},
        )
        exclusions: list[Exclusion] = []
        raw_exclude = body.get("exclude", []) or []
        if not isinstance(raw_exclude, list):
            raise self.error("selection.exclude", "must be a list of {id, when, reason}")
        for i, raw_ex in enumerate(raw_exclude):
            path = f"selection.exclude[{i}]"
            ex = self.mapping(raw_ex, path)
            rid = self.rule_id(ex.get("id"), f"{path}.id", ids)
            path = f"{path} (id {rid!r})"
            self.keys(ex, path, {"id", "when", "reason"}, set())
            reason = self.text(ex["reason"], f"{path}.reason")
            self.template(reason, f"{path}.reason", kinds)
            exclusions.append(Exclusion(rid, parser.parse(ex["when"], f"{path}.when"), reason))
        roles_raw = self.mapping(body["roles"], "selection.roles")
        role_names = [r.value for r in Role if r != Role.UNUSED]
        self.keys(roles_raw, "selection.roles", {Role.EDEMA.value}, set(role_names))
        roles: dict[Role, RoleSpec] = {}
        for name, raw_role in roles_raw.items():
            path = f"selection.roles.{name}"
            role_body = self.mapping(raw_role, path)
            self.keys(role_body, path, {"tiers"}, set())
            raw_tiers = role_body["tiers"]
            if not isinstance(raw_tiers, list) or not raw_tiers:
                raise self.error(f"{path}.tiers", "must be a non-empty list of {id, label, when}")
            tiers: list[Tier] = []
            for i, raw_tier in enumerate(raw_tiers):
                tpath = f"{path}.tiers[{i}]"
                tier = self.mapping(raw_tier, tpath)
                rid = self.rule_id(tier.get("id"), f"{tpath}.id", ids)
                tpath = f"{tpath} (id {rid!r})"
                self.keys(tier, tpath, {"id", "label", "when"}, set())
                tiers.append(
                    Tier(
                        rid,
                        self.text(tier["label"], f"{tpath}.label"),
                        parser.parse(tier["when"], f"{tpath}.when"),
                    )
                )
            roles[Role(name)] = RoleSpec(Role(name), tuple(tiers))
        tie_break = body.get("tie_break", ["coverage_mm", "acquired", "series_number"])
        if not isinstance(tie_break, list) or any(k not in TIE_BREAK_KEYS for k in tie_break):
            raise self.error(
                "selection.tie_break",
                f"must be a list of keys from {list(TIE_BREAK_KEYS)}, got {tie_break!r}",
            )
        tolerance = self.number(
            body.get("coverage_tolerance_mm", 5.0), "selection.coverage_tolerance_mm", 0
        )
        return SelectionSpec(
            exclude=tuple(exclusions),
            roles=roles,
            tie_break=tuple(str(k) for k in tie_break),
            coverage_tolerance_mm=tolerance,
            no_edema_reason=self.text(body["no_edema_reason"], "selection.no_edema_reason"),
        )

    def template(self, text: str, path: str, kinds: Mapping[str, FactKind]) -> None:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
        except ValueError as exc:
            raise self.error(path, f"bad placeholder in {text!r}: {exc}") from exc
        for name in fields:
            if name not in kinds:
                raise self.error(
                    path, f"placeholder {{{name}}} is not a known name; known: {sorted(kinds)}"
                )

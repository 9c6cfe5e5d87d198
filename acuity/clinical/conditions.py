"""Conditions of guideline profiles: ``{field, op, value}`` tests combined with all/any/not,
evaluated in three-valued (Kleene) logic.

A condition is one of::

    {field: NAME, op: eq|ne|lt|le|gt|ge, value: V}
    {field: NAME, op: between, value: [LOW, HIGH]}      # inclusive
    {field: NAME, op: in|not_in, value: [V, ...]}
    {all: [COND, ...]}     # true when all are true; false when any is false
    {any: [COND, ...]}     # true when any is true; false when all are false
    {not: COND}

``NAME`` is a fact of :data:`acuity.clinical.facts.FACTS`. A test on an unknown value (a missing
clinical field, an indeterminate imaging value) is *unknown*, and so is a combination that the
known values do not decide: ``any`` of a true test and an unknown one is true, ``all`` of a
false test and an unknown one is false. Only a rule left unknown needs the missing data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from acuity.clinical.enum import FactKind, Operator
from acuity.clinical.facts import FACTS, Facts, Known, Unknown, Value
from acuity.clinical.input import did_you_mean
from acuity.errors import ConfigError
from acuity.segment.level import VertebraLevel

#: (fact name, value shown or why it is unknown, known?) of a value a condition looked at.
Seen = tuple[str, str, bool]

#: Makes the ConfigError of a problem at a key path (the loader adds file and rule).
ErrorFactory = Callable[[str, str], ConfigError]

_SYMBOL = {
    Operator.EQ: "=",
    Operator.NE: "!=",
    Operator.LT: "<",
    Operator.LE: "<=",
    Operator.GT: ">",
    Operator.GE: ">=",
}
_OPS_BY_KIND: dict[FactKind, tuple[Operator, ...]] = {
    FactKind.NUMBER: tuple(Operator),
    FactKind.LEVEL: tuple(Operator),
    FactKind.BOOLEAN: (Operator.EQ, Operator.NE),
    FactKind.CHOICE: (Operator.EQ, Operator.NE, Operator.IN, Operator.NOT_IN),
}


@dataclass(frozen=True)
class Outcome:
    """Result of a condition: True, False or None (unknown), with what it looked at."""

    value: bool | None
    seen: tuple[Seen, ...] = ()
    #: Clinical fields whose absence left it unknown.
    missing: tuple[str, ...] = ()
    #: Non-clinical unknowns (indeterminate imaging...) that left it unknown.
    undetermined: tuple[Seen, ...] = ()

    def found(self) -> str:
        """What was looked at, e.g. ``pain_score_nrs=6, mobility_impaired not given``."""
        return ", ".join(f"{n}={v}" if known else f"{n} {v}" for n, v, known in self.seen)


def _merge(outcomes: list[Outcome], value: bool | None) -> Outcome:
    seen: dict[Seen, None] = {}
    missing: dict[str, None] = {}
    undetermined: dict[Seen, None] = {}
    for o in outcomes:
        seen.update(dict.fromkeys(o.seen))
        if value is None:
            missing.update(dict.fromkeys(o.missing))
            undetermined.update(dict.fromkeys(o.undetermined))
    return Outcome(value, tuple(seen), tuple(missing), tuple(undetermined))


class Condition:
    """Base class; subclasses are frozen dataclasses."""

    def evaluate(self, facts: Facts) -> Outcome:  # pragma: no cover - abstract
        raise NotImplementedError

    def names(self) -> frozenset[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


def _show(v: Value) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, VertebraLevel):
        return v.value
    return v


@dataclass(frozen=True)
class Test(Condition):
    field: str
    op: Operator
    #: A single value, or a tuple for ``between`` (low, high) and ``in``/``not_in``.
    value: Value | tuple[Value, ...]

    def names(self) -> frozenset[str]:
        return frozenset({self.field})

    def describe(self) -> str:
        if self.op is Operator.BETWEEN:
            assert isinstance(self.value, tuple)
            lo, hi = self.value
            return f"{self.field} {_show(lo)}..{_show(hi)}"
        if self.op in (Operator.IN, Operator.NOT_IN):
            assert isinstance(self.value, tuple)
            word = "in" if self.op is Operator.IN else "not in"
            return f"{self.field} {word} [{', '.join(_show(v) for v in self.value)}]"
        assert not isinstance(self.value, tuple)
        return f"{self.field} {_SYMBOL[self.op]} {_show(self.value)}"

    def evaluate(self, facts: Facts) -> Outcome:
        fact = facts.get(self.field)
        if isinstance(fact, Unknown):
            seen = ((self.field, fact.why, False),)
            return Outcome(None, seen, fact.missing, () if fact.missing else seen)
        return Outcome(self._test(fact), ((self.field, fact.show(), True),))

    def _test(self, fact: Known) -> bool:
        actual = fact.value
        op = self.op
        if op in (Operator.IN, Operator.NOT_IN):
            assert isinstance(self.value, tuple)
            inside = actual in self.value
            return inside if op is Operator.IN else not inside
        if op is Operator.EQ:
            return actual == self.value
        if op is Operator.NE:
            return actual != self.value
        a = _rank(actual)
        if op is Operator.BETWEEN:
            assert isinstance(self.value, tuple)
            lo, hi = (_rank(v) for v in self.value)
            return lo <= a <= hi
        assert not isinstance(self.value, tuple)
        b = _rank(self.value)
        if op is Operator.LT:
            return a < b
        if op is Operator.LE:
            return a <= b
        if op is Operator.GT:
            return a > b
        return a >= b


#: Position of each level from the skull (C1 = 0), the order of VertebraLevel's members.
_LEVEL_ORDER = {lv: i for i, lv in enumerate(VertebraLevel)}


def _rank(v: Value) -> float:
    if isinstance(v, VertebraLevel):
        return float(_LEVEL_ORDER[v])
    assert isinstance(v, float) and not isinstance(v, bool)
    return v


@dataclass(frozen=True)
class AllOf(Condition):
    children: tuple[Condition, ...]

    def names(self) -> frozenset[str]:
        return frozenset().union(*(c.names() for c in self.children))

    def describe(self) -> str:
        return "(" + " and ".join(c.describe() for c in self.children) + ")"

    def evaluate(self, facts: Facts) -> Outcome:
        outs = [c.evaluate(facts) for c in self.children]
        false = [o for o in outs if o.value is False]
        if false:
            return _merge(false, False)
        if any(o.value is None for o in outs):
            return _merge(outs, None)
        return _merge(outs, True)


@dataclass(frozen=True)
class AnyOf(Condition):
    children: tuple[Condition, ...]

    def names(self) -> frozenset[str]:
        return frozenset().union(*(c.names() for c in self.children))

    def describe(self) -> str:
        return "(" + " or ".join(c.describe() for c in self.children) + ")"

    def evaluate(self, facts: Facts) -> Outcome:
        outs = [c.evaluate(facts) for c in self.children]
        true = [o for o in outs if o.value is True]
        if true:
            return _merge(true, True)
        if any(o.value is None for o in outs):
            return _merge(outs, None)
        return _merge(outs, False)


@dataclass(frozen=True)
class Not(Condition):
    child: Condition

    def names(self) -> frozenset[str]:
        return self.child.names()

    def describe(self) -> str:
        return f"not {self.child.describe()}"

    def evaluate(self, facts: Facts) -> Outcome:
        o = self.child.evaluate(facts)
        value = None if o.value is None else not o.value
        return Outcome(value, o.seen, o.missing, o.undetermined)


def parse_condition(raw: Any, path: str, error: ErrorFactory) -> Condition:
    """Parse and validate a condition; problems raise ``error(key_path, message)``."""
    if not isinstance(raw, Mapping):
        raise error(path, f"a condition must be a mapping, got {type(raw).__name__} {raw!r}")
    keys = set(raw)
    for word, build in (("all", AllOf), ("any", AnyOf)):
        if word in keys:
            _only(raw, {word}, path, error)
            children = raw[word]
            if not isinstance(children, list) or not children:
                raise error(f"{path}.{word}", "must be a non-empty list of conditions")
            return build(
                tuple(
                    parse_condition(c, f"{path}.{word}[{i}]", error) for i, c in enumerate(children)
                )
            )
    if "not" in keys:
        _only(raw, {"not"}, path, error)
        return Not(parse_condition(raw["not"], f"{path}.not", error))
    if "field" in keys:
        _only(raw, {"field", "op", "value"}, path, error)
        return _parse_test(raw, path, error)
    raise error(
        path,
        f"unknown condition keys {sorted(map(str, keys))}: use 'field' (with 'op' and 'value'), "
        "'all', 'any' or 'not'",
    )


def _only(raw: Mapping[str, Any], allowed: set[str], path: str, error: ErrorFactory) -> None:
    extra = sorted(str(k) for k in set(raw) - allowed)
    if extra:
        raise error(path, f"unexpected keys {extra} beside {sorted(allowed)}")


def _parse_test(raw: Mapping[str, Any], path: str, error: ErrorFactory) -> Test:
    name = raw["field"]
    if name == "pain_localized_levels":
        raise error(
            f"{path}.field",
            "pain_localized_levels is a list; test 'pain_at_level' (true when the level is in it)",
        )
    if not isinstance(name, str) or name not in FACTS:
        hint = did_you_mean(name, list(FACTS)) if isinstance(name, str) else ""
        raise error(f"{path}.field", f"unknown field {name!r}{hint}; known: {', '.join(FACTS)}")
    spec = FACTS[name]
    for key in ("op", "value"):
        if key not in raw:
            raise error(path, f"'{key}' is missing beside 'field: {name}'")
    op_raw = raw["op"]
    allowed_ops = _OPS_BY_KIND[spec.kind]
    try:
        op = Operator(op_raw)
    except ValueError:
        op = None
    if op is None or op not in allowed_ops:
        raise error(
            f"{path}.op",
            f"{op_raw!r} is not an operator for {name} ({spec.kind.value}); "
            f"use one of {', '.join(o.value for o in allowed_ops)}",
        )
    where = f"{path}.value"
    operand = raw["value"]

    def one(v: Any) -> Value:
        return _operand(v, spec.kind, spec.choices, name, where, error)

    if op is Operator.BETWEEN:
        if not (isinstance(operand, list) and len(operand) == 2):
            raise error(where, f"'between' takes [low, high], got {operand!r}")
        lo, hi = one(operand[0]), one(operand[1])
        if _rank(lo) > _rank(hi):
            raise error(where, f"low {_show(lo)} is above high {_show(hi)}")
        return Test(name, op, (lo, hi))
    if op in (Operator.IN, Operator.NOT_IN):
        if not isinstance(operand, list) or not operand:
            raise error(where, f"'{op.value}' takes a non-empty list, got {operand!r}")
        return Test(name, op, tuple(one(v) for v in operand))
    if isinstance(operand, list):
        raise error(where, f"'{op.value}' takes one value, got the list {operand!r}")
    return Test(name, op, one(operand))


def _operand(
    v: Any,
    kind: FactKind,
    choices: tuple[str, ...],
    name: str,
    where: str,
    error: ErrorFactory,
) -> Value:
    if kind is FactKind.NUMBER:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise error(where, f"{name} is a number: {v!r} is not one")
        return float(v)
    if kind is FactKind.BOOLEAN:
        if not isinstance(v, bool):
            raise error(where, f"{name} is true or false: {v!r} is neither")
        return v
    if kind is FactKind.LEVEL:
        try:
            return VertebraLevel.parse(v) if isinstance(v, str) else VertebraLevel.parse(str(v))
        except ValueError as exc:
            raise error(where, str(exc)) from None
    if not isinstance(v, str) or v not in choices:
        raise error(where, f"{v!r} is not a value of {name}; allowed: {', '.join(choices)}")
    return v

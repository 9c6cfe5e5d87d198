"""The condition language of ``series_rules.yaml``: tests on named values, AND/OR/NOT.

A condition is one of::

    {fact: NAME, regex: PATTERN}        # case-insensitive re.search on any of the strings
    {fact: NAME, any_of: [V, ...]}      # whole-value match: a token, a string or a number
    {fact: NAME, range: [MIN, MAX]}     # numeric, inclusive; null = open end
    {fact: NAME, range: [MIN, MAX], scale: TABLE}   # bounds x factor(field strength)
    {fact: NAME, present: true|false}   # the value exists (non-empty)
    {all: [COND, ...]}                  # AND
    {any: [COND, ...]}                  # OR
    {not: COND}                         # NOT
    {ref: NAME}                         # a condition defined under ``define:``

``NAME`` is a header fact (:data:`acuity.select.facts.FACTS`), a decision already made
(``derived``, ``fat_suppression``, ``dixon_component``, ``weighting``) or, in selection
rules, a stack property (``contrast``, ``plane``, ``confidence``, ``coverage_mm``...).
Conditions are parsed once, validated, and evaluated against a :class:`Subject`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from acuity.errors import ConfigError
from acuity.select.facts import FactKind, FactValue

#: (name, value as shown, where it came from) of a value a condition looked at.
Seen = tuple[str, str, str]


class Subject(Protocol):
    """What conditions are evaluated against."""

    def value(self, name: str) -> FactValue: ...

    def source(self, name: str) -> str: ...

    def scale(self, table: str) -> float: ...


def show(value: FactValue) -> str:
    """A value as shown in evidence."""
    if value is None:
        return "absent"
    if isinstance(value, tuple):
        return "\\".join(value) if value else "absent"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass(frozen=True)
class Result:
    ok: bool
    seen: tuple[Seen, ...] = ()


class Condition:
    """Base class; subclasses are frozen dataclasses."""

    def evaluate(self, subject: Subject) -> Result:  # pragma: no cover - abstract
        raise NotImplementedError

    def names(self) -> set[str]:  # pragma: no cover - abstract
        raise NotImplementedError


def _strings(value: FactValue) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, tuple):
        return value
    if isinstance(value, float):
        return (f"{value:g}",)
    return (value,)


@dataclass(frozen=True)
class FactTest(Condition):
    name: str
    op: str
    regex: re.Pattern[str] | None = None
    options: tuple[str | float, ...] = ()
    low: float | None = None
    high: float | None = None
    scale: str | None = None
    present: bool = True

    def names(self) -> set[str]:
        return {self.name}

    def evaluate(self, subject: Subject) -> Result:
        value = subject.value(self.name)
        seen = ((self.name, show(value), subject.source(self.name)),)
        return Result(self._test(value, subject), seen)

    def _test(self, value: FactValue, subject: Subject) -> bool:
        if self.op == "present":
            exists = value is not None and value != () and value != ""
            return exists == self.present
        if value is None or value == ():
            return False
        if self.op == "regex":
            assert self.regex is not None
            return any(self.regex.search(s) for s in _strings(value))
        if self.op == "any_of":
            if isinstance(value, float):
                return any(isinstance(o, float) and math.isclose(o, value) for o in self.options)
            wanted = {str(o).upper() for o in self.options}
            return any(s.upper() in wanted for s in _strings(value))
        if self.op == "range":
            if not isinstance(value, float):
                return False
            factor = subject.scale(self.scale) if self.scale else 1.0
            if self.low is not None and value < self.low * factor:
                return False
            return not (self.high is not None and value > self.high * factor)
        raise AssertionError(self.op)  # pragma: no cover - parse() allows no other op


@dataclass(frozen=True)
class AllOf(Condition):
    children: tuple[Condition, ...]

    def names(self) -> set[str]:
        return set().union(*(c.names() for c in self.children))

    def evaluate(self, subject: Subject) -> Result:
        seen: list[Seen] = []
        for child in self.children:
            r = child.evaluate(subject)
            seen.extend(r.seen)
            if not r.ok:
                return Result(False, tuple(seen))
        return Result(True, tuple(seen))


@dataclass(frozen=True)
class AnyOf(Condition):
    children: tuple[Condition, ...]

    def names(self) -> set[str]:
        return set().union(*(c.names() for c in self.children))

    def evaluate(self, subject: Subject) -> Result:
        seen: list[Seen] = []
        for child in self.children:
            r = child.evaluate(subject)
            if r.ok:
                return Result(True, r.seen)
            seen.extend(r.seen)
        return Result(False, tuple(seen))


@dataclass(frozen=True)
class Not(Condition):
    child: Condition

    def names(self) -> set[str]:
        return self.child.names()

    def evaluate(self, subject: Subject) -> Result:
        # The values a negated test looked at are not shown as evidence: "not EPI" holding
        # says nothing worth listing (and a failing NOT fails its rule anyway).
        r = self.child.evaluate(subject)
        return Result(not r.ok, ())


@dataclass(frozen=True)
class Always(Condition):
    """The condition of a rule without ``when`` (matches everything)."""

    def names(self) -> set[str]:
        return set()

    def evaluate(self, subject: Subject) -> Result:
        return Result(True)


_OPS = ("regex", "any_of", "range", "present")


class ConditionParser:
    """Parses conditions, checking names, kinds and operands; errors name the path."""

    def __init__(
        self,
        source: str,
        kinds: Mapping[str, FactKind],
        scales: Sequence[str],
        defined: Mapping[str, Condition],
    ) -> None:
        self.source = source
        self.kinds = kinds
        self.scales = tuple(scales)
        self.defined = defined

    def error(self, path: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {path}: {message}")

    def parse(self, raw: Any, path: str) -> Condition:
        if not isinstance(raw, Mapping):
            raise self.error(
                path, f"a condition must be a mapping, got {type(raw).__name__} {raw!r}"
            )
        keys = set(raw)
        for combinator, build in (("all", AllOf), ("any", AnyOf)):
            if combinator in keys:
                self._only(raw, {combinator}, path)
                children = raw[combinator]
                if not isinstance(children, list) or not children:
                    raise self.error(
                        f"{path}.{combinator}", "must be a non-empty list of conditions"
                    )
                return build(
                    tuple(
                        self.parse(c, f"{path}.{combinator}[{i}]") for i, c in enumerate(children)
                    )
                )
        if "not" in keys:
            self._only(raw, {"not"}, path)
            return Not(self.parse(raw["not"], f"{path}.not"))
        if "ref" in keys:
            self._only(raw, {"ref"}, path)
            name = raw["ref"]
            if name not in self.defined:
                raise self.error(
                    f"{path}.ref",
                    f"no condition {name!r} under 'define' (defined so far: {sorted(self.defined)}); "
                    "define it before it is used",
                )
            return self.defined[name]
        if "fact" in keys:
            return self._fact(raw, path)
        raise self.error(
            path,
            f"unknown condition keys {sorted(keys)}: use one of 'fact' (with one of {list(_OPS)}), "
            "'all', 'any', 'not', 'ref'",
        )

    def _only(self, raw: Mapping[str, Any], allowed: set[str], path: str) -> None:
        extra = sorted(set(raw) - allowed)
        if extra:
            raise self.error(path, f"unexpected keys {extra} beside {sorted(allowed)}")

    def _fact(self, raw: Mapping[str, Any], path: str) -> Condition:
        name = raw["fact"]
        if not isinstance(name, str) or name not in self.kinds:
            raise self.error(
                f"{path}.fact", f"unknown name {name!r}; known names: {sorted(self.kinds)}"
            )
        kind = self.kinds[name]
        ops = [op for op in _OPS if op in raw]
        if len(ops) != 1:
            raise self.error(
                path, f"give exactly one of {list(_OPS)} with 'fact: {name}', got {ops or 'none'}"
            )
        op = ops[0]
        allowed = {"fact", op} | ({"scale"} if op == "range" else set())
        self._only(raw, allowed, path)
        operand = raw[op]
        where = f"{path}.{op}"
        if op == "regex":
            if kind == FactKind.NUMBER:
                raise self.error(where, f"'{name}' is a number: use 'range' or 'any_of'")
            if not isinstance(operand, str):
                raise self.error(where, f"must be a string pattern, got {operand!r}")
            try:
                pattern = re.compile(operand, re.IGNORECASE)
            except re.error as exc:
                raise self.error(where, f"invalid regular expression {operand!r}: {exc}") from exc
            return FactTest(name, op, regex=pattern)
        if op == "any_of":
            if not isinstance(operand, list) or not operand:
                raise self.error(where, f"must be a non-empty list, got {operand!r}")
            options: list[str | float] = []
            for value in operand:
                if kind == FactKind.NUMBER:
                    if isinstance(value, bool) or not isinstance(value, (int, float)):
                        raise self.error(where, f"'{name}' is a number: {value!r} is not one")
                    options.append(float(value))
                else:
                    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                        raise self.error(where, f"values must be strings, got {value!r}")
                    options.append(str(value))
            return FactTest(name, op, options=tuple(options))
        if op == "range":
            if kind != FactKind.NUMBER:
                raise self.error(
                    where, f"'{name}' is not a number ({kind.value}): use regex or any_of"
                )
            if not (isinstance(operand, list) and len(operand) == 2):
                raise self.error(
                    where, f"must be [min, max] (null for an open end), got {operand!r}"
                )
            low, high = (self._bound(v, where) for v in operand)
            if low is None and high is None:
                raise self.error(where, "at least one of min and max must be a number")
            if low is not None and high is not None and low > high:
                raise self.error(where, f"min {low:g} is greater than max {high:g}")
            scale = raw.get("scale")
            if scale is not None and scale not in self.scales:
                raise self.error(
                    f"{path}.scale",
                    f"unknown scale {scale!r}; tables under 'scales': {list(self.scales)}",
                )
            return FactTest(name, op, low=low, high=high, scale=scale)
        # present
        if not isinstance(operand, bool):
            raise self.error(where, f"must be true or false, got {operand!r}")
        return FactTest(name, op, present=operand)

    def _bound(self, value: Any, where: str) -> float | None:
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise self.error(where, f"bounds must be numbers or null, got {value!r}")
        return float(value)

"""Guideline profiles: declarative YAML files of rules, each citing its source.

A profile file (``pipelines/profiles/NAME.yaml``, or a user's own) holds::

    version: 1
    name: conservative-3mo            # = the file name without .yaml
    title: one line
    description: what the profile is and where it comes from
    rules:
      - id: c3m.conservative_care      # unique; letters, digits, '.', '_', '-'
        kind: indication               # | absolute_contraindication | relative_contraindication | flag
        summary: what the rule says, in words shown in the report
        source: {file: 000_d1066848b1c5acf4.txt, quote: "the sentence it comes from"}
        when: CONDITION                # see acuity.clinical.conditions
        flag: malignancy_suspicion     # only (and required) with kind: flag

Profiles are found by name in the folders given (``--profile-dir``), then in the folders of
``$ACUITY_PROFILES`` (separated like PATH), then among the profiles shipped with acuity; the
first file named ``NAME.yaml`` wins. A path to a YAML file is loaded as it is. Every problem is
a :class:`~acuity.errors.ConfigError` naming the file, the rule id and the key.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

from acuity.clinical.conditions import Condition, parse_condition
from acuity.clinical.enum import Flag, RuleKind
from acuity.clinical.facts import FACTS, Scope
from acuity.clinical.input import did_you_mean
from acuity.config import read_yaml
from acuity.errors import ConfigError

logger = logging.getLogger(__name__)

#: The profile used when none is named.
DEFAULT_PROFILE = "conservative-3mo"
#: Environment variable: extra folders of profile files (os.pathsep-separated).
PROFILES_ENV = "ACUITY_PROFILES"

_TOP_KEYS = {"version", "name", "title", "description", "rules"}
_RULE_KEYS = {"id", "kind", "summary", "source", "when", "flag"}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Source:
    """Where a rule comes from: a file (seed, guideline) and the sentence, quoted."""

    file: str
    quote: str


@dataclass(frozen=True)
class Rule:
    id: str
    kind: RuleKind
    summary: str
    source: Source
    when: Condition
    flag: Flag | None = None

    @property
    def per_level(self) -> bool:
        """True when the condition names a per-level fact (evaluated for each level)."""
        return any(FACTS[n].scope is Scope.LEVEL for n in self.when.names())

    def clinical_fields(self) -> tuple[str, ...]:
        """Clinical input fields the rule's condition may need."""
        out = []
        for n in sorted(self.when.names()):
            if n == "pain_at_level":
                out.append("pain_localized_levels")
            elif FACTS[n].scope is Scope.CLINICAL:
                out.append(n)
        return tuple(out)


@dataclass(frozen=True)
class Profile:
    """A validated guideline profile. Build with :func:`load_profile` or :meth:`from_mapping`."""

    name: str
    title: str
    description: str
    #: The file it was loaded from (or a label).
    source: str
    rules: tuple[Rule, ...]

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def clinical_fields(self) -> tuple[str, ...]:
        """Every clinical field a verdict of the profile may need (flags excluded), sorted."""
        return tuple(
            sorted(
                {f for r in self.rules if r.kind is not RuleKind.FLAG for f in r.clinical_fields()}
            )
        )

    @classmethod
    def from_mapping(cls, data: Any, source: str = "<profile>") -> Profile:
        return _parse_profile(data, source)


def _error(source: str, where: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: {where}: {message}")


def _text(raw: Mapping[str, Any], key: str, source: str, where: str) -> str:
    v = raw.get(key)
    if not isinstance(v, str) or not v.strip():
        raise _error(
            source, f"{where}.{key}" if where else key, f"must be a non-empty string, got {v!r}"
        )
    return " ".join(v.split())


def _parse_profile(data: Any, source: str) -> Profile:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: a profile must be a mapping with keys {sorted(_TOP_KEYS)}")
    extra = sorted(str(k) for k in set(data) - _TOP_KEYS)
    if extra:
        raise _error(source, "top level", f"unknown keys {extra}; allowed: {sorted(_TOP_KEYS)}")
    if data.get("version") != 1:
        raise _error(source, "version", f"must be 1, got {data.get('version')!r}")
    name = _text(data, "name", source, "")
    if not _ID.match(name):
        raise _error(source, "name", f"{name!r} must be letters, digits, '.', '_' or '-'")
    title = _text(data, "title", source, "")
    description = _text(data, "description", source, "")
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise _error(source, "rules", "must be a non-empty list of rules")
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_rules):
        rule = _parse_rule(raw, i, source)
        if rule.id in seen:
            raise _error(source, f"rule {rule.id}", "id used twice; rule ids must be unique")
        seen.add(rule.id)
        rules.append(rule)
    return Profile(name, title, description, source, tuple(rules))


def _parse_rule(raw: Any, index: int, source: str) -> Rule:
    where = f"rules[{index}]"
    if not isinstance(raw, Mapping):
        raise _error(source, where, f"a rule must be a mapping, got {raw!r}")
    rid = raw.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        raise _error(
            source, f"{where}.id", f"must be letters, digits, '.', '_' or '-', got {rid!r}"
        )
    where = f"rule {rid}"
    extra = sorted(str(k) for k in set(raw) - _RULE_KEYS)
    if extra:
        hints = "".join(did_you_mean(k, sorted(_RULE_KEYS)) for k in extra)
        raise _error(source, where, f"unknown keys {extra}{hints}; allowed: {sorted(_RULE_KEYS)}")
    kinds = [k.value for k in RuleKind]
    try:
        kind = RuleKind(raw.get("kind"))
    except ValueError:
        raise _error(
            source, f"{where}: kind", f"{raw.get('kind')!r} is not one of {', '.join(kinds)}"
        ) from None
    summary = _text(raw, "summary", source, where)
    src = raw.get("source")
    if not isinstance(src, Mapping) or set(src) != {"file", "quote"}:
        raise _error(
            source,
            f"{where}: source",
            f"must be {{file: SEED_FILE, quote: 'the sentence'}}, got {src!r}",
        )
    file = _text(src, "file", source, f"{where}: source")
    quote = _text(src, "quote", source, f"{where}: source")
    flag: Flag | None = None
    if kind is RuleKind.FLAG:
        try:
            flag = Flag(raw.get("flag"))
        except ValueError:
            raise _error(
                source,
                f"{where}: flag",
                f"{raw.get('flag')!r} is not one of {', '.join(f.value for f in Flag)} "
                "(a rule of kind flag names the flag it raises)",
            ) from None
    elif "flag" in raw:
        raise _error(
            source, f"{where}: flag", f"only rules of kind flag raise a flag, not {kind.value}"
        )
    if "when" not in raw:
        raise _error(source, f"{where}: when", "missing; give the rule's condition")

    def error(path: str, message: str) -> ConfigError:
        return _error(source, f"{where}: {path}", message)

    when = parse_condition(raw["when"], "when", error)
    return Rule(rid, kind, summary, Source(file, quote), when, flag)


def load_profile_file(path: str | Path) -> Profile:
    """Load and validate one profile file."""
    p = Path(path)
    data = read_yaml(p, "profile file")
    return _parse_profile(data, str(p))


def shipped_profiles_dir() -> Path:
    """The folder of profiles shipped with acuity (``pipelines/profiles``)."""
    try:
        with as_file(files("acuity.pipelines").joinpath("profiles")) as path:
            if Path(path).is_dir():
                return Path(path)
    except ModuleNotFoundError:
        pass
    # A source checkout whose editable install does not map acuity.pipelines.
    checkout = Path(__file__).resolve().parents[2] / "pipelines" / "profiles"
    if checkout.is_dir():
        return checkout
    raise ConfigError(
        "the guideline profiles (pipelines/profiles) are not installed with acuity; reinstall it"
    )


def profile_dirs(extra: Sequence[str | Path] = ()) -> list[Path]:
    """Folders searched for profiles by name, first first: ``extra``, ``$ACUITY_PROFILES``,
    then the shipped folder."""
    dirs = [Path(d) for d in extra]
    env = os.environ.get(PROFILES_ENV, "")
    dirs += [Path(d) for d in env.split(os.pathsep) if d.strip()]
    for d in dirs:
        if not d.is_dir():
            raise ConfigError(f"profile folder {d} does not exist or is not a folder")
    return [*dirs, shipped_profiles_dir()]


def profile_files(extra: Sequence[str | Path] = ()) -> dict[str, Path]:
    """Profile name -> file, over :func:`profile_dirs` (the first file of a name wins)."""
    found: dict[str, Path] = {}
    for d in profile_dirs(extra):
        for p in sorted(d.iterdir()):
            if p.suffix in _SUFFIXES and p.is_file() and not p.name.startswith("."):
                if p.stem in found:
                    logger.info("profile %s in %s is shadowed by %s", p.stem, d, found[p.stem])
                    continue
                found[p.stem] = p
    return found


def _looks_like_path(spec: str) -> bool:
    return spec.endswith(_SUFFIXES) or "/" in spec or os.sep in spec


def load_profile(spec: str | Path | None = None, dirs: Sequence[str | Path] = ()) -> Profile:
    """The profile named ``spec`` (searched in ``dirs``, ``$ACUITY_PROFILES``, the shipped
    ones), or the profile file at path ``spec``; None gives :data:`DEFAULT_PROFILE`."""
    spec = DEFAULT_PROFILE if spec is None else spec
    if isinstance(spec, Path) or _looks_like_path(spec):
        p = Path(spec)
        if p.is_dir():
            names = sorted(q.stem for q in p.iterdir() if q.suffix in _SUFFIXES)
            raise ConfigError(
                f"--profile {p} is a folder; add it with --profile-dir (or ${PROFILES_ENV}) and "
                f"name the profile (in it: {', '.join(names) or 'none'})"
            )
        return load_profile_file(p)
    found = profile_files(dirs)
    path = found.get(spec)
    if path is None:
        raise ConfigError(
            f"no profile named {spec!r}{did_you_mean(spec, list(found))}; "
            f"available: {', '.join(sorted(found))} (or give a path to a YAML file)"
        )
    profile = load_profile_file(path)
    if profile.name != spec:
        raise ConfigError(f"{path}: name: {profile.name!r} must equal the file name {spec!r}")
    return profile

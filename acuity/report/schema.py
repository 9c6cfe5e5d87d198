"""The versioned layout of report.json: the JSON Schema shipped in the package, and checks.

``SCHEMA_VERSION`` follows semantic versioning: a new optional field bumps the minor
version, a removed or retyped field the major one. :func:`validate_report` applies the JSON
Schema (``report.schema.json``) and the rules a schema cannot say (levels numbered 1..N from
the top, named levels in anatomical order, candidacy levels = report levels).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from importlib import resources
from typing import Any

from acuity.errors import InputError
from acuity.segment.level import VertebraLevel

logger = logging.getLogger(__name__)

#: Version of report.json's layout written by this acuity.
SCHEMA_VERSION = "1.0.0"
SCHEMA_FILE = "report.schema.json"

#: Most problems listed in one error message.
MAX_PROBLEMS = 12


@functools.cache
def load_schema() -> dict[str, Any]:
    """The JSON Schema of report.json (a dict; the file ships in ``acuity.report``)."""
    text = resources.files("acuity.report").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def schema_problems(report: Any) -> list[str]:
    """Problems the JSON Schema finds, each as ``path: message`` (empty when valid).

    Without the ``jsonschema`` package installed only the structural checks of
    :func:`rule_problems` run (logged once)."""
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - jsonschema is installed with acuity[dev]
        logger.warning("jsonschema is not installed; report.json is checked without its schema")
        return []
    validator = jsonschema.Draft202012Validator(
        load_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(report), key=lambda e: list(map(str, e.absolute_path)))
    out = []
    for e in errors:
        if e.validator == "oneOf" and e.context:
            # "null or an object": the alternative that got furthest says what is wrong.
            e = max(e.context, key=lambda c: (len(list(c.absolute_path)), c.validator != "type"))
        out.append(f"{_path(e.absolute_path)}: {e.message}")
    return out


def rule_problems(report: Any) -> list[str]:
    """Problems of the rules the schema cannot state."""
    if not isinstance(report, Mapping):
        return []
    out: list[str] = []
    version = report.get("schema_version")
    if isinstance(version, str) and version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        out.append(
            f"schema_version: {version!r} is not readable by this acuity (reads "
            f"{SCHEMA_VERSION.split('.')[0]}.x); use the acuity that wrote it"
        )
    levels = report.get("levels")
    if not isinstance(levels, list) or not all(isinstance(lv, Mapping) for lv in levels):
        return out
    labels = [lv.get("label") for lv in levels]
    if labels != list(range(1, len(levels) + 1)):
        out.append(f"levels: labels must be 1..{len(levels)} from the top, in order; got {labels}")
    previous: VertebraLevel | None = None
    for i, lv in enumerate(levels):
        name = lv.get("level")
        if not isinstance(name, str):
            continue
        try:
            level = VertebraLevel.parse(name)
        except ValueError:
            continue
        if previous is not None and level <= previous:
            out.append(
                f"levels[{i}].level: {level.value} is not below {previous.value}; levels go "
                "from superior to inferior"
            )
        previous = level
    candidacy = report.get("candidacy")
    if isinstance(candidacy, Mapping) and isinstance(candidacy.get("levels"), list):
        verdicts = {
            c.get("label"): c.get("verdict") for c in candidacy["levels"] if isinstance(c, Mapping)
        }
        if sorted(verdicts, key=str) != sorted(labels, key=str):
            out.append(
                f"candidacy.levels: labels {sorted(verdicts, key=str)} are not the labels of "
                f"levels {labels}"
            )
        for i, lv in enumerate(levels):
            want = verdicts.get(lv.get("label"))
            if want is not None and lv.get("candidacy") != want:
                out.append(
                    f"levels[{i}].candidacy: {lv.get('candidacy')!r} differs from the candidacy "
                    f"section's verdict {want!r}; rebuild the levels with with_candidacy()"
                )
    elif candidacy is None:
        for i, lv in enumerate(levels):
            if lv.get("candidacy") is not None:
                out.append(
                    f"levels[{i}].candidacy: {lv.get('candidacy')!r} but no candidacy section"
                )
    return out


def report_problems(report: Any) -> list[str]:
    """Every problem of a report dict (schema first, then rules)."""
    return schema_problems(report) + rule_problems(report)


def validate_report(report: Any, where: str = "report.json") -> None:
    """Raise InputError listing the problems of ``report`` (none: it is a valid report)."""
    problems = report_problems(report)
    if problems:
        shown = problems[:MAX_PROBLEMS]
        more = len(problems) - len(shown)
        raise InputError(
            f"{where} is not a valid acuity report (schema {SCHEMA_VERSION}): "
            + "; ".join(shown)
            + (f"; and {more} more" if more else "")
        )

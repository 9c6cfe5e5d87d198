"""report.json levels: exact round trip of LevelFinding, clear errors on bad dicts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from clinical_cases import finding

from acuity.errors import InputError
from acuity.measure.model import EdemaScore, LevelFinding
from acuity.report.levels import LEVEL_KEYS, level_from_dict, level_to_dict, levels_from_report

FINDINGS = {
    "acute": finding("L1", "acute"),
    "chronic plana retropulsed": finding("T12", "chronic", grade=3, plana=True, wall="retropulsed"),
    "no level": finding(None, "indeterminate", label=4),
    "no morphometry": finding("L2", "indeterminate", morphometry=False),
    "no edema": finding("L3", "indeterminate", edema=False),
    "partial, no reasons": LevelFinding(
        label=1,
        level=None,
        level_confidence=0.1 + 0.2,
        partial=True,
        morphometry=None,
        edema=EdemaScore(ratio=1.0000000000000002, fraction=0.0, pattern="none", t1_ratio=None),  # type: ignore[arg-type]
        acuity="indeterminate",  # type: ignore[arg-type]
    ),
}


@pytest.mark.parametrize("name", FINDINGS)
def test_exact_round_trip_through_json(name: str) -> None:
    f = FINDINGS[name]
    d = level_to_dict(f)
    assert tuple(d) == LEVEL_KEYS
    back = level_from_dict(json.loads(json.dumps(d)))
    assert back == f  # enums given as strings ("partial, no reasons") equal their members
    assert level_to_dict(back) == d


def test_dict_values() -> None:
    d = level_to_dict(finding("T12", "chronic", grade=3, plana=True, wall="retropulsed"))
    assert d["level"] == "T12" and d["genant_grade"] == 3 and d["vertebra_plana"] is True
    assert d["heights"] == {
        "anterior_mm": 16.0,
        "middle_mm": 19.5,
        "posterior_mm": 25.5,
        "width_mm": 41.25,
    }
    assert (d["posterior_wall"], d["deformity"], d["acuity"]) == ("retropulsed", "wedge", "chronic")
    assert d["acuity_reasons"] == ["test finding: chronic"]
    empty = level_to_dict(finding("L2", "indeterminate", morphometry=False, edema=False))
    assert all(empty[k] is None for k in ("heights", "genant_grade", "edema_ratio", "t1_ratio"))


def _good() -> dict[str, Any]:
    return level_to_dict(finding("L1", "acute"))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"acuity": "healed"}, ["label 14", "acuity", "'healed'", "'acute'"]),
        ({"level": "L9"}, ["level", "'L9'"]),
        ({"level": 3}, ["level", "3 is not a level name or null"]),
        ({"label": 0}, ["label", "0", ">= 1"]),
        ({"label": "1"}, ["label", "'1'"]),
        ({"partial": "no"}, ["partial", "'no'", "true or false"]),
        ({"level_confidence": None}, ["level_confidence", "None is not a number"]),
        ({"genant_grade": 4}, ["genant_grade", "4", "0-3"]),
        ({"genant_grade": 2.0}, ["genant_grade", "2.0", "whole number"]),
        ({"height_loss_pct": "33%"}, ["height_loss_pct", "'33%'"]),
        ({"posterior_wall": "broken"}, ["posterior_wall", "'broken'", "'retropulsed'"]),
        ({"heights": None}, ["heights", "is null but", "genant_grade"]),
        ({"heights": {"anterior_mm": 1}}, ["heights", "missing keys", "middle_mm"]),
        ({"heights": [1, 2, 3, 4]}, ["heights", "not an object"]),
        (
            {"heights": {"anterior_mm": 1, "middle_mm": 2, "posterior_mm": "x", "width_mm": 4}},
            ["heights.posterior_mm", "'x'"],
        ),
        ({"edema_ratio": None}, ["edema_ratio", "is null but", "edema_fraction"]),
        ({"edema_pattern": "patchy"}, ["edema_pattern", "'patchy'", "'band'"]),
        ({"t1_ratio": "low"}, ["t1_ratio", "'low'", "or null"]),
        ({"acuity_reasons": "edema"}, ["acuity_reasons", "list of strings"]),
    ],
)
def test_bad_level_dict(change: dict[str, Any], expected: list[str]) -> None:
    d = {**_good(), **change}
    with pytest.raises(InputError) as exc:
        level_from_dict(d, "report.json: levels[0]")
    message = str(exc.value)
    assert message.startswith("report.json: levels[0]")
    for part in expected:
        assert part in message, message


def test_missing_keys_and_non_objects() -> None:
    d = _good()
    del d["edema_fraction"], d["acuity"]
    with pytest.raises(InputError, match=r"missing keys \['edema_fraction', 'acuity'\]"):
        level_from_dict(d)
    with pytest.raises(InputError, match="must be a JSON object"):
        level_from_dict([1])
    extra = {**_good(), "future_key": 1}
    assert level_from_dict(extra) == finding("L1", "acute")


def test_levels_from_report() -> None:
    report = {"levels": [level_to_dict(f) for f in FINDINGS.values()]}
    assert len(levels_from_report(report)) == len(FINDINGS)
    with pytest.raises(InputError, match="not an acuity report"):
        levels_from_report({"series": []})
    with pytest.raises(InputError, match="levels: must be a list"):
        levels_from_report({"levels": {}})
    bad = {"levels": [_good(), {**_good(), "acuity": 1}]}
    with pytest.raises(InputError, match=r"report.json: levels\[1\] \(label 14\): acuity"):
        levels_from_report(bad)

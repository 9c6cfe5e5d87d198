"""The rules file: validation messages, condition semantics, field-strength scaling."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from acuity.errors import ConfigError
from acuity.select import HeaderFacts, RuleSet, classify_facts, load_rules
from acuity.select.rules import default_rules_path


@pytest.fixture(scope="module")
def default_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(default_rules_path().read_text(encoding="utf-8"))
    return data


def _load(data: dict[str, Any]) -> RuleSet:
    return RuleSet.from_mapping(data, source="test_rules.yaml")


def _first_rule(data: dict[str, Any], decision: str = "weighting") -> dict[str, Any]:
    rule: dict[str, Any] = data["decisions"][decision]["rules"][0]
    return rule


def test_default_rules_load() -> None:
    rules = load_rules()
    assert [d.decision.value for d in rules.decisions] == [
        "derived",
        "fat_suppression",
        "dixon_component",
        "weighting",
    ]
    assert rules.contrast[-1].contrast.value == "other"
    assert {r.value for r in rules.selection.roles} == {"edema", "t1", "t2"}
    assert load_rules() is rules  # cached


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(version=2), r"version: unsupported version 2"),
        (lambda d: d.update(colour="blue"), r"top level: unknown keys \['colour'\]"),
        (
            lambda d: _first_rule(d).update(when={"fact": "series_desc", "regex": "x"}),
            r"decisions\.weighting\.rules\[0\] \(id 'localizer_words'\)\.when\.fact: unknown name 'series_desc'",
        ),
        (
            lambda d: d["define"]["stir_ti"].update(range=[240, 85]),
            r"define\.stir_ti\.range: min 240 is greater than max 85",
        ),
        (
            lambda d: _first_rule(d).update(when={"fact": "description", "regex": "loc(al"}),
            r"\(id 'localizer_words'\)\.when\.regex: invalid regular expression 'loc\(al'",
        ),
        (
            lambda d: _first_rule(d).update(vote="t3"),
            r"\(id 'localizer_words'\)\.vote: 't3' is not one of \['t1', 't2'",
        ),
        (
            lambda d: _first_rule(d).pop("because"),
            r"\(id 'localizer_words'\): missing required keys \['because'\]",
        ),
        (
            lambda d: _first_rule(d).update(weight="heavy"),
            r"\.weight: must be a number, got 'heavy'",
        ),
        (
            lambda d: _first_rule(d).update(id="derived_flag"),
            r"decisions\.weighting\.rules\[0\]\.id: duplicate id 'derived_flag'",
        ),
        (
            lambda d: _first_rule(d).update(when={"ref": "nothing_defined"}),
            r"\.when\.ref: no condition 'nothing_defined' under 'define'",
        ),
        (
            lambda d: _first_rule(d, "fat_suppression").update(
                when={"fact": "weighting", "any_of": ["t2"]}
            ),
            r"uses decision\(s\) \['weighting'\] that are not made yet when 'fat_suppression' is decided",
        ),
        (
            lambda d: _first_rule(d).update(when={"fact": "echo_time", "regex": "1"}),
            r"'echo_time' is a number: use 'range' or 'any_of'",
        ),
        (
            lambda d: _first_rule(d).update(when={"fact": "description", "range": [1, 2]}),
            r"'description' is not a number \(texts\): use regex or any_of",
        ),
        (
            lambda d: _first_rule(d).update(
                when={"fact": "echo_time", "range": [1, 2], "scale": "csf"}
            ),
            r"unknown scale 'csf'",
        ),
        (
            lambda d: _first_rule(d).update(
                when={"fact": "echo_time", "range": [1, 2], "any_of": [3]}
            ),
            r"give exactly one of \['regex', 'any_of', 'range', 'present'\]",
        ),
        (lambda d: _first_rule(d).update(when={"both": []}), r"unknown condition keys \['both'\]"),
        (
            lambda d: _first_rule(d).update(when={"all": []}),
            r"\.when\.all: must be a non-empty list",
        ),
        (
            lambda d: d["contrast"].append(
                {"when": {"fact": "weighting", "any_of": ["t1"]}, "contrast": "t1"}
            ),
            r"contrast\[\d+\]: the last row must have no 'when'",
        ),
        (
            lambda d: d["contrast"][0].update(contrast="t3"),
            r"contrast\[0\]\.contrast: 't3' is not one of",
        ),
        (
            lambda d: d["selection"].update(tie_break=["age"]),
            r"selection\.tie_break: must be a list of keys from",
        ),
        (
            lambda d: d["selection"]["exclude"][0].update(reason="bad {nothing}"),
            r"selection\.exclude\[0\] \(id 'not_usable'\)\.reason: placeholder \{nothing\} is not a known name",
        ),
        (
            lambda d: d["selection"]["roles"].pop("edema"),
            r"selection\.roles: missing required keys \['edema'\]",
        ),
        (
            lambda d: d["scales"]["fat_t1"].reverse(),
            r"scales\.fat_t1\[1\]: field strengths must increase",
        ),
        (
            lambda d: d["decisions"].pop("dixon_component"),
            r"decisions: missing required keys \['dixon_component'\]",
        ),
        (
            lambda d: d["decisions"]["weighting"].update(default="t9"),
            r"decisions\.weighting\.default: 't9' is not one of",
        ),
    ],
)
def test_invalid_rules_name_the_rule_key_and_problem(
    default_data: dict[str, Any], change: Any, expected: str
) -> None:
    data = copy.deepcopy(default_data)
    change(data)
    with pytest.raises(ConfigError, match=expected) as err:
        _load(data)
    assert str(err.value).startswith("test_rules.yaml: ")


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="rules file .*missing.yaml does not exist"):
        load_rules(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: [1\n")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_rules(bad)
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="top level: must be a mapping"):
        load_rules(bad)


def test_scale_factor_interpolates_and_clamps() -> None:
    rules = load_rules()
    assert rules.scale_factor("fat_t1", 1.5) == pytest.approx(1.0)
    assert rules.scale_factor("fat_t1", 3.0) == pytest.approx(1.29)
    assert rules.scale_factor("fat_t1", 2.25) == pytest.approx((1.0 + 1.29) / 2)
    assert rules.scale_factor("fat_t1", 0.05) == pytest.approx(0.60)
    assert rules.scale_factor("fat_t1", 11.7) == pytest.approx(1.60)
    assert rules.scale_factor("fat_t1", None) == pytest.approx(1.0)  # default 1.5 T


def _ir_facts(ti: float, b0: float, te: float = 50.0, tr: float = 4000.0) -> HeaderFacts:
    return HeaderFacts(
        values={
            "scanning_sequence": ("SE", "IR"),
            "inversion_time": ti,
            "field_strength": b0,
            "echo_time": te,
            "repetition_time": tr,
            "image_type": ("ORIGINAL", "PRIMARY", "M"),
        }
    )


@pytest.mark.parametrize(
    ("ti", "b0", "te", "expected"),
    [
        (95.0, 0.3, 30.0, "stir"),  # low field: fat nulls early
        (140.0, 1.0, 60.0, "stir"),
        (160.0, 1.5, 60.0, "stir"),
        (230.0, 3.0, 50.0, "stir"),
        (280.0, 3.0, 50.0, "stir"),  # inside the 3 T window ...
        (280.0, 1.5, 50.0, "other"),  # ... but too long at 1.5 T
        (100.0, 3.0, 50.0, "other"),  # too short for fat at 3 T
        (2500.0, 1.5, 110.0, "flair"),
        (2200.0, 3.0, 90.0, "flair"),
        (900.0, 3.0, 3.0, "t1"),  # MPRAGE-like
        (6000.0, 3.0, 2.5, "other"),  # T1 mapping
    ],
)
def test_inversion_time_scales_with_field_strength(
    ti: float, b0: float, te: float, expected: str
) -> None:
    c = classify_facts(_ir_facts(ti, b0, te, tr=2000.0 if expected == "t1" else 5000.0))
    assert c.contrast.value == expected, "\n".join(str(e) for e in c.evidence)


def test_scan_options_match_whole_tokens() -> None:
    base = {
        "scanning_sequence": ("SE",),
        "echo_time": 100.0,
        "repetition_time": 3500.0,
        "image_type": ("ORIGINAL", "PRIMARY", "OTHER"),
    }
    trap = classify_facts(
        HeaderFacts(values={**base, "scan_options": ("FSA_GEMS", "FAST_GEMS", "SAT_GEMS")})
    )
    assert trap.contrast.value == "t2"
    fs = classify_facts(HeaderFacts(values={**base, "scan_options": ("FAST_GEMS", "FS")}))
    assert fs.contrast.value == "t2_fs"


def test_evidence_names_the_tags() -> None:
    c = classify_facts(
        HeaderFacts(
            values={
                "scanning_sequence": ("IR",),
                "inversion_time": 150.0,
                "echo_time": 60.0,
                "repetition_time": 4000.0,
            },
            sources={"inversion_time": "(0018,0082) InversionTime"},
        )
    )
    assert c.contrast.value == "stir"
    stir = next(e for e in c.evidence if e.rule == "ir_fat_null_ti")
    assert ("inversion_time", "150", "(0018,0082) InversionTime") in stir.seen
    assert stir.to_dict()["seen"][0]["name"] in ("scanning_sequence", "inversion_time")
    assert "ir_fat_null_ti" in str(stir)


def test_descriptions_alone_are_evidence_in_any_case_and_spelling() -> None:
    for desc, expected in [
        ("Sag STIR", "stir"),
        ("t2_tirm_sag", "stir"),
        ("sT2W_SPAIR", "t2_fs"),
        ("T2 FS", "t2_fs"),
        ("T2FS SAG", "t2_fs"),
        ("t2_fatsat_sag", "t2_fs"),
        ("T2_DIXON_W", "dixon_water"),
        ("t2 dixon fat", "dixon_fat"),
        ("T2_DIXON_opp", "dixon_opposed_phase"),
        ("T2_DIXON_in", "dixon_in_phase"),
        ("DP FS SAG", "pd_fs"),
        ("SAG T1", "t1"),
        ("Survey", "localizer"),
        ("T2 FLAIR", "flair"),
        ("sag T2 FSE", "t2"),
    ]:
        c = classify_facts(HeaderFacts(values={"description": (desc,)}))
        assert c.contrast.value == expected, (desc, c.summary())
        assert c.confidence < 0.85, "a description alone must not look certain"


def test_a_description_does_not_outvote_tags() -> None:
    # Named STIR, but a long-TI IR with long TE: FLAIR.
    c = classify_facts(
        HeaderFacts(
            values={
                "description": ("STIR sag",),
                "scanning_sequence": ("SE", "IR"),
                "inversion_time": 2500.0,
                "echo_time": 110.0,
                "repetition_time": 9000.0,
                "field_strength": 1.5,
            }
        )
    )
    assert c.contrast.value == "flair"

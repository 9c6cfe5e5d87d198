"""Profile files: the shipped ones (and their citations), users' own, validation errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from clinical_cases import SEED_000, SEED_002, SEED_004, clinical, finding

from acuity.clinical import (
    DEFAULT_PROFILE,
    RuleKind,
    Verdict,
    evaluate,
    load_profile,
    profile_files,
)
from acuity.clinical.profile import PROFILES_ENV, load_profile_file, shipped_profiles_dir
from acuity.errors import ConfigError

SHIPPED = ("conservative-3mo", "sir-6wk", "acute-3wk-thoracolumbar")
MAIN_SEED = {"conservative-3mo": SEED_000, "sir-6wk": SEED_002, "acute-3wk-thoracolumbar": SEED_004}


def test_shipped_profiles_load() -> None:
    assert DEFAULT_PROFILE == "conservative-3mo"
    assert set(SHIPPED) <= set(profile_files())
    for name in SHIPPED:
        p = load_profile(name)
        assert p.name == name and p.title and p.description
        kinds = {r.kind for r in p.rules}
        assert {RuleKind.INDICATION, RuleKind.ABSOLUTE_CONTRAINDICATION, RuleKind.FLAG} <= kinds
        assert sum(r.source.file == MAIN_SEED[name] for r in p.rules) >= len(p.rules) - 3
    assert load_profile(None).name == DEFAULT_PROFILE


def _normal(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("name", SHIPPED)
def test_every_quote_is_verbatim_in_its_seed(name: str, shared_root: Path) -> None:
    seeds = shared_root / "seeds"
    for rule in load_profile(name).rules:
        seed = seeds / rule.source.file
        assert seed.is_file(), f"{rule.id}: no seed file {rule.source.file}"
        text = _normal(seed.read_text(encoding="utf-8"))
        for fragment in rule.source.quote.split(" ... "):
            assert _normal(fragment) in text, f"{rule.id}: {fragment!r} not in {seed.name}"


RULE = {
    "id": "my.rule",
    "kind": "indication",
    "summary": "severe pain",
    "source": {"file": "policy.txt", "quote": "severe pain"},
    "when": {"field": "pain_score_nrs", "op": "ge", "value": 8},
}


def _profile(name: str = "my-site", **rule_changes: object) -> dict[str, object]:
    rule = {**RULE, **rule_changes}
    return {
        "version": 1,
        "name": name,
        "title": "my site",
        "description": "a site's own criteria",
        "rules": [rule],
    }


def _write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_user_profile_by_path(tmp_path: Path) -> None:
    path = _write(tmp_path / "mine.yaml", _profile())
    profile = load_profile(path)
    assert profile.name == "my-site" and profile.source == str(path)
    assert load_profile(str(path)).rules == profile.rules
    result = evaluate([finding()], clinical("conservative-3mo", pain_score_nrs=7), profile)
    assert result.levels[0].verdict is Verdict.NOT_CANDIDATE
    assert result.levels[0].deciding()[0].source == "policy.txt"


def test_user_profile_folder_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "my-site.yaml", _profile())
    _write(tmp_path / "sir-6wk.yaml", _profile("sir-6wk"))
    assert load_profile("my-site", [tmp_path]).name == "my-site"
    # a user folder comes before the shipped profiles
    assert load_profile("sir-6wk", [tmp_path]).rules[0].id == "my.rule"
    assert load_profile("sir-6wk").rules[0].id != "my.rule"
    monkeypatch.setenv(PROFILES_ENV, str(tmp_path))
    assert load_profile("my-site").name == "my-site"
    assert profile_files()["my-site"] == tmp_path / "my-site.yaml"


def test_profile_lookup_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"no profile named 'sir-6wks' \(did you mean 'sir-6wk'"):
        load_profile("sir-6wks")
    with pytest.raises(ConfigError, match="is a folder; add it with --profile-dir"):
        load_profile(tmp_path)
    _write(tmp_path / "other.yaml", _profile("not-other"))
    with pytest.raises(ConfigError, match="must equal the file name 'other'"):
        load_profile("other", [tmp_path])
    with pytest.raises(ConfigError, match="does not exist"):
        load_profile(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="profile folder .* does not exist"):
        load_profile("x", [tmp_path / "missing"])
    monkeypatch.setenv(PROFILES_ENV, str(tmp_path / "missing-too"))
    with pytest.raises(ConfigError, match="missing-too"):
        load_profile("sir-6wk")


def test_shipped_folder_is_pipelines_profiles() -> None:
    folder = shipped_profiles_dir()
    assert folder.name == "profiles" and folder.parent.name == "pipelines"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"kind": "contraindication"}, ["rule my.rule: kind", "'contraindication'", "indication"]),
        ({"summary": ""}, ["rule my.rule.summary", "non-empty"]),
        ({"source": "policy.txt"}, ["rule my.rule: source", "{file: SEED_FILE, quote"]),
        ({"source": {"file": "policy.txt"}}, ["rule my.rule: source"]),
        ({"source": {"file": "p.txt", "quote": " "}}, ["rule my.rule: source.quote", "non-empty"]),
        ({"because": "x"}, ["rule my.rule", "unknown keys ['because']"]),
        ({"wen": {}}, ["rule my.rule", "'wen'", "did you mean 'when'"]),
        ({"id": "bad id!"}, ["rules[0].id", "'bad id!'"]),
        ({"flag": "malignancy_suspicion"}, ["rule my.rule: flag", "only rules of kind flag"]),
        ({"kind": "flag"}, ["rule my.rule: flag", "None", "malignancy_suspicion"]),
        ({"when": None}, ["rule my.rule: when", "mapping"]),
        (
            {"when": {"field": "pain_score", "op": "ge", "value": 8}},
            ["rule my.rule: when.field", "'pain_score'", "did you mean 'pain_score_nrs'"],
        ),
        (
            {"when": {"field": "pain_score_nrs", "op": ">=", "value": 8}},
            ["rule my.rule: when.op", "'>='", "eq, ne, lt, le, gt, ge"],
        ),
        (
            {"when": {"field": "active_infection", "op": "lt", "value": True}},
            ["rule my.rule: when.op", "active_infection (boolean)", "eq, ne"],
        ),
        (
            {"when": {"field": "active_infection", "op": "eq", "value": "yes"}},
            ["rule my.rule: when.value", "true or false", "'yes'"],
        ),
        (
            {"when": {"field": "pain_score_nrs", "op": "ge", "value": "7"}},
            ["rule my.rule: when.value", "pain_score_nrs is a number", "'7'"],
        ),
        (
            {"when": {"field": "pain_score_nrs", "op": "between", "value": [8, 3]}},
            ["rule my.rule: when.value", "low 8 is above high 3"],
        ),
        (
            {"when": {"field": "level", "op": "between", "value": ["L2", "T11"]}},
            ["rule my.rule: when.value", "low L2 is above high T11"],
        ),
        (
            {"when": {"field": "level", "op": "eq", "value": "L9"}},
            ["rule my.rule: when.value", "'L9'"],
        ),
        (
            {"when": {"field": "acuity", "op": "eq", "value": "healed"}},
            ["rule my.rule: when.value", "'healed'", "acute, chronic"],
        ),
        (
            {"when": {"field": "acuity", "op": "eq", "value": "indeterminate"}},
            ["rule my.rule: when.value", "'indeterminate'"],
        ),
        (
            {"when": {"field": "fracture_etiology", "op": "in", "value": []}},
            ["rule my.rule: when.value", "non-empty list"],
        ),
        (
            {"when": {"field": "pain_score_nrs", "op": "ge"}},
            ["rule my.rule: when", "'value' is missing"],
        ),
        (
            {"when": {"field": "pain_localized_levels", "op": "eq", "value": "L1"}},
            ["rule my.rule: when.field", "pain_at_level"],
        ),
        (
            {"when": {"any": [{"field": "pain_score_nrs", "op": "ge", "value": 8}, {"x": 1}]}},
            ["rule my.rule: when.any[1]", "unknown condition keys ['x']"],
        ),
        ({"when": {"all": []}}, ["rule my.rule: when.all", "non-empty list"]),
        (
            {"when": {"not": {"field": "pain_score_nrs", "op": "ge", "value": 8}, "all": [1]}},
            ["rule my.rule: when", "unexpected keys"],
        ),
    ],
    ids=lambda v: re.sub(r"\W+", "_", str(v))[:60] if isinstance(v, dict) else None,
)
def test_invalid_rule_is_a_config_error(
    tmp_path: Path, changes: dict[str, object], expected: list[str]
) -> None:
    path = _write(tmp_path / "bad.yaml", _profile(**changes))
    with pytest.raises(ConfigError) as exc:
        load_profile_file(path)
    message = str(exc.value)
    assert message.startswith(str(path)), message
    for part in expected:
        assert part in message, message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([1, 2], ["a profile must be a mapping"]),
        ({**_profile(), "version": 2}, ["version: must be 1"]),
        ({**_profile(), "rules": []}, ["rules: must be a non-empty list"]),
        ({**_profile(), "extra": 1}, ["top level", "unknown keys ['extra']"]),
        ({**_profile(), "name": "has space"}, ["name:", "'has space'"]),
        ({**_profile(), "rules": [RULE, RULE]}, ["rule my.rule", "id used twice"]),
    ],
)
def test_invalid_profile_is_a_config_error(
    tmp_path: Path, data: object, expected: list[str]
) -> None:
    path = _write(tmp_path / "bad.yaml", data)
    with pytest.raises(ConfigError) as exc:
        load_profile_file(path)
    for part in expected:
        assert part in str(exc.value), str(exc.value)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nname: x\nrules:\n  - id: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: not valid YAML at line \d+"):
        load_profile_file(path)

"""Series selection on multi-series studies written as real DICOM, with decoys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from protocols import protocol

from acuity.errors import InputError
from acuity.ingest import Plane, Study, scan_folder
from acuity.select import Role, RuleSet, Selection, load_rules, select_series
from acuity.select.rules import default_rules_path
from acuity.sim import SeriesSpec, StudySpec, write_series


def _write(root: Path, specs: list[SeriesSpec], study: StudySpec | None = None) -> Study:
    study = study or StudySpec()
    for spec in specs:
        write_series(study, spec, root / f"s{spec.series_number:03d}")
    scan = scan_folder(root)
    assert len(scan.studies) == 1, scan.skipped
    return scan.studies[0]


def _at(time: str) -> dict[str, Any]:
    return {"AcquisitionTime": time, "SeriesTime": time}


def _by_number(selection: Selection, number: int) -> Any:
    (stack,) = [s for s in selection.stacks if s.series_number == number]
    return stack


@pytest.fixture(scope="module")
def siemens_study(tmp_path_factory: pytest.TempPathFactory) -> Study:
    """A Siemens 1.5 T lumbar study: the right STIR among repeats and decoys."""
    stir = protocol("siemens15_stir_tirm")
    specs = [
        protocol("siemens15_localizer").spec(1, header=_at("120000")),
        protocol("siemens15_t1_tse").spec(2, header=_at("120300")),
        protocol("siemens15_t2_tse").spec(3, header=_at("120600")),
        stir.spec(4, row_spacing=30.0, header=_at("121000")),  # the one: full coverage
        stir.spec(5, row_spacing=18.0, header=_at("122000")),  # later repeat, smaller coverage
        stir.spec(6, row_spacing=30.0, header=_at("120900")),  # earlier repeat, same coverage
        stir.spec(7, plane=Plane.AXIAL, header=_at("121500")),  # axial STIR
        stir.spec(8, plane=Plane.CORONAL, header=_at("121600")),  # coronal STIR
        protocol("siemens15_flair").spec(9, header=_at("121700")),  # long TI: FLAIR-like
        protocol("siemens15_stir_mpr").spec(10, header=_at("121800")),  # derived MPR
        protocol("siemens15_t2_tse_fs").spec(11, header=_at("121900")),  # second-tier candidate
        protocol("siemens15_dwi").spec(12, plane=Plane.AXIAL, header=_at("122100")),
    ]
    return _write(tmp_path_factory.mktemp("siemens_study"), specs)


def test_best_sagittal_stir_is_the_edema_series(siemens_study: Study) -> None:
    sel = select_series(siemens_study)
    assert sel.no_edema_reason is None
    edema = sel.stack_for(Role.EDEMA)
    assert edema is not None and edema.series_number == 4
    assert edema.classification.contrast.value == "stir"
    assert edema.role == Role.EDEMA
    assert any("chosen as edema series: sagittal STIR" in r for r in edema.reasons)
    assert edema.coverage_mm == pytest.approx(11 * 30.0)
    t1, t2 = sel.stack_for(Role.T1), sel.stack_for(Role.T2)
    assert t1 is not None and t1.series_number == 2
    assert t2 is not None and t2.series_number == 3


def test_every_other_stack_says_why_not(siemens_study: Study) -> None:
    sel = select_series(siemens_study)
    why = {s.series_number: " | ".join(s.reasons) for s in sel.stacks}
    assert "larger superior-inferior coverage" in why[5] and "198.0 mm" in why[5]
    assert "acquired later" in why[6]
    assert "plane is axial" in why[7]
    assert "plane is coronal" in why[8]
    assert "derived" in why[10]
    assert "localizer" in why[1]
    assert "better tier" in why[11] and "sagittal T2 fat-suppressed" in why[11]
    assert "no role" in why[9]
    assert _by_number(sel, 9).classification.contrast.value == "flair"
    assert all(s.reasons for s in sel.stacks)
    assert {s.role for s in sel.stacks if s.series_number not in (2, 3, 4)} == {Role.UNUSED}


def test_selection_is_json(siemens_study: Study) -> None:
    sel = select_series(siemens_study)
    data = json.loads(json.dumps(sel.to_dict()))
    assert data["edema"] == sel.edema
    assert len(data["stacks"]) == len(sel.stacks)
    assert data["stacks"][0]["classification"]["decisions"][0]["evidence"] is not None
    with_facts = sel.to_dict(facts=True)
    assert "facts" in with_facts["stacks"][0]["classification"]


def test_t2_fat_sat_when_there_is_no_stir(tmp_path: Path) -> None:
    fs = protocol("ge15_t2_fs")
    study = _write(
        tmp_path,
        [
            protocol("ge15_t1").spec(1),
            protocol("ge15_t2_fsa_trap").spec(2),
            fs.spec(3, row_spacing=20.0),
            fs.spec(4, row_spacing=32.0),
            protocol("ge15_localizer").spec(5),
        ],
    )
    sel = select_series(study)
    assert _by_number(sel, 4).role == Role.EDEMA
    assert sel.stack_for(Role.T1).series_number == 1  # type: ignore[union-attr]
    assert sel.stack_for(Role.T2).series_number == 2  # type: ignore[union-attr]


def test_dixon_water_when_there_is_no_stir_or_t2_fs(tmp_path: Path) -> None:
    study = _write(
        tmp_path,
        [
            protocol("philips3_mdixon_w").spec(1),
            protocol("philips3_mdixon_f").spec(2),
            protocol("philips3_mdixon_ip").spec(3),
            protocol("philips3_mdixon_op").spec(4),
            protocol("philips15_t1").spec(5),
        ],
    )
    sel = select_series(study)
    edema = sel.stack_for(Role.EDEMA)
    assert edema is not None and edema.series_number == 1
    assert "Dixon water" in edema.reasons[0]


def test_no_usable_edema_series_says_why(tmp_path: Path) -> None:
    stir = protocol("canon15_stir")
    study = _write(
        tmp_path,
        [
            stir.spec(1, plane=Plane.AXIAL),
            protocol("canon15_t1").spec(2),
            protocol("canon15_t2").spec(3),
            protocol("siemens15_flair").spec(4),
        ],
    )
    sel = select_series(study)
    assert sel.edema is None and sel.stack_for(Role.EDEMA) is None
    assert sel.no_edema_reason is not None
    assert "no usable sagittal STIR" in sel.no_edema_reason
    assert "plane is axial" in sel.no_edema_reason
    assert sel.t1 is not None and sel.t2 is not None


def test_dual_echo_series_is_split_and_each_stack_classified(tmp_path: Path) -> None:
    from acuity.sim import make_uid

    uid = str(make_uid("dual-echo"))
    t2 = protocol("canon15_t2")
    pd = t2.spec(1, header={"SeriesDescription": "Sag PD/T2"})
    pd = SeriesSpec(**{**_fields(pd), "series_instance_uid": uid, "echo_time": 25.0})
    t2_spec = SeriesSpec(
        **{
            **_fields(t2.spec(1, header={"SeriesDescription": "Sag PD/T2"})),
            "series_instance_uid": uid,
            "echo_time": 105.0,
            "first_instance_number": 101,
        }
    )
    for spec, sub in ((pd, "e1"), (t2_spec, "e2")):
        write_series(StudySpec(), spec, tmp_path / sub)
    study = scan_folder(tmp_path).studies[0]
    (series,) = study.series
    assert len(series.stacks) == 2
    sel = select_series(study)
    classes = {s.stack_id: s.classification.contrast.value for s in sel.stacks}
    assert sorted(classes.values()) == ["pd", "t2"]
    t2_stack = sel.stack_for(Role.T2)
    assert t2_stack is not None and t2_stack.classification.contrast.value == "t2"
    # A stack id names one stack of the split series.
    pd_id = next(k for k, v in classes.items() if v == "pd")
    assert select_series(study, t2_series=pd_id).t2 == pd_id


def _fields(spec: SeriesSpec) -> dict[str, Any]:
    from dataclasses import fields

    return {f.name: getattr(spec, f.name) for f in fields(spec)}


# --------------------------------------------------------------------------- overrides


def test_override_by_series_number_uid_and_stack_id(siemens_study: Study) -> None:
    sel = select_series(siemens_study, edema_series=11)
    assert _by_number(sel, 11).role == Role.EDEMA
    assert "set by the user" in _by_number(sel, 11).reasons[-1]
    assert sel.overrides == {"edema": "11"}
    series6 = next(s for s in siemens_study.series if s.series_number == 6)
    assert (
        select_series(siemens_study, edema_series=series6.series_instance_uid).edema
        == series6.stacks[0].stack_id
    )
    assert (
        select_series(siemens_study, edema_series=series6.stacks[0].stack_id).edema
        == series6.stacks[0].stack_id
    )
    assert select_series(siemens_study, edema_series="#6").edema == series6.stacks[0].stack_id
    # An override may name a stack the rules exclude; the reason says so.
    sel = select_series(siemens_study, edema_series="7", t1_series="3", t2_series="2")
    edema = sel.stack_for(Role.EDEMA)
    assert edema is not None and edema.series_number == 7
    assert "would have been excluded" in edema.reasons[-1]
    assert sel.stack_for(Role.T1).series_number == 3  # type: ignore[union-attr]
    assert sel.stack_for(Role.T2).series_number == 2  # type: ignore[union-attr]


def test_override_naming_nothing_lists_the_series(siemens_study: Study) -> None:
    with pytest.raises(InputError) as err:
        select_series(siemens_study, edema_series="99")
    message = str(err.value)
    assert "edema_series='99'" in message
    assert "t2_tirm_sag_p2" in message and "#4" in message
    with pytest.raises(InputError, match="t1_series='1.2.3.4'"):
        select_series(siemens_study, t1_series="1.2.3.4")


# --------------------------------------------------------------------------- user rules


def _rules_with(tmp_path: Path, change: Any) -> RuleSet:
    data = yaml.safe_load(default_rules_path().read_text())
    change(data)
    path = tmp_path / "my_rules.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_rules(path)


def test_a_user_rules_file_changes_the_choice(siemens_study: Study, tmp_path: Path) -> None:
    def prefer_t2_fs(data: dict[str, Any]) -> None:
        tiers = data["selection"]["roles"]["edema"]["tiers"]
        tiers.insert(0, tiers.pop(1))

    rules = _rules_with(tmp_path, prefer_t2_fs)
    sel = select_series(siemens_study, rules=rules)
    assert sel.stack_for(Role.EDEMA).series_number == 11  # type: ignore[union-attr]

    def earliest_first(data: dict[str, Any]) -> None:
        data["selection"]["coverage_tolerance_mm"] = 500
        data["selection"]["tie_break"] = ["coverage_mm", "series_number"]

    # With coverage ignored, the highest series number among the STIRs wins.
    rules = _rules_with(tmp_path, earliest_first)
    assert select_series(siemens_study, rules=rules).stack_for(Role.EDEMA).series_number == 6  # type: ignore[union-attr]


def test_chosen_stacks_load_as_volumes(siemens_study: Study) -> None:
    from acuity.ingest import load_volume

    sel = select_series(siemens_study)
    chosen = sel.chosen()
    assert list(chosen) == ["edema", "t1", "t2"]
    assert chosen["edema"].stack_id == sel.edema
    for role, stack in chosen.items():
        assessment = sel.stack_for(role)
        assert assessment is not None and assessment.series is not None
        volume = load_volume(stack, assessment.series)
        assert volume.image.GetSize()[2] == stack.n_slices == assessment.n_slices

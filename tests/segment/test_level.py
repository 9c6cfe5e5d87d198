"""Vertebral levels: the enum's ordering, and naming levels from S1 or from hints."""

from __future__ import annotations

import pytest

from acuity.errors import InputError
from acuity.segment.level import VertebraLevel, level_range
from acuity.segment.levels import assign_levels


def test_levels_are_ordered_from_the_skull() -> None:
    assert VertebraLevel.C1 < VertebraLevel.T1 < VertebraLevel.L5 < VertebraLevel.S1
    assert VertebraLevel.L5.offset(1) is VertebraLevel.S1
    assert VertebraLevel.L1.offset(-1) is VertebraLevel.T12
    assert VertebraLevel.S1.offset(1) is None
    assert VertebraLevel.C1.offset(-1) is None
    assert VertebraLevel("l3") is VertebraLevel.L3
    assert VertebraLevel.parse(" t12 ") is VertebraLevel.T12
    assert VertebraLevel.T7.region == "thoracic"
    assert [v.value for v in level_range("T11", "L2")] == ["T11", "T12", "L1", "L2"]
    assert sorted([VertebraLevel.S1, VertebraLevel.C2, VertebraLevel.L1]) == [
        VertebraLevel.C2,
        VertebraLevel.L1,
        VertebraLevel.S1,
    ]


def test_bad_level_names_say_what_is_allowed() -> None:
    with pytest.raises(ValueError, match="L6.*e.g. 'L3'"):
        VertebraLevel.parse("L6")
    with pytest.raises(ValueError, match="upwards"):
        level_range("L5", "L1")


SI = [0.0, 30.0, 60.0, 90.0, 120.0, 150.0]


def test_levels_counted_upward_from_s1() -> None:
    a = assign_levels(SI, [0.0, 0.0, 0.01, 0.02, 0.05, 0.93])
    assert [lv.value for lv in a.levels if lv] == ["L1", "L2", "L3", "L4", "L5", "S1"]
    assert a.source == "s1"
    assert all(c > 0.8 for c in a.confidences)
    assert "5 lumbar vertebrae" in a.note


def test_no_s1_in_view_names_nothing_and_says_so() -> None:
    a = assign_levels(SI, [0.0, 0.0, 0.01, 0.02, 0.05, 0.2])
    assert a.levels == [None] * 6
    assert a.confidences == [0.0] * 6
    assert a.source == "none"
    assert "S1 (sacrum) not identified" in a.note and "lowest_level" in a.note


def test_two_s1_candidates_lower_the_confidence() -> None:
    a = assign_levels(SI, [0.0, 0.0, 0.0, 0.0, 0.7, 0.9])
    assert a.levels[-1] is VertebraLevel.S1
    assert max(a.confidences) <= 0.5
    assert "more than one body looks like S1" in a.note


def test_bodies_below_s1_stay_unnamed() -> None:
    a = assign_levels(SI, [0.0, 0.0, 0.0, 0.0, 0.9, 0.1])
    assert a.levels[4] is VertebraLevel.S1 and a.levels[5] is None
    assert "below S1" in a.note


def test_lowest_level_hint_overrides_the_model() -> None:
    a = assign_levels(SI, [0.0] * 6, lowest_level="L4")
    assert [lv.value for lv in a.levels if lv] == ["T11", "T12", "L1", "L2", "L3", "L4"]
    assert a.source == "hint" and a.confidences == [1.0] * 6


def test_level_at_hint_and_consistency() -> None:
    a = assign_levels(SI, [0.0] * 6, level_at=(2, "L1"))
    assert a.levels[0] is VertebraLevel.T11 and a.levels[5] is VertebraLevel.L4
    ok = assign_levels(SI, [0.0] * 6, level_at=(2, "L1"), lowest_level="L4")
    assert ok.levels == a.levels
    with pytest.raises(InputError, match="disagree"):
        assign_levels(SI, [0.0] * 6, level_at=(2, "L1"), lowest_level="L5")
    with pytest.raises(InputError, match="beyond C1 or S1"):
        assign_levels(SI, [0.0] * 6, level_at=(0, "L5"))
    with pytest.raises(InputError, match="not one of the 6 bodies"):
        assign_levels(SI, [0.0] * 6, level_at=(6, "L1"))


def test_a_gap_between_bodies_skips_a_level_and_lowers_confidence() -> None:
    si = [0.0, 30.0, 60.0, 120.0, 150.0]  # one body missing between the 3rd and 4th
    a = assign_levels(si, [0.0, 0.0, 0.0, 0.0, 0.95])
    assert [lv.value if lv else None for lv in a.levels] == ["L1", "L2", "L3", "L5", "S1"]
    assert a.confidences[0] < a.confidences[-1]
    assert "missed" in a.note

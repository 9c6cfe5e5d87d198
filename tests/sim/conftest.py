"""Fixtures of the simulation tests: one quick synthetic study per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from acuity.sim.study import SampleConfig, make_sample_study
from acuity.sim.truth import Truth


@pytest.fixture(scope="session")
def quick_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Truth]:
    out = tmp_path_factory.mktemp("quick_sample")
    truth = make_sample_study(out, SampleConfig.quick())
    return out, truth

"""Fixtures of the report tests: one analysis of the sample study (from its ground truth),
rendered once per session; system tools (Chromium, dciodvfy) found or skipped (failing in CI)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sample_analysis import make_analysis

from acuity.report.render import RenderResult, render_report


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        msg = f"{name} not found: install Debian's {package} (scripts/setup.sh does it as root)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def chromium() -> str:
    return _tool("chromium", "chromium")


@pytest.fixture(scope="session")
def dciodvfy() -> str:
    return _tool("dciodvfy", "dicom3tools")


@pytest.fixture(scope="session")
def analysis_dir(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report.json + labels.nii.gz + edema_ratio.nii.gz of the sample study (do not modify)."""
    out = tmp_path_factory.mktemp("analysis")
    make_analysis(sample_dir, out)
    return out


@pytest.fixture(scope="session")
def rendered(
    analysis_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, RenderResult]:
    """A copy of the analysis with every output rendered (do not modify)."""
    out = tmp_path_factory.mktemp("rendered")
    shutil.copytree(analysis_dir, out, dirs_exist_ok=True)
    return out, render_report(out)


@pytest.fixture
def fresh(analysis_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the analysis folder (no renderings yet)."""
    out = tmp_path / "out"
    shutil.copytree(analysis_dir, out)
    return out

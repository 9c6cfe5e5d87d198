"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from acuity.config import DATA_ENV, shared_data_dir

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder (``$ACUITY_DATA`` or ``../shared/data``).

    Outside CI a machine without the data skips these tests with the reason; in CI
    (``CI=true``) the data must be there, so its absence is a failure.
    """
    path = shared_data_dir()
    if path is None:
        msg = f"real data not found: set {DATA_ENV} or place it at ../shared/data"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def shared_root(shared_data: Path) -> Path:
    """The ``shared/`` folder holding ``data/``, ``dicom_headers/`` and ``seeds/``."""
    return shared_data.parent


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The bundled sample study."""
    return PROJECT_ROOT / "sample_dicom"

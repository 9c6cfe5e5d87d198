"""Where acuity finds its declarative data (``pipelines/``) and the shared real data."""

from __future__ import annotations

import os
from importlib.resources import as_file, files
from pathlib import Path

from acuity.errors import ConfigError

#: Environment variable naming the folder of real spine MRI data (``../shared/data``).
DATA_ENV = "ACUITY_DATA"


def pipeline_file(name: str) -> Path:
    """Path of a file shipped in ``pipelines/`` (package ``acuity.pipelines``)."""
    resource = files("acuity.pipelines").joinpath(name)
    with as_file(resource) as path:
        if not path.is_file():
            raise ConfigError(f"pipelines/{name} is not shipped with this installation of acuity")
        return Path(path)


def shared_data_dir() -> Path | None:
    """The real-data folder: ``$ACUITY_DATA``, else ``../shared/data`` beside the project.

    Returns None when neither exists, so callers can say what is missing.
    """
    env = os.environ.get(DATA_ENV)
    if env:
        path = Path(env).expanduser()
        return path if path.is_dir() else None
    project_root = Path(__file__).resolve().parent.parent
    candidate = project_root.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None

"""Where acuity finds its declarative data (``pipelines/``) and the shared real data."""

from __future__ import annotations

import os
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

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


def read_yaml(path: str | Path, what: str) -> Any:
    """Parse a YAML file of declarative data (rules, thresholds, a profile).

    ``what`` names the kind of file in messages ("rules file", "profile file" ...). Raises
    ConfigError naming the file, and the line and column of a syntax error.
    """
    import yaml

    from acuity.io import read_text

    p = Path(path)
    text = read_text(p, what, error=ConfigError)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{p}: not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None

"""acuity: vertebral compression fracture acuity on spine MRI, level by level.

The public API is re-exported from the stage subpackages (``acuity.ingest``,
``acuity.select``, ...); importing :mod:`acuity` itself is cheap (no torch).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("acuity")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

"""The few exception types acuity raises.

Messages name the file, tag or field, the bad value and what to do about it.
"""

from __future__ import annotations


class AcuityError(Exception):
    """Base class of every error acuity raises on purpose."""


class InputError(AcuityError):
    """The user's input (a path, an option, a file) cannot be used as given."""


class DicomError(AcuityError):
    """A DICOM file or series cannot be read or reconstructed; the message says why."""


class ConfigError(AcuityError):
    """A rule, threshold or profile file in ``pipelines/`` (or a user's own) is invalid."""

"""What the DICOM outputs share: equipment, series numbers, reproducible UIDs, saving."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from collections.abc import Mapping
from typing import Any

from pydicom.dataset import Dataset

from acuity import __version__

MANUFACTURER = "acuity project"
MODEL_NAME = "acuity"
DEVICE_SERIAL = "acuity"
SOFTWARE_VERSION = __version__

#: Namespace of the name-based UUIDs behind output UIDs.
_UID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/acuity/acuity/dicom-outputs")

#: Kinds of output object, in series-number order after the study's last series.
KINDS = ("seg", "sr", "key_image")


def content_digest(report: Mapping[str, Any], *extra: bytes) -> str:
    """Digest of a report's content (and of extra bytes, e.g. the label map): the same
    analysis re-rendered gives the same UIDs, a changed one new UIDs."""
    h = hashlib.sha256(json.dumps(report, sort_keys=True, default=str).encode("utf-8"))
    for e in extra:
        h.update(hashlib.sha256(e).digest())
    return h.hexdigest()


def output_uid(digest: str, kind: str, what: str = "instance") -> str:
    """A UID determined by the content digest, the output kind and its use: ``2.25.`` and the
    integer of a name-based (SHA-1, version 5) UUID, as PS3.5 B.2 allows."""
    return f"2.25.{uuid.uuid5(_UID_NAMESPACE, f'{digest}/{kind}/{what}').int}"


def series_number(report: Mapping[str, Any], kind: str) -> int:
    """Series number of an output: after the largest series number of the source study."""
    numbers = [
        int(s["series_number"])
        for s in report.get("series", [])
        if isinstance(s.get("series_number"), int)
    ]
    base = max(numbers, default=0)
    return base + 1 + KINDS.index(kind)


def dataset_bytes(ds: Dataset) -> bytes:
    """A DICOM file (with its file meta) as bytes, ready for an atomic write."""
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()

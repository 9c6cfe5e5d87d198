"""Files of an output folder: their names, and atomic reading/writing of report.json and maps.

Every file is written to a temporary name beside its target and renamed over it in one step
(``os.replace``), so that a reader or a killed writer never sees a half-written file.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import SimpleITK

from acuity.errors import InputError
from acuity.io import write_image, write_json
from acuity.report.schema import validate_report

logger = logging.getLogger(__name__)

sitk: Any = SimpleITK  # SimpleITK has no type annotations

REPORT_JSON = "report.json"
LABELS = "labels.nii.gz"
EDEMA_MAP = "edema_ratio.nii.gz"
REPORT_HTML = "report.html"
SR = "sr.dcm"
SEG = "seg.dcm"
KEY_IMAGE = "key_image.dcm"
SUMMARY_CSV = "summary.csv"


def read_image(path: Path, what: str) -> SimpleITK.Image:
    """Read a map of the output folder; InputError naming it when it cannot be read."""
    try:
        image: SimpleITK.Image = sitk.ReadImage(str(path))
        return image
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unreadable"
        raise InputError(f"{what} {path} cannot be read ({first}); re-run acuity analyze") from None


def read_report(path: Path) -> dict[str, Any]:
    """A report.json as a dict, checked against the schema; InputError naming the problem."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{path} does not exist; give the output folder of acuity analyze"
        ) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: not an acuity report (a JSON object with 'levels')")
    return data


def write_analysis(
    out_dir: Path,
    report: Mapping[str, Any],
    *,
    labels: SimpleITK.Image | None = None,
    edema_ratio: SimpleITK.Image | None = None,
) -> dict[str, Path]:
    """Write the persisted result of an analysis: the maps first, report.json last.

    ``labels`` (instance labels 1..N, integer) goes to ``labels.nii.gz`` and ``edema_ratio``
    to ``edema_ratio.nii.gz``; the report's ``label_map`` / ``edema_map`` must name those
    files (or be null when the map is not given). The report is validated before anything
    is written. Returns the paths written by kind (``report``, ``labels``, ``edema_ratio``).
    """
    validate_report(report)
    out = Path(out_dir)
    written: dict[str, Path] = {}
    for key, image, default in (
        ("label_map", labels, LABELS),
        ("edema_map", edema_ratio, EDEMA_MAP),
    ):
        info = report.get(key)
        if (image is None) != (info is None):
            raise InputError(
                f"report.json: {key} is {'set' if info else 'null'} but the image was "
                f"{'not ' if image is None else ''}given; pass both or neither"
            )
        if image is None or info is None:
            continue
        img: Any = image
        if key == "label_map" and img.GetPixelID() not in (
            sitk.sitkUInt8,
            sitk.sitkUInt16,
            sitk.sitkInt16,
            sitk.sitkInt32,
            sitk.sitkUInt32,
        ):
            raise InputError(
                f"labels: pixel type {img.GetPixelIDTypeAsString()} is not an integer type; "
                "cast the label map to UInt16"
            )
        path = out / str(info.get("file", default))
        write_image(path, image)
        written["labels" if key == "label_map" else "edema_ratio"] = path
    path = out / REPORT_JSON
    write_json(path, report)
    written["report"] = path
    logger.info("wrote %s", ", ".join(p.name for p in written.values()))
    return written

"""Read one file's DICOM header (no pixel data) and turn it into :class:`Frame` objects.

:func:`read_header` says whether a file is an image instance worth indexing (and if not,
why); :func:`frames_of` extracts the per-frame geometry and acquisition values of a
classic single-frame instance or of an Enhanced / Legacy Converted Enhanced multi-frame
one (functional groups looked up per frame first, then shared, then at the top level).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydicom import dcmread
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian, MediaStorageDirectoryStorage

from acuity.ingest.model import Frame

logger = logging.getLogger(__name__)

#: Tag bytes of (7FE0,0010) Pixel Data and its float variants, little and big endian.
_PIXEL_TAG_PREFIXES = (b"\xe0\x7f", b"\x7f\xe0")


@dataclass(frozen=True)
class Header:
    """An image instance whose header was read: its dataset, without pixel data."""

    path: Path
    dataset: Dataset
    #: Read with ``force=True`` (no 128-byte preamble / 'DICM' prefix).
    forced: bool


@dataclass(frozen=True)
class NotAnImage:
    """A file that is not used, and why. ``failure`` is False for a DICOMDIR."""

    path: Path
    reason: str
    failure: bool = True


def read_header(path: Path) -> Header | NotAnImage:
    """Read the header of ``path`` without pixel data; never raises for bad input."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return NotAnImage(path, f"cannot access file: {exc.strerror or exc}")
    if size == 0:
        return NotAnImage(path, "empty file (0 bytes)")
    forced = False
    try:
        with path.open("rb") as fp:
            try:
                ds = dcmread(fp, stop_before_pixels=True)
            except InvalidDicomError:
                # No preamble / 'DICM' prefix: raw data set (old ACR-NEMA style exports).
                fp.seek(0)
                forced = True
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ds = dcmread(fp, stop_before_pixels=True, force=True)
                if "SOPClassUID" not in ds and "SOPInstanceUID" not in ds:
                    return NotAnImage(
                        path,
                        "not a DICOM file: no 'DICM' prefix and no SOP Class/Instance UID "
                        "elements when read as a raw data set",
                    )
            tail = fp.read(4)
    except OSError as exc:
        return NotAnImage(path, f"cannot read file: {exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - any parse failure means an unreadable header
        return NotAnImage(path, f"unreadable DICOM header ({type(exc).__name__}: {exc})")

    try:
        return _classify(path, ds, tail, forced)
    except Exception as exc:  # noqa: BLE001 - a corrupt element must not stop the scan
        return NotAnImage(path, f"unreadable DICOM header ({type(exc).__name__}: {exc})")


def _classify(path: Path, ds: Dataset, tail: bytes, forced: bool) -> Header | NotAnImage:
    """Is the data set read from ``path`` an image instance? ``tail``: the 4 bytes that
    follow the header (the Pixel Data tag when there is one)."""
    meta = getattr(ds, "file_meta", None)
    sop_class = UID(str(ds.get("SOPClassUID", "")))
    if not sop_class and meta is not None:
        sop_class = UID(str(meta.get("MediaStorageSOPClassUID", "")))
    if sop_class == MediaStorageDirectoryStorage or "DirectoryRecordSequence" in ds:
        return NotAnImage(path, "DICOMDIR (media directory), not an image", failure=False)
    if not sop_class:
        return NotAnImage(
            path, "no SOP Class UID (0008,0016) in the header: corrupt, or not a DICOM object"
        )
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    has_pixels = tail[:2] in _PIXEL_TAG_PREFIXES or (
        ts == DeflatedExplicitVRLittleEndian and "Rows" in ds
    )
    kind = sop_class.name
    if not has_pixels:
        if sop_class.name.endswith("Image Storage"):
            return NotAnImage(
                path,
                f"truncated or incomplete {kind} file: it ends before Pixel Data (7FE0,0010)",
            )
        return NotAnImage(path, f"DICOM file without Pixel Data (7FE0,0010) ({kind}): not an image")
    if "Rows" not in ds or "Columns" not in ds:
        return NotAnImage(path, f"DICOM file without Rows/Columns (0028,0010/0011) ({kind})")
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        if not first_string(ds, keyword):
            return NotAnImage(path, f"DICOM image without {keyword}: it cannot be grouped")
    return Header(path, ds, forced)


@cache
def _tag(keyword: str) -> int:
    tag = tag_for_keyword(keyword)
    if tag is None:  # pragma: no cover - keywords here are constants
        raise KeyError(keyword)
    return tag


#: Value representations whose raw bytes are plain ASCII text.
_ASCII_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI"})


@cache
def _dictionary_vr(tag: int) -> str:
    try:
        return dictionary_VR(tag)
    except KeyError:
        return "UN"


def strings(ds: Dataset, keyword: str) -> list[str] | None:
    """Values of an element as strings, or None when absent.

    ASCII text elements (DS, IS, CS, UI, DA, TM, ...) not yet converted by pydicom are read
    from their raw bytes, several times faster than pydicom's value conversion (indexing
    speed); anything else (binary numbers, character-set dependent text) goes through
    pydicom."""
    tag = _tag(keyword)
    elem = ds.get_item(tag)
    if elem is None:
        return None
    value = elem.value
    if value is None:
        return []
    if isinstance(value, bytes) and (elem.VR or _dictionary_vr(tag)) not in _ASCII_VRS:
        value = ds[tag].value  # binary (FD, US, ...) or charset-dependent: let pydicom convert
    if value is None:
        return []
    if isinstance(value, bytes):
        text = value.decode("latin-1").strip(" \x00")
        return [v.strip(" \x00") for v in text.split("\\")] if text else []
    if isinstance(value, (str, int, float)):
        return [str(value)]
    return [str(v) for v in value]


def first_string(ds: Dataset, keyword: str) -> str:
    """First value of a text element, or "" when absent or empty."""
    values = strings(ds, keyword)
    return values[0] if values else ""


def number(values: list[str] | None) -> float | None:
    """First number of a text value, or None when absent, empty or not a number."""
    if not values:
        return None
    try:
        out = float(values[0])
    except ValueError:
        return None
    return out if math.isfinite(out) else None


def _floats(values: list[str] | None, n: int) -> tuple[float, ...] | None:
    """Exactly ``n`` finite numbers, or None."""
    if values is None or len(values) != n:
        return None
    try:
        out = tuple(float(v) for v in values)
    except ValueError:
        return None
    return out if all(math.isfinite(v) for v in out) else None


def integer(values: list[str] | None) -> int | None:
    """First value as an integer (IS, or a DS holding a whole number), or None."""
    value = number(values)
    return int(value) if value is not None else None


class _Lookup:
    """Values of frame ``i``: per-frame functional group, then shared, then top level."""

    def __init__(self, ds: Dataset) -> None:
        self.ds = ds
        shared = ds.get("SharedFunctionalGroupsSequence")
        self.shared: Dataset | None = shared[0] if shared else None
        per_frame = ds.get("PerFrameFunctionalGroupsSequence")
        self.per_frame: Sequence[Dataset] = per_frame if per_frame else ()
        self.functional_groups = bool(self.per_frame) or self.shared is not None

    def item(self, i: int, sequence: str) -> Dataset | None:
        """The item of functional group ``sequence`` that applies to frame ``i``."""
        sources = []
        if i < len(self.per_frame):
            sources.append(self.per_frame[i])
        if self.shared is not None:
            sources.append(self.shared)
        for fg in sources:
            seq = fg.get(sequence)
            if seq:
                item: Dataset = seq[0]
                return item
        return None

    def value(self, i: int, sequence: str | None, keyword: str) -> list[str] | None:
        """``keyword`` from functional group ``sequence`` of frame ``i``, else from the
        unassigned converted attributes (Legacy Converted), else from the top level."""
        if self.functional_groups:
            for seq in (
                sequence,
                "UnassignedPerFrameConvertedAttributesSequence",
                "UnassignedSharedConvertedAttributesSequence",
            ):
                if seq is None:
                    continue
                item = self.item(i, seq)
                if item is not None:
                    found = strings(item, keyword)
                    if found is not None:
                        return found
        return strings(self.ds, keyword)


@dataclass(frozen=True)
class FrameProblem:
    """Why the frames of an instance cannot be placed in space."""

    path: Path
    message: str


def frames_of(header: Header) -> list[Frame] | FrameProblem:
    """The frames of one image instance, or why they cannot be placed in space."""
    try:
        return _frames_of(header)
    except Exception as exc:  # noqa: BLE001 - a corrupt element must not stop the scan
        return FrameProblem(
            header.path, f"header cannot be interpreted ({type(exc).__name__}: {exc})"
        )


def _frames_of(header: Header) -> list[Frame] | FrameProblem:
    ds = header.dataset
    path = header.path
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if samples != 1:
        return FrameProblem(
            path,
            f"SamplesPerPixel (0028,0002) is {samples}: only grayscale images are "
            "rebuilt into volumes",
        )
    n_frames = integer(strings(ds, "NumberOfFrames")) or 1
    lookup = _Lookup(ds)
    if n_frames > 1 and not lookup.per_frame:
        return FrameProblem(
            path,
            f"multi-frame instance ({n_frames} frames) without PerFrameFunctionalGroupsSequence "
            "(5200,9230): the position of each frame is unknown",
        )
    multi = lookup.functional_groups
    sop_uid = first_string(ds, "SOPInstanceUID")
    instance_number = integer(strings(ds, "InstanceNumber"))
    rows, columns = int(ds.Rows), int(ds.Columns)
    frames = []
    for i in range(n_frames):
        position = _floats(lookup.value(i, "PlanePositionSequence", "ImagePositionPatient"), 3)
        orientation = _floats(
            lookup.value(i, "PlaneOrientationSequence", "ImageOrientationPatient"), 6
        )
        spacing = _floats(lookup.value(i, "PixelMeasuresSequence", "PixelSpacing"), 2)
        missing = [
            f"{name} {tag}"
            for name, tag, value in (
                ("ImagePositionPatient", "(0020,0032)", position),
                ("ImageOrientationPatient", "(0020,0037)", orientation),
                ("PixelSpacing", "(0028,0030)", spacing),
            )
            if value is None
        ]
        if missing:
            where = f" of frame {i + 1}" if multi else ""
            return FrameProblem(path, f"{' and '.join(missing)} missing or invalid{where}")
        assert position is not None and orientation is not None and spacing is not None
        if min(spacing) <= 0:
            return FrameProblem(path, f"PixelSpacing (0028,0030) {list(spacing)} is not positive")
        row, col = orientation[:3], orientation[3:]
        if (
            abs(math.hypot(*row) - 1) > 1e-2
            or abs(math.hypot(*col) - 1) > 1e-2
            or abs(sum(r * c for r, c in zip(row, col, strict=True))) > 1e-2
        ):
            return FrameProblem(
                path,
                f"ImageOrientationPatient (0020,0037) {list(orientation)} is not two "
                "orthogonal unit vectors",
            )
        thickness = number(lookup.value(i, "PixelMeasuresSequence", "SliceThickness"))
        echo = number(lookup.value(i, "MREchoSequence", "EffectiveEchoTime"))
        if echo is None:
            echo = number(lookup.value(i, None, "EchoTime"))
        inversion = _inversion_time(lookup, i)
        slope = number(lookup.value(i, "PixelValueTransformationSequence", "RescaleSlope"))
        intercept = number(lookup.value(i, "PixelValueTransformationSequence", "RescaleIntercept"))
        frames.append(
            Frame(
                path=path,
                frame_index=i if multi else None,
                sop_instance_uid=sop_uid,
                instance_number=instance_number,
                position=(position[0], position[1], position[2]),
                orientation=(
                    orientation[0],
                    orientation[1],
                    orientation[2],
                    orientation[3],
                    orientation[4],
                    orientation[5],
                ),
                pixel_spacing=(spacing[0], spacing[1]),
                rows=rows,
                columns=columns,
                slice_thickness=thickness,
                echo_time=echo,
                inversion_time=inversion,
                rescale_slope=1.0 if slope is None or slope == 0 else slope,
                rescale_intercept=0.0 if intercept is None else intercept,
                image_type=_image_type(lookup, i),
            )
        )
    return frames


def _image_type(lookup: _Lookup, i: int) -> tuple[str, ...]:
    """FrameType of frame ``i`` (Enhanced MR), else the instance's ImageType."""
    values = lookup.value(i, "MRImageFrameTypeSequence", "FrameType") if lookup.functional_groups else None
    if values is None:
        values = strings(lookup.ds, "ImageType")
    return tuple(v.strip().upper() for v in values or ())


def _inversion_time(lookup: _Lookup, i: int) -> float | None:
    modifier = lookup.item(i, "MRModifierSequence")
    if modifier is not None:
        if (strings(modifier, "InversionRecovery") or [""])[0].upper() == "NO":
            return None
        value = number(strings(modifier, "InversionTimes"))
        if value is not None:
            return value
    return number(lookup.value(i, None, "InversionTime"))

"""Write real DICOM series from a numpy volume (test fixtures, the bundled sample study).

A :class:`StudySpec` holds what is shared by the series of one study (patient, study
UIDs, frame of reference); a :class:`SeriesSpec` holds one series: its voxels, its LPS
geometry in SimpleITK conventions, and the header values that matter downstream.
:func:`write_series` writes it either as classic MR Image Storage (one file per slice) or as
Enhanced MR Image Storage (one multi-frame file with functional groups), uncompressed or
compressed.

Geometry follows SimpleITK: ``origin`` is the LPS position (mm) of the centre of the first
pixel of slice 0; ``spacing`` is (column spacing, row spacing, slice spacing); ``direction``
is a row-major 3x3 matrix whose *columns* are the row direction (along a row, increasing
column index), the column direction (down a column, increasing row index) and the slice
direction. Slice ``k`` is written at ``origin + offset_k * slice_direction`` where
``offset_k = k * slice_spacing`` unless ``slice_offsets`` says otherwise, so
``sitk.GetArrayFromImage(image)`` of the rebuilt volume equals ``array``.

Pixel encoders (all real, none faked):

==========================  =========================================================
Transfer syntax             Encoder
==========================  =========================================================
Explicit / Implicit VR LE   none (native)
RLE Lossless                pydicom ``Dataset.compress`` (pydicom or pylibjpeg-rle)
JPEG-LS Lossless            pydicom ``Dataset.compress`` (pyjpegls)
JPEG 2000 Lossless          pydicom ``Dataset.compress`` (pylibjpeg-openjpeg)
JPEG Baseline (8-bit)       Pillow (libjpeg), quality 95; lossy, 8-bit unsigned only.
                            pydicom 3 has no JPEG baseline encoder.
JPEG Lossless SV1           GDCM through SimpleITK (``ImageFileWriter`` compressor
                            ``"JPEG"``). pydicom 3 has no JPEG lossless encoder.
==========================  =========================================================

Everything is deterministic: UIDs come from :func:`make_uid`, i.e.
``pydicom.uid.generate_uid`` with entropy sources derived from the study/series identity.
"""

from __future__ import annotations

import copy
import io
import logging
import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, cast

import numpy as np
import pydicom
from pydicom.datadict import dictionary_VR, keyword_dict
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    UID,
    CTImageStorage,
    EnhancedMRImageStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    MRImageStorage,
    RLELossless,
    generate_uid,
)
from pydicom.valuerep import DSfloat

from acuity.errors import InputError

logger = logging.getLogger(__name__)

Vec3 = tuple[float, float, float]
Direction = tuple[float, float, float, float, float, float, float, float, float]

#: First entropy source of every UID made here, so simulated UIDs never collide with
#: UIDs made for another purpose from the same parts.
UID_ENTROPY_ROOT = "acuity.sim.dicom_writer"

#: Axial: rows go right->left (+x), columns anterior->posterior (+y), slices feet->head (+z).
AXIAL_DIRECTION: Direction = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
#: Sagittal as in the shared real data: along a row anterior->posterior (+y), down a
#: column head->feet (-z), slices left->right (-x, the cross product of the two).
SAGITTAL_DIRECTION: Direction = (0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0)
#: Coronal: along a row right->left (+x), down a column head->feet (-z), slices
#: anterior->posterior (+y).
CORONAL_DIRECTION: Direction = (1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, -1.0, 0.0)

#: Transfer syntaxes :func:`write_series` can encode.
SUPPORTED_TRANSFER_SYNTAXES: tuple[UID, ...] = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    RLELossless,
    JPEGLSLossless,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLosslessSV1,
)

_SOP_CLASS = {"MR": MRImageStorage, "CT": CTImageStorage}
_ANATOMY_SPINE = ("421060004", "SCT", "Spine")


class FileNaming(str, Enum):
    """How :func:`write_series` names the files it writes."""

    #: ``IM00001.dcm`` from the InstanceNumber.
    INSTANCE = "instance"
    #: ``<SOPInstanceUID>.dcm``: names that say nothing about the order.
    UID = "uid"
    #: ``IM00001``: no extension.
    NOEXT = "noext"


def make_uid(*parts: object) -> UID:
    """A deterministic UID from ``parts`` (``pydicom.uid.generate_uid`` entropy sources)."""
    return generate_uid(entropy_srcs=[UID_ENTROPY_ROOT, *(str(p) for p in parts)])


@dataclass(frozen=True)
class PrivateTag:
    """One element written in a private block: ``(group, creator)`` reserves the block and
    ``offset`` (0x00-0xFF) is the element inside it, e.g. ``PrivateTag(0x2001, "Philips
    Imaging DD 001", 0x20, "CS", "TSE")`` writes (2001,xx20)."""

    group: int
    creator: str
    offset: int
    vr: str
    value: Any

    def __post_init__(self) -> None:
        if not (0x0009 <= self.group <= 0xFFFF and self.group % 2 == 1):
            raise InputError(
                f"PrivateTag.group 0x{self.group:04X} is not a private group: use an odd "
                "group number from 0x0009 to 0xFFFF"
            )
        if not 0 <= self.offset <= 0xFF:
            raise InputError(f"PrivateTag.offset {self.offset} must be within 0x00..0xFF")
        if not self.creator or len(self.creator) > 64:
            raise InputError(f"PrivateTag.creator {self.creator!r} must be 1 to 64 characters")


def _check_date(name: str, value: str) -> None:
    if value and not (len(value) == 8 and value.isdigit()):
        raise InputError(f"StudySpec.{name} {value!r} must be YYYYMMDD (8 digits) or empty")


def _check_uid(owner: str, value: str) -> None:
    if value and not UID(value).is_valid:
        raise InputError(f"{owner} {value!r} is not a valid UID (digits and dots, <= 64 chars)")


@dataclass(frozen=True)
class StudySpec:
    """What the series of one study share. Empty UIDs are derived deterministically from
    the patient ID, accession number, study date and time."""

    patient_id: str = "ACUITY-SIM-0001"
    patient_name: str = "Sim^Patient"
    study_date: str = "20240101"
    study_time: str = "120000"
    accession_number: str = "SIM0001"
    study_description: str = "MR SPINE"
    study_instance_uid: str = ""
    frame_of_reference_uid: str = ""
    patient_birth_date: str = ""
    #: "M", "F", "O" or "" (unknown).
    patient_sex: str = ""

    def __post_init__(self) -> None:
        _check_date("study_date", self.study_date)
        _check_date("patient_birth_date", self.patient_birth_date)
        if self.study_time and not self.study_time.replace(".", "").isdigit():
            raise InputError(f"StudySpec.study_time {self.study_time!r} must be HHMMSS[.ffffff]")
        if self.patient_sex not in ("", "M", "F", "O"):
            raise InputError(f"StudySpec.patient_sex {self.patient_sex!r}: use 'M', 'F', 'O' or ''")
        _check_uid("StudySpec.study_instance_uid", self.study_instance_uid)
        _check_uid("StudySpec.frame_of_reference_uid", self.frame_of_reference_uid)
        if not self.study_instance_uid:
            uid = make_uid(
                "study", self.patient_id, self.accession_number, self.study_date, self.study_time
            )
            object.__setattr__(self, "study_instance_uid", str(uid))
        if not self.frame_of_reference_uid:
            uid = make_uid("frame-of-reference", self.study_instance_uid)
            object.__setattr__(self, "frame_of_reference_uid", str(uid))


def _vec(name: str, value: Sequence[float], n: int) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"SeriesSpec.{name} {value!r} must be {n} numbers") from exc
    if len(out) != n or not all(math.isfinite(v) for v in out):
        raise InputError(f"SeriesSpec.{name} {value!r} must be {n} finite numbers")
    return out


def _check_keyword(owner: str, keyword: str) -> None:
    if keyword not in keyword_dict:
        raise InputError(
            f"{owner} key {keyword!r} is not a DICOM keyword (pydicom.datadict); "
            "spell it as pydicom does, e.g. 'InversionTime'"
        )


@dataclass(frozen=True, eq=False)
class SeriesSpec:
    """One series to write. The constructor validates every field.

    ``array`` is (slices, rows, columns). Integer arrays are written as they are (uint8 as
    8-bit, other integers as 16-bit unsigned or signed, whichever holds the values);
    ``rescale`` then gives Rescale Slope/Intercept, one ``(slope, intercept)`` pair or one per
    slice, so real value = stored * slope + intercept. Float arrays are quantised to 16 bits
    (8 for JPEG baseline) with a computed slope/intercept (``rescale`` must be None).

    ``header`` adds or overrides top-level attributes (pydicom keyword -> value), e.g.
    ``{"ScanningSequence": "IR", "ProtocolName": "t2_stir_sag"}``. ``private`` writes private
    elements. ``omit`` deletes attributes after everything else (e.g.
    ``("ImagePositionPatient",)`` for a broken series); for Enhanced files it also deletes them
    inside the shared and per-frame functional group items.

    Enhanced only: ``functional_groups`` merges attributes into the shared functional
    groups: keyword of a functional group sequence -> Mapping of attributes (merged into
    its single item, created when absent) or a list of Mappings/Datasets (replaces the
    sequence). ``per_frame_functional_groups`` does the same per frame (one Mapping per
    slice); a sequence given per frame is removed from the shared groups.

    ``echo_time``, ``repetition_time``, ``inversion_time`` and ``flip_angle`` go to
    EchoTime/RepetitionTime/InversionTime/FlipAngle (classic) or to MREchoSequence,
    MRTimingAndRelatedParametersSequence and MRModifierSequence (Enhanced).
    """

    array: np.ndarray
    #: LPS position (mm) of the centre of the first pixel of slice 0.
    origin: Vec3
    #: (column spacing, row spacing, slice spacing), mm.
    spacing: Vec3
    #: 9 numbers, row-major; columns are row direction, column direction, slice direction.
    direction: Direction
    series_instance_uid: str | None = None
    series_number: int = 1
    series_description: str = ""
    modality: str = "MR"
    echo_time: float | None = 10.0
    repetition_time: float | None = 500.0
    inversion_time: float | None = None
    flip_angle: float | None = 90.0
    rescale: tuple[float, float] | Sequence[tuple[float, float]] | None = None
    #: Position of each slice along the slice direction, mm (default ``k * spacing[2]``).
    slice_offsets: Sequence[float] | None = None
    #: InstanceNumber of slice 0 (classic); use distinct ranges when several specs share a
    #: SeriesInstanceUID (a dual-echo or 3-plane localizer series).
    first_instance_number: int = 1
    header: Mapping[str, Any] = field(default_factory=dict)
    private: Sequence[PrivateTag] = ()
    omit: Sequence[str] = ()
    enhanced: bool = False
    functional_groups: Mapping[str, Any] = field(default_factory=dict)
    per_frame_functional_groups: Sequence[Mapping[str, Any]] = ()
    transfer_syntax: str = ExplicitVRLittleEndian

    def __post_init__(self) -> None:
        arr = np.array(self.array, copy=True)
        if arr.ndim != 3 or min(arr.shape) < 1:
            raise InputError(
                f"SeriesSpec.array has shape {arr.shape}: it must be 3-D (slices, rows, columns) "
                "with at least one voxel along each axis"
            )
        if arr.dtype.kind not in "uif":
            raise InputError(
                f"SeriesSpec.array has dtype {arr.dtype}: use an integer or float array"
            )
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise InputError("SeriesSpec.array holds NaN or infinite values; replace them first")
        arr.setflags(write=False)
        object.__setattr__(self, "array", arr)
        object.__setattr__(self, "origin", _vec("origin", self.origin, 3))
        spacing = _vec("spacing", self.spacing, 3)
        if min(spacing) <= 0:
            raise InputError(f"SeriesSpec.spacing {spacing} must be positive (mm)")
        object.__setattr__(self, "spacing", spacing)
        d = np.array(_vec("direction", self.direction, 9)).reshape(3, 3)
        if not np.allclose(d.T @ d, np.eye(3), atol=1e-4):
            raise InputError(
                f"SeriesSpec.direction {tuple(d.ravel())} is not orthonormal: its columns (row, "
                "column and slice directions) must be unit vectors at right angles"
            )
        object.__setattr__(self, "direction", tuple(float(v) for v in d.ravel()))
        if self.series_instance_uid is not None:
            _check_uid("SeriesSpec.series_instance_uid", self.series_instance_uid)
        if self.modality not in _SOP_CLASS:
            raise InputError(
                f"SeriesSpec.modality {self.modality!r} is not supported: use one of "
                f"{sorted(_SOP_CLASS)}"
            )
        if self.enhanced and self.modality != "MR":
            raise InputError("SeriesSpec.enhanced=True writes Enhanced MR: modality must be 'MR'")
        ts = UID(self.transfer_syntax)
        if ts not in SUPPORTED_TRANSFER_SYNTAXES:
            names = ", ".join(f"{u.name} ({u})" for u in SUPPORTED_TRANSFER_SYNTAXES)
            raise InputError(
                f"SeriesSpec.transfer_syntax {self.transfer_syntax!r} is not supported; use one of "
                f"{names}"
            )
        object.__setattr__(self, "transfer_syntax", ts)
        n = arr.shape[0]
        object.__setattr__(self, "rescale", self._check_rescale(n))
        if self.slice_offsets is not None:
            offsets = _vec("slice_offsets", self.slice_offsets, n)
            object.__setattr__(self, "slice_offsets", offsets)
        for key in self.header:
            _check_keyword("SeriesSpec.header", key)
        for key in self.omit:
            _check_keyword("SeriesSpec.omit", key)
        for key in self.functional_groups:
            _check_keyword("SeriesSpec.functional_groups", key)
        for item in self.per_frame_functional_groups:
            for key in item:
                _check_keyword("SeriesSpec.per_frame_functional_groups", key)
        if not self.enhanced and (self.functional_groups or self.per_frame_functional_groups):
            raise InputError(
                "SeriesSpec.functional_groups / per_frame_functional_groups need enhanced=True"
            )
        if self.per_frame_functional_groups and len(self.per_frame_functional_groups) != n:
            raise InputError(
                f"SeriesSpec.per_frame_functional_groups has {len(self.per_frame_functional_groups)}"
                f" items for {n} slices: give one Mapping per slice"
            )
        for p in self.private:
            if not isinstance(p, PrivateTag):
                raise InputError(f"SeriesSpec.private items must be PrivateTag, got {p!r}")
        if self.first_instance_number < 0:
            raise InputError(
                f"SeriesSpec.first_instance_number {self.first_instance_number} must be >= 0"
            )
        if ts == JPEG2000Lossless and min(arr.shape[1:]) < 32:
            raise InputError(
                f"JPEG 2000 Lossless needs rows and columns >= 32 (openjpeg encodes 6 wavelet "
                f"resolutions); SeriesSpec.array has {arr.shape[1]} x {arr.shape[2]}: pad it or "
                "pick another transfer syntax"
            )
        _stored_values(self)  # validates the value range against the syntax

    def _check_rescale(self, n: int) -> tuple[tuple[float, float], ...] | None:
        if self.rescale is None:
            return None
        if self.array.dtype.kind == "f":
            raise InputError(
                "SeriesSpec.rescale is for integer arrays; a float array gets its Rescale "
                "Slope/Intercept computed: pass rescale=None"
            )
        raw: Any = self.rescale
        pairs: list[Any] = (
            [raw] if len(raw) == 2 and not isinstance(raw[0], Sequence) else list(raw)
        )
        if len(pairs) == 1:
            pairs = pairs * n
        if len(pairs) != n:
            raise InputError(
                f"SeriesSpec.rescale has {len(pairs)} (slope, intercept) pairs for {n} slices: "
                "give one pair, or one per slice"
            )
        out = []
        for pair in pairs:
            slope, intercept = _vec("rescale", pair, 2)
            if slope == 0:
                raise InputError("SeriesSpec.rescale slope must not be 0")
            out.append((slope, intercept))
        return tuple(out)

    @property
    def row_direction(self) -> Vec3:
        d = self.direction
        return (d[0], d[3], d[6])

    @property
    def column_direction(self) -> Vec3:
        d = self.direction
        return (d[1], d[4], d[7])

    @property
    def slice_direction(self) -> Vec3:
        d = self.direction
        return (d[2], d[5], d[8])

    def positions(self) -> list[Vec3]:
        """ImagePositionPatient of each slice, in array order."""
        n = self.array.shape[0]
        offsets = self.slice_offsets or [k * self.spacing[2] for k in range(n)]
        o = np.array(self.origin)
        s = np.array(self.slice_direction)
        return [_as_vec3(o + float(off) * s) for off in offsets]


def _as_vec3(v: np.ndarray) -> Vec3:
    return (float(v[0]), float(v[1]), float(v[2]))


def _stored_values(spec: SeriesSpec) -> tuple[np.ndarray, list[tuple[float, float]] | None]:
    """Stored pixel values and the per-slice (slope, intercept), or None for identity."""
    arr = spec.array
    eight_bit = spec.transfer_syntax == JPEGBaseline8Bit
    if arr.dtype.kind == "f":
        lo, hi = float(arr.min()), float(arr.max())
        levels = 255 if eight_bit else 65535
        slope = (hi - lo) / levels if hi > lo else 1.0
        # Quantise with the slope as it will be written (DS, 16 characters).
        slope = float(DSfloat(slope, auto_format=True))
        intercept = float(DSfloat(lo, auto_format=True))
        stored = np.clip(np.rint((arr - intercept) / slope), 0, levels)
        out = stored.astype(np.uint8 if eight_bit else np.uint16)
        return out, [(slope, intercept)] * arr.shape[0]
    lo_i, hi_i = int(arr.min()), int(arr.max())
    if arr.dtype == np.uint8:
        out = arr
    elif eight_bit and 0 <= lo_i and hi_i <= 255:
        out = arr.astype(np.uint8)
    elif 0 <= lo_i and hi_i <= 65535:
        out = arr.astype(np.uint16)
    elif -32768 <= lo_i and hi_i <= 32767:
        out = arr.astype(np.int16)
    else:
        raise InputError(
            f"SeriesSpec.array values {lo_i}..{hi_i} do not fit 16 bits: scale them, or pass a "
            "float array (a Rescale Slope/Intercept is then computed)"
        )
    if eight_bit and out.dtype != np.uint8:
        raise InputError(
            f"JPEG Baseline (Process 1) is 8-bit unsigned: SeriesSpec.array values {lo_i}..{hi_i} "
            "do not fit 0..255; use a lossless syntax or a float array"
        )
    rescale = spec.rescale
    if rescale is None:
        return out, None
    # SeriesSpec.__post_init__ normalised rescale to one (slope, intercept) pair per slice.
    return out, list(cast("tuple[tuple[float, float], ...]", rescale))


def _ds(value: float) -> DSfloat:
    return DSfloat(value, auto_format=True)


def _fmt(values: Sequence[float]) -> list[DSfloat]:
    # Avoid "-0" in the text of DS values.
    return [_ds(v + 0.0 if abs(v) > 1e-12 else 0.0) for v in values]


def _item(values: Mapping[str, Any] | Dataset) -> Dataset:
    if isinstance(values, Dataset):
        return values
    ds = Dataset()
    for key, value in values.items():
        _set(ds, key, value)
    return ds


def _set(ds: Dataset, keyword: str, value: Any) -> None:
    """Set ``keyword``; Mappings and lists of Mappings become sequences of items."""
    if dictionary_VR(keyword) == "SQ":
        if isinstance(value, (Mapping, Dataset)):
            value = [value]
        setattr(ds, keyword, DicomSequence([_item(v) for v in value]))
    else:
        setattr(ds, keyword, value)


def _merge(fg: Dataset, keyword: str, value: Any) -> None:
    """Merge ``value`` into the functional group sequence ``keyword`` of ``fg``."""
    if isinstance(value, Mapping) and keyword in fg and len(fg[keyword].value) == 1:
        item = fg[keyword].value[0]
        for key, v in value.items():
            _set(item, key, v)
    else:
        _set(fg, keyword, value)


def _base_dataset(
    study: StudySpec, spec: SeriesSpec, series_uid: str, stored: np.ndarray
) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = study.patient_name
    ds.PatientID = study.patient_id
    ds.PatientBirthDate = study.patient_birth_date
    ds.PatientSex = study.patient_sex
    ds.StudyInstanceUID = study.study_instance_uid
    ds.StudyDate = study.study_date
    ds.StudyTime = study.study_time
    ds.ReferringPhysicianName = ""
    ds.StudyID = "1"
    ds.AccessionNumber = study.accession_number
    ds.StudyDescription = study.study_description
    ds.Modality = spec.modality
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = spec.series_number
    ds.SeriesDescription = spec.series_description
    ds.SeriesDate = study.study_date
    ds.SeriesTime = study.study_time
    ds.FrameOfReferenceUID = study.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    ds.Manufacturer = "acuity-sim"
    ds.ManufacturerModelName = "dicom_writer"
    ds.DeviceSerialNumber = "0"
    ds.SoftwareVersions = "1"
    ds.ContentDate = study.study_date
    ds.ContentTime = study.study_time
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = int(stored.shape[1])
    ds.Columns = int(stored.shape[2])
    bits = stored.dtype.itemsize * 8
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 1 if stored.dtype.kind == "i" else 0
    ds.BurnedInAnnotation = "NO"
    return ds


def _classic_dataset(
    base: Dataset,
    spec: SeriesSpec,
    instance_number: int,
    position: Vec3,
    rescale: tuple[float, float] | None,
    series_uid: str,
) -> Dataset:
    ds = copy.deepcopy(base)
    ds.SOPClassUID = _SOP_CLASS[spec.modality]
    ds.SOPInstanceUID = make_uid(
        "sop",
        series_uid,
        instance_number,
        position,
        spec.echo_time,
        spec.inversion_time,
        spec.direction,
    )
    ds.InstanceNumber = instance_number
    ds.AcquisitionNumber = 1
    ds.AcquisitionDate = base.StudyDate
    ds.AcquisitionTime = base.StudyTime
    ds.ImageType = (
        ["ORIGINAL", "PRIMARY", "M", "ND"]
        if spec.modality == "MR"
        else ["ORIGINAL", "PRIMARY", "AXIAL"]
    )
    ds.ImagePositionPatient = _fmt(position)
    ds.ImageOrientationPatient = _fmt(spec.row_direction + spec.column_direction)
    ds.PixelSpacing = _fmt((spec.spacing[1], spec.spacing[0]))
    ds.SliceThickness = _ds(spec.spacing[2])
    ds.SliceLocation = _ds(float(np.dot(position, spec.slice_direction)))
    if spec.modality == "MR":
        ds.SpacingBetweenSlices = _ds(spec.spacing[2])
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = "NONE"
        ds.ScanOptions = ""
        ds.MRAcquisitionType = "2D"
        ds.EchoTrainLength = 1
        ds.MagneticFieldStrength = _ds(1.5)
        ds.ImagingFrequency = _ds(63.87)
        ds.ImagedNucleus = "1H"
        ds.EchoTime = _ds(spec.echo_time) if spec.echo_time is not None else None
        ds.RepetitionTime = _ds(spec.repetition_time) if spec.repetition_time is not None else None
        if spec.inversion_time is not None:
            ds.InversionTime = _ds(spec.inversion_time)
        if spec.flip_angle is not None:
            ds.FlipAngle = _ds(spec.flip_angle)
    else:
        ds.KVP = _ds(120.0)
    if rescale is not None or spec.modality == "CT":
        slope, intercept = rescale if rescale is not None else (1.0, 0.0)
        ds.RescaleSlope = _ds(slope)
        ds.RescaleIntercept = _ds(intercept)
        ds.RescaleType = "US" if spec.modality == "MR" else "HU"
    for key, value in spec.header.items():
        _set(ds, key, value)
    _add_private(ds, spec)
    return ds


def _add_private(ds: Dataset, spec: SeriesSpec) -> None:
    for p in spec.private:
        ds.private_block(p.group, p.creator, create=True).add_new(p.offset, p.vr, p.value)


def _enhanced_dataset(
    base: Dataset,
    spec: SeriesSpec,
    series_uid: str,
    order: list[int],
    positions: list[Vec3],
    rescale: list[tuple[float, float]] | None,
) -> Dataset:
    ds = copy.deepcopy(base)
    ds.SOPClassUID = EnhancedMRImageStorage
    ds.SOPInstanceUID = make_uid("sop", series_uid, "enhanced", spec.first_instance_number)
    ds.InstanceNumber = spec.first_instance_number
    n = len(order)
    ds.NumberOfFrames = n
    image_type = list(spec.header.get("ImageType", ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]))
    ds.ImageType = image_type
    ds.PixelPresentation = "MONOCHROME"
    ds.VolumetricProperties = "VOLUME"
    ds.VolumeBasedCalculationTechnique = "NONE"
    ds.ComplexImageComponent = "MAGNITUDE"
    ds.AcquisitionContrast = "UNKNOWN"
    ds.AcquisitionNumber = 1
    acq_dt = f"{base.StudyDate}{base.StudyTime}"
    ds.AcquisitionDateTime = acq_dt
    ds.AcquisitionDuration = _ds(60.0)
    ds.ContentQualification = "PRODUCT"
    ds.ResonantNucleus = "1H"
    ds.KSpaceFiltering = "NONE"
    ds.MagneticFieldStrength = _ds(1.5)
    ds.ApplicableSafetyStandardAgency = "IEC"
    ds.ImageComments = ""
    ds.LossyImageCompression = "00"
    ds.PresentationLUTShape = "IDENTITY"
    ds.AcquisitionContextSequence = DicomSequence([])
    ds.PulseSequenceName = "SE"
    ds.MRAcquisitionType = "2D"
    ds.EchoPulseSequence = "SPIN"
    ds.MultipleSpinEcho = "NO"
    ds.MultiPlanarExcitation = "NO"
    ds.PhaseContrast = "NO"
    ds.TimeOfFlightContrast = "NO"
    ds.SteadyStatePulseSequence = "NONE"
    ds.EchoPlanarPulseSequence = "NO"
    ds.SaturationRecovery = "NO"
    ds.SpectrallySelectedSuppression = "NONE"
    ds.OversamplingPhase = "NONE"
    ds.GeometryOfKSpaceTraversal = "RECTILINEAR"
    ds.RectilinearPhaseEncodeReordering = "LINEAR"
    ds.SegmentedKSpaceTraversal = "SINGLE"
    ds.CoverageOfKSpace = "FULL"
    ds.NumberOfKSpaceTrajectories = 1

    dim_uid = make_uid("dimension-organization", series_uid)
    ds.DimensionOrganizationSequence = DicomSequence([_item({"DimensionOrganizationUID": dim_uid})])
    ds.DimensionOrganizationType = "3D"
    frame_content_tag = pydicom.datadict.tag_for_keyword("FrameContentSequence")
    ds.DimensionIndexSequence = DicomSequence(
        [
            _item(
                {
                    "DimensionOrganizationUID": dim_uid,
                    "DimensionIndexPointer": pydicom.datadict.tag_for_keyword(kw),
                    "FunctionalGroupPointer": frame_content_tag,
                    "DimensionDescriptionLabel": label,
                }
            )
            for kw, label in (
                ("StackID", "Stack ID"),
                ("InStackPositionNumber", "In-Stack Position"),
            )
        ]
    )

    shared = Dataset()
    _set(
        shared,
        "PixelMeasuresSequence",
        {
            "PixelSpacing": _fmt((spec.spacing[1], spec.spacing[0])),
            "SliceThickness": _ds(spec.spacing[2]),
            "SpacingBetweenSlices": _ds(spec.spacing[2]),
        },
    )
    _set(
        shared,
        "PlaneOrientationSequence",
        {
            "ImageOrientationPatient": _fmt(spec.row_direction + spec.column_direction),
        },
    )
    code, scheme, meaning = _ANATOMY_SPINE
    _set(
        shared,
        "FrameAnatomySequence",
        {
            "AnatomicRegionSequence": {
                "CodeValue": code,
                "CodingSchemeDesignator": scheme,
                "CodeMeaning": meaning,
            },
            "FrameLaterality": "U",
        },
    )
    _set(
        shared,
        "MRImageFrameTypeSequence",
        {
            "FrameType": image_type,
            "PixelPresentation": "MONOCHROME",
            "VolumetricProperties": "VOLUME",
            "VolumeBasedCalculationTechnique": "NONE",
            "ComplexImageComponent": "MAGNITUDE",
            "AcquisitionContrast": "UNKNOWN",
        },
    )
    timing: dict[str, Any] = {
        "EchoTrainLength": 1,
        "RFEchoTrainLength": 1,
        "GradientEchoTrainLength": 0,
        "SpecificAbsorptionRateSequence": [],
        "GradientOutputType": "DB_DT",
        "OperatingModeSequence": [],
    }
    if spec.repetition_time is not None:
        timing["RepetitionTime"] = _ds(spec.repetition_time)
    if spec.flip_angle is not None:
        timing["FlipAngle"] = _ds(spec.flip_angle)
    _set(shared, "MRTimingAndRelatedParametersSequence", timing)
    if spec.echo_time is not None:
        _set(shared, "MREchoSequence", {"EffectiveEchoTime": _ds(spec.echo_time)})
    modifier: dict[str, Any] = {
        "InversionRecovery": "NO" if spec.inversion_time is None else "YES",
        "FlowCompensation": "NONE",
        "T2Preparation": "NO",
        "SpectrallySelectedExcitation": "NONE",
        "SpatialPresaturation": "NONE",
        "PartialFourier": "NO",
        "ParallelAcquisition": "NO",
    }
    if spec.inversion_time is not None:
        modifier["InversionTimes"] = [_ds(spec.inversion_time)]
    _set(shared, "MRModifierSequence", modifier)
    uniform = rescale is None or len(set(rescale)) == 1
    if uniform:
        slope, intercept = rescale[0] if rescale else (1.0, 0.0)
        _set(
            shared,
            "PixelValueTransformationSequence",
            {
                "RescaleIntercept": _ds(intercept),
                "RescaleSlope": _ds(slope),
                "RescaleType": "US",
            },
        )
    for key, value in spec.functional_groups.items():
        _merge(shared, key, value)

    per_frame = []
    per_frame_keys = {k for item in spec.per_frame_functional_groups for k in item}
    for k in order:
        fg = Dataset()
        _set(
            fg,
            "FrameContentSequence",
            {
                "FrameAcquisitionNumber": 1,
                "FrameReferenceDateTime": acq_dt,
                "FrameAcquisitionDateTime": acq_dt,
                "FrameAcquisitionDuration": 1000.0,
                "StackID": "1",
                "InStackPositionNumber": k + 1,
                "DimensionIndexValues": [1, k + 1],
            },
        )
        _set(fg, "PlanePositionSequence", {"ImagePositionPatient": _fmt(positions[k])})
        if not uniform and rescale is not None:
            slope, intercept = rescale[k]
            _set(
                fg,
                "PixelValueTransformationSequence",
                {
                    "RescaleIntercept": _ds(intercept),
                    "RescaleSlope": _ds(slope),
                    "RescaleType": "US",
                },
            )
        if spec.per_frame_functional_groups:
            for key, value in spec.per_frame_functional_groups[k].items():
                _merge(fg, key, value)
        per_frame.append(fg)
    for key in per_frame_keys:
        if key in shared:
            del shared[key]
    ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(per_frame)
    for key, value in spec.header.items():
        if key != "ImageType":
            _set(ds, key, value)
    _add_private(ds, spec)
    return ds


def _omit(ds: Dataset, keywords: Sequence[str]) -> None:
    for key in keywords:
        if key in ds:
            del ds[key]
    for fg_key in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        for fg in ds.get(fg_key, []):
            for seq in list(fg):
                if seq.VR != "SQ":
                    continue
                for item in seq.value:
                    for key in keywords:
                        if key in item:
                            del item[key]


def _pillow_jpeg_baseline(frame: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(frame, dtype=np.uint8)).save(
        buf, format="JPEG", quality=95, optimize=False, progressive=False
    )
    return buf.getvalue()


def _gdcm_jpeg_lossless(frame: np.ndarray) -> bytes:
    import SimpleITK

    sitk: Any = SimpleITK  # SimpleITK has no type annotations
    with tempfile.TemporaryDirectory(prefix="acuity-jpegll-") as tmp:
        path = Path(tmp) / "frame.dcm"
        image = sitk.GetImageFromArray(np.ascontiguousarray(frame))
        # GDCM's "JPEG" compressor is JPEG Lossless, Non-Hierarchical, First-Order Prediction.
        sitk.WriteImage(image, str(path), useCompression=True, compressor="JPEG")
        ds = pydicom.dcmread(path)
    if ds.file_meta.TransferSyntaxUID != JPEGLosslessSV1:
        raise RuntimeError(
            "SimpleITK/GDCM wrote transfer syntax "
            f"{ds.file_meta.TransferSyntaxUID} instead of JPEG Lossless SV1"
        )
    return next(generate_frames(ds.PixelData, number_of_frames=1))


def _encode_pixels(ds: Dataset, stored: np.ndarray, ts: UID) -> None:
    """Set PixelData of ``ds`` (2-D frame or (frames, rows, columns)) in syntax ``ts``."""
    if ts in (ExplicitVRLittleEndian, ImplicitVRLittleEndian):
        ds.PixelData = np.ascontiguousarray(stored.astype(stored.dtype.newbyteorder("<"))).tobytes()
        ds["PixelData"].VR = "OB" if stored.dtype.itemsize == 1 else "OW"
        return
    if ts in (RLELossless, JPEGLSLossless, JPEG2000Lossless):
        ds.compress(ts, np.ascontiguousarray(stored), generate_instance_uid=False)
        return
    frames = stored if stored.ndim == 3 else stored[np.newaxis]
    if ts == JPEGBaseline8Bit:
        encoded = [_pillow_jpeg_baseline(f) for f in frames]
        ds.LossyImageCompression = "01"
        ds.LossyImageCompressionMethod = "ISO_10918_1"
        ratio = stored.nbytes / max(1, sum(len(e) for e in encoded))
        ds.LossyImageCompressionRatio = _ds(round(ratio, 2))
    elif ts == JPEGLosslessSV1:
        encoded = [_gdcm_jpeg_lossless(f) for f in frames]
    else:  # pragma: no cover - SeriesSpec validates the syntax
        raise InputError(f"transfer syntax {ts} cannot be encoded")
    ds.PixelData = encapsulate(encoded)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True


def _save(ds: Dataset, ts: UID, path: Path) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ts
    ds.file_meta = meta
    if path.exists():
        raise InputError(
            f"{path} already exists: write_series never overwrites; give the specs sharing a "
            "folder distinct first_instance_number values or file_names='uid'"
        )
    ds.save_as(path, enforce_file_format=True)


def _file_name(naming: FileNaming, instance_number: int, sop_uid: str) -> str:
    if naming is FileNaming.UID:
        return f"{sop_uid}.dcm"
    stem = f"IM{instance_number:05d}"
    return stem if naming is FileNaming.NOEXT else f"{stem}.dcm"


def write_series(
    study: StudySpec,
    series: SeriesSpec,
    out_dir: str | Path,
    *,
    file_names: FileNaming | str = FileNaming.INSTANCE,
    shuffle_seed: int | None = None,
) -> list[Path]:
    """Write ``series`` of ``study`` as real DICOM files under ``out_dir`` (created).

    Classic (``series.enhanced`` False): one MR (or CT) Image Storage file per slice with
    ImagePositionPatient, ImageOrientationPatient, PixelSpacing (row spacing, column
    spacing), SliceThickness, SpacingBetweenSlices, SliceLocation and InstanceNumber
    (``first_instance_number + k``). Enhanced: one Enhanced MR Image Storage file, shared
    functional groups (pixel measures, plane orientation, pixel value transformation, MR
    frame type, timing, echo, modifier) and per-frame ones (frame content, plane position).

    ``file_names``: see :class:`FileNaming`. ``shuffle_seed``: when set, slices are given
    InstanceNumbers (and so file names) in a random order, and Enhanced frames are stored in a
    random order; positions still say where each slice is, so a reader must order by position.

    Returns the written paths in slice order (one path for Enhanced). Never overwrites a file.
    """
    naming = FileNaming(file_names)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    series_uid = series.series_instance_uid or str(
        make_uid(
            "series",
            study.study_instance_uid,
            series.series_number,
            series.series_description,
            series.echo_time,
            series.inversion_time,
        )
    )
    stored, rescale = _stored_values(series)
    n = stored.shape[0]
    order = list(range(n))
    if shuffle_seed is not None:
        np.random.default_rng(shuffle_seed).shuffle(order)
    positions = series.positions()
    base = _base_dataset(study, series, series_uid, stored)
    ts = UID(series.transfer_syntax)

    if series.enhanced:
        ds = _enhanced_dataset(base, series, series_uid, order, positions, rescale)
        _encode_pixels(ds, stored[order], ts)
        _omit(ds, series.omit)
        path = out / _file_name(naming, series.first_instance_number, ds.SOPInstanceUID)
        _save(ds, ts, path)
        logger.debug("wrote enhanced series %s (%d frames) to %s", series_uid, n, path)
        return [path]

    paths = []
    for k in range(n):
        instance_number = series.first_instance_number + order[k]
        ds = _classic_dataset(
            base,
            series,
            instance_number,
            positions[k],
            rescale[k] if rescale is not None else None,
            series_uid,
        )
        _encode_pixels(ds, stored[k], ts)
        _omit(ds, series.omit)
        path = out / _file_name(naming, instance_number, ds.SOPInstanceUID)
        _save(ds, ts, path)
        paths.append(path)
    logger.debug("wrote series %s (%d files) to %s", series_uid, n, out)
    return paths


__all__ = [
    "AXIAL_DIRECTION",
    "CORONAL_DIRECTION",
    "SAGITTAL_DIRECTION",
    "SUPPORTED_TRANSFER_SYNTAXES",
    "FileNaming",
    "PrivateTag",
    "SeriesSpec",
    "StudySpec",
    "make_uid",
    "write_series",
]

"""Rebuild the real header corpus (``shared/dicom_headers/headers.jsonl``) into DICOM.

Each JSON record is one real vendor MR header, flattened (see the corpus README). This
module turns a record back into a pydicom :class:`~pydicom.dataset.Dataset` that carries
what classification and ingestion read:

* the standard attributes of the record (keyword -> value);
* Enhanced MR functional groups rebuilt from ``enh_fg`` (each flattened attribute put back
  into its functional group sequence: shared, or per-frame for frame content and plane
  position) and the top-level MR pulse sequence attributes from ``enh_top``;
* private elements from ``private`` at their original tags, with their private creators;
* Siemens protocol keys (``siemens``) as a real ASCCONV block inside a CSA series header
  (0029,xx20) for classic files, or as the XA MrPhoenixProtocol text (0021,xx19) for
  Enhanced files, and ``csa_img.*`` / ``csa_ser.*`` fields as CSA header elements;
* geometry: ImageOrientationPatient, ImagePositionPatient (the record's, else the origin),
  PixelSpacing, SliceThickness.

:func:`write_record` also writes it as a file with small dummy pixel data (8 x 8, one frame).

Import as ``from helpers.headers import ...`` (pytest puts ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

import json
import struct
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.datadict import dictionary_VR, keyword_dict, private_dictionary_VR
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

#: Where the corpus lives, relative to the ``shared/`` folder.
HEADERS_RELATIVE = Path("dicom_headers") / "headers.jsonl"

#: The label set of the corpus.
LABEL_SET = (
    "t1",
    "t2",
    "stir",
    "t2_fs",
    "pd",
    "dixon_water",
    "dixon_fat",
    "localizer",
    "dwi",
    "other",
)

RAW_DATA_STORAGE = "1.2.840.10008.5.1.4.1.1.66"
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
ENHANCED_MR_COLOR = "1.2.840.10008.5.1.4.1.1.4.3"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"

#: Standard attributes of a record that go to the top level of the dataset.
TOP_LEVEL = (
    "Manufacturer",
    "ManufacturerModelName",
    "SoftwareVersions",
    "MagneticFieldStrength",
    "Modality",
    "SOPClassUID",
    "SeriesDescription",
    "ProtocolName",
    "SeriesNumber",
    "SequenceName",
    "PulseSequenceName",
    "ScanningSequence",
    "SequenceVariant",
    "ScanOptions",
    "MRAcquisitionType",
    "ImageType",
    "AcquisitionContrast",
    "ComplexImageComponent",
    "InversionTime",
    "EchoTime",
    "RepetitionTime",
    "FlipAngle",
    "EchoTrainLength",
    "ImagingFrequency",
    "SliceThickness",
    "SpacingBetweenSlices",
    "BodyPartExamined",
    "ReceiveCoilName",
    "ImageComments",
    "SeriesInstanceUID",
    "StudyInstanceUID",
)
#: Attributes that belong in functional groups, not at the top level, of Enhanced files.
_ENHANCED_NOT_TOP = {
    "EchoTime",
    "RepetitionTime",
    "FlipAngle",
    "EchoTrainLength",
    "InversionTime",
    "SliceThickness",
    "SpacingBetweenSlices",
    "ImagingFrequency",
    "ReceiveCoilName",
}

#: Flattened functional-group attribute -> (functional group sequence, per-frame?).
FUNCTIONAL_GROUP_OF: dict[str, tuple[str, bool]] = {
    **{
        k: ("MRImagingModifierSequence", False)
        for k in (
            "PixelBandwidth",
            "MagnetizationTransfer",
            "BloodSignalNulling",
            "Tagging",
            "TransmitterFrequency",
        )
    },
    **{
        k: ("MRReceiveCoilSequence", False)
        for k in (
            "ReceiveCoilName",
            "ReceiveCoilManufacturerName",
            "ReceiveCoilType",
            "QuadratureReceiveCoil",
        )
    },
    **{
        k: ("MRTransmitCoilSequence", False)
        for k in ("TransmitCoilName", "TransmitCoilManufacturerName", "TransmitCoilType")
    },
    **{
        k: ("MRTimingAndRelatedParametersSequence", False)
        for k in (
            "RepetitionTime",
            "EchoTrainLength",
            "FlipAngle",
            "RFEchoTrainLength",
            "GradientEchoTrainLength",
            "GradientOutputType",
            "GradientOutput",
        )
    },
    **{
        k: ("MRModifierSequence", False)
        for k in (
            "InversionRecovery",
            "InversionTimes",
            "FlowCompensation",
            "Spoiling",
            "T2Preparation",
            "SpectrallySelectedExcitation",
            "SpatialPresaturation",
            "PartialFourier",
            "PartialFourierDirection",
            "ParallelAcquisition",
            "ParallelAcquisitionTechnique",
            "ParallelReductionFactorInPlane",
            "ParallelReductionFactorOutOfPlane",
            "ParallelReductionFactorSecondInPlane",
        )
    },
    "NumberOfAverages": ("MRAveragesSequence", False),
    **{
        k: ("MRFOVGeometrySequence", False)
        for k in (
            "PercentSampling",
            "PercentPhaseFieldOfView",
            "InPlanePhaseEncodingDirection",
            "MRAcquisitionFrequencyEncodingSteps",
            "MRAcquisitionPhaseEncodingStepsInPlane",
            "MRAcquisitionPhaseEncodingStepsOutOfPlane",
        )
    },
    "FrameLaterality": ("FrameAnatomySequence", False),
    "EffectiveEchoTime": ("MREchoSequence", False),
    "MetaboliteMapDescription": ("MRMetaboliteMapSequence", False),
    **{
        k: ("MRImageFrameTypeSequence", False)
        for k in (
            "FrameType",
            "PixelPresentation",
            "VolumetricProperties",
            "VolumeBasedCalculationTechnique",
            "ComplexImageComponent",
            "AcquisitionContrast",
        )
    },
    **{
        k: ("FrameContentSequence", True)
        for k in (
            "FrameAcquisitionDateTime",
            "FrameReferenceDateTime",
            "FrameAcquisitionDuration",
            "StackID",
            "InStackPositionNumber",
            "TemporalPositionIndex",
            "DimensionIndexValues",
            "FrameAcquisitionNumber",
        )
    },
    "ImagePositionPatient": ("PlanePositionSequence", True),
    "ImageOrientationPatient": ("PlaneOrientationSequence", False),
    **{
        k: ("PixelMeasuresSequence", False)
        for k in ("SliceThickness", "PixelSpacing", "SpacingBetweenSlices")
    },
    **{k: ("FrameVOILUTSequence", False) for k in ("WindowCenter", "WindowWidth")},
    **{
        k: ("PixelValueTransformationSequence", False)
        for k in ("RescaleIntercept", "RescaleSlope", "RescaleType")
    },
    **{
        k: ("MRDiffusionSequence", False)
        for k in ("DiffusionDirectionality", "DiffusionBValue", "DiffusionAnisotropyType")
    },
}


def headers_path(shared_root: Path) -> Path:
    """The corpus file under the ``shared/`` folder."""
    return shared_root / HEADERS_RELATIVE


def load_records(path: Path) -> list[dict[str, Any]]:
    """The JSON records of the corpus, in file order."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def to_label_set(contrast: str) -> str:
    """A contrast class mapped onto the corpus label set (t1_fs->t1, pd_fs->pd, the rest->other)."""
    mapped = {"t1_fs": "t1", "pd_fs": "pd"}.get(contrast, contrast)
    return mapped if mapped in LABEL_SET else "other"


def record_id(index: int, record: Mapping[str, Any]) -> str:
    """A short, stable, readable id for test reports (no UIDs)."""
    desc = record.get("SeriesDescription") or record.get("ProtocolName") or "nodesc"
    safe = "".join(ch if ch.isalnum() else "_" for ch in str(desc))[:40]
    return f"{index:03d}_{record.get('vendor', 'unknown')}_{safe}"


# --------------------------------------------------------------------------- value helpers


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _valid_for_vr(vr: str, value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    if not values:
        return True
    if vr in ("US", "SS", "UL", "SL", "SV", "UV"):
        limits = {
            "US": (0, 2**16),
            "SS": (-(2**15), 2**15),
            "UL": (0, 2**32),
            "SL": (-(2**31), 2**31),
        }
        lo, hi = limits.get(vr, (-(2**63), 2**63))
        return all(isinstance(v, int) and not isinstance(v, bool) and lo <= v < hi for v in values)
    if vr in ("FL", "FD"):
        return all(_is_number(v) for v in values)
    if vr in ("DS", "IS"):
        if vr == "IS" and not all(
            isinstance(v, int) or (_is_number(v) and float(v).is_integer()) for v in values
        ):
            return False
        return all(_is_number(v) for v in values)
    if vr in ("CS", "SH", "LO", "UI", "PN", "DA", "TM", "DT", "AS"):
        limit = {
            "CS": 16,
            "SH": 16,
            "LO": 64,
            "UI": 64,
            "PN": 64,
            "DA": 8,
            "TM": 16,
            "DT": 26,
            "AS": 4,
        }[vr]
        return all(isinstance(v, str) and len(v) <= limit and "\\" not in v for v in values)
    if vr in ("LT", "ST", "UT"):
        return isinstance(value, str)
    return False


def _guess_vr(value: Any) -> str:
    values = value if isinstance(value, list) else [value]
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "SL" if all(-(2**31) <= v < 2**31 for v in values) else "FD"
    if values and all(_is_number(v) for v in values):
        return "FD"
    if all(isinstance(v, str) and len(v) <= 64 and "\\" not in v for v in values):
        return "LO"
    return "UT"


def _private_vr(tag: int, creator: str, value: Any) -> tuple[str, Any]:
    vr = None
    if creator:
        try:
            vr = private_dictionary_VR(tag, creator)
        except KeyError:
            vr = None
    if (
        vr is not None
        and vr not in ("UN", "OB", "OW", "SQ", "OB or OW")
        and _valid_for_vr(vr, value)
    ):
        return vr, value
    vr = _guess_vr(value)
    if vr == "UT" and isinstance(value, list):
        value = "\\".join(str(v) for v in value)
    return vr, value


def _set(ds: Dataset, keyword: str, value: Any) -> None:
    """Set a standard attribute, dropping values its VR cannot hold."""
    if value is None or keyword not in keyword_dict:
        return
    vr = dictionary_VR(keyword)
    if vr == "IS":
        values = value if isinstance(value, list) else [value]
        if not all(_is_number(v) and float(v).is_integer() for v in values):
            return
        value = [int(v) for v in values] if isinstance(value, list) else int(value)
    if vr in ("US", "SS", "UL", "SL") and not _valid_for_vr(vr, value):
        return
    setattr(ds, keyword, value)


# --------------------------------------------------------------------------- Siemens CSA


def csa2_header(elements: Mapping[str, list[str]]) -> bytes:
    """A Siemens CSA2 ("SV10") header holding ``name -> items`` (all strings)."""
    out = bytearray(b"SV10\x04\x03\x02\x01")
    out += struct.pack("<2I", len(elements), 77)
    for name, items in elements.items():
        out += struct.pack(
            "<64si4s3i", name.encode("latin-1")[:63], 1, b"ST\x00\x00", 0, len(items), 77
        )
        for item in items:
            data = item.encode("latin-1") + b"\x00"
            out += struct.pack("<4i", len(data), len(data), 77, len(data))
            out += data
            out += b"\x00" * ((4 - len(data) % 4) % 4)
    return bytes(out)


def ascconv_text(keys: Mapping[str, Any]) -> str:
    lines = ["### ASCCONV BEGIN ###"]
    for key, value in keys.items():
        text = str(value)
        try:
            float(text) if not text.lower().startswith("0x") else int(text, 16)
            lines.append(f"{key}\t = \t{text}")
        except ValueError:
            lines.append(f'{key}\t = \t""{text}""')
    lines.append("### ASCCONV END ###")
    return "\n".join(lines) + "\n"


def _free_block(ds: Dataset, group: int, creator: str) -> int:
    """The private block of ``creator`` in ``group`` (reserving a free one if needed)."""
    for block in range(0x10, 0x100):
        tag = Tag(group, block)
        if tag in ds and str(ds[tag].value).strip().upper() == creator.upper():
            return block
    for block in range(0x10, 0x100):
        tag = Tag(group, block)
        if tag not in ds and not any(Tag(group, (block << 8) | e) in ds for e in range(0x100)):
            ds.add_new(tag, "LO", creator)
            return block
    raise RuntimeError(f"no free private block in group {group:04X}")  # pragma: no cover


def _add_siemens(ds: Dataset, fields: Mapping[str, Any], enhanced: bool) -> None:
    protocol = {k: v for k, v in fields.items() if not k.startswith(("csa_img.", "csa_ser."))}
    image = {k[len("csa_img.") :]: [str(v)] for k, v in fields.items() if k.startswith("csa_img.")}
    series = {k[len("csa_ser.") :]: [str(v)] for k, v in fields.items() if k.startswith("csa_ser.")}
    text = ascconv_text(protocol) if protocol else ""
    if enhanced:
        if text:
            block = _free_block(ds, 0x0021, "SIEMENS MR SDS 01")
            ds.add_new(Tag(0x0021, (block << 8) | 0x19), "UT", text)
        if not image and not series:
            return
    if text and not enhanced:
        series["MrPhoenixProtocol"] = [text]
    block = _free_block(ds, 0x0029, "SIEMENS CSA HEADER")
    if image:
        ds.add_new(Tag(0x0029, (block << 8) | 0x10), "OB", csa2_header(image))
    if series:
        ds.add_new(Tag(0x0029, (block << 8) | 0x20), "OB", csa2_header(series))


# --------------------------------------------------------------------------- records


def _functional_groups(record: Mapping[str, Any]) -> tuple[Dataset, Dataset]:
    shared, frame = Dataset(), Dataset()
    fg = dict(record.get("enh_fg") or {})
    for keyword in ("ImageOrientationPatient", "PixelSpacing", "SliceThickness"):
        if fg.get(keyword) is None and record.get(keyword) is not None:
            fg[keyword] = record[keyword]
    fg.setdefault("ImagePositionPatient", [0.0, 0.0, 0.0])
    for keyword, value in fg.items():
        if keyword not in FUNCTIONAL_GROUP_OF or value is None:
            continue
        sequence, per_frame = FUNCTIONAL_GROUP_OF[keyword]
        target = frame if per_frame else shared
        if sequence not in target:
            setattr(target, sequence, Sequence([Dataset()]))
        _set(target[sequence].value[0], keyword, value)
    return shared, frame


def record_to_dataset(record: Mapping[str, Any], *, rows: int = 8, columns: int = 8) -> Dataset:
    """The record as a dataset (no pixel data; Rows/Columns set to ``rows`` x ``columns``).

    Real headers break VR rules now and then (lower-case CS values...): they are kept as they
    are, and pydicom's warnings about them are silenced here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _record_to_dataset(record, rows, columns)


def _record_to_dataset(record: Mapping[str, Any], rows: int, columns: int) -> Dataset:
    sop_class = record.get("SOPClassUID")
    enhanced = bool(record.get("enh_fg")) or sop_class in (ENHANCED_MR, ENHANCED_MR_COLOR)
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Header^Corpus"
    ds.PatientID = "HEADERS"
    for keyword in TOP_LEVEL:
        if enhanced and keyword in _ENHANCED_NOT_TOP:
            continue
        _set(ds, keyword, record.get(keyword))
    for keyword, value in (record.get("enh_top") or {}).items():
        _set(ds, keyword, value)
    series_uid = record.get("SeriesInstanceUID") or generate_uid(
        entropy_srcs=[json.dumps(record, sort_keys=True)]
    )
    ds.SeriesInstanceUID = series_uid
    if "StudyInstanceUID" not in ds:
        ds.StudyInstanceUID = generate_uid(entropy_srcs=[series_uid, "study"])
    ds.SOPInstanceUID = generate_uid(entropy_srcs=[series_uid, "rebuilt instance"])
    ds.InstanceNumber = 1
    ds.FrameOfReferenceUID = generate_uid(entropy_srcs=[series_uid, "frame of reference"])
    if enhanced:
        shared, frame = _functional_groups(record)
        ds.SharedFunctionalGroupsSequence = Sequence([shared])
        ds.PerFrameFunctionalGroupsSequence = Sequence([frame])
        ds.NumberOfFrames = 1
    else:
        _set(ds, "ImageOrientationPatient", record.get("ImageOrientationPatient"))
        _set(ds, "PixelSpacing", record.get("PixelSpacing"))
        position = (record.get("enh_fg") or {}).get("ImagePositionPatient") or [0.0, 0.0, 0.0]
        ds.ImagePositionPatient = position
    ds.Rows = rows
    ds.Columns = columns
    for key, entry in (record.get("private") or {}).items():
        group, element = (int(part, 16) for part in key.split(","))
        tag = Tag(group, element)
        value = entry.get("value")
        if value is None:
            continue
        if element <= 0xFF:
            ds.add_new(tag, "LO", str(value))
            continue
        vr, value = _private_vr(tag, entry.get("creator", ""), value)
        ds.add_new(tag, vr, value)
    if record.get("siemens"):
        _add_siemens(ds, record["siemens"], enhanced)
    return ds


def write_record(record: Mapping[str, Any], path: Path, *, rows: int = 8, columns: int = 8) -> Path:
    """Write the record as a DICOM file with dummy pixel data; returns ``path``."""
    ds = record_to_dataset(record, rows=rows, columns=columns)
    sop_class = record.get("SOPClassUID")
    if sop_class != RAW_DATA_STORAGE:
        if sop_class == ENHANCED_MR_COLOR:
            ds.SamplesPerPixel = 3
            ds.PhotometricInterpretation = "RGB"
            ds.PlanarConfiguration = 0
            ds.BitsAllocated = ds.BitsStored = 8
            ds.HighBit = 7
            pixels = np.zeros((rows, columns, 3), dtype=np.uint8)
            pixels[..., 0] = np.arange(rows * columns, dtype=np.uint8).reshape(rows, columns)
        else:
            ds.SamplesPerPixel = 1
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.BitsAllocated = ds.BitsStored = 16
            ds.HighBit = 15
            pixels = np.arange(rows * columns, dtype=np.uint16).reshape(rows, columns) * 7
        ds.PixelRepresentation = 0
        ds.PixelData = pixels.tobytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class or MR_IMAGE
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pydicom.dcmwrite(path, ds, enforce_file_format=True)
    return path


def write_records(records: Iterable[Mapping[str, Any]], folder: Path) -> Iterator[Path]:
    """Write every record as ``folder/NNN.dcm``."""
    for i, record in enumerate(records):
        yield write_record(record, folder / f"{i:03d}.dcm")

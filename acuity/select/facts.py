"""Header facts: the normalised values that classification rules look at.

:func:`extract_facts` reads one instance header (a pydicom Dataset, pixel data not needed)
into :class:`HeaderFacts`: a flat name -> value mapping plus, for each name, the tag(s) the
value came from, so every decision can say which tag said what. Standard attributes are
read first; Enhanced MR functional groups (shared, then the first per-frame item) fill what
the top level lacks; vendor private tags are read by their private creator (never by a
fixed element number), and Siemens protocol (ASCCONV) keys come from the CSA series header
(0029,xx20) or, on XA software, from (0021,xx19).

Kinds of facts (see :data:`FACTS`):

* ``text``: one string (``None`` when absent);
* ``texts``: several free-text strings (e.g. every sequence name the header holds);
* ``tokens``: code strings, upper case, one per DICOM value (ImageType, ScanOptions...);
* ``number``: a float in the unit named in :data:`FACTS` (ms, T, s/mm2).
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import Tag

from acuity.ingest.enum import Plane
from acuity.ingest.geometry import axes_of, plane_of

logger = logging.getLogger(__name__)

FactValue = str | float | tuple[str, ...] | None


class FactKind(str, Enum):
    """Shape of a fact's value."""

    TEXT = "text"
    TEXTS = "texts"
    TOKENS = "tokens"
    NUMBER = "number"


@dataclass(frozen=True)
class FactSpec:
    kind: FactKind
    doc: str


#: Every fact a rule may name, with its kind and where it comes from.
FACTS: dict[str, FactSpec] = {
    "modality": FactSpec(FactKind.TEXT, "(0008,0060) Modality"),
    "manufacturer": FactSpec(FactKind.TEXT, "(0008,0070) Manufacturer, as written"),
    "vendor": FactSpec(
        FactKind.TEXT,
        "Manufacturer normalised: siemens, ge, philips, canon, hitachi, fujifilm, uih, other",
    ),
    "field_strength": FactSpec(
        FactKind.NUMBER,
        "tesla: (0018,0087) MagneticFieldStrength (values > 20 are read as gauss), else "
        "ImagingFrequency / 42.577 MHz/T, else vendor protocol fields",
    ),
    "series_description": FactSpec(FactKind.TEXT, "(0008,103E) SeriesDescription"),
    "protocol_name": FactSpec(FactKind.TEXT, "(0018,1030) ProtocolName"),
    "description": FactSpec(
        FactKind.TEXTS, "SeriesDescription and ProtocolName (and the Siemens tProtocolName)"
    ),
    "scanning_sequence": FactSpec(FactKind.TOKENS, "(0018,0020) ScanningSequence"),
    "sequence_variant": FactSpec(FactKind.TOKENS, "(0018,0021) SequenceVariant"),
    "scan_options": FactSpec(
        FactKind.TOKENS,
        "(0018,0022) ScanOptions, plus Siemens XA (0021,xx5C) and the Siemens (0051,xx19) "
        "text split at '/'",
    ),
    "image_type": FactSpec(
        FactKind.TOKENS,
        "(0008,0008) ImageType plus Enhanced MR FrameType (0008,9007) and Siemens XA (0021,xx75)",
    ),
    "sequence_name": FactSpec(
        FactKind.TEXTS,
        "(0018,0024) SequenceName, (0018,9005) PulseSequenceName, GE (0019,xx9C)/(0019,xx9E) "
        "pulse sequence names, Philips (2001,xx20) scanning technique, Siemens XA "
        "(0021,xx77) and ASCCONV tSequenceFileName",
    ),
    "mr_acquisition_type": FactSpec(FactKind.TEXT, "(0018,0023) MRAcquisitionType"),
    "echo_time": FactSpec(
        FactKind.NUMBER, "ms: (0018,0081) EchoTime, else Enhanced (0018,9082) EffectiveEchoTime"
    ),
    "repetition_time": FactSpec(FactKind.NUMBER, "ms: (0018,0080) RepetitionTime"),
    "inversion_time": FactSpec(
        FactKind.NUMBER,
        "ms: (0018,0082) InversionTime, else Enhanced (0018,9079) InversionTimes, else Philips "
        "(2001,xx1B) prepulse delay of an INV prepulse, else Siemens ASCCONV alTI[0] when "
        "sPrepPulses.ucInversion says an inversion is on; 0 or less means none",
    ),
    "inversion_recovery": FactSpec(FactKind.TEXT, "Enhanced MR (0018,9009) InversionRecovery"),
    "flip_angle": FactSpec(FactKind.NUMBER, "degrees: (0018,1314) FlipAngle"),
    "echo_train_length": FactSpec(FactKind.NUMBER, "(0018,0091) EchoTrainLength"),
    "echo_pulse_sequence": FactSpec(FactKind.TEXT, "Enhanced MR (0018,9008) EchoPulseSequence"),
    "echo_planar": FactSpec(FactKind.TEXT, "Enhanced MR (0018,9018) EchoPlanarPulseSequence"),
    "steady_state": FactSpec(FactKind.TEXT, "Enhanced MR (0018,9017) SteadyStatePulseSequence"),
    "acquisition_contrast": FactSpec(FactKind.TEXT, "Enhanced MR (0008,9209) AcquisitionContrast"),
    "spectrally_selected_suppression": FactSpec(
        FactKind.TEXT, "Enhanced MR (0018,9025) SpectrallySelectedSuppression"
    ),
    "spectrally_selected_excitation": FactSpec(
        FactKind.TEXT, "Enhanced MR (0018,9026) SpectrallySelectedExcitation"
    ),
    "complex_image_component": FactSpec(
        FactKind.TEXT, "Enhanced MR (0008,9208) ComplexImageComponent"
    ),
    "diffusion_b_value": FactSpec(
        FactKind.NUMBER,
        "s/mm2: (0018,9087) DiffusionBValue, Siemens (0019,xx0C), Philips (2001,xx03), "
        "GE (0043,xx39)[0]",
    ),
    "diffusion_directionality": FactSpec(FactKind.TEXT, "(0018,9075) DiffusionDirectionality"),
    "ge_fat_sat": FactSpec(FactKind.NUMBER, "GE (0019,xxA4) 'SAT fat/water/bone' (GEMS_ACQU_01)"),
    "philips_spir": FactSpec(FactKind.TEXT, "Philips (2001,xx21) SPIR, Y/N"),
    "philips_prepulse": FactSpec(FactKind.TEXT, "Philips (2001,xx1C) prepulse type (INV, ...)"),
    "siemens_fat_sat": FactSpec(
        FactKind.NUMBER, "Siemens ASCCONV sPrepPulses.ucFatSat (1 fat sat on, 4 off)"
    ),
    "siemens_inversion": FactSpec(
        FactKind.NUMBER, "Siemens ASCCONV sPrepPulses.ucInversion (4 = no inversion)"
    ),
    "plane": FactSpec(
        FactKind.TEXT, "sagittal/coronal/axial/oblique from (0020,0037) ImageOrientationPatient"
    ),
    "enhanced": FactSpec(FactKind.TEXT, "YES for Enhanced (multi-frame) MR, else NO"),
}

_GYROMAGNETIC_MHZ_PER_T = 42.577

_VENDORS = (
    ("siemens", "siemens"),
    ("ge", "ge medical"),
    ("ge", "general electric"),
    ("ge", "genesis"),
    ("ge", "gems"),
    ("philips", "philips"),
    ("canon", "canon"),
    ("canon", "toshiba"),
    ("hitachi", "hitachi"),
    ("fujifilm", "fujifilm"),
    ("uih", "uih"),
    ("uih", "united imaging"),
)


@dataclass(frozen=True)
class HeaderFacts:
    """Normalised header values (see :data:`FACTS`) and the tag each came from."""

    values: Mapping[str, FactValue]
    sources: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.values) - set(FACTS))
        if unknown:
            raise ValueError(f"HeaderFacts: unknown fact names {unknown}; known: {sorted(FACTS)}")

    def get(self, name: str) -> FactValue:
        return self.values.get(name)

    def source(self, name: str) -> str:
        return self.sources.get(name, FACTS[name].doc if name in FACTS else "")


# --------------------------------------------------------------------------- value helpers


def _text(value: Any) -> str | None:
    """A value as one stripped string (None for empty/absent)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1", errors="replace")
    if isinstance(value, (list, tuple, MultiValue)):
        parts = [t for t in (_text(v) for v in value) if t]
        return "\\".join(parts) or None
    text = str(value).replace("\x00", "").strip()
    return text or None


def _tokens(value: Any, split: str = "\\") -> tuple[str, ...]:
    """A multi-valued code string as upper-case tokens (empty tokens dropped)."""
    if value is None:
        return ()
    if isinstance(value, bytes):
        value = value.decode("latin-1", errors="replace")
    items: Iterable[Any]
    if isinstance(value, (list, tuple, MultiValue)):
        items = value
    else:
        items = str(value).split(split)
    out: list[str] = []
    for item in items:
        text = _text(item)
        if text:
            out.extend(t.strip().upper() for t in text.split(split) if t.strip())
    return tuple(out)


def _number(value: Any) -> float | None:
    """A value as a finite float (first value of a multi-valued one), else None."""
    if value is None:
        return None
    if isinstance(value, (list, tuple, MultiValue)):
        return _number(value[0]) if len(value) else None
    if isinstance(value, bytes):
        text = value.decode("latin-1", errors="replace").replace("\x00", "").strip()
        if not text and len(value) in (2, 4):  # binary SS/SL read as UN
            return float(int.from_bytes(value, "little", signed=True))
        value = text.split("\\")[0]
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# --------------------------------------------------------------------------- dataset access


def _fg_items(ds: Dataset) -> list[Dataset]:
    """Shared functional group item, then the first per-frame item (Enhanced MR)."""
    items: list[Dataset] = []
    for key in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        seq = ds.get(key)
        if seq:
            items.append(seq[0])
    return items


def _fg_value(ds: Dataset, sequence: str, keyword: str) -> Any:
    """``keyword`` inside functional group ``sequence`` (shared first, then frame 1)."""
    for fg in _fg_items(ds):
        seq = fg.get(sequence)
        if seq:
            value = seq[0].get(keyword)
            if value is not None and value != "":
                return value
    return None


def _top(ds: Dataset, keyword: str) -> Any:
    try:
        value = ds.get(keyword)
    except Exception:  # a malformed element must not stop classification
        logger.debug("cannot read %s", keyword, exc_info=True)
        return None
    return None if value == "" else value


def _private_datasets(ds: Dataset) -> Iterator[Dataset]:
    """The dataset, its functional-group items, and items of private sequences in them."""
    yield ds
    for fg in _fg_items(ds):
        yield fg
        for elem in fg:
            if elem.tag.is_private and elem.VR == "SQ":
                yield from elem.value


class _PrivateIndex:
    """Where each private creator reserved its block, in the dataset and its functional
    groups (built once per header, so lookups do not rescan the dataset)."""

    def __init__(self, ds: Dataset) -> None:
        self.blocks: dict[tuple[int, str], list[tuple[Dataset, int]]] = {}
        for item in _private_datasets(ds):
            for tag in list(item.keys()):
                if tag.group % 2 == 1 and 0x10 <= tag.element <= 0xFF:
                    try:
                        creator = _text(item[tag].value)
                    except Exception:  # an unreadable creator element: skip it
                        logger.debug("unreadable private creator %s", tag, exc_info=True)
                        creator = None
                    if creator:
                        key = (tag.group, creator.upper())
                        self.blocks.setdefault(key, []).append((item, tag.element))

    def get(self, group: int, creator: str, offset: int) -> tuple[Any, str] | None:
        """Value of element ``offset`` of ``creator``'s block in ``group``, with its tag."""
        for item, block in self.blocks.get((group, creator.strip().upper()), []):
            tag = Tag(group, (block << 8) | offset)
            if tag in item:
                try:
                    value = item[tag].value
                except Exception:  # undecodable value: treat as absent
                    logger.debug("unreadable private element %s", tag, exc_info=True)
                    return None
                return value, f"({group:04X},{(block << 8) | offset:04X}) [{creator}]"
        return None


# --------------------------------------------------------------------------- Siemens protocol

_ASCCONV_LINE = re.compile(r"^\s*([A-Za-z_][\w.\[\]]*)\s*=\s*(.*?)\s*(?:#.*)?$")


def parse_ascconv(text: str) -> dict[str, str]:
    """Key -> value (as written) of the ``### ASCCONV BEGIN ###`` block of a Siemens protocol."""
    begin = text.find("### ASCCONV BEGIN")
    if begin >= 0:
        text = text[text.find("\n", begin) + 1 :]
        end = text.find("### ASCCONV END")
        if end >= 0:
            text = text[:end]
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = _ASCCONV_LINE.match(line)
        if m:
            out[m.group(1)] = m.group(2).strip().strip('"')
    return out


def _csa_read(raw: bytes) -> dict[str, Any] | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nibabel.nicom warns that its readers are experimental
        from nibabel.nicom import csareader
    try:
        header: dict[str, Any] = csareader.read(raw)  # type: ignore[no-untyped-call]
    except Exception:  # nibabel raises CSAReadError, struct.error, ...
        logger.debug("unreadable Siemens CSA header", exc_info=True)
        return None
    return header


def _csa_item(header: dict[str, Any] | None, name: str) -> Any:
    if not header:
        return None
    tag = header.get("tags", {}).get(name)
    if not tag or not tag.get("items"):
        return None
    return tag["items"][0]


def _siemens_protocol(private: _PrivateIndex) -> tuple[dict[str, str], str]:
    """ASCCONV keys of the Siemens protocol, and where they were read."""
    found = private.get(0x0029, "SIEMENS CSA HEADER", 0x20)
    if found is not None and isinstance(found[0], bytes):
        header = _csa_read(found[0])
        for name in ("MrPhoenixProtocol", "MrProtocol"):
            text = _csa_item(header, name)
            if isinstance(text, str) and text:
                return parse_ascconv(text), f"{found[1]} CSA {name}"
    found = private.get(0x0021, "SIEMENS MR SDS 01", 0x19)
    if found is not None:
        text = _text(found[0])
        if text:
            return parse_ascconv(text), f"{found[1]} MrPhoenixProtocol"
    return {}, ""


def _siemens_int(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(int(value, 0))
    except ValueError:
        return _number(value)


# --------------------------------------------------------------------------- geometry


def plane_from_orientation(iop: Iterable[float]) -> Plane:
    """Plane of a slice from ImageOrientationPatient (row then column direction cosines).

    Uses ingestion's own rule (:func:`acuity.ingest.geometry.plane_of` on the slice normal of
    :func:`acuity.ingest.geometry.axes_of`), so a stack's plane is the same whether it comes
    from its geometry or from its header. Raises ValueError for a degenerate orientation.
    """
    v = [float(x) for x in iop]
    if len(v) != 6 or not all(math.isfinite(x) for x in v):
        raise ValueError(f"ImageOrientationPatient {v!r} must be 6 finite numbers")
    r, c = v[:3], v[3:]
    cross = (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])
    if math.sqrt(sum(x * x for x in cross)) < 1e-6:
        raise ValueError(f"ImageOrientationPatient {v!r}: row and column are parallel or zero")
    _, _, normal = axes_of(v)
    return plane_of(normal)


# --------------------------------------------------------------------------- extraction


def _vendor(manufacturer: str | None) -> str:
    m = (manufacturer or "").lower()
    for name, needle in _VENDORS:
        if needle in m:
            return name
    return "other"


class _Collector:
    def __init__(self) -> None:
        self.values: dict[str, FactValue] = {}
        self.sources: dict[str, str] = {}

    def put(self, name: str, value: FactValue, source: str) -> None:
        if value is None or value == () or value == "":
            return
        if name not in self.values:
            self.values[name] = value
            self.sources[name] = source

    def extend(self, name: str, values: Iterable[str], source: str) -> None:
        new = tuple(v for v in values if v)
        if not new:
            return
        old = self.values.get(name)
        merged = tuple(old) if isinstance(old, tuple) else ()
        merged += tuple(v for v in new if v not in merged)
        self.values[name] = merged
        prev = self.sources.get(name)
        self.sources[name] = f"{prev}; {source}" if prev else source


def extract_facts(ds: Dataset) -> HeaderFacts:
    """The facts (:data:`FACTS`) of one instance header."""
    return _extract(ds, _PrivateIndex(ds))


def _extract(ds: Dataset, private: _PrivateIndex) -> HeaderFacts:
    f = _Collector()
    f.put("modality", _text(_top(ds, "Modality")), "(0008,0060) Modality")
    manufacturer = _text(_top(ds, "Manufacturer"))
    f.put("manufacturer", manufacturer, "(0008,0070) Manufacturer")
    vendor = _vendor(manufacturer)
    f.put("vendor", vendor, "(0008,0070) Manufacturer")
    enhanced = bool(
        ds.get("PerFrameFunctionalGroupsSequence") or ds.get("SharedFunctionalGroupsSequence")
    )
    f.put("enhanced", "YES" if enhanced else "NO", "(5200,9229)/(5200,9230) functional groups")

    protocol, protocol_source = (
        _siemens_protocol(private) if vendor in ("siemens", "other") else ({}, "")
    )

    # descriptions
    series_description = _text(_top(ds, "SeriesDescription"))
    protocol_name = _text(_top(ds, "ProtocolName"))
    f.put("series_description", series_description, "(0008,103E) SeriesDescription")
    f.put("protocol_name", protocol_name, "(0018,1030) ProtocolName")
    f.extend("description", [series_description or ""], "(0008,103E) SeriesDescription")
    f.extend("description", [protocol_name or ""], "(0018,1030) ProtocolName")
    f.extend("description", [protocol.get("tProtocolName", "")], f"{protocol_source} tProtocolName")

    # field strength
    b0 = _number(_top(ds, "MagneticFieldStrength"))
    if b0 is not None and b0 > 20.0:  # gauss (old GE Genesis writes 15000)
        b0 = b0 / 10000.0
    if b0 is not None and b0 > 0:
        f.put("field_strength", round(b0, 4), "(0018,0087) MagneticFieldStrength")
    freq = _number(_top(ds, "ImagingFrequency"))
    if freq is None:
        freq = _number(_fg_value(ds, "MRTransmitCoilSequence", "TransmitterFrequency"))
    if freq is not None and freq > 0:
        f.put(
            "field_strength",
            round(freq / _GYROMAGNETIC_MHZ_PER_T, 3),
            "(0018,0084) ImagingFrequency / 42.577 MHz/T",
        )
    nominal = _number(protocol.get("sProtConsistencyInfo.flNominalB0"))
    if nominal:
        f.put("field_strength", nominal, f"{protocol_source} flNominalB0")
    philips_b0 = private.get(0x2001, "Philips Imaging DD 001", 0x85)
    if philips_b0 is not None:
        f.put("field_strength", _number(philips_b0[0]), philips_b0[1])

    # sequence descriptors
    f.extend(
        "scanning_sequence", _tokens(_top(ds, "ScanningSequence")), "(0018,0020) ScanningSequence"
    )
    f.extend(
        "sequence_variant", _tokens(_top(ds, "SequenceVariant")), "(0018,0021) SequenceVariant"
    )
    f.extend("scan_options", _tokens(_top(ds, "ScanOptions")), "(0018,0022) ScanOptions")
    xa_options = private.get(0x0021, "SIEMENS MR SDS 01", 0x5C)
    if xa_options is not None:
        f.extend("scan_options", _tokens(xa_options[0]), xa_options[1])
    csa_options = private.get(0x0051, "SIEMENS MR HEADER", 0x19)
    if csa_options is not None:
        f.extend("scan_options", _tokens(_text(csa_options[0]), split="/"), csa_options[1])
    f.extend("image_type", _tokens(_top(ds, "ImageType")), "(0008,0008) ImageType")
    f.extend(
        "image_type",
        _tokens(_fg_value(ds, "MRImageFrameTypeSequence", "FrameType")),
        "(0008,9007) FrameType",
    )
    xa_type = private.get(0x0021, "SIEMENS MR SDI 02", 0x75)
    if xa_type is not None:
        f.extend("image_type", _tokens(xa_type[0]), xa_type[1])

    names: list[tuple[str | None, str]] = [
        (_text(_top(ds, "SequenceName")), "(0018,0024) SequenceName"),
        (_text(_top(ds, "PulseSequenceName")), "(0018,9005) PulseSequenceName"),
    ]
    for group, creator, offset in (
        (0x0019, "GEMS_ACQU_01", 0x9C),
        (0x0019, "GEMS_ACQU_01", 0x9E),
        (0x2001, "Philips Imaging DD 001", 0x20),
        (0x0021, "SIEMENS MR SDI 02", 0x77),
    ):
        found = private.get(group, creator, offset)
        if found is not None:
            names.append((_text(found[0]), found[1]))
    seq_file = protocol.get("tSequenceFileName")
    if seq_file:
        names.append((seq_file.replace("\\\\", "\\"), f"{protocol_source} tSequenceFileName"))
    for name, source in names:
        if name:
            f.extend("sequence_name", [name], source)

    f.put(
        "mr_acquisition_type", _text(_top(ds, "MRAcquisitionType")), "(0018,0023) MRAcquisitionType"
    )

    # timing
    f.put("echo_time", _number(_top(ds, "EchoTime")), "(0018,0081) EchoTime")
    f.put(
        "echo_time",
        _number(_fg_value(ds, "MREchoSequence", "EffectiveEchoTime")),
        "(0018,9082) EffectiveEchoTime",
    )
    f.put("repetition_time", _number(_top(ds, "RepetitionTime")), "(0018,0080) RepetitionTime")
    f.put(
        "repetition_time",
        _number(_fg_value(ds, "MRTimingAndRelatedParametersSequence", "RepetitionTime")),
        "(0018,0080) RepetitionTime in MRTimingAndRelatedParametersSequence",
    )
    f.put("flip_angle", _number(_top(ds, "FlipAngle")), "(0018,1314) FlipAngle")
    f.put(
        "flip_angle",
        _number(_fg_value(ds, "MRTimingAndRelatedParametersSequence", "FlipAngle")),
        "(0018,1314) FlipAngle in MRTimingAndRelatedParametersSequence",
    )
    f.put("echo_train_length", _number(_top(ds, "EchoTrainLength")), "(0018,0091) EchoTrainLength")
    f.put(
        "echo_train_length",
        _number(_fg_value(ds, "MRTimingAndRelatedParametersSequence", "EchoTrainLength")),
        "(0018,0091) EchoTrainLength in MRTimingAndRelatedParametersSequence",
    )

    # inversion
    ti_candidates: list[tuple[float | None, str]] = [
        (_number(_top(ds, "InversionTime")), "(0018,0082) InversionTime"),
        (_number(_top(ds, "InversionTimes")), "(0018,9079) InversionTimes"),
        (
            _number(_fg_value(ds, "MRModifierSequence", "InversionTimes")),
            "(0018,9079) InversionTimes in MRModifierSequence",
        ),
    ]
    prepulse = private.get(0x2001, "Philips Imaging DD 001", 0x1C)
    if prepulse is not None:
        f.put("philips_prepulse", _text(prepulse[0]), prepulse[1])
        if (_text(prepulse[0]) or "").upper().startswith("INV"):
            delay = private.get(0x2001, "Philips Imaging DD 001", 0x1B)
            if delay is not None:
                ti_candidates.append((_number(delay[0]), f"{delay[1]} Philips prepulse delay"))
    inversion = _siemens_int(protocol.get("sPrepPulses.ucInversion"))
    if inversion is not None:
        f.put("siemens_inversion", inversion, f"{protocol_source} sPrepPulses.ucInversion")
        if int(inversion) in (1, 2):  # slice-selective / non-selective inversion on
            ti_us = _number(protocol.get("alTI[0]"))
            if ti_us is not None:
                ti_candidates.append((ti_us / 1000.0, f"{protocol_source} alTI[0] (us)"))
    for ti, source in ti_candidates:
        if ti is not None and 0 < ti < 1e6:
            f.put("inversion_time", ti, source)
    f.put(
        "inversion_recovery",
        _text(
            _top(ds, "InversionRecovery")
            or _fg_value(ds, "MRModifierSequence", "InversionRecovery")
        ),
        "(0018,9009) InversionRecovery",
    )

    # Enhanced MR image / pulse sequence attributes
    for name, keyword, sequence in (
        ("echo_pulse_sequence", "EchoPulseSequence", None),
        ("echo_planar", "EchoPlanarPulseSequence", None),
        ("steady_state", "SteadyStatePulseSequence", None),
        ("acquisition_contrast", "AcquisitionContrast", "MRImageFrameTypeSequence"),
        ("spectrally_selected_suppression", "SpectrallySelectedSuppression", None),
        ("spectrally_selected_excitation", "SpectrallySelectedExcitation", "MRModifierSequence"),
        ("complex_image_component", "ComplexImageComponent", "MRImageFrameTypeSequence"),
    ):
        value = _text(_top(ds, keyword))
        if value is None and sequence is not None:
            value = _text(_fg_value(ds, sequence, keyword))
        f.put(name, value.upper() if value else None, keyword)

    # diffusion
    b_sources: list[tuple[float | None, str]] = [
        (_number(_top(ds, "DiffusionBValue")), "(0018,9087) DiffusionBValue"),
        (
            _number(_fg_value(ds, "MRDiffusionSequence", "DiffusionBValue")),
            "(0018,9087) DiffusionBValue in MRDiffusionSequence",
        ),
    ]
    for group, creator, offset in (
        (0x0019, "SIEMENS MR HEADER", 0x0C),
        (0x2001, "Philips Imaging DD 001", 0x03),
    ):
        found = private.get(group, creator, offset)
        if found is not None:
            b_sources.append((_number(found[0]), found[1]))
    ge_b = private.get(0x0043, "GEMS_PARM_01", 0x39)
    if ge_b is not None:
        ge_value = _number(ge_b[0])
        b_sources.append(
            (ge_value % 1e9 if ge_value is not None else None, ge_b[1] + " slop_int_6")
        )
    csa_image = private.get(0x0029, "SIEMENS CSA HEADER", 0x10)
    if csa_image is not None and isinstance(csa_image[0], bytes):
        b_sources.append(
            (_number(_csa_item(_csa_read(csa_image[0]), "B_value")), f"{csa_image[1]} CSA B_value")
        )
    for b, source in b_sources:
        if b is not None and b >= 0:
            f.put("diffusion_b_value", b, source)
    f.put(
        "diffusion_directionality",
        _text(
            _top(ds, "DiffusionDirectionality")
            or _fg_value(ds, "MRDiffusionSequence", "DiffusionDirectionality")
        ),
        "(0018,9075) DiffusionDirectionality",
    )

    # vendor fat suppression fields
    ge_sat = private.get(0x0019, "GEMS_ACQU_01", 0xA4)
    if ge_sat is not None:
        f.put("ge_fat_sat", _number(ge_sat[0]), ge_sat[1])
    spir = private.get(0x2001, "Philips Imaging DD 001", 0x21)
    if spir is not None:
        f.put("philips_spir", (_text(spir[0]) or "").upper() or None, spir[1])
    fat_sat = _siemens_int(protocol.get("sPrepPulses.ucFatSat"))
    if fat_sat is not None:
        f.put("siemens_fat_sat", fat_sat, f"{protocol_source} sPrepPulses.ucFatSat")

    # plane
    iop = _top(ds, "ImageOrientationPatient") or _fg_value(
        ds, "PlaneOrientationSequence", "ImageOrientationPatient"
    )
    if iop is not None:
        try:
            plane = plane_from_orientation([float(v) for v in iop])
        except (TypeError, ValueError):
            plane = None
        if plane is not None:
            f.put("plane", plane.value, "(0020,0037) ImageOrientationPatient")

    return HeaderFacts(values=dict(f.values), sources=dict(f.sources))

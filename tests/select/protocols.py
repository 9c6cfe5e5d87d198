"""Spine MRI protocols as vendors write them, for classification and selection tests.

Each :class:`Protocol` is one series with the header values a scanner of that vendor writes
(ScanningSequence/SequenceVariant/ScanOptions, sequence names, ImageType, TE/TR/TI, field
strength, Enhanced MR functional groups, private tags with their creators, Siemens protocol
keys in a CSA header) and the class it must get. Values follow real headers of the corpus
(``shared/dicom_headers``) and vendor conventions: Siemens ``*tir2d1``/``*tse2d1`` sequence
names and ``sPrepPulses`` keys, GE ``*_GEMS`` scan options and GEMS_ACQU_01 (0019,xx9C/xxA4),
Philips (2001,xx20) technique, (2001,xx21) SPIR and (2001,xx1B/xx1C) prepulse, Canon/Toshiba
``FSE2D``/``SEEPI2D`` names, Hitachi ``FSE``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from helpers.headers import ascconv_text, csa2_header

from acuity.ingest.enum import Plane
from acuity.select import ContrastClass, FatSuppression
from acuity.sim import (
    AXIAL_DIRECTION,
    CORONAL_DIRECTION,
    SAGITTAL_DIRECTION,
    PrivateTag,
    SeriesSpec,
)

C = ContrastClass
F = FatSuppression

_FREQ = {0.3: 12.77, 1.2: 51.09, 1.5: 63.87, 3.0: 127.74}
_DIRECTION = {
    Plane.SAGITTAL: SAGITTAL_DIRECTION,
    Plane.AXIAL: AXIAL_DIRECTION,
    Plane.CORONAL: CORONAL_DIRECTION,
}


@dataclass(frozen=True)
class Protocol:
    """One series to write and the classification it must get."""

    id: str
    contrast: ContrastClass
    fat: FatSuppression
    header: Mapping[str, Any]
    echo_time: float
    repetition_time: float
    inversion_time: float | None = None
    flip_angle: float = 90.0
    derived: bool = False
    plane: Plane = Plane.SAGITTAL
    private: Sequence[PrivateTag] = ()
    enhanced: bool = False
    functional_groups: Mapping[str, Any] = field(default_factory=dict)

    def spec(
        self,
        series_number: int,
        *,
        n_slices: int = 6,
        rows: int = 12,
        columns: int = 10,
        row_spacing: float = 30.0,
        plane: Plane | None = None,
        header: Mapping[str, Any] | None = None,
    ) -> SeriesSpec:
        """The SeriesSpec of this protocol (small volume; ``row_spacing`` sets the
        superior-inferior coverage of a sagittal stack: (rows - 1) x row_spacing)."""
        plane = plane or self.plane
        rng = np.random.default_rng(series_number)
        array = rng.integers(0, 1000, size=(n_slices, rows, columns), dtype=np.uint16)
        origin = {
            Plane.SAGITTAL: (-12.0, -60.0, 200.0),
            Plane.AXIAL: (-100.0, -100.0, -20.0),
            Plane.CORONAL: (-100.0, -20.0, 200.0),
        }[plane]
        spacing = (1.0, row_spacing, 4.0) if plane == Plane.SAGITTAL else (2.0, 2.0, 4.0)
        return SeriesSpec(
            array=array,
            origin=origin,
            spacing=spacing,
            direction=_DIRECTION[plane],
            series_number=series_number,
            series_description=str(self.header.get("SeriesDescription", self.id)),
            echo_time=self.echo_time,
            repetition_time=self.repetition_time,
            inversion_time=self.inversion_time,
            flip_angle=self.flip_angle,
            header={**self.header, **(header or {})},
            private=tuple(self.private),
            enhanced=self.enhanced,
            functional_groups=dict(self.functional_groups),
        )


# --------------------------------------------------------------------------- vendors


def _field(b0: float) -> dict[str, Any]:
    return {"MagneticFieldStrength": b0, "ImagingFrequency": _FREQ[b0]}


def siemens_csa(**keys: Any) -> PrivateTag:
    """A CSA series header (0029,xx20) holding the ASCCONV protocol ``keys``."""
    protocol = {k.replace("__", "."): v for k, v in keys.items()}
    blob = csa2_header({"MrPhoenixProtocol": [ascconv_text(protocol)]})
    return PrivateTag(0x0029, "SIEMENS CSA HEADER", 0x20, "OB", blob)


def siemens(
    id: str,
    contrast: ContrastClass,
    fat: FatSuppression,
    *,
    desc: str,
    seq: str,
    file: str,
    scanning: Sequence[str],
    variant: Sequence[str],
    options: Sequence[str],
    te: float,
    tr: float,
    ti: float | None = None,
    b0: float = 1.5,
    image_type: Sequence[str] = ("ORIGINAL", "PRIMARY", "M", "NORM", "DIS2D"),
    fat_sat: int = 0x4,
    inversion: int = 0x4,
    flip: float = 150.0,
    derived: bool = False,
    plane: Plane = Plane.SAGITTAL,
) -> Protocol:
    """Siemens syngo MR E11 (classic): CSA protocol with sPrepPulses keys."""
    header = {
        "Manufacturer": "SIEMENS",
        "ManufacturerModelName": "Aera" if b0 < 2 else "Skyra",
        "SoftwareVersions": "syngo MR E11",
        "SeriesDescription": desc,
        "ProtocolName": desc,
        "SequenceName": seq,
        "ScanningSequence": list(scanning),
        "SequenceVariant": list(variant),
        "ScanOptions": list(options),
        "ImageType": list(image_type),
        **_field(b0),
    }
    csa = siemens_csa(
        tSequenceFileName=f"%SiemensSeq%\\{file}",
        tProtocolName=desc,
        sProtConsistencyInfo__flNominalB0=f"{b0 - 0.006:.4f}",
        sPrepPulses__ucFatSat=f"0x{fat_sat:x}",
        sPrepPulses__ucInversion=f"0x{inversion:x}",
        **{"alTI[0]": int((ti or 300.0) * 1000)},
    )
    options_text = "/".join(["A1", *options])
    private = (csa, PrivateTag(0x0051, "SIEMENS MR HEADER", 0x19, "LO", options_text))
    return Protocol(id, contrast, fat, header, te, tr, ti, flip, derived, plane, private)


def siemens_xa(
    id: str,
    contrast: ContrastClass,
    fat: FatSuppression,
    *,
    desc: str,
    seq: str,
    te: float,
    tr: float,
    ti: float | None = None,
    suppression: str = "NONE",
    image_type: Sequence[str] = ("ORIGINAL", "PRIMARY", "M", "NONE"),
    echo: str = "SPIN",
    options: str = "",
    flip: float = 150.0,
) -> Protocol:
    """Siemens syngo MR XA (Enhanced MR): PulseSequenceName, SDS/SDI private tags."""
    header = {
        "Manufacturer": "Siemens Healthineers",
        "ManufacturerModelName": "MAGNETOM Vida",
        "SoftwareVersions": "syngo MR XA20",
        "SeriesDescription": desc,
        "ProtocolName": desc,
        "PulseSequenceName": seq,
        "EchoPulseSequence": echo,
        "SpectrallySelectedSuppression": suppression,
        "ImageType": list(image_type),
        "MagneticFieldStrength": 3.0,
    }
    private = [PrivateTag(0x0021, "SIEMENS MR SDI 02", 0x77, "LO", seq)]
    if options:
        private.append(PrivateTag(0x0021, "SIEMENS MR SDS 01", 0x5C, "CS", options))
    return Protocol(
        id, contrast, fat, header, te, tr, ti, flip, False, Plane.SAGITTAL, private, enhanced=True
    )


def ge(
    id: str,
    contrast: ContrastClass,
    fat: FatSuppression,
    *,
    desc: str,
    psd: str,
    scanning: Sequence[str],
    variant: Sequence[str],
    options: Sequence[str],
    te: float,
    tr: float,
    ti: float | None = None,
    b0: float = 1.5,
    sat: int = 0,
    image_type: Sequence[str] = ("ORIGINAL", "PRIMARY", "OTHER"),
    flip: float = 90.0,
    derived: bool = False,
) -> Protocol:
    """GE Signa (DV/MR29): *_GEMS scan options, GEMS_ACQU_01 pulse sequence name and fat SAT flag."""
    header = {
        "Manufacturer": "GE MEDICAL SYSTEMS",
        "ManufacturerModelName": "SIGNA HDxt" if b0 < 2 else "DISCOVERY MR750",
        "SoftwareVersions": ["27", "LX", "MR Software release:DV26.0_R02"],
        "SeriesDescription": desc,
        "ProtocolName": "LSPINE",
        "ScanningSequence": list(scanning),
        "SequenceVariant": list(variant),
        "ScanOptions": list(options),
        "ImageType": list(image_type),
        "InversionTime": 0.0 if ti is None else ti,
        **_field(b0),
    }
    private = (
        PrivateTag(0x0019, "GEMS_ACQU_01", 0x9C, "LO", psd),
        PrivateTag(0x0019, "GEMS_ACQU_01", 0x9E, "LO", psd.upper()),
        PrivateTag(0x0019, "GEMS_ACQU_01", 0xA4, "SS", sat),
        PrivateTag(0x0043, "GEMS_PARM_01", 0x2F, "SS", 0),
    )
    return Protocol(id, contrast, fat, header, te, tr, ti, flip, derived, Plane.SAGITTAL, private)


def philips(
    id: str,
    contrast: ContrastClass,
    fat: FatSuppression,
    *,
    desc: str,
    technique: str,
    scanning: Sequence[str],
    te: float,
    tr: float,
    ti: float | None = None,
    b0: float = 1.5,
    spir: str = "N",
    options: Sequence[str] = ("OTHER",),
    image_type: Sequence[str] = ("ORIGINAL", "PRIMARY", "M_SE", "M", "SE"),
    prepulse: tuple[str, float] = ("NO", 0.0),
    ti_tag: bool = True,
    flip: float = 90.0,
) -> Protocol:
    """Philips (classic): (2001,xx20) scanning technique, (2001,xx21) SPIR, prepulse type/delay."""
    header: dict[str, Any] = {
        "Manufacturer": "Philips Medical Systems",
        "ManufacturerModelName": "Achieva" if b0 < 2 else "Ingenia",
        "SoftwareVersions": ["5.6.1", "5.6.1.1"],
        "SeriesDescription": desc,
        "ProtocolName": f"WIP {desc} SENSE",
        "ScanningSequence": list(scanning),
        "SequenceVariant": "SK",
        "ScanOptions": list(options),
        "ImageType": list(image_type),
        **_field(b0),
    }
    private = (
        PrivateTag(0x2001, "Philips Imaging DD 001", 0x20, "LO", technique),
        PrivateTag(0x2001, "Philips Imaging DD 001", 0x21, "CS", spir),
        PrivateTag(0x2001, "Philips Imaging DD 001", 0x1C, "CS", prepulse[0]),
        PrivateTag(0x2001, "Philips Imaging DD 001", 0x1B, "FL", prepulse[1]),
        PrivateTag(0x2001, "Philips Imaging DD 001", 0x03, "FL", 0.0),
    )
    return Protocol(
        id,
        contrast,
        fat,
        header,
        te,
        tr,
        ti if ti_tag else None,
        flip,
        False,
        Plane.SAGITTAL,
        private,
    )


def philips_enhanced(
    id: str,
    contrast: ContrastClass,
    fat: FatSuppression,
    *,
    desc: str,
    technique: str,
    te: float,
    tr: float,
    ti: float | None = None,
    acquisition_contrast: str = "UNKNOWN",
    frame_type: Sequence[str] = ("ORIGINAL", "PRIMARY", "T2", "NONE"),
    suppression: str = "NONE",
    excitation: str = "NONE",
    spir: str = "N",
) -> Protocol:
    """Philips Ingenia 3 T Enhanced MR: AcquisitionContrast, FrameType, pulse sequence module."""
    header = {
        "Manufacturer": "Philips",
        "ManufacturerModelName": "Ingenia Elition X",
        "SoftwareVersions": ["5.7.1", "5.7.1.3"],
        "SeriesDescription": desc,
        "ProtocolName": desc,
        "PulseSequenceName": technique,
        "EchoPulseSequence": "SPIN",
        "SpectrallySelectedSuppression": suppression,
        "AcquisitionContrast": acquisition_contrast,
        "ImageType": list(frame_type),
        "MagneticFieldStrength": 3.0,
    }
    fg = {
        "MRImageFrameTypeSequence": {"AcquisitionContrast": acquisition_contrast},
        "MRModifierSequence": {"SpectrallySelectedExcitation": excitation},
    }
    private = (
        PrivateTag(0x2001, "Philips Imaging DD 001", 0x20, "LO", technique),
        PrivateTag(0x2001, "Philips Imaging DD 001", 0x21, "CS", spir),
    )
    return Protocol(
        id, contrast, fat, header, te, tr, ti, 90.0, False, Plane.SAGITTAL, private, True, fg
    )


def canon(
    id: str,
    contrast: ContrastClass,
    fat: FatSuppression,
    *,
    desc: str,
    seq: str,
    scanning: Sequence[str],
    te: float,
    tr: float,
    ti: float | None = None,
    b0: float = 1.5,
    options: Sequence[str] = (),
    flip: float = 90.0,
) -> Protocol:
    """Canon/Toshiba Vantage: FSE2D/SEEPI2D sequence names, CANON_MEC_MR3 private block."""
    header = {
        "Manufacturer": "CANON_MEC" if b0 > 2 else "TOSHIBA",
        "ManufacturerModelName": "Vantage Galan 3T" if b0 > 2 else "MRT200PP5",
        "SoftwareVersions": "V7.0",
        "SeriesDescription": desc,
        "ProtocolName": desc,
        "SequenceName": seq,
        "ScanningSequence": list(scanning),
        "SequenceVariant": "SK",
        "ScanOptions": list(options) if options else "",
        "ImageType": ["ORIGINAL", "PRIMARY", "OTHER"],
        **_field(b0),
    }
    private = (PrivateTag(0x700D, "TOSHIBA_MEC_MR3", 0x0C, "CS", "Y"),)
    return Protocol(id, contrast, fat, header, te, tr, ti, flip, False, Plane.SAGITTAL, private)


def hitachi(
    id: str,
    contrast: ContrastClass,
    fat: FatSuppression,
    *,
    desc: str,
    seq: str,
    scanning: Sequence[str],
    te: float,
    tr: float,
    ti: float | None = None,
    b0: float = 0.3,
    options: Sequence[str] = ("FC", "SP"),
) -> Protocol:
    """Hitachi AIRIS (0.3 T) / Echelon (1.5 T): FSE/FIR sequence names, no private tags."""
    header = {
        "Manufacturer": "Hitachi Medical Corporation",
        "ManufacturerModelName": "AIRIS II" if b0 < 1 else "ECHELON",
        "SoftwareVersions": "V5.0R-3",
        "SeriesDescription": desc,
        "SequenceName": seq,
        "ScanningSequence": list(scanning),
        "SequenceVariant": ["SK", "OSP"],
        "ScanOptions": list(options),
        "ImageType": ["ORIGINAL", "PRIMARY", "OTHER"],
        **_field(b0),
    }
    return Protocol(id, contrast, fat, header, te, tr, ti, 90.0, False, Plane.SAGITTAL, ())


# --------------------------------------------------------------------------- the matrix

_SE_IR = ("SE", "IR")
_SIEMENS_TSE = {
    "seq": "*tse2d1_15",
    "file": "tse",
    "scanning": ("SE",),
    "variant": ("SK", "SP", "OSP"),
}
_DIXON_TSE = {**_SIEMENS_TSE, "seq": "*tse2d1_15", "file": "tse_dixon"}
_GE_FSE = {"psd": "fse-xl", "scanning": ("SE",), "variant": ("SK", "OSP")}

PROTOCOLS: tuple[Protocol, ...] = (
    # ---- Siemens classic 1.5 T -----------------------------------------------------
    siemens(
        "siemens15_stir_tirm",
        C.STIR,
        F.INVERSION_RECOVERY,
        desc="t2_tirm_sag_p2",
        seq="*tir2d1_13",
        file="tse",
        scanning=_SE_IR,
        variant=("SK", "SP", "MP", "OSP"),
        options=("IR", "PFP"),
        te=56,
        tr=4000,
        ti=160,
        inversion=0x1,
    ),
    siemens(
        "siemens15_t2_tse",
        C.T2,
        F.NONE,
        desc="t2_tse_sag_p2",
        te=95,
        tr=3500,
        options=("PFP",),
        **_SIEMENS_TSE,
    ),
    siemens(
        "siemens15_t2_tse_fs",
        C.T2_FS,
        F.SPECTRAL,
        desc="t2_tse_fs_sag",
        te=84,
        tr=3800,
        options=("PFP", "FS"),
        fat_sat=0x1,
        **_SIEMENS_TSE,
    ),
    siemens(
        "siemens15_t1_tse",
        C.T1,
        F.NONE,
        desc="t1_tse_sag",
        te=10,
        tr=550,
        options=("PFP",),
        **_SIEMENS_TSE,
    ),
    siemens(
        "siemens15_dixon_w",
        C.DIXON_WATER,
        F.DIXON,
        desc="t2_tse_dixon_sag_W",
        te=78,
        tr=3600,
        options=("PFP",),
        image_type=("DERIVED", "PRIMARY", "DIXON", "WATER"),
        **_DIXON_TSE,
    ),
    siemens(
        "siemens15_dixon_f",
        C.DIXON_FAT,
        F.DIXON,
        desc="t2_tse_dixon_sag_F",
        te=78,
        tr=3600,
        options=("PFP",),
        image_type=("DERIVED", "PRIMARY", "DIXON", "FAT"),
        **_DIXON_TSE,
    ),
    siemens(
        "siemens15_dixon_in",
        C.DIXON_IN_PHASE,
        F.DIXON,
        desc="t2_tse_dixon_sag_in",
        te=78,
        tr=3600,
        options=("PFP",),
        image_type=("ORIGINAL", "PRIMARY", "DIXON", "IN_PHASE"),
        **_DIXON_TSE,
    ),
    siemens(
        "siemens15_dixon_opp",
        C.DIXON_OPPOSED_PHASE,
        F.DIXON,
        desc="t2_tse_dixon_sag_opp",
        te=78,
        tr=3600,
        options=("PFP",),
        image_type=("ORIGINAL", "PRIMARY", "DIXON", "OPP_PHASE"),
        **_DIXON_TSE,
    ),
    siemens(
        "siemens15_localizer",
        C.LOCALIZER,
        F.NONE,
        desc="localizer",
        seq="*fl2d1",
        file="gre",
        scanning=("GR",),
        variant=("SP", "OSP"),
        options=(),
        te=4.0,
        tr=8.6,
        flip=20,
    ),
    siemens(
        "siemens15_stir_mpr",
        C.STIR,
        F.INVERSION_RECOVERY,
        desc="t2_tirm_sag_p2_MPR",
        seq="*tir2d1_13",
        file="tse",
        scanning=_SE_IR,
        variant=("SK", "SP", "MP", "OSP"),
        options=("IR", "PFP"),
        te=56,
        tr=4000,
        ti=160,
        inversion=0x1,
        derived=True,
        image_type=("DERIVED", "SECONDARY", "MPR", "CSA MPR", "CSAPARALLEL", "M", "ND", "NORM"),
    ),
    siemens(
        "siemens15_dwi",
        C.DWI,
        F.SPECTRAL,
        desc="ep2d_diff_sag_b50_800",
        seq="*ep_b800t",
        file="ep2d_diff",
        scanning=("EP",),
        variant=("SK", "SP"),
        options=("PFP", "FS"),
        te=71,
        tr=5200,
        fat_sat=0x1,
        image_type=("ORIGINAL", "PRIMARY", "DIFFUSION", "NONE", "ND", "NORM"),
    ),
    siemens(
        "siemens15_flair",
        C.FLAIR,
        F.NONE,
        desc="t2_tirm_sag_dark-fluid",
        seq="*tir2d1_21",
        file="tse",
        scanning=_SE_IR,
        variant=("SK", "SP", "MP"),
        options=("IR",),
        te=90,
        tr=9000,
        ti=2500,
        inversion=0x1,
    ),
    # ---- Siemens classic 3 T ---------------------------------------------------------
    siemens(
        "siemens3_stir_tirm",
        C.STIR,
        F.INVERSION_RECOVERY,
        desc="T2_TIRM_SAG",
        seq="*tir2d1_13",
        file="tse",
        scanning=_SE_IR,
        variant=("SK", "SP", "MP"),
        options=("IR",),
        te=45,
        tr=4500,
        ti=220,
        b0=3.0,
        inversion=0x1,
    ),
    siemens(
        "siemens3_t2_spair",
        C.T2_FS,
        F.SPECTRAL,
        desc="t2_tse_spair_sag",
        te=96,
        tr=4200,
        b0=3.0,
        options=("PFP", "FS"),
        fat_sat=0x1,
        **_SIEMENS_TSE,
    ),
    # ---- Siemens XA (Enhanced MR) 3 T -------------------------------------------------
    siemens_xa(
        "siemensxa_stir",
        C.STIR,
        F.INVERSION_RECOVERY,
        desc="t2_tirm_sag",
        seq="*tir2d1_15",
        te=48,
        tr=5000,
        ti=230,
        options="IR\\PFP",
    ),
    siemens_xa(
        "siemensxa_t2_fs",
        C.T2_FS,
        F.SPECTRAL,
        desc="t2_tse_fs_sag",
        seq="*tse2d1_17",
        te=90,
        tr=4000,
        suppression="FAT",
        options="FS\\PFP",
    ),
    siemens_xa("siemensxa_t1", C.T1, F.NONE, desc="t1_tse_sag", seq="*tse2d1_3", te=9, tr=600),
    siemens_xa(
        "siemensxa_dixon_w",
        C.DIXON_WATER,
        F.DIXON,
        desc="t2_tse_dixon_sag_W",
        seq="*tse2d1_15",
        te=80,
        tr=4000,
        image_type=("DERIVED", "PRIMARY", "DIXON", "WATER"),
    ),
    siemens_xa(
        "siemensxa_localizer",
        C.LOCALIZER,
        F.NONE,
        desc="AAHead_Scout",
        seq="*fl3d1_ns",
        te=1.4,
        tr=3.2,
        echo="GRADIENT",
        flip=8,
    ),
    # ---- GE 1.5 T ------------------------------------------------------------------------
    ge(
        "ge15_stir",
        C.STIR,
        F.INVERSION_RECOVERY,
        desc="Sag STIR",
        psd="fse-xl",
        scanning=_SE_IR,
        variant=("SK", "MP", "OSP"),
        options=("FAST_GEMS", "IR_GEMS", "NPW", "EDR_GEMS", "FILTERED_GEMS"),
        te=42,
        tr=3600,
        ti=150,
    ),
    ge(
        "ge15_t2_fs",
        C.T2_FS,
        F.SPECTRAL,
        desc="Sag T2 FS",
        options=("FAST_GEMS", "NPW", "SAT_GEMS", "FS"),
        te=85,
        tr=3300,
        sat=1,
        **_GE_FSE,
    ),
    ge(
        "ge15_t2_fsa_trap",
        C.T2,
        F.NONE,
        desc="Sag T2 FRFSE",
        options=("FAST_GEMS", "FSA_GEMS", "NPW", "EDR_GEMS", "ACC_GEMS"),
        te=110,
        tr=3200,
        **_GE_FSE,
    ),
    ge(
        "ge15_t1",
        C.T1,
        F.NONE,
        desc="Sag T1",
        options=("FAST_GEMS", "NPW", "EDR_GEMS"),
        te=9,
        tr=550,
        **_GE_FSE,
    ),
    ge(
        "ge15_localizer",
        C.LOCALIZER,
        F.NONE,
        desc="3-Plane Loc",
        psd="fgre",
        scanning=("GR",),
        variant=("SS",),
        options=("FAST_GEMS", "SEQ_GEMS"),
        te=1.6,
        tr=4.5,
        flip=30,
        image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"),
    ),
    ge(
        "ge15_reformat",
        C.T2,
        F.NONE,
        desc="Sag T2 Reformat",
        options=("FAST_GEMS",),
        te=102,
        tr=3500,
        image_type=("DERIVED", "SECONDARY", "REFORMATTED", "AVERAGE"),
        derived=True,
        **_GE_FSE,
    ),
    # ---- GE 3 T: FLEX (IDEAL) water/fat/in/out -----------------------------------------
    ge(
        "ge3_flex_water",
        C.DIXON_WATER,
        F.DIXON,
        desc="WATER: Sag T2 FSE FLEX",
        psd="fse-ideal",
        scanning=("SE",),
        variant=("SK", "OSP"),
        options=("FAST_GEMS", "EDR_GEMS", "IDEAL_GEMS"),
        te=85,
        tr=3500,
        b0=3.0,
    ),
    ge(
        "ge3_flex_fat",
        C.DIXON_FAT,
        F.DIXON,
        desc="FAT: Sag T2 FSE FLEX",
        psd="fse-ideal",
        scanning=("SE",),
        variant=("SK", "OSP"),
        options=("FAST_GEMS", "EDR_GEMS", "IDEAL_GEMS"),
        te=85,
        tr=3500,
        b0=3.0,
    ),
    ge(
        "ge3_flex_inphase",
        C.DIXON_IN_PHASE,
        F.DIXON,
        desc="InPhase: Sag T2 FSE FLEX",
        psd="fse-ideal",
        scanning=("SE",),
        variant=("SK", "OSP"),
        options=("FAST_GEMS", "EDR_GEMS", "IDEAL_GEMS"),
        te=85,
        tr=3500,
        b0=3.0,
    ),
    ge(
        "ge3_flex_outphase",
        C.DIXON_OPPOSED_PHASE,
        F.DIXON,
        desc="OutPhase: Sag T2 FSE FLEX",
        psd="fse-ideal",
        scanning=("SE",),
        variant=("SK", "OSP"),
        options=("FAST_GEMS", "EDR_GEMS", "IDEAL_GEMS"),
        te=85,
        tr=3500,
        b0=3.0,
    ),
    ge(
        "ge3_stir",
        C.STIR,
        F.INVERSION_RECOVERY,
        desc="SAG STIR",
        psd="fse-xl",
        scanning=("IR",),
        variant=("SK", "MP"),
        options=("FAST_GEMS", "IR_GEMS", "EDR_GEMS"),
        te=50,
        tr=4200,
        ti=210,
        b0=3.0,
    ),
    # ---- Philips classic 1.5 T -----------------------------------------------------------
    philips(
        "philips15_stir",
        C.STIR,
        F.INVERSION_RECOVERY,
        desc="sag STIR",
        technique="TIR",
        scanning=("IR",),
        te=60,
        tr=3500,
        ti=165,
        image_type=("ORIGINAL", "PRIMARY", "M_IR", "M", "IR"),
        prepulse=("INV", 165.0),
    ),
    philips(
        "philips15_t2_spir",
        C.T2_FS,
        F.SPECTRAL,
        desc="T2W_TSE_SPIR",
        technique="TSE",
        scanning=("SE",),
        te=100,
        tr=3000,
        spir="Y",
        options=("FS",),
    ),
    philips(
        "philips15_t1",
        C.T1,
        F.NONE,
        desc="T1W_TSE",
        technique="TSE",
        scanning=("SE",),
        te=8,
        tr=500,
    ),
    philips(
        "philips15_t2",
        C.T2,
        F.NONE,
        desc="T2W_TSE",
        technique="TSE",
        scanning=("SE",),
        te=110,
        tr=3200,
    ),
    philips(
        "philips15_survey",
        C.LOCALIZER,
        F.NONE,
        desc="Survey",
        technique="FFE",
        scanning=("GR",),
        te=4.6,
        tr=11,
        options=(),
        image_type=("ORIGINAL", "PRIMARY", "M_FFE", "M", "FFE"),
        flip=15,
    ),
    # ---- Philips classic 3 T ---------------------------------------------------------------
    philips(
        "philips3_spair",
        C.T2_FS,
        F.SPECTRAL,
        desc="sT2W_SPAIR",
        technique="TSE",
        scanning=("SE",),
        te=80,
        tr=3600,
        b0=3.0,
        options=("FS",),
    ),
    philips(
        "philips3_stir_private_ti",
        C.STIR,
        F.INVERSION_RECOVERY,
        desc="sag_stir",
        technique="TIR",
        scanning=("SE", "IR"),
        te=55,
        tr=5000,
        ti=210,
        b0=3.0,
        prepulse=("INV", 210.0),
        ti_tag=False,
        image_type=("ORIGINAL", "PRIMARY", "M_IR", "M", "IR"),
    ),
    philips(
        "philips3_mdixon_w",
        C.DIXON_WATER,
        F.DIXON,
        desc="sT2W_mDIXON_TSE W",
        technique="TSE",
        scanning=("SE",),
        te=100,
        tr=3000,
        b0=3.0,
        image_type=("ORIGINAL", "PRIMARY", "W_SE", "W", "SE"),
    ),
    philips(
        "philips3_mdixon_f",
        C.DIXON_FAT,
        F.DIXON,
        desc="sT2W_mDIXON_TSE F",
        technique="TSE",
        scanning=("SE",),
        te=100,
        tr=3000,
        b0=3.0,
        image_type=("ORIGINAL", "PRIMARY", "F_SE", "F", "SE"),
    ),
    philips(
        "philips3_mdixon_ip",
        C.DIXON_IN_PHASE,
        F.DIXON,
        desc="sT2W_mDIXON_TSE IP",
        technique="TSE",
        scanning=("SE",),
        te=100,
        tr=3000,
        b0=3.0,
        image_type=("ORIGINAL", "PRIMARY", "IP_SE", "IP", "SE"),
    ),
    philips(
        "philips3_mdixon_op",
        C.DIXON_OPPOSED_PHASE,
        F.DIXON,
        desc="sT2W_mDIXON_TSE OP",
        technique="TSE",
        scanning=("SE",),
        te=100,
        tr=3000,
        b0=3.0,
        image_type=("ORIGINAL", "PRIMARY", "OP_SE", "OP", "SE"),
    ),
    # ---- Philips Enhanced MR 3 T ------------------------------------------------------------
    philips_enhanced(
        "philipsenh_stir",
        C.STIR,
        F.INVERSION_RECOVERY,
        desc="STIR_sag",
        technique="TIR",
        te=50,
        tr=4800,
        ti=220,
        acquisition_contrast="T2",
    ),
    philips_enhanced(
        "philipsenh_t2",
        C.T2,
        F.NONE,
        desc="T2W_TSE_sag",
        technique="TSE",
        te=100,
        tr=3500,
        acquisition_contrast="T2",
    ),
    philips_enhanced(
        "philipsenh_t1",
        C.T1,
        F.NONE,
        desc="T1W_TSE_sag",
        technique="TSE",
        te=9,
        tr=600,
        acquisition_contrast="T1",
        frame_type=("ORIGINAL", "PRIMARY", "T1", "NONE"),
    ),
    philips_enhanced(
        "philipsenh_mdixon_w",
        C.DIXON_WATER,
        F.DIXON,
        desc="T2W_mDIXON_sag",
        technique="TSE",
        te=100,
        tr=3500,
        acquisition_contrast="T2",
        frame_type=("ORIGINAL", "PRIMARY", "DIXON", "WATER"),
    ),
    philips_enhanced(
        "philipsenh_t2_spir",
        C.T2_FS,
        F.SPECTRAL,
        desc="T2W_TSE_sag_fatsup",
        technique="TSE",
        te=90,
        tr=3500,
        acquisition_contrast="T2",
        suppression="FAT",
        spir="Y",
    ),
    # ---- Canon / Toshiba --------------------------------------------------------------------
    canon(
        "canon15_stir",
        C.STIR,
        F.INVERSION_RECOVERY,
        desc="Sag STIR",
        seq="FSE2D",
        scanning=_SE_IR,
        te=60,
        tr=4500,
        ti=160,
    ),
    canon(
        "canon15_t2_fatsat",
        C.T2_FS,
        F.SPECTRAL,
        desc="Sag T2 FatSat",
        seq="FSE2D",
        scanning=("SE",),
        te=90,
        tr=3500,
    ),
    canon("canon15_t1", C.T1, F.NONE, desc="Sag T1", seq="FSE2D", scanning=("SE",), te=10, tr=520),
    canon(
        "canon15_t2", C.T2, F.NONE, desc="Sag T2", seq="FSE2D", scanning=("SE",), te=100, tr=3400
    ),
    canon(
        "canon15_dwi",
        C.DWI,
        F.SPECTRAL,
        desc="DWI b1000 sag",
        seq="SEEPI2D+0.7",
        scanning=("SE", "EP"),
        te=79,
        tr=5000,
        options=("FS",),
    ),
    canon(
        "canon3_stir",
        C.STIR,
        F.INVERSION_RECOVERY,
        desc="STIR SAG",
        seq="FSE2D",
        scanning=("IR",),
        te=60,
        tr=5000,
        ti=230,
        b0=3.0,
    ),
    canon(
        "canon3_localizer",
        C.LOCALIZER,
        F.NONE,
        desc="Locator",
        seq="FFE3D",
        scanning=("GR",),
        te=2.4,
        tr=5.0,
        b0=3.0,
        flip=15,
    ),
    # ---- Hitachi -----------------------------------------------------------------------------
    hitachi(
        "hitachi03_stir",
        C.STIR,
        F.INVERSION_RECOVERY,
        desc="STIR SAG",
        seq="FIR",
        scanning=("IR",),
        te=30,
        tr=2800,
        ti=95,
    ),
    hitachi(
        "hitachi03_t2", C.T2, F.NONE, desc="T2 DE SAG", seq="FSE", scanning=("SE",), te=125, tr=3500
    ),
    hitachi("hitachi03_t1", C.T1, F.NONE, desc="T1 SAG", seq="SE", scanning=("SE",), te=15, tr=450),
    hitachi(
        "hitachi15_stir",
        C.STIR,
        F.INVERSION_RECOVERY,
        desc="Sag IR",
        seq="FIR",
        scanning=("IR",),
        te=40,
        tr=4000,
        ti=150,
        b0=1.5,
    ),
    hitachi(
        "hitachi15_t2_fs",
        C.T2_FS,
        F.SPECTRAL,
        desc="T2 FS SAG",
        seq="FSE",
        scanning=("SE",),
        te=100,
        tr=3600,
        b0=1.5,
        options=("FS", "SP"),
    ),
)


def protocol(protocol_id: str) -> Protocol:
    for p in PROTOCOLS:
        if p.id == protocol_id:
            return p
    raise KeyError(f"no protocol {protocol_id!r}; known: {[p.id for p in PROTOCOLS]}")

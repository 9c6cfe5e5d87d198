"""Siemens-style series protocols (1.5 T) for simulated studies: timing and header values.

Header conventions follow real Siemens MR headers (``shared/dicom_headers``): SequenceName
``*tse2d1_<ETL>`` / ``*tir2d1_<ETL>`` / ``*fl2d1``, ScanningSequence ``SE`` / ``['SE', 'IR']`` /
``GR``, ImageType ``ORIGINAL\\PRIMARY\\M\\NORM\\DIS2D``, private groups (0019) and (0051)
"SIEMENS MR HEADER".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from acuity.sim.dicom_writer import PrivateTag
from acuity.sim.lesion import Contrast
from acuity.sim.tissue import PulseSequence, SequenceKind

SIEMENS_CREATOR = "SIEMENS MR HEADER"


@dataclass(frozen=True)
class Protocol:
    """One acquisition: its name on the scanner, timing and Siemens header values."""

    description: str
    contrast: Contrast
    sequence: PulseSequence
    sequence_name: str
    scanning_sequence: tuple[str, ...]
    sequence_variant: tuple[str, ...]
    scan_options: tuple[str, ...]
    echo_train_length: int
    slice_thickness: float
    pixel_bandwidth: float
    image_type: tuple[str, ...] = ("ORIGINAL", "PRIMARY", "M", "NORM", "DIS2D")

    def header(self, *, series_time: str, matrix_text: str, fov_text: str) -> dict[str, Any]:
        """Header keywords for :class:`acuity.sim.dicom_writer.SeriesSpec`."""
        seq = self.sequence
        h: dict[str, Any] = {
            "Manufacturer": "SIEMENS",
            "ManufacturerModelName": "Avanto",
            "SoftwareVersions": "syngo MR B17",
            "InstitutionName": "ACUITY SYNTHETIC PHANTOM",
            "StationName": "ACUITYSIM",
            "DeviceSerialNumber": "00000",
            "MagneticFieldStrength": 1.5,
            "ImagingFrequency": 63.676,
            "ImagedNucleus": "1H",
            "BodyPartExamined": "LSPINE",
            "PatientPosition": "HFS",
            "PatientAge": "072Y",
            "PatientWeight": 61.0,
            "ProtocolName": self.description,
            "SequenceName": self.sequence_name,
            "ScanningSequence": list(self.scanning_sequence) if len(self.scanning_sequence) > 1
            else self.scanning_sequence[0],
            "SequenceVariant": list(self.sequence_variant),
            "ScanOptions": list(self.scan_options) if self.scan_options else "",
            "MRAcquisitionType": "2D",
            "ImageType": list(self.image_type),
            "EchoTrainLength": self.echo_train_length,
            "EchoNumbers": 1,
            "NumberOfAverages": 1.0 if seq.kind is not SequenceKind.SPIN_ECHO else 2.0,
            "SliceThickness": self.slice_thickness,
            "PixelBandwidth": self.pixel_bandwidth,
            "ReceiveCoilName": "SP4",
            "TransmitCoilName": "Body",
            "InPlanePhaseEncodingDirection": "COL",
            "PercentSampling": 100.0,
            "PercentPhaseFieldOfView": 100.0,
            "SeriesTime": series_time,
            "AcquisitionTime": series_time,
            "ContentTime": series_time,
        }
        return h

    def private(self, *, matrix_text: str, fov_text: str, orientation_text: str,
                acquisition_seconds: int) -> list[PrivateTag]:
        """A few Siemens private elements (the CSA headers themselves are not written)."""
        mins, secs = divmod(acquisition_seconds, 60)
        c = SIEMENS_CREATOR
        return [
            PrivateTag(0x0019, c, 0x08, "CS", "IMAGE NUM 4"),
            PrivateTag(0x0019, c, 0x09, "LO", "1.0"),
            PrivateTag(0x0019, c, 0x0F, "SH", "Normal"),
            PrivateTag(0x0019, c, 0x11, "SH", "No"),
            PrivateTag(0x0019, c, 0x12, "SL", [0, 0, -1190]),
            PrivateTag(0x0051, c, 0x08, "CS", "IMAGE NUM 4"),
            PrivateTag(0x0051, c, 0x09, "LO", "1.0"),
            PrivateTag(0x0051, c, 0x0A, "LO", f"TA {mins:02d}:{secs:02d}"),
            PrivateTag(0x0051, c, 0x0B, "LO", matrix_text),
            PrivateTag(0x0051, c, 0x0C, "LO", fov_text),
            PrivateTag(0x0051, c, 0x0E, "LO", orientation_text),
            PrivateTag(0x0051, c, 0x0F, "LO", "SP4-6"),
            PrivateTag(0x0051, c, 0x13, "SH", "+LPH"),
            PrivateTag(0x0051, c, 0x17, "SH", f"SL {self.slice_thickness:.1f}"),
        ]


LOCALIZER = Protocol(
    description="localizer",
    contrast=Contrast.T1,
    sequence=PulseSequence(SequenceKind.GRADIENT_ECHO, tr=8.6, te=4.0, flip=20.0),
    sequence_name="*fl2d1",
    scanning_sequence=("GR",),
    sequence_variant=("SP", "OSP"),
    scan_options=(),
    echo_train_length=1,
    slice_thickness=7.0,
    pixel_bandwidth=320.0,
)
T2_TSE_SAG = Protocol(
    description="t2_tse_sag",
    contrast=Contrast.T2,
    sequence=PulseSequence(SequenceKind.SPIN_ECHO, tr=3500.0, te=95.0, flip=150.0),
    sequence_name="*tse2d1_17",
    scanning_sequence=("SE",),
    sequence_variant=("SK", "SP", "OSP"),
    scan_options=("SAT1",),
    echo_train_length=17,
    slice_thickness=4.0,
    pixel_bandwidth=230.0,
)
T1_TSE_SAG = Protocol(
    description="t1_tse_sag",
    contrast=Contrast.T1,
    sequence=PulseSequence(SequenceKind.SPIN_ECHO, tr=600.0, te=10.0, flip=150.0),
    sequence_name="*tse2d1_3",
    scanning_sequence=("SE",),
    sequence_variant=("SK", "SP", "OSP"),
    scan_options=("SAT1",),
    echo_train_length=3,
    slice_thickness=4.0,
    pixel_bandwidth=190.0,
)
T2_TIRM_SAG = Protocol(
    description="t2_tirm_sag",
    contrast=Contrast.STIR,
    sequence=PulseSequence(SequenceKind.INVERSION_RECOVERY, tr=3800.0, te=56.0, ti=160.0,
                           flip=150.0),
    sequence_name="*tir2d1_15",
    scanning_sequence=("SE", "IR"),
    sequence_variant=("SK", "SP", "MP"),
    scan_options=("IR",),
    echo_train_length=15,
    slice_thickness=4.0,
    pixel_bandwidth=250.0,
)
T2_TSE_TRA = Protocol(
    description="t2_tse_tra",
    contrast=Contrast.T2,
    sequence=PulseSequence(SequenceKind.SPIN_ECHO, tr=4000.0, te=101.0, flip=150.0),
    sequence_name="*tse2d1_15",
    scanning_sequence=("SE",),
    sequence_variant=("SK", "SP", "OSP"),
    scan_options=("SAT1",),
    echo_train_length=15,
    slice_thickness=4.0,
    pixel_bandwidth=190.0,
)
#: Siemens Dixon water image (for real water-like exams converted to DICOM).
T1_DIXON_W_SAG = Protocol(
    description="t1_vibe_dixon_sag_W",
    contrast=Contrast.WATER,
    sequence=PulseSequence(SequenceKind.GRADIENT_ECHO, tr=6.9, te=2.4, flip=10.0),
    sequence_name="*fl3d2",
    scanning_sequence=("GR",),
    sequence_variant=("SP", "OSP"),
    scan_options=("PFP",),
    echo_train_length=2,
    slice_thickness=1.0,
    pixel_bandwidth=450.0,
    image_type=("DERIVED", "PRIMARY", "DIXON", "WATER"),
)

#: Protocol used for a real exam of each contrast.
PROTOCOL_FOR_CONTRAST: dict[Contrast, Protocol] = {
    Contrast.T1: T1_TSE_SAG,
    Contrast.T2: T2_TSE_SAG,
    Contrast.STIR: T2_TIRM_SAG,
    Contrast.WATER: T1_DIXON_W_SAG,
}

"""Secondary Capture key image: the annotated sagittal views, so that any PACS viewer shows
the result. Patient and study come from a source instance; the image goes in a new series."""

from __future__ import annotations

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian

from acuity.report.dicom_common import MANUFACTURER, MODEL_NAME, SOFTWARE_VERSION, output_uid


def build_key_image(
    rgb: np.ndarray, reference: Dataset, *, digest: str, series_number: int
) -> hd.sc.SCImage:
    """An RGB Secondary Capture of ``rgb`` (rows x columns x 3, uint8), in the study of
    ``reference`` (a header of the displayed source series)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(
            f"key image must be RGB uint8 (rows, columns, 3), got {rgb.shape} {rgb.dtype}"
        )
    sc = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=reference,
        pixel_array=rgb,
        photometric_interpretation=hd.PhotometricInterpretationValues.RGB,
        bits_allocated=8,
        coordinate_system=hd.CoordinateSystemNames.PATIENT,
        series_instance_uid=output_uid(digest, "key_image", "series"),
        series_number=series_number,
        sop_instance_uid=output_uid(digest, "key_image"),
        instance_number=1,
        manufacturer=MANUFACTURER,
        # Views are sagittal: columns run anterior -> posterior, rows head -> feet.
        patient_orientation=("P", "F"),
        manufacturer_model_name=MODEL_NAME,
        software_versions=SOFTWARE_VERSION,
        series_description="acuity key image (decision support)",
        transfer_syntax_uid=ExplicitVRLittleEndian,
    )
    sc.BodyPartExamined = reference.get("BodyPartExamined") or "SPINE"
    sc.BurnedInAnnotation = "NO"  # level names and a caption, nothing that identifies the patient
    sc.ImageComments = "acuity: decision support, not a diagnosis"
    sc.DerivationDescription = (
        "Sagittal planes of the source series resampled and annotated by acuity"
    )
    return sc

"""Rebuild a scanned stack into a 3-D SimpleITK image (the only place pixels are read)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from acuity.errors import DicomError
from acuity.ingest.model import Frame, Series, SeriesStack, Volume

logger = logging.getLogger(__name__)

sitk: Any = SimpleITK  # SimpleITK has no type annotations

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def _describe(stack: SeriesStack, series: Series) -> str:
    number = f"series {series.series_number}" if series.series_number is not None else "series"
    label = f" {series.description!r}" if series.description else ""
    return f"{number}{label} (stack {stack.stack_id})"


def _ensure_transfer_syntax(ds: Dataset) -> None:
    """Give a raw data set (no file meta, read with ``force``) the syntax it was read in."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        return
    implicit, little = ds.original_encoding
    if implicit is None:
        return
    if meta is None:
        meta = FileMetaDataset()
        ds.file_meta = meta
    if implicit:
        meta.TransferSyntaxUID = ImplicitVRLittleEndian
    else:
        meta.TransferSyntaxUID = ExplicitVRLittleEndian if little else ExplicitVRBigEndian


def _read_frames(path: Path, frames: list[Frame]) -> np.ndarray:
    """Stored pixel values of ``path`` as (frames, rows, columns)."""
    expected = frames[0]
    syntax = "unknown"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds = dcmread(path, force=True)
        _ensure_transfer_syntax(ds)
        meta = getattr(ds, "file_meta", None)
        if meta is not None and "TransferSyntaxUID" in meta:
            syntax = f"{meta.TransferSyntaxUID.name} ({meta.TransferSyntaxUID})"
        eof = [str(w.message) for w in caught if "end of file" in str(w.message).lower()]
        if eof or not any(k in ds for k in _PIXEL_KEYWORDS):
            raise DicomError(
                f"cannot read the pixel data of {path}: the file ends inside its data "
                f"({eof[0] if eof else 'no Pixel Data (7FE0,0010) could be read'}); the file is "
                "truncated or corrupt: copy or export it again"
            )
        sop = str(ds.get("SOPInstanceUID", ""))
        if sop != expected.sop_instance_uid:
            raise DicomError(
                f"{path} changed since the folder was scanned (SOPInstanceUID is now {sop!r}, "
                f"was {expected.sop_instance_uid!r}): scan the folder again"
            )
        pixels = np.asarray(ds.pixel_array)
    except DicomError:
        raise
    except Exception as exc:
        raise DicomError(
            f"cannot read the pixel data of {path} ({type(exc).__name__}: {exc}); transfer "
            f"syntax {syntax}. The file may be truncated or corrupt (re-export it), or no "
            "installed decoder handles its transfer syntax (pylibjpeg plugins, pyjpegls)"
        ) from exc
    if pixels.ndim == 2:
        pixels = pixels[np.newaxis]
    if pixels.ndim != 3 or pixels.shape[1:] != (expected.rows, expected.columns):
        raise DicomError(
            f"{path}: pixel data has shape {pixels.shape}, expected frames of "
            f"{expected.rows} x {expected.columns} (Rows x Columns); the file is inconsistent"
        )
    last = max(f.frame_index or 0 for f in frames)
    if last >= pixels.shape[0]:
        raise DicomError(
            f"{path}: pixel data holds {pixels.shape[0]} frame(s) but frame {last + 1} is "
            "referenced by the functional groups (NumberOfFrames inconsistent)"
        )
    return pixels


def load_volume(stack: SeriesStack, series: Series) -> Volume:
    """Read the pixels of ``stack`` and rebuild it as a float32 LPS image.

    Rescale Slope/Intercept are applied per frame. The image's origin, spacing and direction
    are the stack's geometry, so ``sitk.GetArrayFromImage(volume.image)[k]`` is the k-th
    frame in slice-normal order. Raises :class:`DicomError` with the reason when the stack is
    unusable or a file's pixels cannot be read (naming the file).
    """
    where = _describe(stack, series)
    if stack.unusable_reason is not None:
        raise DicomError(f"{where} cannot be rebuilt into a volume: {stack.unusable_reason}")
    geometry = stack.geometry
    if geometry is None or not stack.frames:
        raise DicomError(f"{where} cannot be rebuilt into a volume: it has no geometry")
    first = stack.frames[0]
    out = np.empty((len(stack.frames), first.rows, first.columns), dtype=np.float32)
    by_path: dict[Path, list[tuple[int, Frame]]] = {}
    for slot, frame in enumerate(stack.frames):
        by_path.setdefault(frame.path, []).append((slot, frame))
    for path, items in by_path.items():
        pixels = _read_frames(path, [f for _, f in items])
        for slot, frame in items:
            stored = pixels[frame.frame_index or 0]
            if frame.rescale_slope == 1.0 and frame.rescale_intercept == 0.0:
                out[slot] = stored
            else:
                out[slot] = stored * frame.rescale_slope + frame.rescale_intercept
    image = sitk.GetImageFromArray(out)
    image.SetOrigin(geometry.origin)
    image.SetSpacing(geometry.spacing)
    image.SetDirection(geometry.direction)
    logger.debug("loaded %s: size %s", stack.stack_id, geometry.size)
    return Volume(image=image, stack=stack, series=series)

"""Key sagittal images: the plane through the spine, levels named, fractures outlined, edema heat.

A :class:`Plane` is one sagittal plane of a volume resampled (SimpleITK) onto a display grid in
LPS: columns run anterior -> posterior (anterior on the left, the usual sagittal display),
rows head -> feet. The label map and the edema ratio map are resampled onto the same grid,
whatever grid they were saved on. :func:`render_view` draws it as RGB; :func:`compose_key_image`
puts the views side by side under a caption for the DICOM key image.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import SimpleITK
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from acuity.measure.enum import Acuity
from acuity.measure.model import LevelFinding
from acuity.segment.level import VertebraLevel

logger = logging.getLogger(__name__)

sitk: Any = SimpleITK  # SimpleITK has no type annotations

#: Longer side of a view, in pixels.
DISPLAY_SIZE = 640
#: Edema heat: voxels of a body whose ratio to normal marrow reaches HEAT_MIN are coloured,
#: yellow at HEAT_MIN to red at HEAT_MAX (HEAT_MIN = the measure stage's default voxel
#: threshold, pipelines/acuity.yaml edema.voxel_ratio).
HEAT_MIN = 1.3
HEAT_MAX = 2.5

#: Outline colours of fractured levels by acuity (RGB).
ACUITY_COLORS: dict[Acuity, tuple[int, int, int]] = {
    Acuity.ACUTE: (235, 50, 50),
    Acuity.CHRONIC: (70, 150, 255),
    Acuity.EDEMA_WITHOUT_FRACTURE: (255, 170, 0),
    Acuity.NONE: (200, 200, 200),
    Acuity.INDETERMINATE: (255, 170, 0),
}
#: Display direction (row-major 3x3, columns = axis directions): +P, feet, right.
_DIRECTION = (0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0)


@dataclass(frozen=True)
class Plane:
    """One sagittal plane on the display grid."""

    #: Intensities, shape (rows, columns), float32; 0 outside the volume.
    image: np.ndarray
    #: Instance labels (0 background) or None.
    labels: np.ndarray | None
    #: Edema ratio map or None.
    ratio: np.ndarray | None
    #: Pixel size (mm) of the display grid, both directions.
    spacing_mm: float
    #: LPS x (left-right) of the plane, mm.
    x_mm: float


def _corners(image: SimpleITK.Image) -> np.ndarray:
    img: Any = image
    size = img.GetSize()
    pts = []
    for i in (-0.5, size[0] - 0.5):
        for j in (-0.5, size[1] - 0.5):
            for k in (-0.5, size[2] - 0.5):
                pts.append(img.TransformContinuousIndexToPhysicalPoint((i, j, k)))
    return np.array(pts)


def _lr_axis(image: SimpleITK.Image) -> int:
    """Index axis of ``image`` most aligned with left-right (the slice axis of a sagittal)."""
    img: Any = image
    d = np.array(img.GetDirection()).reshape(3, 3)
    return int(np.argmax(np.abs(d[0, :])))


def choose_plane_x(volume: SimpleITK.Image, labels: SimpleITK.Image | None) -> float:
    """LPS x of the slice of ``volume`` cutting most vertebral-body voxels (the mid-sagittal
    plane of the bodies); the middle slice without labels."""
    vol: Any = volume
    axis = _lr_axis(volume)
    size = vol.GetSize()
    index = [(s - 1) / 2.0 for s in size]
    if labels is not None:
        on_grid = sitk.Resample(labels, volume, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
        arr = sitk.GetArrayViewFromImage(on_grid) > 0  # (z, y, x) = axes (2, 1, 0)
        counts = arr.sum(axis=tuple(a for a in range(3) if a != 2 - axis))
        if counts.any():
            index[axis] = float(np.argmax(counts))
    return float(vol.TransformContinuousIndexToPhysicalPoint(index)[0])


def display_reference(
    volume: SimpleITK.Image, x_mm: float, size: int = DISPLAY_SIZE
) -> SimpleITK.Image:
    """An empty one-slice image: the sagittal display grid at ``x_mm`` covering ``volume``."""
    pts = _corners(volume)
    y0, y1 = float(pts[:, 1].min()), float(pts[:, 1].max())
    z0, z1 = float(pts[:, 2].min()), float(pts[:, 2].max())
    spacing = max(y1 - y0, z1 - z0) / size
    width = max(1, math.ceil((y1 - y0) / spacing))
    height = max(1, math.ceil((z1 - z0) / spacing))
    ref: Any = sitk.Image(width, height, 1, sitk.sitkUInt8)
    ref.SetSpacing((spacing, spacing, 1.0))
    ref.SetDirection(_DIRECTION)
    ref.SetOrigin((x_mm, y0 + spacing / 2, z1 - spacing / 2))
    out: SimpleITK.Image = ref
    return out


def _sample(image: SimpleITK.Image, ref: SimpleITK.Image, nearest: bool) -> np.ndarray:
    interp = sitk.sitkNearestNeighbor if nearest else sitk.sitkLinear
    pixel = sitk.sitkInt32 if nearest else sitk.sitkFloat32
    out = sitk.Resample(image, ref, sitk.Transform(), interp, 0, pixel)
    arr: np.ndarray = sitk.GetArrayFromImage(out)[0]
    return arr


def sample_plane(
    volume: SimpleITK.Image,
    labels: SimpleITK.Image | None = None,
    ratio: SimpleITK.Image | None = None,
    x_mm: float | None = None,
) -> Plane:
    """The sagittal plane of ``volume`` (and of the maps) at ``x_mm`` (default: through the
    middle of the labelled bodies)."""
    if x_mm is None:
        x_mm = choose_plane_x(volume, labels)
    ref: Any = display_reference(volume, x_mm)
    return Plane(
        image=_sample(sitk.Cast(volume, sitk.sitkFloat32), ref, nearest=False),
        labels=None if labels is None else _sample(labels, ref, nearest=True),
        ratio=None if ratio is None else _sample(sitk.Cast(ratio, sitk.sitkFloat32), ref, False),
        spacing_mm=float(ref.GetSpacing()[0]),
        x_mm=x_mm,
    )


def _gray(image: np.ndarray) -> np.ndarray:
    inside = image[image > 0]
    if inside.size == 0:
        return np.zeros(image.shape, dtype=np.uint8)
    lo, hi = np.percentile(inside, [1.0, 99.5])
    if hi <= lo:
        hi = lo + 1.0
    out: np.ndarray = (np.clip((image - lo) / (hi - lo), 0.0, 1.0) * 255.0).astype(np.uint8)
    return out


def heat_colors(t: np.ndarray) -> np.ndarray:
    """Yellow (t=0) to red (t=1), RGB float 0..255, shape t.shape + (3,)."""
    t = np.clip(t, 0.0, 1.0)
    return np.stack([np.full_like(t, 255.0), 230.0 * (1.0 - t), np.zeros_like(t)], axis=-1)


def _blend(
    rgb: np.ndarray,
    mask: np.ndarray,
    color: np.ndarray | tuple[int, int, int],
    alpha: float | np.ndarray,
) -> None:
    a = np.asarray(alpha, dtype=np.float32)
    if a.ndim:
        a = a[mask][:, None]
    c = np.asarray(color, dtype=np.float32)
    if c.ndim > 1:
        c = c[mask]
    rgb[mask] = (1.0 - a) * rgb[mask] + a * c


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType
        return ImageFont.load_default()


def level_title(f: LevelFinding) -> str:
    name = VertebraLevel.parse(f.level).value if f.level is not None else f"#{f.label}"
    return name + (" (partial)" if f.partial else "")


def render_view(
    plane: Plane, findings: Sequence[LevelFinding], *, heat: bool, caption: str = ""
) -> np.ndarray:
    """The plane as RGB (uint8, rows x columns x 3): gray image, edema heat inside the bodies
    (``heat``), fractured levels outlined in their acuity colour, every level named."""
    rgb = np.repeat(_gray(plane.image)[..., None], 3, axis=2).astype(np.float32)
    labels = plane.labels
    by_label = {f.label: f for f in findings}
    if heat:
        if plane.ratio is not None:
            inside = labels > 0 if labels is not None else np.ones(plane.ratio.shape, bool)
            mask = inside & (plane.ratio >= HEAT_MIN)
            t = (plane.ratio - HEAT_MIN) / (HEAT_MAX - HEAT_MIN)
            _blend(rgb, mask, heat_colors(t), 0.35 + 0.3 * np.clip(t, 0, 1))
        elif labels is not None:
            # No voxel map: tint each body by its measured edema ratio.
            for finding in findings:
                e = finding.edema
                if e is not None and e.ratio >= HEAT_MIN:
                    t = np.array((e.ratio - HEAT_MIN) / (HEAT_MAX - HEAT_MIN))
                    _blend(rgb, labels == finding.label, heat_colors(t), 0.45)
    if labels is not None:
        for label in np.unique(labels[labels > 0]):
            mask = labels == label
            edge = mask & ~ndimage.binary_erosion(mask)
            found = by_label.get(int(label))
            if found is not None and found.fractured:
                thick = ndimage.binary_dilation(edge, iterations=1)
                _blend(rgb, thick, ACUITY_COLORS[Acuity(found.acuity)], 1.0)
            else:
                _blend(rgb, edge, (255, 255, 255), 0.35)
    img = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    height = plane.image.shape[0]
    font = _font(max(12, height // 38))
    if labels is not None:
        for label in np.unique(labels[labels > 0]):
            named = by_label.get(int(label))
            rows, cols = np.nonzero(labels == label)
            text = level_title(named) if named is not None else f"#{int(label)}"
            color = (255, 255, 255)
            if named is not None and named.fractured:
                text += f" {Acuity(named.acuity).value.replace('_', ' ')}"
                color = ACUITY_COLORS[Acuity(named.acuity)]
            box = draw.textbbox((0, 0), text, font=font, stroke_width=2)
            tw, th = box[2] - box[0], box[3] - box[1]
            y = float(rows.mean()) - th / 2
            x = float(cols.min()) - 6 - tw
            if x < 2:
                x = float(cols.max()) + 6
            draw.text((x, y), text, fill=color, font=font, stroke_width=2, stroke_fill=(0, 0, 0))
    if caption:
        draw.text(
            (6, 4),
            caption,
            fill=(255, 255, 255),
            font=_font(max(11, height // 45)),
            stroke_width=2,
            stroke_fill=(0, 0, 0),
        )
    return np.asarray(img).copy()


def compose_key_image(views: Sequence[np.ndarray], lines: Sequence[str]) -> np.ndarray:
    """Views side by side (same height) under a black band of text lines; RGB uint8."""
    if not views:
        raise ValueError("compose_key_image needs at least one view")
    height = max(v.shape[0] for v in views)
    gap = 8
    width = sum(v.shape[1] for v in views) + gap * (len(views) - 1)
    font = _font(max(12, height // 45))
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    line_h = max(probe.textbbox((0, 0), ln or "X", font=font)[3] for ln in [*lines, "Xg"]) + 4
    band = int(line_h * len(lines) + 8)
    canvas = Image.new("RGB", (width, height + band), (0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    for i, ln in enumerate(lines):
        draw.text((6, 4 + i * line_h), ln, fill=(255, 255, 255), font=font)
    x: int = 0
    for v in views:
        canvas.paste(Image.fromarray(v, "RGB"), (x, band))
        x += int(v.shape[1]) + gap
    return np.asarray(canvas).copy()


def png_bytes(rgb: np.ndarray) -> bytes:
    """PNG encoding of an RGB uint8 array."""
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, format="PNG", optimize=True)
    return buf.getvalue()

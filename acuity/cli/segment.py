"""``acuity segment INPUT -o LABELS.nii.gz``: vertebral bodies as an instance label map.

INPUT is a NIfTI / MHA / NRRD file or a folder of DICOM files (the one sagittal stack, or the
stack given with ``--series``). Writes the label map (1..N superior to inferior) and, beside
it, ``LABELS.json`` with each body's level, confidence, volume (mm3) and partial flag.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acuity.errors import InputError

if TYPE_CHECKING:
    import SimpleITK as sitk

logger = logging.getLogger(__name__)

#: Sagittal stacks with fewer slices (localizers) are not picked automatically.
MIN_SLICES = 5

_IMAGE_SUFFIXES = (".nii", ".nii.gz", ".mha", ".mhd", ".nrrd", ".nhdr")


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "segment",
        help="segment and label the vertebral bodies of one series",
        description=(
            "Find every vertebral body of a sagittal MR series (T1, T2, STIR, water), number "
            "them superior to inferior and name their levels (counted upward from S1, or from "
            "a hint). Writes LABELS.nii.gz and LABELS.json."
        ),
    )
    p.add_argument("input", metavar="INPUT", help="NIfTI/MHA/NRRD file or DICOM folder")
    p.add_argument(
        "-o", "--output", required=True, metavar="LABELS.nii.gz", help="label map to write"
    )
    p.add_argument(
        "--series",
        metavar="UID",
        help="stack id or SeriesInstanceUID to use when the folder holds several sagittal stacks",
    )
    p.add_argument(
        "--lowest-level", metavar="LEVEL", help="name of the lowest body found (e.g. L5)"
    )
    p.add_argument(
        "--level-at",
        metavar="POS=LEVEL",
        help="a body's level: POS is its label number (e.g. 3=L3) or an LPS point in mm "
        "(e.g. 10.5,-20,35=L3)",
    )
    p.add_argument("--model", metavar="FILE", help="model .pt file (default models/vertebrae_seg.pt)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = default)")


def parse_level_at(text: str) -> tuple[int | tuple[float, float, float], str]:
    """``"3=L3"`` -> (3, "L3"); ``"10,-20,35=L3"`` -> ((10.0, -20.0, 35.0), "L3")."""
    if "=" not in text:
        raise InputError(f"--level-at {text!r}: write POS=LEVEL, e.g. 3=L3 or 10,-20,35=L3")
    pos, level = text.rsplit("=", 1)
    parts = [s for s in pos.replace(" ", "").split(",") if s]
    try:
        if len(parts) == 1:
            return int(parts[0]), level.strip()
        if len(parts) == 3:
            x, y, z = (float(v) for v in parts)
            return (x, y, z), level.strip()
    except ValueError:
        pass
    raise InputError(
        f"--level-at {text!r}: POS must be a label number or an LPS point x,y,z in mm"
    )


def _is_image_file(path: Path) -> bool:
    name = path.name.lower()
    return path.is_file() and name.endswith(_IMAGE_SUFFIXES)


def read_input(path: Path, series: str | None) -> sitk.Image:
    """The image to segment: an image file, or one sagittal stack of a DICOM folder."""
    import SimpleITK as sitk

    if not path.exists():
        raise InputError(f"INPUT {path} does not exist")
    if _is_image_file(path):
        try:
            return sitk.ReadImage(str(path))
        except RuntimeError as exc:
            raise InputError(f"INPUT {path}: SimpleITK cannot read it: {exc}") from None
    if not path.is_dir():
        raise InputError(
            f"INPUT {path} is neither a folder of DICOM files nor an image file "
            f"({', '.join(_IMAGE_SUFFIXES)})"
        )
    try:
        from acuity.ingest import Plane, find_series, load_volume, scan_folder
    except ImportError:
        raise InputError(
            "reading a DICOM folder needs acuity.ingest, which is not available in this "
            "installation; convert the series to NIfTI first"
        ) from None

    scan = scan_folder(path)
    if series:
        _, s, st = find_series(scan, series)
        if not st.usable:
            raise InputError(f"--series {series}: stack {st.stack_id} is unusable: {st.unusable_reason}")
    else:
        chosen = [
            (study, s, st)
            for study in scan.studies
            for s in study.series
            for st in s.stacks
            if st.usable
            and st.geometry is not None
            and st.geometry.plane is Plane.SAGITTAL
            and st.n_slices >= MIN_SLICES
        ]
        if len(chosen) != 1:
            if not chosen:
                raise InputError(
                    f"INPUT {path}: no usable sagittal stack of {MIN_SLICES} or more slices "
                    "found; name one with --series (see `acuity info`)"
                )
            listing = "; ".join(
                f"{x[2].stack_id} (series {x[1].series_number}, "
                f"{x[1].description or 'no description'}, {x[2].n_slices} slices)"
                for x in chosen
            )
            raise InputError(
                f"INPUT {path}: {len(chosen)} sagittal stacks found; choose one with --series "
                f"(series number or stack id): {listing}"
            )
        _study, s, st = chosen[0]
    volume = load_volume(st, s)
    logger.info("segmenting stack %s (%s)", st.stack_id, s.description)
    image: sitk.Image = volume.image
    return image


def json_path_for(output: Path) -> Path:
    name = output.name
    for suffix in (".nii.gz", ".nii", ".mha", ".nrrd"):
        if name.lower().endswith(suffix):
            return output.with_name(name[: -len(suffix)] + ".json")
    return output.with_name(name + ".json")


def run(args: argparse.Namespace) -> int:
    import SimpleITK as sitk
    import torch

    from acuity.io import write_json
    from acuity.segment import VertebraLevel, segment_image

    if args.threads:
        torch.set_num_threads(args.threads)
    output = Path(args.output)
    if not output.name.lower().endswith((".nii.gz", ".nii", ".mha", ".nrrd")):
        raise InputError(f"-o {output}: the label map must end in .nii.gz, .nii, .mha or .nrrd")
    level_at = parse_level_at(args.level_at) if args.level_at else None
    for hint in (args.lowest_level, level_at[1] if level_at else None):
        if hint is not None:
            try:
                VertebraLevel.parse(hint)
            except ValueError as exc:
                raise InputError(f"level hint: {exc}") from None
    image = read_input(Path(args.input), args.series)
    seg = segment_image(image, lowest_level=args.lowest_level, level_at=level_at, model=args.model)
    output.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(seg.label_map, str(output), useCompression=True)
    meta = seg.to_dict()
    meta["input"] = str(args.input)
    meta["label_map"] = output.name
    write_json(json_path_for(output), meta)
    for b in seg.bodies:
        level = b.level.value if b.level else "?"
        flag = " partial" if b.partial else ""
        print(f"{b.label:>3}  {level:<4} conf {b.level_confidence:.2f}  {b.volume_mm3 / 1000:7.1f} cm3{flag}")
    print(f"levels: {seg.level_note}")
    print(f"wrote {output} and {json_path_for(output)}")
    return 0

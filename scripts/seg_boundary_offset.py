#!/usr/bin/env python
"""Where the predicted body outlines sit against the reference masks, per exam.

    .venv/bin/python scripts/seg_boundary_offset.py vb1-02 vb1-03 vb1-08 [--model M]

For each exam of ``$ACUITY_DATA/vertebrae``: the mean per-body Dice of the model's masks, the
Dice of the same masks eroded by one voxel (an oracle: how much of the shortfall is a uniform
one-voxel rim), and the median signed distance (voxels) of the predicted outline voxels from
the reference surface: about -1 when the outlines coincide (an outline voxel lies just inside
the reference), about +1 when the prediction is one voxel larger all round.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from acuity.config import shared_data_dir


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cases", nargs="+", help="exam folder names, e.g. vb1-03")
    p.add_argument("--model", type=Path, default=None, help="model .pt (default models/)")
    p.add_argument("--data", type=Path, default=None)
    args = p.parse_args(argv)

    import SimpleITK as sitk
    from scipy import ndimage

    from acuity.segment import segment_image
    from acuity.segment.network import load_model

    data = args.data or shared_data_dir()
    if data is None:
        p.error("no data folder: set ACUITY_DATA or pass --data")
    model = load_model(args.model) if args.model is not None else None
    print("case     Dice  eroded-1  outline offset (vox)")
    for case in args.cases:
        folder = Path(data) / "vertebrae" / case
        if not folder.is_dir():
            p.error(f"{folder} is not an exam folder")
        image = sitk.ReadImage(str(folder / "image.nii.gz"))
        ref = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "labels.nii.gz")))
        pred = sitk.GetArrayFromImage(segment_image(image, model=model).label_map)
        # Signed distance to the reference surface: negative inside, positive outside.
        sdf = np.where(
            ref > 0,
            -ndimage.distance_transform_edt(ref > 0),
            ndimage.distance_transform_edt(ref == 0),
        )
        dice: dict[int, list[float]] = {0: [], 1: []}
        offsets = []
        for t in (int(i) for i in np.unique(ref) if i):
            tm = ref == t
            ids, counts = np.unique(pred[tm], return_counts=True)
            counts, ids = counts[ids > 0], ids[ids > 0]
            if ids.size == 0:
                continue
            pm = pred == ids[np.argmax(counts)]
            for e in (0, 1):
                q = ndimage.binary_erosion(pm, iterations=e) if e else pm
                dice[e].append(2.0 * float((q & tm).sum()) / float(q.sum() + tm.sum()))
            outline = pm & ~ndimage.binary_erosion(pm)
            offsets.append(float(np.median(sdf[outline])))
        print(
            f"{case:8s} {np.mean(dice[0]):.3f}  {np.mean(dice[1]):.3f}     "
            f"{np.mean(offsets):+.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

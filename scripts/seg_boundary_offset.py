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

    from acuity.errors import InputError
    from acuity.segment import segment_image
    from acuity.segment.dataset import load_case
    from acuity.segment.evaluate import score_case
    from acuity.segment.network import load_model

    data = args.data or shared_data_dir()
    if data is None:
        p.error("no data folder: set ACUITY_DATA or pass --data")
    model = load_model(args.model) if args.model is not None else None
    print("case     Dice  eroded-1  outline offset (vox)")
    for name in args.cases:
        try:
            case = load_case(Path(data) / "vertebrae" / name)
        except InputError as exc:
            p.error(f"{name}: {exc}")
        ref = sitk.GetArrayFromImage(sitk.ReadImage(str(case.labels_path)))
        image = sitk.ReadImage(str(case.image_path))
        pred = sitk.GetArrayFromImage(segment_image(image, model=model).label_map)
        # Bodies matched as eval_segmentation.py matches them (best Dice per reference body).
        score = score_case(case.case_id, case.sequence_group.value, pred, ref)
        # Signed distance to the reference surface: negative inside, positive outside.
        sdf = np.where(
            ref > 0,
            -ndimage.distance_transform_edt(ref > 0),
            ndimage.distance_transform_edt(ref == 0),
        )
        eroded, offsets = [], []
        for b in score.bodies:
            if b.predicted_label == 0:
                continue
            tm, pm = ref == b.reference_label, pred == b.predicted_label
            q = ndimage.binary_erosion(pm)
            eroded.append(2.0 * float((q & tm).sum()) / float(q.sum() + tm.sum()))
            offsets.append(float(np.median(sdf[pm & ~q])))
        print(
            f"{case.case_id:8s} {score.mean_dice:.3f}  {np.mean(eroded):.3f}     "
            f"{np.mean(offsets):+.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

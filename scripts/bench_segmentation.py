#!/usr/bin/env python
"""Time ``segment_image`` per series: seconds and peak memory, on a CPU.

    .venv/bin/python scripts/bench_segmentation.py [--threads 2] [--repeat 3] [--json out.json]

Series (each run in a fresh subprocess so that peak memory is that series' own):

* ``clinical-512x512x20``: a validation exam resampled onto a typical clinical sagittal grid,
  512 x 512 pixels of 0.6 mm and 20 slices of 4 mm (the target: under 5 s on 2 cores);
* ``native-1mm``: the same exam on its own 1 mm isotropic grid (57-77 slices);
* ``axial-view``: the same exam reoriented to axial slices (any orientation is accepted).

Reports the median wall time of ``segment_image`` over ``--repeat`` runs after one warm-up
(model loading timed separately) and the process's peak resident memory (ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERIES = ("clinical-512x512x20", "native-1mm", "axial-view")


def make_series(kind: str, case_dir: Path):  # type: ignore[no-untyped-def]
    import numpy as np
    import SimpleITK as sitk

    image = sitk.ReadImage(str(case_dir / "image.nii.gz"))
    if kind == "native-1mm":
        return image
    size, spacing = np.array(image.GetSize()), np.array(image.GetSpacing())
    direction = np.array(image.GetDirection()).reshape(3, 3)
    centre = np.array(image.TransformContinuousIndexToPhysicalPoint(tuple((size - 1) / 2.0)))
    if kind == "clinical-512x512x20":
        new_size = np.array([512, 512, 20])
        new_spacing = np.array([0.6, 0.6, 4.0])
        src = sitk.DiscreteGaussian(
            sitk.Cast(image, sitk.sitkFloat32), variance=[0.0, 0.0, 16.0 / 12.0], useImageSpacing=True
        )
    elif kind == "axial-view":
        # rows anterior->posterior... as an axial series: x -> L, y -> P, slices head->feet.
        direction = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, -1.0]])
        extent = size * spacing
        new_spacing = np.array([0.8, 0.8, 3.0])
        # LPS extents of the sagittal volume: x (L-R) = slices, y (A-P) = columns, z = rows.
        new_size = np.ceil(np.array([extent[2], extent[0], extent[1]]) / new_spacing).astype(int)
        src = sitk.Cast(image, sitk.sitkFloat32)
    else:
        raise ValueError(kind)
    origin = centre - direction @ ((new_size - 1) / 2.0 * new_spacing)
    return sitk.Resample(
        src,
        [int(v) for v in new_size],
        sitk.Transform(),
        sitk.sitkLinear,
        tuple(float(v) for v in origin),
        tuple(float(v) for v in new_spacing),
        tuple(float(v) for v in direction.ravel()),
        0.0,
        sitk.sitkFloat32,
    )


def child(kind: str, case_dir: Path, threads: int, repeat: int) -> dict:  # type: ignore[type-arg]
    import resource
    import statistics
    import time

    import torch

    torch.set_num_threads(threads)
    from acuity.segment import load_model, segment_image

    image = make_series(kind, case_dir)
    t0 = time.perf_counter()
    model = load_model()
    load_s = time.perf_counter() - t0
    times = []
    seg = None
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        seg = segment_image(image, model=model)
        if i:
            times.append(time.perf_counter() - t0)
    assert seg is not None
    return {
        "series": kind,
        "size": list(image.GetSize()),
        "spacing_mm": [round(v, 2) for v in image.GetSpacing()],
        "seconds_median": round(statistics.median(times), 2),
        "seconds_all": [round(t, 2) for t in times],
        "model_load_s": round(load_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
        "bodies": len(seg.bodies),
        "levels": " ".join(b.level.value if b.level else "?" for b in seg.bodies),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", default="vb1-03", help="exam of <data>/vertebrae to derive the series from")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--child", choices=SERIES, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    from acuity.config import shared_data_dir

    data = shared_data_dir()
    if data is None:
        print("shared data folder not found (set ACUITY_DATA)", file=sys.stderr)
        return 1
    case_dir = data / "vertebrae" / args.case
    if args.child:
        print(json.dumps(child(args.child, case_dir, args.threads, args.repeat)))
        return 0
    rows = []
    for kind in SERIES:
        out = subprocess.run(
            [sys.executable, __file__, "--child", kind, "--case", args.case, "--threads", str(args.threads), "--repeat", str(args.repeat)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"case {args.case}, {args.threads} torch threads, {platform.processor() or platform.machine()}")
    print(f"| series | size | spacing mm | s (median of {args.repeat}) | model load s | peak RSS MB | bodies | levels |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['series']} | {'x'.join(map(str, r['size']))} | {'x'.join(map(str, r['spacing_mm']))} | "
            f"{r['seconds_median']} | {r['model_load_s']} | {r['peak_rss_mb']:.0f} | {r['bodies']} | {r['levels']} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"case": args.case, "threads": args.threads, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

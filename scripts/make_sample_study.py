#!/usr/bin/env python
"""Generate the bundled synthetic sample study, or a study from a real labelled exam.

    python scripts/make_sample_study.py -o sample_dicom --force
    python scripts/make_sample_study.py --from-real ../shared/data/vertebrae/vb1-03 \\
        --lesion L1:wedge:2:acute --lesion L3:wedge:1:chronic -o out/vb1-03-lesions

Thin command line over acuity.sim.study; the output is deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from acuity.errors import AcuityError
from acuity.sim.study import (
    DEFAULT_SEED,
    LesionSpec,
    SampleConfig,
    make_sample_study,
    study_from_real_case,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("-o", "--out", type=Path, default=Path("sample_dicom"),
                        help="output folder (default: sample_dicom)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--quick", action="store_true", help="small, fast study (for tests)")
    parser.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    parser.add_argument("--from-real", type=Path, metavar="CASE_DIR",
                        help="real case folder with image.nii.gz, labels.nii.gz, meta.json")
    parser.add_argument("--lesion", action="append", default=[], metavar="SPEC",
                        help="LEVEL:DEFORMITY:GRADE_OR_LOSS:ACUITY[:PATTERN[:RATIO]], e.g. "
                             "L1:wedge:2:acute (repeatable)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        if args.from_real is not None:
            specs = [LesionSpec.parse(s) for s in args.lesion]
            truth = study_from_real_case(args.from_real, specs, args.out, seed=args.seed,
                                         overwrite=args.force)
        else:
            if args.lesion:
                parser.error("--lesion is for --from-real; the sample study has fixed lesions")
            cfg = SampleConfig.quick(args.seed) if args.quick else SampleConfig(seed=args.seed)
            truth = make_sample_study(args.out, cfg, overwrite=args.force)
    except AcuityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    n = sum(s.n_images for s in truth.series)
    print(f"wrote {len(truth.series)} series ({n} images), {len(truth.lesions)} lesions to "
          f"{args.out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

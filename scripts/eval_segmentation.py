#!/usr/bin/env python
"""Evaluate the committed segmentation model on the validation split (per-case table).

    .venv/bin/python scripts/eval_segmentation.py                 # validation cases, 1 mm
    .venv/bin/python scripts/eval_segmentation.py --slices-mm 4   # same, resampled to 4 mm slices
    .venv/bin/python scripts/eval_segmentation.py --cases all --json out/seg_eval.json

Runs the public API (``segment_image``: working grid, sliding window, instances, levels,
back to the input grid) on each case and scores the instance map against the reference
masks: per-body Dice (best-matching predicted body), detection (Dice >= 0.5), false bodies
(predicted bodies matching no reference, counted inside the labelled range only, see
``acuity.segment.dataset.unlabelled_region``) and levels (cases whose meta names them, and
the S1 of vb1-15/17). With ``--slices-mm`` the image is first blurred and resampled to
thick sagittal slices (as a clinical series), segmented, and the labels mapped back to the
1 mm reference grid with ``map_labels``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from acuity.config import shared_data_dir
from acuity.errors import InputError
from acuity.segment.dataset import Case, Split, load_cases, unlabelled_region
from acuity.segment.grid import simulate_thick_slices
from acuity.segment.level import VertebraLevel


def reference_levels(case: Case, n: int) -> list[VertebraLevel | None]:
    if case.levels is not None:
        return list(case.levels)
    if case.bottom_is_s1:
        return [None] * (n - 1) + [VertebraLevel.S1]
    return [None] * n


def fracture_scores(ref: np.ndarray, pred: np.ndarray, score, labels: list[int], grid_image) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    """Dice and height errors (mm, predicted - reference) of the compressed bodies."""
    from acuity.measure.geometry import body_frames, measure_heights
    from acuity.sim.grid import Grid

    grid = Grid.from_image(grid_image)
    frames = body_frames(ref.astype(np.uint8), grid)
    out = []
    for b in score.bodies:
        if b.reference_label not in labels:
            continue
        row = {"label": b.reference_label, "dice": round(b.dice, 4)}
        if b.predicted_label:
            h_ref = measure_heights(ref, grid, b.reference_label, frames[b.reference_label])
            try:
                h_pred = measure_heights(pred, grid, b.predicted_label, frames[b.reference_label])
            except InputError as exc:  # the prediction is too far off the body's frame
                row["error"] = str(exc)
                out.append(row)
                continue
            row.update(
                {
                    "ref_mm": h_ref.as_dict(),
                    "error_mm": {
                        k: round(getattr(h_pred, k) - getattr(h_ref, k), 2)
                        for k in ("anterior", "middle", "posterior")
                    },
                }
            )
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--split", type=Path, default=ROOT / "models" / "vertebrae_split.json")
    p.add_argument("--cases", default="validation", help="'validation', 'train', 'all' or a comma list")
    p.add_argument("--model", default=None, help="model .pt file (default models/vertebrae_seg.pt)")
    p.add_argument("--slices-mm", type=float, default=None, help="resample to this sagittal slice spacing first")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    p.add_argument("--body-threshold", type=float, default=None, help="override the model's body threshold")
    p.add_argument("--no-mirror", action="store_true", help="without the left-right mirror averaging")
    p.add_argument(
        "--no-refine", action="store_true", help="without the model's per-body outline refiner"
    )
    p.add_argument("--markdown", action="store_true", help="also print the tables as Markdown")
    p.add_argument(
        "--fractures",
        type=int,
        default=None,
        metavar="SEED",
        help="compress 1-2 bodies of each case first (acuity.segment.fractures, this seed) and "
        "also report Dice and anterior / middle / posterior height errors on those bodies",
    )
    args = p.parse_args(argv)

    import SimpleITK as sitk
    import torch

    from acuity.segment import load_model, map_labels, segment_image
    from acuity.segment.evaluate import score_case

    torch.set_num_threads(args.threads)
    data = args.data or shared_data_dir()
    if data is None:
        raise InputError("shared data folder not found: set ACUITY_DATA or pass --data")
    cases = {c.case_id: c for c in load_cases(Path(data))}
    split = Split.read(args.split)
    if args.cases == "validation":
        ids = list(split.validation)
    elif args.cases == "train":
        ids = list(split.train)
    elif args.cases == "all":
        ids = sorted(cases)
    else:
        ids = [c.strip() for c in args.cases.split(",") if c.strip()]
    model = load_model(args.model)
    if args.no_mirror or args.body_threshold is not None:
        from dataclasses import replace

        cfg = replace(model.config, mirror_tta=model.config.mirror_tta and not args.no_mirror)
        if args.body_threshold is not None:
            cfg = replace(cfg, body_threshold=args.body_threshold)
        model = replace(model, config=cfg)
    results = []
    print(
        f"{'case':<8} {'group':<6} {'Dice':>6} {'min':>6} {'det':>5} {'pred':>4} {'false':>5} "
        f"{'levels':>7} {'vol':>5} {'time s':>6}  predicted levels"
    )
    for cid in ids:
        case = cases[cid]
        image = sitk.ReadImage(str(case.image_path))
        ref_img = sitk.ReadImage(str(case.labels_path))
        ref = sitk.GetArrayFromImage(ref_img).astype(np.int32)
        fractured: list[int] = []
        if args.fractures is not None:
            from acuity.segment.fractures import fracture_case
            from acuity.sim.grid import Grid

            rng = np.random.default_rng([args.fractures, ids.index(cid)])
            arr, ref_u8, done = fracture_case(
                case, sitk.GetArrayFromImage(image), ref.astype(np.uint8), Grid.from_image(ref_img), rng
            )
            fractured = sorted(done)
            ref = ref_u8.astype(np.int32)
            new = sitk.GetImageFromArray(arr)
            new.CopyInformation(image)
            image = new
        known = ~np.broadcast_to(unlabelled_region(ref, case.bottom_is_s1), ref.shape)
        source = simulate_thick_slices(image, args.slices_mm) if args.slices_mm else image
        t0 = time.perf_counter()
        seg = segment_image(source, model=model, refine=not args.no_refine)
        dt = time.perf_counter() - t0
        extra: dict = {"seconds": round(dt, 2)}
        if args.slices_mm:
            mapped, report = map_labels(seg, image)
            pred = sitk.GetArrayFromImage(mapped).astype(np.int32)
            extra["mapped_fraction"] = round(report.fraction_in_target, 3)
        else:
            pred = sitk.GetArrayFromImage(seg.label_map).astype(np.int32)
        score = score_case(
            cid,
            case.sequence_group.value,
            pred,
            ref,
            known_region=known,
            reference_levels=reference_levels(case, int(ref.max())),
            predicted_levels=[b.level for b in seg.bodies],
            level_note=seg.level_note,
        )
        score.extra.update(extra)
        score.extra["partial"] = [b.partial for b in seg.bodies]
        score.extra["s1_scores"] = [round(b.s1_score, 3) for b in seg.bodies]
        if fractured:
            score.extra["fractured"] = fracture_scores(ref, pred, score, fractured, ref_img)
        results.append(score)
        lv = f"{score.levels_correct}/{score.levels_checked}" if score.levels_checked else "-"
        names = " ".join(b.level.value if b.level else "?" for b in seg.bodies)
        print(
            f"{cid:<8} {score.group:<6} {score.mean_dice:6.3f} {min(b.dice for b in score.bodies):6.3f} "
            f"{score.n_detected:>2}/{len(score.bodies):<2} {score.n_predicted:>4} {len(score.false_bodies):>5} "
            f"{lv:>7} {score.mean_volume_ratio:5.2f} {dt:6.2f}  {names}",
            flush=True,
        )
    print()
    summary: dict = {}
    groups = sorted({r.group for r in results})
    print(f"{'group':<8} {'cases':>5} {'bodies':>6} {'mean body Dice':>15} {'detected':>9} {'false':>5} {'levels ok':>9}")
    for g in groups + ["all"]:
        rs = [r for r in results if g in ("all", r.group)]
        dices = [b.dice for r in rs for b in r.bodies]
        det = sum(r.n_detected for r in rs)
        nb = len(dices)
        false = sum(len(r.false_bodies) for r in rs)
        lv_ok = sum(r.levels_correct for r in rs)
        lv_n = sum(r.levels_checked for r in rs)
        cases_lv_ok = sum(1 for r in rs if r.levels_checked and r.levels_correct == r.levels_checked)
        cases_lv = sum(1 for r in rs if r.levels_checked)
        summary[g] = {
            "cases": len(rs),
            "bodies": nb,
            "mean_body_dice": round(float(np.mean(dices)), 4) if dices else None,
            "detected_fraction": round(det / nb, 4) if nb else None,
            "false_bodies": false,
            "levels_correct": lv_ok,
            "levels_checked": lv_n,
            "cases_levels_all_correct": f"{cases_lv_ok}/{cases_lv}",
        }
        print(
            f"{g:<8} {len(rs):>5} {nb:>6} {np.mean(dices):15.4f} {det / nb:9.1%} {false:>5} "
            f"{cases_lv_ok:>4}/{cases_lv:<4}"
        )
    fx = [f for r in results for f in r.extra.get("fractured", [])]
    if fx:
        errs = {k: [f["error_mm"][k] for f in fx if "error_mm" in f] for k in ("anterior", "middle", "posterior")}
        summary["fractured_bodies"] = {
            "bodies": len(fx),
            "mean_dice": round(float(np.mean([f["dice"] for f in fx])), 4),
            "height_error_mm": {
                k: {"mean": round(float(np.mean(v)), 2), "mean_abs": round(float(np.mean(np.abs(v))), 2)}
                for k, v in errs.items()
                if v
            },
        }
        print()
        print(f"fractured bodies: {len(fx)}, mean Dice {summary['fractured_bodies']['mean_dice']:.3f}")
        for k, v in summary["fractured_bodies"]["height_error_mm"].items():
            print(f"  {k:<9} height error (pred - ref): mean {v['mean']:+.2f} mm, mean |error| {v['mean_abs']:.2f} mm")
    if args.markdown:
        print()
        print("| case | group | bodies | mean Dice | min Dice | detected | predicted | false | levels | predicted levels |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in results:
            lv = f"{r.levels_correct}/{r.levels_checked}" if r.levels_checked else "-"
            names = " ".join(b.predicted_level.value if b.predicted_level else "?" for b in r.bodies)
            print(
                f"| {r.case} | {r.group} | {len(r.bodies)} | {r.mean_dice:.3f} | "
                f"{min(b.dice for b in r.bodies):.3f} | {r.n_detected}/{len(r.bodies)} | "
                f"{r.n_predicted} | {len(r.false_bodies)} | {lv} | {names} |"
            )
        print()
        print("| group | cases | bodies | mean per-body Dice | detected | false bodies | cases with all levels right |")
        print("|---|---|---|---|---|---|---|")
        for g, v in summary.items():
            if g == "fractured_bodies":
                continue
            print(
                f"| {g} | {v['cases']} | {v['bodies']} | {v['mean_body_dice']:.3f} | "
                f"{100 * v['detected_fraction']:.1f} % | {v['false_bodies']} | {v['cases_levels_all_correct']} |"
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "model": model.config.name,
                    "slices_mm": args.slices_mm,
                    "cases": [r.to_dict() for r in results],
                    "summary": summary,
                },
                indent=1,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

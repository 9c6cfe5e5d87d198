#!/usr/bin/env python
"""Train the 2.5-D vertebral-body network on the real exams (+ optional synthetic studies).

    .venv/bin/python scripts/train_segmentation.py --epochs 30 --steps-per-epoch 200

Reads ``$ACUITY_DATA/vertebrae`` (default ../shared/data), splits by subject with the fixed
split file ``models/vertebrae_split.json`` (written with its seed when absent), saves a
checkpoint every epoch under ``--out-dir`` (``last.pt``; resume with ``--resume``), and at
the end exports ``models/<name>.pt`` (float16 state dict), ``models/<name>.json`` (network,
working grid, provenance) and ``<out-dir>/metrics.json`` (per-epoch validation Dice).
CPU by default (``torch.set_num_threads``); ``--device cuda`` works where there is a GPU.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import shlex
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from acuity.config import shared_data_dir
from acuity.errors import InputError
from acuity.segment.dataset import Case, Split, load_cases, make_split, unlabelled_region
from acuity.segment.network import ModelConfig, build_network

logger = logging.getLogger("train_segmentation")

SPLIT_SEED = 20240
N_VAL = {"vb2": 3, "vb3": 5}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=None, help="shared data folder (default $ACUITY_DATA)")
    p.add_argument("--split", type=Path, default=ROOT / "models" / "vertebrae_split.json")
    p.add_argument("--out-dir", type=Path, default=ROOT / "out" / "segmentation_train")
    p.add_argument("--export-dir", type=Path, default=ROOT / "models")
    p.add_argument("--name", default="vertebrae_seg", help="model name (files <name>.pt/.json)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--steps-per-epoch", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--synthetic",
        type=int,
        default=0,
        help="add N synthetic studies from acuity.sim.phantom (0 = none)",
    )
    p.add_argument(
        "--synthetic-lesions",
        type=float,
        default=0.0,
        help="share of the synthetic studies given 1-2 phantom fractures (0..1; default 0)",
    )
    p.add_argument(
        "--boundary-weight",
        type=float,
        default=1.0,
        help="weight of the body BCE within 2 px (2.5 mm) of a body outline (default 1: none)",
    )
    p.add_argument("--init", type=Path, default=None, help="start from these weights (.pt)")
    p.add_argument(
        "--pseudo-s1",
        type=Path,
        default=None,
        help="model (.pt) that finds S1 below L5 in the vb2/vb3 training exams (pseudo-labels)",
    )
    p.add_argument(
        "--fracture-copies",
        type=int,
        default=0,
        help="add N copies of each training exam with 1-2 bodies compressed (+ edema) by the lesion simulator",
    )
    p.add_argument(
        "--adjacent-fractures",
        type=float,
        default=0.0,
        help="share of two-body fractured copies whose two bodies are neighbours (0..1; default 0)",
    )
    p.add_argument("--val-every", type=int, default=4, help="validate every N epochs")
    p.add_argument("--resume", action="store_true", help="continue from <out-dir>/last.pt")
    p.add_argument("--no-export", action="store_true", help="do not write models/<name>.*")
    args = p.parse_args(argv)
    # Checked here, before the minutes of data preparation.
    if not 0.0 <= args.synthetic_lesions <= 1.0:
        p.error(f"--synthetic-lesions {args.synthetic_lesions}: give a share between 0 and 1")
    if not 0.0 <= args.adjacent_fractures <= 1.0:
        p.error(f"--adjacent-fractures {args.adjacent_fractures}: give a share between 0 and 1")
    if args.boundary_weight < 0.0:
        p.error(f"--boundary-weight {args.boundary_weight}: give a weight >= 0 (1: no extra weight)")
    return args


def get_split(cases: list[Case], path: Path) -> Split:
    if path.is_file():
        return Split.read(path)
    split = make_split(cases, SPLIT_SEED, N_VAL)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "seed": split.seed,
                "rule": "by subject; vb1 subject AKa (TIRM vb1-03 + its T1 vb1-02) always in "
                "validation; then 3 vb2 and 5 vb3 subjects drawn with the seed",
                "train": list(split.train),
                "validation": list(split.validation),
            },
            indent=2,
        )
        + "\n"
    )
    return split


def synthetic_volumes(n: int, seed: int, lesion_p: float = 0.0) -> list:  # type: ignore[type-arg]
    """N synthetic labelled volumes from the sample-study phantom (acuity.sim.phantom)."""
    from acuity.segment.synthetic import synthetic_training_volumes

    return synthetic_training_volumes(n, seed=seed, lesion_p=lesion_p)


def validation_arrays(cases: list[Case], config: ModelConfig) -> list[dict]:  # type: ignore[type-arg]
    """Working-grid images, labels and loss-region masks of the validation cases."""
    import SimpleITK as sitk

    from acuity.segment.grid import resample_to, to_working

    out = []
    for c in cases:
        image = sitk.ReadImage(str(c.image_path))
        labels = sitk.ReadImage(str(c.labels_path))
        lab = sitk.GetArrayFromImage(labels)
        ignore = (unlabelled_region(lab, c.bottom_is_s1)[None] & (lab == 0)).astype(np.uint8)
        ign_img = sitk.GetImageFromArray(np.ascontiguousarray(ignore))
        ign_img.CopyInformation(labels)
        work = to_working(image, inplane_mm=config.inplane_mm, min_slice_mm=config.min_slice_mm)
        out.append(
            {
                "case": c.case_id,
                "group": c.sequence_group.value,
                "image": sitk.GetArrayFromImage(work),
                "labels": sitk.GetArrayFromImage(resample_to(labels, work, nearest=True)),
                "ignore": sitk.GetArrayFromImage(resample_to(ign_img, work, nearest=True)) > 0,
                "s1_label": int(lab.max()) if c.bottom_is_s1 else 0,
            }
        )
    return out


def validate(net, config: ModelConfig, val: list[dict]) -> dict:  # type: ignore[no-untyped-def,type-arg]
    from dataclasses import replace

    from acuity.segment.infer import predict_probabilities
    from acuity.segment.network import LoadedModel

    # No mirror averaging while training (half the time); the exported model uses it.
    model = LoadedModel(config=replace(config, mirror_tta=False), network=net)
    rows = []
    for v in val:
        prob = predict_probabilities(v["image"], model)
        keep = ~v["ignore"]
        pred = (prob[0] > 0.5) & keep
        gt = (v["labels"] > 0) & keep
        dice = 2 * (pred & gt).sum() / max(pred.sum() + gt.sum(), 1)
        row = {"case": v["case"], "group": v["group"], "dice": round(float(dice), 4)}
        if v["s1_label"]:
            s1 = v["labels"] == v["s1_label"]
            row["s1_score_on_s1"] = round(float(prob[2][s1].mean()), 3)
            other = (v["labels"] > 0) & ~s1
            row["s1_score_on_others"] = round(float(prob[2][other].mean()), 3)
        rows.append(row)
    net.train()
    groups: dict[str, list[float]] = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r["dice"])
    return {
        "mean_dice": round(float(np.mean([r["dice"] for r in rows])), 4),
        "group_dice": {g: round(float(np.mean(d)), 4) for g, d in sorted(groups.items())},
        "cases": rows,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    import torch
    from monai.utils import set_determinism

    from acuity.segment.training import BatchSampler, masked_loss, prepare_case

    torch.set_num_threads(args.threads)
    set_determinism(seed=args.seed)
    data = args.data or shared_data_dir()
    if data is None:
        raise InputError("shared data folder not found: set ACUITY_DATA or pass --data")
    cases = load_cases(Path(data))
    split = get_split(cases, args.split)
    by_id = {c.case_id: c for c in cases}
    train_cases = [by_id[c] for c in split.train]
    val_cases = [by_id[c] for c in split.validation]
    logger.info("split seed %d: %d train, %d validation cases", split.seed, len(train_cases), len(val_cases))

    t0 = time.time()
    pseudo: dict[str, int] = {}
    s1_masks: dict[str, np.ndarray | None] = {c.case_id: None for c in train_cases}
    if args.pseudo_s1:
        from acuity.segment.network import load_model
        from acuity.segment.pseudo import find_s1_below

        finder = load_model(args.pseudo_s1)
        for c in train_cases:
            s1_masks[c.case_id] = mask = find_s1_below(c, finder)
            if mask is not None:
                pseudo[c.case_id] = int(mask.sum())
        logger.info("S1 pseudo-labels in %d of %d training exams", len(pseudo), len(train_cases))
    volumes = [prepare_case(c, s1_masks[c.case_id]) for c in train_cases]
    for copy in range(args.fracture_copies):
        for i, c in enumerate(train_cases):
            rng = np.random.default_rng([args.seed, 11, copy, i])
            volumes.append(
                prepare_case(
                    c, s1_masks[c.case_id], fracture_rng=rng, adjacent=args.adjacent_fractures
                )
            )
    if args.fracture_copies:
        logger.info("%d fractured copies of the training exams", args.fracture_copies * len(train_cases))
    if args.synthetic:
        volumes += synthetic_volumes(args.synthetic, seed=args.seed, lesion_p=args.synthetic_lesions)
    logger.info("prepared %d training volumes in %.0f s", len(volumes), time.time() - t0)
    sampler = BatchSampler(
        volumes,
        seed=args.seed,
        source_weights={"vb1": 0.4, "vb2": 0.3, "vb3": 0.3, "synthetic": 0.15},
    )

    config = ModelConfig(name=args.name)
    net = build_network(config)
    if args.init:
        state = torch.load(args.init, map_location="cpu", weights_only=True)
        net.load_state_dict({k: v.float() for k, v in state.items()})
        logger.info("initialised from %s", args.init)
    net = net.to(args.device)
    val = validation_arrays(val_cases, config)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    total_steps = args.epochs * args.steps_per_epoch
    warmup = min(200, total_steps // 10)

    def lr_at(step: int) -> float:
        if step < warmup:
            return args.lr * (step + 1) / warmup
        t = (step - warmup) / max(total_steps - warmup, 1)
        return args.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * t)))

    args.out_dir.mkdir(parents=True, exist_ok=True)
    history: list[dict] = []  # type: ignore[type-arg]
    start_epoch = 0
    elapsed_before = 0.0
    last = args.out_dir / "last.pt"
    if args.resume and last.is_file():
        ck = torch.load(last, map_location=args.device, weights_only=False)
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sampler.rng.bit_generator.state = ck["rng"]
        for t, state in zip(sampler.intensity.transforms, ck.get("monai_rng", [])):
            t.R.set_state(state)
        torch.set_rng_state(ck["torch_rng"])
        start_epoch, history, elapsed_before = ck["epoch"], ck["history"], ck["elapsed"]
        logger.info("resumed at epoch %d", start_epoch)

    t_start = time.time()
    net.train()
    for epoch in range(start_epoch, args.epochs):
        te = time.time()
        losses = []
        for i in range(args.steps_per_epoch):
            step = epoch * args.steps_per_epoch + i
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            x, y, m = sampler.batch(args.batch_size)
            x, y, m = x.to(args.device), y.to(args.device), m.to(args.device)
            loss, _ = masked_loss(net(x), y, m, boundary_weight=args.boundary_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        record = {
            "epoch": epoch + 1,
            "loss": round(float(np.mean(losses)), 4),
            "lr": round(lr_at((epoch + 1) * args.steps_per_epoch - 1), 6),
            "epoch_s": round(time.time() - te, 1),
        }
        if (epoch + 1) % args.val_every == 0 or epoch + 1 == args.epochs:
            net.eval()
            metrics = validate(net, config, val)
            record.update(
                {"val_mean_dice": metrics["mean_dice"], "val_group_dice": metrics["group_dice"], "val_cases": metrics["cases"]}
            )
        history.append(record)
        elapsed = elapsed_before + time.time() - t_start
        logger.info(
            "epoch %d/%d loss %.4f val dice %s groups %s (%.0f s, total %.1f min)",
            epoch + 1,
            args.epochs,
            record["loss"],
            record.get("val_mean_dice", "-"),
            record.get("val_group_dice", "-"),
            record["epoch_s"],
            elapsed / 60,
        )
        torch.save(
            {
                "model": net.state_dict(),
                "optimizer": opt.state_dict(),
                "rng": sampler.rng.bit_generator.state,
                "monai_rng": [t.R.get_state() for t in sampler.intensity.transforms],
                "torch_rng": torch.get_rng_state(),
                "epoch": epoch + 1,
                "history": history,
                "elapsed": elapsed,
                "config": config.to_dict(),
            },
            last,
        )
        (args.out_dir / "metrics.json").write_text(json.dumps({"history": history}, indent=1) + "\n")

    wall = elapsed_before + time.time() - t_start
    final = history[-1] if history else {}
    training_info = {
        "command": "python scripts/train_segmentation.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])),
        "seed": args.seed,
        "split_file": str(args.split.relative_to(ROOT)) if args.split.is_relative_to(ROOT) else str(args.split),
        "split_seed": split.seed,
        "train_cases": list(split.train),
        "validation_cases": list(split.validation),
        "synthetic_volumes": args.synthetic,
        "synthetic_lesion_share": args.synthetic_lesions,
        "boundary_weight": args.boundary_weight,
        "init": str(args.init) if args.init else None,
        "pseudo_s1_model": str(args.pseudo_s1) if args.pseudo_s1 else None,
        "pseudo_s1_cases": pseudo,
        "fracture_copies": args.fracture_copies,
        "adjacent_fractures": args.adjacent_fractures,
        "epochs": args.epochs,
        "steps_per_epoch": args.steps_per_epoch,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "threads": args.threads,
        "device": args.device,
        "wall_time_s": round(wall, 1),
        "final_val_mean_dice": final.get("val_mean_dice"),
        "final_val_group_dice": final.get("val_group_dice"),
        "torch": torch.__version__,
    }
    metrics_out = {"training": training_info, "history": history}
    (args.out_dir / "metrics.json").write_text(json.dumps(metrics_out, indent=1) + "\n")
    if not args.no_export:
        args.export_dir.mkdir(parents=True, exist_ok=True)
        cfg = ModelConfig.from_dict({**config.to_dict(), "training": training_info})
        state = {k: v.detach().cpu().half() for k, v in net.state_dict().items()}
        torch.save(state, args.export_dir / f"{args.name}.pt")
        (args.export_dir / f"{args.name}.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
        (args.export_dir / f"{args.name}.metrics.json").write_text(json.dumps(metrics_out, indent=1) + "\n")
        logger.info("exported %s/%s.pt (+ .json, .metrics.json)", args.export_dir, args.name)
    logger.info("done in %.1f min", wall / 60)
    return 0


if __name__ == "__main__":
    sys.exit(main())

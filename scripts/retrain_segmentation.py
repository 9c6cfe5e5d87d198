#!/usr/bin/env python
"""Retrain the vertebral-body network from scratch in one command (about 2 h on 2 CPU cores).

    .venv/bin/python scripts/retrain_segmentation.py --out-dir out/segmentation_retrain

The committed model (``models/vertebrae_seg.*``, since session 5) was made by this script,
the consolidated form of an earlier chain of eight fine-tuning stages (models/README.md, some
4.5-5 h of CPU): two runs of ``scripts/train_segmentation.py`` with fixed seeds,

* phase A, from scratch: real training exams + 8 phantom volumes, cosine schedule from
  ``--lr`` 2e-3;
* phase B, from phase A's weights: the sacrum below L5 pseudo-labelled by phase A (as the
  chain's stage 1 did), ``--fracture-copies`` fractured copies of every training exam,
  16 phantom volumes (half with phantom fractures) and the outline-weighted loss of stage 8.

Each phase exports into ``<out-dir>/phase_a|phase_b/export``; ``<out-dir>/retrain.json``
records the commands and wall times. Nothing is written to ``models/`` unless ``--export-dir``
says so. Pass ``--device cuda`` where a GPU is lent (same recipe, faster).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import train_segmentation

logger = logging.getLogger("retrain_segmentation")

#: train_segmentation.py's default model name: each phase writes <name>.pt / .json / .metrics.json.
NAME = "vertebrae_seg"


def export_dir(out_dir: Path, phase: str) -> Path:
    """Where ``phase`` (phase_a / phase_b) writes its model."""
    return out_dir / phase / "export"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out-dir", type=Path, default=ROOT / "out" / "segmentation_retrain")
    p.add_argument(
        "--export-dir",
        type=Path,
        default=None,
        help="also copy the final model here (e.g. models/); default: only <out-dir>",
    )
    p.add_argument("--epochs-a", type=int, default=16, help="phase A epochs (from scratch)")
    p.add_argument("--epochs-b", type=int, default=26, help="phase B epochs (fine-tune)")
    p.add_argument("--steps-per-epoch", type=int, default=180)
    p.add_argument("--fracture-copies", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--data", type=Path, default=None, help="shared data folder")
    p.add_argument("--resume", action="store_true", help="skip a phase whose export exists")
    args = p.parse_args(argv)
    for name in ("epochs_a", "epochs_b", "steps_per_epoch"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} {getattr(args, name)}: give at least 1")
    if args.fracture_copies < 0:
        p.error(f"--fracture-copies {args.fracture_copies}: give 0 or more")
    return args


def phase_commands(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    """The two ``train_segmentation.py`` argument lists, in order."""
    common = [
        "--steps-per-epoch", str(args.steps_per_epoch),
        "--threads", str(args.threads),
        "--device", args.device,
    ]  # fmt: skip
    if args.data is not None:
        common += ["--data", str(args.data)]
    a_dir = args.out_dir / "phase_a"
    b_dir = args.out_dir / "phase_b"
    a_model = export_dir(args.out_dir, "phase_a") / f"{NAME}.pt"
    phase_a = [
        "--epochs", str(args.epochs_a), "--lr", "2e-3", "--seed", "0", "--synthetic", "8",
        "--val-every", str(args.epochs_a),
        "--out-dir", str(a_dir), "--export-dir", str(export_dir(args.out_dir, "phase_a")),
    ]  # fmt: skip
    phase_b = [
        "--init", str(a_model), "--pseudo-s1", str(a_model),
        "--fracture-copies", str(args.fracture_copies),
        "--epochs", str(args.epochs_b), "--lr", "5e-4", "--seed", "1",
        "--synthetic", "16", "--synthetic-lesions", "0.5", "--boundary-weight", "3",
        "--val-every", str(args.epochs_b),
        "--out-dir", str(b_dir), "--export-dir", str(export_dir(args.out_dir, "phase_b")),
    ]  # fmt: skip
    return [("phase_a", phase_a + common), ("phase_b", phase_b + common)]


def stamp_recipe(config: Path, argv: list[str] | None, wall_time_s: float) -> None:
    """Record this command and its total wall time in the exported model's provenance."""
    cfg = json.loads(config.read_text())
    args = sys.argv[1:] if argv is None else argv
    cfg.setdefault("training", {})["recipe"] = {
        "command": " ".join(["python scripts/retrain_segmentation.py", *args]),
        "wall_time_s": round(wall_time_s, 1),
    }
    config.write_text(json.dumps(cfg, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    phases: list[dict[str, object]] = []
    t0 = time.time()
    for name, cmd in phase_commands(args):
        export = export_dir(args.out_dir, name) / f"{NAME}.pt"
        if args.resume and export.is_file():
            logger.info("%s: %s exists, skipped (--resume)", name, export)
            continue
        logger.info("%s: train_segmentation.py %s", name, " ".join(cmd))
        t = time.time()
        rc = train_segmentation.main(cmd)
        if rc != 0:
            logger.error("%s failed with exit status %d", name, rc)
            return rc
        phases.append({"phase": name, "args": cmd, "wall_time_s": round(time.time() - t, 1)})
        record = {"phases": phases, "wall_time_s": round(time.time() - t0, 1)}
        (args.out_dir / "retrain.json").write_text(json.dumps(record, indent=1) + "\n")
    final = export_dir(args.out_dir, "phase_b")
    if phases:
        stamp_recipe(final / f"{NAME}.json", argv, time.time() - t0)
    if args.export_dir is not None:
        if not (final / f"{NAME}.pt").is_file():
            logger.error("%s has no %s.pt: nothing to copy to %s", final, NAME, args.export_dir)
            return 1
        args.export_dir.mkdir(parents=True, exist_ok=True)
        for f in final.glob(f"{NAME}.*"):
            (args.export_dir / f.name).write_bytes(f.read_bytes())
        logger.info("copied %s to %s", final, args.export_dir)
    logger.info("done in %.1f min; model in %s", (time.time() - t0) / 60, final)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Train the per-body outline refiner (``acuity.segment.refine``) on the main model's outputs.

    .venv/bin/python scripts/train_refiner.py                  # ~30 min on 2 CPU cores
    .venv/bin/python scripts/train_refiner.py --cache /tmp/rf   # keep the prepared volumes: a
                                                                # rerun trains only (~9 min)

For every exam of the training split (``models/vertebrae_split.json``): the exam as it is and
``--copies`` fractured copies (``acuity.segment.fractures.fracture_case``: one or two bodies
compressed 15-60 %, half of them with marrow edema in the exam's contrast, and in half of
the copies one more body with edema but no compression). Each volume goes
to the main model's working grid; with probability ``--thick`` its sagittal slices are made
3 or 4 mm thick (``acuity.segment.grid.simulate_thick_slices``, as in clinical series). The main model (``--model``,
default the committed one) segments it exactly as ``segment_image`` does; every body it
finds is matched to the truth by overlap and becomes a training body. Batches draw fractured
and intact bodies half and half, one random slice each, with intensity jitter, a left-right
mirror, and the main mask randomly dilated (1-3 px) or eroded (1-2 px) and the probability
channel sometimes blanked, so that the refiner learns to draw the outline from the image.

Writes ``<export-dir>/<name>.pt`` (float16) and ``<name>.json``; copy them beside the main
model and set its ``refiner`` to ``<name>`` to use them.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from acuity.config import shared_data_dir
from acuity.errors import InputError

logger = logging.getLogger("train_refiner")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=None, help="shared data folder (default $ACUITY_DATA)")
    p.add_argument("--split", type=Path, default=ROOT / "models" / "vertebrae_split.json")
    p.add_argument("--model", type=Path, default=ROOT / "models" / "vertebrae_seg.pt", help="main model")
    p.add_argument("--name", default="vertebrae_refine")
    p.add_argument("--copies", type=int, default=5, help="fractured copies per training exam")
    p.add_argument("--thick", type=float, default=0.4, help="share of volumes given 3-4 mm slices")
    p.add_argument("--edema-only", type=float, default=0.5,
                   help="share of copies with one more body given edema without a compression")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--steps-per-epoch", type=int, default=120)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=7, help="seed of the data (fractured copies, slicing)")
    p.add_argument("--train-seed", type=int, default=None,
                   help="seed of the training (weights, batches; default --seed): another "
                   "refiner of the same data, e.g. to measure how much refiners vary")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cases", default=None, help="comma-separated training exams (default: all)")
    p.add_argument("--corner", type=float, default=0.0,
                   help="share of training bodies whose main mask loses or gains a corner "
                   "(shift_corner; tried at 0.3 in session 8, not adopted)")
    p.add_argument("--hard", type=float, default=0.0,
                   help="share of the fractured-body draws that pick a slice in proportion to "
                   "the main mask's gross error there (hard_slices) instead of uniformly")
    p.add_argument("--export-dir", type=Path, default=ROOT / "out" / "refiner" / "export")
    p.add_argument("--cache", type=Path, default=None,
                   help="folder for the prepared volumes; a rerun with the same data settings "
                   "and main model skips the preparation")
    return p.parse_args(argv)


@dataclass
class Volume:
    """One volume on the main model's working grid (Z, Y, X)."""

    name: str
    image: np.ndarray  # normalised as the main network sees it (float16)
    prob: np.ndarray  # main network's body probability (float16)
    work: np.ndarray  # main network's instances (uint8)
    truth: np.ndarray  # truth labels, nearest (uint8)
    fractured: frozenset[int]  # truth labels compressed in this copy


@dataclass(frozen=True)
class Body:
    volume: int
    label: int  # main-network instance
    truth: int  # matched truth label
    z0: int
    z1: int
    centre: tuple[float, float]
    fractured: bool


def prepare(
    case: object, model: object, rng: np.random.Generator, copy: int, thick: float, edema_only: float
) -> Volume:
    import SimpleITK as sitk

    from acuity.segment.api import working_instances
    from acuity.segment.fractures import fracture_case
    from acuity.segment.grid import resample_to, simulate_thick_slices, to_working
    from acuity.sim.grid import Grid

    cfg = model.config  # type: ignore[attr-defined]
    limg = sitk.ReadImage(str(case.labels_path))  # type: ignore[attr-defined]
    img0 = sitk.ReadImage(str(case.image_path))  # type: ignore[attr-defined]
    arr, lab = sitk.GetArrayFromImage(img0), sitk.GetArrayFromImage(limg)
    done: dict[int, str] = {}
    if copy > 0:
        arr, lab, done = fracture_case(case, arr, lab, Grid.from_image(limg), rng, edema_only=edema_only)  # type: ignore[arg-type]
    img = sitk.GetImageFromArray(arr.astype(np.float32))
    img.CopyInformation(img0)  # type: ignore[no-untyped-call]
    labi = sitk.GetImageFromArray(lab.astype(np.uint16))
    labi.CopyInformation(limg)  # type: ignore[no-untyped-call]
    work = to_working(img, inplane_mm=cfg.inplane_mm, min_slice_mm=cfg.min_slice_mm)
    if rng.random() < thick and work.GetSpacing()[2] < 2.0:  # type: ignore[no-untyped-call]
        # The working grid's slice axis is left-right: clinical 3-4 mm sagittal slices.
        work = simulate_thick_slices(work, float(rng.choice([3.0, 4.0])))
    w = sitk.GetArrayFromImage(work)
    truth = sitk.GetArrayFromImage(resample_to(labi, work, nearest=True))
    spacing = [float(v) for v in reversed(work.GetSpacing())]  # type: ignore[no-untyped-call]
    norm, probs, inst = working_instances(w, tuple(spacing), model)  # type: ignore[arg-type]
    name = f"{case.case_id}#{copy}"  # type: ignore[attr-defined]
    logger.info("%s: %d bodies, slices %.0f mm%s", name, int(inst.max()), spacing[0],
                "".join(f"; body {k}: {v}" for k, v in done.items()))
    return Volume(
        name=name,
        image=norm.astype(np.float16),
        prob=probs[0].astype(np.float16),
        work=inst.astype(np.uint8),
        truth=truth.astype(np.uint8),
        fractured=frozenset(k for k, v in done.items() if "no compression" not in v),
    )


def cache_key(
    case_id: str, index: int, copy: int, args: argparse.Namespace, model_digest: str
) -> str:
    """File name of one prepared volume: everything that decides its content (``index``, the
    exam's place in the run's list, seeds its random stream)."""
    return (
        f"{case_id}_{index}_{copy}_s{args.seed}_t{args.thick}_e{args.edema_only}_"
        f"{model_digest}.npz"
    )


def save_volume(path: Path, v: Volume) -> None:
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, name=v.name, image=v.image, prob=v.prob, work=v.work, truth=v.truth,
             fractured=np.array(sorted(v.fractured), dtype=np.int32))
    tmp.replace(path)


def load_volume(path: Path) -> Volume:
    with np.load(path) as z:
        return Volume(str(z["name"]), z["image"], z["prob"], z["work"], z["truth"],
                      frozenset(int(k) for k in z["fractured"]))


def match(work: np.ndarray, truth: np.ndarray, min_dice: float = 0.3) -> dict[int, int]:
    """Main-network instance -> truth label of largest overlap (Dice >= ``min_dice``)."""
    out = {}
    for k in (int(v) for v in np.unique(work) if v):
        mine = work == k
        ids, cnt = np.unique(truth[mine], return_counts=True)
        hits = [(int(c), int(i)) for i, c in zip(ids, cnt) if i]
        if not hits:
            continue
        c, t = max(hits)
        if 2 * c / (mine.sum() + (truth == t).sum()) >= min_dice:
            out[k] = t
    return out


def bodies_of(vols: list[Volume]) -> list[Body]:
    from acuity.segment.refine import body_centre

    out = []
    for i, v in enumerate(vols):
        for k, t in match(v.work, v.truth).items():
            both = (v.work == k) | (v.truth == t)
            zz = np.nonzero(both.any(axis=(1, 2)))[0]
            out.append(Body(i, k, t, int(zz.min()), int(zz.max()), body_centre(v.work == k), t in v.fractured))
    return out


def shift_corner(x: np.ndarray, rng: np.random.Generator) -> None:
    """Make the main mask (channel 4) and the probability (3) lose or gain a corner, in place.

    The main network's worst outlines of compressed bodies miss a corner of the body at a
    dark disc or fill the stretched disc above a wedge: the part of the mask beyond a random
    straight line is cut off, or the mask grows (dilated 3-8 px) beyond it.
    """
    from scipy import ndimage

    mask = x[4] > 0.5  # (S, S)
    yy, xx = np.nonzero(mask)
    if yy.size < 50:
        return
    angle = rng.uniform(0, 2 * np.pi)
    ny, nx = np.sin(angle), np.cos(angle)
    proj = (np.arange(mask.shape[0])[:, None] - yy.mean()) * ny + (np.arange(mask.shape[1])[None] - xx.mean()) * nx
    side = proj > np.quantile(proj[mask], rng.uniform(0.6, 0.9))  # (S, S)
    if rng.random() < 0.5:
        changed = mask & side
        x[4][changed] = 0.0
        x[3][changed] *= float(rng.uniform(0.0, 0.3))
    else:
        grown = ndimage.binary_dilation(mask, iterations=int(rng.integers(3, 9)))
        changed = grown & side & ~mask
        x[4][changed] = 1.0
        x[3][changed] = np.maximum(x[3][changed], float(rng.uniform(0.6, 1.0)))


@dataclass(frozen=True)
class HardSlices:
    """Slices of the fractured bodies, weighted by how wrong the main mask is on each, and the
    share of the fractured-body draws that follow the weights (``--hard``)."""

    share: float
    body: np.ndarray  # (N,) index into the fractured bodies
    z: np.ndarray  # (N,)
    p: np.ndarray  # (N,) drawing probability, sums to 1


def gross_error(work: np.ndarray, truth: np.ndarray) -> int:
    """Pixels of one slice where the main mask and the truth disagree by more than 1 px: the
    outline's one-pixel band around the truth is forgiven, a missing corner or a filled disc
    is not."""
    from scipy import ndimage

    band = ndimage.binary_dilation(truth) & ~ndimage.binary_erosion(truth)  # 4-neighbourhood
    return int(((work ^ truth) & ~band).sum())


def hard_slices(vols: list[Volume], fx: list[Body], share: float) -> HardSlices:
    """Every slice of the fractured bodies, weighted by its :func:`gross_error` (uniform when
    the main masks make none)."""
    body, zs, err = [], [], []
    for j, b in enumerate(fx):
        v = vols[b.volume]
        for z in range(b.z0, b.z1 + 1):
            body.append(j)
            zs.append(z)
            err.append(gross_error(v.work[z] == b.label, v.truth[z] == b.truth))
    w = np.asarray(err, dtype=np.float64)
    if w.sum() == 0:
        w[:] = 1.0
    return HardSlices(share, np.asarray(body), np.asarray(zs), w / w.sum())


def draw(
    fx: list[Body], ok: list[Body], rng: np.random.Generator, hard: HardSlices | None = None
) -> tuple[Body, int]:
    """One training slice: fractured and intact bodies half and half; ``hard.share`` of the
    fractured draws follow ``hard``'s weights, the rest are uniform over bodies and slices."""
    pool = fx if (fx and rng.random() < 0.5) or not ok else ok
    if pool is fx and hard is not None and hard.share and rng.random() < hard.share:
        i = int(rng.choice(len(hard.p), p=hard.p))
        return fx[int(hard.body[i])], int(hard.z[i])
    b = pool[int(rng.integers(len(pool)))]
    return b, int(rng.integers(b.z0, b.z1 + 1))


def make_batch(vols: list[Volume], fx: list[Body], ok: list[Body], size: int, crop: int, rng: np.random.Generator, corner: float = 0.0, hard: HardSlices | None = None):  # type: ignore[no-untyped-def]
    from scipy import ndimage

    from acuity.segment.refine import body_input, crop2d

    xs, ys = [], []
    for _ in range(size):
        b, z = draw(fx, ok, rng, hard)
        v = vols[b.volume]
        centre = (b.centre[0] + rng.normal(0, 4), b.centre[1] + rng.normal(0, 4))
        x = body_input(v.image, v.prob, v.work, b.label, z, centre, crop)  # (5, S, S)
        y = crop2d((v.truth[z] == b.truth).astype(np.float32), *centre, crop)  # (S, S)
        img = np.clip(x[:3], 0, 1) ** float(np.exp(rng.normal(0, 0.25)))
        img = img * float(rng.uniform(0.85, 1.15)) + float(rng.normal(0, 0.03))
        img = img + rng.normal(0, rng.uniform(0, 0.04), img.shape)
        x[:3] = img[::-1] if rng.random() < 0.5 else img
        u = rng.random()
        if corner and rng.random() < corner:
            shift_corner(x, rng)
        elif u < 0.25:
            x[4] = ndimage.binary_dilation(x[4] > 0.5, iterations=int(rng.integers(1, 4)))
        elif u < 0.4:
            x[4] = ndimage.binary_erosion(x[4] > 0.5, iterations=int(rng.integers(1, 3)))
        if rng.random() < 0.3:
            x[3] = 0.0
        xs.append(x)
        ys.append(y[None])
    return np.stack(xs).astype(np.float32), np.stack(ys).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    import torch

    from acuity.segment.dataset import load_case
    from acuity.segment.network import load_model, weights_digest
    from acuity.segment.refine import RefinerConfig, build_refiner

    torch.set_num_threads(args.threads)
    train_seed = args.seed if args.train_seed is None else args.train_seed
    torch.manual_seed(train_seed)
    data = args.data or shared_data_dir()
    try:
        if data is None:
            raise InputError("shared data folder not found: set ACUITY_DATA or pass --data")
        if not args.split.is_file():
            raise InputError(f"--split {args.split} not found")
        split = json.loads(args.split.read_text())
        ids = args.cases.split(",") if args.cases else list(split["train"])
        stray = sorted(set(ids) - set(split["train"]))
        if stray:
            raise InputError(f"--cases {stray} are not training exams of {args.split}")
        if not 0.0 <= args.corner <= 1.0:
            raise InputError(f"--corner {args.corner} is a share of bodies: give 0 to 1")
        if not 0.0 <= args.hard <= 1.0:
            raise InputError(f"--hard {args.hard} is a share of draws: give 0 to 1")
        if args.cache is not None:
            try:
                args.cache.mkdir(parents=True, exist_ok=True)
                probe = args.cache / ".write_test"
                probe.touch()
                probe.unlink()
            except OSError as exc:
                raise InputError(
                    f"--cache {args.cache} cannot be written ({exc.strerror}): give a writable "
                    "folder"
                ) from exc
    except InputError as exc:
        print(f"train_refiner: error: {exc}", file=sys.stderr)
        return 2
    main_model = load_model(args.model)
    digest = weights_digest(args.model)
    t0 = time.time()
    vols = []
    for i, cid in enumerate(ids):
        case = load_case(Path(data) / "vertebrae" / cid)
        for copy in range(args.copies + 1):
            cached = args.cache / cache_key(cid, i, copy, args, digest) if args.cache is not None else None
            if cached is not None and cached.is_file():
                vols.append(load_volume(cached))
                continue
            rng = np.random.default_rng([args.seed, i, copy])
            vols.append(prepare(case, main_model, rng, copy, args.thick, args.edema_only))
            if cached is not None:
                save_volume(cached, vols[-1])
    bodies = bodies_of(vols)
    fx = [b for b in bodies if b.fractured]
    ok = [b for b in bodies if not b.fractured]
    prep_s = time.time() - t0
    logger.info("%d volumes, %d bodies (%d fractured) in %.0f s", len(vols), len(bodies), len(fx), prep_s)
    hard = hard_slices(vols, fx, args.hard) if args.hard and fx else None

    config = RefinerConfig(
        name=args.name, main_model=main_model.config.name, main_model_sha256=digest
    )
    net = build_refiner(config)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * args.steps_per_epoch)
    bce = torch.nn.BCEWithLogitsLoss()
    rng = np.random.default_rng([train_seed, 99])
    history = []
    t1 = time.time()
    for epoch in range(args.epochs):
        net.train()
        total = 0.0
        for _ in range(args.steps_per_epoch):
            xb, yb = make_batch(vols, fx, ok, args.batch, config.crop, rng, args.corner, hard)
            x, y = torch.from_numpy(xb), torch.from_numpy(yb)
            logits = net(x)  # (B, 1, S, S)
            p = torch.sigmoid(logits)
            dice = 1 - (2 * (p * y).sum((1, 2, 3)) + 1) / (p.sum((1, 2, 3)) + y.sum((1, 2, 3)) + 1)
            loss = bce(logits, y) + dice.mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
        history.append(round(total / args.steps_per_epoch, 4))
        logger.info("epoch %d/%d loss %.4f (%.0f s)", epoch + 1, args.epochs, history[-1], time.time() - t1)

    args.export_dir.mkdir(parents=True, exist_ok=True)
    config = replace(
        config,
        training={
            "command": "python scripts/train_refiner.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
            "main_model": str(args.model.name),
            "seed": args.seed,
            "train_seed": train_seed,
            "train_cases": ids,
            "copies": args.copies,
            "thick": args.thick,
            "edema_only": args.edema_only,
            "corner": args.corner,
            "hard": args.hard,
            "volumes": len(vols),
            "bodies": len(bodies),
            "fractured_bodies": len(fx),
            "epochs": args.epochs,
            "steps_per_epoch": args.steps_per_epoch,
            "batch": args.batch,
            "lr": args.lr,
            "loss_per_epoch": history,
            "prepare_minutes": round(prep_s / 60, 1),
            "train_minutes": round((time.time() - t1) / 60, 1),
        },
    )
    torch.save({k: v.half() for k, v in net.state_dict().items()}, args.export_dir / f"{args.name}.pt")
    (args.export_dir / f"{args.name}.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    logger.info("exported %s to %s (%.1f min)", args.name, args.export_dir, (time.time() - t0) / 60)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

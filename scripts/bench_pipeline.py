#!/usr/bin/env python
"""Benchmark the whole analysis: per-stage seconds, peak memory, I/O floor, throughput, latency.

    .venv/bin/python scripts/bench_pipeline.py --quick                 # stages + I/O floor only
    .venv/bin/python scripts/bench_pipeline.py --repeats 3 --json out/bench_pipeline.json

Measured, for the sample study (``sample_dicom/``) and for a real-data study (a real exam of
``shared/data/vertebrae`` with a simulated acute wedge fracture, written as DICOM by
``acuity.sim.study.study_from_real_case`` into a temporary folder; skipped without the data):

- Per-stage seconds (ingest, select, load, segment, measure, candidacy as recorded by
  ``acuity.pipeline.analyze_study`` in ``StudyAnalysis.timings``; report = ``write_outputs``:
  report.json, labels, HTML, SR, SEG, key image, summary.csv), the analysis total (ingest to
  the last output written) and the process wall time (interpreter start and imports included).
  Each run is a fresh ``python`` process, so each pays the imports and the model loading as
  ``acuity analyze`` does; the median of ``--repeats`` runs is reported (``--warmup`` runs
  first, not counted, to warm the OS file cache).
- Peak memory: the child process's peak resident set size (``getrusage`` ``ru_maxrss``).
- I/O floor: reading and decoding every pixel array of the study's files with pydicom
  (``dcmread(f).pixel_array``, warm cache, in this process), and the ratio analysis / floor.

Without ``--quick``, also:

- Studies per hour of ``acuity batch ROOT -o OUT --workers N`` for N in ``--workers`` over
  ``--copies`` copies of the sample study with fresh UIDs (skipped with a message when the
  ``batch`` command is not there).
- Listener latency: the sample study is sent by C-STORE to an in-process
  ``acuity.serve.listener.Listener`` whose results go to an in-process storage SCP; reported:
  the time from the last C-STORE response (association released) to the SR's arrival, and
  the same minus the listener's ``idle_seconds`` (the wait that decides that a study is
  complete).

Prints markdown tables; ``--json FILE`` writes every number and the machine description.
Targets (issue): full analysis of a 3-series lumbar study under 15 s on a 2-core machine,
peak memory under 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: The stages ``analyze_study`` records, in pipeline order, then what this script adds.
STAGES = ("ingest", "select", "load", "segment", "measure", "candidacy")
COLUMNS = (*STAGES, "report", "analysis", "process")

#: Real exam used by default: a real STIR (the edema path runs), 9 bodies T10-S1.
DEFAULT_CASE = "vb1-03"
DEFAULT_LESION = "L1:wedge:2:acute"

TARGET_SECONDS = 15.0
TARGET_PEAK_MB = 2048.0


# --- child: one analysis in a fresh process -------------------------------------------------


def child_run(study_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Analyse ``study_dir`` into ``out_dir`` as ``acuity analyze`` does; timings and peak RSS."""
    start = time.perf_counter()
    # Every module the stages import lazily (torch with the segmentation), so that the stage
    # times measure work; the model's weights are still loaded inside "segment".
    import acuity.clinical
    import acuity.measure.study
    import acuity.report
    import acuity.segment
    import acuity.select  # noqa: F401
    from acuity.ingest import scan_folder
    from acuity.pipeline import AnalysisOptions, analyze_study, write_outputs

    imported = time.perf_counter()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    scan = scan_folder(study_dir)
    timings["ingest"] = time.perf_counter() - t0
    if len(scan.studies) != 1:
        raise SystemExit(f"{study_dir}: expected one study, found {len(scan.studies)}")
    analysis = analyze_study(scan.studies[0], scan, AnalysisOptions(), timings=timings)
    t0 = time.perf_counter()
    write_outputs(analysis, out_dir, render=True)
    end = time.perf_counter()
    out = {k: float(v) for k, v in analysis.timings.items() if k != "total"}
    out["report"] = end - t0
    out["analysis"] = end - imported
    out["imports"] = imported - start
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def run_child(study_dir: Path, work: Path) -> dict[str, Any]:
    """One analysis in a fresh interpreter; its measurements plus the process wall time."""
    out_dir = work / f"out-{time.monotonic_ns()}"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(study_dir), str(out_dir)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"analysis of {study_dir} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process"] = wall
    shutil.rmtree(out_dir, ignore_errors=True)
    return result


def bench_study(name: str, study_dir: Path, work: Path, repeats: int, warmup: int) -> dict[str, Any]:
    for _ in range(warmup):
        run_child(study_dir, work)
    runs = [run_child(study_dir, work) for _ in range(repeats)]
    median = {k: statistics.median(r.get(k, 0.0) for r in runs) for k in (*COLUMNS, "imports")}
    floor = io_floor(study_dir, repeats=max(3, repeats))
    return {
        "study": name,
        "files": floor["files"],
        "series": floor["series"],
        "median_seconds": median,
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "runs": runs,
        "io_floor_seconds": floor["seconds"],
        "analysis_over_floor": median["analysis"] / floor["seconds"] if floor["seconds"] else None,
    }


# --- I/O floor --------------------------------------------------------------------------------


def dicom_files(folder: Path) -> list[Path]:
    out = []
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            with p.open("rb") as f:
                head = f.read(132)
            if head[128:132] == b"DICM":
                out.append(p)
    return out


def io_floor(study_dir: Path, repeats: int) -> dict[str, Any]:
    """Median seconds to read and decode every pixel array of the study (warm cache)."""
    from pydicom import dcmread

    files = dicom_files(study_dir)
    series = {str(dcmread(f, stop_before_pixels=True).SeriesInstanceUID) for f in files}

    def read_all() -> float:
        t0 = time.perf_counter()
        for f in files:
            dcmread(f).pixel_array  # noqa: B018 - decoding is the point
        return time.perf_counter() - t0

    read_all()  # warm the OS cache and pydicom's decoder plugins
    return {
        "files": len(files),
        "series": len(series),
        "seconds": statistics.median(read_all() for _ in range(repeats)),
    }


# --- studies --------------------------------------------------------------------------------


def real_study(work: Path, case: str, lesion: str) -> Path | None:
    """A DICOM study from real exam ``case`` with ``lesion``, in ``work``; None without data."""
    from acuity.config import shared_data_dir
    from acuity.sim.study import LesionSpec, study_from_real_case

    data = shared_data_dir()
    case_dir = None if data is None else data / "vertebrae" / case
    if case_dir is None or not case_dir.is_dir():
        print(f"real-data study skipped: {case_dir or 'shared data'} not found", file=sys.stderr)
        return None
    out = work / f"real-{case}"
    study_from_real_case(case_dir, [LesionSpec.parse(lesion)], out, overwrite=True)
    return out


def copy_with_new_uids(src: Path, dst: Path, index: int) -> None:
    """``src`` as a new study in ``dst``: every Study/Series/SOP/FoR UID replaced."""
    from pydicom import dcmread
    from pydicom.uid import generate_uid

    mapping: dict[str, str] = {}

    def new(uid: object) -> str:
        key = str(uid)
        if key not in mapping:
            mapping[key] = generate_uid(entropy_srcs=[key, str(index), "acuity-bench"])
        return mapping[key]

    for f in dicom_files(src):
        ds = dcmread(f)
        for kw in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID"):
            if kw in ds:
                setattr(ds, kw, new(ds[kw].value))
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        target = dst / f.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(target, enforce_file_format=True)


# --- throughput: acuity batch ------------------------------------------------------------------


def acuity_command() -> list[str]:
    exe = Path(sys.executable).parent / "acuity"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "acuity.cli.main"]


def bench_batch(sample: Path, work: Path, copies: int, workers: list[int]) -> dict[str, Any]:
    cmd = acuity_command()
    probe = subprocess.run([*cmd, "batch", "--help"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        msg = "`acuity batch` is not available; throughput skipped"
        print(msg, file=sys.stderr)
        return {"skipped": msg}
    root = work / "batch-in"
    for k in range(copies):
        copy_with_new_uids(sample, root / f"study{k:02d}", k)
    rows = []
    for n in workers:
        out = work / f"batch-out-{n}"
        t0 = time.perf_counter()
        proc = subprocess.run(
            [*cmd, "batch", str(root), "-o", str(out), "--workers", str(n)],
            capture_output=True, text=True, check=False,
        )
        wall = time.perf_counter() - t0
        reports = list(out.rglob("report.json"))
        if proc.returncode != 0 or len(reports) != copies:
            print(f"acuity batch --workers {n}: exit {proc.returncode}, {len(reports)} of "
                  f"{copies} reports\n{proc.stderr[-2000:]}", file=sys.stderr)
        rows.append({
            "workers": n,
            "studies": copies,
            "reports": len(reports),
            "exit_status": proc.returncode,
            "seconds": wall,
            "studies_per_hour": len(reports) / wall * 3600.0 if wall > 0 else None,
        })
        shutil.rmtree(out, ignore_errors=True)
    return {"runs": rows}


# --- latency: acuity listen ----------------------------------------------------------------------


def bench_listener(sample: Path, work: Path, idle_seconds: float, timeout: float) -> dict[str, Any]:
    try:
        from acuity.serve.listener import Destination, Listener, ListenerConfig
        from acuity.serve.send import send_files
    except ImportError as exc:
        msg = f"acuity.serve.listener not importable ({exc}); latency skipped"
        print(msg, file=sys.stderr)
        return {"skipped": msg}
    from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt

    arrivals: dict[str, float] = {}
    got_sr = threading.Event()

    def on_store(event: Any) -> int:
        modality = str(event.dataset.get("Modality", "?"))
        arrivals.setdefault(modality, time.perf_counter())
        if modality == "SR":
            got_sr.set()
        return 0x0000

    ae = AE(ae_title="BENCHPACS")
    for cx in AllStoragePresentationContexts:
        ae.add_supported_context(cx.abstract_syntax, ALL_TRANSFER_SYNTAXES)
    scp = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    try:
        cfg = ListenerConfig(
            spool_dir=work / "spool",
            ae_title="ACUITY",
            host="127.0.0.1",
            port=0,
            send_to=Destination("127.0.0.1", int(scp.server_address[1]), "BENCHPACS"),
            allowed_aets=("BENCHSCU",),
            idle_seconds=idle_seconds,
            workers=1,
        )
        files = dicom_files(sample)
        with Listener(cfg) as listener:
            t0 = time.perf_counter()
            result = send_files(files, Destination("127.0.0.1", listener.port, "ACUITY"),
                                calling_aet="BENCHSCU")
            last_store = time.perf_counter()
            if not result.ok:
                raise SystemExit(f"sending the sample to the listener failed: {result.summary()}")
            if not got_sr.wait(timeout):
                return {"skipped": f"no SR within {timeout:.0f} s", "arrivals": sorted(arrivals)}
            listener.wait_idle(60.0)
    finally:
        scp.shutdown()
    latency = arrivals["SR"] - last_store
    return {
        "files": len(files),
        "send_seconds": last_store - t0,
        "idle_seconds": idle_seconds,
        "sr_latency_seconds": latency,
        "sr_latency_minus_idle_seconds": latency - idle_seconds,
        "arrivals_after_last_store": {m: t - last_store for m, t in arrivals.items()},
    }


# --- output ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    import numpy
    import pydicom

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pydicom": pydicom.__version__,
    }
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        if names:
            info["cpu_model"] = names[0]
    except OSError:
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    try:
        info["load_average"] = os.getloadavg()
    except OSError:
        pass
    return info


def markdown(results: dict[str, Any]) -> str:
    lines = []
    studies = results["studies"]
    if studies:
        lines += [
            "Per-stage seconds (median of {} runs), peak memory, I/O floor:".format(
                results["repeats"]),
            "",
            "| study | files | series | " + " | ".join(COLUMNS) + " | peak RSS (MB) "
            "| I/O floor (s) | analysis / floor |",
            "|---|" + "---:|" * (len(COLUMNS) + 5),
        ]
        for s in studies:
            m = s["median_seconds"]
            ratio = s["analysis_over_floor"]
            lines.append(
                f"| {s['study']} | {s['files']} | {s['series']} | "
                + " | ".join(f"{m[c]:.2f}" for c in COLUMNS)
                + f" | {s['peak_rss_mb']:.0f} | {s['io_floor_seconds']:.3f} | "
                + (f"{ratio:.0f}x" if ratio else "-") + " |"
            )
        lines += [
            "",
            (f"Targets: analysis < {TARGET_SECONDS:.0f} s, peak memory < {TARGET_PEAK_MB:.0f} MB. "
            "`analysis` = ingest to the last output written (imports excluded); `process` = the "
            "whole `python` process (interpreter, imports, model loading included)."),
        ]
    batch = results.get("batch")
    if batch:
        lines += ["", "Throughput (`acuity batch`):", ""]
        if "skipped" in batch:
            lines.append(f"skipped: {batch['skipped']}")
        else:
            lines += ["| workers | studies | reports | seconds | studies / hour |",
                      "|---:|---:|---:|---:|---:|"]
            for r in batch["runs"]:
                sph = "-" if r["studies_per_hour"] is None else f"{r['studies_per_hour']:.0f}"
                lines.append(f"| {r['workers']} | {r['studies']} | {r['reports']} | "
                             f"{r['seconds']:.1f} | {sph} |")
    listen = results.get("listener")
    if listen:
        lines += ["", "Listener latency (last C-STORE response to the SR delivered):", ""]
        if "skipped" in listen:
            lines.append(f"skipped: {listen['skipped']}")
        else:
            lines += [
                "| files sent | send (s) | idle_seconds | SR latency (s) | minus idle (s) |",
                "|---:|---:|---:|---:|---:|",
                (f"| {listen['files']} | {listen['send_seconds']:.2f} | {listen['idle_seconds']:.1f}"
                f" | {listen['sr_latency_seconds']:.2f} | "
                f"{listen['sr_latency_minus_idle_seconds']:.2f} |"),
            ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per study (median), 3")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted runs first, 1")
    parser.add_argument("--quick", action="store_true",
                        help="stages and I/O floor only (no batch throughput, no listener)")
    parser.add_argument("--no-real", action="store_true", help="skip the real-data study")
    parser.add_argument("--case", default=DEFAULT_CASE, help=f"real exam, {DEFAULT_CASE}")
    parser.add_argument("--lesion", default=DEFAULT_LESION,
                        help=f"simulated lesion of the real study, {DEFAULT_LESION}")
    parser.add_argument("--copies", type=int, default=4, help="studies per batch run, 4")
    parser.add_argument("--workers", default="1,2", help="batch worker counts, 1,2")
    parser.add_argument("--idle", type=float, default=2.0, help="listener idle_seconds, 2")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every number here")
    parser.add_argument("--child", nargs=2, metavar=("STUDY", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(child_run(Path(args.child[0]), Path(args.child[1]))))
        return 0
    if args.repeats < 1 or args.warmup < 0 or args.copies < 1:
        parser.error("--repeats and --copies must be >= 1, --warmup >= 0")
    workers = [int(w) for w in args.workers.split(",") if w.strip()]

    sample = ROOT / "sample_dicom"
    results: dict[str, Any] = {"machine": machine(), "repeats": args.repeats,
                               "warmup": args.warmup, "studies": []}
    with tempfile.TemporaryDirectory(prefix="acuity-bench-pipeline-") as tmp:
        work = Path(tmp)
        studies: list[tuple[str, Path]] = [("sample (synthetic)", sample)]
        if not args.no_real:
            real = real_study(work, args.case, args.lesion)
            if real is not None:
                studies.append((f"real {args.case} + {args.lesion}", real))
        for name, folder in studies:
            print(f"benchmarking {name} ...", file=sys.stderr)
            results["studies"].append(bench_study(name, folder, work, args.repeats, args.warmup))
        if not args.quick:
            print("benchmarking acuity batch ...", file=sys.stderr)
            results["batch"] = bench_batch(sample, work, args.copies, workers)
            print("benchmarking the listener ...", file=sys.stderr)
            results["listener"] = bench_listener(sample, work, args.idle, timeout=300.0)
    print(markdown(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
        print(f"\nwritten: {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

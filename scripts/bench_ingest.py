"""Benchmark DICOM ingestion: header indexing speed and volume loading time.

Writes synthetic series with :mod:`acuity.sim.dicom_writer` into a temporary folder, then
times :func:`acuity.ingest.scan_folder` (files/second, headers only) and
:func:`acuity.ingest.load_volume` (seconds for a 512 x 512 x 20 stack), taking the median
of a few runs, and prints a markdown table. Files are read from a warm OS cache (they were
just written), so the numbers measure parsing and decoding, not the disk.

    .venv/bin/python scripts/bench_ingest.py [--small-files 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydicom.uid import ExplicitVRLittleEndian, JPEGLSLossless, RLELossless

from acuity.ingest import find_series, load_volume, scan_folder
from acuity.sim import SAGITTAL_DIRECTION, SeriesSpec, StudySpec, write_series


def _median_seconds(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _big_volume() -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:512, 0:512]
    base = (1000 + 800 * np.sin(xx / 40.0) * np.cos(yy / 55.0)).astype(np.int32)
    noise = rng.integers(0, 60, (20, 512, 512))
    return (base[None] + noise).astype(np.uint16)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-files", type=int, default=2000, help="number of small files")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median)")
    args = parser.parse_args(argv)
    study = StudySpec()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="acuity-bench-") as tmp:
        root = Path(tmp)
        # Small files: series of 50 slices of 64 x 64, classic, uncompressed.
        per_series = 50
        n_series = max(1, args.small_files // per_series)
        rng = np.random.default_rng(1)
        for s in range(n_series):
            arr = rng.integers(0, 1000, (per_series, 64, 64)).astype(np.uint16)
            spec = SeriesSpec(arr, (0, 0, 0), (1, 1, 3), SAGITTAL_DIRECTION, series_number=s + 1)
            write_series(study, spec, root / "small" / f"s{s:03d}", file_names="uid")
        n_small = n_series * per_series
        t = _median_seconds(lambda: scan_folder(root / "small"), args.runs)
        rows.append(
            (
                f"scan_folder, {n_small} classic files of 64x64 ({n_series} series)",
                f"{n_small / t:,.0f} files/s ({t:.2f} s)",
            )
        )

        big = _big_volume()
        cases = [
            ("classic, Explicit VR LE", False, ExplicitVRLittleEndian),
            ("Enhanced MR, Explicit VR LE", True, ExplicitVRLittleEndian),
            ("classic, RLE Lossless", False, RLELossless),
            ("classic, JPEG-LS Lossless", False, JPEGLSLossless),
        ]
        for k, (label, enhanced, syntax) in enumerate(cases):
            folder = root / f"big{k}"
            spec = SeriesSpec(
                big,
                (0, 0, 0),
                (0.5, 0.5, 4),
                SAGITTAL_DIRECTION,
                series_number=100 + k,
                enhanced=enhanced,
                transfer_syntax=syntax,
            )
            write_series(study, spec, folder, file_names="uid", shuffle_seed=k)
            scan = scan_folder(folder)
            _, series, stack = find_series(scan, str(100 + k))
            t = _median_seconds(lambda s=stack, se=series: load_volume(s, se), args.runs)
            rows.append((f"load_volume 512x512x20, {label}", f"{t:.3f} s"))

    print(f"Python {platform.python_version()}, {platform.machine()}, median of {args.runs} runs\n")
    print("| Measurement | Result |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()

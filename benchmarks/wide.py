"""Wide tables: fit and transform time at 10,000 columns against 1,000 columns, same rows.

Every per-column step must be linear in the column count, so ten times the columns should take
about ten times as long (less where fixed costs dominate). A quadratic step shows as a ratio far
above 10: before the schema lookups were hoisted out of the per-column loops, 10,000 columns x
40 rows took 344 s to fit and 188 s to transform, and 3,000 columns spent 11.2 of 12.4 s of
transform rebuilding the frame's schema once per column.

In one process, after a small warm-up fit (torch's one-time imports are not a column cost), on
generated float64 Parquet files of ``--rows`` rows:

- fit: :func:`aefeatures.fit` on the Parquet file (``--epochs``, one thread), then save;
- transform: load the model, then stream the same file through it to a new Parquet file
  (validation, drift summary, scoring and writing: what ``aefeatures transform`` does).

Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/wide.py                  # 1,000 vs 10,000 columns
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/wide.py --quick          # 300 vs 3,000 columns
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

import aefeatures as aef
from aefeatures.transform.streaming import transform_path


def write_table(path: Path, columns: int, rows: int, seed: int = 0) -> None:
    """``rows`` x ``columns`` of low-rank float64 data plus noise."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, 4)) @ rng.normal(size=(4, columns)) + 0.1 * rng.normal(
        size=(rows, columns)
    )
    pl.DataFrame(values, schema=[f"c{i}" for i in range(columns)], orient="row").write_parquet(path)


def measure(directory: Path, columns: int, rows: int, epochs: int, threads: int) -> dict[str, float]:
    """Seconds to fit and save, and to load and transform, a table of ``columns`` columns."""
    directory = Path(tempfile.mkdtemp(dir=directory))  # each measurement its own files
    data, model_dir, output = directory / "in.parquet", directory / "model", directory / "out.parquet"
    write_table(data, columns, rows)
    started = time.perf_counter()
    aef.fit(data, epochs=epochs, threads=threads, seed=0).save(model_dir)
    fitted = time.perf_counter()
    transform_path(aef.load(model_dir), data, output)
    done = time.perf_counter()
    if pl.read_parquet_schema(output).get("ae_error") is None:
        raise SystemExit(f"the transform of {columns} columns wrote no ae_error")
    return {"columns": columns, "fit_s": fitted - started, "transform_s": done - fitted}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--narrow", type=int, default=1_000, help="columns of the baseline table")
    parser.add_argument("--wide", type=int, default=10_000, help="columns of the wide table")
    parser.add_argument("--rows", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="300 vs 3,000 columns")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON instead")
    args = parser.parse_args()
    narrow, wide = (300, 3_000) if args.quick else (args.narrow, args.wide)
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        measure(directory, 20, args.rows, 1, args.threads)  # warm-up: imports and torch's first calls
        small = measure(directory, narrow, args.rows, args.epochs, args.threads)
        large = measure(directory, wide, args.rows, args.epochs, args.threads)
    factor = wide / narrow
    ratios = {step: large[f"{step}_s"] / small[f"{step}_s"] for step in ("fit", "transform")}
    if args.json:
        print(
            json.dumps(
                {"rows": args.rows, "narrow": small, "wide": large, "ratios": ratios, "linear": factor}
            )
        )
        return
    print(f"| step | {narrow:,} columns | {wide:,} columns | ratio (linear: {factor:.1f}x) |")
    print("|---|---:|---:|---:|")
    for step in ("fit", "transform"):
        print(f"| {step} | {small[f'{step}_s']:.2f} s | {large[f'{step}_s']:.2f} s | {ratios[step]:.1f}x |")
    worst = max(ratios.values())
    verdict = "linear" if worst <= 1.5 * factor else "worse than linear"
    print(
        f"{args.rows} rows, {args.epochs} epochs, {args.threads} thread(s); worst ratio {worst:.1f}x: {verdict}"
    )


if __name__ == "__main__":
    main()

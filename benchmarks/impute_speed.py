"""Streamed fill speed: ``impute`` of a Parquet file with missing cells, in rows per second.

In one run, on a generated file of ``--rows`` x ``--width`` float32 columns (low-rank, each cell
missing with chance ``--holes``): a model is fitted with goal ``imputation`` on the file's first
20,000 rows (its fit time is not part of the rate), then the whole file is filled file to file
by :func:`aefeatures.transform.streaming.impute_path` (bounded memory, atomic output), beside
reading and writing the same file with pyarrow (the floor no file-to-file step goes below) in
the same run. The issue's target: 100,000+ rows/s for 1M x 30 with 10% holes on 2 cores.

Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/impute_speed.py                 # 1M x 30, 10%
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/impute_speed.py --quick         # 200k rows
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/impute_speed.py --components 1  # one Gaussian
    .venv/bin/python benchmarks/impute_speed.py --rows 30000 --steps 20 --json    # a smoke run
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from transform import read_write

import aefeatures as aef
from aefeatures.transform.streaming import impute_path

FIT_ROWS = 20_000


def write_holed(path: Path, rows: int, width: int, holes: float, seed: int = 0, chunk: int = 131_072) -> None:
    """Low-rank float32 columns with each cell missing (null) with chance ``holes``, chunk by chunk."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(8, width))
    schema = pa.schema([(f"c{i}", pa.float32()) for i in range(width)])
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for begin in range(0, rows, chunk):
            n = min(chunk, rows - begin)
            values = np.tanh(rng.normal(size=(n, 8)) @ mixing / 3) + 0.1 * rng.normal(size=(n, width))
            missing = rng.random((n, width)) < holes
            arrays = [pa.array(values[:, j].astype(np.float32), mask=missing[:, j]) for j in range(width)]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--width", type=int, default=30)
    parser.add_argument("--holes", type=float, default=0.1, help="chance of each cell to be missing")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of fit and fill")
    parser.add_argument("--quick", action="store_true", help="200,000 rows unless --rows is given")
    parser.add_argument("--steps", type=int, help="fit steps; default the imputation goal's")
    parser.add_argument(
        "--components", type=int, help="gaussian_components, the most Gaussians mixed; default the goal's"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead")
    args = parser.parse_args(argv)
    rows = 200_000 if args.quick and "--rows" not in (argv or sys.argv) else args.rows
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        source = work / "holed.parquet"
        write_holed(source, rows, args.width, args.holes)
        train = pl.read_parquet(source, n_rows=FIT_ROWS)
        started = time.perf_counter()
        settings = {"steps": args.steps, "gaussian_components": args.components}
        given = {name: value for name, value in settings.items() if value is not None}
        model = aef.fit(train, goal="imputation", threads=args.threads, seed=0, **given)
        components = len(model.net.gaussian.log_weight) if model.net.gaussian is not None else 0
        fit_s = time.perf_counter() - started
        copy_s = read_write(source, work / "copy.parquet", batch_rows=65_536)
        started = time.perf_counter()
        summary = impute_path(model, source, work / "filled.parquet")
        fill_s = time.perf_counter() - started
        filled = pq.ParquetFile(work / "filled.parquet").metadata.num_rows
    result = {
        "rows": rows,
        "width": args.width,
        "holes": args.holes,
        "threads": args.threads,
        "fit_s": fit_s,
        "read_write_rows_per_s": rows / copy_s,
        "impute_rows_per_s": rows / fill_s,
        "impute_vs_read_write": copy_s / fill_s,
        "components": components,
        "cells_filled": summary.filled,
        "rows_written": filled,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{rows:,} rows x {args.width} float32 columns, {args.holes:.0%} of cells missing, {args.threads} threads"
    )
    print(f"fit on {FIT_ROWS:,} rows (goal imputation): {fit_s:.1f} s, a mixture of {components} Gaussians")
    print(f"pyarrow read + write: {rows / copy_s:,.0f} rows/s ({copy_s:.2f} s)")
    print(
        f"impute, streamed file to file: {rows / fill_s:,.0f} rows/s ({fill_s:.2f} s, {summary.filled:,} cells "
        f"filled, {filled:,} rows written); {copy_s / fill_s:.2f}x the read + write rate"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

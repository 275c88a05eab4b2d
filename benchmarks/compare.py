"""compare benchmark: the default grid's cost against one default fit, and its ranking against full runs.

In one run:

- on a generated ``--rows`` x ``--width`` numeric table (a curved low-dimensional structure plus
  noise): the wall time of one default ``aef.fit`` and of the default ``compare`` grid (every kind
  at three bottleneck sizes, plus PCA, successive halving), and their ratio;
- on the ODDS tables in ``../shared/data/anomaly/`` (read there, never copied): the pruned grid's
  winner and top three against the same grid with every candidate trained to its end
  (``prune=False``), and both grids' wall times.

Run from the repository root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/compare.py --threads 1
    .venv/bin/python benchmarks/compare.py --threads 2 --tables        # cost only, all cores
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import polars as pl

import aefeatures as aef
from aefeatures.explore.compare import Comparison, compare

ODDS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "anomaly"


def generated(rows: int, width: int, seed: int = 0) -> pl.DataFrame:
    """Numeric columns on a curved 3-dimensional surface, with noise."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(rows, 3))
    curved = np.column_stack([latent, np.sin(latent[:, :1] * 2), latent[:, 1:2] * latent[:, 2:3]])
    values = curved @ rng.normal(size=(curved.shape[1], width)) + 0.1 * rng.normal(size=(rows, width))
    return pl.DataFrame(values.astype(np.float32), schema=[f"c{i}" for i in range(width)])


def neural_order(result: Comparison) -> list[tuple[str, int]]:
    return [(run.kind, run.latent_dim) for run in result.runs if run.kind != "pca" and run.rank is not None]


def cost(rows: int, width: int, threads: int) -> None:
    frame = generated(rows, width)
    aef.fit(frame.head(500), epochs=1, threads=threads)  # warm-up: imports and first-use costs
    started = time.perf_counter()
    aef.fit(frame, threads=threads, seed=0)
    one_fit = time.perf_counter() - started
    started = time.perf_counter()
    result = compare(frame, threads=threads, seed=0, max_seconds=3600)
    grid = time.perf_counter() - started
    pruned = sum(run.stopped_because.startswith("pruned") for run in result.runs)
    print(
        f"cost: {rows:,} x {width}, {threads} thread(s): one default fit {one_fit:.1f} s, "
        f"default grid ({len(result.runs)} runs, {pruned} pruned) {grid:.1f} s = {grid / one_fit:.2f}x"
    )


def agreement(tables: list[str], threads: int) -> None:
    same_winner = same_top3 = 0
    print(f"{'table':12} {'pruned s':>9} {'full s':>8}  winner (pruned / full)")
    for name in tables:
        frame = pl.read_parquet(ODDS / f"{name}.parquet").drop("label")
        started = time.perf_counter()
        pruned = compare(frame, threads=threads, seed=0, max_seconds=3600)
        pruned_seconds = time.perf_counter() - started
        started = time.perf_counter()
        full = compare(frame, threads=threads, seed=0, max_seconds=3600, prune=False)
        full_seconds = time.perf_counter() - started
        a, b = neural_order(pruned), neural_order(full)
        same_winner += a[0] == b[0]
        same_top3 += set(a[:3]) == set(b[:3])
        print(f"{name:12} {pruned_seconds:9.1f} {full_seconds:8.1f}  {a[0]} / {b[0]}")
    print(f"same winner on {same_winner} of {len(tables)} tables, same top three on {same_top3}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tables", nargs="*", default=["cardio", "thyroid", "ionosphere"])
    args = parser.parse_args()
    cost(args.rows, args.width, args.threads)
    if args.tables:
        agreement(args.tables, args.threads)


if __name__ == "__main__":
    main()

"""compare benchmark: the default grid's cost against one fit, and its ranking against full runs.

In one run:

- cost, on a generated ``--rows`` x ``--width`` numeric table (a curved low-dimensional structure
  plus noise) and on small real tables (scikit-learn's breast cancer, palmerpenguins' penguins,
  when installed): the wall time of one default ``aef.fit`` (``--goal outliers``), of one fit
  with the goal the grid trains for (``reconstruction`` without a label), and of the default
  ``compare`` grid (every kind at three bottleneck sizes, plus PCA, successive halving), and the
  grid's cost in fits of each and in fits of its winner (the command compare prints); with a label column, also the labelled grid (trained for
  ``outliers``, ranked by ROC-AUC, with the IsolationForest baseline) against the default fit;
- agreement, on the ODDS tables in ``../shared/data/anomaly/`` (read there, never copied): the
  pruned grid's winner and top three against the same grid with every candidate trained to its
  end (``prune=False``), and both grids' wall times.

The cost is measured in CPU seconds of the process (``time.process_time``), so run it with one
thread (``OMP_NUM_THREADS=1``, ``--threads 1``); the agreement part reports wall seconds.

Run from the repository root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/compare.py --threads 1
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/compare.py --quick    # cost only, small tables
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
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


def breast_cancer() -> tuple[pl.DataFrame, str | None]:
    """scikit-learn's 569 tumours, 30 numeric columns; label ``malignant`` (the target is 0 for it)."""
    from sklearn.datasets import load_breast_cancer

    frame = pl.from_pandas(load_breast_cancer(as_frame=True).frame)
    return frame.with_columns((pl.col("target") == 0).alias("malignant")).drop("target"), "malignant"


def penguins() -> tuple[pl.DataFrame, str | None]:
    """palmerpenguins' 344 penguins (numbers, categories, missing values); no binary label."""
    import palmerpenguins

    return pl.from_pandas(palmerpenguins.load_penguins()), None


def neural_order(result: Comparison) -> list[tuple[str, int]]:
    return [(run.kind, run.latent_dim) for run in result.runs if run.kind != "pca" and run.rank is not None]


def timed(call: Callable[[], object]) -> float:
    """CPU seconds of this process spent in ``call``: with one thread, unlike the wall time, it
    hardly depends on what else the machine runs, so ratios measured on a shared machine hold."""
    started = time.process_time()
    call()
    return time.process_time() - started


def cost(name: str, frame: pl.DataFrame, label: str | None, threads: int) -> None:
    """One default fit, one fit for the grid's goal, and the default grid (and the labelled grid)."""
    features = frame.drop(label) if label else frame
    aef.fit(features.head(200), epochs=1, threads=threads)  # warm-up: imports and first-use costs
    default_fit = timed(lambda: aef.fit(features, threads=threads, seed=0))
    same_goal = timed(lambda: aef.fit(features, threads=threads, seed=0, goal="reconstruction"))
    result: list[Comparison] = []
    grid = timed(lambda: result.append(compare(features, threads=threads, seed=0, max_seconds=3600)))
    pruned = sum(run.status == "pruned" for run in result[0].runs)
    settings = {**result[0].fit_settings, "threads": threads, "seed": 0}
    winner = timed(lambda: aef.fit(features, **settings))  # the printed `aefeatures fit` command
    print(
        f"{name} ({frame.height:,} x {features.width}), {threads} thread(s), CPU s: default fit {default_fit:.1f} s, "
        f"reconstruction fit {same_goal:.1f} s, default grid ({len(result[0].runs)} runs, {pruned} pruned) "
        f"{grid:.1f} s = {grid / default_fit:.1f}x the default fit, {grid / same_goal:.1f}x a fit of its goal, "
        f"{grid / winner:.1f}x the fit of its winner ({settings['kind']} at {settings['latent_dim']}, {winner:.1f} s)"
    )
    if label is not None:
        labelled = timed(
            lambda: result.append(compare(frame, label=label, threads=threads, seed=0, max_seconds=3600))
        )
        best = result[-1].best
        print(
            f"{name} with --label {label}: labelled grid {labelled:.1f} s = {labelled / default_fit:.1f}x "
            f"the default fit (it trains for outliers too); winner {best.kind if best else None}"
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
    parser.add_argument(
        "--quick", action="store_true", help="cost only: 5,000 x 16 generated and the small tables"
    )
    args = parser.parse_args()
    rows, width = (5_000, 16) if args.quick else (args.rows, args.width)
    cost(f"generated {rows:,} x {width}", generated(rows, width), None, args.threads)
    for name, load in (("breast_cancer", breast_cancer), ("penguins", penguins)):
        try:
            frame, label = load()
        except ImportError as error:
            print(f"{name}: skipped ({error})")
            continue
        cost(name, frame, label, args.threads)
    if args.tables and not args.quick:
        agreement(args.tables, args.threads)


if __name__ == "__main__":
    main()

"""Drift checks a scheduled job can trust: false alarms on unshifted batches and shifts caught.

For each table a model is fitted on 60% of the rows (default settings, one thread); batches are
drawn without replacement from the other 40%, so an alarm on an unshifted batch is false. The
check before the statistical tests (rates against a 2% tolerance, :func:`old_statistics`) runs
beside the new one on the same batches.

- False alarm rate: unshifted batches of 30, 100, 1,000 and 100,000 rows. A batch is drawn only
  from a table with at least that many held-out rows; 100,000-row batches come from the
  ``synthetic`` table, whose held-out rows are fresh draws of the same generator. ``--resampled``
  adds 100,000-row batches resampled with replacement from the real tables' held-out rows (their
  rows repeat, so they are not unshifted batches of new rows: printed apart).
- Detection rate of five shifts at 200 and 1,000 rows: a numeric column moved by 0.5 standard
  deviations; a numeric column spread 1.5x; 30% of a categorical column moved to its rarest
  level; the column most correlated with the others shuffled (marginals unchanged); 10% more
  nulls in one column.
- ``--speed``: a 1,000,000-row mixed table transformed to Parquet with and without drift (the
  drift counted in the same pass), the ratio of the times.

Tables: the ODDS tables in ``../shared/data/anomaly`` and the mixed tables shipped in PyPI
packages (:mod:`benchmarks.mixed_tables`: palmerpenguins, vega_datasets, scikit-learn,
statsmodels), plus ``synthetic``. Run it with ``OMP_NUM_THREADS=1``; ``--quick`` runs 10
batches per cell instead of 30 and fewer tables.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aefeatures as aef  # noqa: E402
from aefeatures.model.segments import count_segmented  # noqa: E402
from aefeatures.schema.drift import drift_summary  # noqa: E402
from aefeatures.schema.schemas import validate  # noqa: E402
from benchmarks.mixed_tables import MIXED, Table, load_tables, odds_tables, split_rows  # noqa: E402

SIZES = (30, 100, 1_000, 100_000)
SHIFT_SIZES = (200, 1_000)
SHIFTS = ("move 0.5 sd", "spread 1.5x", "30% to rarest level", "correlated column shuffled", "10% more nulls")
QUICK_TABLES = ("penguins", "fair", "anes96", "breast_cancer", "cardio", "satellite", "synthetic")


def synthetic_frame(rows: int, seed: int) -> pl.DataFrame:
    """Mixed-type rows with structure between the columns (a fresh draw for every seed)."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(rows, 2))
    income = np.exp(10 + 0.5 * latent[:, 0])
    income[rng.random(rows) < 0.1] = np.nan
    return pl.DataFrame(
        {
            "x": latent[:, 0] + 0.1 * rng.normal(size=rows),
            "y": 2 * latent[:, 0] - latent[:, 1] + 0.1 * rng.normal(size=rows),
            "count": rng.poisson(3 + latent[:, 1].clip(-2, 2)).astype(np.int64),
            "income": income,
            "segment": np.where(
                latent[:, 1] > 0.3, "gold", np.where(latent[:, 1] < -0.3, "bronze", "silver")
            ),
            "region": rng.choice(
                ["north", "south", "east", "west", "centre"], rows, p=[0.4, 0.3, 0.15, 0.1, 0.05]
            ),
            "active": latent[:, 0] + latent[:, 1] > 0,
            "seen": [datetime(2025, 1, 1) + timedelta(hours=int(h)) for h in rng.integers(0, 24 * 365, rows)],
        }
    ).with_columns(pl.col("income").fill_nan(None))


def old_statistics(drift: dict[str, Any]) -> dict[str, Any]:
    """What a model stored before the tests: missing rates and ranges only (the 2%-tolerance check)."""
    kept = ("missing_rate", "low", "high")
    return {
        "columns": {name: {k: v for k, v in s.items() if k in kept} for name, s in drift["columns"].items()}
    }


class Checker:
    """A model fitted on a table's training rows, and both checks of a batch."""

    def __init__(self, table: Table, seed: int, epochs: int | None = None) -> None:
        train_index, held_index = split_rows(table.frame.height, 0.6, seed)
        self.train, self.held = table.frame[train_index], table.frame[held_index]
        self.model = aef.fit(self.train, seed=seed, threads=1, epochs=epochs)
        self.specs = self.model.preprocessor.specs
        self.stats = self.model.metadata["drift"]
        self.old = old_statistics(self.stats)
        self.columns = self.model.columns

    def flags(self, batch: pl.DataFrame) -> tuple[bool, bool, list[str]]:
        """New check flagged, old check flagged, and the lines the new one flagged."""
        features = validate(batch, self.model.schema).select(self.columns)
        errors = self.model.score(self.model.preprocessor.encode(features), column_errors=False).errors
        new = drift_summary(features, self.specs, self.stats, errors=errors)
        old = drift_summary(features, self.specs, self.old)
        lines = new.filter(pl.col("drifted"))["column"].to_list()
        return bool(lines), bool(old["drifted"].any()), lines


def numeric_columns(checker: Checker) -> list[str]:
    return [s.name for s in checker.specs if s.kind == "numeric" and checker.train[s.name].n_unique() > 2]


def text_columns(checker: Checker) -> list[str]:
    return [s.name for s in checker.specs if s.kind == "categorical" and len(getattr(s, "levels", ())) >= 2]


def most_correlated(checker: Checker) -> str | None:
    """The numeric column best predicted by the others (largest R^2 of a least-squares fit)."""
    names = numeric_columns(checker)
    if len(names) < 2:
        return None
    values = checker.train.select(names).to_numpy().astype(np.float64)
    values = values[~np.isnan(values).any(axis=1)]
    values = (values - values.mean(axis=0)) / (values.std(axis=0) + 1e-12)
    best, best_r2 = None, -1.0
    for j, name in enumerate(names):
        others = np.delete(values, j, axis=1)
        coef, *_ = np.linalg.lstsq(others, values[:, j], rcond=None)
        r2 = 1.0 - float(((values[:, j] - others @ coef) ** 2).mean())
        if r2 > best_r2:
            best, best_r2 = name, r2
    return best


def shifted(
    checker: Checker, batch: pl.DataFrame, shift: str, rng: np.random.Generator
) -> pl.DataFrame | None:
    """``batch`` with one shift applied, or ``None`` when the table has no column it applies to."""
    n = batch.height
    if shift in ("move 0.5 sd", "spread 1.5x"):
        names = numeric_columns(checker)
        if not names:
            return None
        name = names[rng.integers(len(names))]
        mean, sd = checker.train[name].cast(pl.Float64).mean(), checker.train[name].cast(pl.Float64).std()
        column = pl.col(name).cast(pl.Float64)
        moved = column + 0.5 * sd if shift == "move 0.5 sd" else (column - mean) * 1.5 + mean
        if batch.schema[name].is_integer():
            moved = moved.round()  # a cast alone would truncate the shift away
        return batch.with_columns(moved.cast(batch.schema[name]).alias(name))
    if shift == "30% to rarest level":
        names = text_columns(checker)
        if not names:
            return None
        name = names[rng.integers(len(names))]
        counts = checker.train[name].drop_nulls().value_counts(sort=True)
        rarest = counts[name][-1]
        hit = pl.Series(rng.random(n) < 0.3)
        return batch.with_columns(
            pl.when(hit).then(pl.lit(rarest)).otherwise(pl.col(name)).cast(batch.schema[name]).alias(name)
        )
    if shift == "correlated column shuffled":
        name = most_correlated(checker)
        if name is None:
            return None
        return batch.with_columns(
            pl.Series(name, batch[name].to_numpy()[rng.permutation(n)], dtype=batch.schema[name])
        )
    name = checker.columns[rng.integers(len(checker.columns))]
    hit = pl.Series(rng.random(n) < 0.1)
    return batch.with_columns(pl.when(hit).then(None).otherwise(pl.col(name)).alias(name))


def draw(frame: pl.DataFrame, rows: int, rng: np.random.Generator, *, replace: bool = False) -> pl.DataFrame:
    return frame[np.sort(rng.choice(frame.height, rows, replace=replace))]


def batch_kind(table: str, size: int, held_out: int, resampled: bool) -> str | None:
    """How an unshifted batch of ``size`` rows is drawn from a table, or ``None`` (it is not)."""
    if size == 100_000 and table == "synthetic":
        return "fresh"
    if size <= held_out:
        return "held-out"
    return "resampled" if size == 100_000 and resampled else None


def unshifted(checker: Checker, kind: str, size: int, seed: int, rng: np.random.Generator) -> pl.DataFrame:
    """A fresh draw of the generator, held-out rows, or held-out rows resampled with replacement."""
    if kind == "fresh":
        return synthetic_frame(size, seed)
    return draw(checker.held, size, rng, replace=kind == "resampled")


def run_table(
    table: Table, batches: int, seed: int, resampled: bool, epochs: int | None = None
) -> dict[str, Any]:
    """Every cell of one table: false alarms per size, detections per shift and size."""
    started = time.perf_counter()
    checker = Checker(table, seed, epochs)
    rng = np.random.default_rng(seed + 1)
    result: dict[str, Any] = {
        "table": table.name,
        "rows": table.frame.height,
        "held_out": checker.held.height,
    }
    alarms: dict[str, Any] = {}
    for size in SIZES:
        kind = batch_kind(table.name, size, checker.held.height, resampled)
        if kind is None:
            continue
        count = batches if size < 100_000 else max(1, batches // 3)
        flagged = [checker.flags(unshifted(checker, kind, size, 10_000 + i, rng)) for i in range(count)]
        alarms[f"{size} resampled" if kind == "resampled" else f"{size}"] = {
            "new": float(np.mean([f[0] for f in flagged])),
            "old": float(np.mean([f[1] for f in flagged])),
            "lines": sorted({line for f in flagged for line in f[2]}),
        }
    result["false_alarms"] = alarms
    detections: dict[str, Any] = {}
    for shift in SHIFTS:
        for size in SHIFT_SIZES:
            if size > checker.held.height:
                continue
            flagged = []
            for _ in range(batches):
                batch = shifted(checker, draw(checker.held, size, rng), shift, rng)
                if batch is None:
                    break
                flagged.append(checker.flags(batch))
            if flagged:
                detections[f"{shift} @ {size}"] = {
                    "new": float(np.mean([f[0] for f in flagged])),
                    "old": float(np.mean([f[1] for f in flagged])),
                }
    result["detections"] = detections
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def speed(rows: int, repeats: int) -> dict[str, float]:
    """Seconds of a streaming transform of ``rows`` mixed rows without and with drift (same pass),
    and of the drift counting alone on the same batches (validated features and their ae_error)."""
    from aefeatures.io.parquet import ParquetSource
    from aefeatures.transform.streaming import transform_path

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        model = aef.fit(synthetic_frame(5_000, 0), seed=0, threads=1)
        parts = [synthetic_frame(100_000, 50 + i) for i in range(rows // 100_000)]
        pl.concat(parts).write_parquet(folder / "in.parquet")
        times: dict[str, list[float]] = {"ignore": [], "warn": [], "counting": []}
        for _ in range(repeats):
            for on_drift in ("ignore", "warn"):
                started = time.perf_counter()
                transform_path(
                    model,
                    folder / "in.parquet",
                    folder / f"{on_drift}.parquet",
                    on_drift=on_drift,
                    overwrite=True,
                )
                times[on_drift].append(time.perf_counter() - started)
            batches = []
            for _, frame in ParquetSource.open(folder / "in.parquet").iter_frames(65_536):
                features = validate(frame, model.schema).select(model.columns)
                errors = model.score(model.preprocessor.encode(features), column_errors=False).errors
                batches.append((features, errors))
            started = time.perf_counter()
            for features, errors in batches:
                count_segmented(features, model.preprocessor.specs, model.metadata["drift"], None, errors)
            times["counting"].append(time.perf_counter() - started)
    best = {k: min(v) for k, v in times.items()}
    return {
        "rows": rows,
        "without_drift_s": best["ignore"],
        "with_drift_s": best["warn"],
        "ratio": best["warn"] / best["ignore"],
        "counting_s": best["counting"],
        "counting_share": best["counting"] / best["ignore"],
    }


def summary_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| cell | tables | new check (mean) | new (worst table) | old check (mean) |",
        "|---|---|---|---|---|",
    ]
    cells: dict[str, list[tuple[str, float, float]]] = {}
    for result in results:
        for key, value in result["false_alarms"].items():
            cells.setdefault(f"false alarms, {key} rows", []).append(
                (result["table"], value["new"], value["old"])
            )
    for result in results:
        for key, value in result["detections"].items():
            cells.setdefault(f"detected: {key}", []).append((result["table"], value["new"], value["old"]))
    for cell, values in cells.items():
        new = [v[1] for v in values]
        worst = max(values, key=lambda v: v[1] if cell.startswith("false") else -v[1])
        lines.append(
            f"| {cell} | {len(values)} | {np.mean(new):.1%} | {worst[1]:.0%} ({worst[0]}) | {np.mean([v[2] for v in values]):.1%} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=None, help="comma-separated table names (default: all)")
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="10 batches per cell, fewer tables")
    parser.add_argument("--epochs", type=int, default=None, help="fit epochs (default: the default settings)")
    parser.add_argument(
        "--resampled", action="store_true", help="also 100,000-row batches resampled from small tables"
    )
    parser.add_argument(
        "--speed", action="store_true", help="also time a 1,000,000-row transform with and without drift"
    )
    parser.add_argument("--speed-rows", type=int, default=1_000_000)
    parser.add_argument("--speed-only", action="store_true", help="only the timing of --speed")
    parser.add_argument("--json", default=None, help="write every number to this file")
    args = parser.parse_args()
    loaders: dict[str, Callable[[], Table]] = {**MIXED, **odds_tables()}
    loaders["synthetic"] = lambda: Table("synthetic", synthetic_frame(5_000, 0), None, "generated")
    names = args.tables.split(",") if args.tables else (list(QUICK_TABLES) if args.quick else list(loaders))
    batches = 10 if args.quick else args.batches
    tables, skipped = load_tables([] if args.speed_only else names, loaders)
    for line in skipped:
        print(line, flush=True)
    results = []
    for table in tables:
        result = run_table(table, batches, args.seed, args.resampled, args.epochs)
        results.append(result)
        print(json.dumps(result), flush=True)
    if results:
        print(summary_table(results))
    output: dict[str, Any] = {"results": results}
    if args.speed or args.speed_only:
        output["speed"] = speed(args.speed_rows, 2)
        print(json.dumps(output["speed"]))
    if args.json:
        Path(args.json).write_text(json.dumps(output, indent=1))


if __name__ == "__main__":
    main()

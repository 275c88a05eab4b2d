"""Imputation benchmark: does ``model.impute`` fill removed cells better than the usual imputers?

Protocol. For each table, seed, mask and rate, cells of the feature columns (every column of the
table) are removed, then each method fills them and is scored on the removed cells only (cells
missing in the table itself stay missing for every method and are never scored):

* masks: ``MCAR``, each present cell removed with the same chance; ``MAR``, the chance depends on
  one always-observed column (the fully observed column with the most distinct values, never
  removed itself): logistic in that column's rank, slope 6 over the whole range, its sign drawn
  per column, its intercept set so that the rate holds. Rates 10, 20 and 40% of the present
  cells. A row never loses every one of its cells (one removed cell is put back).
* protocols: ``inductive``, the masked table is split 70/30 (seeded); every method is fitted on
  the masked 70% and then fills the masked 30% without refitting (scikit-learn: ``fit`` then
  ``transform``; MissForest replays the forests it fitted on the 70%; aefeatures: ``fit`` then
  ``model.impute``); ``transductive``, fitted on the whole masked table and filling it.
* methods: ``aefeatures`` (``aefeatures.fit(train, goal="imputation", seed=..., **--set)`` then
  ``model.impute``),
  ``mean/mode``, scikit-learn ``KNNImputer`` (5 neighbours) and ``IterativeImputer`` (BayesianRidge,
  10 rounds), and ``MissForest`` (Stekhoven & Buehlmann, written in ``benchmarks/imputers.py``,
  100 trees per forest). The baselines see numbers standardized, datetimes as days, and
  categories one-hot (KNN: the filled indicators become the level with the largest value) or as
  ordinal codes, rounded back to a level (Iterative, MissForest; why Iterative does not get
  one-hot: ``benchmarks/imputers.py``); aefeatures gets the table as it is. Every fill comes back
  in the column's dtype (whole numbers rounded).
* scores: ``nRMSE``, the root mean squared error of a numeric column's removed cells divided by
  that column's standard deviation in the whole table, averaged over numeric columns (datetimes
  count as numeric, in days); ``cat err``, the share of removed categorical and boolean cells
  filled with the wrong level; the wall time of fit and of fill in seconds.

Tables: the ODDS tables of ``../shared/data/anomaly/`` (when that folder exists; numeric, the
``label`` column dropped) and the mixed-type tables of ``benchmarks/mixed_tables.py`` (penguins,
cars, iris, wine, breast_cancer, diabetes, seattle_weather, and statsmodels' anes96, fair, star98
and randhie when statsmodels is installed), each capped at ``--max-rows`` rows (seeded sample). Nothing is downloaded.

Until ``AutoencoderModel.impute`` exists, each table prints ``aefeatures: not available: <reason>``
and the baselines run alone. Summary: mean nRMSE and categorical error per method at 20% MCAR and
20% MAR, inductive, and the share of (table, mask, rate, protocol) cells where aefeatures beats
IterativeImputer and KNNImputer, on each score.

Run from the repository root; ``make bench-quality`` installs scikit-learn, palmerpenguins,
vega_datasets, statsmodels, SDV and sdmetrics into the venv and runs this script and
``benchmarks/synthetic.py`` (``make bench-quality QUALITY_ARGS=--quick`` for short runs)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/imputation.py
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/imputation.py --quick --tables penguins,cars
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/imputation.py --seeds 3 --set goal=reconstruction --json out.json

``--quick``: one seed, 20% only, inductive only, at most 1,000 rows, 30 trees per forest.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
from imputers import Imputer, MeanMode, MissForest, SklearnImputer
from mixed_tables import MIXED, Table, as_numbers, column_kinds, odds_tables, split_rows
from quality_cli import Records, aefeatures_lacks, cell, failure_line, parse, parser_for, run, table_lines
from sklearn.experimental import enable_iterative_imputer  # noqa: F401  (makes IterativeImputer importable)
from sklearn.impute import IterativeImputer, KNNImputer

import aefeatures as aef

MASKS = ("MCAR", "MAR")
RATES = (0.1, 0.2, 0.4)
PROTOCOLS = ("inductive", "transductive")
METHODS = ("aefeatures", "mean/mode", "KNN", "Iterative", "MissForest")
SCORES = ("nrmse", "cat_error", "fit_s", "fill_s")
TITLES = {"nrmse": "nRMSE", "cat_error": "categorical error"}
TRAIN_SHARE = 0.7
MAR_SLOPE = 6.0  # logit difference between the driver column's lowest and highest rank
FULL = {
    "seeds": 1,
    "rates": ",".join(map(str, RATES)),
    "protocols": ",".join(PROTOCOLS),
    "max_rows": 3000,
    "trees": 100,
}
QUICK = {"seeds": 1, "rates": "0.2", "protocols": "inductive", "max_rows": 1000, "trees": 30}


class AefImputer:
    """aefeatures: ``fit`` on the training frame, ``model.impute`` to fill."""

    def __init__(self, seed: int, threads: int, params: dict[str, Any]) -> None:
        self.seed, self.threads, self.params = seed, threads, params

    def fit(self, frame: pl.DataFrame) -> AefImputer:
        params = {"goal": "imputation", **self.params}
        self.model_ = aef.fit(frame, seed=self.seed, threads=self.threads, **params)
        return self

    def fill(self, frame: pl.DataFrame) -> pl.DataFrame:
        return self.model_.impute(frame)


def methods(seed: int, args: argparse.Namespace) -> dict[str, Callable[[], Imputer]]:
    """A factory of a fresh, unfitted imputer per method."""
    return {
        "aefeatures": lambda: AefImputer(seed, args.threads, args.params),
        "mean/mode": MeanMode,
        "KNN": lambda: SklearnImputer(lambda: KNNImputer(n_neighbors=5, keep_empty_features=True), "onehot"),
        "Iterative": lambda: SklearnImputer(
            lambda: IterativeImputer(max_iter=10, random_state=seed, keep_empty_features=True), "ordinal"
        ),
        "MissForest": lambda: MissForest(trees=args.trees, seed=seed),
    }


def mar_driver(frame: pl.DataFrame) -> str:
    """The fully observed column with the most distinct values: MAR removes cells by its rank."""
    full = [name for name in frame.columns if frame[name].null_count() == 0]
    if not full:
        raise ValueError("MAR needs a column without missing values")
    return max(full, key=lambda name: frame[name].n_unique())


def removal_chance(
    frame: pl.DataFrame, present: np.ndarray, mechanism: str, rate: float, rng: Any
) -> np.ndarray:
    """Each cell's chance to be removed: ``rate`` (MCAR) or logistic in the MAR driver's rank."""
    if mechanism == "MCAR":
        return np.full(present.shape, rate)
    driver = frame.columns.index(mar_driver(frame))
    rank = frame[:, driver].rank("average").to_numpy()
    slope = MAR_SLOPE * rng.choice([-1.0, 1.0], size=frame.width)
    logits = ((rank - 1) / max(frame.height - 1, 1) - 0.5)[:, None] * slope[None, :]
    low, high = -20.0, 20.0
    for _ in range(60):  # bisection on the intercept: the mean chance over present cells is the rate
        chance = 1 / (1 + np.exp(-(logits + (low + high) / 2)))
        chance[:, driver] = 0.0
        low, high = ((low + high) / 2, high) if chance[present].mean() < rate else (low, (low + high) / 2)
    return chance


def make_mask(frame: pl.DataFrame, mechanism: str, rate: float, seed: int) -> np.ndarray:
    """Which present cells to remove (rows x columns), MCAR or MAR, never every cell of a row."""
    rng = np.random.default_rng(seed)
    present = frame.select(pl.all().is_not_null()).to_numpy()
    removed = present & (rng.random(present.shape) < removal_chance(frame, present, mechanism, rate, rng))
    for row in np.flatnonzero(~(present & ~removed).any(axis=1) & removed.any(axis=1)):
        removed[row, rng.choice(np.flatnonzero(removed[row]))] = False
    return removed


def apply_mask(frame: pl.DataFrame, removed: np.ndarray) -> pl.DataFrame:
    """``frame`` with the removed cells set missing."""
    return frame.with_columns(
        pl.when(pl.Series(removed[:, j])).then(None).otherwise(pl.col(name)).alias(name)
        for j, name in enumerate(frame.columns)
    )


def check_fill(given: pl.DataFrame, filled: pl.DataFrame) -> None:
    """Raise unless ``filled`` has ``given``'s columns, dtypes and rows, with present cells unchanged."""
    if filled.schema != given.schema or filled.height != given.height:
        raise ValueError(
            f"returned {filled.schema} x {filled.height} rows for {given.schema} x {given.height}"
        )
    for name in given.columns:
        if not (given[name].is_null() | given[name].eq_missing(filled[name])).all():
            raise ValueError(f"changed present cells of {name}")


def score(
    truth: pl.DataFrame, filled: pl.DataFrame, removed: np.ndarray, stds: dict[str, float]
) -> dict[str, Any]:
    """nRMSE over numeric columns and the share of wrong categorical cells, on removed cells only."""
    ratios, wrong, total = [], 0, 0
    for j, (name, kind) in enumerate(column_kinds(truth).items()):
        rows = pl.Series(removed[:, j])
        if not rows.any():
            continue
        if filled[name].filter(rows).null_count():
            raise ValueError(f"left removed cells of {name} empty")
        if kind in ("numeric", "datetime") and stds[name] > 0:
            error = as_numbers(truth[name].filter(rows)) - as_numbers(filled[name].filter(rows))
            ratios.append(float(np.sqrt(np.mean(error**2))) / stds[name])
        elif kind in ("category", "boolean"):
            wrong += int((truth[name].filter(rows) != filled[name].filter(rows)).sum())
            total += len(rows.filter(rows))
    return {
        "nrmse": float(np.mean(ratios)) if ratios else None,
        "cat_error": wrong / total if total else None,
    }


def evaluate(
    make: Callable[[], Imputer], fit_on: pl.DataFrame, fill_on: pl.DataFrame
) -> tuple[pl.DataFrame, dict[str, float]]:
    """One method fitted on one frame and filling another: the filled frame, fit and fill seconds."""
    started = time.perf_counter()
    imputer = make().fit(fit_on)
    fitted = time.perf_counter()
    filled = imputer.fill(fill_on)
    times = {"fit_s": fitted - started, "fill_s": time.perf_counter() - fitted}
    check_fill(fill_on, filled)
    return filled, times


def run_table(table: Table, args: argparse.Namespace) -> tuple[Records, list[str]]:
    """Every seed, mask, rate, protocol and method on one table; the records and why methods failed."""
    frame, kinds = table.frame, column_kinds(table.frame)
    stds = {
        n: float(np.nanstd(as_numbers(frame[n]))) for n, k in kinds.items() if k in ("numeric", "datetime")
    }
    lacking = aefeatures_lacks("impute")
    records, failures = [], [f"aefeatures: not available: {lacking}"] if lacking else []
    for seed, mechanism, rate in itertools.product(range(args.seeds), args.masks, args.rates):
        train, test = split_rows(frame.height, TRAIN_SHARE, seed)
        removed = make_mask(frame, mechanism, rate, seed)
        given = apply_mask(frame, removed)
        for protocol, (method, make) in itertools.product(args.protocols, methods(seed, args).items()):
            if method == "aefeatures" and lacking:
                continue
            rows = test if protocol == "inductive" else np.arange(frame.height)
            fit_on = given[train] if protocol == "inductive" else given
            try:
                filled, times = evaluate(make, fit_on, given[rows])
                scores = score(frame[rows], filled, removed[rows], stds)
            except Exception as error:  # a method that fails is reported, the others go on
                failures += [] if failure_line(method, error) in failures else [failure_line(method, error)]
                continue
            setting = {
                "table": table.name,
                "seed": seed,
                "mask": mechanism,
                "rate": rate,
                "protocol": protocol,
            }
            records.append(setting | {"method": method} | scores | times)
    return records, failures


Key = tuple[str, str, str, float, str]  # table, protocol, mask, rate, method


def aggregate(records: Records) -> dict[Key, dict[str, Any]]:
    """Mean over seeds of every score and time, per table, protocol, mask, rate and method."""
    groups: dict[Key, Records] = {}
    for r in records:
        groups.setdefault((r["table"], r["protocol"], r["mask"], r["rate"], r["method"]), []).append(r)
    return {
        key: {
            f: float(np.mean(v)) if (v := [r[f] for r in rows if r[f] is not None]) else None for f in SCORES
        }
        for key, rows in groups.items()
    }


def report(table: Table, records: Records) -> list[str]:
    """The plain-text table of one table: a line per protocol, mask, rate and method."""
    kinds = list(column_kinds(table.frame).values())
    counts = ", ".join(f"{kinds.count(k)} {k}" for k in dict.fromkeys(kinds))
    means = aggregate(records)
    order = sorted(means, key=lambda k: (PROTOCOLS.index(k[1]), MASKS.index(k[2]), k[3], METHODS.index(k[4])))
    rows = [
        [*key[1:3], f"{key[3]:.0%}", key[4], *(cell(means[key][f], 3 if f in TITLES else 2) for f in SCORES)]
        for key in order
    ]
    header = ["protocol", "mask", "rate", "method", "nRMSE", "cat err", "fit s", "fill s"]
    title = f"{table.name} ({table.source}): {table.frame.height} rows; {counts}; MAR driver {mar_driver(table.frame)}"
    return [title, "", *table_lines(rows, header)]


def method_means(means: dict[Key, dict[str, Any]], tables: list[str], mask: str, field: str) -> list[str]:
    """Each method's mean of ``field`` over the tables, inductive, 20% of cells removed by ``mask``."""
    parts = []
    for method in METHODS:
        values = [means[k][field] for t in tables if (k := (t, "inductive", mask, 0.2, method)) in means]
        if values := [v for v in values if v is not None]:
            parts.append(f"{method} {np.mean(values):.3f} ({len(values)} tables)")
    return parts


def summary(records: Records, tables: list[str]) -> list[str]:
    """Mean scores per method at 20% inductive, and how often aefeatures beats Iterative and KNN."""
    means, lines = aggregate(records), []
    for mask, (field, title) in itertools.product(
        MASKS, (("nrmse", "nRMSE"), ("cat_error", "categorical error"))
    ):
        if parts := method_means(means, tables, mask, field):
            lines.append(f"mean {title}, inductive, 20% {mask}: " + ", ".join(parts))
    for baseline, field in itertools.product(("Iterative", "KNN"), ("nrmse", "cat_error")):
        pairs = [
            (m[field], means[other][field])
            for (t, protocol, mask, rate, method), m in means.items()
            if method == "aefeatures" and (other := (t, protocol, mask, rate, baseline)) in means
            if m[field] is not None and means[other][field] is not None
        ]
        if pairs:
            wins = sum(a < b for a, b in pairs)
            lines.append(
                f"aefeatures beats {baseline}Imputer on {TITLES[field]} in {wins} of {len(pairs)} "
                f"(table, mask, rate, protocol) cells ({wins / len(pairs):.0%})"
            )
    if not any(key[4] == "aefeatures" for key in means):
        lines.append("aefeatures: not available in this run, so no comparison with the baselines")
    return lines


def main(argv: list[str] | None = None) -> int:
    loaders = {**odds_tables(), **MIXED}
    parser = parser_for(__doc__, list(loaders), FULL, QUICK)
    parser.add_argument("--masks", default=",".join(MASKS), help=f"comma-separated, of: {', '.join(MASKS)}")
    parser.add_argument(
        "--rates", help=f"comma-separated shares of present cells removed; default {FULL['rates']}"
    )
    parser.add_argument("--protocols", help=f"comma-separated, of: {', '.join(PROTOCOLS)}; default both")
    parser.add_argument("--trees", type=int, help=f"trees per MissForest forest; default {FULL['trees']}")
    args = parse(parser, argv)
    args.masks, args.protocols = args.masks.split(","), args.protocols.split(",")
    args.rates = [float(rate) for rate in args.rates.split(",")]
    if set(args.masks) - set(MASKS) or set(args.protocols) - set(PROTOCOLS):
        parser.error(f"masks are {', '.join(MASKS)} and protocols {', '.join(PROTOCOLS)}")
    return run(args, loaders, run_table, report, summary)


if __name__ == "__main__":
    sys.exit(main())

"""Synthetic-row benchmark: are ``model.sample`` rows as useful, faithful and private as SDV's?

Protocol. Each table's rows are split 70/30 (seeded). Every generator is fitted on the 70%
(every column, the label included: it is generated like any other column) and samples as many
rows as the 70% has. Generators, in the same run:

* ``aefeatures``: ``aefeatures.fit(train, seed=..., **--set)`` then ``model.sample(n, seed=...)``;
* ``GaussianCopula``: SDV's ``GaussianCopulaSynthesizer`` with its defaults;
* ``TVAE``: SDV's ``TVAESynthesizer``, 300 epochs (``--tvae-epochs``), on the CPU.

Both SDV generators get the same metadata, built from the column types (numbers ``numerical``,
dates ``datetime``, text ``categorical``, booleans ``boolean``). Scores of each synthetic table:

* quality: SDMetrics' ``QualityReport`` against the 70% (overall score, column shapes, column
  pair trends; 0-1, higher is better);
* utility: train on synthetic, test on real (TSTR): ``HistGradientBoostingClassifier`` (defaults;
  categories as categorical features, coded with the real 70%'s levels) learns the label from the
  other columns of the synthetic rows and is scored by ROC-AUC on the real 30% (one-vs-rest, macro,
  with more than two classes). Synthetic rows with a level the real 70% lacks, or no label, are left
  out; with a single class left, the score is 0.5. The same classifier trained on the real 70% (TRTR)
  is the reference;
* privacy: for each synthetic row the distance to its closest training row, with one metric for
  every generator: the square root of the sum over columns of (difference / the column's standard
  deviation in the 70%)^2 for numbers and dates (in days), plus 1 per categorical or boolean column
  whose levels differ; a missing cell against a present one counts 1, two missing cells 0. The
  median over synthetic rows is reported, and the share of synthetic rows at distance 0 (exact copies
  of a training row). The real 30% measured the same way is the reference (``held-out real``): a
  generator whose rows sit much closer to the training rows than real new rows do is copying;
* wall time of fit and of sample, in seconds.

Tables: the mixed-type tables with a label column of ``benchmarks/mixed_tables.py`` (penguins /
species, cars / Origin, iris, wine and breast_cancer / target, statsmodels' anes96 / vote and
fair / affair when statsmodels is installed), capped at ``--max-rows`` rows (seeded sample).
Nothing is downloaded. Until ``AutoencoderModel.sample`` exists, each table prints
``aefeatures: not available: <reason>`` and the SDV generators run alone.

Summary per generator: mean quality, mean TSTR ROC-AUC, median closest-row distance (median over
tables), mean fit + sample seconds; and on how many tables aefeatures is at or above the better of
the two SDV generators (quality; TSTR ROC-AUC).

Run from the repository root; ``make bench-quality`` installs scikit-learn, palmerpenguins,
vega_datasets, statsmodels, SDV and sdmetrics into the venv and runs this script and
``benchmarks/imputation.py`` (``make bench-quality QUALITY_ARGS=--quick`` for short runs)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/synthetic.py
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/synthetic.py --quick --tables penguins,cars
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/synthetic.py --seeds 3 --set goal=reconstruction --json out.json

``--quick``: one seed, at most 1,000 rows; TVAE keeps its 300 epochs (at 50 its quality fell from
0.82 to 0.53 on penguins, which would flatter any generator compared with it).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import torch
from mixed_tables import (
    MIXED,
    Table,
    Unavailable,
    as_numbers,
    column_kinds,
    level_codes,
    levels_of,
    split_rows,
)
from quality_cli import Records, aefeatures_lacks, cell, failure_line, parse, parser_for, run, table_lines
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

import aefeatures as aef

GENERATORS = ("aefeatures", "GaussianCopula", "TVAE")
REFERENCE = "held-out real"  # the real 30% scored like a synthetic table
TRAIN_SHARE = 0.7
SDTYPES = {"numeric": "numerical", "datetime": "datetime", "category": "categorical", "boolean": "boolean"}
QUICK = {"seeds": 1, "tvae_epochs": 300, "max_rows": 1000}  # TVAE at 50 epochs scored 0.53-0.63
FULL = {"seeds": 1, "tvae_epochs": 300, "max_rows": 3000}
CHUNK = 128  # synthetic rows per block of the distance computation
FIELDS = ("quality", "shapes", "pairs", "auc", "distance", "copies", "fit_s", "sample_s")


class AefGenerator:
    """aefeatures: ``fit`` on the training rows, ``model.sample`` to generate."""

    def __init__(self, seed: int, threads: int, params: dict[str, Any]) -> None:
        self.seed, self.threads, self.params = seed, threads, params

    def fit(self, frame: pl.DataFrame) -> AefGenerator:
        self.model_ = aef.fit(frame, seed=self.seed, threads=self.threads, **self.params)
        return self

    def sample(self, n: int) -> pl.DataFrame:
        return self.model_.sample(n, seed=self.seed)


class SdvGenerator:
    """An SDV single-table synthesizer, given metadata from the column types."""

    def __init__(self, kind: str, seed: int, epochs: int) -> None:
        self.kind, self.seed, self.epochs = kind, seed, epochs

    def fit(self, frame: pl.DataFrame) -> SdvGenerator:
        from sdv.metadata import Metadata
        from sdv.single_table import GaussianCopulaSynthesizer, TVAESynthesizer

        np.random.seed(self.seed)  # the global generators that SDV's models may draw from
        torch.manual_seed(self.seed)
        metadata = Metadata.load_from_dict({"tables": {"table": metadata_of(frame)}})
        if self.kind == "TVAE":
            self.synthesizer_ = TVAESynthesizer(metadata, epochs=self.epochs, enable_gpu=False)
        else:
            self.synthesizer_ = GaussianCopulaSynthesizer(metadata)
        self.schema_ = frame.schema
        self.synthesizer_.fit({"table": frame.to_pandas()})
        return self

    def sample(self, n: int) -> pl.DataFrame:
        rows = self.synthesizer_.sample(n)
        rows = rows["table"] if isinstance(rows, dict) else rows
        return pl.from_pandas(rows).select(pl.col(name).cast(dtype) for name, dtype in self.schema_.items())


def metadata_of(frame: pl.DataFrame) -> dict[str, Any]:
    """SDV / SDMetrics single-table metadata: every column's sdtype from its polars type."""
    return {"columns": {name: {"sdtype": SDTYPES[kind]} for name, kind in column_kinds(frame).items()}}


def generators(seed: int, args: argparse.Namespace) -> dict[str, Callable[[], Any]]:
    """A factory of a fresh, unfitted generator per name."""
    return {
        "aefeatures": lambda: AefGenerator(seed, args.threads, args.params),
        "GaussianCopula": lambda: SdvGenerator("GaussianCopula", seed, args.tvae_epochs),
        "TVAE": lambda: SdvGenerator("TVAE", seed, args.tvae_epochs),
    }


def with_label(table: Table) -> Table:
    """``table``, or :class:`Unavailable` when it has no label column to learn."""
    if table.label is None:
        raise Unavailable("no label column")
    return table


def quality(real: pl.DataFrame, synthetic: pl.DataFrame) -> dict[str, float]:
    """SDMetrics' QualityReport of ``synthetic`` against ``real``: overall, shapes, pair trends."""
    from sdmetrics.reports.single_table import QualityReport

    report = QualityReport()
    report.generate(real.to_pandas(), synthetic.to_pandas(), metadata_of(real), verbose=False)
    properties = dict(report.get_properties()[["Property", "Score"]].itertuples(index=False))
    return {
        "quality": float(report.get_score()),
        "shapes": float(properties["Column Shapes"]),
        "pairs": float(properties["Column Pair Trends"]),
    }


def features(frame: pl.DataFrame, reference: pl.DataFrame, label: str) -> tuple[np.ndarray, np.ndarray]:
    """The non-label columns as numbers (categories coded by ``reference``'s levels), and which are categorical."""
    kinds = {name: kind for name, kind in column_kinds(reference).items() if name != label}
    columns = [
        level_codes(frame[name], levels_of(reference[name]))
        if kind == "category"
        else as_numbers(frame[name])
        for name, kind in kinds.items()
    ]
    return np.column_stack(columns), np.array([kind == "category" for kind in kinds.values()])


def roc_auc(train: pl.DataFrame, test: pl.DataFrame, reference: pl.DataFrame, label: str, seed: int) -> float:
    """ROC-AUC on ``test`` of boosting trained on ``train`` to predict ``label`` (classes of ``reference``)."""
    classes = levels_of(reference[label])
    y_train, y_test = (level_codes(frame[label], classes) for frame in (train, test))
    x_train, categorical = features(train, reference, label)
    x_test, _ = features(test, reference, label)
    x_train, y_train = x_train[~np.isnan(y_train)], y_train[~np.isnan(y_train)].astype(int)
    x_test, y_test = x_test[~np.isnan(y_test)], y_test[~np.isnan(y_test)].astype(int)
    if len(np.unique(y_train)) < 2:
        return 0.5  # a single class predicts nothing
    model = HistGradientBoostingClassifier(categorical_features=categorical, random_state=seed)
    model.fit(x_train, y_train)
    proba = np.zeros((len(y_test), len(classes)))  # a class absent from the training rows gets 0
    proba[:, model.classes_] = model.predict_proba(x_test)
    if len(classes) == 2:
        return float(roc_auc_score(y_test, proba[:, 1]))
    return float(
        roc_auc_score(y_test, proba, multi_class="ovr", average="macro", labels=np.arange(len(classes)))
    )


def _distance_codes(column: pl.Series, levels: list[Any]) -> np.ndarray:
    """Level codes for the distance: -1 where missing (equal to missing), -2 for a level not in ``levels``."""
    return np.where(column.is_null().to_numpy(), -1.0, np.nan_to_num(level_codes(column, levels), nan=-2.0))


def closest_distances(rows: pl.DataFrame, train: pl.DataFrame) -> np.ndarray:
    """Each row's distance to its closest training row (the metric of the module docstring)."""
    numeric, categorical = [], []
    for name, kind in column_kinds(train).items():
        if kind in ("numeric", "datetime"):
            reference = as_numbers(train[name])
            std = float(np.nanstd(reference)) or 1.0
            numeric.append((as_numbers(rows[name]) / std, reference / std))
        else:
            levels = levels_of(train[name])
            categorical.append((_distance_codes(rows[name], levels), _distance_codes(train[name], levels)))
    distances = np.empty(rows.height)
    for start in range(0, rows.height, CHUNK):
        block = slice(start, start + CHUNK)
        squares = np.zeros((len(distances[block]), train.height))
        for a, b in numeric:
            diff = a[block, None] - b[None, :]
            both, either = np.isnan(a[block, None]) & np.isnan(b[None, :]), np.isnan(diff)
            squares += np.where(both, 0.0, np.where(either, 1.0, diff**2))
        for a, b in categorical:
            squares += a[block, None] != b[None, :]
        distances[block] = np.sqrt(squares.min(axis=1))
    return distances


def privacy(rows: pl.DataFrame, train: pl.DataFrame) -> dict[str, float]:
    """Median closest-training-row distance and the share of exact copies."""
    distances = closest_distances(rows, train)
    return {"distance": float(np.median(distances)), "copies": float(np.mean(distances == 0))}


def scores(
    rows: pl.DataFrame, train: pl.DataFrame, test: pl.DataFrame, label: str, seed: int
) -> dict[str, Any]:
    """Quality against the 70%, TSTR ROC-AUC on the 30% and privacy of ``rows``."""
    return quality(train, rows) | {"auc": roc_auc(rows, test, train, label, seed)} | privacy(rows, train)


def reference(train: pl.DataFrame, test: pl.DataFrame, label: str, seed: int) -> dict[str, Any]:
    """The real 30% scored like a synthetic table; its ROC-AUC is boosting trained on the real 70% (TRTR)."""
    auc = roc_auc(train, test, train, label, seed)
    return quality(train, test) | {"auc": auc} | privacy(test, train) | {"fit_s": None, "sample_s": None}


def generate(make: Callable[[], Any], train: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, float]]:
    """One generator fitted on ``train`` and sampling as many rows: the rows, fit and sample seconds."""
    started = time.perf_counter()
    generator = make().fit(train)
    fitted = time.perf_counter()
    rows = generator.sample(train.height)
    times = {"fit_s": fitted - started, "sample_s": time.perf_counter() - fitted}
    if rows.schema != train.schema or rows.height != train.height:
        raise ValueError(f"sampled {rows.schema} x {rows.height} rows for {train.schema} x {train.height}")
    return rows, times


def run_table(table: Table, args: argparse.Namespace) -> tuple[Records, list[str]]:
    """Every seed and generator on one table, and the held-out reference; the records and the failures."""
    label, lacking = str(table.label), aefeatures_lacks("sample")
    records, failures = [], [f"aefeatures: not available: {lacking}"] if lacking else []
    for seed in range(args.seeds):
        train_rows, test_rows = split_rows(table.frame.height, TRAIN_SHARE, seed)
        train, test = table.frame[train_rows], table.frame[test_rows]
        setting = {"table": table.name, "seed": seed}
        records.append(setting | {"generator": REFERENCE} | reference(train, test, label, seed))
        for name, make in generators(seed, args).items():
            if name == "aefeatures" and lacking:
                continue
            try:
                rows, times = generate(make, train)
                found = scores(rows, train, test, label, seed)
            except Exception as error:  # a generator that fails is reported, the others go on
                failures += [] if failure_line(name, error) in failures else [failure_line(name, error)]
                continue
            records.append(setting | {"generator": name} | found | times)
    return records, failures


def aggregate(records: Records) -> dict[tuple[str, str], dict[str, Any]]:
    """Mean over seeds of every score and time, per table and generator."""
    groups: dict[tuple[str, str], Records] = {}
    for r in records:
        groups.setdefault((r["table"], r["generator"]), []).append(r)
    return {
        key: {f: float(np.mean([r[f] for r in rows])) if rows[0][f] is not None else None for f in FIELDS}
        for key, rows in groups.items()
    }


def report(table: Table, records: Records) -> list[str]:
    """The plain-text table of one table: a line per generator and the held-out reference."""
    header = [
        "generator",
        "quality",
        "shapes",
        "pairs",
        "ROC-AUC",
        "median distance",
        "copies",
        "fit s",
        "sample s",
    ]
    rows = [
        [generator, *(cell(m[f], 2 if f.endswith("_s") else 3) for f in FIELDS)]
        for (_, generator), m in aggregate(records).items()
    ]
    title = (
        f"{table.name} ({table.source}): {table.frame.height} rows, label {table.label}; ROC-AUC of boosting "
        f"trained on the synthetic rows (TSTR), for {REFERENCE} on the real 70% (TRTR)"
    )
    return [title, "", *table_lines(rows, header)]


def generator_line(generator: str, found: list[dict[str, Any]], closer: int | None) -> str:
    """One generator's means over the tables it ran on."""
    mean = {f: np.mean([m[f] for m in found]) for f in ("quality", "auc")}
    seconds = [
        m["fit_s"] + m["sample_s"] for m in found if m["fit_s"] is not None and m["sample_s"] is not None
    ]
    return (
        f"{generator} ({len(found)} tables): mean quality {mean['quality']:.3f}, mean ROC-AUC {mean['auc']:.3f}, "
        f"median closest-row distance {np.median([m['distance'] for m in found]):.3f}"
        + (f" (closer than {REFERENCE} rows on {closer} tables)" if closer is not None else "")
        + (f", mean fit + sample {np.mean(seconds):.1f} s" if seconds else "")
    )


def summary(records: Records, tables: list[str]) -> list[str]:
    """Per generator: mean quality, ROC-AUC, median distance, time; and aefeatures against SDV's best."""
    means, lines = aggregate(records), []
    for generator in (*GENERATORS, REFERENCE):
        ran = [t for t in tables if (t, generator) in means]
        if ran:
            closer = sum(means[(t, generator)]["distance"] < means[(t, REFERENCE)]["distance"] for t in ran)
            found = [means[(t, generator)] for t in ran]
            lines.append(generator_line(generator, found, None if generator == REFERENCE else closer))
    both = [t for t in tables if all((t, g) in means for g in GENERATORS)]
    for field, title in (("quality", "quality"), ("auc", "TSTR ROC-AUC")) if both else ():
        wins = sum(
            means[(t, "aefeatures")][field] >= max(means[(t, g)][field] for g in ("GaussianCopula", "TVAE"))
            for t in both
        )
        lines.append(
            f"aefeatures at or above the better SDV generator on {title}: {wins} of {len(both)} tables"
        )
    if not any(generator == "aefeatures" for _, generator in means):
        lines.append("aefeatures: not available in this run, so no comparison with SDV")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = parser_for(__doc__, list(MIXED), FULL, QUICK)
    parser.add_argument("--tvae-epochs", type=int, help=f"TVAE's epochs; default {FULL['tvae_epochs']}")
    args = parse(parser, argv)
    missing = [name for name in ("sdv", "sdmetrics") if importlib.util.find_spec(name) is None]
    if missing:
        print(f"needs {' and '.join(missing)} (pip install {' '.join(missing)})", file=sys.stderr)
        return 1
    for name in ("sdv", "rdt", "copulas", "ctgan", "sdmetrics"):
        logging.getLogger(name).setLevel(logging.ERROR)
    torch.set_num_threads(args.threads)
    labelled = {name: lambda load=load: with_label(load()) for name, load in MIXED.items()}
    return run(args, labelled, run_table, report, summary)


if __name__ == "__main__":
    sys.exit(main())

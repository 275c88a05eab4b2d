"""Reconstruction benchmark: the default model's validation error against PCA at the same bottleneck.

For each table, one fit pipeline prepares the rows once (same preprocessing, same split, same
loss), then trains the default model and solves PCA with the default model's bottleneck size,
both scored on the same validation rows. Two measures per model: the plain mean row error, and
the mean over the best 90% of validation rows (a few outliers among them cannot decide it).
Each table runs 3 seeds (``--seeds``): the ratio to PCA is their mean, with its spread; the
tables under 300 rows are summarised as a group of their own.
Tables: the six ODDS tables in ``../shared/data/anomaly/`` (read there, never copied; label
excluded) and real tables shipped inside PyPI packages (scikit-learn, palmerpenguins,
vega_datasets; nothing is downloaded).

Run from the repository root (``pip install palmerpenguins vega_datasets`` for those tables)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reconstruction.py
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reconstruction.py --tables cars penguins --set trim=0
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from aefeatures.cli.options import parse_settings
from aefeatures.config import resolve_sizes
from aefeatures.explore.ranking import robust_loss
from aefeatures.fitting.evaluation import row_losses
from aefeatures.fitting.pipeline import prepare, train_prepared
from aefeatures.fitting.sources import fit_config, frame_rows

ODDS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "anomaly"
ODDS_TABLES = ("cardio", "thyroid", "satellite", "shuttle", "pendigits", "ionosphere")


def _sklearn(name: str) -> Callable[[], pl.DataFrame]:
    def load() -> pl.DataFrame:
        import sklearn.datasets

        data = getattr(sklearn.datasets, f"load_{name}")(as_frame=True)
        return pl.from_pandas(data.frame.drop(columns=["target"], errors="ignore"))

    return load


def _penguins() -> pl.DataFrame:
    import palmerpenguins

    return pl.from_pandas(palmerpenguins.load_penguins())


def _vega(name: str) -> Callable[[], pl.DataFrame]:
    def load() -> pl.DataFrame:
        from vega_datasets import local_data

        return pl.from_pandas(getattr(local_data, name.replace("-", "_"))())

    return load


SHIPPED: dict[str, Callable[[], pl.DataFrame]] = {
    "breast_cancer": _sklearn("breast_cancer"),
    "wine": _sklearn("wine"),
    "penguins": _penguins,
    "cars": _vega("cars"),
    "seattle-weather": _vega("seattle-weather"),
    "airports": _vega("airports"),
}


def load_table(name: str) -> pl.DataFrame:
    if name in SHIPPED:
        return SHIPPED[name]()
    return pl.read_parquet(ODDS / f"{name}.parquet").drop("label")


def measure(frame: pl.DataFrame, settings: dict[str, Any]) -> dict[str, Any]:
    """Default model and PCA of the same bottleneck, trained on one prepared split."""
    config = fit_config(dict(settings))
    prepared = prepare(frame_rows(frame, config), config)
    assert prepared.valid_rows is not None
    latent = resolve_sizes(
        config, prepared.preprocessor.n_inputs, len(prepared.preprocessor.specs)
    ).latent_dim
    result: dict[str, Any] = {"rows": frame.height, "columns": frame.width, "latent_dim": latent}
    for name, model_config in (
        ("ae", config),
        ("pca", dataclasses.replace(config, kind="pca", latent_dim=latent)),
    ):
        started = time.perf_counter()
        trained = train_prepared(prepared, model_config)
        errors = row_losses(trained.net, prepared.loss_fn, prepared.valid_rows)
        history = trained.history
        result[name] = {
            "valid_error": float(errors.mean()),
            "robust_error": robust_loss(errors),
            "epochs": len(history["epochs"]),
            "best_epoch": history["best_epoch"],
            "stopped_because": history["stopped_because"],
            "seconds": time.perf_counter() - started,
        }
    return result


SMALL_ROWS = 300  # tables under this many rows are summarised as a group of their own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="*", default=[*ODDS_TABLES, *SHIPPED])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="fit settings")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings: dict[str, Any] = {"threads": 1}
    settings.update(parse_settings(args.set, taken={}))
    rows = []
    print(
        f"{'table':16} {'rows':>6} {'k':>3}  {'AE/PCA':>7} {'spread':>6} {'robust':>7}  {'epochs':>6} {'best':>5}  stopped"
    )
    for table in args.tables:
        try:
            frame = load_table(table)
        except (ImportError, FileNotFoundError) as exc:
            print(f"{table:16} skipped: {exc}")
            continue
        runs = [measure(frame, {**settings, "seed": seed}) for seed in range(args.seeds)]
        ratios = [r["ae"]["valid_error"] / r["pca"]["valid_error"] for r in runs]
        robust = float(np.mean([r["ae"]["robust_error"] / r["pca"]["robust_error"] for r in runs]))
        ae = runs[0]["ae"]
        ratio = float(np.mean(ratios))
        rows.append(
            {"table": table, "rows": frame.height, "ratio": ratio, "robust_ratio": robust, "runs": runs}
        )
        print(
            f"{table:16} {frame.height:6d} {runs[0]['latent_dim']:3d}  {ratio:7.3f} {float(np.std(ratios)):6.3f} "
            f"{robust:7.3f}  {ae['epochs']:6d} {ae['best_epoch']:5d}  {ae['stopped_because']}"
        )
    groups = {
        f"under {SMALL_ROWS} rows": [r for r in rows if r["rows"] < SMALL_ROWS],
        f"{SMALL_ROWS} rows or more": [r for r in rows if r["rows"] >= SMALL_ROWS],
        "all": rows,
    }
    for group, members in groups.items():
        if not members:
            continue
        wins = sum(r["ratio"] < 1 for r in members)
        robust_wins = sum(r["robust_ratio"] < 1 for r in members)
        print(
            f"{group}: default model beats PCA (mean error over {args.seeds} seeds) on {wins} of "
            f"{len(members)} tables, on the best-90% error on {robust_wins}; median ratio "
            f"{float(np.median([r['ratio'] for r in members])):.3f}"
        )
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()

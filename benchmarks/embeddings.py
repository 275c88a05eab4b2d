"""Embeddings benchmark: do ``ae_z*`` columns help a downstream model that has few labels?

Semi-supervised setting: the autoencoder is fitted with default settings on all rows without
their labels; scikit-learn's HistGradientBoosting then learns from a few labelled rows, on the
raw features alone or with the ``ae_z*`` columns appended, and is scored on every other row.
Each label budget is repeated over stratified random splits (cross-validation by repeated
sub-sampling); the autoencoder is refitted for each seed. Two datasets:

* ``customers``: generated mixed-type table (numeric, integer, categorical, boolean) whose
  columns are noisy views of three hidden drivers; the label (churn) depends on the drivers.
* ``digits``: scikit-learn's bundled handwritten digits (8x8 pixels, 10 classes, no download).

Run from the repository root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/embeddings.py
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import polars as pl
from sklearn.datasets import load_digits
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedShuffleSplit

import aefeatures as aef

REGIONS = ("north", "south", "east", "west", "central")
DEVICES = ("ios", "android", "web")
PLANS = ("basic", "plus", "premium")
Metric = Callable[[np.ndarray, np.ndarray], float]


def make_churn(rows: int = 6000, seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    """Mixed-type customers driven by three hidden factors, and a churn label built from them.

    Every column sees the factors through its own noise, so no single column predicts churn
    well; pooling many columns (what the bottleneck learns without labels) does.
    """
    rng = np.random.default_rng(seed)
    wealth, engagement, risk = rng.normal(size=(3, rows))

    def noisy(factor: np.ndarray, scale: float = 1.0) -> np.ndarray:
        return factor + scale * rng.normal(size=rows)

    plan = np.digitize(noisy(wealth, 0.8), [-0.4, 0.8])
    frame = pl.DataFrame(
        {
            "income": np.round(np.exp(10.5 + 0.4 * noisy(wealth)), 2),
            "savings": np.round(np.exp(8 + 0.8 * noisy(wealth)), 2),
            "plan": np.asarray(PLANS)[plan],
            "sessions_per_week": rng.poisson(np.exp(1.0 + 0.5 * noisy(engagement))).astype(np.int64),
            "minutes_per_session": np.round(np.exp(2.5 + 0.4 * noisy(engagement)), 1),
            "features_used": rng.poisson(np.exp(1.2 + 0.4 * noisy(engagement))).astype(np.int64),
            "is_active": noisy(engagement, 1.2) > -0.5,
            "support_tickets": rng.poisson(np.exp(-0.5 + 0.6 * noisy(risk))).astype(np.int64),
            "late_payments": rng.poisson(np.exp(-1.0 + 0.7 * noisy(risk))).astype(np.int64),
            "failed_logins": rng.poisson(np.exp(-0.2 + 0.5 * noisy(risk))).astype(np.int64),
            "has_complaint": noisy(risk, 1.2) > 1.0,
            "region": np.asarray(REGIONS)[rng.integers(0, len(REGIONS), rows)],
            "device": np.asarray(DEVICES)[np.digitize(noisy(engagement, 1.5), [-0.5, 0.7])],
            "age": rng.integers(18, 80, rows).astype(np.int64),
        }
    )
    churn_logit = 1.6 * risk - 1.4 * engagement - 0.6 * wealth - 1.2 + 0.5 * rng.normal(size=rows)
    return frame, (churn_logit > 0).astype(np.int64)


def digits() -> tuple[pl.DataFrame, np.ndarray]:
    """scikit-learn's bundled 8x8 digits as a float frame, and the digit labels."""
    data = load_digits()
    frame = pl.DataFrame(data.data, schema=[f"px{i}" for i in range(data.data.shape[1])], orient="row")
    return frame, data.target.astype(np.int64)


def for_boosting(frame: pl.DataFrame) -> pd.DataFrame:
    """pandas view HistGradientBoosting reads: strings as categories, booleans as 0/1."""
    return frame.with_columns(
        pl.col(pl.Boolean).cast(pl.Int8), pl.col(pl.String).cast(pl.Categorical)
    ).to_pandas()


def auc(labels: np.ndarray, proba: np.ndarray) -> float:
    """Binary ROC-AUC from predicted class probabilities."""
    return float(roc_auc_score(labels, proba[:, 1]))


def accuracy(labels: np.ndarray, proba: np.ndarray) -> float:
    """Accuracy of the most probable class."""
    return float(accuracy_score(labels, proba.argmax(axis=1)))


def evaluate(
    raw: pd.DataFrame,
    codes: pd.DataFrame,
    labels: np.ndarray,
    n_labels: int,
    splits: int,
    seed: int,
    metric: Metric,
) -> dict[str, list[float]]:
    """Metric of boosting on ``n_labels`` labelled rows, raw vs raw + codes, per split."""
    both = pd.concat([raw, codes], axis=1)
    scores: dict[str, list[float]] = {"raw": [], "raw + ae_z": []}
    splitter = StratifiedShuffleSplit(n_splits=splits, train_size=n_labels, random_state=seed)
    for train, test in splitter.split(raw, labels):
        for name, x in (("raw", raw), ("raw + ae_z", both)):
            model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
            model.fit(x.iloc[train], labels[train])
            scores[name].append(metric(labels[test], model.predict_proba(x.iloc[test])))
    return scores


def run(
    name: str, frame: pl.DataFrame, labels: np.ndarray, budgets: list[int], args: argparse.Namespace
) -> list[str]:
    """Table rows of one dataset: every label budget, both feature sets, mean ± std."""
    metric, metric_name = (auc, "ROC-AUC") if len(np.unique(labels)) == 2 else (accuracy, "accuracy")
    raw = for_boosting(frame)
    results: dict[int, dict[str, list[float]]] = {n: {"raw": [], "raw + ae_z": []} for n in budgets}
    for seed in range(args.seeds):
        started = time.perf_counter()
        params = {
            k: v for k, v in (("epochs", args.epochs), ("latent_dim", args.latent_dim)) if v is not None
        }
        model = aef.fit(frame, seed=seed, threads=1, **params)
        codes = model.transform(frame).select(pl.col(f"^{model.config.prefix}z\\d+$")).to_pandas()
        print(
            f"{name}: fit seed {seed} in {time.perf_counter() - started:.1f} s, k={model.latent_dim}",
            file=sys.stderr,
        )
        for n in budgets:
            for key, values in evaluate(raw, codes, labels, n, args.splits, seed, metric).items():
                results[n][key] += values
    lines = []
    for n in budgets:
        raw_s, both_s = (np.asarray(results[n][k]) for k in ("raw", "raw + ae_z"))
        wins = int((both_s > raw_s).sum())
        lines.append(
            f"| {name} | {metric_name} | {n} | {raw_s.mean():.3f} ± {raw_s.std():.3f} "
            f"| {both_s.mean():.3f} ± {both_s.std():.3f} | {both_s.mean() - raw_s.mean():+.3f} "
            f"| {wins}/{raw_s.size} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=2, help="autoencoder seeds (each with its own splits)")
    parser.add_argument("--splits", type=int, default=5, help="random labelled/unlabelled splits per seed")
    parser.add_argument("--rows", type=int, default=6000, help="rows of the generated customers")
    parser.add_argument(
        "--epochs", type=int, default=None, help="override the default epochs (smoke tests only)"
    )
    parser.add_argument("--latent-dim", type=int, default=None, help="bottleneck size instead of the default")
    args = parser.parse_args(argv)
    lines = [
        "| dataset | metric | labelled rows | raw features | raw + ae_z* | gain | splits won |",
        "|---|---|---|---|---|---|---|",
    ]
    churn_frame, churn = make_churn(args.rows, seed=0)
    lines += run(
        "customers (generated)", churn_frame, churn, [n for n in (100, 300, 1000) if n < args.rows // 2], args
    )
    digit_frame, digit_labels = digits()
    lines += run("digits (scikit-learn)", digit_frame, digit_labels, [50, 100, 300], args)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

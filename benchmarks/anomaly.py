"""Anomaly benchmark: ``ae_error`` of the default model against PCA, IsolationForest and kNN.

For each table (the six ODDS datasets in ``../shared/data/anomaly/``, read there, never copied,
and the outlier tables :mod:`outlier_tables` builds from data shipped in PyPI packages, several
under 300 rows), fit aefeatures with its default settings on all rows (unsupervised, the label
excluded), score every row and report ROC-AUC and average precision of ``ae_error`` against the
label, mean and spread over 3 seeds. In the same run: scikit-learn PCA with the same bottleneck
size (squared reconstruction error on standardised data), IsolationForest (seeded like the fit)
and kNN (distance to the 5th neighbour on the raw columns, PyOD's default), beside the published
ROC-AUC figures. Then the mean per group: tables under 300 rows, the larger ones, the tables the
defaults were tuned on and the held-out ones, each with aefeatures' lead over the best classical
detector of that group.

Run from the repository root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/anomaly.py
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/anomaly.py --datasets cardio,wine --set kind=undercomplete
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

import aefeatures as aef
from aefeatures.cli.options import parse_settings
from aefeatures.explore.metrics import average_precision, roc_auc

sys.path.insert(0, str(Path(__file__).resolve().parent))
import outlier_tables  # noqa: E402  (beside this script)

METHODS = ("aefeatures", "pca", "iforest", "knn")
CLASSICAL = ("iforest", "knn", "ecod", "hbos", "mcd")  # the detectors aefeatures' lead is measured against
# Published ROC-AUC x100 from ../shared/data/README.md (ADBench, unsupervised: PCA, IForest;
# PyOD 2024 benchmark: its default AutoEncoder). Different splits, so only a reference.
PUBLISHED = {
    "cardio": (95.55, 93.19, 81.66),
    "thyroid": (96.34, 98.30, float("nan")),
    "satellite": (59.62, 70.43, 66.28),
    "shuttle": (98.62, 99.56, 98.98),
    "pendigits": (93.73, 94.76, 78.21),
    "ionosphere": (79.19, 84.50, 89.59),
}


@dataclass(frozen=True)
class Result:
    """One method on one dataset with one seed."""

    dataset: str
    method: str
    seed: int
    roc_auc: float
    average_precision: float
    seconds: float


def score_aefeatures(features: pl.DataFrame, seed: int, params: dict[str, Any]) -> tuple[np.ndarray, int]:
    """``ae_error`` of every row from a default fit on all rows, and the bottleneck size."""
    model = aef.fit(features, seed=seed, threads=1, **params)
    out = model.transform(features)
    return out["ae_error"].to_numpy(), model.latent_dim


def score_pca(x: np.ndarray, latent_dim: int) -> np.ndarray:
    """Squared reconstruction error of standardised rows through ``latent_dim`` components."""
    z = StandardScaler().fit_transform(x)
    pca = PCA(n_components=min(latent_dim, z.shape[1])).fit(z)
    return ((z - pca.inverse_transform(pca.transform(z))) ** 2).sum(axis=1)


def score_iforest(x: np.ndarray, seed: int) -> np.ndarray:
    """IsolationForest anomaly score (higher is more anomalous), scikit-learn defaults."""
    forest = IsolationForest(random_state=seed, n_jobs=1).fit(x)
    return -forest.score_samples(x)


def score_knn(x: np.ndarray, k: int = 5) -> np.ndarray:
    """Distance of each row to its ``k``-th nearest other row (PyOD's ``KNN`` defaults)."""
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    return distances[:, -1]


def classical_detectors() -> dict[str, Any]:
    """PyOD's ECOD, HBOS, MCD and AutoEncoder (defaults), when PyOD is installed (``make bench``)."""
    try:
        from pyod.models.auto_encoder import AutoEncoder
        from pyod.models.ecod import ECOD
        from pyod.models.hbos import HBOS
        from pyod.models.mcd import MCD
    except ImportError:
        return {}
    return {
        "ecod": ECOD,
        "hbos": HBOS,
        "mcd": lambda: MCD(random_state=0),
        "pyod_ae": lambda: AutoEncoder(random_state=0, verbose=0),
    }


def run_dataset(
    name: str, features: pl.DataFrame, labels: np.ndarray, seeds: int, params: dict[str, Any]
) -> list[Result]:
    """Every method on one table, for ``seeds`` seeds."""
    x = features.to_numpy().astype(np.float64)
    results = []
    for seed in range(seeds):
        started = time.perf_counter()
        errors, latent_dim = score_aefeatures(features, seed, params)
        scored = {"aefeatures": (errors, time.perf_counter() - started)}
        started = time.perf_counter()
        scored["pca"] = (score_pca(x, latent_dim), time.perf_counter() - started)
        started = time.perf_counter()
        scored["iforest"] = (score_iforest(x, seed), time.perf_counter() - started)
        started = time.perf_counter()
        scored["knn"] = (score_knn(x), time.perf_counter() - started)
        for method, detector in classical_detectors().items() if seed == 0 else ():
            started = time.perf_counter()  # deterministic or seeded once: measured on the first seed
            scored[method] = (detector().fit(x).decision_scores_, time.perf_counter() - started)
        for method, (scores, seconds) in scored.items():
            results.append(
                Result(
                    name, method, seed, roc_auc(labels, scores), average_precision(labels, scores), seconds
                )
            )
    return results


def summarise(results: list[Result], names: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """Mean ROC-AUC, AP and seconds per dataset and method."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    for name in names:
        table[name] = {}
        for method in METHODS + tuple(classical_detectors()):
            rows = [r for r in results if r.dataset == name and r.method == method]
            if not rows:
                continue
            table[name][method] = {
                "roc_auc": float(np.mean([r.roc_auc for r in rows])),
                "roc_auc_std": float(np.std([r.roc_auc for r in rows])),
                "average_precision": float(np.mean([r.average_precision for r in rows])),
                "seconds": float(np.mean([r.seconds for r in rows])),
            }
    return table


def markdown(table: dict[str, dict[str, dict[str, float]]]) -> str:
    """The README table: ROC-AUC and AP x100 per method, published ROC-AUC beside."""
    names = (
        " | ".join(f"{LABELS[m]} ROC" for m in METHODS)
        + " | "
        + " | ".join(f"{LABELS[m]} AP" for m in METHODS)
    )
    lines = [
        f"| dataset | {names} | published PCA / IForest / PyOD AE ROC | aefeatures s/fit |",
        "|---|" + "---|" * (2 * len(METHODS) + 2),
    ]
    for name, row in table.items():
        roc = [f"{100 * row[m]['roc_auc']:.1f}" for m in METHODS]
        roc[0] += f" ± {100 * row['aefeatures']['roc_auc_std']:.1f}"
        ap = [f"{100 * row[m]['average_precision']:.1f}" for m in METHODS]
        published = " / ".join("-" if np.isnan(v) else f"{v:.1f}" for v in PUBLISHED.get(name, (np.nan,) * 3))
        seconds = f"{row['aefeatures']['seconds']:.1f}"
        lines.append(f"| {name} | {' | '.join(roc)} | {' | '.join(ap)} | {published} | {seconds} |")
    means = {m: np.mean([row[m]["roc_auc"] for row in table.values()]) for m in METHODS}
    mean_ap = {m: np.mean([row[m]["average_precision"] for row in table.values()]) for m in METHODS}
    wins = sum(row["aefeatures"]["roc_auc"] > row["pca"]["roc_auc"] for row in table.values())
    lines.append(
        "| **mean** | "
        + " | ".join(f"**{100 * means[m]:.1f}**" for m in METHODS)
        + " | "
        + " | ".join(f"{100 * mean_ap[m]:.1f}" for m in METHODS)
        + " | | |"
    )
    lines.append(f"\naefeatures beats PCA (ROC-AUC) on {wins} of {len(table)} datasets.")
    return "\n".join([*lines, *_all_detectors(table)])


LABELS = {"aefeatures": "aefeatures", "pca": "PCA", "iforest": "IForest", "knn": "kNN"}


def groups(table: dict[str, dict[str, dict[str, float]]], rows: dict[str, int]) -> str:
    """Mean ROC-AUC x100 per group of tables, with aefeatures' lead over the group's best classical
    detector (the one with the best mean there); the spread is the mean over tables of
    aefeatures' spread between seeds. The last column is the mean over the group's tables of each
    table's best classical detector: what a user who knew which detector suits each table would
    get, the ceiling that a lead over the group's best single detector is measured towards."""
    small = [name for name in table if rows[name] < outlier_tables.SMALL_ROWS]
    tuned = [name for name in table if name in outlier_tables.TUNED]
    named = {
        f"under {outlier_tables.SMALL_ROWS} rows": small,
        f"{outlier_tables.SMALL_ROWS} rows or more": [name for name in table if name not in small],
        "tuned on": tuned,
        "held out": [name for name in table if name not in tuned],
        "all": list(table),
    }
    methods = [m for m in next(iter(table.values())) if m != "pyod_ae"]
    lines = [
        "",
        "| group | tables | "
        + " | ".join(LABELS.get(m, m) for m in methods)
        + " | aefeatures spread | lead over the best classical | best classical per table |",
        "|---|---|" + "---|" * (len(methods) + 3),
    ]
    for group, members in named.items():
        if not members:
            continue
        mean = {m: 100 * float(np.mean([table[n][m]["roc_auc"] for n in members])) for m in methods}
        spread = 100 * float(np.mean([table[n]["aefeatures"]["roc_auc_std"] for n in members]))
        best = max((m for m in methods if m in CLASSICAL), key=lambda m: mean[m])
        cells = " | ".join(f"{mean[m]:.1f}" for m in methods)
        lead = mean["aefeatures"] - mean[best]
        classical = [m for m in methods if m in CLASSICAL]
        per_table = 100 * float(np.mean([max(table[n][m]["roc_auc"] for m in classical) for n in members]))
        lines.append(
            f"| {group} | {len(members)} | {cells} | {spread:.1f} | {lead:+.1f} ({LABELS.get(best, best)})"
            f" | {per_table:.1f} |"
        )
    return "\n".join(lines)


def _all_detectors(table: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """Every detector's ROC-AUC x100 and seconds per fit, measured in the same run (PyOD ones: seed 0)."""
    methods = [m for m in next(iter(table.values()))]
    if len(methods) == len(METHODS):
        return []
    lines = [
        "",
        "| dataset | " + " | ".join(f"{m} ROC (s)" for m in methods) + " |",
        "|---|" + "---|" * len(methods),
    ]
    for name, row in table.items():
        cells = [f"{100 * row[m]['roc_auc']:.1f} ({row[m]['seconds']:.2f})" for m in methods]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    means = [f"**{100 * np.mean([row[m]['roc_auc'] for row in table.values()]):.1f}**" for m in methods]
    lines.append("| **mean** | " + " | ".join(means) + " |")
    best = max(
        (m for m in methods if m != "aefeatures"),
        key=lambda m: np.mean([r[m]["roc_auc"] for r in table.values()]),
    )
    lead = 100 * np.mean([r["aefeatures"]["roc_auc"] - r[best]["roc_auc"] for r in table.values()])
    lines.append(
        f"\naefeatures against the best other detector ({best}): {lead:+.1f} ROC-AUC points on the mean."
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(outlier_tables.TABLES), help="comma-separated names")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a fit default (to explore; the README table uses none)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    tables = outlier_tables.available(args.datasets.split(","))
    if not tables:
        print(f"no benchmark table found (ODDS tables are read from {outlier_tables.ODDS})", file=sys.stderr)
        return 1
    params = parse_settings(args.set, taken={})
    results = []
    for name, (features, labels) in tables.items():
        started = time.perf_counter()
        results += run_dataset(name, features, labels, args.seeds, params)
        print(f"{name}: done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    table = summarise(results, list(tables))
    rows = {name: features.height for name, (features, _) in tables.items()}
    print(json.dumps(table, indent=2) if args.json else markdown(table) + "\n" + groups(table, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Candidate outlier scores computed from fitted default models, against the classical detectors.

Issue 24 asks for a default outlier score at least 2 ROC-AUC points above the best classical
detector on the tables the defaults were tuned on and on held-out ones. This script measures
candidates without changing the package, from what a default fit already gives (``ae_error`` and
the codes ``ae_z*``) and from a few extra small fits:

* ``ae_error``: today's default (the residual, SPE in process-monitoring terms).
* ``t2``: Hotelling's T^2 of the codes (squared Mahalanobis distance to their mean under their
  covariance, or a robust MCD estimate: ``t2_mcd``): sees rows far out along the directions the
  network reconstructs well, which a residual cannot.
* ``knn codes`` / ``knn inputs``: distance to the 5th nearest other row in the codes or in the
  input columns, each column scaled by its IQR (rows on the learnt surface where few rows are);
  ``density``: -log density of the codes under the model's sampling mixture; ``iforest inputs``,
  ``ecod``, ``hbos``: the classical detectors' own scores, as second scores beside ``ae_error``.
  ``spe+A fisher`` / ``spe+A max``: ``ae_error`` and A, each calibrated against its distribution
  over the training rows (a log-normal tail fitted by the median and IQR of the log score, so a
  row beyond every training row still gets a finite, growing tail probability; a normal tail
  for scores that can be negative), combined by the sum of -log tail probabilities (Fisher's
  method) or the smaller tail probability (``max``).
* ``bag``: K networks (``--members``), each on a random share of the rows (``--fraction``; 1
  gives a seed ensemble on all rows) with 2/K of the default step budget (about twice one
  default fit in all), each ``ae_error`` standardised by its own training rows' median and IQR,
  averaged; ``bag out-of-bag`` averages only the members that did not train on the row.

Every fit and score is cached in ``--cache`` (one ``.npz`` per table and seed), so new
combinations are recomputed without refitting. Tables, groups and the tuned / held-out split are
those of :mod:`outlier_tables`. Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/outlier_scores.py --datasets wine,cardio --seeds 3
    OMP_NUM_THREADS=1 python benchmarks/outlier_scores.py --members 3 --fraction 1

It needs scikit-learn; PyOD, when installed, adds ECOD, HBOS and MCD (as in ``benchmarks/anomaly.py``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import norm
from sklearn.covariance import MinCovDet
from sklearn.neighbors import NearestNeighbors

import aefeatures as aef
from aefeatures.explore.metrics import roc_auc
from aefeatures.model.density import CodeDensity

sys.path.insert(0, str(Path(__file__).resolve().parent))
import anomaly  # noqa: E402  (beside this script)
import outlier_tables  # noqa: E402

BAG_FRACTION = 0.5  # each member's share of the rows
DEFAULT_STEPS = 4_000  # the outliers goal's step budget
DEFAULT_EPOCH_CAP = 200  # and its epoch cap
# The candidates shown per table (every candidate is in the group table).
# Three-way combinations measured: ae_error's tail plus both of these.
PAIRS = (
    ("t2", "knn inputs"),
    ("t2", "knn codes"),
    ("t2", "iforest inputs"),
    ("iforest inputs", "knn inputs"),
    ("ecod", "knn inputs"),
)
SHOWN = ("ae_error", "spe+t2 fisher", "spe+knn inputs fisher", "spe+iforest inputs fisher", "bag")


def fit_scores(features: pl.DataFrame, seed: int, **params: Any) -> tuple[Any, float]:
    """A default fit on ``features`` (with ``params`` on top) and its seconds."""
    started = time.perf_counter()
    model = aef.fit(features, seed=seed, threads=1, **params)
    seconds = time.perf_counter() - started
    return model, seconds


def score_with(model: Any, features: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``ae_error`` and the codes of ``features`` under ``model``."""
    out = model.transform(features)
    codes = out.select(pl.col(r"^ae_z\d+$")).to_numpy().astype(np.float64)
    return out["ae_error"].to_numpy().astype(np.float64), codes


def t2(codes: np.ndarray, train: np.ndarray, *, robust: bool = False, seed: int = 0) -> np.ndarray:
    """Hotelling's T^2 of every row's code under the mean and covariance of the ``train`` rows' codes."""
    fitted = codes[train]
    if robust:
        estimate = MinCovDet(random_state=seed).fit(fitted)
        centre, cov = estimate.location_, estimate.covariance_
    else:
        centre, cov = fitted.mean(axis=0), np.cov(fitted, rowvar=False).reshape(codes.shape[1], -1)
    cov = cov + 1e-6 * max(float(np.trace(cov)) / len(cov), 1e-12) * np.eye(len(cov))
    centred = codes - centre
    return np.einsum("ij,ij->i", centred @ np.linalg.inv(cov), centred)


def knn_distance(points: np.ndarray, k: int = 5) -> np.ndarray:
    """Distance of each row to its ``k``-th nearest other row, each column scaled by its IQR, or its
    standard deviation where the IQR is 0 (a kNN on the scale the columns come in is ruled by the widest)."""
    q1, q3 = np.quantile(points, [0.25, 0.75], axis=0)
    scale = np.where(q3 > q1, (q3 - q1) / 1.349, points.std(axis=0))  # a mostly-constant column: its spread
    scaled = (points - np.median(points, axis=0)) / np.where(scale > 0, scale, 1.0)
    distances, _ = NearestNeighbors(n_neighbors=min(k + 1, len(points))).fit(scaled).kneighbors(scaled)
    return distances[:, -1]


def code_density(codes: np.ndarray, seed: int) -> np.ndarray:
    """-log density of each code under the model's sampling mixture (:class:`CodeDensity`)."""
    mixture = CodeDensity.fit(codes, seed=seed)
    weights, means, factors = (np.asarray(v) for v in (mixture.weights, mixture.means, mixture.factors))
    log_prob = np.empty((len(codes), len(weights)))
    for c in range(len(weights)):
        solved = np.linalg.solve(factors[c], (codes - means[c]).T)
        log_prob[:, c] = np.log(weights[c]) - 0.5 * (solved**2).sum(0) - np.log(np.diag(factors[c])).sum()
    top = log_prob.max(axis=1)
    return -(top + np.log(np.exp(log_prob - top[:, None]).sum(axis=1)))


def normal_tail(scores: np.ndarray, train: np.ndarray) -> np.ndarray:
    """-log tail probability under a normal fitted by the median and IQR of the ``train`` scores
    (for a score that can be negative, such as a -log density)."""
    q1, median, q3 = np.quantile(scores[train], [0.25, 0.5, 0.75])
    return -norm.logsf((scores - median) / max((q3 - q1) / 1.349, 1e-9))


def log_tail(scores: np.ndarray, train: np.ndarray) -> np.ndarray:
    """-log tail probability of each score under a log-normal fitted to the ``train`` rows' scores
    by the median and IQR of their logs (robust to the outliers among them)."""
    logs = np.log(np.maximum(scores, 1e-12))
    q1, median, q3 = np.quantile(logs[train], [0.25, 0.5, 0.75])
    z = (logs - median) / max((q3 - q1) / 1.349, 1e-9)
    return -norm.logsf(z)


def robust_z(scores: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Scores standardised by the median and IQR of the ``train`` rows' scores."""
    q1, median, q3 = np.quantile(scores[train], [0.25, 0.5, 0.75])
    return (scores - median) / max(q3 - q1, 1e-12)


def measure(
    name: str, features: pl.DataFrame, seed: int, members: int, fraction: float, cache: Path
) -> dict[str, Any]:
    """Every raw ingredient for one table and seed, from the cache or fitted now.

    Each of the ``members`` networks trains on a random ``fraction`` of the rows with 2/K of the
    default step budget; on all rows (``fraction`` 1) its epoch cap is cut by the same share, so
    the members together cost about two default fits on every table.
    """
    rows = "" if fraction == BAG_FRACTION else f"-f{fraction}"
    path = cache / f"{name}-{seed}-k{members}{rows}.npz"
    if path.exists():
        return dict(np.load(path))
    n = features.height
    model, seconds = fit_scores(features, seed)
    errors, codes = score_with(model, features)
    rng = np.random.default_rng(1_000 + seed)
    member_errors, member_codes_t2, member_masks, member_seconds = [], [], [], []
    for member in range(members):
        mask = np.zeros(n, bool)
        mask[rng.choice(n, max(int(fraction * n), 2), replace=False)] = True
        share = {"epoch_cap": max(int(DEFAULT_EPOCH_CAP * 2 / members), 1)} if fraction == 1 else {}
        started = time.perf_counter()
        bagged = aef.fit(
            features.filter(pl.Series(mask)),
            seed=seed * 100 + member,
            threads=1,
            steps=max(int(DEFAULT_STEPS * 2 / members), 1),
            **share,
        )
        member_seconds.append(time.perf_counter() - started)
        e, c = score_with(bagged, features)
        member_errors.append(e)
        member_codes_t2.append(t2(c, mask))
        member_masks.append(mask)
    x = features.to_numpy().astype(np.float64)
    found = {
        "errors": errors,
        "codes": codes,
        "seconds": np.float64(seconds),
        "member_errors": np.array(member_errors),
        "member_t2": np.array(member_codes_t2),
        "member_masks": np.array(member_masks),
        "member_seconds": np.array(member_seconds),
        "iforest": anomaly.score_iforest(x, seed),
        "knn": anomaly.score_knn(x),
    }
    np.savez(path, **found)
    return found


def classical(name: str, features: pl.DataFrame, cache: Path) -> dict[str, np.ndarray]:
    """PyOD's ECOD, HBOS and MCD scores (deterministic or seeded once), cached."""
    path = cache / f"{name}-pyod.npz"
    if path.exists():
        return dict(np.load(path))
    x = features.to_numpy().astype(np.float64)
    found = {
        m: d().fit(x).decision_scores_ for m, d in anomaly.classical_detectors().items() if m != "pyod_ae"
    }
    np.savez(path, **found)
    return found


def candidates(
    m: dict[str, Any], seed: int, x: np.ndarray, others: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Every candidate score of one table and seed (higher is more outlying).

    ``spe+A fisher`` is the sum of the -log tail probabilities of ``ae_error`` and of score A,
    each over the training rows; ``spe+A max`` the larger of the two.
    """
    everyone = np.ones(len(m["errors"]), bool)
    spe = log_tail(m["errors"], everyone)
    log_error = np.log(np.maximum(m["errors"], 1e-12))
    alone = {
        "ae_error": m["errors"],
        "t2": t2(m["codes"], everyone),
        "t2_mcd": t2(m["codes"], everyone, robust=True, seed=seed),
        "knn codes": knn_distance(m["codes"]),
        "knn inputs": knn_distance(x),
        "density": code_density(m["codes"], seed),
        "iforest codes": anomaly.score_iforest(m["codes"], seed),
        "iforest codes+log spe": anomaly.score_iforest(np.column_stack([m["codes"], log_error]), seed),
    }
    tail = {  # each second score's -log tail probability over the training rows
        **{name: log_tail(alone[name], everyone) for name in ("t2", "t2_mcd", "knn codes", "knn inputs")},
        "density": normal_tail(alone["density"], everyone),  # a -log density can be negative
        "iforest codes": normal_tail(alone["iforest codes"], everyone),
        "iforest inputs": normal_tail(m["iforest"], everyone),
        **{name: normal_tail(others[name], everyone) for name in ("ecod", "hbos") if name in others},
    }
    out = dict(alone)
    out.update({f"spe+{name} fisher": spe + t for name, t in tail.items()})
    out.update(
        {f"spe+{name} max": np.maximum(spe, tail[name]) for name in ("t2", "knn inputs", "iforest inputs")}
    )
    for a, b in PAIRS:
        if a in tail and b in tail:
            out[f"spe+{a}+{b} fisher"] = spe + tail[a] + tail[b]
    masks = m["member_masks"]
    if len(masks):
        members = list(zip(m["member_errors"], m["member_t2"], masks, strict=True))
        out["bag"] = np.mean([robust_z(e, mask) for e, _, mask in members], axis=0)
        bag_spe = np.mean([log_tail(e, mask) for e, _, mask in members], axis=0)
        bag_t2 = np.mean([log_tail(e, mask) + log_tail(t, mask) for e, t, mask in members], axis=0)
        z = np.array([robust_z(e, mask) for e, _, mask in members])
        held = ~np.array(masks)  # each row scored only by the members that never trained on it
        out["bag out-of-bag"] = np.where(
            held.any(axis=0), (z * held).sum(axis=0) / np.maximum(held.sum(axis=0), 1), z.mean(axis=0)
        )
        out["bag out-of-bag+iforest inputs fisher"] = (
            normal_tail(out["bag out-of-bag"], everyone) + tail["iforest inputs"]
        )
        out["bag out-of-bag+knn inputs fisher"] = (
            normal_tail(out["bag out-of-bag"], everyone) + tail["knn inputs"]
        )
        out["bag spe+t2 fisher"] = bag_t2  # each member's own T^2 beside its own error
        out["bag spe+t2+knn inputs fisher"] = bag_t2 + tail["knn inputs"]
        for name in ("t2", "knn inputs", "iforest inputs"):
            out[f"bag+{name} fisher"] = bag_spe + tail[name]
    out["iforest"] = m["iforest"]
    out["knn"] = m["knn"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(outlier_tables.TABLES), help="comma-separated names")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--members", type=int, default=4, help="networks in the bag (0: no bag)")
    parser.add_argument(
        "--fraction", type=float, default=BAG_FRACTION, help="each member's share of the rows"
    )
    parser.add_argument("--cache", type=Path, default=Path("/tmp/outlier_scores"))
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    tables = outlier_tables.available(args.datasets.split(","))
    auc: dict[str, dict[str, list[float]]] = {}
    rows: dict[str, int] = {}
    seconds: dict[str, tuple[float, float]] = {}
    for name, (features, labels) in tables.items():
        started = time.perf_counter()
        rows[name] = features.height
        auc[name] = {}
        fits, bags = [], []
        others = classical(name, features, args.cache)
        for seed in range(args.seeds):
            m = measure(name, features, seed, args.members, args.fraction, args.cache)
            fits.append(float(m["seconds"]))
            bags.append(float(np.sum(m["member_seconds"])))
            for method, scores in candidates(m, seed, features.to_numpy().astype(np.float64), others).items():
                auc[name].setdefault(method, []).append(roc_auc(labels, scores))
        for method, scores in others.items():
            auc[name][method] = [roc_auc(labels, scores)]
        seconds[name] = (float(np.mean(fits)), float(np.mean(bags)))
        print(f"{name}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    print(report(auc, rows, seconds))
    return 0


def report(
    auc: dict[str, dict[str, list[float]]], rows: dict[str, int], seconds: dict[str, tuple[float, float]]
) -> str:
    """Per-table ROC-AUC x100 of the main candidates (mean ± spread over seeds), then every score's
    mean per group of tables with its lead over the group's best classical detector."""
    methods = list(next(iter(auc.values())))
    shown = [m for m in (*SHOWN, *anomaly.CLASSICAL) if m in methods]
    lines = [
        "| table | rows | " + " | ".join(shown) + " | s/fit | bag s |",
        "|---|---|" + "---|" * (len(shown) + 2),
    ]
    for name, row in auc.items():
        cells = [
            f"{100 * np.mean(row[m]):.1f}" + (f" ± {100 * np.std(row[m]):.1f}" if len(row[m]) > 1 else "")
            for m in shown
        ]
        fit, bag = seconds[name]
        lines.append(f"| {name} | {rows[name]} | " + " | ".join(cells) + f" | {fit:.1f} | {bag:.1f} |")
    groups: dict[str, list[str]] = {
        "tuned on": [n for n in auc if n in outlier_tables.TUNED],
        "held out": [n for n in auc if n not in outlier_tables.TUNED],
        f"under {outlier_tables.SMALL_ROWS} rows": [n for n in auc if rows[n] < outlier_tables.SMALL_ROWS],
        f"{outlier_tables.SMALL_ROWS} rows or more": [n for n in auc if rows[n] >= outlier_tables.SMALL_ROWS],
        "all": list(auc),
    }
    groups = {group: members for group, members in groups.items() if members}
    classic = [m for m in methods if m in anomaly.CLASSICAL]
    mean = {
        group: {m: 100 * float(np.mean([np.mean(auc[n][m]) for n in members])) for m in methods}
        for group, members in groups.items()
    }
    best = {group: max(classic, key=lambda m: mean[group][m]) for group in groups}
    lines += [
        "",
        "| score | " + " | ".join(f"{g} ({len(members)})" for g, members in groups.items()) + " |",
        "|---|" + "---|" * len(groups),
    ]
    for m in methods:
        cells = [
            f"{mean[g][m]:.1f}" + ("" if m in classic else f" ({mean[g][m] - mean[g][best[g]]:+.1f})")
            for g in groups
        ]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines.append("| best classical | " + " | ".join(best[g] for g in groups) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

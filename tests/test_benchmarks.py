"""The quality benchmark scripts run end to end: ODDS outlier detection, candidate outlier scores,
appended embeddings, imputation and synthetic rows; and the masks and imputers of the imputation benchmark are right."""

from __future__ import annotations

import importlib
import importlib.util
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType

import numpy as np
import polars as pl
import pytest

from tests.helpers import REPO, needs_odds, run_script

pytestmark = pytest.mark.slow  # end-to-end script runs: scheduled first (tests/conftest.py)

needs_sklearn = pytest.mark.skipif(
    importlib.util.find_spec("sklearn") is None, reason="the imputation benchmark needs scikit-learn"
)
needs_sdv = pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in ("sklearn", "sdv", "sdmetrics")),
    reason="the synthetic-row benchmark needs scikit-learn, SDV and sdmetrics (make bench-quality)",
)


@needs_odds("ionosphere")  # benchmarks/anomaly.py reads ../shared/data/anomaly/ionosphere.parquet
def test_anomaly_benchmark_prints_table_with_baselines() -> None:
    result = run_script(
        "benchmarks", "anomaly.py", "--datasets", "ionosphere", "--seeds", "1", "--set", "epochs=5", cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("| ionosphere |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    roc = [float(cells[1].split()[0]), float(cells[2]), float(cells[3])]
    assert all(50.0 < value <= 100.0 for value in roc), row  # all three methods beat chance here
    assert "79.2 / 84.5 / 89.6" in row  # the published figures sit beside the measured ones
    assert "beats PCA (ROC-AUC) on" in result.stdout
    # ionosphere has 351 rows: counted among the larger tables and the tuned ones, each with a lead
    for group in ("| 300 rows or more | 1 |", "| tuned on | 1 |"):
        line = next(line for line in result.stdout.splitlines() if line.startswith(group))
        assert "(kNN)" in line or "(IForest)" in line or "(mcd)" in line, line
    assert "| under 300 rows |" not in result.stdout


@needs_sklearn
def test_anomaly_benchmark_groups_show_the_mean_of_each_tables_best_classical_detector() -> None:
    args = ("--datasets", "iris-virginica,wine", "--seeds", "1", "--set", "epochs=5")
    result = run_script("benchmarks", "anomaly.py", *args, cwd=REPO)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    best = []  # each table's best of IsolationForest and kNN (the classical detectors without PyOD)
    for name in ("iris-virginica", "wine"):
        cells = next(line for line in lines if line.startswith(f"| {name} |")).strip("|").split("|")
        best.append(max(float(cells[3]), float(cells[4])))
    line = next(line for line in lines if line.startswith("| all | 2 |"))
    assert abs(float(line.strip("|").split("|")[-1]) - sum(best) / 2) <= 0.1, line  # cells are rounded


@needs_sklearn
def test_outlier_scores_benchmark_reports_every_candidate_per_group_and_reuses_its_cached_fits(
    tmp_path: Path,
) -> None:
    args = ("--datasets", "iris-virginica", "--seeds", "1", "--members", "2", "--cache", tmp_path)
    result = run_script("benchmarks", "outlier_scores.py", *args, cwd=REPO)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    row = next(line for line in lines if line.startswith("| iris-virginica | 105 |"))
    assert all(50.0 < float(cell.split()[0]) <= 100.0 for cell in row.strip("|").split("|")[2:5]), row
    # every candidate has a mean per group with its lead over the group's best classical detector
    for score in ("ae_error", "t2", "spe+t2 fisher", "spe+iforest inputs fisher", "bag", "bag out-of-bag"):
        line = next(line for line in lines if line.startswith(f"| {score} |"))
        assert line.count("(+") + line.count("(-") == 3, line  # tuned on, under 300 rows, all
    assert next(line for line in lines if line.startswith("| iforest |")).count("(") == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "iris-virginica-0-k2.npz",
        "iris-virginica-pyod.npz",
    ]
    again = run_script("benchmarks", "outlier_scores.py", *args, cwd=REPO)  # from the cache: same figures
    assert again.returncode == 0, again.stderr
    assert again.stdout == result.stdout


def test_embeddings_benchmark_compares_raw_and_appended_features() -> None:
    options = ("--tables", "wine", "--budgets", "50", "--seeds", "1", "--repeats", "2", "--set", "epochs=3")
    result = run_script("benchmarks", "embeddings.py", *options, cwd=REPO)
    assert result.returncode == 0, result.stderr
    header = "| table | labels | raw | raw + ae_z | raw + PCA | ae_z alone | PCA alone | seed spread: raw + ae_z / ae_z alone |"
    assert result.stdout.count(header) == 2  # one table per probe: logistic regression, boosting
    rows = [line for line in result.stdout.splitlines() if line.startswith("| wine | 50 |")]
    assert len(rows) == 2, result.stdout
    for row in rows:
        cells = row.strip("|").split("|")
        scores = [float(cell) for cell in cells[2:7]]
        assert len(scores) == 5 and all(0.0 < value <= 1.0 for value in scores), row
        assert cells[7].strip() == "0.000 / 0.000", row  # one seed: no spread between seeds
    for probe in ("logistic", "boosting"):
        assert f"{probe}: mean over 1 table x budget cells: raw " in result.stdout
        assert f"{probe}: ae_z alone " in result.stdout and " PCA alone: " in result.stdout
        # wine has 178 rows: it is also summarised among the small tables, and no larger one ran
        assert f"{probe} (tables under 300 rows): mean over 1 table x budget cells" in result.stdout
        assert f"{probe} (tables of 300 rows or more)" not in result.stdout
        # and among the tables the defaults were tuned on; no held-out table ran
        assert f"{probe} (tables the defaults were tuned on): mean over 1 table" in result.stdout
        assert f"{probe} (held-out tables)" not in result.stdout


def _rows(stdout: str, prefix: str) -> dict[str, list[str]]:
    """The cells of the printed table lines that start with ``prefix``, keyed by their method cell."""
    rows = [
        [c.strip() for c in line.strip("|").split("|")]
        for line in stdout.splitlines()
        if line.startswith(prefix)
    ]
    column = prefix.count("|") - 1
    return {cells[column]: cells for cells in rows}


@needs_sklearn
def test_imputation_benchmark_runs_the_baselines_and_reports_aefeatures() -> None:
    options = ("--quick", "--tables", "iris", "--masks", "MCAR", "--trees", "5", "--set", "epochs=3")
    result = run_script("benchmarks", "imputation.py", *options, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "| protocol | mask | rate | method | nRMSE | cat err | fit s | fill s |" in result.stdout
    rows = _rows(result.stdout, "| inductive | MCAR | 20% |")
    assert {"mean/mode", "KNN", "Iterative", "MissForest"} <= rows.keys(), result.stdout
    nrmse = {method: float(cells[4]) for method, cells in rows.items()}
    for method in ("KNN", "Iterative", "MissForest"):  # iris' columns predict each other
        assert 0 < nrmse[method] < nrmse["mean/mode"], rows
    assert "aefeatures" in rows or "aefeatures: not available: " in result.stdout
    summary = next(
        line for line in result.stdout.splitlines() if line.startswith("mean nRMSE, inductive, 20% MCAR: ")
    )
    assert "mean/mode " in summary and "aefeatures " in summary


@needs_sdv
def test_synthetic_benchmark_scores_sdv_generators_beside_held_out_rows() -> None:
    options = ("--quick", "--tables", "iris", "--tvae-epochs", "2", "--set", "epochs=3")
    result = run_script("benchmarks", "synthetic.py", *options, cwd=REPO)
    assert result.returncode == 0, result.stderr
    rows = _rows(result.stdout, "| ")
    for generator in ("held-out real", "GaussianCopula", "TVAE"):
        quality, auc, distance = (float(rows[generator][i]) for i in (1, 4, 5))
        assert 0 < quality <= 1 and 0 <= auc <= 1 and distance >= 0, rows[generator]
    assert "aefeatures" in rows or "aefeatures: not available: " in result.stdout
    assert "GaussianCopula (1 tables): mean quality " in result.stdout


@pytest.fixture
def imputation(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``benchmarks/imputation.py`` imported as its script imports it (its folder on the path)."""
    pytest.importorskip("sklearn")
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    return importlib.import_module("imputation")


def _table(rows: int = 300) -> pl.DataFrame:
    """Numbers that predict each other, a whole number, a category, a boolean, a date, a few nulls."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=rows)
    return pl.DataFrame(
        {
            "x": x,
            "y": np.where(np.arange(rows) % 25 == 0, np.nan, 2 * x + 0.1 * rng.normal(size=rows)),
            "count": np.round(3 + x).astype(np.int64),
            "kind": np.where(x > 0, "high", "low"),
            "flag": x + 0.3 * rng.normal(size=rows) > 0.5,
            "day": [datetime(2024, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 100, rows)],
        }
    ).with_columns(pl.col("y").fill_nan(None))


@pytest.mark.parametrize("mechanism", ["MCAR", "MAR"])
def test_masks_remove_the_rate_of_present_cells_and_leave_every_row_a_cell(
    imputation: ModuleType, mechanism: str
) -> None:
    frame = _table()
    present = frame.select(pl.all().is_not_null()).to_numpy()
    removed = imputation.make_mask(frame, mechanism, 0.4, seed=1)
    assert not (removed & ~present).any()  # only present cells are removed
    assert abs(removed[present].mean() - 0.4) < 0.05
    assert (present & ~removed).any(axis=1).all()
    if mechanism == "MAR":  # the driver is never removed, and its rank sets the chance
        driver = frame.columns.index(imputation.mar_driver(frame))
        assert not removed[:, driver].any()
        low = frame[:, driver].rank().to_numpy() <= frame.height / 2
        others = np.delete(removed, driver, axis=1)
        assert np.abs(others[low].mean(axis=0) - others[~low].mean(axis=0)).min() > 0.2


def test_imputers_fill_every_removed_cell_in_its_dtype_and_keep_present_cells(imputation: ModuleType) -> None:
    imputers = importlib.import_module("imputers")
    frame = _table()
    given = imputation.apply_mask(frame, imputation.make_mask(frame, "MCAR", 0.2, seed=0))
    train, test = given[:200], given[200:]
    stds = {"x": float(frame["x"].std()), "y": float(frame["y"].std()), "count": 1.0, "day": 30.0}
    removed = given.select(pl.all().is_null()).to_numpy() & frame.select(pl.all().is_not_null()).to_numpy()
    assert removed[200:].any(axis=0).all()  # every column has removed cells to score
    errors = {}
    for name, imputer in {"mean": imputers.MeanMode(), "forest": imputers.MissForest(trees=10)}.items():
        filled = imputer.fit(train).fill(test)
        imputation.check_fill(test, filled)  # same schema, present cells unchanged
        errors[name] = imputation.score(frame[200:], filled, removed[200:], stds)
        assert filled.null_count().sum_horizontal().item() == 0  # every missing cell, the table's own too
    assert errors["forest"]["nrmse"] < errors["mean"]["nrmse"] / 2  # y = 2x is learnt
    assert errors["forest"]["cat_error"] < errors["mean"]["cat_error"]

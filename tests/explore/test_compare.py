"""``aefeatures compare``: one split, a ranked grid with PCA as the yardstick, the winner kept."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import aefeatures as aef
from aefeatures.cli.text import compare_text
from aefeatures.explore.compare import Comparison, compare, default_sizes
from aefeatures.explore.metrics import average_precision, roc_auc


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory, anomalies_parquet: Path) -> tuple[Comparison, Path]:
    """The grid on the session's outlier table (1,800 rows, 21 numeric features, 0/1 label)."""
    kept = tmp_path_factory.mktemp("compare") / "best"
    comparison = compare(
        anomalies_parquet,
        kinds=["deep", "denoising"],
        sizes=[3, 6],
        label="label",
        epochs=20,
        threads=1,
        seed=0,
        max_seconds=600,
        keep_best=kept,
    )
    return comparison, kept


def test_grid_has_every_kind_at_every_size_plus_pca_ranked_by_validation_error(
    result: tuple[Comparison, Path],
) -> None:
    comparison, _ = result
    got = sorted((run.kind, run.latent_dim) for run in comparison.runs)
    assert got == sorted((kind, size) for kind in ("deep", "denoising", "pca") for size in (3, 6))
    assert "label" not in comparison.columns and len(comparison.columns) == 21
    assert comparison.train_rows + comparison.valid_rows == comparison.rows == 1800
    errors = [run.valid_error for run in comparison.runs]
    assert errors == sorted(errors) and [run.rank for run in comparison.runs] == list(range(1, 7))
    pca = {run.latent_dim: run.valid_error for run in comparison.runs if run.kind == "pca"}
    assert pca[6] < pca[3]  # a wider linear bottleneck reconstructs better
    for run in comparison.runs:
        assert run.vs_pca == pytest.approx(run.valid_error / pca[run.latent_dim])
        assert run.status == "ok" and run.seconds > 0 and 0.5 < run.roc_auc <= 1.0
    table = compare_text(comparison)
    assert table.splitlines()[1].split() == [
        "rank",
        "kind",
        "latent",
        "hidden",
        "valid_error",
        "robust_error",
        "vs_pca",
        "roc_auc",
        "avg_prec",
        "epochs",
        "stopped",
        "seconds",
    ]
    assert f"best: {comparison.best.kind} at latent {comparison.best.latent_dim}" in table
    # Ranked by a reconstruction error, the networks were trained to reconstruct, as PCA is.
    assert comparison.goal == "reconstruction"
    assert "networks trained for reconstruction" in table.splitlines()[0]


def test_kept_winner_is_a_normal_model_directory_that_reproduces_its_row(
    result: tuple[Comparison, Path], anomalies: pl.DataFrame
) -> None:
    comparison, kept = result
    best = comparison.best
    assert comparison.kept == str(kept)
    model = aef.load(kept)
    assert (model.config.kind, model.latent_dim) == (best.kind, best.latent_dim)
    assert model.config.goal == "reconstruction"
    if best.kind == "pca":  # the goal's trim and input_clip had no effect on PCA: not recorded
        assert not {"trim", "input_clip"} & set(model.config.to_dict())
    else:
        assert (model.config.trim, model.config.input_clip) == (0.0, None)
    history = model.metadata["history"]["epochs"]
    assert min(e["valid_loss"] for e in history) == pytest.approx(best.valid_error, rel=1e-6)
    frame = anomalies
    out = model.transform(frame)
    labels = frame["label"].to_numpy() == 1
    assert roc_auc(labels, out["ae_error"].to_numpy()) == pytest.approx(best.roc_auc, rel=1e-6)
    assert average_precision(labels, out["ae_error"].to_numpy()) == pytest.approx(
        best.average_precision, rel=1e-6
    )


def test_spent_time_budget_skips_neural_runs_but_keeps_the_pca_yardstick(anomalies_parquet: Path) -> None:
    comparison = compare(
        anomalies_parquet, kinds=["deep"], sizes=[2, 4], exclude=["label"], threads=1, max_seconds=0
    )
    ok = [run for run in comparison.runs if run.status == "ok"]
    skipped = [run for run in comparison.runs if run.status == "skipped"]
    assert [run.kind for run in ok] == ["pca", "pca"] and [run.rank for run in ok] == [1, 2]
    assert [(run.kind, run.rank, run.valid_error) for run in skipped] == [("deep", None, None)] * 2
    assert comparison.runs[-2:] == skipped  # skipped runs come last
    assert "skipped: time budget" in compare_text(comparison)


def test_rank_by_average_precision_orders_by_detection(anomalies_parquet: Path) -> None:
    comparison = compare(
        anomalies_parquet,
        kinds=["undercomplete"],
        sizes=[2, 8],
        label="label",
        rank_by="average_precision",
        epochs=10,
        threads=1,
    )
    scores = [run.average_precision for run in comparison.runs]
    assert scores == sorted(scores, reverse=True)
    assert comparison.goal == "outliers"  # an outlier ranking compares networks trained for outliers
    assert default_sizes(21) == (3, 7, 14)

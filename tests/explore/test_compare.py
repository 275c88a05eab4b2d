"""``aefeatures compare``: one split, finished runs ranked, the label ranking, baselines, the winner kept."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import aefeatures as aef
from aefeatures.explore.compare import Comparison, compare, default_sizes
from aefeatures.explore.compare_text import compare_text, progress_line
from aefeatures.explore.metrics import average_precision, roc_auc
from aefeatures.fitting.rows import split_rows

LONG_FLOAT = re.compile(r"\d\.0*[1-9]\d{4,}")  # five or more significant digits: more than a figure can tell


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory, anomalies_parquet: Path) -> tuple[Comparison, Path]:
    """The grid on the session's outlier table (1,800 rows, 21 numeric features, 0/1 label)."""
    kept = tmp_path_factory.mktemp("compare") / "best"
    comparison = compare(
        anomalies_parquet,
        kinds=["deep", "denoising"],
        sizes=[3, 6],
        label="label",
        rank_by="valid_loss",
        epochs=20,
        threads=1,
        seed=0,
        max_seconds=600,
        keep_best=kept,
        prune=False,
    )
    return comparison, kept


def test_grid_has_every_kind_at_every_size_plus_pca_ranked_by_validation_loss(
    result: tuple[Comparison, Path],
) -> None:
    comparison, _ = result
    got = sorted((run.kind, run.latent_dim) for run in comparison.runs)
    assert got == sorted((kind, size) for kind in ("deep", "denoising", "pca") for size in (3, 6))
    assert "label" not in comparison.columns and len(comparison.columns) == 21
    assert comparison.train_rows + comparison.valid_rows == comparison.rows == 1800
    losses = [run.valid_loss for run in comparison.runs]
    assert losses == sorted(losses) and [run.rank for run in comparison.runs] == list(range(1, 7))
    pca = {run.latent_dim: run.valid_loss for run in comparison.runs if run.kind == "pca"}
    assert pca[6] < pca[3]  # a wider linear bottleneck reconstructs better
    for run in comparison.runs:
        assert run.vs_pca == pytest.approx(run.valid_loss / pca[run.latent_dim])
        assert run.status == "finished" and run.seconds > 0 and 0.5 < run.roc_auc <= 1.0
        assert run.ae_error is not None and run.ae_error > 0
    table = compare_text(comparison)
    header = next(line for line in table.splitlines() if line.startswith("rank "))
    assert header.split() == [
        "rank", "kind", "latent", "hidden", "valid_loss", "robust_loss", "vs_pca", "ae_error",
        "roc_auc", "avg_prec", "epochs", "stopped", "seconds",
    ]  # fmt: skip
    assert (
        f"best: {comparison.best.kind} at latent {comparison.best.latent_dim}: the lowest valid_loss" in table
    )
    # Ranked by a loss although a label was given: the first line says so, and how to rank by it.
    assert table.splitlines()[0].startswith("ranked by valid_loss")
    assert "not by the label" in table.splitlines()[0] and "--rank-by roc_auc" in table.splitlines()[0]
    assert comparison.goal == "reconstruction"
    assert "networks trained for reconstruction" in table.splitlines()[1]
    assert not LONG_FLOAT.search(table)
    assert all(not LONG_FLOAT.search(progress_line(run)) for run in comparison.runs)


def test_kept_winner_reproduces_its_row_and_its_mean_ae_error_everywhere(
    result: tuple[Comparison, Path], anomalies: pl.DataFrame
) -> None:
    """The winner's ae_error in compare is the mean ae_error transform gives its validation rows,
    and info and the report show the same number."""
    comparison, kept = result
    best = comparison.best
    assert best is not None and comparison.kept == str(kept)
    model = aef.load(kept)
    assert (model.config.kind, model.latent_dim) == (best.kind, best.latent_dim)
    assert model.config.goal == "reconstruction"
    if best.kind == "pca":  # the goal's trim and input_clip had no effect on PCA: not recorded
        assert not {"trim", "input_clip"} & set(model.config.to_dict())
    else:
        assert (model.config.trim, model.config.input_clip) == (0.0, None)
    history = model.metadata["history"]["epochs"]
    assert min(e["valid_loss"] for e in history) == pytest.approx(best.valid_loss, rel=1e-6)
    out = model.transform(anomalies)
    labels = anomalies["label"].to_numpy() == 1
    assert roc_auc(labels, out["ae_error"].to_numpy()) == pytest.approx(best.roc_auc, rel=1e-6)
    assert average_precision(labels, out["ae_error"].to_numpy()) == pytest.approx(
        best.average_precision, rel=1e-6
    )
    _, valid = split_rows(anomalies.height, model.config.validation_fraction, model.config.seed)
    transformed = float(out["ae_error"].to_numpy()[valid].mean())
    assert best.ae_error == pytest.approx(transformed, rel=1e-9)
    validation = model.info()["validation"]
    assert validation["rows"] == valid.size == comparison.valid_rows
    assert validation["mean_ae_error"] == pytest.approx(transformed, rel=1e-9)
    assert validation["valid_loss"] == pytest.approx(best.valid_loss, rel=1e-6)
    assert f"{transformed:.3g} over {valid.size:,} rows" in (kept / "report.html").read_text()


def test_a_label_ranks_by_roc_auc_and_isolation_forest_sits_beside_the_grid(anomalies_parquet: Path) -> None:
    comparison = compare(
        anomalies_parquet, kinds=["undercomplete"], sizes=[2, 8], label="label", epochs=10, threads=1
    )
    assert comparison.rank_by == "roc_auc" and comparison.goal == "outliers"
    scores = [run.roc_auc for run in comparison.runs]
    assert scores == sorted(scores, reverse=True)
    text = compare_text(comparison)
    assert text.splitlines()[0].startswith("ranked by the ROC-AUC of ae_error against 'label'")
    assert f"({comparison.positives:,} of 1,800 rows true" in text.splitlines()[0]
    [forest] = comparison.baselines
    assert forest.name == "isolation_forest" and 0.5 < forest.roc_auc <= 1.0 and not forest.note
    assert f"baseline isolation_forest (same rows and label): roc_auc {forest.roc_auc:.3f}" in text
    best = comparison.best
    assert best is not None
    verdict = (
        "ranks the labelled rows better" if forest.roc_auc > best.roc_auc + 0.005 else "at least as well"
    )
    assert verdict in text
    assert comparison.to_dict()["baselines"][0]["roc_auc"] == forest.roc_auc
    assert default_sizes(21) == (3, 7, 14)


def test_without_scikit_learn_the_baseline_says_why_it_is_missing(
    anomalies: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises ImportError
    monkeypatch.setitem(sys.modules, "sklearn.ensemble", None)
    comparison = compare(anomalies.head(400), kinds=["deep"], sizes=[2], label="label", epochs=2, threads=1)
    [forest] = comparison.baselines
    assert forest.roc_auc is None and "scikit-learn is not installed" in forest.note
    assert "baseline isolation_forest: not scored: scikit-learn is not installed" in compare_text(comparison)


def test_spent_time_budget_skips_neural_runs_but_keeps_the_pca_yardstick(anomalies_parquet: Path) -> None:
    comparison = compare(
        anomalies_parquet, kinds=["deep"], sizes=[2, 4], exclude=["label"], threads=1, max_seconds=0
    )
    finished = [run for run in comparison.runs if run.status == "finished"]
    skipped = [run for run in comparison.runs if run.status == "skipped"]
    assert [run.kind for run in finished] == ["pca", "pca"] and [run.rank for run in finished] == [1, 2]
    assert [(run.kind, run.rank, run.valid_loss) for run in skipped] == [("deep", None, None)] * 2
    assert comparison.runs[-2:] == skipped  # skipped runs come last
    assert "skipped: time budget" in compare_text(comparison)


def test_a_diverging_candidate_is_marked_and_the_rest_are_ranked(anomalies: pl.DataFrame) -> None:
    comparison = compare(
        anomalies.drop("label"), kinds=["deep"], sizes=[2, 4], epochs=5, threads=1, learning_rate=10.0
    )
    failed = [run for run in comparison.runs if run.status == "failed"]
    assert [run.kind for run in failed] == ["deep", "deep"] and all(run.rank is None for run in failed)
    assert all("training diverged" in run.why and "\n" not in run.why for run in failed)
    assert comparison.best is not None and comparison.best.kind == "pca"
    assert [run.status for run in comparison.runs] == ["finished", "finished", "failed", "failed"]
    text = compare_text(comparison)
    assert "failed: deep at latent 2: training diverged" in text and "failed (see below)" in text
    # The winner, pca, is not trained: the learning rate the user gave is left out of the command
    # that trains it again (fit would refuse it), which trains it as compare did.
    assert "learning_rate" not in comparison.fit_settings and "epochs" not in comparison.fit_settings
    again = aef.fit(anomalies.drop("label"), **comparison.fit_settings)
    assert (again.config.kind, again.latent_dim) == ("pca", comparison.best.latent_dim)


def test_vs_pca_is_not_a_ratio_of_two_tiny_losses(anomalies: pl.DataFrame) -> None:
    """At 20 of 21 columns PCA reconstructs nearly perfectly: no 73x, a note instead."""
    comparison = compare(anomalies.drop("label"), kinds=["deep"], sizes=[20], epochs=3, threads=1)
    pca = next(run for run in comparison.runs if run.kind == "pca")
    assert pca.valid_loss is not None and pca.valid_loss < 0.01
    assert all(run.vs_pca is None for run in comparison.runs)
    assert "vs_pca: not given at latent 20, where PCA reconstructs within 0.01" in compare_text(comparison)


def test_a_table_without_variation_is_warned_about() -> None:
    frame = pl.DataFrame({"a": [1.0] * 300, "b": [2] * 300, "c": ["x"] * 300})
    comparison = compare(frame, kinds=["deep"], sizes=[1], epochs=2, threads=1)
    assert comparison.warnings and "every feature column holds one value (a, b, c)" in comparison.warnings[0]
    assert "warning: every feature column holds one value" in compare_text(comparison).splitlines()[2]
    some = pl.DataFrame({"a": np.arange(300, dtype=np.float64), "k": [5.0] * 300})
    [warning] = compare(some, kinds=["deep"], sizes=[1], epochs=2, threads=1).warnings
    assert warning.startswith("1 of 2 feature columns hold one value (k)") and "--exclude" in warning


def test_the_imputation_goal_is_refused_before_anything_trains(
    anomalies_parquet: Path, tmp_path: Path
) -> None:
    with pytest.raises(aef.ConfigError, match="says nothing of how an imputation model fills") as refused:
        compare(anomalies_parquet, goal="imputation", keep_best=tmp_path / "best")
    assert "model.impute" in refused.value.hint and not (tmp_path / "best").exists()

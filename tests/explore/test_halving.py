"""compare's successive halving: brief runs for all, longer ones for the best, the same runs as unpaused."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl
import pytest
import torch

import aefeatures as aef
from aefeatures.explore.compare import compare
from aefeatures.explore.compare_text import compare_text
from aefeatures.explore.ranking import halving_rungs
from aefeatures.fitting.pipeline import FitHooks, prepare, train_prepared
from aefeatures.fitting.sources import fit_config, frame_rows


def test_rungs_give_a_third_of_the_candidates_three_times_the_epochs() -> None:
    assert halving_rungs(270, 21) == [10, 30, 90, 270]
    assert halving_rungs(270, 4) == [30, 90, 270]
    assert halving_rungs(100, 1) == [100]
    assert halving_rungs(2, 21) == [1, 2]  # never below one epoch


def test_a_paused_and_continued_run_equals_the_unpaused_run(anomalies: pl.DataFrame) -> None:
    config = fit_config(
        {"exclude": ["label"], "kind": "denoising", "epochs": 9, "threads": 1, "patience": 100}
    )
    prepared = prepare(frame_rows(anomalies, config), config)
    whole = train_prepared(prepared, config)
    first = train_prepared(prepared, config, FitHooks(pause_after=3))
    assert first.history["stopped_because"] == "paused" and first.paused is not None
    rest = train_prepared(prepared, config, FitHooks(continue_from=first.paused))
    for name, value in whole.net.state_dict().items():
        assert torch.equal(value, rest.net.state_dict()[name]), name
    strip = [{k: v for k, v in e.items() if k != "seconds"} for e in whole.history["epochs"]]
    assert strip == [{k: v for k, v in e.items() if k != "seconds"} for e in rest.history["epochs"]]
    assert dataclasses.replace(config).epochs == 9


def test_pruned_runs_are_listed_below_the_finished_ones_and_never_kept(
    anomalies: pl.DataFrame, tmp_path: Path
) -> None:
    result = compare(anomalies, kinds=["deep", "denoising", "undercomplete"], sizes=[2, 4], label="label",
                     epochs=9, threads=1, seed=0, keep_best=tmp_path / "best")  # fmt: skip
    neural = [run for run in result.runs if run.kind != "pca"]
    pruned = [run for run in neural if run.status == "pruned"]
    finished = [run for run in result.runs if run.status == "finished"]
    assert len(neural) == 6 and len(pruned) >= 4 and any(run.kind != "pca" for run in finished)
    assert all(run.valid_loss is not None and run.epochs < run.epoch_budget == 9 for run in pruned)
    assert all(f"after epoch {run.epochs} of 9" in run.why and run.rank is None for run in pruned)
    # Finished runs first, ranked 1..n by the label's ROC-AUC; the pruned after them, whatever their score.
    assert result.runs[: len(finished)] == finished and [r.rank for r in finished] == list(
        range(1, len(finished) + 1)
    )
    assert [run.roc_auc for run in finished] == sorted((run.roc_auc for run in finished), reverse=True)
    assert result.best is finished[0] and aef.load(tmp_path / "best").config.kind == finished[0].kind
    table = compare_text(result)
    assert "pruned: " in table and "listed, not ranked" in table
    with pytest.raises(AssertionError):
        assert all(run.epochs == 9 for run in neural)  # not every candidate ran the whole budget


def test_the_robust_loss_is_shown_beside_the_plain_one_and_can_rank(anomalies: pl.DataFrame) -> None:
    # robust_error, the name before the loss was called a loss, still works.
    result = compare(anomalies.drop("label"), kinds=["deep"], sizes=[2, 4], epochs=3, threads=1,
                     rank_by="robust_error", prune=False)  # fmt: skip
    assert result.rank_by == "robust_loss"
    measured = [run for run in result.runs if run.status == "finished"]
    assert len(measured) == 4  # deep and pca at two sizes
    assert all(run.robust_loss is not None and run.robust_loss <= run.valid_loss for run in measured)
    robust = [run.robust_loss for run in measured]
    assert robust == sorted(robust)  # ranked by it, without a label

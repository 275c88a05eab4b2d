"""compare's successive halving: brief runs for all, longer ones for the best, the same runs as unpaused."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest
import torch

from aefeatures.explore.compare import compare, halving_rungs
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


def test_losers_are_pruned_and_still_reported(anomalies: pl.DataFrame) -> None:
    result = compare(anomalies, kinds=["deep", "denoising", "undercomplete"], sizes=[2, 4], label="label",
                     epochs=9, threads=1, seed=0)  # fmt: skip
    neural = [run for run in result.runs if run.kind != "pca"]
    pruned = [run for run in neural if run.stopped_because.startswith("pruned after epoch")]
    finished = [run for run in neural if not run.stopped_because.startswith("pruned")]
    assert len(neural) == 6 and len(pruned) >= 4 and finished
    assert all(run.valid_error is not None and run.epochs < 9 for run in pruned)
    assert max(run.epochs for run in finished) == 9 or all(
        r.stopped_because == "early_stopping" for r in finished
    )
    assert result.best in finished or result.best.kind == "pca"
    with pytest.raises(AssertionError):
        assert all(run.epochs == 9 for run in neural)  # not every candidate ran the whole budget


def test_the_robust_error_is_shown_beside_the_plain_one_and_can_rank(anomalies: pl.DataFrame) -> None:
    result = compare(anomalies.drop("label"), kinds=["deep"], sizes=[2, 4], epochs=3, threads=1,
                     rank_by="robust_error")  # fmt: skip
    measured = [run for run in result.runs if run.status == "ok"]
    assert len(measured) == 4  # deep and pca at two sizes
    assert all(run.robust_error is not None and run.robust_error <= run.valid_error for run in measured)
    robust = [run.robust_error for run in result.runs]
    assert robust == sorted(robust)  # ranked by it, without a label

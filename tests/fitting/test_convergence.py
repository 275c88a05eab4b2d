"""Training converges on any table size: a step budget, a cosine schedule, patient early stopping."""

from __future__ import annotations

import math

import pytest

import aefeatures as aef
from aefeatures.config import FitConfig
from aefeatures.fitting.sources import fit_config
from aefeatures.fitting.training import History, epoch_budget, learning_rate
from tests.helpers import make_mixed, run_cli


def test_the_step_budget_sizes_epochs_by_the_table() -> None:
    config = FitConfig()
    assert epoch_budget(config, 1_500, 64) == math.ceil(config.steps / 24)  # many short epochs
    assert epoch_budget(config, 10_000_000, 256) == 1  # a huge table: a single long epoch
    assert epoch_budget(config, 150, 64) == config.epoch_cap == 200  # a small one: at most the cap
    assert epoch_budget(FitConfig(steps=10_000, epoch_cap=2_000), 1, 1) == 2_000
    assert epoch_budget(FitConfig(epochs=7), 10_000_000, 256) == 7  # epochs given: exactly those


def test_a_hundred_row_table_is_not_trained_for_thousands_of_epochs() -> None:
    """The outlier defaults see each of 100 rows at most 200 times (4,000 steps would be 2,000
    epochs); the goals that judge new rows keep the old cap."""
    frame = make_mixed(100)
    model = aef.fit(frame, exclude=["id", "label"], seed=0, threads=1)
    history = model.metadata["history"]
    assert history["epoch_budget"] == 200 and len(history["epochs"]) <= 200
    for goal in ("features", "reconstruction", "imputation"):
        assert epoch_budget(fit_config({"goal": goal}), 90, 64) == 2_000


def test_the_learning_rate_decays_along_a_cosine_to_five_percent() -> None:
    config = FitConfig(learning_rate=0.01)
    rates = [learning_rate(config, epoch, 11) for epoch in range(1, 12)]
    assert rates[0] == pytest.approx(0.01) and rates[-1] == pytest.approx(0.0005)
    assert rates[5] == pytest.approx(0.01 * (0.05 + 0.95 * 0.5))
    assert all(a > b for a, b in zip(rates, rates[1:], strict=False))


def test_a_small_table_gets_the_steps_it_needs_and_converges() -> None:
    frame = make_mixed(200)
    model = aef.fit(frame, exclude=["id", "label"], seed=0, threads=1)
    history = model.metadata["history"]
    assert history["epoch_budget"] > 60  # more than the old fixed 60 epochs
    assert len(history["epochs"]) > 12
    assert model.info()["training"]["converged"] is True
    assert model.info()["training"]["epoch_budget"] == history["epoch_budget"]


def test_convergence_is_judged_from_the_last_tenth_of_epochs() -> None:
    falling = [{"epoch": float(i), "train_loss": 1.0, "valid_loss": 1.0 / i} for i in range(1, 21)]
    flat = [{"epoch": float(i), "train_loss": 1.0, "valid_loss": 1.0 + 1e-6 / i} for i in range(1, 21)]
    assert not History(epochs=falling, stopped_because="max_epochs").converged
    assert History(epochs=flat, stopped_because="max_epochs").converged
    assert History(epochs=falling, stopped_because="early_stopping").converged
    assert not History(epochs=flat, stopped_because="time_budget").converged


def test_a_diverging_fit_fails_with_a_hint_and_writes_nothing(mixed_parquet, tmp_path) -> None:
    target = tmp_path / "m"
    done = run_cli(
        "fit", mixed_parquet, "--model", target, "--exclude", "id,label", "--set", "learning_rate=10"
    )
    assert done.returncode == 1, done.stderr
    assert "training diverged" in done.stderr and "learning_rate" in done.stderr
    assert not target.exists()


def test_the_report_says_whether_the_fit_converged(tmp_path) -> None:
    frame = make_mixed(200)
    model = aef.fit(frame, exclude=["id", "label"], epochs=2, seed=0, threads=1)
    page = (model.save(tmp_path / "m") / "report.html").read_text()
    assert "converged" in page

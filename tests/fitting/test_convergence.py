"""Training converges on any table size: a step budget, a cosine schedule, patient early stopping."""

from __future__ import annotations

import json
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
    for goal in ("features", "reconstruction"):  # 10,000 steps: the cap binds
        assert epoch_budget(fit_config({"goal": goal}), 90, 64) == 2_000
    # imputation trains 3,000 steps on every row (no validation rows): below the cap of 2,000
    assert epoch_budget(fit_config({"goal": "imputation"}), 90, 64) == 1_500


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


def test_only_the_stopping_rule_is_convergence_and_a_limit_says_how_the_loss_moved() -> None:
    falling = [{"epoch": float(i), "train_loss": 1.0, "valid_loss": 1.0 / i} for i in range(1, 21)]
    flat = [{"epoch": float(i), "train_loss": 1.0, "valid_loss": 1.0 + 1e-6 / i} for i in range(1, 21)]
    for limit in ("max_epochs", "step_budget", "time_budget"):
        assert not History(epochs=flat, stopped_because=limit).converged  # flat, yet cut by a limit
        assert History(epochs=falling, stopped_because=limit).still_improving is True
        assert History(epochs=flat, stopped_because=limit).still_improving is False
    assert History(epochs=falling, stopped_because="early_stopping").converged
    assert History(epochs=falling, stopped_because="early_stopping").still_improving is None


def test_a_fit_cut_short_by_epochs_is_not_reported_as_converged(tmp_path) -> None:
    data = tmp_path / "mixed.parquet"
    make_mixed(300).write_parquet(data)
    done = run_cli(
        "fit", data, "--model", tmp_path / "m", "-x", "id,label", "--epochs", "3", "--threads", "1"
    )
    assert done.returncode == 0, done.stderr
    described = run_cli("info", tmp_path / "m", "--json")
    training = json.loads(described.stdout)["training"]
    assert training["converged"] is False and training["stopped_because"] == "max_epochs"
    assert training["still_improving"] in (True, False)
    advice = (  # the summary says whether a larger limit would help, as the report does
        ", the loss was still falling: a larger limit (--epochs, --set steps=N) may help"
        if training["still_improving"]
        else ", but the loss had flattened: a larger limit would change little"
    )
    assert f"3 epochs (max_epochs: not converged{advice})" in done.stdout
    page = (tmp_path / "m" / "report.html").read_text()
    assert "no: the epochs given (--epochs) ended training before early stopping did" in page


def test_a_fit_ended_by_the_step_budget_says_so() -> None:
    frame = make_mixed(200)
    model = aef.fit(frame, exclude=["id", "label"], steps=30, patience=1000, seed=0, threads=1)
    training = model.info()["training"]
    assert training["stopped_because"] == "step_budget" and training["converged"] is False
    assert training["epochs_run"] == training["epoch_budget"]


def test_an_old_manifest_that_called_a_flat_max_epochs_run_converged_is_not_believed(tmp_path) -> None:
    model = aef.fit(make_mixed(200), exclude=["id", "label"], epochs=2, seed=0, threads=1)
    model.metadata["history"] |= {"converged": True, "stopped_because": "max_epochs"}  # the old rule
    model.metadata["history"].pop("still_improving")
    assert model.info()["training"]["converged"] is False
    page = (model.save(tmp_path / "m") / "report.html").read_text()
    assert "no: the epochs given (--epochs) ended training before early stopping did" in page


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

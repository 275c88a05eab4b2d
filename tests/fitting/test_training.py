"""Training: sizes from the data, validation split, early stopping, history, seeded determinism."""

from __future__ import annotations

import numpy as np
import polars as pl

import aefeatures as aef
from aefeatures.config import FitConfig, resolve_batch_size, resolve_sizes
from aefeatures.explore.metrics import roc_auc
from aefeatures.fitting.rows import split_rows
from tests.helpers import assert_same_weights, make_mixed


def test_sizes_follow_the_width_and_can_be_overridden() -> None:
    small = resolve_sizes(FitConfig(kind="deep"), n_inputs=10, n_columns=6)
    wide = resolve_sizes(FitConfig(kind="deep"), n_inputs=1200, n_columns=1000)
    assert small.latent_dim < wide.latent_dim and sum(small.hidden) < sum(wide.hidden)
    assert all(wide.latent_dim < width < wide.n_inputs for width in wide.hidden)
    given = resolve_sizes(FitConfig(kind="deep", latent_dim=3, hidden=(20,)), n_inputs=10, n_columns=6)
    assert (given.latent_dim, given.hidden) == (3, (20,))
    assert (
        resolve_batch_size(FitConfig(), 100) <= 100
        and resolve_batch_size(FitConfig(batch_size=32), 1000) == 32
    )


def test_split_is_seeded_and_disjoint() -> None:
    train, valid = split_rows(1000, 0.1, seed=3)
    assert len(valid) == 100 and not set(train) & set(valid) and len(train) + len(valid) == 1000
    assert np.array_equal(split_rows(1000, 0.1, seed=3)[1], valid)
    assert len(split_rows(10, 0.1, seed=3)[1]) == 0  # too few rows for a validation set


def test_training_learns_and_keeps_history_and_stops_early() -> None:
    frame = make_mixed(800)
    model = aef.fit(frame, exclude=["id", "label"], epochs=400, patience=3, seed=0, threads=1)
    history = model.metadata["history"]
    epochs = history["epochs"]
    assert history["stopped_because"] == "early_stopping" and len(epochs) < 400
    assert epochs[-1]["valid_loss"] < 0.6 * epochs[0]["valid_loss"]
    assert 1 <= history["best_epoch"] <= len(epochs)
    best = min(e["valid_loss"] for e in epochs)
    assert model.metadata["history"]["epochs"][history["best_epoch"] - 1]["valid_loss"] == best


def test_same_seed_same_threads_gives_identical_weights_and_outputs() -> None:
    frame = make_mixed(300)
    first = aef.fit(frame, exclude=["id", "label"], epochs=5, seed=11, threads=1)
    second = aef.fit(frame, exclude=["id", "label"], epochs=5, seed=11, threads=1)
    assert_same_weights(first, second)
    assert first.transform(frame).equals(second.transform(frame))
    other = aef.fit(frame, exclude=["id", "label"], epochs=5, seed=12, threads=1)
    assert not other.transform(frame).equals(first.transform(frame))


def test_trimmed_loss_keeps_common_outliers_from_being_learnt() -> None:
    rng = np.random.default_rng(0)
    rows, outliers = 1200, 240  # 20% of the rows are outliers, with a structure of their own
    values = rng.normal(size=(rows, 2)) @ rng.normal(size=(2, 8)) + 0.05 * rng.normal(size=(rows, 8))
    values[:outliers] = rng.normal(size=(outliers, 1)) @ rng.normal(size=(1, 8))
    values[:outliers] += 0.05 * rng.normal(size=(outliers, 8))
    frame = pl.DataFrame(values, schema=[f"c{i}" for i in range(8)])
    labels = np.arange(rows) < outliers
    aucs = {}
    for trim in (0.0, 0.3):
        model = aef.fit(frame, kind="deep", trim=trim, seed=0, threads=1)  # the default step budget
        aucs[trim] = roc_auc(labels, model.transform(frame)["ae_error"].to_numpy())
    # Untrimmed, the network learns the outliers' structure too and cannot tell them apart.
    assert aucs[0.0] < 0.75 and aucs[0.3] > aucs[0.0] + 0.2

"""pca_start: a linear path started at PCA's solution, so codes and reconstructions start where
PCA ends and training can only add to them. ``--goal features`` and ``--goal reconstruction``
start there; the tests fit the features goal without naming pca_start."""

from __future__ import annotations

import dataclasses

import pytest

import aefeatures as aef
from aefeatures.errors import ConfigError
from aefeatures.fitting.evaluation import evaluate
from aefeatures.fitting.pipeline import new_network, prepare, train_prepared
from aefeatures.fitting.sources import fit_config, frame_rows
from aefeatures.nn.kinds.pca import start_at_pca
from tests.helpers import make_mixed

SETTINGS = {"goal": "features", "exclude": ["id", "label"], "threads": 1, "latent_dim": 3}


def test_the_pca_started_network_reconstructs_as_pca_before_training() -> None:
    config = fit_config(SETTINGS)
    prepared = prepare(frame_rows(make_mixed(300), config), config)  # numbers, categories, booleans, holes
    assert prepared.valid_rows is not None
    net = new_network(config, prepared.preprocessor, prepared.device)
    assert net.config.linear_path
    before = evaluate(net, prepared.loss_fn, prepared.valid_rows)
    start_at_pca(net, prepared.loss_fn, [prepared.train_rows.take(slice(0, None)).inputs])
    pca = train_prepared(prepared, dataclasses.replace(config, kind="pca")).net
    started = evaluate(net, prepared.loss_fn, prepared.valid_rows)
    assert started == pytest.approx(evaluate(pca, prepared.loss_fn, prepared.valid_rows), rel=1e-4)
    assert started < before  # PCA's start is far better than random weights


def test_a_pca_started_fit_ends_at_least_as_good_as_pca_and_round_trips(tmp_path) -> None:
    frame = make_mixed(300)
    config = fit_config({**SETTINGS, "steps": 300})
    prepared = prepare(frame_rows(frame, config), config)
    assert prepared.valid_rows is not None
    trained = train_prepared(prepared, config)
    pca = train_prepared(prepared, dataclasses.replace(config, kind="pca"))
    error = evaluate(trained.net, prepared.loss_fn, prepared.valid_rows)
    assert error <= evaluate(pca.net, prepared.loss_fn, prepared.valid_rows) * (1 + 1e-6)
    model = aef.fit(frame, **{**SETTINGS, "steps": 300, "seed": 1})
    loaded = aef.load(model.save(tmp_path / "m"))
    assert loaded.net_config.linear_path and loaded.config.pca_start
    assert loaded.transform(frame).equals(model.transform(frame))


def test_pca_start_is_off_by_default_and_refused_for_pca_and_variational_kinds() -> None:
    frame = make_mixed(120)
    assert not aef.fit(frame, exclude=["id", "label"], epochs=1, threads=1).net_config.linear_path
    for kind in ("pca", "variational"):  # explicit: refused, never recorded as if it had effect
        with pytest.raises(ConfigError, match=rf"pca_start=True would have no effect with kind '{kind}'"):
            aef.fit(frame, exclude=["id", "label"], kind=kind, pca_start=True, threads=1)
    # from a goal: not refused, and not applied either
    model = aef.fit(
        frame, exclude=["id", "label"], kind="variational", goal="reconstruction", epochs=1, threads=1
    )
    assert not model.net_config.linear_path and "pca_start" not in model.config.to_dict()


def test_a_fit_that_keeps_its_pca_start_reports_the_start_loss(tmp_path) -> None:
    frame = make_mixed(300)
    model = aef.fit(frame, **{**SETTINGS, "epochs": 3, "learning_rate": 1e-7})  # no epoch can beat PCA
    history = model.metadata["history"]
    assert history["best_epoch"] == 0 and history["start_loss"] > 0
    loaded = aef.load(model.save(tmp_path / "m"))
    assert loaded.info()["validation"]["valid_loss"] == history["start_loss"]
    kept = f"best epoch 0 (the start, kept: no epoch beat its validation loss {history['start_loss']:.4g})"
    assert kept in (tmp_path / "m" / "report.html").read_text()
    moved = aef.fit(frame, **{**SETTINGS, "epochs": 3}).metadata["history"]  # an epoch beat the start
    assert moved["best_epoch"] > 0 and "start_loss" not in moved

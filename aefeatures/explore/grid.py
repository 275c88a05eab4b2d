"""Training ``compare``'s candidates: PCA at every size, then the networks by successive halving.

Every candidate trains briefly, the best third (by the ranking measure) continues for three
times as many epochs, and so on (:func:`~aefeatures.explore.ranking.halving_rungs`). A time
budget is shared among the runs of each rung (each gets the remaining time divided by the runs
still to go). A candidate that diverges or raises is marked ``failed`` with the reason and the
others go on; one still paused at the end is ``pruned``, with the epochs it got.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable

import numpy as np
import torch

from aefeatures.config import FitConfig, resolve_batch_size
from aefeatures.errors import AEFeaturesError
from aefeatures.explore.metrics import average_precision, roc_auc
from aefeatures.explore.ranking import HALVING, LABEL_MEASURES, halving_rungs, rank_key, robust_loss
from aefeatures.explore.results import FAILED, PRUNED, SKIPPED, Run
from aefeatures.fitting.evaluation import evaluate, row_losses
from aefeatures.fitting.pipeline import FitHooks, Prepared, Trained, calibration_rows, train_prepared
from aefeatures.fitting.training import epoch_budget
from aefeatures.model.scoring import calibrated_scores
from aefeatures.model.validation import ae_errors, validation_summary

WHY_LENGTH = 300  # a failure's message is cut to this many characters in the table's notes

Key = tuple[str, int]


def run_grid(
    prepared: Prepared,
    base: FitConfig,
    kinds: list[str],
    sizes: list[int],
    deadline: float,
    labels: np.ndarray | None,
    on_run: Callable[[Run], None] | None,
    rank_by: str,
    prune: bool = True,
) -> tuple[list[Run], dict[Key, Trained]]:
    """Every run (PCA first) and the trained network of each one that trained."""
    # torch imports its optimiser machinery on first use (seconds): pay that before any run is timed.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    runs: dict[Key, Run] = {}
    trained: dict[Key, Trained] = {}
    for size in sizes:  # the closed-form yardstick first: cheap, and everything is measured against it
        key = ("pca", size)
        pca = dataclasses.replace(base, kind="pca", latent_dim=size)
        runs[key], done = _train_one(prepared, pca, labels, detailed=True)
        if done is not None:
            trained[key] = done
        if on_run is not None:
            on_run(runs[key])
    configs = {
        (kind, size): dataclasses.replace(base, kind=kind, latent_dim=size)
        for size in sizes
        for kind in kinds
    }
    budget = epoch_budget(base, len(prepared.train_rows), resolve_batch_size(base, prepared.n_train))
    alive, out_of_time = list(configs), False
    needs_label = rank_by in LABEL_MEASURES  # the rungs then rank by ae_error's scores against the label
    for until in halving_rungs(budget, len(alive)) if prune else [budget]:
        for position, key in enumerate(alive):
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                out_of_time = True
                if key not in runs:
                    runs[key] = Run(kind=key[0], latent_dim=key[1], status=SKIPPED, why="time budget spent")
                continue
            paused = trained[key].paused if key in trained else None
            spent = paused.elapsed if paused is not None else 0.0  # the time budget counts all rungs
            share = remaining / (len(alive) - position)  # the rung's runs still to go share what is left
            config = dataclasses.replace(configs[key], max_seconds=spent + share)
            hooks = FitHooks(continue_from=paused, pause_after=until)
            runs[key], done = _train_one(prepared, config, labels, hooks, runs.get(key), needs_label)
            if done is None:
                trained.pop(key, None)
            else:
                trained[key] = done
        going_on = [key for key in alive if key in trained and trained[key].paused is not None]
        keep = max(1, math.ceil(len(going_on) / HALVING))
        alive = sorted(going_on, key=lambda key: rank_key(runs[key], rank_by))[:keep]
    for key, run in runs.items():  # the scores the rungs did not need, once per run, of its last network
        if key in trained and run.ae_error is None:
            try:
                _detail(run, prepared, trained[key], labels)
            except Exception as exc:  # noqa: BLE001 - as in _train_one
                runs[key] = dataclasses.replace(run, status=FAILED, why=_reason(exc))
                del trained[key]
    for key in configs:
        if key in trained and trained[key].paused is not None:
            run = runs[key]
            run.status = PRUNED
            run.why = (
                f"the time budget ran out after epoch {run.epochs} of {run.epoch_budget}"
                if out_of_time and key in alive
                else f"paused by successive halving after epoch {run.epochs} of {run.epoch_budget}"
            )
        if on_run is not None and key in runs:
            on_run(runs[key])
    return list(runs.values()), trained


def _train_one(
    prepared: Prepared,
    config: FitConfig,
    labels: np.ndarray | None,
    hooks: FitHooks | None = None,
    earlier: Run | None = None,
    detailed: bool = False,
) -> tuple[Run, Trained | None]:
    """Train one candidate through the fit pipeline, on the shared prepared rows, and score it.

    ``earlier`` is the same candidate's run up to its last pause: its seconds carry over. The
    losses are always measured, ``ae_error`` and the label's scores when ``detailed``. A candidate
    that fails comes back ``failed``, with the reason and no network.
    """
    started = time.perf_counter()
    carried = earlier.seconds if earlier is not None else 0.0
    try:
        trained = train_prepared(prepared, config, hooks)
        run = _scored(prepared, config, trained)
        if detailed:
            _detail(run, prepared, trained, labels)
    except Exception as exc:  # noqa: BLE001 - one candidate's failure must not sink the others
        failed = Run(kind=config.kind, latent_dim=config.latent_dim or 0, status=FAILED, why=_reason(exc))
        failed.seconds = time.perf_counter() - started + carried
        return failed, None
    run.seconds = time.perf_counter() - started + carried
    return run, trained


def _reason(exc: Exception) -> str:
    """One line: the error's message and hint, or its type and message when it was not expected."""
    if isinstance(exc, AEFeaturesError):
        text = str(exc.args[0]) if exc.args else type(exc).__name__
        text = f"{text.rstrip('.')}; {exc.hint}" if exc.hint else text
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    return text if len(text) <= WHY_LENGTH else text[: WHY_LENGTH - 3] + "..."


def _scored(prepared: Prepared, config: FitConfig, trained: Trained) -> Run:
    """A trained candidate's run with its validation losses (as training monitors them)."""
    net, history = trained.net, trained.history
    run = Run(
        kind=config.kind,
        latent_dim=net.config.latent_dim,
        hidden=list(net.config.hidden),
        epochs=len(history["epochs"]),
        epoch_budget=history.get("epoch_budget") or len(history["epochs"]),
        best_epoch=history["best_epoch"],
        stopped_because=history["stopped_because"],
        converged=history.get("converged"),
    )
    if prepared.valid_rows is not None:
        run.valid_loss = evaluate(net, prepared.loss_fn, prepared.valid_rows)
        run.robust_loss = robust_loss(row_losses(net, prepared.loss_fn, prepared.valid_rows))
    return run


def _detail(run: Run, prepared: Prepared, trained: Trained, labels: np.ndarray | None) -> None:
    """Set the mean ``ae_error`` of the validation rows and, with labels, how ``ae_error`` of every
    row ranks them: scored as ``transform`` would score them for this network calibrated as a model."""
    net = trained.net
    _, calibration = calibration_rows(prepared)
    calibrated, scores = calibrated_scores(net, prepared.preprocessor, calibration)
    run.ae_error = validation_summary(net, calibrated, prepared.valid_encoded())["mean_ae_error"]
    if labels is not None:
        errors = (
            scores.errors if calibration is prepared.encoded else ae_errors(net, calibrated, prepared.encoded)
        )
        run.roc_auc, run.average_precision = roc_auc(labels, errors), average_precision(labels, errors)

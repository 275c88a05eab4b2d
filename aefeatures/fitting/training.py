"""The training loop: preloaded tensors, shuffled index batches, Adam, early stopping.

What a kind adds (input noise, a penalty, a closed-form solution) comes from its
:class:`~aefeatures.nn.kinds.base.Kind`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from aefeatures.config import FitConfig
from aefeatures.errors import DataError
from aefeatures.fitting.evaluation import evaluate, validation_blanks
from aefeatures.fitting.rows import Batch, RowSource
from aefeatures.nn import kinds
from aefeatures.nn.kinds.base import Corrupted, Kind, Solver
from aefeatures.nn.losses import ReconstructionLoss
from aefeatures.nn.network import Autoencoder

EpochCallback = Callable[[int, dict[str, float]], None]
MIN_IMPROVEMENT = 1e-4  # relative drop in the monitored loss that counts as progress
PATIENCE_SHARE = 0.1  # early stopping waits at least this share of the epoch budget
FINAL_LR_SHARE = 0.05  # the cosine schedule ends at this share of the learning rate
IMPROVING_WINDOW = 0.1  # still improving: the last 10% of epochs lowered the best loss by 1% or more
IMPROVING_GAIN = 0.01
# Why training stopped. Only the first two are convergence: the stopping rule fired, or there was
# nothing to train. The others are limits: the epochs given, the step budget, the time budget.
STOPPED_BECAUSE = ("early_stopping", "closed_form", "max_epochs", "step_budget", "time_budget", "paused")
CONVERGED_BECAUSE = ("early_stopping", "closed_form")
# Losses are scaled so that predicting each column's centre scores about 1: far above that, the
# optimiser has blown up rather than learnt.
DIVERGED_LOSS = 1e3


@dataclass
class History:
    """Per-epoch losses and where training stopped."""

    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    stopped_because: str = "max_epochs"  # one of STOPPED_BECAUSE
    seconds: float = 0.0
    epoch_budget: int = 0
    paused: TrainState | None = None  # with ``pause_after``: the state to continue from
    start_loss: float | None = None  # validation loss of the starting weights, when no epoch beat them

    @property
    def converged(self) -> bool:
        """Whether the stopping rule ended training (or a closed form needed none).

        A run ended by a limit (``--epochs``, the step budget, the time budget) did not converge,
        however flat its last epochs: whether more epochs would have helped is not known.
        :attr:`still_improving` says how the loss was moving when the limit came.
        """
        return self.stopped_because in CONVERGED_BECAUSE

    @property
    def still_improving(self) -> bool | None:
        """For a run ended by a limit, whether its last :data:`IMPROVING_WINDOW` of epochs still
        lowered the best monitored loss by :data:`IMPROVING_GAIN` (relative) or more; ``None``
        for a converged run or one too short to tell.

        Examples
        --------
        >>> History([{"train_loss": 2.0}, {"train_loss": 1.0}], stopped_because="max_epochs").still_improving
        True
        """
        if self.converged or len(self.epochs) < 2:
            return None
        losses = [e.get("valid_loss", e["train_loss"]) for e in self.epochs]
        window = max(1, int(round(IMPROVING_WINDOW * len(losses))))
        before, after = min(losses[:-window]), min(losses)
        return before - after > IMPROVING_GAIN * abs(before)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dictionary."""
        return {
            "epochs": self.epochs,
            "best_epoch": self.best_epoch,
            "stopped_because": self.stopped_because,
            "seconds": self.seconds,
            "epoch_budget": self.epoch_budget,
            "converged": self.converged,
            "still_improving": self.still_improving,
        } | ({} if self.start_loss is None else {"start_loss": self.start_loss})


def epoch_budget(config: FitConfig, n_rows: int, batch_size: int) -> int:
    """Epochs to run at most: ``config.epochs``, or enough for ``config.steps`` optimiser steps,
    never more than ``config.epoch_cap``.

    A step budget gives a 10-million-row table one or two long epochs and a 1,500-row table
    the hundreds of short ones it needs, instead of one epoch count for all. The cap bounds
    how often a small table's rows are seen: 4,000 steps on 100 rows would show each row
    2,000 times, and a network shown its outliers that often reconstructs them too.

    Examples
    --------
    >>> epoch_budget(FitConfig(), 100, 64), epoch_budget(FitConfig(), 100_000, 256)
    (200, 11)
    """
    if config.epochs is not None:
        return config.epochs
    steps_per_epoch = max(1, math.ceil(n_rows / max(batch_size, 1)))
    return int(min(config.epoch_cap, max(1, math.ceil(config.steps / steps_per_epoch))))


def learning_rate(config: FitConfig, epoch: int, budget: int) -> float:
    """Cosine decay from ``learning_rate`` to :data:`FINAL_LR_SHARE` of it over the epoch budget.

    Set per epoch, so a resumed fit recomputes it from the epoch number alone. Large steps
    early find the structure; small ones late settle into it instead of bouncing around it.
    """
    progress = (epoch - 1) / max(budget - 1, 1)
    share = FINAL_LR_SHARE + (1.0 - FINAL_LR_SHARE) * 0.5 * (1.0 + math.cos(math.pi * progress))
    return config.learning_rate * share


def train(
    net: Autoencoder,
    loss_fn: ReconstructionLoss,
    train_rows: Batch | RowSource,
    valid_rows: Batch | None,
    config: FitConfig,
    batch_size: int,
    on_epoch: EpochCallback | None = None,
    resume: TrainState | None = None,
    on_checkpoint: Callable[[TrainState], None] | None = None,
    sync: Callable[[dict[str, float]], dict[str, float]] | None = None,
    pause_after: int | None = None,
) -> History:
    """Train ``net`` in place and leave it holding the weights of the best epoch.

    ``resume`` continues from a :class:`TrainState` taken after an epoch; ``on_checkpoint``
    receives one after every epoch that training continues past. Resuming reproduces the
    uninterrupted run bit for bit on the same device and thread count. ``sync`` turns each
    epoch's local record into the global one under data-parallel training (see
    :mod:`aefeatures.fitting.distributed`) before early stopping reads it. ``pause_after``
    stops after that epoch (``"paused"``) with the state to continue from in
    :attr:`History.paused`: continuing equals never pausing, bit for bit. A kind with a
    closed form (``pca``) is solved instead: one "epoch" of history, stopped ``"closed_form"``.
    A network started at PCA (``linear_path``) counts its starting weights as epoch 0: unless an
    epoch beats their validation loss, they are what training leaves.
    """
    kind = kinds.get(config.kind)
    if kind.solve is not None:
        return _solve(kind.solve, net, loss_fn, train_rows, valid_rows, batch_size, on_epoch)
    generator = torch.Generator().manual_seed(config.seed)
    warmup_epochs = kind.warmup_epochs(config)
    optimizer = _adam(net, config)
    budget = epoch_budget(config, len(train_rows), batch_size)
    # Noise in the validation loss can look like a plateau over a few short epochs.
    patience = max(config.patience, math.ceil(PATIENCE_SHARE * budget))
    limit = "max_epochs" if config.epochs is not None else "step_budget"  # what ends the loop
    history = History(stopped_because=limit, epoch_budget=budget)
    best_loss, best_state, waited = float("inf"), _copy_state(net), 0
    blanks = validation_blanks(net, kind, config, loss_fn)
    if resume is None and _starts_closed_form(net) and valid_rows is not None and len(valid_rows):
        start = {"epoch": 0.0, "valid_loss": evaluate(net, loss_fn, valid_rows, blanks), "seconds": 0.0}
        best_loss = (start if sync is None else sync(start))["valid_loss"]  # epoch 0: kept unless beaten
    started, first_epoch = time.perf_counter(), 1
    if resume is not None:
        best_state = resume.restore(net, optimizer, generator)
        first_epoch, best_loss, waited = resume.epoch + 1, resume.best_loss, resume.waited
        history.epochs, history.best_epoch = list(resume.epochs), resume.best_epoch
        started -= resume.elapsed  # the time budget and the history's seconds continue
    for epoch in range(first_epoch, budget + 1):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, epoch, budget)
        record = {"epoch": float(epoch)}
        record |= _train_epoch(
            net, loss_fn, kind, config, optimizer, train_rows, batch_size, generator, epoch
        )
        if valid_rows is not None and len(valid_rows):
            record["valid_loss"] = evaluate(net, loss_fn, valid_rows, blanks)
        record["seconds"] = time.perf_counter() - started
        if sync is not None:  # data-parallel: every rank must take the same stopping decisions
            record = sync(record)
        monitored = record.get("valid_loss", record["train_loss"])
        history.epochs.append(record)
        if on_epoch is not None:
            on_epoch(epoch, record)
        # During a KL warm-up the objective still changes: the latest epoch is the best so far.
        if monitored < best_loss * (1.0 - MIN_IMPROVEMENT) or epoch <= warmup_epochs:
            best_loss, best_state, waited = monitored, _copy_state(net), 0
            history.best_epoch = epoch
        else:
            waited += 1
        if not math.isfinite(monitored) or monitored > DIVERGED_LOSS:
            raise _diverged(config, epoch, monitored)
        if waited >= patience:
            history.stopped_because = "early_stopping"
            break
        if config.max_seconds is not None and record["seconds"] >= config.max_seconds:
            history.stopped_because = "time_budget"
            break
        if pause_after is not None and epoch >= pause_after and epoch < budget:
            history.stopped_because = "paused"
            history.paused = TrainState.capture(
                epoch, net, optimizer, generator, best_state, best_loss, waited, history,
                time.perf_counter() - started,
            )  # fmt: skip
            break
        if on_checkpoint is not None:
            elapsed = time.perf_counter() - started
            state = TrainState.capture(
                epoch, net, optimizer, generator, best_state, best_loss, waited, history, elapsed
            )
            on_checkpoint(state)
    if history.best_epoch == 0 and math.isfinite(best_loss):  # the closed-form start was kept
        history.start_loss = best_loss
    net.load_state_dict(best_state)
    net.eval()
    history.seconds = time.perf_counter() - started
    return history


def _starts_closed_form(net: Autoencoder) -> bool:
    """Whether the network starts at a closed-form solution: a linear path set to PCA's, or a
    Gaussian start (its fills start at the conditional means)."""
    config = getattr(getattr(net, "module", net), "config", None)  # data-parallel: the wrapped network's
    return bool(getattr(config, "linear_path", False) or getattr(config, "gaussian_inputs", 0))


def _diverged(config: FitConfig, epoch: int, loss: float) -> DataError:
    return DataError(
        f"training diverged: the loss reached {loss:.3g} at epoch {epoch} "
        f"(learning_rate={config.learning_rate:g}); no model was written.",
        hint="lower the learning rate (e.g. --set learning_rate=0.001), or check the data for extreme values",
    )


def _train_epoch(
    net: Autoencoder,
    loss_fn: ReconstructionLoss,
    kind: Kind,
    config: FitConfig,
    optimizer: torch.optim.Optimizer,
    train_rows: Batch | RowSource,
    batch_size: int,
    generator: torch.Generator,
    epoch: int,
) -> dict[str, float]:
    """One pass over the training rows: mean reconstruction loss (and raw penalty) per row."""
    net.train()
    total, penalty_total, seen = 0.0, 0.0, 0
    for batch in train_rows.batches(batch_size, generator):
        clean = batch.inputs
        noisy = (
            Corrupted(clean, None, None)
            if kind.corrupt is None
            else kind.corrupt(clean, loss_fn.input_column, config, generator, loss_fn.input_indicator)
        )
        output = net(noisy.inputs, sample=True, hidden=noisy.hidden)
        recon_loss = loss_fn(
            output.recon,
            clean,
            batch.observed,
            batch.targets,
            trim=config.trim,
            exact=False,
            weights=noisy.weights,
        ).mean()
        loss = recon_loss
        if kind.penalty is not None:
            weighted, raw_penalty = kind.penalty(net, output, clean, config, epoch, loss_fn.n_columns)
            loss = recon_loss + weighted
            penalty_total += float(raw_penalty.detach()) * len(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(recon_loss.detach()) * len(batch)
        seen += len(batch)
    record = {"train_loss": total / max(seen, 1)}
    if kind.penalty_name is not None:
        record[kind.penalty_name] = penalty_total / max(seen, 1)
    return record


@torch.no_grad()
def _solve(
    solve: Solver,
    net: Autoencoder,
    loss_fn: ReconstructionLoss,
    train_rows: Batch | RowSource,
    valid_rows: Batch | None,
    batch_size: int,
    on_epoch: EpochCallback | None,
) -> History:
    """Set the weights in closed form, then record the training error: two passes over the rows."""
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(0)  # batch order does not change the solution
    solve(net, loss_fn, (batch.inputs for batch in train_rows.batches(batch_size, generator)))
    net.eval()
    total, seen = 0.0, 0
    for batch in train_rows.batches(batch_size, generator):
        total += float(loss_fn(net(batch.inputs).recon, batch.inputs, batch.observed, batch.targets).sum())
        seen += len(batch)
    record = {"epoch": 1.0, "train_loss": total / max(seen, 1)}
    if valid_rows is not None and len(valid_rows):
        record["valid_loss"] = evaluate(net, loss_fn, valid_rows)
    record["seconds"] = time.perf_counter() - started
    if on_epoch is not None:
        on_epoch(1, record)
    return History(epochs=[record], best_epoch=1, stopped_because="closed_form", seconds=record["seconds"])


def _adam(net: Autoencoder, config: FitConfig) -> torch.optim.Optimizer:
    # Fused Adam removes most of the per-step optimiser overhead (+30% at small batches).
    params = list(net.parameters())
    try:
        return torch.optim.Adam(params, lr=config.learning_rate, weight_decay=config.weight_decay, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=config.learning_rate, weight_decay=config.weight_decay)


def _copy_state(net: Autoencoder) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in net.state_dict().items()}


@dataclass
class TrainState:
    """Everything that decides the rest of a training run, taken after an epoch."""

    epoch: int  # the last finished epoch
    net: dict[str, torch.Tensor]
    adam: dict[int, dict[str, torch.Tensor]]  # optimiser state per parameter index
    generator: torch.Tensor  # shuffling and noise generator
    rng: torch.Tensor  # torch's global generator (VAE sampling)
    cuda_rng: torch.Tensor | None
    best_net: dict[str, torch.Tensor]
    best_loss: float
    waited: int
    epochs: list[dict[str, float]]
    best_epoch: int
    elapsed: float

    @classmethod
    def capture(
        cls,
        epoch: int,
        net: Autoencoder,
        optimizer: torch.optim.Optimizer,
        generator: torch.Generator,
        best_net: dict[str, torch.Tensor],
        best_loss: float,
        waited: int,
        history: History,
        elapsed: float,
    ) -> TrainState:
        """Copy the training state (tensors to the CPU)."""
        cuda = next(net.parameters()).is_cuda
        moments = optimizer.state_dict()["state"].items()
        adam = {int(i): {k: v.detach().cpu().clone() for k, v in state.items()} for i, state in moments}
        return cls(
            epoch=epoch,
            net={k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
            adam=adam,
            generator=generator.get_state(),
            rng=torch.get_rng_state(),
            cuda_rng=torch.cuda.get_rng_state() if cuda else None,
            best_net={k: v.detach().cpu().clone() for k, v in best_net.items()},
            best_loss=best_loss,
            waited=waited,
            epochs=[dict(record) for record in history.epochs],
            best_epoch=history.best_epoch,
            elapsed=elapsed,
        )

    def restore(
        self, net: Autoencoder, optimizer: torch.optim.Optimizer, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """Put the state back into a fresh network, optimiser and generator; return the best weights."""
        device = next(net.parameters()).device
        net.load_state_dict(self.net, strict=True)
        groups = optimizer.state_dict()["param_groups"]  # the rebuilt optimiser's settings, same config
        optimizer.load_state_dict({"state": self.adam, "param_groups": groups})
        generator.set_state(self.generator)
        torch.set_rng_state(self.rng)
        if self.cuda_rng is not None and device.type == "cuda":
            torch.cuda.set_rng_state(self.cuda_rng)
        return {k: v.to(device) for k, v in self.best_net.items()}

"""The one fit pipeline: rows -> preprocessing -> split -> tensors -> train -> calibrate -> model.

Every way of fitting goes through these steps: :func:`aefeatures.fit` (in memory, sampled or
streamed from Parquet), :func:`aefeatures.distributed.fit_distributed` (each DDP rank),
:func:`aefeatures.explore.compare.compare` (each candidate) and the scikit-learn adapter. What
differs is where the rows come from, a :class:`~aefeatures.fitting.rows.FitRows` built by a
source of :mod:`aefeatures.fitting.sources`, and the hooks of :class:`FitHooks` (progress, checkpoints,
data-parallel training), never a copy of the sequence.

Examples
--------
>>> import polars as pl
>>> from aefeatures.fitting.sources import fit_config, frame_rows
>>> df = pl.DataFrame({"x": [float(i % 5) for i in range(60)], "y": [float(i % 3) for i in range(60)]})
>>> config = fit_config({"epochs": 2, "threads": 1})
>>> fit_rows(frame_rows(df, config), config).columns
['x', 'y']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl
import torch
from torch import nn

from aefeatures.config import FitConfig, resolve_batch_size, resolve_sizes
from aefeatures.devices import resolve_device, set_threads
from aefeatures.features.preprocessor import Encoded, Preprocessor
from aefeatures.fitting.calibrate import fitted_model
from aefeatures.fitting.checkpoint import Checkpoint, fit_fingerprint, training_hooks
from aefeatures.fitting.rows import Batch, FitRows, RowSource, split_rows
from aefeatures.fitting.training import EpochCallback, TrainState, train
from aefeatures.model.fitted_model import AutoencoderModel
from aefeatures.model.segments import check_segment_by
from aefeatures.model.validation import rows_of
from aefeatures.nn.gaussian_fit import start_at_gaussian
from aefeatures.nn.kinds.pca import start_at_pca
from aefeatures.nn.losses import ReconstructionLoss
from aefeatures.nn.network import Autoencoder


class DataParallel(Protocol):
    """What data-parallel training changes in a fit (:mod:`aefeatures.fitting.distributed`)."""

    rank: int
    world: int
    device: torch.device

    def equal_counts(self, n_train: int, n_valid: int) -> tuple[int, int]:
        """The row counts every rank uses: equal steps on every rank, as DDP needs."""
        ...

    def wrap(self, net: Autoencoder) -> nn.Module:
        """The network as training sees it (wrapped in ``DistributedDataParallel``)."""
        ...

    def sync(self, record: dict[str, float]) -> dict[str, float]:
        """An epoch's local record made global, so every rank stops at the same epoch."""
        ...

    def fingerprint(self, local: dict[str, Any]) -> dict[str, Any]:
        """One checkpoint fingerprint for all ranks, from each rank's own."""
        ...

    def check_in_sync(self, net: Autoencoder) -> None:
        """Fail unless every rank ended with the same weights."""
        ...


@dataclass
class FitHooks:
    """How a fit reports, checkpoints and trains in parallel; the defaults do none of it."""

    on_epoch: EpochCallback | None = None
    checkpoint: str | Path | Checkpoint | None = None
    resume: bool = False
    parallel: DataParallel | None = None
    continue_from: TrainState | None = None  # an in-memory pause (compare's rungs), not a checkpoint
    pause_after: int | None = None  # stop after this epoch, resumable (see ``train``)


@dataclass
class Prepared:
    """Rows preprocessed and split once, as tensors on the training device."""

    rows: FitRows
    preprocessor: Preprocessor
    encoded: Encoded
    loss_fn: ReconstructionLoss
    train_rows: Batch | RowSource
    n_train: int
    valid_rows: Batch | None
    device: torch.device
    valid_index: np.ndarray  # positions of the validation rows in ``encoded``

    def valid_encoded(self) -> Encoded:
        """The validation rows, encoded (what ``compare``, ``info`` and the report score)."""
        return rows_of(self.encoded, self.valid_index)


@dataclass
class Trained:
    """A trained network and its training record."""

    net: Autoencoder
    history: dict[str, Any]
    paused: TrainState | None = None  # set when training paused and can continue


def fit_rows(rows: FitRows, config: FitConfig, hooks: FitHooks | None = None) -> AutoencoderModel:
    """Prepare, train and calibrate: the whole fit of one model on ``rows``."""
    hooks = hooks or FitHooks()
    prepared = prepare(rows, config, hooks.parallel)
    return finish(prepared, config, train_prepared(prepared, config, hooks))


def prepare(rows: FitRows, config: FitConfig, parallel: DataParallel | None = None) -> Prepared:
    """Learn (or take) the preprocessing, encode, split, and put the rows on the device."""
    set_threads(config.threads)
    device = parallel.device if parallel is not None else resolve_device(config.device)
    preprocessor = rows.preprocessor or Preprocessor.fit(
        rows.features, max_levels=config.max_levels, min_level_count=config.min_level_count
    )
    if config.segment_by is not None:  # refused before training, not after
        calibration = rows.features if rows.calibration is None else rows.calibration
        check_segment_by(config.segment_by, preprocessor.columns, calibration)
    encoded = preprocessor.encode(rows.features)
    rank = parallel.rank if parallel is not None else 0
    train_index, valid_index = split_rows(encoded.n_rows, config.validation_fraction, config.seed + rank)
    if parallel is not None:
        n_train, n_valid = parallel.equal_counts(train_index.size, valid_index.size)
        train_index, valid_index = train_index[:n_train], valid_index[:n_valid]
    tensors = Batch.from_encoded(encoded, device)
    valid = tensors.take(torch.from_numpy(valid_index).to(device)) if valid_index.size else None
    training = (
        tensors.take(torch.from_numpy(train_index).to(device))
        if rows.stream is None
        else rows.stream(preprocessor, valid_index, device)
    )
    return Prepared(
        rows=rows,
        preprocessor=preprocessor,
        encoded=encoded,
        loss_fn=reconstruction_loss(preprocessor, device),
        train_rows=training,
        n_train=int(train_index.size),
        valid_rows=valid,
        device=device,
        valid_index=valid_index,
    )


def train_prepared(prepared: Prepared, config: FitConfig, hooks: FitHooks | None = None) -> Trained:
    """Train one network of ``config`` on prepared rows (compare trains many on the same rows)."""
    hooks = hooks or FitHooks()
    parallel = hooks.parallel
    world = parallel.world if parallel is not None else 1
    net = new_network(config, prepared.preprocessor, prepared.device)
    batch_size = resolve_batch_size(config, prepared.n_train * world)
    fingerprint = (
        fit_fingerprint(config, net.config, prepared.encoded) if hooks.checkpoint is not None else {}
    )
    if parallel is not None and hooks.checkpoint is not None:
        fingerprint = parallel.fingerprint(fingerprint)
    writer = parallel is None or parallel.rank == 0  # every DDP rank holds the same state
    state, on_checkpoint = training_hooks(hooks.checkpoint, hooks.resume, fingerprint, write=writer)
    state = hooks.continue_from or state
    if net.config.linear_path and state is None:  # a resumed fit restores its linear path
        batches = prepared.train_rows.batches(batch_size, torch.Generator().manual_seed(0))
        start_at_pca(net, prepared.loss_fn, (batch.inputs for batch in batches))
    if net.gaussian is not None and state is None:  # a resumed fit restores its Gaussian
        batches = prepared.train_rows.batches(batch_size, torch.Generator().manual_seed(0))
        rows = ((b.inputs, b.observed) for b in batches)
        start_at_gaussian(net.gaussian, prepared.loss_fn, rows, most=config.applied().gaussian_components)
        net.output_layer.weight.data.zero_()  # the fill of a hole starts at the Gaussian's
        net.output_layer.bias.data.zero_()
    history = train(
        parallel.wrap(net) if parallel is not None else net,  # type: ignore[arg-type]
        prepared.loss_fn,
        prepared.train_rows,
        prepared.valid_rows,
        config,
        max(1, batch_size // world),  # a step sees batch_size rows over all ranks together
        hooks.on_epoch,
        resume=state,
        on_checkpoint=on_checkpoint,
        sync=parallel.sync if parallel is not None else None,
        pause_after=hooks.pause_after,
    )
    record = {**history.to_dict(), "batch_size": batch_size, "device": str(prepared.device)}
    if parallel is not None:
        parallel.check_in_sync(net)
        record["world_size"] = world
    return Trained(net, record, history.paused)


def finish(prepared: Prepared, config: FitConfig, trained: Trained) -> AutoencoderModel:
    """The fitted model: threshold, percentiles and metadata calibrated on the rows' calibration set.

    The model keeps only the settings its kind used (:meth:`FitConfig.applied`): a goal's
    ``trim`` under ``pca``, say, had no effect and is not recorded as if it had.
    """
    rows = prepared.rows
    features, encoded = calibration_rows(prepared)
    # the validation rows among the calibration rows, when they are the same rows (drift's rows line)
    holdout = prepared.valid_index if rows.calibration is None else None
    return fitted_model(
        config.applied(),
        trained.net,
        prepared.preprocessor,
        features,
        encoded,
        rows.schema,
        trained.history,
        facts=rows.facts,
        missing_rates=rows.missing_rates,
        holdout=holdout,
        valid=prepared.valid_encoded(),
    )


def calibration_rows(prepared: Prepared) -> tuple[pl.DataFrame, Encoded]:
    """The rows a model's error scales, threshold and percentiles are calibrated on, and their encoding:
    every row read (training and validation), or the source's calibration sample."""
    rows = prepared.rows
    if rows.calibration is None:
        return rows.features, prepared.encoded
    return rows.calibration, prepared.preprocessor.encode(rows.calibration)


def new_network(config: FitConfig, preprocessor: Preprocessor, device: torch.device) -> Autoencoder:
    """A network sized for ``preprocessor``, its weights drawn from ``config.seed``.

    Every fit starts here, so the same seed gives the same initial weights everywhere.
    """
    torch.manual_seed(config.seed)
    values = sum(term.width for term in preprocessor.terms if not term.is_indicator)
    sizes = resolve_sizes(config, preprocessor.n_inputs, len(preprocessor.specs), values)
    return Autoencoder(sizes).to(device)


def reconstruction_loss(preprocessor: Preprocessor, device: torch.device) -> ReconstructionLoss:
    """The training loss of ``preprocessor``'s loss terms, normalised by its baselines."""
    return ReconstructionLoss(preprocessor.terms, preprocessor.baselines, len(preprocessor.specs)).to(device)

"""The public entry points: :func:`fit` and :func:`load`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandera.polars as pa
import polars as pl
import torch

from aefeatures.config import FitConfig, resolve_batch_size
from aefeatures.features.preprocessor import Preprocessor, select_features
from aefeatures.fitting.calibrate import (
    fit_config,
    fitted_model,
    new_network,
    reconstruction_loss,
    require_fit_rows,
)
from aefeatures.fitting.checkpoint import Checkpoint, fit_fingerprint, training_hooks
from aefeatures.fitting.devices import resolve_device, set_threads
from aefeatures.fitting.rows import Batch, split_rows
from aefeatures.fitting.sampling import SourceFactory, fit_parquet, limit_rows, should_stream
from aefeatures.fitting.training import EpochCallback, train
from aefeatures.io.parquet import ParquetSource
from aefeatures.io.sources import DataLike, is_path, read_frame
from aefeatures.model.files import load_model
from aefeatures.model.fitted_model import AutoencoderModel
from aefeatures.schema.schemas import infer_schema, load_schema_file, validate


def fit(
    data: DataLike,
    *,
    schema: str | Path | pa.DataFrameSchema | None = None,
    on_epoch: EpochCallback | None = None,
    checkpoint: str | Path | Checkpoint | None = None,
    resume: bool = False,
    stream: bool | None = None,
    sample: int | None = None,
    max_rows: int | None = None,
    **params: Any,
) -> AutoencoderModel:
    """Train an autoencoder on tabular data and return the fitted model.

    Parameters
    ----------
    data
        Parquet path (file, directory or glob), polars DataFrame/LazyFrame, pandas
        DataFrame or pyarrow Table.
    schema
        A pandera schema, or a YAML/JSON/Python file holding one; inferred when omitted.
    on_epoch
        Called after each epoch with the epoch number and its losses.
    checkpoint
        Directory (or :class:`~aefeatures.fitting.checkpoint.Checkpoint`) where training state is
        saved after epochs; it is kept after fit, delete it once the model is saved.
    resume
        Continue from ``checkpoint`` if it holds one (same data and parameters required):
        the result equals an uninterrupted fit bit for bit on the same device and threads.
    stream
        For Parquet paths: train every epoch on rows read from disk, with preprocessing
        learned from a uniform sample (:mod:`aefeatures.fitting.sampling`); ``None`` streams when the
        data would not fit comfortably in memory.
    sample, max_rows
        Fit on a uniform random sample of ``sample`` rows, or on the first ``max_rows`` rows
        (with ``stream``, ``sample`` sizes the statistics sample instead).
    **params
        Any field of :class:`~aefeatures.config.FitConfig` (``kind``, ``latent_dim``,
        ``hidden``, ``epochs``, ``seed``, ``columns``, ``exclude``, ``device``, ...).

    Examples
    --------
    >>> import aefeatures as aef, polars as pl
    >>> df = pl.DataFrame({"x": [float(i % 5) for i in range(100)], "id": list(range(100))})
    >>> model = aef.fit(df, exclude=["id"], epochs=3, seed=1)
    >>> model.columns
    ['x']
    """
    config = fit_config(params)
    if is_path(data) and (
        stream or sample or max_rows or stream is None and should_stream(ParquetSource.open(data))
    ):
        return fit_parquet(
            data,
            config,
            schema,
            on_epoch,
            stream=stream,
            sample=sample,
            max_rows=max_rows,
            checkpoint=checkpoint,
            resume=resume,
        )
    frame = limit_rows(read_frame(data), sample, max_rows, config.seed)
    require_fit_rows(frame.height)
    features = select_features(frame.schema, config.columns, config.exclude)
    user_schema = load_schema_file(schema) if isinstance(schema, (str, Path)) else schema
    chosen_schema = user_schema if user_schema is not None else infer_schema(frame, features)
    return fit_frame(
        validate(frame, chosen_schema).select(features),
        config,
        chosen_schema,
        on_epoch,
        checkpoint=checkpoint,
        resume=resume,
    )


def fit_frame(
    features: pl.DataFrame,
    config: FitConfig,
    schema: pa.DataFrameSchema,
    on_epoch: EpochCallback | None = None,
    *,
    checkpoint: str | Path | Checkpoint | None = None,
    resume: bool = False,
    train_source: SourceFactory | None = None,
) -> AutoencoderModel:
    """Fit on a frame holding exactly the feature columns, already validated.

    ``train_source`` builds the training rows from the preprocessing and the validation
    positions in ``features`` (streaming fit); by default the other rows of ``features`` train.
    """
    set_threads(config.threads)
    device = resolve_device(config.device)
    preprocessor = Preprocessor.fit(
        features, max_levels=config.max_levels, min_level_count=config.min_level_count
    )
    encoded = preprocessor.encode(features)
    net, loss_fn = new_network(config, preprocessor, device), reconstruction_loss(preprocessor, device)
    train_index, valid_index = split_rows(encoded.n_rows, config.validation_fraction, config.seed)
    rows = Batch.from_encoded(encoded, device)
    valid = rows.take(torch.from_numpy(valid_index).to(device)) if valid_index.size else None
    batch_size = resolve_batch_size(config, train_index.size)
    fingerprint = fit_fingerprint(config, net.config, encoded) if checkpoint is not None else {}
    state, on_checkpoint = training_hooks(checkpoint, resume, fingerprint)
    train_rows = (
        rows.take(torch.from_numpy(train_index).to(device))
        if train_source is None
        else train_source(preprocessor, valid_index, device)
    )
    history = train(
        net,
        loss_fn,
        train_rows,
        valid,
        config,
        batch_size,
        on_epoch,
        resume=state,
        on_checkpoint=on_checkpoint,
    )
    record = {**history.to_dict(), "batch_size": batch_size, "device": str(device)}
    return fitted_model(config, net, preprocessor, features, encoded, schema, record)


def load(path: str | Path, *, device: str = "auto") -> AutoencoderModel:
    """Load a model directory written by :meth:`AutoencoderModel.save` or ``aefeatures fit``.

    Examples
    --------
    >>> import aefeatures as aef
    >>> aef.load("no/such/model")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    aefeatures.errors.ModelFileError: 'no/such/model' is not a model directory
    """
    return load_model(path, device=device)

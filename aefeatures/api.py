"""The public entry points: :func:`fit` and :func:`load`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandera.polars as pa

from aefeatures.errors import InfiniteValuesError
from aefeatures.fitting.checkpoint import Checkpoint
from aefeatures.fitting.pipeline import FitHooks, fit_rows
from aefeatures.fitting.sources import data_rows, fit_config
from aefeatures.fitting.training import EpochCallback
from aefeatures.io.sources import DataLike, first_infinite, is_path
from aefeatures.model.fitted_model import AutoencoderModel


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
        (with ``stream``, ``sample`` sizes the statistics sample instead: at least 20 rows).
    **params
        Any field of :class:`~aefeatures.config.FitConfig` (``kind``, ``latent_dim``,
        ``hidden``, ``epochs``, ``seed``, ``columns``, ``exclude``, ``device``, ...), and
        ``goal``: ``"outliers"`` (the default, for ``ae_error`` as an outlier score),
        ``"features"`` (for ``ae_z*`` in a downstream model) or ``"reconstruction"`` (for the
        smallest reconstruction error), each standing for the settings in
        :data:`~aefeatures.goals.GOALS`; settings given explicitly win over the goal's.

    Examples
    --------
    >>> import aefeatures as aef, polars as pl
    >>> df = pl.DataFrame({"x": [float(i % 5) for i in range(100)], "id": list(range(100))})
    >>> model = aef.fit(df, exclude=["id"], epochs=3, seed=1)
    >>> model.columns
    ['x']
    """
    config = fit_config(params)
    try:
        rows = data_rows(data, config, schema, stream=stream, sample=sample, max_rows=max_rows)
        return fit_rows(rows, config, FitHooks(on_epoch, checkpoint, resume))
    except InfiniteValuesError as exc:  # found in a sample or a streamed batch: say where in the files
        found = first_infinite(data, exc.column) if is_path(data) else None
        if found is None:
            raise
        raise exc.in_file(*found) from exc


def load(path: str | Path, *, device: str = "auto") -> AutoencoderModel:
    """Load a model directory written by :meth:`AutoencoderModel.save` or ``aefeatures fit``.

    Examples
    --------
    >>> import aefeatures as aef
    >>> aef.load("no/such/model")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    aefeatures.errors.ModelFileError: 'no/such/model' is not a model directory
    """
    return AutoencoderModel.load(path, device=device)

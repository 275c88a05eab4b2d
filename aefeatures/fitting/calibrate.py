"""What every fit path shares: its parameters, its minimum data, and the fitted model it returns.

:func:`aefeatures.fit` (in memory or streamed) and :func:`aefeatures.fitting.distributed.fit_distributed`
train differently, then both hand the trained network to :func:`fitted_model`, which calibrates
the outlier threshold and records the metadata saved beside the weights.
"""

from __future__ import annotations

import hashlib
import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pandera.polars as pa
import polars as pl
import torch

from aefeatures.config import FitConfig, resolve_sizes
from aefeatures.errors import ConfigError, DataError
from aefeatures.features.preprocessor import Encoded, Preprocessor
from aefeatures.model.fitted_model import AutoencoderModel
from aefeatures.model.scoring import Calibration, calibrated_scores
from aefeatures.nn.losses import ReconstructionLoss
from aefeatures.nn.network import Autoencoder
from aefeatures.report.html import summarize_fit
from aefeatures.schema.drift import training_statistics

MIN_FIT_ROWS = 2  # one row has no spread: every scale and the outlier threshold would be arbitrary


def fit_config(params: dict[str, Any]) -> FitConfig:
    """A validated :class:`FitConfig` from keyword parameters (sequences become tuples)."""
    for key in ("columns", "exclude", "hidden"):
        if params.get(key) is not None:
            params[key] = tuple(params[key])
    try:
        config = FitConfig(**params)
    except TypeError as exc:
        raise ConfigError(
            f"unknown fit parameter: {exc}", hint="see aefeatures.FitConfig for the allowed names"
        ) from exc
    return config.validate()


def require_fit_rows(rows: int) -> None:
    """Refuse training data with fewer than :data:`MIN_FIT_ROWS` rows."""
    if rows < MIN_FIT_ROWS:
        raise DataError(
            f"the training data has {rows} row(s); fit needs at least {MIN_FIT_ROWS}.",
            hint="check the input path or filter; a model learns nothing about spread from one row",
        )


def new_network(config: FitConfig, preprocessor: Preprocessor, device: torch.device) -> Autoencoder:
    """A network sized for ``preprocessor``, its weights drawn from ``config.seed``.

    Every fit path starts here, so the same seed gives the same initial weights everywhere.
    """
    torch.manual_seed(config.seed)
    return Autoencoder(resolve_sizes(config, preprocessor.n_inputs, len(preprocessor.specs))).to(device)


def reconstruction_loss(preprocessor: Preprocessor, device: torch.device) -> ReconstructionLoss:
    """The training loss of ``preprocessor``'s loss terms, normalised by its baselines."""
    return ReconstructionLoss(preprocessor.terms, preprocessor.baselines, len(preprocessor.specs)).to(device)


def fitted_model(
    config: FitConfig,
    net: Autoencoder,
    preprocessor: Preprocessor,
    features: pl.DataFrame,
    encoded: Encoded,
    schema: pa.DataFrameSchema,
    history: dict[str, Any],
) -> AutoencoderModel:
    """The model around a trained ``net``, calibrated on ``features`` (encoded as ``encoded``).

    The threshold, percentiles, per-column error scales, drift statistics and report summaries
    all come from these rows; ``history`` is the training record to store.
    """
    preprocessor, scores = calibrated_scores(net, preprocessor, encoded)
    calibration = Calibration.from_errors(scores.errors, config.contamination)
    metadata = {
        "history": history,
        "fingerprint": data_fingerprint(features, encoded),
        "versions": versions(),
        "drift": training_statistics(features, preprocessor.specs),
        "report": summarize_fit(scores, preprocessor.columns, calibration.threshold, config.seed),
    }
    return AutoencoderModel(
        config=config,
        net_config=net.config,
        preprocessor=preprocessor,
        net=net,
        schema=schema,
        calibration=calibration,
        metadata=metadata,
    )


def data_fingerprint(features: pl.DataFrame, encoded: Encoded) -> dict[str, Any]:
    """Rows, column types and a hash of the encoded inputs the model was calibrated on."""
    return {
        "rows": features.height,
        "columns": {name: str(dtype) for name, dtype in features.schema.items()},
        "inputs_sha256": hashlib.sha256(encoded.inputs.tobytes()).hexdigest(),
    }


def versions() -> dict[str, str]:
    """Versions of Python and of the packages a fit depends on."""
    found = {"python": platform.python_version()}
    for package in ("aefeatures", "torch", "polars", "pyarrow", "pandera", "numpy"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "unknown"
    return found

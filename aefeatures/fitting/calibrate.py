"""The last step of a fit: a trained network becomes a calibrated :class:`AutoencoderModel`.

:func:`fitted_model` sets the outlier threshold and the error percentiles from the calibration
rows and records the metadata saved beside the weights (training history, data fingerprint,
versions, drift statistics, the report's summaries).
"""

from __future__ import annotations

import hashlib
import logging
import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import pandera.polars as pa
import polars as pl

from aefeatures.config import FitConfig
from aefeatures.features.preprocessor import Encoded, Preprocessor
from aefeatures.fitting.variation import constant_columns_warning, tied_errors_warning
from aefeatures.model.fitted_model import AutoencoderModel
from aefeatures.model.generation import GenerationState
from aefeatures.model.scoring import Calibration, calibrated_scores
from aefeatures.model.segments import Segments
from aefeatures.model.summary import outlying_rows, summarize_fit
from aefeatures.model.validation import validation_summary
from aefeatures.nn.network import Autoencoder
from aefeatures.schema.drift import error_statistics, training_statistics

log = logging.getLogger("aefeatures")


def fitted_model(
    config: FitConfig,
    net: Autoencoder,
    preprocessor: Preprocessor,
    features: pl.DataFrame,
    encoded: Encoded,
    schema: pa.DataFrameSchema,
    history: dict[str, Any],
    *,
    facts: dict[str, Any] | None = None,
    missing_rates: dict[str, float] | None = None,
    holdout: np.ndarray | None = None,
    valid: Encoded | None = None,
) -> AutoencoderModel:
    """The model around a trained ``net``, calibrated on ``features`` (encoded as ``encoded``).

    The threshold, percentiles, per-column error scales, drift statistics and report summaries
    all come from these rows (constant columns and tied errors are warned about,
    :mod:`aefeatures.fitting.variation`); ``history`` is the training record to store. ``facts`` (the
    source's row count, say) and ``missing_rates`` come from the whole source when these rows
    are a sample of it. ``holdout`` indexes the rows the network did not train on (validation):
    their errors are what drift compares a batch's ``ae_error`` with. ``valid`` are the validation
    rows, whose mean ``ae_error`` is stored (``report.validation``, see
    :func:`~aefeatures.model.validation.validation_summary`).
    """
    preprocessor, scores = calibrated_scores(net, preprocessor, encoded, recon=True)
    calibration = Calibration.from_errors(scores.errors, config.contamination)
    for warning in (
        constant_columns_warning(features),
        tied_errors_warning(features, scores.errors, calibration.percentile),
    ):
        if warning is not None:
            log.warning("%s", warning)
    drift = training_statistics(features, preprocessor.specs)
    for name, rate in (missing_rates or {}).items():
        drift["columns"][name]["missing_rate"] = rate
    reference = error_statistics(scores.errors[holdout]) if holdout is not None else None
    if reference is not None:
        drift["errors"] = reference
    assert scores.recon is not None
    generation = GenerationState.learn(
        net, preprocessor, encoded, scores.recon, scores.codes, prior=net.variational, seed=config.seed
    )
    if config.segment_by is not None:
        segments = Segments.learn(
            config.segment_by, features, preprocessor.specs, scores.errors, config.contamination, holdout
        )
    report = summarize_fit(scores, preprocessor.columns, calibration.threshold, config.seed)
    report["outlying_rows"] = outlying_rows(features, preprocessor, scores)
    if valid is not None:
        report["validation"] = validation_summary(net, preprocessor, valid)
    metadata = {
        "history": history,
        "fingerprint": {**data_fingerprint(features, encoded), **(facts or {})},
        "versions": versions(),
        "drift": drift,
        "report": report,
        "generation": generation.to_dict(),
    }
    if config.segment_by is not None:
        metadata["segments"] = segments.to_dict()
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

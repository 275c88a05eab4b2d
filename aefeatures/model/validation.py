"""The one number that says how well a model reconstructs rows it never trained on.

``mean ae_error`` of the validation rows, scored exactly as ``transform`` scores a row
(:func:`~aefeatures.model.scoring.score_rows` with the model's calibrated preprocessing): the
figure ``compare``, ``info`` and the report show. Its definition is documented once, in
docs/features.md ("What ae_error means").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aefeatures.features.preprocessor import Encoded, Preprocessor
from aefeatures.model.scoring import score_rows
from aefeatures.nn.losses import ReconstructionLoss
from aefeatures.nn.network import Autoencoder


def rows_of(encoded: Encoded, index: np.ndarray) -> Encoded:
    """The rows ``index`` of ``encoded`` (the validation rows of a split, say)."""
    return Encoded(
        inputs=encoded.inputs[index], observed=encoded.observed[index], targets=encoded.targets[index]
    )


def ae_errors(net: Autoencoder, preprocessor: Preprocessor, encoded: Encoded) -> np.ndarray:
    """Each row's ``ae_error`` as ``transform`` computes it.

    ``preprocessor`` is the model's own, with its error scales (what
    :func:`~aefeatures.model.scoring.calibrated_scores` returns and the model directory stores).
    """
    device = next(net.parameters()).device
    loss_fn = ReconstructionLoss(preprocessor.terms, preprocessor.baselines, len(preprocessor.specs)).to(
        device
    )
    return score_rows(net, loss_fn, preprocessor.terms, encoded, column_errors=False).errors


def validation_summary(net: Autoencoder, preprocessor: Preprocessor, valid: Encoded) -> dict[str, Any]:
    """``{"rows": n, "mean_ae_error": x}`` of the validation rows (``x`` is ``None`` without any).

    Stored in the manifest at fit (``report.validation``) for ``info`` and the report; ``compare``
    computes the same for each candidate.

    >>> import polars as pl, aefeatures as aef
    >>> from aefeatures.fitting.sources import fit_config, frame_rows
    >>> from aefeatures.fitting.pipeline import prepare, train_prepared, calibration_rows
    >>> from aefeatures.model.scoring import calibrated_scores
    >>> df = pl.DataFrame({"a": [float(i % 7) for i in range(100)], "b": [float(i % 5) for i in range(100)]})
    >>> config = fit_config({"epochs": 2, "threads": 1})
    >>> prepared = prepare(frame_rows(df, config), config)
    >>> net = train_prepared(prepared, config).net
    >>> calibrated, _ = calibrated_scores(net, prepared.preprocessor, calibration_rows(prepared)[1])
    >>> validation_summary(net, calibrated, prepared.valid_encoded())["rows"]
    10
    """
    if not valid.n_rows:
        return {"rows": 0, "mean_ae_error": None}
    return {"rows": valid.n_rows, "mean_ae_error": float(ae_errors(net, preprocessor, valid).mean())}


def stored_validation(metadata: dict[str, Any]) -> dict[str, Any]:
    """The validation rows as a model's metadata records them: their count and mean ``ae_error``
    (``None`` in a model fitted before it was stored) and the training loss of the kept epoch on them
    (of the starting weights, when training kept its closed-form start: ``start_loss``).

    >>> history = {"epochs": [{"epoch": 1, "valid_loss": 0.2}, {"epoch": 2, "valid_loss": 0.1}], "best_epoch": 2}
    >>> stored_validation({"history": history, "report": {"validation": {"rows": 30, "mean_ae_error": 1.4}}})
    {'rows': 30, 'mean_ae_error': 1.4, 'valid_loss': 0.1}
    >>> stored_validation({"history": {**history, "best_epoch": 0, "start_loss": 0.05}})["valid_loss"]
    0.05
    """
    history = metadata.get("history", {})
    best = [e for e in history.get("epochs", []) if e.get("epoch") == history.get("best_epoch")]
    stored = metadata.get("report", {}).get("validation", {})
    return {
        "rows": stored.get("rows"),
        "mean_ae_error": stored.get("mean_ae_error"),
        "valid_loss": best[0].get("valid_loss") if best else history.get("start_loss"),
    }

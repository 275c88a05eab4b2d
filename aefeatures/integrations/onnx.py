"""ONNX export: the encoder, decoder and error computation, without preprocessing.

The graph takes what :meth:`aefeatures.features.preprocessor.Preprocessor.encode` produces and gives
what ``transform`` appends before calibration:

==================  =====================  ================================================
name                type, shape            meaning
==================  =====================  ================================================
``inputs``          float32 (rows, D)      encoded feature matrix
``observed``        bool (rows, C)         False where a feature column's cell is missing
``targets``         int64 (rows, K)        level index of each column whose type has a
                                           target (categorical), -1 if missing (absent
                                           when there are none)
``codes``           float32 (rows, k)      ``ae_z*`` embedding (VAE: the mean)
``column_errors``   float32 (rows, C)      ``ae_error__<column>``
``errors``          float32 (rows,)        ``ae_error``
==================  =====================  ================================================

The model's feature columns, preprocessing state, threshold and error quantiles travel in
the ONNX ``metadata_props`` (JSON text under ``aefeatures.*`` keys), so a consumer can
encode rows and compute ``ae_error_pct`` / ``ae_outlier`` itself.
"""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from aefeatures.errors import ConfigError
from aefeatures.io.sinks import atomic_path
from aefeatures.nn.losses import ReconstructionLoss, row_errors
from aefeatures.nn.network import Autoencoder

if TYPE_CHECKING:
    from aefeatures.model.fitted_model import AutoencoderModel

OPSET = 17
INPUT_NAMES = ("inputs", "observed", "targets")
OUTPUT_NAMES = ("codes", "column_errors", "errors")


class ScoringGraph(nn.Module):
    """Network plus reconstruction loss: encoded rows in, codes and errors out."""

    def __init__(self, net: Autoencoder, loss_fn: ReconstructionLoss) -> None:
        super().__init__()
        self.net = net
        self.loss_fn = loss_fn

    def forward(
        self, inputs: torch.Tensor, observed: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Codes (B, k), per-column errors (B, C) and row errors (B,)."""
        output = self.net(inputs)
        per_column, counts = self.loss_fn.column_errors(output.recon, inputs, observed, targets)
        return output.code, per_column, row_errors(per_column, counts)


def export_onnx(model: AutoencoderModel, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``model``'s scoring graph as an ONNX file, atomically.

    Examples
    --------
    >>> import aefeatures as aef, polars as pl, tempfile, onnxruntime
    >>> df = pl.DataFrame({"a": [float(i % 7) for i in range(200)], "b": [str(i % 3) for i in range(200)]})
    >>> model = aef.fit(df, epochs=2, threads=1)
    >>> path = export_onnx(model, tempfile.mkdtemp() + "/model.onnx")
    >>> [i.name for i in onnxruntime.InferenceSession(path).get_inputs()]
    ['inputs', 'observed', 'targets']
    """
    onnx = _require_onnx()
    graph = ScoringGraph(copy.deepcopy(model.net).cpu().eval(), copy.deepcopy(model.loss_fn).cpu())
    example = (
        torch.zeros(2, model.preprocessor.n_inputs),
        torch.ones(2, len(model.columns), dtype=torch.bool),
        torch.zeros(2, model.preprocessor.n_targets, dtype=torch.long),
    )
    with atomic_path(path, overwrite, kind="onnx") as temporary, warnings.catch_warnings():
        # torch 2.13 calls the TorchScript exporter "legacy"; it needs no onnxscript and works offline.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            example,
            str(temporary),
            dynamo=False,
            input_names=list(INPUT_NAMES),
            output_names=list(OUTPUT_NAMES),
            dynamic_axes={name: {0: "rows"} for name in (*INPUT_NAMES, *OUTPUT_NAMES)},
            opset_version=OPSET,
        )
        proto = onnx.load(str(temporary))
        onnx.helper.set_model_props(
            proto, {f"aefeatures.{k}": json.dumps(v) for k, v in _metadata(model).items()}
        )
        onnx.checker.check_model(proto)
        onnx.save(proto, str(temporary))
    return Path(path)


def _metadata(model: AutoencoderModel) -> dict[str, Any]:
    return {
        "columns": model.columns,
        "output_columns": model.output_names(per_feature_errors=True),
        "threshold": model.threshold,
        "quantiles": list(model.calibration.quantiles),
        "preprocessing": model.preprocessor.to_dict(),
        "kind": model.config.kind,
    }


def _require_onnx() -> Any:
    try:
        import onnx
    except ImportError as exc:
        raise ConfigError(
            "ONNX export needs the 'onnx' package, which is not installed.",
            hint="pip install 'aefeatures[onnx]'",
        ) from exc
    return onnx

"""ONNX export: the encoder, decoder and error computation, without preprocessing.

The graph takes what :meth:`aefeatures.features.preprocessor.Preprocessor.encode` produces, fills
missing cells with the network's guesses as ``transform`` does, and gives what ``transform``
appends before calibration:

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
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from aefeatures.errors import ConfigError
from aefeatures.features.types import Term
from aefeatures.io.sinks import atomic_path
from aefeatures.model.filling import FILL_LIMIT, FILL_ROUNDS
from aefeatures.nn.losses import ReconstructionLoss, row_errors
from aefeatures.nn.network import Autoencoder

if TYPE_CHECKING:
    from aefeatures.model.fitted_model import AutoencoderModel

OPSET = 17
INPUT_NAMES = ("inputs", "observed", "targets")
OUTPUT_NAMES = ("codes", "column_errors", "errors")


class ScoringGraph(nn.Module):
    """Network plus reconstruction loss: encoded rows in, codes and errors out.

    A row's missing cells are first filled with the network's guesses over ``rounds`` rounds
    (indicators cleared after the first), as :func:`aefeatures.model.filling.fill_holes` does,
    so the graph scores what ``transform`` scores.
    """

    value_column: torch.Tensor
    is_indicator: torch.Tensor
    is_mse: torch.Tensor
    is_scalar: torch.Tensor
    ce_index: torch.Tensor
    ce_dropped: torch.Tensor
    ce_kept: torch.Tensor

    def __init__(
        self, net: Autoencoder, loss_fn: ReconstructionLoss, terms: Sequence[Term], rounds: int = FILL_ROUNDS
    ) -> None:
        super().__init__()
        self.net = net
        self.loss_fn = loss_fn
        self.rounds = rounds
        width = net.config.n_inputs
        column = torch.zeros(width, dtype=torch.long)  # source column of each position
        is_mse, is_bce = torch.zeros(width, dtype=torch.bool), torch.zeros(width, dtype=torch.bool)
        is_indicator = torch.zeros(width, dtype=torch.bool)
        blocks = [t for t in terms if t.loss == "ce"]
        widest = max((t.width for t in blocks), default=1)
        ce_index = torch.full((len(blocks), widest), width, dtype=torch.long)  # width: a discarded slot
        ce_kept = torch.zeros((len(blocks), widest), dtype=torch.bool)
        for term in terms:
            column[term.start : term.start + term.width] = term.column
            is_indicator[term.start] |= term.is_indicator
            is_mse[term.start] |= term.loss == "mse" and not term.is_indicator
            is_bce[term.start] |= term.loss == "bce" and not term.is_indicator
        for b, term in enumerate(blocks):
            ce_index[b, : term.width] = torch.arange(term.start, term.start + term.width)
            ce_kept[b, : max(term.width - 2, 0)] = True  # the block ends with the rare and unknown levels
        for name, value in (
            ("value_column", column),
            ("is_indicator", is_indicator),
            ("is_mse", is_mse),
            ("is_scalar", is_mse | is_bce),  # a number or a 0/1, not a level of a block
            ("ce_index", ce_index),
            ("ce_dropped", ~ce_kept),
            ("ce_kept", ce_kept.to(torch.float32)),
        ):
            self.register_buffer(name, value)

    def forward(
        self, inputs: torch.Tensor, observed: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Codes (B, k), per-column errors (B, C) and row errors (B,)."""
        output = self.net(self.fill(inputs, observed))
        per_column, counts = self.loss_fn.column_errors(output.recon, inputs, observed, targets)
        return output.code, per_column, row_errors(per_column, counts)

    def fill(self, inputs: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """``inputs`` with every missing cell's value positions replaced by the network's guess."""
        holes = torch.logical_not(observed[:, self.value_column])  # (B, D)
        x = inputs
        for _ in range(self.rounds):
            recon = self.net(x).recon
            guess = torch.where(self.is_mse, recon.clamp(-FILL_LIMIT, FILL_LIMIT), torch.sigmoid(recon))
            if len(self.ce_index):  # decided when the graph is built: some column is categorical
                guess = torch.where(self.is_scalar, guess, self._levels(recon))
            guess = torch.where(self.is_indicator, torch.zeros_like(guess), guess)  # shown complete
            x = torch.where(holes, guess, x)
        return torch.where(self.is_indicator, inputs, x)  # the indicators as encoded

    def _levels(self, recon: torch.Tensor) -> torch.Tensor:
        """The probabilities (B, D) of the kept levels of every categorical block (softmax)."""
        padded = torch.cat([recon, torch.zeros_like(recon[:, :1])], dim=1)  # (B, D + 1)
        logits = padded[:, self.ce_index].masked_fill(self.ce_dropped, -1e9)  # (B, blocks, W)
        chosen = torch.softmax(logits, dim=2) * self.ce_kept
        flat = self.ce_index.reshape(1, -1).expand(recon.shape[0], -1)
        return torch.zeros_like(padded).scatter(1, flat, chosen.reshape(recon.shape[0], -1))[:, :-1]


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
    if model.net_config.gaussian_inputs:
        raise ConfigError(
            "this model cannot be exported to ONNX: its Gaussian start (gaussian_start, the "
            "imputation goal's default) solves a small system per row for that row's holes, which "
            "an ONNX graph of fixed shape cannot express.",
            hint="score with aefeatures itself (transform, impute), or export a model fitted without it "
            "(the default goal, or --goal imputation --set gaussian_start=false)",
        )
    graph = ScoringGraph(
        copy.deepcopy(model.net).cpu().eval(), copy.deepcopy(model.loss_fn).cpu(), model.preprocessor.terms
    )
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
            hint="pip install -e '.[onnx]' in the aefeatures clone (or pip install onnx onnxruntime)",
        ) from exc
    return onnx

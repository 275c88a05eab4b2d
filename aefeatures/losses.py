"""Reconstruction loss per type, normalised per term, reduced per column and per row.

Each term's loss is divided by the loss of predicting its training marginal, so 1.0 means
"no better than the column average" whatever the type. A column's error is the mean of its
observed terms; a row's error is the mean over its columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from aefeatures.columns import Term


class ReconstructionLoss(nn.Module):
    """Vectorised per-term losses; index tensors are buffers so ``.to(device)`` moves them."""

    def __init__(self, terms: Sequence[Term], baselines: Sequence[float], n_columns: int) -> None:
        super().__init__()
        by_loss = {kind: [i for i, t in enumerate(terms) if t.loss == kind] for kind in ("mse", "bce", "ce")}
        order = by_loss["mse"] + by_loss["bce"] + by_loss["ce"]
        ordered = [terms[i] for i in order]
        self.n_mse, self.n_bce = len(by_loss["mse"]), len(by_loss["bce"])
        self.register_buffer("mse_pos", _long([terms[i].start for i in by_loss["mse"]]))
        self.register_buffer("bce_pos", _long([terms[i].start for i in by_loss["bce"]]))
        ce_terms = [terms[i] for i in by_loss["ce"]]
        width = max((t.width for t in ce_terms), default=1)
        index = [[t.start + min(j, t.width - 1) for j in range(width)] for t in ce_terms]
        valid = [[j < t.width for j in range(width)] for t in ce_terms]
        self.register_buffer("ce_index", _long(index).reshape(len(ce_terms), width))
        self.register_buffer("ce_valid", torch.tensor(valid, dtype=torch.bool).reshape(len(ce_terms), width))
        self.register_buffer("scale", 1.0 / torch.tensor([baselines[i] for i in order], dtype=torch.float32))
        self.register_buffer("term_column", _long([t.column for t in ordered]))
        self.register_buffer("is_indicator", torch.tensor([t.is_indicator for t in ordered], dtype=torch.bool))
        per_column: list[list[int]] = [[] for _ in range(n_columns)]
        for position, term in enumerate(ordered):
            per_column[term.column].append(position)
        depth = max((len(p) for p in per_column), default=1)
        padded = [p + [len(ordered)] * (depth - len(p)) for p in per_column]
        self.register_buffer("column_terms", _long(padded).reshape(n_columns, depth))

    def term_losses(
        self, recon: torch.Tensor, inputs: torch.Tensor, observed: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised loss and weight of every term: two (B, T) tensors."""
        mse = (recon[:, self.mse_pos] - inputs[:, self.mse_pos]).square()
        bce = F.binary_cross_entropy_with_logits(
            recon[:, self.bce_pos], inputs[:, self.bce_pos], reduction="none"
        )
        logits = recon[:, self.ce_index].masked_fill(~self.ce_valid, float("-inf"))  # (B, C_cat, K)
        log_p = torch.log_softmax(logits, dim=-1)
        ce = -log_p.gather(-1, targets.clamp_min(0).unsqueeze(-1)).squeeze(-1)  # (B, C_cat)
        losses = torch.cat([mse, bce, ce], dim=1) * self.scale
        weights = torch.where(self.is_indicator, True, observed[:, self.term_column]).to(losses.dtype)
        return losses, weights

    def column_errors(
        self, recon: torch.Tensor, inputs: torch.Tensor, observed: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-column error (B, C) and the number of observed terms behind each (B, C)."""
        losses, weights = self.term_losses(recon, inputs, observed, targets)
        pad = losses.new_zeros(losses.shape[0], 1)
        weighted = torch.cat([losses * weights, pad], dim=1)[:, self.column_terms].sum(-1)
        counts = torch.cat([weights, pad], dim=1)[:, self.column_terms].sum(-1)
        return weighted / counts.clamp_min(1.0), counts

    def forward(
        self, recon: torch.Tensor, inputs: torch.Tensor, observed: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        """Row errors (B,): the mean error of the row's columns that have observed terms."""
        return row_errors(*self.column_errors(recon, inputs, observed, targets))


def row_errors(column_errors: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Mean error (B,) over each row's columns that have at least one observed term."""
    present = (counts > 0).to(column_errors.dtype)
    return (column_errors * present).sum(1) / present.sum(1).clamp_min(1.0)


def _long(values: Sequence[object]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.long)

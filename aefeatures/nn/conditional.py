"""The Gaussian start of a hole (``gaussian_start``): a missing input's conditional mean given the
row's present inputs, under a Gaussian fitted to the training rows.

A linear model of every input from every other, fitted once in closed form, is what
IterativeImputer converges to; where the columns are nearly linear in each other it fills better
than a network trained on a few hundred rows (benchmarks/README.md, "Imputation"). With
``gaussian_start`` the network reads each hole as this conditional mean instead of the column's
centre, and its output for the hole is the conditional mean plus what the network adds (its last
layer starts at zero), so training starts from the linear fill and learns what it misses.

Holes are the value inputs of a cell whose missingness indicator is set, plus any the caller names
(cells the training noise blanked in a column that had no missing values at fit, or a fill's
extra hidden columns). With the precision matrix ``P`` the conditional mean of the holes ``M``
is ``mean_M - P_MM^-1 (P (x - mean) with holes at 0)_M``: one matrix product for the batch and a
small solve per row, of the row's number of holes; rows are solved in groups of equal hole count.

Examples
--------
>>> values = torch.tensor([[1.0, 0.0]])
>>> mean, precision = torch.zeros(2), torch.linalg.inv(torch.tensor([[1.0, 0.8], [0.8, 1.0]]))
>>> conditional_means(values, torch.tensor([[False, True]]), mean, precision)
tensor([[1.0000, 0.8000]])
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from aefeatures.nn.links import output_links
from aefeatures.nn.losses import ReconstructionLoss

EM_ROUNDS = 10  # rounds of expectation-maximisation over the training rows' holes
EM_ROWS = 20_000  # rows the Gaussian is fitted on, at most (the first of a seeded shuffle)
# Ridges tried (each value's variance times this is added to its variance): the one whose
# Gaussian, fitted on half of at most RIDGE_ROWS rows, best predicts cells blanked in the other half.
RIDGES = (0.001, 0.01, 0.03, 0.1, 0.3)
RIDGE_ROWS = 4_000
BLANK_SHARE = 0.2  # of the present cells, blanked to choose the ridge
VARIANCE_FLOOR = 1e-6  # added to every variance: a constant input (a level never seen) still inverts


def conditional_means(
    values: torch.Tensor, holes: torch.Tensor, mean: torch.Tensor, precision: torch.Tensor
) -> torch.Tensor:
    """``values`` (B, V) with each hole (``holes``, B x V bool) replaced by its conditional mean
    given the row's other values, under the Gaussian ``mean`` (V,), ``precision`` (V, V)."""
    return _conditional(values, holes, mean, precision)[0]


def _conditional(
    values: torch.Tensor,
    holes: torch.Tensor,
    mean: torch.Tensor,
    precision: torch.Tensor,
    with_covariance: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The conditional means and, with ``with_covariance``, the sum over rows of each row's
    conditional covariance of its holes (V, V; zero outside them), which EM adds to the scatter."""
    centred = torch.where(holes, torch.zeros_like(values), values - mean)
    pulled = centred @ precision  # (B, V): P (x - mean), holes at 0 (P is symmetric)
    out = torch.where(holes, mean.expand_as(values), values)
    covariance = values.new_zeros(precision.shape) if with_covariance else None
    counts = holes.sum(dim=1)
    first = torch.sort(holes.to(torch.int8), dim=1, descending=True, stable=True).indices  # holes first
    for count in counts.unique().tolist():
        if count == 0:
            continue
        rows = torch.nonzero(counts == count).squeeze(1)
        where = first[rows, :count]  # (R, m): each row's holes
        block = precision[where.unsqueeze(2), where.unsqueeze(1)]  # (R, m, m): P_MM of each row
        wanted = pulled[rows.unsqueeze(1), where]
        shift = (
            wanted / block[:, 0] if count == 1 else torch.linalg.solve(block, wanted.unsqueeze(2)).squeeze(2)
        )
        out[rows.unsqueeze(1), where] = mean[where] - shift
        if covariance is not None:
            spread = torch.linalg.inv(block)  # Cov(x_M | x_O) = P_MM^-1
            covariance.index_put_((where.unsqueeze(2), where.unsqueeze(1)), spread, accumulate=True)
    return out, covariance


class GaussianStart(nn.Module):
    """The Gaussian over the network's value inputs (indicators excluded) and what reads holes.

    Buffers, saved with the weights: ``mean`` (V,), ``precision`` (V, V), ``positions`` (V,) the
    input position of each value, ``indicator`` (V,) the input position of that column's
    missingness indicator (-1: the column had no missing values at fit), ``link`` (V,) how a
    linear fill of a 0/1 value becomes the loss's logit (:mod:`aefeatures.nn.links`).
    """

    mean: torch.Tensor
    precision: torch.Tensor
    positions: torch.Tensor
    indicator: torch.Tensor
    link: torch.Tensor

    def __init__(self, width: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(width))
        self.register_buffer("precision", torch.eye(width))
        self.register_buffer("positions", torch.zeros(width, dtype=torch.long))
        self.register_buffer("indicator", torch.full((width,), -1, dtype=torch.long))
        self.register_buffer("link", torch.zeros(width, dtype=torch.int8))
        self._marginals: dict[tuple[bool, ...], tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def holes(self, x: torch.Tensor, hidden: torch.Tensor | None = None) -> torch.Tensor:
        """(B, V) bool: the values whose indicator is set in ``x``, or that ``hidden`` (B, D) marks."""
        flagged = x[:, self.indicator.clamp_min(0)] > 0.5
        holes = flagged & (self.indicator >= 0)
        return holes if hidden is None else holes | hidden[:, self.positions]

    def forward(
        self, x: torch.Tensor, holes: torch.Tensor, common: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The value inputs (B, V) of ``x`` with each hole at its conditional mean.

        ``common`` (V,) bool: values that are holes in every row (a fill's view). They are filled
        in two exact steps, so each row solves only for its own holes: the other values are
        completed under their marginal Gaussian, then the common ones are their regression on
        those (the mean of a mean: E[x_S | x_O] = E[E[x_S | x_K] | x_O] for O inside K).
        """
        values = x[:, self.positions]
        mean, precision = self.mean.to(values.dtype), self.precision.to(values.dtype)
        if common is None or not bool(common.any()):
            return conditional_means(values, holes, mean, precision)
        kept_mean, kept_precision, regression = (t.to(values.dtype) for t in self._marginal(common))
        kept = conditional_means(values[:, ~common], holes[:, ~common], kept_mean, kept_precision)
        out = values.clone()
        out[:, ~common] = kept
        out[:, common] = mean[common] + (kept - kept_mean) @ regression.T
        return out

    def _marginal(self, common: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """For values ``common`` (S) hidden in every row: the mean and precision of the others (K)
        and the regression (S, K) of S on K. Cached per ``common`` (a fill uses a few views)."""
        key = tuple(common.tolist())
        if key not in self._marginals:
            covariance = torch.linalg.inv(self.precision.double())
            kept = ~common.cpu()
            among = covariance[kept][:, kept]
            self._marginals[key] = (
                self.mean[kept].double(),
                torch.linalg.inv(among),
                torch.linalg.solve(among, covariance[kept][:, ~kept]).T,  # Sigma_SK Sigma_KK^-1
            )
        return tuple(t.to(self.mean.device) for t in self._marginals[key])  # type: ignore[return-value]


@torch.no_grad()
def start_at_gaussian(
    start: GaussianStart, loss_fn: ReconstructionLoss, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]
) -> None:
    """Fit ``start``'s Gaussian to training rows by EM: ``batches`` of inputs (B, D) and their
    observed cells (B, C); at most :data:`EM_ROWS` rows are read.

    Missing training cells are filled with their conditional mean each round and their
    conditional covariance added to the scatter, so the covariance is the maximum-likelihood one
    under missing-at-random cells, not the covariance of filled-in values.
    """
    value = ~loss_fn.input_indicator
    positions = torch.nonzero(value).squeeze(1)
    column = loss_fn.input_column[positions]
    indicator = torch.full_like(positions, -1)
    for position in torch.nonzero(loss_fn.input_indicator).squeeze(1).tolist():
        indicator[column == loss_fn.input_column[position]] = position
    rows, present, seen = [], [], 0
    for inputs, observed in batches:
        rows.append(inputs[:, positions].to(torch.float64))
        present.append(observed[:, column])
        seen += len(inputs)
        if seen >= EM_ROWS:
            break
    values, holes = torch.cat(rows)[:EM_ROWS], ~torch.cat(present)[:EM_ROWS]
    mean, precision = fit_gaussian(
        values, holes, choose_ridge(values, holes, torch.Generator().manual_seed(0))
    )
    start._marginals.clear()
    start.mean.copy_(mean)
    start.precision.copy_(precision)
    start.positions.copy_(positions)
    start.indicator.copy_(indicator)
    start.link.copy_(output_links(loss_fn, torch.zeros(len(value), dtype=torch.int8))[positions])


def choose_ridge(values: torch.Tensor, holes: torch.Tensor, generator: torch.Generator) -> float:
    """The ridge for :func:`fit_gaussian`: of :data:`RIDGES`, the one whose Gaussian fitted on one half of the rows best predicts (squared error) a share
    of the present cells blanked in the other half, both ways round; scaled to all the rows (a
    ridge weighs as much as a fixed number of rows, so one chosen on half the rows is halved).

    A covariance of many columns from few rows fits noise, and its conditional means with it;
    how much to shrink it depends on the table, so the table's own rows choose (as
    scikit-learn's BayesianRidge chooses its regularisation per column from the data).

    Examples
    --------
    >>> x = torch.randn(400, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    >>> values = torch.cat([x, 2 * x, -x], dim=1)
    >>> choose_ridge(values, torch.zeros(400, 3, dtype=torch.bool), torch.Generator().manual_seed(0))
    0.0005
    """
    picked = torch.randperm(len(values), generator=generator)[:RIDGE_ROWS]
    halves = (picked[: len(picked) // 2], picked[len(picked) // 2 :])
    blanked = (torch.rand(values.shape, generator=generator, dtype=values.dtype) < BLANK_SHARE) & ~holes
    if min(len(half) for half in halves) < 2 or not bool(blanked.any()):
        return RIDGES[1]
    errors = []
    for ridge in RIDGES:
        error = 0.0
        for fit_rows, test_rows in (halves, halves[::-1]):
            mean, precision = fit_gaussian(values[fit_rows], holes[fit_rows], ridge)
            test, hidden = values[test_rows], blanked[test_rows]
            guess = conditional_means(test, holes[test_rows] | hidden, mean.double(), precision.double())
            error += float(((guess - test) ** 2)[hidden].sum())
        errors.append(error)
    # a ridge is a prior worth a fixed number of rows: chosen on half the rows, half of it for all
    return RIDGES[errors.index(min(errors))] * len(halves[0]) / len(values)


def fit_gaussian(
    values: torch.Tensor, holes: torch.Tensor, ridge: float, rounds: int = EM_ROUNDS
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (V,) and precision (V, V) of ``values`` (n, V) whose ``holes`` are missing, by EM,
    each value's variance grown by ``ridge`` times itself (a ridge on the correlations, the same
    whatever a column's units; a constant value gets a small floor so the matrix inverts).

    Examples
    --------
    >>> x = torch.randn(2000, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    >>> values = torch.cat([x, 2 * x], dim=1)
    >>> holes = torch.zeros(2000, 2, dtype=torch.bool); holes[::3, 1] = True
    >>> mean, precision = fit_gaussian(values, holes, ridge=0.01)
    >>> fill = conditional_means(torch.tensor([[1.0, 0.0]]), torch.tensor([[False, True]]), mean, precision)
    >>> round(float(fill[0, 1]), 1)  # the second column is twice the first (the ridge shrinks it a little)
    2.0
    """
    n, width = values.shape
    seen = (~holes).sum(0).clamp_min(1)
    mean = torch.where(holes, torch.zeros_like(values), values).sum(0) / seen
    filled = torch.where(holes, mean.expand_as(values), values)
    deviation = filled - mean
    covariance = deviation.T @ deviation / max(n, 1)
    diagonal = torch.diag(ridge * covariance.diagonal() + VARIANCE_FLOOR)
    covariance = covariance + diagonal
    for _ in range(rounds if bool(holes.any()) else 0):
        filled, spread = _conditional(values, holes, mean, torch.linalg.inv(covariance), with_covariance=True)
        mean = filled.mean(0)
        deviation = filled - mean
        covariance = (deviation.T @ deviation + (spread if spread is not None else 0.0)) / n + diagonal
    return mean.float(), torch.linalg.inv(covariance).float()

"""The Gaussian start of a hole (``gaussian_start``): a missing input's conditional mean given the
row's present inputs, under a mixture of Gaussians fitted to the training rows.

A linear model of every input from every other, fitted once in closed form, is what
IterativeImputer converges to; where the columns are nearly linear in each other it fills better
than a network trained on a few hundred rows (benchmarks/README.md, "Imputation"). Where the rows
form groups (digits, machine states, species) one plane through all of them fills badly and a
neighbour's value fills well; a mixture of a few Gaussians fills from the group the row's present
cells point to, each component's linear fill weighted by how likely the row is under it (the
number of components, 1 to 8, is chosen by the table's own rows). With ``gaussian_start`` the
network reads each hole as this conditional mean instead of the column's centre, and its output
for the hole is the conditional mean plus what the network adds (its last layer starts at zero),
so training starts from that fill and learns what it misses.

Holes are the value inputs of a cell whose missingness indicator is set, plus any the caller names
(cells the training noise blanked in a column that had no missing values at fit, or a fill's
extra hidden columns). With a component's precision matrix ``P`` the conditional mean of the
holes ``M`` is ``mean_M - P_MM^-1 (P (x - mean) with holes at 0)_M``, and the log density of the
present values follows from the same block (``log det Sigma_OO = log det P_MM - log det P``):
one matrix product for the batch and a small Cholesky solve per row, rows of equal hole count
and every component solved together.

Examples
--------
>>> values = torch.tensor([[1.0, 0.0]])
>>> mean, precision = torch.zeros(2), torch.linalg.inv(torch.tensor([[1.0, 0.8], [0.8, 1.0]]))
>>> conditional_means(values, torch.tensor([[False, True]]), mean, precision)
tensor([[1.0000, 0.8000]])
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, NamedTuple

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
COMPONENTS = (1, 2, 4, 8)  # mixture sizes tried, the one that predicts blanked cells best is kept
MIXTURE_ROUNDS = 20  # EM rounds of a mixture of more than one Gaussian
PRIOR_ROWS = (
    2  # a component's covariance is pulled to the single Gaussian's by this many rows + one per value
)
KMEANS_ROUNDS = 10  # rounds of k-means that give the mixture its first groups


def conditional_means(
    values: torch.Tensor, holes: torch.Tensor, mean: torch.Tensor, precision: torch.Tensor
) -> torch.Tensor:
    """``values`` (B, V) with each hole (``holes``, B x V bool) replaced by its conditional mean
    given the row's other values, under the Gaussian ``mean`` (V,), ``precision`` (V, V)."""
    return _conditional(values, holes, mean[None], precision[None]).fills[0]


def mixture_means(
    values: torch.Tensor,
    holes: torch.Tensor,
    log_weight: torch.Tensor,
    mean: torch.Tensor,
    precision: torch.Tensor,
) -> torch.Tensor:
    """:func:`conditional_means` under a mixture of Gaussians (``log_weight`` (K,), ``mean``
    (K, V), ``precision`` (K, V, V)): each component's conditional mean, weighted by how likely
    the row's present values are under that component.

    Examples
    --------
    >>> mean = torch.tensor([[0.0, 0.0], [10.0, -10.0]])
    >>> precision = torch.linalg.inv(torch.tensor([[1.0, 0.8], [0.8, 1.0]])).expand(2, 2, 2)
    >>> rows, holes = torch.tensor([[1.0, 0.0], [11.0, 0.0]]), torch.tensor([[False, True]] * 2)
    >>> mixture_means(rows, holes, torch.log(torch.tensor([0.5, 0.5])), mean, precision)
    tensor([[ 1.0000,  0.8000],
            [11.0000, -9.2000]])
    """
    several = len(log_weight) > 1
    completed = _conditional(values, holes, mean, precision, likelihood=several)
    return _weighted(values, holes, log_weight, completed) if several else completed.fills[0]


class _Completed(NamedTuple):
    """Per component: each row completed (K, B, V); with ``spread_weight`` the weighted sum of
    the rows' conditional covariances of their holes (K, V, V), with ``likelihood`` each row's
    log density of its present values (K, B)."""

    fills: torch.Tensor
    spread: torch.Tensor | None
    likelihood: torch.Tensor | None


def _weighted(
    values: torch.Tensor, holes: torch.Tensor, log_weight: torch.Tensor, completed: _Completed
) -> torch.Tensor:
    """The components' fills averaged by each row's posterior weight of the component; present
    values are kept exactly."""
    if completed.likelihood is None:
        raise ValueError("weighing components needs the rows' likelihoods")
    posterior = torch.softmax(completed.likelihood + log_weight[:, None], dim=0)  # (K, B)
    mixed = torch.einsum("kb,kbv->bv", posterior, completed.fills)
    return torch.where(holes, mixed, values)


def _conditional(
    values: torch.Tensor,
    holes: torch.Tensor,
    mean: torch.Tensor,
    precision: torch.Tensor,
    spread_weight: torch.Tensor | None = None,
    likelihood: bool = False,
) -> _Completed:
    """Each row of ``values`` (B, V) completed under each of K Gaussians (``mean`` (K, V),
    ``precision`` (K, V, V)); ``spread_weight`` (K, B) weighs the rows' conditional covariances
    that EM adds to the scatter. Rows of the same hole count are solved together, for every
    component at once (:func:`_solve_blocks`)."""
    components = len(mean)
    centred = torch.where(holes, torch.zeros_like(values), values - mean[:, None])  # (K, B, V)
    pulled = centred @ precision  # P (x - mean), holes at 0 (P is symmetric)
    out = torch.where(holes, mean[:, None], values)
    spread = values.new_zeros(precision.shape) if spread_weight is not None else None
    hole_logdet = values.new_zeros(components, len(values)) if likelihood else None  # log det P_MM
    counts = holes.sum(dim=1)
    first = torch.sort(holes.to(torch.int8), dim=1, descending=True, stable=True).indices  # holes first
    for count in counts.unique().tolist():
        if count == 0:
            continue
        rows = torch.nonzero(counts == count).squeeze(1)
        where = first[rows, :count]  # (R, m): each row's holes
        block = precision[:, where.unsqueeze(2), where.unsqueeze(1)]  # (K, R, m, m): P_MM of each row
        wanted = pulled[:, rows.unsqueeze(1), where]  # (K, R, m)
        shift, logdet, inverse = _solve_blocks(
            block, wanted, with_logdet=hole_logdet is not None, with_inverse=spread is not None
        )
        out[:, rows.unsqueeze(1), where] = mean[:, where] - shift
        if hole_logdet is not None and logdet is not None:
            hole_logdet[:, rows] = logdet
        if spread is not None and spread_weight is not None and inverse is not None:
            inverse = inverse * spread_weight[:, rows, None, None]  # Cov(x_M | x_O) = P_MM^-1
            for k in range(components):
                spread[k].index_put_((where.unsqueeze(2), where.unsqueeze(1)), inverse[k], accumulate=True)
    if hole_logdet is None:
        return _Completed(out, spread, None)
    # log N(x_O): the quadratic form at the conditional mean is the marginal's, and
    # log det Sigma_OO = log det P_MM - log det P (Schur complement)
    deviation = out - mean[:, None]
    quadratic = ((deviation @ precision) * deviation).sum(dim=-1)
    present = (~holes).sum(dim=1)
    log_density = (
        quadratic
        + hole_logdet
        - torch.linalg.slogdet(precision)[1][:, None]
        + present * math.log(2 * math.pi)
    )
    return _Completed(out, spread, -0.5 * log_density)


def _solve_blocks(
    block: torch.Tensor, wanted: torch.Tensor, with_logdet: bool, with_inverse: bool
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """``block^-1 wanted`` and, when asked, ``log det block`` and ``block^-1``, for symmetric
    positive definite blocks (..., m, m): a division for one hole, one LU solve when nothing
    else is needed, else by Cholesky (by LU where rounding makes a block fail it: a nearly
    singular one in float32)."""
    if block.shape[-1] == 1:
        shift = wanted / block[..., 0]
        return (
            shift,
            torch.log(block[..., 0, 0]) if with_logdet else None,
            1.0 / block if with_inverse else None,
        )
    if not (with_logdet or with_inverse):
        return torch.linalg.solve(block, wanted.unsqueeze(-1))[..., 0], None, None
    factor, info = torch.linalg.cholesky_ex(block)
    if not bool(info.any()):
        shift = torch.cholesky_solve(wanted.unsqueeze(-1), factor)[..., 0]
        logdet = 2 * torch.log(torch.diagonal(factor, dim1=-2, dim2=-1)).sum(-1)
        return shift, logdet, torch.cholesky_inverse(factor) if with_inverse else None
    shift = torch.linalg.solve(block, wanted.unsqueeze(-1))[..., 0]
    return shift, torch.linalg.slogdet(block)[1], torch.linalg.inv(block) if with_inverse else None


class GaussianStart(nn.Module):
    """The Gaussian mixture over the network's value inputs (indicators excluded) and what reads holes.

    Buffers, saved with the weights: ``log_weight`` (K,), ``mean`` (K, V) and ``precision``
    (K, V, V) of the K components (K is read from the saved weights: one for models saved
    before mixtures, whose mean and precision had no component axis), ``positions`` (V,) the
    input position of each value, ``indicator`` (V,) the input position of that column's
    missingness indicator (-1: the column had no missing values at fit), ``link`` (V,) how a
    linear fill of a 0/1 value becomes the loss's logit (:mod:`aefeatures.nn.links`).
    """

    log_weight: torch.Tensor
    mean: torch.Tensor
    precision: torch.Tensor
    positions: torch.Tensor
    indicator: torch.Tensor
    link: torch.Tensor

    def __init__(self, width: int) -> None:
        super().__init__()
        self.register_buffer("log_weight", torch.zeros(1))
        self.register_buffer("mean", torch.zeros(1, width))
        self.register_buffer("precision", torch.eye(width).unsqueeze(0))
        self.register_buffer("positions", torch.zeros(width, dtype=torch.long))
        self.register_buffer("indicator", torch.full((width,), -1, dtype=torch.long))
        self.register_buffer("link", torch.zeros(width, dtype=torch.int8))
        self._marginals: dict[tuple[bool, ...], tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def set_mixture(self, log_weight: torch.Tensor, mean: torch.Tensor, precision: torch.Tensor) -> None:
        """Take the components (any number) of a fitted mixture."""
        self.log_weight = log_weight.to(self.mean)
        self.mean = mean.to(self.mean)
        self.precision = precision.to(self.precision)
        self._marginals.clear()

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        mean = state_dict.get(prefix + "mean")
        if mean is not None and mean.dim() == 1:  # saved before mixtures: one Gaussian
            state_dict[prefix + "mean"] = mean.unsqueeze(0)
            state_dict[prefix + "precision"] = state_dict[prefix + "precision"].unsqueeze(0)
            state_dict.setdefault(prefix + "log_weight", torch.zeros(1))
        if mean is not None:  # take the saved number of components before the shapes are checked
            components = len(state_dict[prefix + "mean"])
            width = self.mean.shape[1]
            self.log_weight = self.log_weight.new_zeros(components)
            self.mean = self.mean.new_zeros(components, width)
            self.precision = self.precision.new_zeros(components, width, width)
            self._marginals.clear()
        super()._load_from_state_dict(state_dict, prefix, *args)

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
        in two exact steps per component, so each row solves only for its own holes: the other
        values are completed under their marginal Gaussian, then the common ones are their
        regression on those (the mean of a mean: E[x_S | x_O] = E[E[x_S | x_K] | x_O] for O
        inside K); a component's weight depends on the present values only, so it is the same.
        """
        values = x[:, self.positions]
        log_weight = self.log_weight.to(values.dtype)
        mean, precision = self.mean.to(values.dtype), self.precision.to(values.dtype)
        if common is None or not bool(common.any()):
            return mixture_means(values, holes, log_weight, mean, precision)
        several = len(log_weight) > 1
        kept_mean, kept_precision, regression = (t.to(values.dtype) for t in self._marginal(common))
        kept = _conditional(
            values[:, ~common], holes[:, ~common], kept_mean, kept_precision, likelihood=several
        )
        fills = values.expand(len(log_weight), -1, -1).clone()
        fills[:, :, ~common] = kept.fills
        fills[:, :, common] = mean[:, None, common] + (
            kept.fills - kept_mean[:, None]
        ) @ regression.transpose(1, 2)
        completed = _Completed(fills, None, kept.likelihood)
        return _weighted(values, holes, log_weight, completed) if several else fills[0]

    def _marginal(self, common: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """For values ``common`` (S) hidden in every row, per component: the means (K, V - S) and
        precisions of the others and the regressions (K, S, V - S) of S on them. Cached per
        ``common`` (a fill uses a few views)."""
        key = tuple(common.tolist())
        if key not in self._marginals:
            kept = ~common.cpu()
            covariance = torch.linalg.inv(self.precision.cpu().double())
            among = covariance[:, kept][:, :, kept]
            self._marginals[key] = (
                self.mean.cpu()[:, kept].double(),
                torch.linalg.inv(among),
                torch.linalg.solve(among, covariance[:, kept][:, :, ~kept]).transpose(
                    1, 2
                ),  # Sigma_SK Sigma_KK^-1
            )
        return tuple(t.to(self.mean.device) for t in self._marginals[key])  # type: ignore[return-value]


@torch.no_grad()
def start_at_gaussian(
    start: GaussianStart,
    loss_fn: ReconstructionLoss,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    most: int = COMPONENTS[-1],
) -> None:
    """Fit ``start``'s Gaussian mixture to training rows by EM: ``batches`` of inputs (B, D) and
    their observed cells (B, C); at most :data:`EM_ROWS` rows are read. The ridge, then the
    number of components, are chosen by the rows themselves (:func:`choose_ridge`,
    :func:`choose_components`).

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
    ridge = choose_ridge(values, holes, torch.Generator().manual_seed(0))
    candidates = tuple(k for k in COMPONENTS if k <= most)
    components = choose_components(values, holes, ridge, torch.Generator().manual_seed(0), candidates)
    start.set_mixture(*fit_mixture(values, holes, ridge, components, torch.Generator().manual_seed(0)))
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
    mean, covariance = _em_gaussian(values, holes, ridge, rounds)
    return mean.float(), torch.linalg.inv(covariance).float()


def _em_gaussian(
    values: torch.Tensor, holes: torch.Tensor, ridge: float, rounds: int = EM_ROUNDS
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`fit_gaussian`'s mean and covariance, in float64."""
    n = len(values)
    seen = (~holes).sum(0).clamp_min(1)
    mean = torch.where(holes, torch.zeros_like(values), values).sum(0) / seen
    filled = torch.where(holes, mean.expand_as(values), values)
    deviation = filled - mean
    covariance = deviation.T @ deviation / max(n, 1)
    diagonal = torch.diag(ridge * covariance.diagonal() + VARIANCE_FLOOR)
    covariance = covariance + diagonal
    for _ in range(rounds if bool(holes.any()) else 0):
        completed = _conditional(
            values, holes, mean[None], torch.linalg.inv(covariance)[None], spread_weight=values.new_ones(1, n)
        )
        filled, spread = completed.fills[0], completed.spread
        mean = filled.mean(0)
        deviation = filled - mean
        covariance = (deviation.T @ deviation + (spread[0] if spread is not None else 0.0)) / n + diagonal
    return mean, covariance


def choose_components(
    values: torch.Tensor,
    holes: torch.Tensor,
    ridge: float,
    generator: torch.Generator,
    candidates: tuple[int, ...] = COMPONENTS,
) -> int:
    """The number of components for :func:`fit_mixture`: of ``candidates``, the one whose
    mixture fitted on one half of the rows best predicts blanked present cells of the other half,
    both ways round (as :func:`choose_ridge`).

    Rows that form groups (digits, machine states, species) are filled from their own group's
    relations rather than one plane through all of them; on rows that do not, one Gaussian wins.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(600, 1, generator=g, dtype=torch.float64)
    >>> group = (torch.rand(600, 1, generator=g) < 0.5).double()
    >>> values = torch.cat([x + 8 * group, x * (2 * group - 1), -x], dim=1)  # the slope flips by group
    >>> choose_components(values, torch.zeros(600, 3, dtype=torch.bool), 0.001, g) > 1
    True
    """
    picked = torch.randperm(len(values), generator=generator)[:RIDGE_ROWS]
    halves = (picked[: len(picked) // 2], picked[len(picked) // 2 :])
    blanked = (torch.rand(values.shape, generator=generator, dtype=values.dtype) < BLANK_SHARE) & ~holes
    if len(candidates) == 1 or min(len(half) for half in halves) < 2 or not bool(blanked.any()):
        return candidates[0]
    half_ridge = ridge * len(values) / len(halves[0])  # the ridge is worth a number of rows
    errors = []
    for components in candidates:
        error = 0.0
        for fit_rows, test_rows in (halves, halves[::-1]):
            mixture = fit_mixture(values[fit_rows], holes[fit_rows], half_ridge, components, generator)
            test, hidden = values[test_rows], blanked[test_rows]
            guess = mixture_means(test, holes[test_rows] | hidden, *(t.double() for t in mixture))
            error += float(((guess - test) ** 2)[hidden].sum())
        errors.append(error)
    return candidates[errors.index(min(errors))]


def fit_mixture(
    values: torch.Tensor, holes: torch.Tensor, ridge: float, components: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Log weights (K,), means (K, V) and precisions (K, V, V) of a mixture of ``components``
    Gaussians fitted to ``values`` (n, V) whose ``holes`` are missing, by EM.

    Starts from k-means++ groups of the rows completed under one Gaussian (:func:`fit_gaussian`
    with ``ridge``); each round a row's holes are completed under every component and weighed by
    how likely its present values are under it. Each component's covariance is pulled toward the
    single Gaussian's by :data:`PRIOR_ROWS` rows' worth plus one per value (a small component
    keeps the table's relations instead of fitting its own few rows' noise).

    Examples
    --------
    >>> values = torch.cat([torch.randn(300, 2, dtype=torch.float64) + 5, torch.randn(300, 2, dtype=torch.float64) - 5])
    >>> log_weight, mean, precision = fit_mixture(values, torch.zeros(600, 2, dtype=torch.bool), 0.01, 2, torch.Generator().manual_seed(0))
    >>> sorted(round(float(m)) for m in mean[:, 0]), [round(float(w), 2) for w in log_weight.exp()]
    ([-5, 5], [0.5, 0.5])
    """
    mean, covariance = _em_gaussian(values, holes, ridge)
    if components == 1:
        return torch.zeros(1), mean.float()[None], torch.linalg.inv(covariance).float()[None]
    n, width = values.shape
    diagonal = torch.diag(ridge * covariance.diagonal() / (1 + ridge) + VARIANCE_FLOOR)
    prior = PRIOR_ROWS + width
    filled = conditional_means(values, holes, mean, torch.linalg.inv(covariance))
    weight = _kmeans_groups(filled, components, generator)  # (K, n): each row's group, one-hot
    fills, spread = filled.expand(components, -1, -1), None  # the first groups are of filled rows
    for _ in range(MIXTURE_ROUNDS):
        counts = weight.sum(1)  # (K,)
        means = (weight[:, :, None] * fills).sum(1) / counts[:, None].clamp_min(1e-9)
        deviation = fills - means[:, None]
        scatter = (deviation * weight[:, :, None]).transpose(1, 2) @ deviation
        scatter = scatter if spread is None else scatter + spread
        shrunk = (scatter + prior * covariance) / (counts + prior)[:, None, None] + diagonal
        precisions = torch.linalg.inv(shrunk)
        log_weight = torch.log((counts + 1e-3) / (n + components * 1e-3))
        completed = _conditional(values, holes, means, precisions, spread_weight=weight, likelihood=True)
        fills, spread = completed.fills, completed.spread
        weight = torch.softmax(completed.likelihood + log_weight[:, None], dim=0)  # type: ignore[operator]
    return log_weight.float(), means.float(), precisions.float()


def _kmeans_groups(rows: torch.Tensor, groups: int, generator: torch.Generator) -> torch.Tensor:
    """(groups, n) one-hot: each row's nearest of ``groups`` k-means++ centres after a few rounds."""
    centres = rows[torch.randint(len(rows), (1,), generator=generator)]
    for _ in range(groups - 1):
        nearest = torch.cdist(rows, centres).min(dim=1).values ** 2
        chance = nearest / nearest.sum() if float(nearest.sum()) > 0 else torch.ones_like(nearest) / len(rows)
        centres = torch.cat([centres, rows[torch.multinomial(chance, 1, generator=generator)]])
    for _ in range(KMEANS_ROUNDS):
        group = torch.cdist(rows, centres).argmin(dim=1)
        centres = torch.stack(
            [rows[group == k].mean(0) if bool((group == k).any()) else centres[k] for k in range(groups)]
        )
    return nn.functional.one_hot(torch.cdist(rows, centres).argmin(dim=1), groups).to(rows.dtype).T

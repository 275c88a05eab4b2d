"""Fitting the Gaussian start (``gaussian_start``) to training rows: EM for one Gaussian and for
a mixture, with the ridge and the number of components chosen by the rows themselves.

Both choices are made the same way (:func:`_best_on_blanks`): fitted on one half of at most
:data:`CHOICE_ROWS` rows, each candidate predicts a share of the present cells blanked in the
other half, both ways round, and the one with the smallest squared error is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import torch
from torch import nn

from aefeatures.nn.conditional import (
    GaussianStart,
    complete_rows,
    conditional_means,
    mixture_means,
    posterior,
)
from aefeatures.nn.links import output_links
from aefeatures.nn.losses import ReconstructionLoss

EM_ROUNDS = 10  # rounds of expectation-maximisation over the training rows' holes
EM_ROWS = 20_000  # rows the Gaussian is fitted on, at most (the first of a seeded shuffle)
RIDGES = (0.001, 0.01, 0.03, 0.1, 0.3)  # each value's variance times this is added to its variance
CHOICE_ROWS = 4_000  # rows the ridge and the number of components are chosen on, at most
BLANK_SHARE = 0.2  # of the present cells, blanked to choose the ridge and the components
VARIANCE_FLOOR = 1e-6  # added to every variance: a constant input (a level never seen) still inverts
COMPONENTS = (1, 2, 4, 8)  # mixture sizes tried, the one that predicts blanked cells best is kept
MIXTURE_ROUNDS = 20  # EM rounds of a mixture of more than one Gaussian
# a component's covariance is pulled to the single Gaussian's by this many rows plus one per value
PRIOR_ROWS = 2
KMEANS_ROUNDS = 10  # rounds of k-means that give the mixture its first groups
_C = TypeVar("_C", int, float)  # a candidate: a number of components or a ridge


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
    """The ridge for :func:`fit_gaussian`: of :data:`RIDGES`, the one whose Gaussian best predicts
    blanked cells (:func:`_best_on_blanks`); scaled to all the rows (a ridge weighs as much as a
    fixed number of rows, so one chosen on half the rows is halved).

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

    def fill(
        ridge: float, fit: torch.Tensor, fit_holes: torch.Tensor, test: torch.Tensor, test_holes: torch.Tensor
    ) -> torch.Tensor:
        mean, precision = fit_gaussian(fit, fit_holes, ridge)
        return conditional_means(test, test_holes, mean.double(), precision.double())

    best = _best_on_blanks(RIDGES, fill, values, holes, generator)
    # a ridge is a prior worth a fixed number of rows: chosen on half the rows, half of it for all
    return RIDGES[1] if best is None else best * _half(values) / len(values)


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
        completed = complete_rows(
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
    mixture best predicts blanked cells (:func:`_best_on_blanks`, as :func:`choose_ridge`).

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
    if len(candidates) == 1:
        return candidates[0]
    half_ridge = ridge * len(values) / _half(values)  # the ridge is worth a number of rows

    def fill(
        components: int,
        fit: torch.Tensor,
        fit_holes: torch.Tensor,
        test: torch.Tensor,
        test_holes: torch.Tensor,
    ) -> torch.Tensor:
        mixture = fit_mixture(fit, fit_holes, half_ridge, components, generator)
        return mixture_means(test, test_holes, *(t.double() for t in mixture))

    best = _best_on_blanks(candidates, fill, values, holes, generator)
    return candidates[0] if best is None else best


def _half(values: torch.Tensor) -> int:
    """How many rows one half of the rows a choice is made on holds."""
    return min(len(values), CHOICE_ROWS) // 2


def _best_on_blanks(
    candidates: Sequence[_C],
    fill: Callable[[_C, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
    values: torch.Tensor,
    holes: torch.Tensor,
    generator: torch.Generator,
) -> _C | None:
    """The candidate whose ``fill(candidate, fit, fit_holes, test, test_holes)``, fitted on one
    half of at most :data:`CHOICE_ROWS` rows, best predicts (squared error) a share of the present
    cells blanked in the other half, both ways round; ``None`` when there are too few rows or
    present cells to tell."""
    picked = torch.randperm(len(values), generator=generator)[:CHOICE_ROWS]
    halves = (picked[: _half(values)], picked[_half(values) :])
    blanked = (torch.rand(values.shape, generator=generator, dtype=values.dtype) < BLANK_SHARE) & ~holes
    if min(len(half) for half in halves) < 2 or not bool(blanked.any()):
        return None
    errors = []
    for candidate in candidates:
        error = 0.0
        for fit_rows, test_rows in (halves, halves[::-1]):
            test, hidden = values[test_rows], blanked[test_rows]
            guess = fill(candidate, values[fit_rows], holes[fit_rows], test, holes[test_rows] | hidden)
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
        completed = complete_rows(values, holes, means, precisions, spread_weight=weight, likelihood=True)
        fills, spread = completed.fills, completed.spread
        weight = posterior(log_weight, completed)
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

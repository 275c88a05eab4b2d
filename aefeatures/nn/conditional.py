"""The Gaussian start of a hole (``gaussian_start``): a missing input's conditional mean given the
row's present inputs, under a mixture of Gaussians fitted to the training rows.

A linear model of every input from every other, fitted once in closed form, is what
IterativeImputer converges to; where the columns are nearly linear in each other it fills better
than a network trained on a few hundred rows (benchmarks/README.md, "Imputation"). Where the rows
form groups (digits, machine states, species) one plane through all of them fills badly and a
neighbour's value fills well; a mixture of a few Gaussians fills from the group the row's present
cells point to, each component's linear fill weighted by how likely the row is under it (the
number of components, 1 to 8, is chosen by the table's own rows: :mod:`aefeatures.nn.gaussian_fit`
fits the mixture). With ``gaussian_start`` the
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
from collections.abc import Iterator
from typing import Any, NamedTuple

import torch
from torch import nn


def conditional_means(
    values: torch.Tensor, holes: torch.Tensor, mean: torch.Tensor, precision: torch.Tensor
) -> torch.Tensor:
    """``values`` (B, V) with each hole (``holes``, B x V bool) replaced by its conditional mean
    given the row's other values, under the Gaussian ``mean`` (V,), ``precision`` (V, V)."""
    return complete_rows(values, holes, mean[None], precision[None]).fills[0]


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
    completed = complete_rows(values, holes, mean, precision, likelihood=several)
    return _weighted(values, holes, log_weight, completed) if several else completed.fills[0]


class Completed(NamedTuple):
    """What :func:`complete_rows` gives per component: each row completed (K, B, V); with ``spread_weight`` the weighted sum of
    the rows' conditional covariances of their holes (K, V, V), with ``likelihood`` each row's
    log density of its present values (K, B)."""

    fills: torch.Tensor
    spread: torch.Tensor | None
    likelihood: torch.Tensor | None


def _weighted(
    values: torch.Tensor, holes: torch.Tensor, log_weight: torch.Tensor, completed: Completed
) -> torch.Tensor:
    """The components' fills averaged by each row's posterior weight of the component; present
    values are kept exactly."""
    mixed = torch.einsum("kb,kbv->bv", posterior(log_weight, completed), completed.fills)
    return torch.where(holes, mixed, values)


def posterior(log_weight: torch.Tensor, completed: Completed) -> torch.Tensor:
    """Each row's posterior weight of each component (K, B) given its present values (the
    components' ``log_weight`` (K,) and the rows' likelihoods under them, from :func:`complete_rows`)."""
    if completed.likelihood is None:
        raise ValueError("weighing components needs the rows' likelihoods")
    return torch.softmax(completed.likelihood + log_weight[:, None], dim=0)


def complete_rows(
    values: torch.Tensor,
    holes: torch.Tensor,
    mean: torch.Tensor,
    precision: torch.Tensor,
    spread_weight: torch.Tensor | None = None,
    likelihood: bool = False,
) -> Completed:
    """Each row of ``values`` (B, V) completed under each of K Gaussians (``mean`` (K, V),
    ``precision`` (K, V, V)); ``spread_weight`` (K, B) weighs the rows' conditional covariances
    that EM adds to the scatter. Rows of the same hole count are solved together, for every
    component at once (:func:`_solve_blocks`)."""
    components, width = mean.shape
    zeroed = values.masked_fill(holes, 0.0)
    centred = zeroed - mean[:, None] * ~holes  # (K, B, V): x - mean, holes at 0
    pulled = centred @ precision  # P (x - mean), holes at 0 (P is symmetric)
    out = (mean[:, None] * holes + zeroed).contiguous()  # each hole at its mean; filled below
    spread = values.new_zeros(precision.shape) if spread_weight is not None else None
    # per row: log det P_MM, and the part of the quadratic form the holes take off (see below)
    hole_logdet = values.new_zeros(components, len(values)) if likelihood else None
    taken = values.new_zeros(components, len(values)) if likelihood else None
    # flat views: one index_select / index_copy per block instead of advanced indexing
    flat_out, flat_pulled = out.view(components, -1), pulled.view(components, -1)
    flat_precision = precision.reshape(components, -1)
    for rows, where in _hole_groups(holes):
        count = where.shape[1]
        cells = (rows[:, None] * width + where).reshape(-1)  # (R m,) in the flat (B V) rows
        pairs = (where[:, :, None] * width + where[:, None, :]).reshape(-1)  # (R m m,) in P
        shape = (components, len(rows), count)
        block = flat_precision.index_select(1, pairs).view(*shape, count)  # P_MM of each row
        wanted = flat_pulled.index_select(1, cells).view(shape)
        shift, logdet, inverse = _solve_blocks(
            block, wanted, with_logdet=hole_logdet is not None, with_inverse=spread is not None
        )
        hole_means = mean.index_select(1, where.reshape(-1)).view(shape)
        flat_out.index_copy_(1, cells, (hole_means - shift).reshape(components, -1))
        if hole_logdet is not None and taken is not None and logdet is not None:
            hole_logdet.index_copy_(1, rows, logdet)
            taken.index_copy_(1, rows, (wanted * shift).sum(dim=-1))
        if spread is not None and spread_weight is not None and inverse is not None:
            inverse = inverse * spread_weight[:, rows, None, None]  # Cov(x_M | x_O) = P_MM^-1
            spread.view(components, -1).index_add_(1, pairs, inverse.reshape(components, -1))
    if hole_logdet is None or taken is None:
        return Completed(out, spread, None)
    # log N(x_O). Its quadratic form is the full one at the conditional mean, d' P d with d_O = c_O
    # (c: x - mean, holes at 0) and d_M = -s (s = P_MM^-1 (P c)_M, the shift): that is
    # c' P c - s' (P c)_M, one product per row. log det Sigma_OO = log det P_MM - log det P (Schur).
    quadratic = (centred * pulled).sum(dim=-1) - taken
    present = (~holes).sum(dim=1)
    log_density = (
        quadratic
        + hole_logdet
        - torch.linalg.slogdet(precision)[1][:, None]
        + present * math.log(2 * math.pi)
    )
    return Completed(out, spread, -0.5 * log_density)


def complete_each(
    values: torch.Tensor,
    holes: torch.Tensor,
    mean: torch.Tensor,
    precision: torch.Tensor,
    chosen: torch.Tensor,
) -> torch.Tensor:
    """Each row of ``values`` (B, V) with its holes at their conditional mean under its own one of
    K Gaussians (``mean`` (K, V), ``precision`` (K, V, V); ``chosen`` (B,) the row's component):
    :func:`complete_rows` for one component per row. The rows are centred and multiplied by every
    component's precision in one batched product (cheaper than gathering a matrix per row), and
    each row keeps its own component's.

    >>> precision = torch.linalg.inv(torch.tensor([[1.0, 0.8], [0.8, 1.0]])).expand(2, 2, 2)
    >>> complete_each(torch.tensor([[1.0, 0.0], [11.0, 0.0]]), torch.tensor([[False, True]] * 2),
    ...               torch.tensor([[0.0, 0.0], [10.0, -10.0]]), precision, torch.tensor([0, 1]))
    tensor([[ 1.0000,  0.8000],
            [11.0000, -9.2000]])
    """
    width = values.shape[1]
    centred = (values - mean[:, None]).masked_fill(holes, 0.0)  # (K, B, V)
    pulled = _own_rows(centred @ precision, chosen).view(-1)  # P (x - mean), holes at 0
    row_mean = mean.index_select(0, chosen)
    out = torch.where(holes, row_mean, values).contiguous()
    flat_precision = precision.reshape(-1)
    for rows, where in _hole_groups(holes):
        count = where.shape[1]
        cells = (rows[:, None] * width + where).reshape(-1)
        pairs = chosen[rows, None, None] * width * width + where[:, :, None] * width + where[:, None, :]
        block = flat_precision.index_select(0, pairs.reshape(-1)).view(len(rows), count, count)
        wanted = pulled.index_select(0, cells).view(len(rows), count)
        shift = _solve_blocks(block, wanted, with_logdet=False, with_inverse=False)[0]
        out.view(-1).index_copy_(0, cells, row_mean.view(-1).index_select(0, cells) - shift.reshape(-1))
    return out


def _own_rows(per_component: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """Row b of component ``chosen[b]`` from values (K, B, W) computed under every component: (B, W)."""
    components, rows, width = per_component.shape
    own = chosen * rows + torch.arange(rows, device=chosen.device)
    return per_component.reshape(components * rows, width).index_select(0, own)


def _hole_groups(holes: torch.Tensor) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The rows (R,) of each hole count m > 0 of ``holes`` (B, V) and their holes' columns (R, m)."""
    counts = holes.sum(dim=1)
    first = torch.sort(holes.to(torch.int8), dim=1, descending=True, stable=True).indices  # holes first
    for count in counts.unique().tolist():
        if count > 0:
            rows = torch.nonzero(counts == count).squeeze(1)
            yield rows, first[rows, :count]


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
        flagged = x.index_select(1, self.indicator.clamp_min(0)) > 0.5
        holes = flagged & (self.indicator >= 0)
        return holes if hidden is None else holes | hidden[:, self.positions]

    def forward(
        self,
        x: torch.Tensor,
        holes: torch.Tensor,
        common: torch.Tensor | None = None,
        chosen: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The value inputs (B, V) of ``x`` with each hole at its conditional mean.

        ``common`` (V,) bool: values that are holes in every row (a fill's view). They are filled
        in two exact steps per component, so each row solves only for its own holes: the other
        values are completed under their marginal Gaussian, then the common ones are their
        regression on those (the mean of a mean: E[x_S | x_O] = E[E[x_S | x_K] | x_O] for O
        inside K); a component's weight depends on the present values only, so it is the same.
        ``chosen`` (B,) long, with ``common``: complete each row under that one component (the
        most likely one given all its present values, :meth:`fill_and_choose`) instead of all.
        """
        values, log_weight, mean, precision = self._read(x)
        if common is None or not bool(common.any()):
            return mixture_means(values, holes, log_weight, mean, precision)
        several = len(log_weight) > 1
        kept_mean, kept_precision, regression = (t.to(values.dtype) for t in self._marginal(common))
        kept_at, common_at = torch.nonzero(~common).squeeze(1), torch.nonzero(common).squeeze(1)
        if chosen is not None and several:  # one component per row: its own parameters
            kept_fill = complete_each(
                values.index_select(1, kept_at),
                holes.index_select(1, kept_at),
                kept_mean,
                kept_precision,
                chosen,
            )
            every = mean.index_select(1, common_at)[:, None] + (
                kept_fill - kept_mean[:, None]
            ) @ regression.transpose(1, 2)
            fills = values.new_empty(values.shape)
            fills.index_copy_(1, kept_at, kept_fill)
            fills.index_copy_(1, common_at, _own_rows(every, chosen))
            return torch.where(holes, fills, values)
        kept = complete_rows(
            values.index_select(1, kept_at), holes.index_select(1, kept_at), kept_mean, kept_precision,
            likelihood=several,
        )  # fmt: skip
        regressed = mean.index_select(1, common_at)[:, None] + (
            kept.fills - kept_mean[:, None]
        ) @ regression.transpose(1, 2)
        fills = values.new_empty(len(log_weight), *values.shape)
        fills.index_copy_(2, kept_at, kept.fills).index_copy_(2, common_at, regressed)
        completed = Completed(fills, None, kept.likelihood)
        return _weighted(values, holes, log_weight, completed) if several else fills[0]

    def fill_and_choose(self, x: torch.Tensor, holes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward` without ``common``, and each row's most likely component (B,) given its
        present values (its posterior's largest weight), from the same solve."""
        values, log_weight, mean, precision = self._read(x)
        if len(log_weight) == 1:
            only = holes.new_zeros(len(x), dtype=torch.long)
            return mixture_means(values, holes, log_weight, mean, precision), only
        completed = complete_rows(values, holes, mean, precision, likelihood=True)
        chosen = posterior(log_weight, completed).argmax(dim=0)
        return _weighted(values, holes, log_weight, completed), chosen

    def _read(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The value inputs (B, V) of ``x`` and the components' log weights, means and precisions
        in their dtype."""
        values = x.index_select(1, self.positions)
        dtype = values.dtype
        return values, self.log_weight.to(dtype), self.mean.to(dtype), self.precision.to(dtype)

    def _marginal(self, common: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """For values ``common`` (S) hidden in every row, per component: the means (K, V - S) and
        precisions of the others and the regressions (K, S, V - S) of S on them. Cached per
        ``common`` (a fill uses a few views)."""
        key = tuple(common.tolist())
        if key not in self._marginals:
            kept = ~common.cpu()
            covariance = torch.linalg.inv(self.precision.cpu().double())
            among = covariance[:, kept][:, :, kept]
            regression = torch.linalg.solve(among, covariance[:, kept][:, :, ~kept])  # Sigma_KK^-1 Sigma_KS
            self._marginals[key] = (
                self.mean.cpu()[:, kept].double(),
                torch.linalg.inv(among),
                regression.transpose(1, 2),  # Sigma_SK Sigma_KK^-1
            )
        return tuple(t.to(self.mean.device) for t in self._marginals[key])  # type: ignore[return-value]

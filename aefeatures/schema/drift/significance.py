"""The statistical tests of drift, in numpy and the standard library (no scipy).

Every test is two-sample: the batch's counts against the counts fit stored, so the noise of
the training statistics (estimated on finite rows) is part of the null hypothesis.

- :func:`rate_p_value`: a rate (missing values) against its training rate, Fisher's exact test
  (the hypergeometric distribution of the batch's count given both counts' total).
- :func:`mix_p_value`: a distribution over bins or levels against the training counts, a
  chi-square test of the 2 x G table after :func:`merged_groups` joins sparse bins.
- :func:`rise_p_value`: whether the batch's values (``ae_error``) rank above the training ones,
  a one-sided Mann-Whitney test on binned values with the tie correction.
- :func:`holm`: Holm's step-down adjustment, so that the chance of any false alarm in a batch
  stays at the level whatever the number of tests.
- :func:`psi` and :func:`js_distance`: effect sizes of a change of distribution.

Examples
--------
>>> round(chi2_sf(3.841458820694124, 1), 4)
0.05
>>> round(rate_p_value(10, 100, 10, 100), 3), rate_p_value(0, 1000, 30, 100) < 1e-10
(1.0, True)
>>> holm([0.01, 0.04, 0.03]).round(2).tolist()
[0.03, 0.06, 0.06]
"""

from __future__ import annotations

import math

import numpy as np

MIN_EXPECTED = 5.0  # every group of a chi-square test expects at least this many in each sample
SMOOTHING = 0.5  # counts added to every group before shares are compared (PSI, JS)


def chi2_sf(statistic: float, df: int) -> float:
    """P(X >= statistic) for X chi-square with ``df`` degrees of freedom."""
    if df <= 0:
        return 1.0
    return _upper_gamma(df / 2.0, max(statistic, 0.0) / 2.0)


def _upper_gamma(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x) (series, or continued fraction)."""
    if x <= 0.0:
        return 1.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        denominator = a
        for _ in range(10_000):
            denominator += 1.0
            term *= x / denominator
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    tiny = 1e-300
    b = x + 1.0 - a
    c, d = 1.0 / tiny, 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-15:
            break
    return min(1.0, math.exp(log_front) * h)


def rate_p_value(train_count: int, train_rows: int, count: int, rows: int) -> float:
    """Two-sided p-value of ``count`` of ``rows`` against ``train_count`` of ``train_rows``.

    Fisher's exact test: given the total count, the batch's share of it is hypergeometric.
    """
    if rows == 0 or train_rows == 0:
        return 1.0
    total, pool = train_count + count, train_rows + rows
    low, high = max(0, rows - (pool - total)), min(total, rows)
    if high <= low:
        return 1.0
    k = np.arange(low, high, dtype=np.float64)
    # log pmf(k + 1) - log pmf(k) of the hypergeometric distribution, summed from pmf(low)
    steps = np.log((total - k) * (rows - k)) - np.log((k + 1.0) * (pool - total - rows + k + 1.0))
    log_pmf = np.concatenate([[0.0], np.cumsum(steps)])
    log_pmf -= log_pmf.max()
    pmf = np.exp(log_pmf)
    pmf /= pmf.sum()
    observed = pmf[count - low]
    return float(min(1.0, pmf[pmf <= observed * (1.0 + 1e-7)].sum()))


def merged_groups(train: np.ndarray, batch: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """The group of each bin: neighbours (in ``order``) joined until every group expects at least
    :data:`MIN_EXPECTED` values in each sample; bins empty in both samples join their neighbours.

    >>> merged_groups(np.array([50, 50, 2, 1]), np.array([10, 10, 0, 1])).tolist()
    [0, 1, 1, 1]
    """
    order = np.arange(train.size) if order is None else order
    pooled = (train + batch).astype(np.float64)
    rows_train, rows_batch = float(train.sum()), float(batch.sum())
    share = pooled / max(rows_train + rows_batch, 1.0)
    groups = np.zeros(train.size, np.int64)
    group, filled = 0, 0.0
    for position, index in enumerate(order):
        groups[index] = group
        filled += share[index]
        if filled * min(rows_train, rows_batch) >= MIN_EXPECTED and position < order.size - 1:
            rest = share[order[position + 1 :]].sum()
            if rest * min(rows_train, rows_batch) >= MIN_EXPECTED:
                group, filled = group + 1, 0.0
    return groups


def grouped(counts: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Counts summed by group."""
    return np.bincount(groups, weights=counts, minlength=int(groups.max()) + 1 if groups.size else 0)


def mix_p_value(train: np.ndarray, batch: np.ndarray) -> float:
    """Chi-square p-value of the 2 x G table of grouped counts (G - 1 degrees of freedom)."""
    a, b = train.astype(np.float64), batch.astype(np.float64)
    keep = (a + b) > 0
    a, b = a[keep], b[keep]
    if a.size < 2 or a.sum() == 0 or b.sum() == 0:
        return 1.0
    pooled = (a + b) / (a.sum() + b.sum())
    expected_a, expected_b = a.sum() * pooled, b.sum() * pooled
    statistic = float(
        (((a - expected_a) ** 2) / expected_a).sum() + (((b - expected_b) ** 2) / expected_b).sum()
    )
    return chi2_sf(statistic, a.size - 1)


def rise_p_value(train: np.ndarray, batch: np.ndarray) -> float:
    """One-sided p-value that the batch's values rank above the training ones (Mann-Whitney on
    ordered bins, ties corrected; the normal approximation)."""
    a, b = train.astype(np.float64), batch.astype(np.float64)
    n_a, n_b = a.sum(), b.sum()
    n = n_a + n_b
    if n_a == 0 or n_b == 0:
        return 1.0
    below = np.concatenate([[0.0], np.cumsum(a)[:-1]])
    u = float((b * (below + 0.5 * a)).sum())
    ties = a + b
    variance = n_a * n_b / 12.0 * ((n + 1.0) - float((ties**3 - ties).sum()) / (n * (n - 1.0)))
    if variance <= 0:
        return 1.0
    z = (u - n_a * n_b / 2.0) / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def holm(p_values: list[float] | np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values: reject where the adjusted value is at most the level."""
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0:
        return p
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (p.size - np.arange(p.size))
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return adjusted


def _shares(train: np.ndarray, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = train.astype(np.float64) + SMOOTHING, batch.astype(np.float64) + SMOOTHING
    return a / a.sum(), b / b.sum()


def psi(train: np.ndarray, batch: np.ndarray) -> float:
    """Population stability index of the batch's shares against training's (0: the same).

    >>> round(psi(np.array([50, 50]), np.array([50, 50])), 6)
    0.0
    """
    p, q = _shares(train, batch)
    return float(((q - p) * np.log(q / p)).sum())


def js_distance(train: np.ndarray, batch: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2: from 0, the same, to 1, disjoint)."""
    p, q = _shares(train, batch)
    m = (p + q) / 2.0
    divergence = 0.5 * float((p * np.log2(p / m)).sum() + (q * np.log2(q / m)).sum())
    return math.sqrt(max(divergence, 0.0))

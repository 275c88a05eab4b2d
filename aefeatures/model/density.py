"""A Gaussian mixture over the training codes: where a model's rows lie in its bottleneck.

Sampling a code from it and decoding gives a synthetic row for every kind of autoencoder (a
variational kind samples its prior instead, see :mod:`aefeatures.model.generation`). The mixture
is fitted by expectation-maximisation in numpy with full covariances, its number of components
chosen by the Bayesian information criterion, and stored as plain JSON in the model's manifest.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> codes = np.concatenate([rng.normal(-3, 1, (300, 2)), rng.normal(3, 1, (300, 2))])
>>> mixture = CodeDensity.fit(codes, seed=0)
>>> len(mixture.weights)
2
>>> mixture.sample(5, np.random.default_rng(1)).shape
(5, 2)
>>> CodeDensity.from_dict(mixture.to_dict()) == mixture
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

COMPONENTS = (1, 2, 4, 8, 16)  # candidate mixture sizes, the best by BIC is kept
FIT_ROWS = 5_000  # codes the mixture is fitted on (a seeded subsample above it): at most 16
# components need no more, and 20,000 made the mixture, which every fit learns, cost 4x as much
MIN_ROWS_PER_COMPONENT = 20  # fewer rows per component cannot estimate a full covariance
EM_STEPS = 100
RIDGE = 1e-4  # added to each covariance's diagonal, relative to the codes' variance


@dataclass(frozen=True)
class CodeDensity:
    """Mixture weights, means (K, k) and Cholesky factors of the covariances (K, k, k)."""

    weights: tuple[float, ...]
    means: tuple[tuple[float, ...], ...]
    factors: tuple[tuple[tuple[float, ...], ...], ...]

    @classmethod
    def fit(cls, codes: np.ndarray, *, seed: int) -> CodeDensity:
        """The mixture of :data:`COMPONENTS` components that explains ``codes`` (n, k) best by BIC."""
        rng = np.random.default_rng(seed)
        x = np.asarray(codes, np.float64)
        if len(x) > FIT_ROWS:
            x = x[np.sort(rng.choice(len(x), FIT_ROWS, replace=False))]
        ridge = RIDGE * max(float(x.var(axis=0).mean()), 1e-12)
        best: tuple[float, CodeDensity] | None = None
        for n_components in COMPONENTS:
            if n_components > 1 and len(x) < n_components * MIN_ROWS_PER_COMPONENT:
                break
            weights, means, covariances, log_likelihood = _em(x, n_components, ridge, rng)
            k = x.shape[1]
            parameters = n_components * (k + k * (k + 1) / 2) + n_components - 1
            bic = -2.0 * log_likelihood + parameters * math.log(len(x))
            if best is None or bic < best[0]:
                best = (bic, cls._of(weights, means, covariances))
        assert best is not None
        return best[1]

    @classmethod
    def _of(cls, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> CodeDensity:
        factors = np.linalg.cholesky(covariances)
        return cls(
            weights=tuple(float(w) for w in weights),
            means=tuple(tuple(float(v) for v in m) for m in means),
            factors=tuple(tuple(tuple(float(v) for v in row) for row in f) for f in factors),
        )

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` codes (n, k) float32 drawn from the mixture with ``rng``."""
        weights = np.asarray(self.weights)
        component = rng.choice(len(weights), size=n, p=weights / weights.sum())
        noise = rng.standard_normal((n, len(self.means[0])))
        means, factors = np.asarray(self.means), np.asarray(self.factors)
        codes = means[component] + np.einsum("nij,nj->ni", factors[component], noise)
        return codes.astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "weights": list(self.weights),
            "means": [list(m) for m in self.means],
            "factors": [[list(row) for row in f] for f in self.factors],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CodeDensity:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            weights=tuple(float(w) for w in data["weights"]),
            means=tuple(tuple(float(v) for v in m) for m in data["means"]),
            factors=tuple(tuple(tuple(float(v) for v in row) for row in f) for f in data["factors"]),
        )


def _em(
    x: np.ndarray, n_components: int, ridge: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Weights, means, covariances and the total log-likelihood after EM from a k-means++ start."""
    n, k = x.shape
    means = _kmeans_plus_plus(x, n_components, rng)
    covariances = np.repeat(
        (np.cov(x, rowvar=False).reshape(k, k) + ridge * np.eye(k))[None], n_components, 0
    )
    weights = np.full(n_components, 1.0 / n_components)
    previous = -np.inf
    for _ in range(EM_STEPS):
        log_resp, log_likelihood = _responsibilities(x, weights, means, covariances)
        resp = np.exp(log_resp)  # (n, K)
        counts = resp.sum(axis=0) + 1e-10
        weights = counts / n
        means = (resp.T @ x) / counts[:, None]
        for c in range(n_components):
            centred = x - means[c]
            covariances[c] = (resp[:, c, None] * centred).T @ centred / counts[c] + ridge * np.eye(k)
        if log_likelihood - previous < 1e-6 * abs(log_likelihood):
            break
        previous = log_likelihood
    _, log_likelihood = _responsibilities(x, weights, means, covariances)
    return weights, means, covariances, log_likelihood


def _responsibilities(
    x: np.ndarray, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray
) -> tuple[np.ndarray, float]:
    """Log responsibilities (n, K) and the total log-likelihood."""
    k = x.shape[1]
    log_prob = np.empty((len(x), len(weights)))
    for c in range(len(weights)):
        factor = np.linalg.cholesky(covariances[c])
        solved = np.linalg.solve(factor, (x - means[c]).T)  # (k, n)
        log_det = 2.0 * np.log(np.diag(factor)).sum()
        log_prob[:, c] = math.log(weights[c]) - 0.5 * (
            (solved**2).sum(0) + log_det + k * math.log(2 * math.pi)
        )
    top = log_prob.max(axis=1, keepdims=True)
    log_total = top[:, 0] + np.log(np.exp(log_prob - top).sum(axis=1))
    return log_prob - log_total[:, None], float(log_total.sum())


def _kmeans_plus_plus(x: np.ndarray, n_components: int, rng: np.random.Generator) -> np.ndarray:
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, n_components):
        distance = np.min([((x - c) ** 2).sum(axis=1) for c in centres], axis=0)
        total = distance.sum()
        pick = rng.choice(len(x), p=distance / total) if total > 0 else rng.integers(len(x))
        centres.append(x[pick])
    return np.array(centres)

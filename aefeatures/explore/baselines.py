"""Detectors a user would try instead of an autoencoder, scored beside ``compare``'s candidates.

With a label, ``compare`` also scores scikit-learn's ``IsolationForest`` on the same encoded
inputs, trained on the same training rows and scored on the same rows against the same label,
so the table shows whether an autoencoder is worth it on this data. scikit-learn is an optional
extra (``pip install -e '.[sklearn]'`` in the clone): without it the baseline is listed with a
note saying so.
PCA, the other baseline, is a candidate of the grid itself.
"""

from __future__ import annotations

import time

import numpy as np

from aefeatures.explore.metrics import average_precision, roc_auc
from aefeatures.explore.results import Baseline

ISOLATION_FOREST = "isolation_forest"
MISSING_SKLEARN = (
    "scikit-learn is not installed (pip install scikit-learn, or pip install -e '.[sklearn]' in the clone)"
)


def isolation_forest(inputs: np.ndarray, train_index: np.ndarray, labels: np.ndarray, seed: int) -> Baseline:
    """``IsolationForest`` (100 trees) fitted on the training rows of ``inputs``, scored on all rows.

    ``inputs`` are the encoded rows the autoencoders see (scaled numbers, one-hot levels); the
    score is ``-score_samples`` (higher is more anomalous), measured like ``ae_error``.

    >>> rng = np.random.default_rng(0)
    >>> rows = np.vstack([rng.normal(size=(95, 2)), rng.normal(8, 1, size=(5, 2))]).astype(np.float32)
    >>> found = isolation_forest(rows, np.arange(100), np.arange(100) >= 95, seed=0)
    >>> found.roc_auc
    1.0
    """
    try:
        from sklearn.ensemble import IsolationForest
    except ImportError:
        return Baseline(ISOLATION_FOREST, note=MISSING_SKLEARN)
    started = time.perf_counter()
    values = np.nan_to_num(np.asarray(inputs, dtype=np.float64))
    forest = IsolationForest(n_estimators=100, random_state=seed, n_jobs=1).fit(values[train_index])
    scores = -forest.score_samples(values)
    return Baseline(
        ISOLATION_FOREST,
        roc_auc=roc_auc(labels, scores),
        average_precision=average_precision(labels, scores),
        seconds=time.perf_counter() - started,
    )

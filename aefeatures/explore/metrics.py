"""Ranking metrics of a score against binary labels, in numpy (no scikit-learn needed)."""

from __future__ import annotations

import numpy as np


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (ties count one half), via the rank-sum statistic."""
    labels = np.asarray(labels).astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(np.asarray(scores, dtype=np.float64))
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision: mean precision at the rank of each positive (scikit-learn's definition)."""
    labels = np.asarray(labels).astype(bool)
    if not labels.any():
        return float("nan")
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    scores_sorted = np.asarray(scores, dtype=np.float64)[order]
    hits = labels[order]
    # Treat tied scores as one threshold, as scikit-learn does.
    last_of_tie = np.r_[scores_sorted[1:] != scores_sorted[:-1], True]
    true_pos = np.cumsum(hits)[last_of_tie]
    predicted = np.flatnonzero(last_of_tie) + 1
    precision = true_pos / predicted
    recall_gain = np.diff(np.r_[0, true_pos]) / labels.sum()
    return float((precision * recall_gain).sum())


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    boundaries = np.r_[True, sorted_values[1:] != sorted_values[:-1], True]
    edges = np.flatnonzero(boundaries)
    ranks_sorted = np.repeat((edges[:-1] + edges[1:] + 1) / 2.0, np.diff(edges))
    ranks = np.empty(values.size)
    ranks[order] = ranks_sorted
    return ranks

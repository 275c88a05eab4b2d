"""How ``compare`` orders its candidates: finished runs by the chosen measure, then the others.

Pruned runs (paused by successive halving), failed and skipped ones are listed after every
finished run whatever their numbers: a run that trained a ninth of its budget is not comparable
with one that trained all of it, so it is never ranked, let alone kept.
"""

from __future__ import annotations

import math

import numpy as np

from aefeatures.explore.results import FAILED, FINISHED, PRUNED, SKIPPED, Run

HALVING = 3  # successive halving: each rung keeps a third of the candidates, with 3x the epochs
LOSS_MEASURES = ("valid_loss", "robust_loss")  # lower is better; need no label
LABEL_MEASURES = ("roc_auc", "average_precision")  # higher is better; need a label
RANK_BY = (*LOSS_MEASURES, *LABEL_MEASURES)
RENAMED = {"valid_error": "valid_loss", "robust_error": "robust_loss"}  # the names before 0.2
ROBUST_SHARE = 0.9  # robust_loss: the mean over the best 90% of validation rows
# Below this validation loss (1% of predicting each column's average) a model reconstructs nearly
# perfectly, and the ratio of two such losses is noise: vs_pca is not given.
TINY_LOSS = 0.01
_ORDER = {FINISHED: 0, PRUNED: 1, FAILED: 2, SKIPPED: 3}


def rank_key(run: Run, rank_by: str) -> tuple[int, float]:
    """Sort key: finished runs first, then the best ``rank_by`` (lowest loss, highest score)."""
    value = getattr(run, rank_by)
    missing = value is None or not math.isfinite(value)
    score = math.inf if missing else (value if rank_by in LOSS_MEASURES else -value)
    return (_ORDER[run.status], score)


def rank(runs: list[Run], rank_by: str) -> list[Run]:
    """The runs in ranked order; finished runs get ranks 1, 2, ..., the others none."""
    ranked = sorted(runs, key=lambda run: rank_key(run, rank_by))
    for position, run in enumerate(ranked, start=1):
        run.rank = position if run.status == FINISHED else None
    return ranked


def relate_to_pca(runs: list[Run]) -> None:
    """Set each run's ``vs_pca``: its ``valid_loss`` over PCA's at the same size.

    Left ``None`` when PCA at that size reconstructs to within :data:`TINY_LOSS` (a ratio of two
    tiny losses, say 0.0007 / 0.00001, tells nothing) or when either loss is missing.
    """
    pca = {run.latent_dim: run.valid_loss for run in runs if run.kind == "pca" and run.status == FINISHED}
    for run in runs:
        reference = pca.get(run.latent_dim)
        if run.valid_loss is not None and reference is not None and reference >= TINY_LOSS:
            run.vs_pca = run.valid_loss / reference


def robust_loss(losses: np.ndarray) -> float:
    """Mean of the best :data:`ROBUST_SHARE` of row losses: a few outliers among the validation rows
    (which no model should reconstruct) cannot decide a ranking by it.

    >>> robust_loss(np.array([1.0] * 9 + [100.0]))
    1.0
    """
    kept = np.sort(losses)[: max(1, int(round(ROBUST_SHARE * losses.size)))]
    return float(kept.mean())


def halving_rungs(budget: int, candidates: int) -> list[int]:
    """Epochs after which candidates are compared: a third goes on each time, with 3x the epochs.

    Every candidate trains ``budget / 3**r`` epochs, the best third continues to ``budget / 3**(r-1)``
    and so on until one reaches the full budget: 21 candidates cost about 3.6 full runs instead of
    21, and a candidate that continues resumes where it paused (the same run as never pausing).

    >>> halving_rungs(270, 21)
    [10, 30, 90, 270]
    """
    rounds = max(0, math.ceil(math.log(max(candidates, 1), HALVING) - 1e-9))
    return sorted({max(1, budget // HALVING**r) for r in range(rounds, -1, -1)} | {budget})


def default_rank_by(label: str | None) -> str:
    """``roc_auc`` when there is a label to rank by, else ``valid_loss``."""
    return "roc_auc" if label is not None else "valid_loss"


def goal_for(rank_by: str) -> str:
    """The goal a ranking measures: ``reconstruction`` for a loss, else ``outliers``."""
    return "reconstruction" if rank_by in LOSS_MEASURES else "outliers"

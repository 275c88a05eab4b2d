"""What ``compare`` returns: each candidate's run, the baselines, and the ranking they make."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

# A candidate's status: finished runs are ranked; the others are listed below them, never kept.
FINISHED, PRUNED, FAILED, SKIPPED = "finished", "pruned", "failed", "skipped"


@dataclass
class Run:
    """One candidate (a kind at a bottleneck size) and how it did.

    ``status`` is ``finished`` (its training ended: early stopping, the epoch budget, the time
    budget or PCA's closed form), ``pruned`` (successive halving paused it, after ``epochs`` of
    ``epoch_budget``), ``failed`` (it diverged or raised; ``why`` says how) or ``skipped`` (the time
    budget was spent before it started).
    """

    kind: str
    latent_dim: int
    hidden: list[int] = field(default_factory=list)
    status: str = FINISHED
    why: str = ""  # what stopped a pruned, failed or skipped run
    valid_loss: float | None = None  # mean validation loss, the training loss's units (1.0 = column average)
    robust_loss: float | None = None  # the same over the best 90% of validation rows
    vs_pca: float | None = (
        None  # valid_loss / PCA's at the same size; None when both are too small to compare
    )
    ae_error: float | None = None  # mean ae_error of the validation rows, as transform scores them
    roc_auc: float | None = None  # of ae_error against the label, all rows
    average_precision: float | None = None
    epochs: int = 0
    epoch_budget: int = 0
    best_epoch: int = 0
    stopped_because: str = ""
    converged: bool | None = None
    seconds: float = 0.0
    rank: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (NaN becomes ``None``)."""
        return {k: _finite(v) for k, v in dataclasses.asdict(self).items()}


@dataclass
class Baseline:
    """A detector a user might try instead of an autoencoder, scored on the same rows and label."""

    name: str
    roc_auc: float | None = None
    average_precision: float | None = None
    seconds: float = 0.0
    note: str = ""  # why it is missing (say, scikit-learn is not installed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {k: _finite(v) for k, v in dataclasses.asdict(self).items()}


@dataclass
class Comparison:
    """Every run, ranked (finished runs first), and what they were compared on.

    ``ranking`` is the sentence that says what ranks the runs (and, with a label, whether the
    label does); ``fit_settings`` are the :func:`aefeatures.fit` keywords that train the winner
    again; ``warnings`` what makes the ranking say little (a table without variation, say).
    """

    runs: list[Run]
    rank_by: str
    ranking: str
    rows: int
    train_rows: int
    valid_rows: int
    columns: list[str]
    label: str | None
    positives: int | None  # rows whose label is true
    max_seconds: float
    seconds: float
    goal: str  # what the candidates were trained for (see goal_for)
    baselines: list[Baseline] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fit_settings: dict[str, Any] = field(default_factory=dict)
    kept: str | None = None

    @property
    def best(self) -> Run | None:
        """The first-ranked finished run; ``None`` when no candidate finished."""
        return next((run for run in self.runs if run.status == FINISHED), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        skip = ("runs", "baselines")
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in skip}
        best = self.best
        return {
            **fields,
            "best": best.to_dict() if best is not None else None,
            "runs": [run.to_dict() for run in self.runs],
            "baselines": [baseline.to_dict() for baseline in self.baselines],
        }


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value

"""Goals: what a model is for, and the fit settings that serve it.

No one setting is best at ranking outliers, at giving features to a downstream model and at
reconstructing the rows, so a fit names its goal and starts from that goal's settings
(measured in benchmarks/README.md, "Three goals, measured"). Imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aefeatures.errors import ConfigError


class Goal(dict[str, Any]):
    """The fit settings a goal stands for (a plain mapping of setting names to values), and what
    the goal is for, in a few words for help texts.

    Examples
    --------
    >>> goal = Goal("the smallest reconstruction error", kind="deep")
    >>> goal == {"kind": "deep"}, goal.purpose
    (True, 'the smallest reconstruction error')
    """

    def __init__(self, purpose: str, **settings: Any) -> None:
        super().__init__(settings)
        self.purpose = purpose


# "outliers" is the FitConfig defaults, for ae_error: swap noise, a trimmed loss and clipped inputs
# keep outliers from being learnt, which also keeps the hardest normal rows from being
# reconstructed. It scores the rows it trained on, so it also stops before a small table is
# memorised: at most 200 epochs (epoch_cap; 4,000 steps on 100 rows would be 2,000 epochs, and
# early stopping there watches 10 validation rows, which is noise). "features", for ae_z*: the
# same swap noise with the loss on the corrupted columns (codes that carry what the columns
# share), without trimming or clipping, started at PCA's solution (pca_start): the codes are
# PCA's unless training reconstructs the held-back rows better (on tables it was not tuned on,
# codes trained from random weights were about 0.02 ROC-AUC below PCA's as a probe's only
# features). "reconstruction", for the smallest error: a plain deep network started at PCA's
# solution, so it reconstructs at least as PCA does. Those two and "imputation" serve new rows
# and keep the 2,000-epoch cap. Each name and value is checked against the settings'
# declarations when aefeatures.settings is imported.
GOALS: dict[str, Goal] = {
    "outliers": Goal("ae_error as an outlier score"),
    "features": Goal(
        "ae_z* for a downstream model",
        clean_weight=0.1,
        trim=0.0,
        input_clip=None,
        steps=10_000,
        epoch_cap=2_000,
        pca_start=True,
    ),
    "reconstruction": Goal(
        "the smallest reconstruction error",
        kind="deep",
        trim=0.0,
        input_clip=None,
        steps=10_000,
        epoch_cap=2_000,
        pca_start=True,
    ),
    # Filling missing cells: training blanks 30% of the cells as missing (value zeroed, indicator
    # set: what a hole looks like at fill) and puts the loss on their true values, so the network
    # learns to predict a hole from the present cells (a masked autoencoder; measured in
    # benchmarks/README.md, "Imputation"). No bottleneck is needed against copying (a masked cell cannot be
    # copied), so the code is wide; every row trains (no validation rows held back) for a fixed
    # step budget (better fills on the tuning tables than early stopping on the clean loss).
    "imputation": Goal(
        "filling missing cells (impute)",
        kind="denoising",
        noise="masking",
        noise_level=0.3,
        clean_weight=0.1,
        trim=0.0,
        input_clip=None,
        latent_dim=16,
        steps=3_000,
        epoch_cap=2_000,
        validation_fraction=0.0,
        gaussian_start=True,
    ),
}
DEFAULT_GOAL = "outliers"


def with_goal(params: Mapping[str, Any]) -> dict[str, Any]:
    """Fit parameters with ``goal`` (default ``"outliers"``) replaced by the settings it stands for.

    Settings given explicitly win over the goal's, so ``goal="reconstruction", kind="sparse-l1"``
    trains a sparse network without trimming or clipping.

    Examples
    --------
    >>> with_goal({"goal": "reconstruction", "latent_dim": 4})
    {'goal': 'reconstruction', 'kind': 'deep', 'trim': 0.0, 'input_clip': None, 'steps': 10000, 'epoch_cap': 2000, 'pca_start': True, 'latent_dim': 4}
    >>> with_goal({"goal": "features", "trim": 0.1})["trim"]
    0.1
    """
    goal = params.get("goal", DEFAULT_GOAL)
    check_goal(goal)
    return {"goal": goal, **GOALS[goal], **params}


def check_goal(goal: object) -> None:
    """``goal`` is one of :data:`GOALS`."""
    if goal not in GOALS:
        raise ConfigError(
            f"goal={goal!r} is not allowed; choose one of {', '.join(GOALS)}.",
            hint="--goal "
            + ", ".join(
                f"{name} ({preset.purpose}{', the default' if name == DEFAULT_GOAL else ''})"
                for name, preset in GOALS.items()
            ),
        )

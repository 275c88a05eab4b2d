"""The fit settings every kind shares, in sections: the goal, the network, training, scoring and
the data. Each kind's own settings are declared on its registry line
(:mod:`aefeatures.settings.kinds`)."""

from __future__ import annotations

from aefeatures.goals import DEFAULT_GOAL, GOALS
from aefeatures.settings.declare import Setting
from aefeatures.settings.kinds import KINDS

MAX_THREADS = 1024  # torch threads; more only oversubscribe any machine aefeatures runs on

GOAL: tuple[Setting, ...] = (
    Setting("goal", str, DEFAULT_GOAL, "What the model is for", choices=tuple(GOALS), option=True),
)

NETWORK: tuple[Setting, ...] = (
    Setting("kind", str, "denoising", "Autoencoder kind", choices=KINDS, option=True),
    Setting(
        "latent_dim",
        int | None,
        None,
        "Bottleneck size",
        range=(1, 4096),
        none_means="from the data's width",
        option=True,
    ),
    Setting(
        "hidden",
        tuple[int, ...] | None,
        None,
        "Hidden layer widths of the encoder, mirrored by the decoder",
        none_means="from the data's width",
        option=True,
    ),
    Setting(
        "pca_start",
        bool,
        False,
        "Add a linear path started at PCA's solution; the network learns what PCA's plane misses",
        needs="linear_path",
    ),
    Setting(
        "input_clip",
        float | None,
        3.0,
        "The encoder sees its scaled inputs clipped to +/- this; the loss does not",
        range=(0.1, 1e6),
        none_means="no clipping",
        needs="input_clip",
    ),
)

TRAINING: tuple[Setting, ...] = (
    Setting(
        "trim",
        float,
        0.35,
        "Share of each numeric column's worst cells in a batch left out of the gradient",
        range=(0.0, 0.5),
        needs="training",
    ),
    Setting(
        "epochs",
        int | None,
        None,
        "Maximum epochs (early stopping usually ends sooner)",
        range=(1, 100_000),
        none_means="as many as the steps setting needs",
        needs="training",
        option=True,
    ),
    Setting(
        "steps",
        int,
        4_000,
        "Optimiser steps to budget for when epochs is not given",
        range=(1, 100_000_000),
        needs="training",
    ),
    Setting(
        "epoch_cap",
        int,
        200,
        "Most epochs the steps setting may ask for: a small table sees each row at most this many times",
        range=(1, 100_000),
        needs="training",
    ),
    Setting(
        "batch_size",
        int | None,
        None,
        "Rows per step",
        range=(1, 1_000_000),
        none_means="from the row count",
        option=True,
    ),
    Setting(
        "learning_rate",
        float,
        4e-3,
        "Adam's initial learning rate (cosine decay over the epochs)",
        range=(1e-7, 10.0),
        needs="training",
    ),
    Setting("weight_decay", float, 0.0, "Adam's weight decay", range=(0.0, 1.0), needs="training"),
    Setting(
        "validation_fraction",
        float,
        0.1,
        "Share of rows held out to watch for early stopping",
        range=(0.0, 0.5),
    ),
    Setting(
        "patience",
        int,
        12,
        "Epochs without a better validation loss before training stops",
        range=(1, 100_000),
        needs="training",
    ),
    Setting(
        "max_seconds",
        float | None,
        None,
        "Time budget of training, in seconds",
        range=(0.0, 1e9),
        none_means="no limit",
        needs="training",
    ),
    Setting(
        "seed",
        int,
        0,
        "Random seed; same seed, data and threads give identical models",
        range=(0, 2**63 - 1),
        option=True,
    ),
    Setting("device", str, "auto", "Torch device", choices=("auto", "cpu", "cuda"), option=True),
    Setting(
        "threads",
        int | None,
        None,
        "Torch threads; 1 when other work shares the cores",
        range=(1, MAX_THREADS),
        none_means="all cores",
        option=True,
    ),
)

SCORING: tuple[Setting, ...] = (
    Setting(
        "contamination",
        float,
        0.01,
        "Share of training rows above the outlier threshold",
        range=(0.0, 0.5),
        option=True,
    ),
)

DATA: tuple[Setting, ...] = (
    Setting(
        "max_levels",
        int,
        64,
        "Most levels a categorical column keeps; rarer ones are encoded as other",
        range=(2, 100_000),
    ),
    Setting(
        "min_level_count",
        int,
        5,
        "Fewest training rows a categorical level needs to be kept",
        range=(1, 1_000_000_000),
    ),
    Setting(
        "columns",
        tuple[str, ...] | None,
        None,
        "Feature columns",
        none_means="every usable column",
        option=True,
    ),
    Setting("exclude", tuple[str, ...], (), "Columns to leave out, e.g. ids and labels", option=True),
    Setting("prefix", str, "ae_", "Prefix of the appended columns", option=True),
    Setting(
        "segment_by",
        str | None,
        None,
        "Feature column whose values (stores, countries, tiers) get their own thresholds, percentiles and drift",
        none_means="one set for all rows",
        option=True,
    ),
)

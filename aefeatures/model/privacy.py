"""Did a generator memorise? Distances from synthetic rows to their closest training rows.

Distances are measured where the model measures rows: its encoded inputs (numbers scaled by
their spread, one-hot categories, booleans and missingness indicators as 0/1), divided by the
square root of the number of feature columns so tables of different widths compare. Beside the
median distance from a synthetic row to its closest training row stands the same median between
training rows themselves (each to its closest other row): a generator that copies sits well below
it, one that makes plausible new rows near it.

Examples
--------
>>> import polars as pl, aefeatures as aef
>>> train = pl.DataFrame({"a": [float(i % 11) for i in range(200)], "b": [i % 3 == 0 for i in range(200)]})
>>> model = aef.fit(train, epochs=2, threads=1)
>>> report = closest_rows(model.preprocessor, train.head(20), train)
>>> report["exact_copy_share"], report["median_distance"]
(1.0, 0.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import torch

from aefeatures.features.preprocessor import Preprocessor

MAX_SYNTHETIC_ROWS = 2_000  # synthetic rows whose closest training row is searched (a seeded sample)
MAX_TRAINING_ROWS = 50_000  # training rows searched (a seeded sample above it)
BLOCK_ROWS = 4_096


def closest_rows(
    preprocessor: Preprocessor, synthetic: pl.DataFrame, training: pl.DataFrame, *, seed: int = 0
) -> dict[str, Any]:
    """Median closest-row distance of ``synthetic`` to ``training``, the same among training rows,
    and the share of synthetic rows equal to a training row in every feature column."""
    columns = preprocessor.columns
    synthetic, training = synthetic.select(columns), training.select(columns)
    copies = synthetic.join(training.unique(), on=columns, how="semi", nulls_equal=True).height
    rng = np.random.default_rng(seed)
    fake = _encoded(preprocessor, _at_most(synthetic, MAX_SYNTHETIC_ROWS, rng))
    real = _encoded(preprocessor, _at_most(training, MAX_TRAINING_ROWS, rng))
    reference = real[rng.permutation(len(real))[:MAX_SYNTHETIC_ROWS]]
    return {
        "rows_checked": int(len(fake)),
        "training_rows_searched": int(len(real)),
        "median_distance": _median_closest(fake, real, skip_self=False),
        "median_distance_between_training_rows": _median_closest(reference, real, skip_self=True),
        "exact_copy_share": copies / max(synthetic.height, 1),
    }


def _at_most(frame: pl.DataFrame, rows: int, rng: np.random.Generator) -> pl.DataFrame:
    if frame.height <= rows:
        return frame
    return frame[np.sort(rng.choice(frame.height, rows, replace=False))]


def _encoded(preprocessor: Preprocessor, frame: pl.DataFrame) -> torch.Tensor:
    inputs = preprocessor.encode(frame).inputs
    return torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32)) / np.sqrt(
        len(preprocessor.columns)
    )


def _median_closest(rows: torch.Tensor, real: torch.Tensor, *, skip_self: bool) -> float:
    """Median over ``rows`` of the distance to the closest row of ``real`` (not counting an
    identical row once, when ``rows`` were taken from ``real``)."""
    if len(rows) == 0 or len(real) <= int(skip_self):
        return float("nan")
    best = torch.full((len(rows),), float("inf"))
    second = best.clone()
    for begin in range(0, len(real), BLOCK_ROWS):
        distance = torch.cdist(rows.double(), real[begin : begin + BLOCK_ROWS].double())
        both = torch.cat([best[:, None], second[:, None], distance], dim=1)
        smallest = both.topk(2, dim=1, largest=False).values
        best, second = smallest[:, 0], smallest[:, 1]
    closest = second if skip_self else best
    return float(closest.median())

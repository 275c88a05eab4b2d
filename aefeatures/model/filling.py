"""Missing cells filled from the model: its reconstruction written back into the network inputs.

A missing cell reaches the network as the training centre (and, where fit saw missing values, a
missingness indicator). The network's guess for the cell from the row's other columns is better
than the centre, and the guess improves once the row's other holes are filled too, so filling
runs a few rounds: reconstruct, write the guesses into the holes, reconstruct again. Only rows
with a hole are reconstructed, and a row's fill depends on that row alone (every network call
takes :data:`~aefeatures.model.batches.SCORE_ROWS` rows), so filling keeps scores batch-invariant.

Examples
--------
>>> import aefeatures as aef, numpy as np, polars as pl
>>> x = np.random.default_rng(0).normal(size=300)
>>> model = aef.fit(pl.DataFrame({"a": x, "b": 2 * x}), goal="features", epochs=30, threads=1)
>>> encoded = model.preprocessor.encode(pl.DataFrame({"a": [1.0], "b": [None]}, schema={"a": pl.Float64, "b": pl.Float64}))
>>> filled = fill_holes(model.net, model.preprocessor.terms, encoded.inputs, encoded.observed)
>>> bool(filled[0, 1] > 0.5)  # b is about 2 when a is 1: well above its centre (0 once scaled)
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from aefeatures.features.preprocessor import Preprocessor
from aefeatures.features.types import Term
from aefeatures.model.batches import reconstruct
from aefeatures.nn.network import Autoencoder

FILL_ROUNDS = 5  # reconstruct -> fill rounds: the fills stop moving after about five


def fill_holes(
    net: Autoencoder,
    terms: Sequence[Term],
    inputs: np.ndarray,
    observed: np.ndarray,
    rounds: int = FILL_ROUNDS,
) -> np.ndarray:
    """``inputs`` (n, D) with the value positions of every missing cell replaced by the network's
    guess, refined over ``rounds`` rounds; missingness indicators stay as they are (the cell was
    missing). Rows without a hole are returned unchanged (bitwise); ``inputs`` is not modified.
    """
    holed = np.flatnonzero(~observed.all(axis=1))
    if holed.size == 0 or rounds == 0:
        return inputs
    rows, holes = inputs[holed].copy(), ~observed[holed]
    for _ in range(rounds):
        write_guesses(rows, reconstruct(net, rows), terms, holes)
    filled = inputs.copy()
    filled[holed] = rows
    return filled


def write_guesses(inputs: np.ndarray, recon: np.ndarray, terms: Sequence[Term], holes: np.ndarray) -> None:
    """Write the reconstruction of each hole's value terms into ``inputs`` as an encoded value:
    a scaled number, 0/1 for a boolean, the one-hot of the most likely kept level."""
    for term in terms:
        rows = np.flatnonzero(holes[:, term.column])
        if term.is_indicator or rows.size == 0:
            continue
        start, stop = term.start, term.start + term.width
        if term.loss == "mse":
            inputs[rows, start] = recon[rows, start]
        elif term.loss == "bce":
            inputs[rows, start] = recon[rows, start] > 0.0
        else:
            kept = term.width - 2  # the block ends with the rare and unknown levels
            block = np.zeros((rows.size, term.width), np.float32)
            if kept > 0:
                block[np.arange(rows.size), np.argmax(recon[rows, start : start + kept], axis=1)] = 1.0
            inputs[rows, start:stop] = block


def fill_frame(
    net: Autoencoder, preprocessor: Preprocessor, features: pl.DataFrame, rounds: int = FILL_ROUNDS
) -> tuple[pl.DataFrame, np.ndarray]:
    """The feature columns with every missing cell (null, or NaN in a float column) filled in the
    column's own dtype, present cells bitwise as they were; and how many cells of each row were filled.

    Examples
    --------
    >>> import aefeatures as aef, polars as pl
    >>> df = pl.DataFrame({"n": [1, 2, 3, 4] * 50, "c": ["a", "b", "a", "b"] * 50})
    >>> model = aef.fit(df, epochs=2, threads=1)
    >>> filled, counts = fill_frame(model.net, model.preprocessor, pl.DataFrame({"n": [None, 7], "c": ["a", None]}))
    >>> filled.dtypes, filled["n"][1], counts.tolist()
    ([Int64, String], 7, [1, 1])
    """
    encoded = preprocessor.encode(features)
    holes = ~encoded.observed
    counts = holes.sum(axis=1).astype(np.int32)
    if not holes.any():
        return features, counts
    guesses = preprocessor.decode(
        fill_holes(net, preprocessor.terms, encoded.inputs, encoded.observed, rounds)
    )
    filled = [
        pl.when(pl.lit(pl.Series(holes[:, c]))).then(guesses[name]).otherwise(pl.col(name)).alias(name)
        for c, name in enumerate(preprocessor.columns)
        if holes[:, c].any()
    ]
    return features.with_columns(filled), counts

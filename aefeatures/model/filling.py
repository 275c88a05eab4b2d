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
>>> model = aef.fit(pl.DataFrame({"a": x, "b": 2 * x, "c": -x}), epochs=30, threads=1)
>>> encoded = model.preprocessor.encode(pl.DataFrame({"a": [1.0], "b": [None], "c": [-1.0]}, schema=dict.fromkeys("abc", pl.Float64)))
>>> filled = fill_holes(model.net, model.preprocessor.terms, encoded.inputs, encoded.observed)
>>> bool(filled[0, 1] > 0.5)  # b is about 2 when a is 1: well above its centre (0 once scaled)
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from aefeatures.errors import DataError
from aefeatures.features.preprocessor import Preprocessor
from aefeatures.features.types import Term
from aefeatures.model.batches import correction, gaussian_fill, reconstruct
from aefeatures.nn.network import Autoencoder

FILL_ROUNDS = 5  # reconstruct -> fill rounds: the fills stop moving after about five
# A network trained to read masked cells (noise "masking") fills a hole in one pass; the fill is
# the mean of this many passes, each with a different share of the row's present cells hidden too
# (with a Gaussian start 2 fill as well as 4 and twice as fast: see predict_holes).
FILL_VIEWS = 2
# A scaled guess is kept within this many robust standard deviations of the column's centre: fed
# back round after round, the guesses for a row with most cells missing can otherwise run away
# (seen: a penguin with every measurement missing filled with a body mass of 13 kg).
FILL_LIMIT = 4.0


def fill_holes(
    net: Autoencoder,
    terms: Sequence[Term],
    inputs: np.ndarray,
    observed: np.ndarray,
    rounds: int = FILL_ROUNDS,
) -> np.ndarray:
    """``inputs`` (n, D) as the network should see them: the value positions of every missing
    cell replaced by the network's guess, refined over ``rounds`` rounds. The first round reads
    the row as encoded (centre and missingness indicator, which training taught the network to
    read as "unknown"); in the rounds after, the row is shown complete, its indicators cleared, so
    the network reads the guesses as values (without this, a row missing most of its cells ran
    away: a penguin with every measurement missing got a body mass of 13 kg). The indicators are
    given back at the end: what is returned is the encoded row with its holes filled. Rows
    without a hole are returned unchanged (bitwise); ``inputs`` is not modified.
    """
    holed = np.flatnonzero(~observed.all(axis=1))
    if holed.size == 0 or rounds == 0:
        return inputs
    rows, holes = inputs[holed].copy(), ~observed[holed]
    for _ in range(rounds):
        write_guesses(rows, reconstruct(net, rows), terms, holes)
    indicators = [t.start for t in terms if t.is_indicator]
    rows[:, indicators] = inputs[holed][:, indicators]
    filled = inputs.copy()
    filled[holed] = rows
    return filled


def predict_holes(
    net: Autoencoder,
    terms: Sequence[Term],
    inputs: np.ndarray,
    observed: np.ndarray,
    views: int = FILL_VIEWS,
) -> np.ndarray:
    """``inputs`` (n, D) with the value positions of every missing cell replaced by the mean of
    the network's guesses over ``views`` views of the row, for a network trained to read masked
    cells (goal ``imputation``: cells blanked as missing, the loss on their true values).

    Such a network's guess from the row as encoded is already its estimate of the hole given the
    present cells, so there is no reconstruct -> fill iteration (fed its own guesses as values,
    which it never saw in training, it drifted: +0.1 normalised RMSE on penguins and wine). View
    ``v`` hides the present cells of columns ``v, v + views, ...`` as well, so every view is a
    masking the network was trained on and each present cell is left out of one view (``views=1``:
    the row as encoded, nothing more hidden): the mean of the views is a small ensemble. With a
    Gaussian start (``gaussian_start``) the linear part of the fill comes from every present
    cell and the views vary the network's correction only; measured on 10 benchmark tables x 2
    masks, mean normalised RMSE 0.611 with 1 view, 0.602 with 2 and 0.603 with 4, and 2 views
    fill twice as fast as 4 (benchmarks/README.md, "Imputation"). A view's input is completed
    under the row's most likely mixture component alone (the one the first solve weighs highest):
    the same fills within the seed noise on 17 tables, at one component's cost instead of all of
    them. The views depend on the column order only, so a row's fill depends on that row alone.
    Rows without a hole are returned unchanged (bitwise); ``inputs`` is not modified.

    Examples
    --------
    >>> import aefeatures as aef, numpy as np, polars as pl
    >>> x = np.random.default_rng(0).normal(size=300)
    >>> model = aef.fit(pl.DataFrame({"a": x, "b": 2 * x, "c": -x}), goal="imputation", steps=300, threads=1)
    >>> holed = pl.DataFrame({"a": [1.0], "b": [None], "c": [-1.0]}, schema={n: pl.Float64 for n in "abc"})
    >>> encoded = model.preprocessor.encode(holed)
    >>> filled = predict_holes(model.net, model.preprocessor.terms, encoded.inputs, encoded.observed)
    >>> bool(filled[0, 1] > 0.5)  # b is about 2 when a is 1: well above its centre (0 once scaled)
    True
    """
    holed = np.flatnonzero(~observed.all(axis=1))
    if holed.size == 0:
        return inputs
    rows, holes = inputs[holed], ~observed[holed]
    column = np.zeros(inputs.shape[1], np.int64)
    indicator = np.zeros(inputs.shape[1], bool)
    for term in terms:
        column[term.start : term.start + term.width] = term.column
        indicator[term.start : term.start + term.width] = term.is_indicator
    blank = indicator.astype(np.float32)  # a missing cell: value positions 0, indicator 1
    in_holes = holes[:, column]  # (rows, D): the positions of each row's missing cells
    total = np.zeros(rows.shape, np.float32)
    # with a Gaussian start, the linear part from every present cell, and each row's most likely component
    full, chosen = gaussian_fill(net, rows, in_holes) if net.gaussian is not None else (None, None)
    for view in range(views):
        common = (column % views == view) & (views > 1)  # the present columns this view hides too
        shown, hidden = rows.copy(), in_holes | common
        np.copyto(shown, blank, where=hidden)
        # the views vary the network's part; its input completed under the row's component only
        recon = (
            reconstruct(net, shown, hidden)
            if full is None or chosen is None
            else full + correction(net, shown, hidden, common, chosen)
        )
        guesses = np.zeros(rows.shape, np.float32)
        write_guesses(guesses, recon, terms, holes)
        total += guesses
    filled = inputs.copy()
    filled[holed] = np.where(in_holes & ~indicator, total / views, rows)
    return filled


def write_guesses(inputs: np.ndarray, recon: np.ndarray, terms: Sequence[Term], holes: np.ndarray) -> None:
    """Write the reconstruction of each hole's value terms into ``inputs`` as an encoded value
    (a scaled number within :data:`FILL_LIMIT`, the probability of a boolean, the probabilities
    of the kept levels) and clear its missingness indicator.

    Probabilities rather than a hard 0/1 or one-hot: a guess then moves smoothly with the row, so
    the last bit of a product (which differs between thread counts) cannot flip a level and
    change the row's scores; decoding takes the most likely level in the end.
    """
    for term in terms:
        rows = np.flatnonzero(holes[:, term.column])
        if rows.size == 0:
            continue
        start, stop = term.start, term.start + term.width
        if term.is_indicator:
            inputs[rows, start] = 0.0
        elif term.loss == "mse":
            inputs[rows, start] = np.clip(recon[rows, start], -FILL_LIMIT, FILL_LIMIT)
        elif term.loss == "bce":
            inputs[rows, start] = 1.0 / (1.0 + np.exp(-recon[rows, start]))
        else:
            kept = term.width - 2  # the block ends with the rare and unknown levels
            block = np.zeros((rows.size, term.width), np.float32)
            if kept > 0:
                logits = recon[rows, start : start + kept]
                odds = np.exp(logits - logits.max(axis=1, keepdims=True))
                block[:, :kept] = odds / odds.sum(axis=1, keepdims=True)
            inputs[rows, start:stop] = block


def as_outputs(filled: np.ndarray, terms: Sequence[Term]) -> np.ndarray:
    """Filled inputs in the network's output form, ready to decode: a boolean's probability as
    its logit (numbers and level probabilities decode as they are)."""
    out = filled.copy()
    for term in terms:
        if term.loss == "bce" and not term.is_indicator:
            p = np.clip(out[:, term.start].astype(np.float64), 1e-7, 1 - 1e-7)
            out[:, term.start] = np.log(p / (1.0 - p))
    return out


def fill_frame(
    net: Autoencoder, preprocessor: Preprocessor, features: pl.DataFrame, *, masked: bool = False
) -> tuple[pl.DataFrame, np.ndarray]:
    """The feature columns with every missing cell (null, or NaN in a float column) filled in the
    column's own dtype, present cells bitwise as they were; and how many cells of each row were filled.

    ``masked``: the network was trained to read masked cells (noise ``masking``, as goal
    ``imputation`` trains), so holes are filled by :func:`predict_holes`; otherwise by the
    reconstruct -> fill rounds of :func:`fill_holes`.

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
    fill = predict_holes if masked else fill_holes
    filled_inputs = fill(net, preprocessor.terms, encoded.inputs, encoded.observed)
    guesses = preprocessor.decode(as_outputs(filled_inputs, preprocessor.terms))
    filled = [
        pl.when(pl.lit(pl.Series(holes[:, c]))).then(guesses[name]).otherwise(pl.col(name)).alias(name)
        for c, name in enumerate(preprocessor.columns)
        if holes[:, c].any()
    ]
    return features.with_columns(filled), counts


def in_input_dtypes(frame: pl.DataFrame, features: pl.DataFrame, filled: pl.DataFrame) -> list[pl.Series]:
    """The ``filled`` feature columns in the dtypes of ``frame``, the input ``features`` came from.

    Validation converts some input columns to the model's dtype (numbers written as text, Int32
    where fit saw Int64, a Date where it saw a Datetime). Such a column keeps its dtype and its
    present cells exactly as they were; only its holes (null, or NaN where ``features`` holds a
    float) take the fills, cast to the input's dtype. A column of dtype Null has no cell to keep
    and takes the model's dtype.

    Examples
    --------
    >>> frame = pl.DataFrame({"n": ["1.50", None]})
    >>> features = pl.DataFrame({"n": [1.5, None]})
    >>> in_input_dtypes(frame, features, pl.DataFrame({"n": [1.5, 2.25]}))[0].to_list()
    ['1.50', '2.25']
    """
    columns = []
    for name in filled.columns:
        dtype, column = frame.schema[name], filled[name]
        if dtype == column.dtype or dtype == pl.Null:
            columns.append(column)
            continue
        hole = features[name].is_null()
        if features.schema[name].is_float():
            hole = hole | features[name].is_nan()
        fills = column.zip_with(hole, column.clear(len(column)))
        try:
            cast = fills.cast(dtype, strict=True)
        except pl.exceptions.PolarsError:
            lost = fills.filter(fills.is_not_null() & fills.cast(dtype, strict=False).is_null())
            raise DataError(
                f"column {name!r} is {dtype} in the data, which cannot hold the model's fill "
                f"{lost[0] if len(lost) else '(a value)'!r} (the model's column is {column.dtype}).",
                hint=f"cast the column to the model's type first (pl.col({name!r}).cast(pl.{column.dtype!r})), "
                "or fill it in its own type yourself",
            ) from None
        columns.append(cast.zip_with(hole, frame[name]))
    return columns

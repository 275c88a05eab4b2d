"""Filling holes with a network trained on masked cells (goal imputation): one pass, averaged views."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

import aefeatures as aef
from aefeatures.model.batches import reconstruct
from aefeatures.model.filling import as_outputs, predict_holes
from tests.helpers import make_mixed


def test_views_average_guesses_from_the_row_and_from_rows_with_more_hidden(tmp_path: Path) -> None:
    path = tmp_path / "mixed.parquet"
    make_mixed(rows=400).drop("id", "label").write_parquet(path)
    model = aef.fit(path, goal="imputation", steps=200, threads=1)
    truth = pl.read_parquet(path).drop_nulls().head(50)  # income's own holes left out
    holed = truth.with_columns(pl.lit(None, dtype=pl.Float64).alias("y"))
    encoded = model.preprocessor.encode(holed)
    terms = model.preprocessor.terms
    y = model.preprocessor.columns.index("y")
    at = next(t.start for t in terms if t.column == y and not t.is_indicator)
    one = predict_holes(model.net, terms, encoded.inputs, encoded.observed, views=1)
    # One view is the network's guess from the row as encoded, nothing else hidden (y had no
    # holes at fit, so no indicator says it is missing: the fill names it).
    hidden = np.zeros(encoded.inputs.shape, bool)
    hidden[:, at] = True
    assert np.array_equal(one[:, at], reconstruct(model.net, encoded.inputs, hidden)[:, at].clip(-4, 4))
    four = predict_holes(model.net, terms, encoded.inputs, encoded.observed, views=4)
    assert not np.array_equal(four[:, at], one[:, at])  # three views hid present columns too
    others = [p for p in range(encoded.inputs.shape[1]) if p != at]
    assert np.array_equal(four[:, others], encoded.inputs[:, others])  # only the hole's value changed
    filled = model.preprocessor.decode(as_outputs(four, terms))["y"]
    assert float(((filled - truth["y"]) ** 2).mean()) < 0.5 * float(
        truth["y"].var()
    )  # y follows x and segment


def test_a_column_constant_at_fit_is_filled_and_expected_as_its_value() -> None:
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"x": rng.normal(size=200), "y": rng.normal(size=200), "k": [7] * 200})
    model = aef.fit(frame, epochs=3, threads=1, seed=0)  # any goal: the decode knows the column
    holed = pl.DataFrame({"x": [0.5, None], "y": [1.0, 2.0], "k": [None, None]}, schema=frame.schema)
    filled = model.impute(holed)
    assert filled["k"].to_list() == [7, 7] and filled["k"].dtype == pl.Int64
    expected = model.transform(frame.head(3), expected=True)
    assert expected["ae_expected__k"].to_list() == [7, 7, 7]

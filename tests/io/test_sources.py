"""Inputs other than polars: pandas and pyarrow tables give the values polars gives."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from polars.testing import assert_frame_equal

import aefeatures as aef


def test_pandas_and_pyarrow_give_the_polars_values(model: aef.AutoencoderModel, mixed_parquet: Path) -> None:
    polars_out = model.transform(pl.read_parquet(mixed_parquet), per_feature_errors=True)
    table = pq.read_table(mixed_parquet)
    arrow_out = model.transform(table, per_feature_errors=True)
    pandas_out = model.transform(table.to_pandas(), per_feature_errors=True)
    new = model.output_names(per_feature_errors=True)
    assert_frame_equal(pl.DataFrame(pl.from_arrow(arrow_out)).select(new), polars_out.select(new))
    assert_frame_equal(pl.from_pandas(pandas_out).select(new), polars_out.select(new))
    assert list(pandas_out.columns) == polars_out.columns

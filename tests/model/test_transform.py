"""Transform appends the contract's columns to every supported input type, keeping rows and columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import aefeatures as aef
from aefeatures.errors import DataError, SchemaValidationError
from tests.helpers import make_mixed


def test_appends_contract_columns_and_keeps_inputs_in_order(model: aef.AutoencoderModel) -> None:
    frame = make_mixed(300, seed=5)
    out = model.transform(frame, per_feature_errors=True)
    k = model.latent_dim
    appended = [f"ae_z{i}" for i in range(k)] + ["ae_error", "ae_error_pct", "ae_outlier"]
    appended += [f"ae_error__{c}" for c in model.columns]
    assert out.columns == frame.columns + appended
    assert out.select(frame.columns).equals(frame)  # inputs untouched, row order kept
    assert all(out.schema[f"ae_z{i}"] == pl.Float32 for i in range(k))
    assert out.schema["ae_error"] == pl.Float64 and out.schema["ae_error_pct"] == pl.Float64
    assert out.schema["ae_outlier"] == pl.Boolean
    assert out["ae_error_pct"].min() >= 0 and out["ae_error_pct"].max() <= 100
    assert (out["ae_outlier"] == (out["ae_error"] > model.threshold)).all()
    # ae_error is the mean of the per-column errors (every column is observed or has an indicator).
    per_column = out.select([f"ae_error__{c}" for c in model.columns]).to_numpy()
    np.testing.assert_allclose(per_column.mean(axis=1), out["ae_error"].to_numpy(), rtol=1e-6)


def test_per_feature_error_points_at_the_broken_column(model: aef.AutoencoderModel) -> None:
    frame = make_mixed(200, seed=6)
    broken = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 7).then(pl.col("y") + 40).otherwise(pl.col("y")).alias("y")
    )
    out = model.transform(broken, per_feature_errors=True)
    row = out.row(7, named=True)
    per_column = {c: row[f"ae_error__{c}"] for c in model.columns}
    assert max(per_column, key=per_column.__getitem__) == "y"
    assert row["ae_outlier"] and row["ae_error_pct"] > 99


def test_every_input_type_gives_the_same_values(model: aef.AutoencoderModel, tmp_path: Path) -> None:
    frame = make_mixed(257, seed=7)
    expected = model.transform(frame)
    path = tmp_path / "in.parquet"
    frame.write_parquet(path)
    from_path = model.transform(path)
    from_pandas = pl.from_pandas(model.transform(frame.to_pandas()))
    from_arrow = pl.from_arrow(model.transform(frame.to_arrow()))
    from_lazy = model.transform(frame.lazy())
    assert isinstance(from_lazy, pl.LazyFrame)
    for other in (from_path, from_arrow):
        assert other.equals(expected)
    # polars may hand the lazy path differently sized batches; matrix products of another shape
    # round differently in the last bits, so the lazy values are equal to float precision.
    lazy = from_lazy.collect()
    assert lazy.select(frame.columns).equals(frame) and lazy.columns == expected.columns
    assert lazy["ae_outlier"].equals(expected["ae_outlier"])
    for name in ("ae_error", "ae_error_pct", "ae_z0"):
        np.testing.assert_allclose(lazy[name].to_numpy(), expected[name].to_numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(from_pandas["ae_error"].to_numpy(), expected["ae_error"].to_numpy())
    batch = frame.to_arrow().to_batches()[0]
    assert pl.from_arrow(model.transform_batch(batch)).equals(expected)


def test_lazy_frame_stays_lazy_and_streams_to_parquet(model: aef.AutoencoderModel, tmp_path: Path) -> None:
    source = tmp_path / "big.parquet"
    pl.concat([make_mixed(500, seed=s) for s in range(4)]).write_parquet(source, row_group_size=300)
    lazy = pl.scan_parquet(source).pipe(model.transform)
    assert lazy.collect_schema()["ae_error"] == pl.Float64
    sink = tmp_path / "out.parquet"
    lazy.sink_parquet(sink)
    eager = model.transform(pl.read_parquet(source))
    assert pl.read_parquet(sink).equals(eager)


def test_transform_is_deterministic(model: aef.AutoencoderModel) -> None:
    frame = make_mixed(100, seed=8)
    assert model.transform(frame).equals(model.transform(frame))


def test_unseen_categories_and_drifted_values_still_score(model: aef.AutoencoderModel) -> None:
    frame = make_mixed(50, seed=9).with_columns(
        pl.lit("platinum").alias("segment"), (pl.col("x") * 100).alias("x")
    )
    out = model.transform(frame, per_feature_errors=True)
    assert out.height == 50 and out["ae_error"].is_finite().all()
    assert (
        out["ae_error__segment"].min()
        > model.transform(make_mixed(50, seed=9), per_feature_errors=True)["ae_error__segment"].max()
    )


def test_missing_column_and_wrong_type_are_reported_together(model: aef.AutoencoderModel) -> None:
    frame = make_mixed(20).drop("x").with_columns(pl.lit("abc").alias("count"))
    with pytest.raises(SchemaValidationError) as caught:
        model.transform(frame)
    message = str(caught.value)
    assert "'x'" in message and "missing" in message
    assert "'count'" in message
    assert {f["column"] for f in caught.value.failures} >= {"x", "count"}


def test_existing_feature_columns_are_not_silently_overwritten(model: aef.AutoencoderModel) -> None:
    once = model.transform(make_mixed(20))
    with pytest.raises(DataError, match="ae_"):
        model.transform(once)


def test_zero_rows_transform_to_zero_rows_with_the_output_schema(
    model: aef.AutoencoderModel, tmp_path: Path
) -> None:
    empty = make_mixed(10).head(0)
    out = model.transform(empty)
    assert out.height == 0 and out.schema == model.output_schema(empty.schema)
    table = model.transform(empty.to_arrow())
    assert isinstance(table, pa.Table) and table.num_rows == 0
    path = tmp_path / "empty.parquet"
    pq.write_table(empty.to_arrow(), path)
    assert model.transform(path).height == 0

"""Hostile schemas and types: empty or partial schema files, time zones, Float16, Object columns,
and drift that is not drift (levels folded into ``rare`` at fit were seen, not new)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import aefeatures as aef
import aefeatures.features.types.categorical as columns
from aefeatures.errors import DataError, DriftError, SchemaValidationError
from aefeatures.features.columns import learn_spec
from aefeatures.features.types.categorical import CategoricalSpec, value_hashes
from aefeatures.schema.schemas import load_schema_file
from aefeatures.transform.streaming import transform_path


def unseen_count(spec: CategoricalSpec, series: pl.Series) -> float:
    """The unseen values drift counts: from the level counts the spec declares for drift."""
    codes = spec.drift_codes(series)
    return spec.drift_unseen(np.bincount(codes[codes >= 0], minlength=len(spec.drift_labels())))


FIT: dict[str, Any] = {"epochs": 1, "threads": 1, "seed": 0}


def numbers(rows: int = 200, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({"x": rng.normal(size=rows), "y": rng.normal(size=rows)})


# --- schema files ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "schema_type: polars_dataframe\napi: polars\ncolumns: {}\n"],
    ids=["empty-file", "no-columns"],
)
def test_a_schema_that_validates_nothing_is_refused(tmp_path: Path, text: str) -> None:
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(DataError, match="defines no columns"):
        load_schema_file(tmp_path / "s.yaml")
    with pytest.raises(DataError, match="defines no columns"):
        aef.fit(numbers(), schema=tmp_path / "s.yaml", **FIT)


PARTIAL = """schema_type: polars_dataframe
api: polars
coerce: true
columns:
  x:
    dtype: Float64
"""


@pytest.mark.parametrize("stream", [False, True])
def test_a_schema_missing_a_feature_is_completed_so_every_feature_is_validated(
    tmp_path: Path, stream: bool
) -> None:
    (tmp_path / "s.yaml").write_text(PARTIAL)
    numbers().with_columns(y=pl.col("y").cast(pl.Float32)).write_parquet(tmp_path / "d.parquet")
    model = aef.fit(tmp_path / "d.parquet", schema=tmp_path / "s.yaml", stream=stream, **FIT)
    assert {name: str(c.dtype) for name, c in model.schema.columns.items()} == {
        "x": "Float64",
        "y": "Float32",
    }
    again = aef.load(model.save(tmp_path / "m"))
    bad = numbers().with_columns(pl.lit("n/a").alias("y"))
    with pytest.raises(SchemaValidationError, match="column 'y'"):
        again.transform(bad)
    assert again.transform(numbers().with_columns(pl.col("y").cast(pl.Float32))).height == 200


def test_a_regex_schema_column_covers_the_features_it_matches() -> None:
    import pandera.polars as pa_polars

    schema = pa_polars.DataFrameSchema({"[xy]": pa_polars.Column(pl.Float64, regex=True)}, coerce=True)
    assert aef.fit(numbers(), schema=schema, **FIT).columns == ["x", "y"]


def test_an_old_model_whose_schema_misses_a_feature_names_it(tmp_path: Path) -> None:
    model = aef.fit(numbers(), **FIT)
    model.schema = model.schema.remove_columns(["y"])  # as fitted with a partial schema before
    text = numbers().with_columns(pl.col("y").cast(pl.String))
    with pytest.raises(DataError, match="column 'y' is String, but the model reads it as a numeric column"):
        model.transform(text)
    text.write_parquet(tmp_path / "t.parquet")
    with pytest.raises(DataError, match="column 'y' is String"):
        transform_path(model, tmp_path / "t.parquet", tmp_path / "o.parquet")
    assert not (tmp_path / "o.parquet").exists()
    assert model.transform(numbers().with_columns(pl.col("y").round().cast(pl.Int64))).height == 200


# --- time zones ------------------------------------------------------------------------------------


def stamps(zone: str | None, rows: int = 200) -> pl.DataFrame:
    times = pl.datetime_range(datetime(2025, 1, 1), datetime(2025, 2, 1), "1h", eager=True, time_zone="UTC")
    times = times.head(rows)
    if zone is None:
        times = times.dt.replace_time_zone(None)
    elif zone != "UTC":
        times = times.dt.convert_time_zone(zone)
    return numbers(rows).with_columns(t=times)


@pytest.mark.parametrize(
    ("fitted", "given", "says"),
    [
        ("UTC", "Europe/Paris", "the model's column has 'UTC', the data 'Europe/Paris'"),
        ("UTC", None, "the model's column has 'UTC', the data no time zone (naive)"),
        (None, "UTC", "the model's column has no time zone (naive), the data 'UTC'"),
        ("Europe/Paris", "UTC", "convert_time_zone('Europe/Paris')"),
    ],
)
def test_a_different_time_zone_is_a_schema_error(fitted: str | None, given: str | None, says: str) -> None:
    model = aef.fit(stamps(fitted), **FIT)
    with pytest.raises(SchemaValidationError, match="column 't'") as info:
        model.transform(stamps(given))
    message = str(info.value)
    assert says in message and "time zones differ" in message
    assert model.transform(stamps(fitted)).height == 200


def test_dates_are_naive() -> None:
    dates = stamps(None).with_columns(pl.col("t").dt.date())
    with pytest.raises(
        SchemaValidationError, match=r"\.cast\(pl\.Datetime\)\.dt\.replace_time_zone\('UTC'\)"
    ):
        aef.fit(stamps("UTC"), **FIT).transform(dates)
    assert aef.fit(stamps(None), **FIT).transform(dates).height == 200  # a date is a naive midnight


def test_a_streamed_transform_refuses_a_time_zone_and_writes_nothing(tmp_path: Path) -> None:
    model = aef.fit(stamps("UTC"), **FIT)
    stamps("Europe/Paris").write_parquet(tmp_path / "paris.parquet")
    with pytest.raises(SchemaValidationError, match="time zones differ"):
        transform_path(model, tmp_path / "paris.parquet", tmp_path / "out.parquet")
    assert not (tmp_path / "out.parquet").exists()


# --- Float16 and Object ----------------------------------------------------------------------------


def test_float16_is_read_exactly_as_float32(tmp_path: Path) -> None:
    half = np.random.default_rng(1).normal(size=200).astype(np.float16)
    table = pa.table({"h": pa.array(half), "x": numbers()["x"].to_arrow()})
    pq.write_table(table, tmp_path / "half.parquet")
    for source in (tmp_path / "half.parquet", pl.read_parquet(tmp_path / "half.parquet")):
        model = aef.fit(source, **FIT)
        spec = model.preprocessor.specs[0]
        assert (spec.name, spec.kind, spec.dtype) == ("h", "numeric", "Float32")
        assert str(model.schema.columns["h"].dtype) == "Float32"
    summary = transform_path(model, tmp_path / "half.parquet", tmp_path / "out.parquet", on_drift="fail")
    assert summary.rows == 200
    assert pl.read_parquet_schema(tmp_path / "out.parquet")["h"] == pl.Float16  # the input column is kept


def test_an_object_column_is_named_with_the_fix() -> None:
    model = aef.fit(numbers(), **FIT)
    objects = numbers().with_columns(x=pl.Series("x", [1.0] * 200, dtype=pl.Object))
    with pytest.raises(SchemaValidationError, match="column 'x'.*Object column holds Python objects"):
        model.transform(objects)
    with pytest.raises(DataError, match="column 'x' has type Object.*Python objects"):
        aef.fit(objects, columns=["x", "y"], **FIT)
    assert aef.fit(objects, **FIT).columns == ["y"]  # skipped, with a warning naming it


# --- drift of rare levels --------------------------------------------------------------------------


def one_offs(rows: int = 6000, prefix: str = "id") -> pl.DataFrame:
    """Half the rows one frequent level, the other half thousands of levels seen once each."""
    rng = np.random.default_rng(2)
    return pl.DataFrame(
        {
            "c": [f"{prefix}{i}" if i % 2 else "common" for i in range(rows)],
            "x": rng.normal(size=rows),
        }
    )


def test_levels_folded_into_rare_at_fit_are_not_drift(tmp_path: Path) -> None:
    one_offs().write_parquet(tmp_path / "train.parquet")
    model = aef.fit(tmp_path / "train.parquet", **FIT)
    spec = model.preprocessor.specs[0]
    assert len(spec.rare_levels) == columns.MAX_STORED_RARE and spec.rare_hashes
    assert spec.rare_hash_limit is None and spec.seen_share == 1.0
    summary = transform_path(model, tmp_path / "train.parquet", tmp_path / "out.parquet", on_drift="fail")
    assert summary.rows == 6000
    assert model.drift(one_offs(), on_drift="fail")["unseen_rate"].to_list()[0] == 0.0
    # genuinely new values still count
    fresh = one_offs().with_columns(
        c=pl.when(pl.int_range(6000) % 10 == 1)
        .then(pl.lit("new") + pl.int_range(6000).cast(pl.String))
        .otherwise(pl.col("c"))
    )
    assert model.drift(fresh, on_drift="ignore")["unseen_rate"].to_list()[0] == pytest.approx(0.1)
    with pytest.raises(DriftError, match="10.0% of values are categories unseen"):
        model.drift(fresh, on_drift="fail")


def test_hashed_rare_levels_encode_as_rare_and_round_trip(tmp_path: Path) -> None:
    model = aef.fit(one_offs(), **FIT)
    path = model.save(tmp_path / "m")
    again = aef.load(path)
    assert again.preprocessor.specs == model.preprocessor.specs
    encoded = again.preprocessor.encode(pl.DataFrame({"c": ["id5999", "id1", "never", None], "x": [0.0] * 4}))
    rare, unknown = len(model.preprocessor.specs[0].levels), len(model.preprocessor.specs[0].levels) + 1
    assert encoded.targets[:, 0].tolist() == [rare, rare, unknown, -1]


def test_beyond_the_hash_cap_the_unseen_rate_is_estimated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columns, "MAX_STORED_RARE", 50)
    monkeypatch.setattr(columns, "MAX_RARE_HASHES", 2000)
    train = pl.Series("c", [f"v{i}" for i in range(20_000)] + ["a"] * 20_000)
    spec = learn_spec(train, max_levels=64, min_level_count=5)
    assert spec.rare_hash_limit is not None and 0 < spec.seen_share < 1
    assert unseen_count(spec, train) == 0  # the training values themselves: nothing unseen
    new = pl.Series("c", [f"w{i}" for i in range(20_000)] + ["a"] * 20_000)
    assert unseen_count(spec, new) / 40_000 == pytest.approx(0.5, abs=0.05)


def test_value_hashes_are_stable() -> None:
    # BLAKE2b-32 of the UTF-8 text: stored models depend on these never changing.
    assert value_hashes(["", "a", "ünï"]).tolist() == [634351890, 1431053258, 2899286801]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("import pandera.polars as pa\nclass S(pa.DataFrameModel)\n    x: float\n", "syntax error at line 2"),
        ("import no_such_package_here\n", "imports 'no_such_package_here', which is not installed"),
        ("raise RuntimeError('boom')\n", "failed while it was run: RuntimeError: boom"),
    ],
)
def test_a_broken_python_schema_file_is_a_clear_error(tmp_path: Path, source: str, message: str) -> None:
    path = tmp_path / "schema.py"
    path.write_text(source)
    with pytest.raises(DataError, match=message):
        load_schema_file(path)

"""The registry of column types: dtype matching, JSON forms, and a new type added from outside.

:class:`DurationSpec` below is a toy type (durations as scaled seconds) registered for one test
with one line, to show that a type needs its module and its registry line, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from aefeatures.errors import DataError
from aefeatures.features.columns import check_feature_types, learn_spec
from aefeatures.features.preprocessor import Preprocessor, select_features
from aefeatures.features.types import TYPES, ColumnSpec, LearnOptions, describe, get, spec_from_dict, type_of
from aefeatures.features.types.base import robust_center_scale
from aefeatures.features.types.categorical import CategoricalSpec
from aefeatures.features.types.dtypes import parse_dtype
from aefeatures.features.types.numeric import NumericSpec
from aefeatures.schema.drift import drift_summary, training_statistics


@dataclass(frozen=True)
class DurationSpec(ColumnSpec):
    """Durations as robust-scaled seconds (a toy type for the test)."""

    kind = "duration"
    takes = "duration"

    center: float = 0.0
    scale: float = 1.0

    @classmethod
    def accepts(cls, dtype: pl.DataType) -> bool:
        return isinstance(dtype, pl.Duration)

    @classmethod
    def learn(cls, series: pl.Series, options: LearnOptions) -> DurationSpec:
        center, scale = robust_center_scale(_seconds(series))
        return cls(**cls.common(series), center=center, scale=scale)

    def encode_values(self, series: pl.Series, missing: np.ndarray, block: np.ndarray) -> None:
        block[:, 0] = np.where(missing, 0.0, (_seconds(series) - self.center) / self.scale)

    def decode(self, block: np.ndarray) -> pl.Series:
        micros = np.rint((block[:, 0].astype(np.float64) * self.scale + self.center) * 1e6)
        return pl.Series(self.name, micros, dtype=pl.Float64).cast(pl.Int64).cast(parse_dtype(self.dtype))

    def drift_values(self, column: pl.Expr) -> pl.Expr:
        return column.dt.total_microseconds().cast(pl.Float64) / 1e6

    def signature_type(self, nullable: bool) -> str:
        return "double"

    def example(self, rows: int) -> list[Any]:
        return [self.center] * rows


def _seconds(series: pl.Series) -> np.ndarray:
    return series.dt.total_microseconds().cast(pl.Float64).to_numpy() / 1e6


def test_a_new_type_needs_only_its_module_and_its_registry_line(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pl.DataFrame(
        {"n": [1.0, 2.0, 3.0, 4.0], "wait": [timedelta(seconds=s) for s in (10, 20, 30, 40)]}
    ).with_columns(wait=pl.when(pl.col("n") == 2).then(None).otherwise(pl.col("wait")))
    with pytest.raises(DataError, match="'wait'.*cannot be a feature"):
        select_features(frame.schema, columns=["n", "wait"])
    monkeypatch.setitem(TYPES, "duration", DurationSpec)  # the one registry line
    assert select_features(frame.schema) == ["n", "wait"] and describe().endswith("or duration")
    pre = Preprocessor.fit(frame, max_levels=64, min_level_count=1)
    assert type(pre.specs[1]) is DurationSpec and [t.loss for t in pre.terms] == ["mse", "mse", "bce"]
    again = Preprocessor.from_dict(pre.to_dict())
    assert again == pre and pre.to_dict()["columns"][1]["kind"] == "duration"
    encoded = pre.encode(frame)
    assert encoded.inputs.shape == (4, 3) and encoded.observed[:, 1].tolist() == [True, False, True, True]
    recon = encoded.inputs.copy()
    recon[:, 2] = 2 * recon[:, 2] - 1  # the indicator's 0/1 as a logit
    decoded = pre.decode(recon, pre.missing_logits(recon) > 0)
    assert decoded.schema == frame.schema
    np.testing.assert_allclose(decoded["n"].to_numpy(), frame["n"].to_numpy(), rtol=1e-6)
    error = (decoded["wait"] - frame["wait"]).dt.total_microseconds().abs()
    assert error.is_null().to_list() == [False, True, False, False] and error.max() <= 10  # float32
    stats = training_statistics(frame, pre.specs)
    wait = stats["columns"]["wait"]
    assert (wait["missing_rate"], wait["low"], wait["high"], sum(wait["counts"])) == (0.25, 10.0, 40.0, 3)
    later = frame.with_columns(wait=pl.col("wait") + timedelta(seconds=15))  # 25s, 45s, 55s
    assert drift_summary(later, pre.specs, stats)["out_of_range_rate"].to_list() == [
        0.0,
        pytest.approx(2 / 3),
        None,  # the rows' line (no ae_error given)
    ]


def test_dtypes_are_matched_in_registry_order() -> None:
    assert type_of(pl.Int32) is NumericSpec and type_of(pl.Float16) is NumericSpec
    assert type_of(pl.Boolean) is get("boolean") and type_of(pl.Categorical) is CategoricalSpec
    assert type_of(pl.Date) is type_of(pl.Datetime("ns", "UTC")) is get("datetime")
    for dtype in (pl.Int128, pl.List(pl.Int64), pl.Null, pl.Object, pl.Time, pl.Duration("us"), pl.Binary):
        assert type_of(dtype) is None
    with pytest.raises(ValueError, match="'quantum' is not one of numeric, boolean, categorical, datetime"):
        get("quantum")


def test_each_type_stores_only_its_own_fields_and_reads_the_old_flat_form() -> None:
    frame = pl.DataFrame({"n": [1, 2, 3], "b": [True, False, True], "c": ["x", "y", "x"]})
    specs = [learn_spec(frame[c], max_levels=64, min_level_count=1) for c in frame.columns]
    assert list(specs[1].to_dict()) == ["name", "kind", "dtype", "has_missing"]
    assert set(specs[0].to_dict()) == {"name", "kind", "dtype", "has_missing", "center", "scale", "constant"}
    for spec in specs:
        flat = {"center": 0.0, "scale": 1.0, "levels": [], "rare_levels": [], "parts": [], **spec.to_dict()}
        assert spec_from_dict(flat) == spec_from_dict(spec.to_dict()) == spec


def test_a_frame_of_another_type_is_refused_naming_the_column() -> None:
    spec = learn_spec(pl.Series("c", ["x", "y"]), max_levels=64, min_level_count=1)
    with pytest.raises(DataError, match="'c' is Int64, but the model reads it as a categorical column"):
        check_feature_types(pl.Schema({"c": pl.Int64()}), [spec])


def test_stored_dtypes_parse_back_without_eval() -> None:
    for dtype in (pl.Int8(), pl.UInt64(), pl.Float32(), pl.Decimal(10, 2), pl.Enum(["a", "b"]), pl.Date()):
        assert parse_dtype(str(dtype)) == dtype
    assert parse_dtype("Datetime(time_unit='ns', time_zone='Europe/Paris')") == pl.Datetime(
        "ns", "Europe/Paris"
    )
    for hostile in ("__import__('os')", "Int8()()", "pl.Int8", "Expr", "Datetime(time_unit=print)"):
        with pytest.raises(ValueError, match="is not a polars data type"):
            parse_dtype(hostile)

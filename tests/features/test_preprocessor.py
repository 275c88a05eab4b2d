"""Preprocessing learned at fit: scaling, categories, missing values, datetimes, loss weights, error scales."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import polars as pl
import pytest

from aefeatures.errors import DataError
from aefeatures.features.columns import learn_spec
from aefeatures.features.preprocessor import ERROR_SCALE_FLOOR, Preprocessor, select_features


def fit_pre(frame: pl.DataFrame, **kw: int) -> Preprocessor:
    return Preprocessor.fit(
        frame, max_levels=kw.get("max_levels", 64), min_level_count=kw.get("min_level_count", 5)
    )


def test_numeric_scaling_is_robust_to_outliers_and_constant_columns() -> None:
    values = np.r_[np.arange(100, dtype=float), 1e9]
    frame = pl.DataFrame({"v": values, "const": np.full(101, 7.0)})
    pre = fit_pre(frame)
    v, const = pre.specs
    assert v.center == pytest.approx(50.0)
    assert v.scale == pytest.approx(np.subtract(*np.quantile(values, [0.75, 0.25])) / 1.349)
    assert (const.center, const.scale) == (7.0, 1.0)
    encoded = pre.encode(frame)
    assert np.isfinite(encoded.inputs).all()
    assert np.all(encoded.inputs[:, 1] == 0.0)
    assert pre.baselines[1] == 1.0  # a constant column is not divided by ~0


def test_missing_values_get_an_indicator_and_are_not_observed() -> None:
    frame = pl.DataFrame({"v": [1.0, None, 3.0, float("nan"), 5.0]})
    pre = fit_pre(frame)
    assert pre.specs[0].has_missing and pre.n_inputs == 2
    encoded = pre.encode(frame)
    assert encoded.observed[:, 0].tolist() == [True, False, True, False, True]
    assert encoded.inputs[:, 1].tolist() == [0, 1, 0, 1, 0]
    assert encoded.inputs[1, 0] == 0.0  # imputed at the centre


def test_categorical_rare_levels_fold_and_unseen_levels_map_to_unknown() -> None:
    train = pl.DataFrame({"c": ["a"] * 10 + ["b"] * 6 + ["rare"] * 2})
    pre = fit_pre(train)
    spec = pre.specs[0]
    assert spec.levels == ("a", "b") and spec.rare_levels == ("rare",)
    assert spec.value_width == 4  # a, b, rare, unknown
    encoded = pre.encode(pl.DataFrame({"c": ["a", "rare", "never-seen", None]}))
    assert encoded.targets[:, 0].tolist() == [0, 2, 3, -1]
    assert encoded.inputs.tolist()[0] == [1, 0, 0, 0]
    assert encoded.inputs.tolist()[1] == [0, 0, 1, 0]
    assert encoded.inputs.tolist()[2] == [0, 0, 0, 0]  # unknown: no input, still a target
    assert encoded.observed[:, 0].tolist() == [True, True, True, False]


def test_categorical_level_cap_keeps_the_most_frequent() -> None:
    frame = pl.DataFrame({"c": [f"l{i}" for i in range(10) for _ in range(10 + i)]})
    spec = learn_spec(frame["c"], max_levels=3, min_level_count=1)
    assert spec.levels == ("l7", "l8", "l9")
    assert len(spec.rare_levels) == 7


def test_booleans_and_dates_and_datetimes_encode() -> None:
    frame = pl.DataFrame(
        {
            "flag": [True, False, None, True],
            "day": [date(2024, 1, 1), date(2024, 1, 2), date(2024, 6, 1), date(2024, 12, 31)],
            "ts": [
                datetime(2024, 1, 1, 0),
                datetime(2024, 1, 1, 6),
                datetime(2024, 1, 1, 12),
                datetime(2024, 1, 1, 18),
            ],
        }
    )
    pre = fit_pre(frame)
    flag, day, ts = pre.specs
    assert (flag.kind, day.kind, ts.kind) == ("boolean", "datetime", "datetime")
    assert "hour_sin" not in day.parts and "hour_sin" in ts.parts
    encoded = pre.encode(frame)
    start = flag.width + day.width
    hour_sin = encoded.inputs[:, start + ts.parts.index("hour_sin")]
    np.testing.assert_allclose(hour_sin, [0, 1, 0, -1], atol=1e-6)
    assert encoded.inputs[:, 0].tolist() == [1, 0, 0, 1] and encoded.inputs[:, 1].tolist() == [0, 0, 1, 0]


def test_each_type_gets_its_own_loss_and_baseline_normalisation() -> None:
    frame = pl.DataFrame({"n": np.arange(50.0), "b": [i % 2 == 0 for i in range(50)], "c": ["x", "y"] * 25})
    pre = fit_pre(frame)
    losses = [t.loss for t in pre.terms]
    assert losses == ["mse", "bce", "ce"]
    assert pre.baselines[1] == pytest.approx(np.log(2))
    assert pre.baselines[2] == pytest.approx(np.log(2))


def test_infinite_values_are_rejected_with_the_column_named() -> None:
    frame = pl.DataFrame({"ok": [1.0, 2.0], "bad": [1.0, float("inf")]})
    with pytest.raises(DataError, match="'bad'.*infinite"):
        fit_pre(frame)


def test_preprocessor_round_trips_through_json() -> None:
    frame = pl.DataFrame({"n": [1.0, None, 3.0], "c": ["a", "b", "a"]})
    pre = fit_pre(frame, min_level_count=1)
    again = Preprocessor.from_dict(pre.to_dict())
    assert again == pre
    np.testing.assert_array_equal(again.encode(frame).inputs, pre.encode(frame).inputs)


def test_feature_selection_columns_exclude_and_unsupported_types() -> None:
    frame = pl.DataFrame({"id": [1], "a": [1.0], "tags": [[1, 2]], "label": [True]})
    assert select_features(frame.schema, exclude=["id", "label"]) == ["a"]
    assert select_features(frame.schema, columns=["a", "label"]) == ["a", "label"]
    with pytest.raises(DataError, match="'nope'"):
        select_features(frame.schema, exclude=["nope"])
    with pytest.raises(DataError, match="'tags'.*cannot be a feature"):
        select_features(frame.schema, columns=["tags"])
    with pytest.raises(DataError, match="no feature columns"):
        select_features(frame.schema, exclude=["id", "a", "label"])


def test_error_scales_divide_each_column_by_its_floored_median() -> None:
    frame = pl.DataFrame({"a": [float(i % 7) for i in range(50)], "b": ["x", "y"] * 25})
    pre = Preprocessor.fit(frame, max_levels=64, min_level_count=1)
    column_errors = np.column_stack([np.full(50, 0.5), np.full(50, 1e-5)])
    column_errors[:10, 0] = 40.0  # a few large errors must not move the median
    scaled = pre.with_error_scales(column_errors)
    assert scaled.baselines == pytest.approx([pre.baselines[0] * 0.5, pre.baselines[1] * ERROR_SCALE_FLOOR])
    assert Preprocessor.from_dict(scaled.to_dict()) == scaled

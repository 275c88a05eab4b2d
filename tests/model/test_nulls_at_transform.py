"""A feature without nulls at fit accepts them at transform: filled for scoring, reported as drift."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import aefeatures as aef
from tests.helpers import make_mixed


@pytest.fixture(scope="module")
def model() -> aef.AutoencoderModel:
    return aef.fit(make_mixed(400, seed=1), exclude=["id"], epochs=3, threads=1, seed=0)


def test_nulls_in_a_column_that_had_none_are_scored_and_reported(model: aef.AutoencoderModel) -> None:
    frame = make_mixed(200, seed=2)
    assert frame["x"].null_count() == 0 and not model.preprocessor.specs[0].has_missing
    holed = frame.with_columns(
        pl.when(pl.int_range(200) % 4 == 0).then(None).otherwise(pl.col("x")).alias("x")
    )
    out = model.transform(holed)
    assert out.height == 200 and bool(out["ae_error"].is_finite().all())
    assert out.select(holed.columns).equals(holed)  # the nulls are not written back
    drift = model.drift(holed, on_drift="ignore").filter(pl.col("column") == "x").row(0, named=True)
    assert drift["missing_rate"] == pytest.approx(0.25) and drift["drifted"]


def test_a_users_own_schema_still_refuses_nulls(tmp_path, model: aef.AutoencoderModel) -> None:
    frame = make_mixed(300, seed=3)
    schema = tmp_path / "strict.yaml"
    schema.write_text(
        "schema_type: polars_dataframe\napi: polars\ncoerce: true\ncolumns:\n  x:\n    dtype: Float64\n    nullable: false\n"
    )
    strict = aef.fit(frame, exclude=["id"], schema=schema, epochs=2, threads=1)
    with pytest.raises(aef.SchemaValidationError, match="'x'"):
        strict.transform(frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("x")))


def test_cross_validation_scores_folds_that_hold_the_only_nulls() -> None:
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    from aefeatures.integrations.sklearn import AutoencoderTransformer

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(int)
    X[100:, 1] = np.nan  # only the last fold has missing values
    pipe = make_pipeline(AutoencoderTransformer(latent_dim=2, epochs=2, threads=1), LogisticRegression())
    scores = cross_val_score(pipe, X, y, cv=KFold(6), error_score="raise")
    assert np.isfinite(scores).all()

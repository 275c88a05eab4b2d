"""The scikit-learn adapter: estimator contract, set_output, Pipeline and ColumnTransformer."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import check_estimator

from aefeatures.config import FitConfig
from aefeatures.errors import ConfigError, NotFittedError
from aefeatures.fitting.sources import fit_config
from aefeatures.integrations.sklearn import FIT_PARAMS, AutoencoderImputer, AutoencoderTransformer


def small(**params: object) -> AutoencoderTransformer:
    return AutoencoderTransformer(**{"epochs": 3, "threads": 1, "latent_dim": 3, **params})  # type: ignore[arg-type]


@pytest.fixture
def mixed_read_back(mixed_parquet: Path) -> pl.DataFrame:
    return pl.read_parquet(mixed_parquet).drop("id", "label")


def test_passes_sklearn_estimator_checks() -> None:
    check_estimator(small(latent_dim=2, epochs=2))  # no expected failures


def test_subset_invariance_is_bitwise(anomalies: pl.DataFrame) -> None:
    X = anomalies.drop("label").to_numpy()
    ae = small().fit(X)
    np.testing.assert_allclose(ae.transform(X[:7]), ae.transform(X)[:7], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ae.transform(X[:7]), ae.transform(X)[:7])


def test_parameters_are_the_fit_config_fields() -> None:
    config_fields = {f.name for f in dataclasses.fields(FitConfig)} - {"columns", "exclude"}
    assert set(FIT_PARAMS) == config_fields, "mirror FitConfig in AutoencoderTransformer, FIT_PARAMS"
    signature = inspect.signature(AutoencoderTransformer)
    assert list(signature.parameters) == [*FIT_PARAMS, "per_feature_errors"]
    defaults = FitConfig()
    for name in FIT_PARAMS:
        assert signature.parameters[name].default == getattr(defaults, name), name
        if name != "kind":
            assert signature.parameters[name].kind is inspect.Parameter.KEYWORD_ONLY


def test_goal_sets_the_parameters_left_at_their_defaults(anomalies: pl.DataFrame) -> None:
    X = anomalies.drop("label").head(300)
    config = AutoencoderTransformer(goal="reconstruction", steps=200, threads=1).fit(X).model_.config
    assert (config.goal, config.kind, config.trim, config.input_clip, config.steps) == (
        "reconstruction", "deep", 0.0, None, 200,
    )  # fmt: skip
    sparse = AutoencoderTransformer("sparse-l1", goal="features", steps=200, threads=1).fit(X).model_.config
    assert (sparse.kind, sparse.trim) == ("sparse-l1", 0.0)


def test_bad_parameter_fails_in_fit_not_init(anomalies: pl.DataFrame) -> None:
    ae = AutoencoderTransformer("nope", epochs=2)
    assert ae.get_params()["kind"] == "nope"
    with pytest.raises(ConfigError, match="kind='nope' is not allowed"):
        ae.fit(anomalies.drop("label"))


def test_unfitted_transform_says_fit_is_missing() -> None:
    with pytest.raises(NotFittedError, match=r"call fit\(X\)"):
        small().transform(np.zeros((3, 2)))


def test_fit_transform_equals_fit_then_transform(mixed_read_back: pl.DataFrame) -> None:
    together = small(seed=3).set_output(transform="polars").fit_transform(mixed_read_back)
    apart = small(seed=3).set_output(transform="polars").fit(mixed_read_back).transform(mixed_read_back)
    assert together.columns == apart.columns
    assert together.equals(apart)


def test_returns_only_new_columns_with_native_types(mixed_read_back: pl.DataFrame) -> None:
    ae = small(per_feature_errors=True).set_output(transform="polars").fit(mixed_read_back)
    out = ae.transform(mixed_read_back)
    expected = ["ae_z0", "ae_z1", "ae_z2", "ae_error", "ae_error_pct", "ae_outlier"] + [
        f"ae_error__{c}" for c in mixed_read_back.columns
    ]
    assert out.columns == expected == ae.get_feature_names_out().tolist()
    assert out.height == mixed_read_back.height
    assert (
        out.schema["ae_z0"] == pl.Float32
        and out.schema["ae_error"] == pl.Float64
        and out.schema["ae_outlier"] == pl.Boolean
    )
    direct = ae.model_.transform(mixed_read_back, per_feature_errors=True)
    assert out.equals(direct.select(expected))


def test_numpy_default_output_and_generated_names(anomalies: pl.DataFrame) -> None:
    X = anomalies.drop("label").to_numpy()
    ae = small().fit(X)
    assert ae.model_.columns == [f"x{i}" for i in range(X.shape[1])]
    assert ae.n_features_in_ == X.shape[1] and not hasattr(ae, "feature_names_in_")
    out = ae.transform(X)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == (X.shape[0], 6)
    assert set(np.unique(out[:, 5])) <= {0.0, 1.0}  # ae_outlier


def test_pandas_output_keeps_the_input_index(mixed_read_back: pl.DataFrame) -> None:
    frame = mixed_read_back.to_pandas()
    frame.index = pd.RangeIndex(1000, 1000 + len(frame))
    ae = small().set_output(transform="pandas").fit(frame)
    out = ae.transform(frame)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ae.get_feature_names_out().tolist()
    assert out.index.equals(frame.index)
    assert list(ae.feature_names_in_) == list(frame.columns)


def test_feature_names_must_match_fit(mixed_read_back: pl.DataFrame) -> None:
    ae = small().fit(mixed_read_back)
    with pytest.raises(ValueError, match="feature names should match"):
        ae.transform(mixed_read_back.rename({"x": "x_renamed"}))


def test_pipeline_feeds_a_classifier() -> None:
    X, y = load_breast_cancer(return_X_y=True)  # shipped with scikit-learn: 569 rows, 30 features
    pipe = Pipeline(
        [
            ("ae", small(kind="undercomplete", latent_dim=4, epochs=10)),
            ("clf", LogisticRegression(max_iter=500)),
        ]
    )
    pipe.fit(X, y)
    assert pipe.predict_proba(X).shape == (len(y), 2)
    # 63% of the rows are benign, so predicting one class scores 0.63; on these features it scores 0.95.
    assert pipe.score(X, y) > 0.9


def test_column_transformer_with_polars_output(mixed_parquet: Path) -> None:
    frame = pl.read_parquet(mixed_parquet)
    features = ["x", "y", "count", "income", "segment", "active", "seen"]
    ct = ColumnTransformer([("ae", small(), features), ("keep", "passthrough", ["id"])]).set_output(
        transform="polars"
    )
    out = ct.fit_transform(frame)
    assert isinstance(out, pl.DataFrame)
    assert out.columns == [
        "ae__ae_z0",
        "ae__ae_z1",
        "ae__ae_z2",
        "ae__ae_error",
        "ae__ae_error_pct",
        "ae__ae_outlier",
        "keep__id",
    ]
    assert out["keep__id"].to_list() == frame["id"].to_list()
    assert out["ae__ae_outlier"].dtype == pl.Boolean


def test_an_explicit_parameter_wins_over_the_goal_even_at_its_default(anomalies: pl.DataFrame) -> None:
    X = anomalies.drop("label").head(300)
    ae = AutoencoderTransformer(kind="denoising", goal="reconstruction", steps=100, threads=1)
    config = ae.fit(X).model_.config
    assert (config.goal, config.kind, config.trim, config.input_clip) == (
        "reconstruction",
        "denoising",
        0.0,
        None,
    )


def test_clone_and_set_params_keep_which_parameters_were_given() -> None:
    def kind_trained(ae: AutoencoderTransformer) -> str:
        return str(fit_config(ae._fit_settings()).kind)

    by_goal = AutoencoderTransformer(goal="reconstruction")
    explicit = AutoencoderTransformer("denoising", goal="reconstruction")
    assert (kind_trained(by_goal), kind_trained(explicit)) == ("deep", "denoising")
    # clone passes every parameter to the constructor; the clone still knows which were given.
    assert (kind_trained(clone(by_goal)), kind_trained(clone(explicit))) == ("deep", "denoising")
    assert clone(by_goal).get_params() == by_goal.get_params()
    assert kind_trained(clone(by_goal).set_params(kind="denoising")) == "denoising"
    assert kind_trained(clone(by_goal).set_params(goal="outliers")) == "denoising"  # the default again
    assigned = AutoencoderTransformer(goal="reconstruction")
    assigned.kind = "sparse-l1"  # not through set_params: a value other than the default still counts
    assert kind_trained(assigned) == "sparse-l1"
    searched = GridSearchCV(by_goal, {"latent_dim": [2]}, cv=2)
    assert searched.estimator is by_goal and kind_trained(clone(searched).estimator) == "deep"


def test_the_constructor_refuses_what_a_written_out_one_would() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        AutoencoderTransformer(nope=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="too many positional arguments"):
        AutoencoderTransformer("deep", "reconstruction")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values for argument 'kind'"):
        AutoencoderTransformer("deep", kind="pca")  # type: ignore[call-arg]


def test_imputer_passes_sklearn_estimator_checks() -> None:
    check_estimator(AutoencoderImputer(latent_dim=2, epochs=2, threads=1))  # no expected failures


def test_imputer_fills_before_an_estimator_in_a_pipeline() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    X[:, 2] = X[:, 0] - X[:, 1]
    y = (X[:, 2] > 0).astype(int)
    holed = X.copy()
    holed[rng.random(400) < 0.3, 2] = np.nan
    pipe = Pipeline([("fill", AutoencoderImputer(steps=2000, threads=1)), ("clf", LogisticRegression())])
    pipe.fit(holed, y)
    filled = pipe.named_steps["fill"].transform(holed)
    present = ~np.isnan(holed)
    assert not np.isnan(filled).any() and np.array_equal(filled[present], holed[present])
    missing = np.isnan(holed[:, 2])
    error = np.sqrt(np.mean((filled[missing, 2] - X[missing, 2]) ** 2))
    assert error < 0.85 * X[:, 2].std()  # predicted from the other columns, better than the mean (1.0)
    assert pipe.score(holed, y) > 0.8


def test_imputer_defaults_to_the_imputation_goal_and_keeps_types() -> None:
    frame = pl.DataFrame(
        {"n": [float(i % 10) for i in range(200)], "c": [["a", "b"][i % 2] for i in range(200)]}
    )
    imputer = AutoencoderImputer(epochs=3, threads=1, count_filled=True).set_output(transform="polars")
    out = imputer.fit(frame).transform(frame.with_columns(pl.lit(None, dtype=pl.String).alias("c")))
    assert imputer.model_.config.goal == "imputation"
    assert out.schema == pl.Schema({"n": pl.Float64, "c": pl.String, "ae_imputed": pl.Int32})
    assert out["c"].null_count() == 0 and out["ae_imputed"].to_list() == [1] * 200
    assert list(imputer.get_feature_names_out()) == ["n", "c", "ae_imputed"]


def test_outlier_scores_follow_sklearn_sign_conventions(anomalies: pl.DataFrame) -> None:
    """score_samples: higher is more normal (-ae_error); decision_function < 0 where ae_outlier."""
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score

    X, label = anomalies.drop("label").to_numpy(), anomalies["label"].to_numpy()
    ae = small(epochs=20).fit(X)
    new = ae.set_output(transform="polars").transform(X)
    scores, decision = ae.score_samples(X), ae.decision_function(X)
    assert scores.dtype == decision.dtype == np.float64 and scores.shape == (len(X),)
    np.testing.assert_array_equal(scores, -new["ae_error"].to_numpy())
    np.testing.assert_array_equal(decision < 0, new["ae_outlier"].to_numpy())
    assert ae.offset_ == -ae.model_.threshold
    forest = IsolationForest(random_state=0).fit(X)  # the same direction as scikit-learn's detector
    assert roc_auc_score(label, -scores) > 0.7 and roc_auc_score(label, -forest.score_samples(X)) > 0.5
    np.testing.assert_array_equal(ae.score_samples(X[:5]), scores[:5])  # batch-invariant
    with pytest.raises(NotFittedError, match="fit"):
        small().score_samples(X)

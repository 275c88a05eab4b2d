"""pandas output keeps the input's rows as they were labelled: its index (string labels, a MultiIndex,
index names, repeated labels) and its own columns, so assigning a feature column back aligns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

import aefeatures as aef
from tests.helpers import make_mixed


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_mixed(300, seed=2).to_pandas()


def scores(model: aef.AutoencoderModel, frame: pd.DataFrame) -> np.ndarray:
    """``ae_error`` row by row, computed on the same rows without pandas in between."""
    return model.transform(pl.from_pandas(frame.reset_index(drop=True)))["ae_error"].to_numpy()


def indexed(frame: pd.DataFrame, how: str) -> pd.DataFrame:
    if how == "filtered":
        return frame[frame["x"] > 0]
    if how == "string":
        return frame.set_axis([f"row-{i}" for i in range(len(frame))]).rename_axis("key").iloc[::-1]
    if how == "multi":
        index = pd.MultiIndex.from_arrays(
            [frame["segment"].to_numpy(), frame["id"].to_numpy()], names=["segment", "customer"]
        )
        return frame.set_axis(index).sort_index()
    assert how == "repeated"
    return frame.set_axis(np.arange(len(frame)) % 7).rename_axis("bucket")


@pytest.mark.parametrize("how", ["filtered", "string", "multi", "repeated"])
def test_transform_keeps_the_pandas_index(
    quick_model: aef.AutoencoderModel, frame: pd.DataFrame, how: str
) -> None:
    data = indexed(frame, how)
    out = quick_model.transform(data)
    assert isinstance(out, pd.DataFrame)
    assert out.index.equals(data.index) and list(out.index.names) == list(data.index.names)
    assert list(out.columns) == [*data.columns, *quick_model.output_names()]
    pd.testing.assert_frame_equal(out[list(data.columns)], data)  # input columns exactly as they were
    np.testing.assert_allclose(out["ae_error"].to_numpy(), scores(quick_model, data), rtol=1e-6)


def test_assigning_a_feature_column_back_aligns_row_by_row(
    quick_model: aef.AutoencoderModel, frame: pd.DataFrame
) -> None:
    data = frame[frame["x"] > 0].copy()  # a filtered frame: index 3, 5, 6, ... not 0, 1, 2
    data["ae_error"] = quick_model.transform(data)["ae_error"]
    assert data["ae_error"].notna().all()
    np.testing.assert_allclose(
        data["ae_error"].to_numpy(), scores(quick_model, frame[frame["x"] > 0]), rtol=1e-6
    )


def test_per_feature_errors_and_an_empty_frame_keep_the_index(
    quick_model: aef.AutoencoderModel, frame: pd.DataFrame
) -> None:
    data = indexed(frame, "string").head(5)
    out = quick_model.transform(data, per_feature_errors=True)
    assert out.index.equals(data.index) and out.columns[-1] == f"ae_error__{quick_model.columns[-1]}"
    empty = quick_model.transform(data.iloc[:0])
    assert len(empty) == 0 and empty.index.name == "key"


@pytest.mark.parametrize("how", ["filtered", "string", "multi"])
def test_sklearn_pandas_output_keeps_the_index(frame: pd.DataFrame, how: str) -> None:
    from aefeatures.integrations.sklearn import AutoencoderTransformer

    data = indexed(frame, how).drop(columns=["id", "label"])
    ae = AutoencoderTransformer(epochs=2, threads=1, latent_dim=2).set_output(transform="pandas").fit(data)
    out = ae.transform(data)
    assert out.index.equals(data.index) and list(out.index.names) == list(data.index.names)
    assert list(out.columns) == ae.get_feature_names_out().tolist()
    np.testing.assert_allclose(
        out["ae_error"].to_numpy(),
        ae.model_.transform(pl.from_pandas(data))["ae_error"].to_numpy(),
        rtol=1e-6,
    )


def test_a_pandas_column_of_mixed_types_is_named(
    quick_model: aef.AutoencoderModel, frame: pd.DataFrame
) -> None:
    data = frame.astype({"count": object})
    data.loc[data.index[3], "count"] = "three"
    with pytest.raises(
        aef.AEFeaturesError, match="column 'count' of the pandas DataFrame cannot be converted"
    ):
        quick_model.transform(data)

"""The ``df.ae`` / ``lf.ae`` polars namespace: one-line delegations to the public functions.

Registered by importing this module (``import aefeatures.integrations.polars_namespace``), as polars
plugins are; plain ``import aefeatures`` stays fast and leaves polars alone. ``model`` may be
a fitted :class:`~aefeatures.model.fitted_model.AutoencoderModel` or a model directory.

Examples
--------
>>> import aefeatures.integrations.polars_namespace, polars as pl
>>> df = pl.DataFrame({"a": [float(i % 7) for i in range(200)], "b": [i % 3 == 0 for i in range(200)]})
>>> model = df.ae.fit(epochs=2, threads=1)
>>> df.ae.transform(model).columns[:3]
['a', 'b', 'ae_z0']
>>> df.lazy().ae.transform(model).collect().height
200
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from aefeatures.api import fit, load
from aefeatures.model.fitted_model import AutoencoderModel

ModelLike = AutoencoderModel | str | Path


def _model(model: ModelLike) -> AutoencoderModel:
    return model if isinstance(model, AutoencoderModel) else load(model)


@pl.api.register_dataframe_namespace("ae")
class AEFrame:
    """``df.ae``: fit on, transform, or measure drift of a DataFrame."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self._frame = frame

    def fit(self, **params: Any) -> AutoencoderModel:
        """:func:`aefeatures.fit` on this frame."""
        return fit(self._frame, **params)

    def transform(self, model: ModelLike, *, per_feature_errors: bool = False) -> pl.DataFrame:
        """:meth:`AutoencoderModel.transform` of this frame."""
        return _model(model).transform(self._frame, per_feature_errors=per_feature_errors)

    def drift(self, model: ModelLike, **options: Any) -> pl.DataFrame:
        """:meth:`AutoencoderModel.drift` of this frame."""
        return _model(model).drift(self._frame, **options)


@pl.api.register_lazyframe_namespace("ae")
class AELazyFrame:
    """``lf.ae``: fit on a LazyFrame, or transform it lazily in batches."""

    def __init__(self, lazy: pl.LazyFrame) -> None:
        self._lazy = lazy

    def fit(self, **params: Any) -> AutoencoderModel:
        """:func:`aefeatures.fit` on this LazyFrame (collected for training)."""
        return fit(self._lazy, **params)

    def transform(self, model: ModelLike, *, per_feature_errors: bool = False) -> pl.LazyFrame:
        """:meth:`AutoencoderModel.transform` of this LazyFrame: stays lazy."""
        return _model(model).transform(self._lazy, per_feature_errors=per_feature_errors)

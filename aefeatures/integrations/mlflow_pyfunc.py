"""The model ``mlflow.pyfunc.load_model`` returns for an aefeatures export (see :mod:`aefeatures.mlflow`).

``predict`` appends the model's feature columns (or, with ``params={"task": "impute"}``, fills the
missing feature cells); a pandas frame keeps its columns, dtypes and index, and polars and pyarrow
inputs come back as their own type. The flavor's ``_load_pyfunc`` builds it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from aefeatures.errors import ConfigError
from aefeatures.model.fitted_model import AutoencoderModel


class AEFeaturesPyfunc:
    """What ``mlflow.pyfunc.load_model`` wraps: ``predict`` appends the model's feature columns.

    Examples
    --------
    >>> import aefeatures as aef, polars as pl
    >>> df = pl.DataFrame({"a": [float(i % 7) for i in range(200)], "b": [str(i % 3) for i in range(200)]})
    >>> pyfunc = AEFeaturesPyfunc(aef.fit(df, epochs=2, threads=1))
    >>> frame = df.to_pandas().set_index(df["a"].to_pandas() * 10)
    >>> out = pyfunc.predict(frame)
    >>> out.columns[-2:].tolist(), out.index.equals(frame.index)
    (['ae_error_pct', 'ae_outlier'], True)
    """

    def __init__(self, model: AutoencoderModel, per_feature_errors: bool = False) -> None:
        self.model = model
        self.per_feature_errors = per_feature_errors

    def get_raw_model(self) -> AutoencoderModel:
        """The underlying :class:`~aefeatures.AutoencoderModel`."""
        return self.model

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        """``model_input`` with the feature columns appended: pandas, polars or pyarrow in, the same out.

        A pandas frame keeps its columns, dtypes and index; only the columns the model reads
        are converted. ``params={"task": "impute"}`` returns ``model_input`` with its missing
        feature cells filled instead (:meth:`AutoencoderModel.impute`).
        """
        if isinstance(model_input, dict | list):
            model_input = pd.DataFrame(model_input)
        task = (params or {}).get("task", "transform")
        if task not in ("transform", "impute"):
            raise ConfigError(
                f"task={task!r} is not one of transform, impute.", hint='e.g. params={"task": "impute"}'
            )
        if task == "impute":
            return self._impute(model_input)
        if not isinstance(model_input, pd.DataFrame):
            return self.model.transform(model_input, per_feature_errors=self.per_feature_errors)
        columns = list(model_input.columns)
        self.model.reject_name_collisions(columns, self.per_feature_errors)
        out = self.model.transform(
            model_input[needed_columns(columns, self.model)], per_feature_errors=self.per_feature_errors
        )
        appended = out[self.model.output_names(self.per_feature_errors)]
        joined = pd.concat([model_input.reset_index(drop=True), appended.reset_index(drop=True)], axis=1)
        joined.index = model_input.index
        return joined

    def _impute(self, model_input: Any) -> Any:
        if not isinstance(model_input, pd.DataFrame):
            return self.model.impute(model_input)
        filled = self.model.impute(model_input[needed_columns(list(model_input.columns), self.model)])
        out = model_input.copy()
        for name in self.model.columns:
            out[name] = filled[name].to_numpy()
        return out


def needed_columns(columns: list[Any], model: AutoencoderModel) -> list[Any]:
    """Input columns the transform reads: the features and schema columns (all, for a strict schema)."""
    if model.schema.strict:
        return columns
    used = set(model.columns) | set(model.schema.columns)
    return [name for name in columns if name in used]

"""The MLflow signature and input example of an aefeatures model (see :mod:`aefeatures.mlflow`).

Inputs are the model's feature columns typed from its training statistics (or from an example),
outputs the appended columns; the default input example is a few plausible rows made from the
preprocessing statistics, written by MLflow as JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import mlflow
import pandas as pd
import polars as pl
import pyarrow
from mlflow.models import ModelSignature
from mlflow.types.schema import ColSpec, DataType, ParamSchema, ParamSpec, Schema, TensorSpec

from aefeatures.errors import DataError
from aefeatures.model.fitted_model import AutoencoderModel

EXAMPLE_ROWS = 3
_OUTPUT_TYPES = {pl.Float32: DataType.float, pl.Float64: DataType.double, pl.Boolean: DataType.boolean}

log = logging.getLogger("aefeatures")


def model_signature(
    model: AutoencoderModel, input_example: Any = None, *, per_feature_errors: bool = False
) -> ModelSignature:
    """The signature :func:`save_model` logs by default.

    Inputs are the model's feature columns (required) and, when ``input_example`` has other
    columns, those as optional pass-through columns. Types follow the example where given
    (MLflow's own inference), else the model's training types: integers are ``long``
    (``double`` if they may be missing, as pandas holds them as floats), other numbers
    ``double``, strings and categoricals ``string``, dates ``datetime``. Outputs are the
    appended columns: ``ae_z*`` float, ``ae_error`` and ``ae_error_pct`` double,
    ``ae_outlier`` boolean (and ``ae_error__<column>`` double).

    Examples
    --------
    >>> import aefeatures as aef, polars as pl
    >>> model = aef.fit(pl.DataFrame({"a": [float(i % 7) for i in range(200)]}), epochs=1, latent_dim=1)
    >>> print(model_signature(model).outputs)
    ['ae_z0': float (required), 'ae_error': double (required), 'ae_error_pct': double (required), 'ae_outlier': boolean (required)]
    """
    types = _model_input_types(model)
    inputs: list[ColSpec | TensorSpec] = []
    if input_example is not None:
        inferred = mlflow.models.infer_signature(_to_pandas(input_example)).inputs
        inputs += [
            ColSpec(spec.type, spec.name, required=spec.name in types)
            for spec in (inferred.inputs if inferred is not None else [])
            if isinstance(spec, ColSpec) and spec.name is not None
        ]
    named = {spec.name for spec in inputs}
    inputs += [ColSpec(kind, name) for name, kind in types.items() if name not in named]
    appended = model.output_schema(pl.Schema(), per_feature_errors)
    outputs: list[ColSpec | TensorSpec] = [
        ColSpec(_OUTPUT_TYPES[dtype.base_type()], name) for name, dtype in appended.items()
    ]
    # predict(..., params={"task": "impute"}) fills missing cells instead of appending columns
    params = ParamSchema([ParamSpec("task", DataType.string, "transform")])
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs), params=params)


def input_example_rows(model: AutoencoderModel, example: Any) -> pd.DataFrame | None:
    """The input example to log: the caller's, none (``False``), or a few rows made from the model."""
    if example is False:
        return None
    if example is not None:
        return _to_pandas(example)
    rows = _example_rows(model)
    try:
        model.transform(rows)
    except DataError as exc:  # a schema check the made-up rows do not pass
        log.warning("no input example written: rows made from the model fail its schema (%s)", exc)
        return None
    return rows


def _example_rows(model: AutoencoderModel) -> pd.DataFrame:
    """A few plausible rows, each column's own (:meth:`ColumnSpec.example`), in its MLflow type."""
    types = _model_input_types(model)
    columns = {
        spec.name: _AS_PANDAS[types[spec.name]](spec.example(EXAMPLE_ROWS))
        for spec in model.preprocessor.specs
    }
    return pd.DataFrame(columns)


# How example values of each MLflow type become a pandas column (datetimes come as epoch seconds).
_AS_PANDAS: dict[DataType, Callable[[list[Any]], Any]] = {
    DataType.long: lambda values: [round(v) for v in values],
    DataType.double: list,
    DataType.boolean: list,
    DataType.string: lambda values: pd.array(values, dtype=object),
    DataType.datetime: lambda values: pd.to_datetime(values, unit="s").as_unit("ns"),
}


def _model_input_types(model: AutoencoderModel) -> dict[str, DataType]:
    """MLflow types of the feature columns (then any other required schema column)."""
    schema_columns = dict(model.schema.columns)
    types: dict[str, DataType] = {}
    for spec in model.preprocessor.specs:
        # What fit saw decides: an inferred schema accepts nulls in every column, yet an integer
        # column that had none at fit is still whole numbers (long) for the signature.
        types[spec.name] = DataType[spec.signature_type(spec.has_missing)]
    for name, column in schema_columns.items():
        mapped = _polars_type(getattr(column.dtype, "type", None))
        if name not in types and getattr(column, "required", True) and mapped is not None:
            types[name] = mapped
    return types


def _polars_type(dtype: Any) -> DataType | None:
    if not isinstance(dtype, pl.DataType):
        return None
    if dtype == pl.Boolean:
        return DataType.boolean
    if dtype.is_integer():
        return DataType.long
    if dtype.is_numeric():
        return DataType.double
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return DataType.string
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return DataType.datetime
    return None


def _to_pandas(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pl.LazyFrame):
        data = data.collect()
    if isinstance(data, pl.DataFrame | pyarrow.Table | pyarrow.RecordBatch):
        return data.to_pandas()
    return pd.DataFrame(data)

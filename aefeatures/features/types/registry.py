"""The registry of column types: one line per type, in the order they are asked for a dtype.

A column's type is the first registered type that accepts its dtype; ``aefeatures.json``
names it by ``kind``. Models written before the types had their own fields store every field
of every type in each column (a numeric column with ``levels: []``): :func:`spec_from_dict`
drops the fields of the other types.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import polars as pl

from aefeatures.features.types.base import ColumnSpec
from aefeatures.features.types.boolean import BooleanSpec
from aefeatures.features.types.categorical import CategoricalSpec
from aefeatures.features.types.datetime import DatetimeSpec
from aefeatures.features.types.numeric import NumericSpec

TYPES: dict[str, type[ColumnSpec]] = {
    spec.kind: spec
    for spec in (
        NumericSpec,  # every number but 128-bit integers
        BooleanSpec,  # Boolean
        CategoricalSpec,  # String, Categorical, Enum
        DatetimeSpec,  # Date, Datetime of any unit and time zone
    )
}
"""Column types by ``kind``, in dtype-matching order; a new type is one more line."""


def get(kind: str) -> type[ColumnSpec]:
    """The column type registered as ``kind``.

    Raises
    ------
    ValueError
        ``kind`` is not registered; the message lists the registered ones.

    Examples
    --------
    >>> get("boolean").loss
    'bce'
    """
    try:
        return TYPES[kind]
    except KeyError:
        raise ValueError(f"column kind {kind!r} is not one of {', '.join(TYPES)}") from None


def type_of(dtype: pl.DataType) -> type[ColumnSpec] | None:
    """The type of a column of ``dtype``, or ``None`` when no type takes it.

    Examples
    --------
    >>> type_of(pl.Enum(["a"])).kind, type_of(pl.Int128)
    ('categorical', None)
    """
    return next((spec for spec in TYPES.values() if spec.accepts(dtype)), None)


def spec_from_dict(data: dict[str, Any]) -> ColumnSpec:
    """A column's spec from its JSON form (``kind`` picks the type; other types' fields are dropped).

    Examples
    --------
    >>> old = {"name": "n", "kind": "numeric", "dtype": "Int64", "has_missing": False,
    ...        "center": 2.0, "scale": 1.0, "levels": [], "parts": [], "rare_hash_limit": None}
    >>> spec_from_dict(old)
    NumericSpec(name='n', dtype='Int64', has_missing=False, center=2.0, scale=1.0, constant=False)
    """
    spec = get(data["kind"])
    own = {f.name for f in dataclasses.fields(spec)}
    others = {f.name for kind in TYPES.values() for f in dataclasses.fields(kind)} - own
    return spec.from_dict({k: v for k, v in data.items() if k != "kind" and k not in others})


def describe() -> str:
    """The dtypes that can be features, for messages: ``numeric, boolean, ... or date/datetime``."""
    *first, last = [spec.takes for spec in TYPES.values()]
    return f"{', '.join(first)} or {last}" if first else last

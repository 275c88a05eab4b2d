"""Stored dtypes: a column's training dtype read back from its text, and numbers cast into it."""

from __future__ import annotations

import ast
from typing import Any

import numpy as np
import polars as pl


def parse_dtype(text: str) -> pl.DataType:
    """The polars dtype whose ``str()`` is ``text`` (read without ``eval``: a manifest is data).

    A time zone polars does not know is refused here, not at the first cast.

    Examples
    --------
    >>> parse_dtype("Datetime(time_unit='ms', time_zone='UTC')")
    Datetime(time_unit='ms', time_zone='UTC')
    >>> parse_dtype("Enum(categories=['a', 'b'])") == pl.Enum(["a", "b"])
    True
    >>> parse_dtype("Datetime(time_unit='us', time_zone='Mars/Olympus')")
    Traceback (most recent call last):
    ValueError: "Datetime(time_unit='us', time_zone='Mars/Olympus')" is not a polars data type: unknown time zone 'Mars/Olympus'
    """
    try:
        node = ast.parse(text, mode="eval").body
        call = node if isinstance(node, ast.Call) else None
        name = call.func if call is not None else node
        if not isinstance(name, ast.Name) or (call is not None and call.args):
            raise ValueError
        keywords: dict[str, Any] = {}
        for keyword in call.keywords if call is not None else ():
            if keyword.arg is None:
                raise ValueError
            keywords[keyword.arg] = ast.literal_eval(keyword.value)
        dtype = getattr(pl, name.id, None)
        if not (isinstance(dtype, type) and issubclass(dtype, pl.DataType)):
            raise ValueError
        parsed = dtype(**keywords)
    except (SyntaxError, ValueError, TypeError):
        raise ValueError(f"{text!r} is not a polars data type") from None
    zone = getattr(parsed, "time_zone", None)
    if zone is not None and not _known_zone(parsed):
        raise ValueError(f"{text!r} is not a polars data type: unknown time zone {zone!r}")
    return parsed


def _known_zone(dtype: pl.DataType) -> bool:
    """Whether polars can cast to ``dtype`` (it checks a datetime's time zone only then)."""
    try:
        pl.Series([], dtype=pl.Int64).cast(dtype)
    except pl.exceptions.PolarsError:
        return False
    return True


def numbers_as(name: str, values: np.ndarray, dtype: pl.DataType) -> pl.Series:
    """Float64 ``values`` as a series of the numeric ``dtype``: integers rounded and clipped into
    the dtype's range, floats clipped to its finite range; NaN becomes null.

    Examples
    --------
    >>> numbers_as("n", np.array([2.6, -300.0, np.nan]), pl.Int8()).to_list()
    [3, -128, None]
    """
    if dtype.is_integer():
        info = np.iinfo(np.dtype(str(dtype).lower()))
        high = float(info.max)
        if int(high) > info.max:  # 2**63 - 1 is not a float: take the float below it
            high = float(np.nextafter(high, 0.0))
        values = np.clip(np.rint(values), float(info.min), high)
    elif dtype.is_float():
        limit = float(np.finfo(np.dtype(str(dtype).lower())).max)
        values = np.clip(values, -limit, limit)
    elif isinstance(dtype, pl.Decimal):
        limit = 10.0 ** ((dtype.precision or 38) - dtype.scale) * (1.0 - 1e-15)
        values = np.clip(values, -limit, limit)
    return pl.Series(name, values, dtype=pl.Float64).fill_nan(None).cast(dtype)

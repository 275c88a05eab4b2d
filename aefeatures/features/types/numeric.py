"""Numeric columns: one robust-scaled input ``(x - median) / (IQR / 1.349)``, squared error.

Every integer and float dtype but the 128-bit integers (they cannot be validated or scaled
exactly). Float16 is numeric: every half-precision value is exact in float32.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from aefeatures.errors import InfiniteValuesError, leave_out
from aefeatures.features.types.base import (
    SCALE,
    SCALED_LIMIT,
    ColumnSpec,
    LearnOptions,
    example_offsets,
    robust_center_scale,
)
from aefeatures.features.types.dtypes import numbers_as, parse_dtype

FLOAT32_EXACT = (pl.Float16, pl.Float32, pl.Int8, pl.Int16, pl.UInt8, pl.UInt16)  # exact in float32
WIDE_INTEGERS = (pl.Int128, pl.UInt128)


@dataclass(frozen=True)
class NumericSpec(ColumnSpec):
    """A numeric column: its training median (``center``) and robust ``scale``.

    Examples
    --------
    >>> OPTIONS = LearnOptions(max_levels=64, min_level_count=5)
    >>> spec = NumericSpec.learn(pl.Series("n", [1, 2, 3, 4, 100], dtype=pl.Int16), OPTIONS)
    >>> (spec.center, spec.dtype)
    (3.0, 'Int16')
    >>> spec.decode(np.array([[0.0], [1e9]], dtype=np.float32)).to_list()  # clipped into Int16
    [3, 32767]
    >>> NumericSpec.learn(pl.Series("c", [2.5] * 4), OPTIONS).decode(np.array([[0.01]])).to_list()
    [2.5]
    """

    kind = "numeric"
    takes = "numeric"

    center: float = 0.0
    scale: float = dataclasses.field(default=1.0, metadata=SCALE)
    constant: bool = False  # one value at fit: decoded as that value (a scale of 1 stands in)

    @classmethod
    def accepts(cls, dtype: pl.DataType) -> bool:
        """Numbers of every width but 128 bits."""
        return dtype.is_numeric() and dtype not in WIDE_INTEGERS

    @classmethod
    def learn(cls, series: pl.Series, options: LearnOptions) -> NumericSpec:
        """Median and robust scale of the finite values (infinite values are refused)."""
        values = finite_values(series)
        center, scale = robust_center_scale(values)
        seen = values[~np.isnan(values)]
        constant = seen.size > 0 and bool(np.all(seen == seen[0]))
        return cls(**cls.common(series), center=center, scale=scale, constant=constant)

    def encode_values(self, series: pl.Series, missing: np.ndarray, block: np.ndarray) -> None:
        """The scaled value, as :func:`encode_numeric` computes it."""
        block[:, 0] = encode_numeric([self], series.to_frame())[0][:, 0]

    @classmethod
    def encode_block(
        cls, specs: Sequence[ColumnSpec], frame: pl.DataFrame
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """All numeric columns in one vectorised pass (:func:`encode_numeric`)."""
        return encode_numeric([spec for spec in specs if isinstance(spec, NumericSpec)], frame)

    def decode(self, block: np.ndarray) -> pl.Series:
        """Back to original units (``value * scale + center``; the one value of a column that
        was constant at fit) in the training dtype."""
        values = block[:, 0].astype(np.float64) * self.scale + self.center
        if self.constant:
            values = np.full_like(values, self.center)
        return numbers_as(self.name, values, parse_dtype(self.dtype))

    def drift_values(self, column: pl.Expr) -> pl.Expr:
        """The values as floats, NaN as null."""
        return column.cast(pl.Float64).fill_nan(None)

    def signature_type(self, nullable: bool) -> str:
        """``long`` for integers that are never missing (pandas holds missing ones as floats)."""
        integer = self.dtype.startswith(("Int", "UInt"))
        return "long" if integer and not nullable else "double"

    def example(self, rows: int) -> list[Any]:
        """The centre, then one scale below and above."""
        return [self.center + k * self.scale for k in example_offsets(rows)]


def encode_numeric(specs: Sequence[NumericSpec], frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Scaled values (float32) and missing mask of numeric columns, all in one (n, m) block.

    One vectorised pass instead of one per column (5x faster on 64 columns). The arithmetic
    is float32 when every column is exact in float32 and float64 otherwise, so large int64 or
    float64 values keep their precision until they are centred.

    Examples
    --------
    >>> spec = NumericSpec(name="n", dtype="Float64", has_missing=True, center=1.0, scale=2.0)
    >>> values, missing = encode_numeric([spec], pl.DataFrame({"n": [3.0, None]}))
    >>> values[:, 0].tolist(), missing[:, 0].tolist()
    ([1.0, 0.0], [False, True])
    """
    names = [spec.name for spec in specs]
    schema = frame.schema
    exact = all(schema[name] in FLOAT32_EXACT for name in names)
    values = frame.select(pl.col(names).cast(pl.Float32 if exact else pl.Float64)).to_numpy(order="c")
    if not values.flags.writeable:
        values = values.copy()
    missing = np.isnan(values)  # nulls arrive as NaN
    infinite = np.isinf(values).any(axis=0)
    if infinite.any():
        finite_values(frame[names[int(np.argmax(infinite))]])  # raises, naming the column
    values -= np.array([spec.center for spec in specs], dtype=values.dtype)
    values /= np.array([spec.scale for spec in specs], dtype=values.dtype)
    values[missing] = 0.0
    np.clip(values, -SCALED_LIMIT, SCALED_LIMIT, out=values)
    return values.astype(np.float32, copy=False), missing


def finite_values(series: pl.Series) -> np.ndarray:
    """The column as float64, refusing infinite values with the column named."""
    values = series.cast(pl.Float64).to_numpy()
    infinite = np.isinf(values)
    if infinite.any():
        rows = np.flatnonzero(infinite)
        raise InfiniteValuesError(
            f"column {series.name!r} has {rows.size} infinite value(s) (first at row {rows[0]}).",
            column=series.name,
            row=int(rows[0]),
            hint="replace +/-inf with null (treated as missing) or a finite number, e.g. "
            f"pl.col({series.name!r}).replace([float('inf'), float('-inf')], None); a fit can also "
            f"leave the column out: {leave_out(series.name)}",
        )
    return values


COUNTER_ROWS = 50  # from this many values, distinct integers in order look like a counter


def counter_like(series: pl.Series) -> bool:
    """Whether an integer column looks like a row number or a sequential id: at least
    :data:`COUNTER_ROWS` values, all distinct, and either sorted in row order or spanning at
    most twice as many integers as it has values.

    >>> counter_like(pl.Series(range(1000, 1100))), counter_like(pl.Series([7, 1, 9] * 40))
    (True, False)
    >>> counter_like(pl.Series([i * i for i in range(100)]))  # sorted: a counter with gaps
    True
    """
    present = series.drop_nulls()
    if not series.dtype.is_integer() or present.len() < COUNTER_ROWS or present.n_unique() < present.len():
        return False
    span = float(present.max()) - float(present.min()) + 1  # type: ignore[arg-type]
    return bool(present.is_sorted() or present.is_sorted(descending=True) or span <= 2 * present.len())

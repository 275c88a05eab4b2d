"""Date and datetime columns: scaled epoch time plus cyclical (sin, cos) parts, squared error.

The ``absolute`` part is the epoch time in seconds, robust-scaled like a number; weekday and
day of year are (sin, cos) pairs, and hour of day too when the training times vary within a day.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from aefeatures.features.types.base import (
    SCALE,
    SCALED_LIMIT,
    ColumnSpec,
    LearnOptions,
    example_offsets,
    robust_center_scale,
)
from aefeatures.features.types.dtypes import parse_dtype

DAY = 86_400.0
TICKS_PER_SECOND = {"ms": 1e3, "us": 1e6, "ns": 1e9}
# Seconds from 0001-01-01 to 9999-12-31: a decoded time is clipped to the years Python (and so
# ``to_list``, pandas and the report) can hold, though polars holds more.
EPOCH_RANGE = (-62_135_596_800.0, 253_402_214_400.0)


@dataclass(frozen=True)
class DatetimeSpec(ColumnSpec):
    """A date or datetime column: centre and scale of its epoch seconds, and its input ``parts``.

    Examples
    --------
    >>> OPTIONS = LearnOptions(max_levels=64, min_level_count=5)
    >>> from datetime import date
    >>> spec = DatetimeSpec.learn(pl.Series("d", [date(2024, 1, 1), date(2024, 1, 3)]), OPTIONS)
    >>> spec.parts
    ('absolute', 'weekday_sin', 'weekday_cos', 'yearday_sin', 'yearday_cos')
    >>> spec.decode(np.zeros((1, 5), dtype=np.float32)).to_list()  # the centre, as a Date
    [datetime.date(2024, 1, 2)]
    """

    kind = "datetime"
    takes = "date/datetime"

    center: float = 0.0
    scale: float = dataclasses.field(default=1.0, metadata=SCALE)
    parts: tuple[str, ...] = ()

    @classmethod
    def accepts(cls, dtype: pl.DataType) -> bool:
        """``Date`` and ``Datetime`` of any time unit and zone."""
        return dtype == pl.Date or isinstance(dtype, pl.Datetime)

    @classmethod
    def learn(cls, series: pl.Series, options: LearnOptions) -> DatetimeSpec:
        """Centre and scale of the epoch seconds; the hour parts only when times vary in a day."""
        center, scale = robust_center_scale(epoch_seconds(series))
        parts = ["absolute", "weekday_sin", "weekday_cos", "yearday_sin", "yearday_cos"]
        if series.dtype != pl.Date and bool((_hour_of_day(series).drop_nulls() != 0).any()):
            parts += ["hour_sin", "hour_cos"]
        return cls(**cls.common(series), center=center, scale=scale, parts=tuple(parts))

    @property
    def value_width(self) -> int:
        """One input per part."""
        return len(self.parts)

    def encode_values(self, series: pl.Series, missing: np.ndarray, block: np.ndarray) -> None:
        """The parts in order, 0 where missing, clipped."""
        cycles = {
            "weekday": (series.dt.weekday().cast(pl.Float64) - 1.0, 7.0),
            "yearday": (series.dt.ordinal_day().cast(pl.Float64) - 1.0, 365.25),
        }
        if "hour_sin" in self.parts:
            cycles["hour"] = (_hour_of_day(series), 24.0)
        columns = []
        for part in self.parts:
            if part == "absolute":
                values = (epoch_seconds(series) - self.center) / self.scale
            else:
                name, trig = part.rsplit("_", 1)
                raw, period = cycles[name]
                angle = 2.0 * math.pi * raw.to_numpy() / period
                values = np.sin(angle) if trig == "sin" else np.cos(angle)
            columns.append(values)
        inputs = np.column_stack(columns)
        inputs[missing] = 0.0
        block[:] = np.clip(np.nan_to_num(inputs), -SCALED_LIMIT, SCALED_LIMIT)

    def decode(self, block: np.ndarray) -> pl.Series:
        """The ``absolute`` part back to a time of the training dtype (nearest day for a Date),
        within the years 1 to 9999."""
        seconds = block[:, self.parts.index("absolute")].astype(np.float64) * self.scale + self.center
        seconds = np.clip(np.nan_to_num(seconds), *EPOCH_RANGE)
        dtype = parse_dtype(self.dtype)
        if not isinstance(dtype, pl.Datetime):
            days = pl.Series(self.name, np.rint(seconds / DAY), dtype=pl.Float64).cast(pl.Int32)
            return days.cast(pl.Date)
        unit = dtype.time_unit or "us"
        limit = float(np.nextafter(2.0**63, 0.0))  # nanoseconds reach only about the year 2262
        ticks = np.clip(np.rint(seconds * TICKS_PER_SECOND[unit]), -limit, limit)
        stamps = pl.Series(self.name, ticks, dtype=pl.Float64).cast(pl.Int64).cast(pl.Datetime(unit))
        if dtype.time_zone is not None:
            stamps = stamps.dt.replace_time_zone("UTC").dt.convert_time_zone(dtype.time_zone)
        return stamps

    def drift_values(self, column: pl.Expr) -> pl.Expr:
        """Epoch seconds."""
        return column.dt.epoch("us").cast(pl.Float64) / 1e6

    def signature_type(self, nullable: bool) -> str:
        """``datetime``."""
        return "datetime"

    def example(self, rows: int) -> list[Any]:
        """Epoch seconds of the centre and one scale below and above, floored to the day or second."""
        step = DAY if self.dtype == "Date" else 1.0
        return [math.floor((self.center + k * self.scale) / step) * step for k in example_offsets(rows)]


def epoch_seconds(series: pl.Series) -> np.ndarray:
    """Seconds since 1970-01-01 UTC (a date: its midnight), NaN where missing."""
    as_datetime = series.cast(pl.Datetime("us")) if series.dtype == pl.Date else series
    micros = as_datetime.dt.epoch("us").cast(pl.Float64)
    return micros.to_numpy() / 1e6


def _hour_of_day(series: pl.Series) -> pl.Series:
    return series.dt.hour() + series.dt.minute() / 60.0 + series.dt.second() / 3600.0

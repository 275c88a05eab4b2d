"""Sampled numbers and times given their training marginal, in the order the generator drew them.

The decoder's output plus symmetric noise has the right trend but not the right shape: on a
skewed column half the draws fell below the training minimum and piled up there once clipped.
Each numeric and datetime column is therefore mapped, monotonically and piecewise linearly, from
the generator's own quantiles to the training quantiles stored for drift (``low``, the quantile
``edges``, ``high``, at the levels their ``counts`` give). A monotone map keeps the rank of
every drawn value, so the dependence between columns the network learnt is kept.

The generator's quantiles come from one reference draw of :data:`REFERENCE_ROWS` rows from a
fixed seed: they depend on the model alone, never on the seed, the chunk or the rows asked for.
Whole-number columns (integers, dates) are mapped onto the training values spread over their
step (a value ``k`` over ``[k - 1/2, k + 1/2)``), so rounding gives each value its training share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from aefeatures.features.preprocessor import Preprocessor
from aefeatures.features.types import ColumnSpec
from aefeatures.features.types.datetime import DAY, DatetimeSpec
from aefeatures.features.types.dtypes import numbers_as, parse_dtype
from aefeatures.features.types.numeric import NumericSpec
from aefeatures.schema.drift.counts import BINS

REFERENCE_ROWS = 16_384  # rows of the reference draw the generator's quantiles are read from
REFERENCE_SEED = (2**32 - 1, 2**32 - 1, 0)  # its seed: no (seed, chunk) of a sample is 3 numbers


@dataclass(frozen=True)
class MarginalMap:
    """One column's map in drift units (numbers, epoch seconds): the generator's quantiles
    ``drawn`` and the training quantiles ``trained`` at the same levels (both ascending).

    A float column is mapped once decoded (:meth:`decoded`), so a value repeated in training
    comes out exactly that value (its float32 input would miss it by an ulp); any other column
    (integers, times) on its input ``position`` before decoding (:meth:`encoded`), which rounds.
    """

    name: str
    position: int
    center: float
    scale: float
    drawn: np.ndarray
    trained: np.ndarray
    after_decode: bool

    def encoded(self, values: np.ndarray) -> None:
        """Map the column's input position of the encoded ``values`` (n, D) in place.

        >>> values = np.array([[0.0], [0.5], [2.0]], np.float32)
        >>> MarginalMap("x", 0, 10.0, 2.0, np.array([10.0, 12.0]), np.array([10.0, 50.0]), False).encoded(values)
        >>> values[:, 0].tolist()
        [0.0, 10.0, 20.0]
        """
        raw = values[:, self.position].astype(np.float64) * self.scale + self.center
        values[:, self.position] = (np.interp(raw, self.drawn, self.trained) - self.center) / self.scale

    def decoded(self, frame: pl.DataFrame) -> pl.Series:
        """The column of the decoded ``frame`` mapped, in its dtype (missing stays missing).

        >>> frame = pl.DataFrame({"x": [0.0, 0.5, None, 2.0]})
        >>> MarginalMap("x", 0, 0.0, 1.0, np.array([0.0, 1.0]), np.array([4.0, 4.0]), True).decoded(frame).to_list()
        [4.0, 4.0, None, 4.0]
        """
        numbers = frame[self.name].cast(pl.Float64).to_numpy()
        return numbers_as(self.name, np.interp(numbers, self.drawn, self.trained), frame.schema[self.name])


def apply_maps(
    maps: Sequence[MarginalMap], preprocessor: Preprocessor, values: np.ndarray, missing: np.ndarray
) -> pl.DataFrame:
    """Drawn cells (encoded ``values``, mapped in place, and the ``missing`` mask) decoded with
    every column given its training marginal."""
    for column_map in maps:
        if not column_map.after_decode:
            column_map.encoded(values)
    frame = preprocessor.decode(values, missing)
    return frame.with_columns(m.decoded(frame) for m in maps if m.after_decode)


def training_quantiles(stats: Mapping[str, Any], step: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The training quantile function from drift statistics: levels and values (``None``: too
    little stored). A ``step`` > 0 spreads each whole-number value over its step; otherwise an
    edge whose bin holds more than 1.5 bins' share is a repeated value (quantiles merged at it),
    and all but one bin's share of it stays on it.

    >>> stats = {"low": 0.0, "high": 2.0, "edges": [0.0, 1.0, 2.0], "counts": [0, 3, 5, 2]}
    >>> levels, values = training_quantiles(stats, step=1.0)
    >>> levels.tolist(), values.tolist()
    ([0.0, 0.0, 0.3, 0.8, 1.0], [-0.5, -0.5, 0.5, 1.5, 2.5])
    >>> levels, values = training_quantiles(stats, step=0.0)
    >>> levels.round(2).tolist(), values.tolist()
    ([0.0, 0.0, 0.25, 0.3, 0.75, 0.8, 0.95, 1.0], [0.0, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 2.0])
    """
    low, high = stats.get("low"), stats.get("high")
    edges = np.asarray(stats.get("edges") or [], np.float64)
    counts = np.asarray(stats.get("counts") or [], np.float64)
    if low is None or high is None or high <= low or counts.size != edges.size + 1 or counts.sum() <= 0:
        return None
    below = np.cumsum(counts)[:-1] / counts.sum()  # the share of training values under each edge
    if step > 0:
        inner = np.ceil(edges / step) * step - step / 2
        return np.concatenate([[0.0], below, [1.0]]), np.concatenate(
            [[low - step / 2], inner, [high + step / 2]]
        )
    share = np.diff(np.append(below, 1.0))  # of each edge's bin
    repeated = np.where(share > 1.5 / BINS, share - 1.0 / BINS, 0.0)
    levels = np.column_stack([below, below + repeated]).ravel()
    return np.concatenate([[0.0], levels, [1.0]]), np.concatenate([[low], np.repeat(edges, 2), [high]])


def marginal_maps(
    specs: Sequence[ColumnSpec],
    starts: Sequence[int],
    statistics: Mapping[str, Mapping[str, Any]],
    reference: np.ndarray,
    missing: np.ndarray,
) -> tuple[MarginalMap, ...]:
    """The map of each numeric and datetime column with training statistics, from the cells of
    the reference draw (``reference`` (n, D) encoded values, ``missing`` (n, C))."""
    maps = []
    for column, (spec, start) in enumerate(zip(specs, starts, strict=True)):
        position = _value_position(spec, start)
        quantiles = training_quantiles(statistics.get(spec.name) or {}, _step(spec))
        if position is None or quantiles is None:
            continue
        assert isinstance(spec, (NumericSpec, DatetimeSpec))  # the types with a value position
        raw = reference[~missing[:, column], position].astype(np.float64) * spec.scale + spec.center
        if np.unique(raw).size < 2:
            continue
        levels, values = quantiles
        drawn = np.quantile(raw, levels)
        after_decode = parse_dtype(spec.dtype).is_float()
        maps.append(MarginalMap(spec.name, position, spec.center, spec.scale, drawn, values, after_decode))
    return tuple(maps)


def _value_position(spec: ColumnSpec, start: int) -> int | None:
    """The input position a numeric value or a time's epoch seconds is decoded from."""
    if isinstance(spec, NumericSpec) and not spec.constant:
        return start
    if isinstance(spec, DatetimeSpec) and "absolute" in spec.parts:
        return start + spec.parts.index("absolute")
    return None


def _step(spec: ColumnSpec) -> float:
    """The gap between a column's possible values in drift units: 1 for integers, a day for
    dates, 0 (continuous) for floats and datetimes."""
    dtype = parse_dtype(spec.dtype)
    if dtype.is_integer():
        return 1.0
    return DAY if dtype == pl.Date else 0.0

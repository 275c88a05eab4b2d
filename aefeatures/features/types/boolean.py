"""Boolean columns: one 0 / 1 input, binary cross-entropy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from aefeatures.features.types.base import ColumnSpec, LearnOptions


@dataclass(frozen=True)
class BooleanSpec(ColumnSpec):
    """A boolean column; it learns nothing beyond the common fields.

    Examples
    --------
    >>> OPTIONS = LearnOptions(max_levels=64, min_level_count=5)
    >>> spec = BooleanSpec.learn(pl.Series("b", [True, None]), OPTIONS)
    >>> spec.has_missing, spec.width
    (True, 2)
    >>> spec.decode(np.array([[2.5], [-0.1]], dtype=np.float32)).to_list()  # logits
    [True, False]
    """

    kind = "boolean"
    takes = "boolean"
    loss = "bce"

    @classmethod
    def accepts(cls, dtype: pl.DataType) -> bool:
        """Only ``Boolean``."""
        return dtype == pl.Boolean

    @classmethod
    def learn(cls, series: pl.Series, options: LearnOptions) -> BooleanSpec:
        """The common fields."""
        return cls(**cls.common(series))

    def encode_values(self, series: pl.Series, missing: np.ndarray, block: np.ndarray) -> None:
        """1.0 for true, 0.0 for false and missing."""
        block[:, 0] = np.where(missing, 0.0, series.cast(pl.Float64).fill_null(0.0).to_numpy())

    def decode(self, block: np.ndarray) -> pl.Series:
        """True where the logit is above 0 (probability above one half)."""
        return pl.Series(self.name, block[:, 0] > 0, dtype=pl.Boolean)

    def drift_labels(self) -> tuple[str, ...]:
        """``false`` and ``true``."""
        return ("false", "true")

    def drift_codes(self, series: pl.Series) -> np.ndarray:
        """0 for false, 1 for true, -1 where missing."""
        return series.cast(pl.Int64).fill_null(-1).to_numpy()

    def signature_type(self, nullable: bool) -> str:
        """``boolean``."""
        return "boolean"

    def example(self, rows: int) -> list[Any]:
        """True and false in turn."""
        return [i % 2 == 0 for i in range(rows)]

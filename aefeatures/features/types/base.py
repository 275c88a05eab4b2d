"""What a column type declares: :class:`ColumnSpec`, the frozen state a type learns at fit.

A column type is a subclass of :class:`ColumnSpec` in its own module of
:mod:`aefeatures.features.types`. Its fields are what fit learns from the training rows (after
the common ``name``, ``dtype`` and ``has_missing``) and round-trip through JSON with
:meth:`ColumnSpec.to_dict` / :meth:`ColumnSpec.from_dict`; its methods say which polars dtypes
it takes, how a value becomes network inputs and loss terms, how network outputs become a value
again (:meth:`ColumnSpec.decode`), its drift statistics and its MLflow type.

A column that had missing values at fit also gets a missingness indicator after its value
inputs (binary cross-entropy); that part is common to every type and lives here.
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np
import polars as pl

LossKind = Literal["mse", "bce", "ce"]
SCALED_LIMIT = 1e6  # scaled values beyond this are clipped so float32 stays finite
EXAMPLE_OFFSETS = (0.0, -1.0, 1.0)  # example rows: the centre, then one scale below and above
SCALE_FLOOR = (
    1e-12  # a robust scale below this falls back (robust_center_scale); a smaller one is refused at load
)
SCALE = {"low": SCALE_FLOOR}  # field metadata of a scale: at least SCALE_FLOOR (checked at load)
DISTINCT = {"distinct": True}  # field metadata of a tuple: no item twice (checked at load)
S = TypeVar("S", bound="ColumnSpec")


@dataclass(frozen=True)
class Term:
    """One loss term of one column: ``width`` input positions from ``start``."""

    column: int
    loss: LossKind
    start: int
    width: int
    is_indicator: bool = False


@dataclass(frozen=True)
class LearnOptions:
    """Fit settings a column type may read when it learns (``FitConfig`` fields of the same name)."""

    max_levels: int
    min_level_count: int


@dataclass(frozen=True)
class ColumnSpec(ABC):
    """What fit learned about one feature column, and how its type encodes and decodes it.

    Subclasses set ``kind`` (the name written to ``aefeatures.json``), ``takes`` (the dtypes it
    takes, for messages) and ``loss``, add their learned fields, and implement the abstract
    methods. Every position of the value gets a term of ``loss`` unless :meth:`value_terms`
    says otherwise.
    """

    kind: ClassVar[str]
    takes: ClassVar[str]
    loss: ClassVar[LossKind] = "mse"
    has_target: ClassVar[bool] = False  # encode returns a level index per row (Encoded.targets)

    name: str
    dtype: str  # str() of the training dtype
    has_missing: bool

    # --- learning ------------------------------------------------------------------------------

    @classmethod
    @abstractmethod
    def accepts(cls, dtype: pl.DataType) -> bool:
        """Whether a column of ``dtype`` is of this type (the registry asks the types in order)."""

    @classmethod
    @abstractmethod
    def learn(cls: type[S], series: pl.Series, options: LearnOptions) -> S:
        """The state learned from a column's training values."""

    @staticmethod
    def common(series: pl.Series) -> dict[str, Any]:
        """The fields every type learns alike: ``name``, ``dtype`` and ``has_missing``."""
        return {
            "name": series.name,
            "dtype": str(series.dtype),
            "has_missing": bool(missing_mask(series).any()),
        }

    def fit_warning(self, rows: int) -> str | None:
        """A warning about the learned column (fit logs it), or ``None``."""
        return None

    # --- layout ----------------------------------------------------------------------------------

    @property
    def value_width(self) -> int:
        """Input positions taken by the value (without the missingness indicator)."""
        return 1

    @property
    def width(self) -> int:
        """Input positions taken by the column, indicator included."""
        return self.value_width + int(self.has_missing)

    def value_terms(self, column: int, start: int) -> list[Term]:
        """Loss terms of the value positions: one ``loss`` term per position."""
        return [Term(column, self.loss, start + i, 1) for i in range(self.value_width)]

    def terms(self, column: int, start: int) -> list[Term]:
        """Loss terms of this column when its inputs begin at ``start``."""
        terms = self.value_terms(column, start)
        if self.has_missing:
            terms.append(Term(column, "bce", start + self.value_width, 1, is_indicator=True))
        return terms

    # --- encoding and decoding -------------------------------------------------------------------

    def encode(self, series: pl.Series, out: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Write the column's inputs into ``out[:, start:start+width]``.

        Returns the observed mask (False where the cell was missing) and, for a type with
        ``has_target``, the target level index of every row.
        """
        missing = missing_mask(series)
        stop = start + self.value_width
        target = self.encode_values(series, missing, out[:, start:stop])
        if self.has_missing:
            out[:, stop] = missing
        return ~missing, target

    @abstractmethod
    def encode_values(self, series: pl.Series, missing: np.ndarray, block: np.ndarray) -> np.ndarray | None:
        """Write the value inputs into ``block`` (n, value_width), zero where ``missing``.

        Returns the target level index of every row (-1 when missing) for a type with
        ``has_target``, else ``None``.
        """

    @classmethod
    def encode_block(
        cls, specs: Sequence[ColumnSpec], frame: pl.DataFrame
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Value inputs (n, m) float32 and missing mask (n, m) of ``m`` columns of this type at once.

        ``None`` (the default): the type encodes column by column. A type of one input per
        column may return its vectorised encoding; the preprocessor then places it.
        """
        return None

    @abstractmethod
    def decode(self, block: np.ndarray) -> pl.Series:
        """Network output ``block`` (n, value_width) of this column as values of its training dtype.

        Squared-error positions hold scaled values, binary cross-entropy positions logits and a
        cross-entropy block logits over its levels.
        """

    # --- drift and signatures --------------------------------------------------------------------

    # A type declares its drift statistics one of two ways: ordered numbers (drift_values: fit
    # stores their range, quantile bins and counts) or levels (drift_labels and drift_codes: fit
    # stores the count of each level). Types with neither are checked for missing values only.

    def drift_values(self, column: pl.Expr) -> pl.Expr | None:
        """The column as ordered numbers whose training range and quantiles drift compares with, or ``None``."""
        return None

    def drift_labels(self) -> tuple[str, ...] | None:
        """The levels whose training counts drift compares with (``None``: the type has none)."""
        return None

    def drift_codes(self, series: pl.Series) -> np.ndarray | None:
        """Each value's index in :meth:`drift_labels` (-1 where missing), or ``None``."""
        return None

    def drift_unseen(self, counts: np.ndarray) -> float | None:
        """Values never seen at fit, from the level counts of :meth:`drift_codes` (``None``: no such level)."""
        return None

    @abstractmethod
    def signature_type(self, nullable: bool) -> str:
        """The MLflow ``DataType`` name of the column (``"double"``, ``"string"``, ...)."""

    @abstractmethod
    def example(self, rows: int) -> list[Any]:
        """``rows`` plausible values in the form of :meth:`signature_type` (datetimes: epoch seconds)."""

    # --- JSON ------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary, ``kind`` included."""
        data = {"name": self.name, "kind": self.kind, **dataclasses.asdict(self)}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @classmethod
    def from_dict(cls: type[S], data: dict[str, Any]) -> S:
        """Rebuild from :meth:`to_dict` output (without ``kind``)."""
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)


def missing_mask(series: pl.Series) -> np.ndarray:
    """True where a value is null, or NaN in a float column."""
    mask = series.is_null()
    if series.dtype.is_float():
        mask = mask | series.is_nan()
    return mask.to_numpy()


def robust_center_scale(values: np.ndarray) -> tuple[float, float]:
    """Median and IQR-based scale; falls back to the standard deviation, then 1."""
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return 0.0, 1.0
    center = float(np.median(finite))
    q25, q75 = np.quantile(finite, [0.25, 0.75])
    scale = float(q75 - q25) / 1.349
    if not scale > SCALE_FLOOR:
        scale = float(np.std(finite))
    if not (scale > SCALE_FLOOR and math.isfinite(scale)):
        scale = 1.0
    return center, scale


def example_offsets(rows: int) -> list[float]:
    """The offsets (in scales from the centre) of ``rows`` example values."""
    return [EXAMPLE_OFFSETS[i % len(EXAMPLE_OFFSETS)] for i in range(rows)]

"""The baseline imputers of ``benchmarks/imputation.py``, each fitted on one frame and filling another.

Every baseline reads the table through an :class:`Encoder` fitted on its training frame: numeric
columns (datetimes as days) standardized by the observed mean and standard deviation, categorical
and boolean columns either one-hot (KNN: a missing cell is NaN in every indicator of its column,
and the filled indicators are turned back into the level with the largest value) or ordinal
codes in sorted level order, rounded and clipped back to a level (IterativeImputer; MissForest,
whose trees split on codes and whose classifier predicts the code). IterativeImputer does not get
one-hot: a column's indicators are missing together, each is then predicted exactly by its
siblings (they sum to one), whose mean fill makes every prediction the column's mean, so every
filled cell got the mode. Whole-number columns are rounded back to whole numbers, so every method
fills cells in the column's dtype.

* :class:`MeanMode`: the observed mean of a numeric column, the most frequent level of a category.
* :class:`SklearnImputer`: scikit-learn's ``KNNImputer`` (one-hot) or ``IterativeImputer``
  (ordinal): fit, then transform the frame to fill.
* :class:`MissForest`: Stekhoven & Buehlmann (2012), written here: starting from mean/mode,
  each column with missing cells, fewest first, is predicted from all the others by a random
  forest (regressor or classifier) fitted on its observed cells; sweeps repeat until the change
  between two sweeps grows for every column type present (the previous sweep is kept), at most
  10. The forests of every sweep are kept, so filling another frame replays them in order on that
  frame's cells, without refitting.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import polars as pl
from mixed_tables import as_numbers, column_kinds, from_numbers, level_codes, levels_of
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor


class Imputer(Protocol):
    """What the benchmark calls: learn from one frame, fill the missing cells of another."""

    def fit(self, frame: pl.DataFrame) -> Imputer: ...

    def fill(self, frame: pl.DataFrame) -> pl.DataFrame: ...


class Encoder:
    """A frame as a float matrix with NaN for missing cells, and back; learnt from the training frame."""

    def __init__(self, categories: str) -> None:
        self.categories = categories  # "onehot" or "ordinal"

    def fit(self, frame: pl.DataFrame) -> Encoder:
        self.schema_ = frame.schema
        self.kinds_ = column_kinds(frame)
        self.scale_: dict[str, tuple[float, float]] = {}
        self.levels_: dict[str, list[Any]] = {}
        for name, kind in self.kinds_.items():
            if kind in ("numeric", "datetime"):
                values = as_numbers(frame[name])
                std = float(np.nanstd(values)) if np.isfinite(values).any() else 1.0
                self.scale_[name] = (float(np.nanmean(values)), std if std > 0 else 1.0)
            else:
                self.levels_[name] = levels_of(frame[name])
        return self

    def is_categorical(self) -> np.ndarray:
        """Per matrix column: does it hold a categorical code (ordinal encoding)?"""
        return np.array([name in self.levels_ for name in self.kinds_])

    def encode(self, frame: pl.DataFrame) -> np.ndarray:
        blocks = []
        for name in self.kinds_:
            if name in self.scale_:
                mean, std = self.scale_[name]
                blocks.append(((as_numbers(frame[name]) - mean) / std)[:, None])
                continue
            levels = self.levels_[name]
            codes = level_codes(frame[name], levels)
            if self.categories == "ordinal":
                blocks.append(codes[:, None])
                continue
            block = (codes[:, None] == np.arange(len(levels))[None, :]).astype(np.float64)
            block[frame[name].is_null().to_numpy()] = np.nan  # unseen levels stay all zeros
            blocks.append(block)
        return np.hstack(blocks)

    def decode(self, matrix: np.ndarray, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` with its missing cells taken from ``matrix`` (the filled encoding of ``frame``)."""
        columns, at = [], 0
        for name in self.kinds_:
            dtype = self.schema_[name]
            if name in self.scale_:
                mean, std = self.scale_[name]
                decoded = from_numbers(matrix[:, at] * std + mean, dtype, name)
                at += 1
            else:
                levels = self.levels_[name]
                if self.categories == "ordinal":
                    index = np.clip(np.round(matrix[:, at]), 0, len(levels) - 1).astype(int)
                    at += 1
                else:
                    index = matrix[:, at : at + len(levels)].argmax(axis=1)
                    at += len(levels)
                decoded = pl.Series(name, [levels[i] for i in index], dtype=dtype)
            columns.append(pl.when(frame[name].is_null()).then(decoded).otherwise(frame[name]).alias(name))
        return frame.select(columns)


class MeanMode:
    """Each column's observed mean (numeric, datetime) or most frequent level (category, boolean)."""

    def fit(self, frame: pl.DataFrame) -> MeanMode:
        self.encoder_ = Encoder("ordinal").fit(frame)
        self.fill_ = _initial(self.encoder_.encode(frame), self.encoder_.is_categorical())
        return self

    def fill(self, frame: pl.DataFrame) -> pl.DataFrame:
        x = self.encoder_.encode(frame)
        return self.encoder_.decode(np.where(np.isnan(x), self.fill_, x), frame)


class SklearnImputer:
    """A scikit-learn imputer on standardized numbers and categories ``"onehot"`` or ``"ordinal"``."""

    def __init__(self, make: Any, categories: str) -> None:
        self.make = make
        self.categories = categories

    def fit(self, frame: pl.DataFrame) -> SklearnImputer:
        self.encoder_ = Encoder(self.categories).fit(frame)
        self.imputer_ = self.make().fit(self.encoder_.encode(frame))
        return self

    def fill(self, frame: pl.DataFrame) -> pl.DataFrame:
        return self.encoder_.decode(self.imputer_.transform(self.encoder_.encode(frame)), frame)


def _initial(x: np.ndarray, categorical: np.ndarray) -> np.ndarray:
    """Per column: the observed mean, or the most frequent code of a categorical column."""
    values = np.zeros(x.shape[1])
    for j in range(x.shape[1]):
        observed = x[~np.isnan(x[:, j]), j]
        if observed.size == 0:
            continue
        if categorical[j]:
            codes, counts = np.unique(observed, return_counts=True)
            values[j] = codes[counts.argmax()]
        else:
            values[j] = observed.mean()
    return values


class MissForest:
    """MissForest on the ordinal encoding: per-column random forests, swept until the change grows."""

    def __init__(self, *, trees: int = 100, max_iter: int = 10, seed: int = 0) -> None:
        self.trees = trees
        self.max_iter = max_iter
        self.seed = seed

    def fit(self, frame: pl.DataFrame) -> MissForest:
        self.encoder_ = Encoder("ordinal").fit(frame)
        self.categorical_ = self.encoder_.is_categorical()
        x = self.encoder_.encode(frame)
        missing = np.isnan(x)
        self.initial_ = _initial(x, self.categorical_)
        filled = np.where(missing, self.initial_, x)
        order = [j for j in np.argsort(missing.sum(axis=0), kind="stable") if missing[:, j].any()]
        self.sweeps_: list[list[tuple[int, Any]]] = []
        previous = (np.inf, np.inf)
        for sweep in range(self.max_iter):
            before, forests = filled.copy(), []
            for j in order:
                others = np.arange(x.shape[1]) != j
                rows = ~missing[:, j]
                forest = self._forest(j, sweep).fit(filled[rows][:, others], x[rows, j])
                filled[missing[:, j], j] = forest.predict(filled[missing[:, j]][:, others])
                forests.append((j, forest))
            change = self._change(before, filled, missing)
            if all(now > then for now, then in zip(change, previous, strict=True) if np.isfinite(now)):
                break  # the change grew for every column type: keep the previous sweep
            self.sweeps_.append(forests)
            previous = change
        return self

    def fill(self, frame: pl.DataFrame) -> pl.DataFrame:
        x = self.encoder_.encode(frame)
        missing = np.isnan(x)
        filled = np.where(missing, self.initial_, x)
        for forests in self.sweeps_:
            for j, forest in forests:  # a column with no missing training cell keeps mean/mode
                rows = missing[:, j]
                if rows.any():
                    filled[rows, j] = forest.predict(filled[rows][:, np.arange(x.shape[1]) != j])
        return self.encoder_.decode(filled, frame)

    def _forest(self, column: int, sweep: int) -> Any:
        """A fresh forest for one column: a classifier for a category, else a regressor (mtry p/3)."""
        seed = self.seed * 1000 + sweep * 100 + column
        if self.categorical_[column]:
            return RandomForestClassifier(n_estimators=self.trees, random_state=seed, n_jobs=1)
        return RandomForestRegressor(n_estimators=self.trees, max_features=1 / 3, random_state=seed, n_jobs=1)

    def _change(self, before: np.ndarray, after: np.ndarray, missing: np.ndarray) -> tuple[float, float]:
        """Stekhoven & Buehlmann's change of a sweep: numeric (relative squares), categorical (share)."""
        numeric = missing & ~self.categorical_[None, :]
        categorical = missing & self.categorical_[None, :]
        delta_n = (
            float(((after - before)[numeric] ** 2).sum() / max((after[numeric] ** 2).sum(), 1e-12))
            if numeric.any()
            else np.nan
        )
        delta_f = float((after != before)[categorical].mean()) if categorical.any() else np.nan
        return delta_n, delta_f

"""The tables of the imputation and synthetic-row benchmarks, and what both scripts read from them.

Every table is either read from ``../shared/data/anomaly/`` (the ODDS outlier tables: numeric, the
``label`` column dropped; that folder sits beside a CI checkout, never in a user's clone) or
shipped inside a PyPI package; nothing is downloaded at run time. A table whose package is not
installed raises :class:`Unavailable`, which the scripts print as a skipped table.

Mixed-type tables, each with its classification label kept as a column (cast to text, so it is
a categorical column like any other):

* ``penguins``: ``palmerpenguins.load_penguins()``; label ``species``; categoricals, an integer
  year and missing values of its own.
* ``cars``: ``vega_datasets``' local ``cars``, ``Name`` dropped; label ``Origin``; ``Year`` is a
  datetime column.
* ``iris``, ``wine``, ``breast_cancer``: scikit-learn's bundled copies, label ``target`` as its
  class name.
* ``diabetes``: scikit-learn's bundled copy, unscaled, ``sex`` as a category; no label (its
  target is a number), so imputation only.
* ``anes96``: statsmodels' 1996 American National Election Study extract, party identification
  ``PID`` and education ``educ`` as categories, ``logpopul`` (the log of ``popul``) dropped;
  label ``vote``.
* ``fair``: statsmodels' affairs survey, ``occupation`` and ``occupation_husb`` as categories;
  label ``affair`` (``affairs > 0``, which is dropped).
* ``seattle_weather``: vega_datasets' local daily weather, ``date`` a datetime; label ``weather``.
* ``star98``, ``randhie``: statsmodels' school districts (numeric) and RAND health insurance
  experiment (whole numbers and floats); no label, so imputation only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ODDS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "anomaly"


class Unavailable(Exception):
    """A table whose package is not installed or whose file is absent."""


@dataclass(frozen=True)
class Table:
    """One benchmark table: its rows, its classification label column (if any) and where it came from."""

    name: str
    frame: pl.DataFrame
    label: str | None
    source: str


def _require(module: str, package: str) -> Any:
    """Import ``module`` or raise :class:`Unavailable` naming the package to install."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise Unavailable(f"{package} is not installed (pip install {package})") from error


def penguins() -> Table:
    """palmerpenguins' 344 penguins; label ``species``."""
    module = _require("palmerpenguins", "palmerpenguins")
    frame = pl.from_pandas(module.load_penguins())
    return Table("penguins", frame, "species", "palmerpenguins")


def cars() -> Table:
    """vega_datasets' local 406 cars; label ``Origin``, the ``Name`` identifier dropped."""
    module = _require("vega_datasets", "vega_datasets")
    frame = pl.from_pandas(module.local_data.cars()).drop("Name")
    return Table("cars", frame, "Origin", "vega_datasets")


def _sklearn(name: str) -> Callable[[], Table]:
    """Loader of one of scikit-learn's bundled classification tables, label ``target`` as class names."""

    def load() -> Table:
        datasets = _require("sklearn.datasets", "scikit-learn")
        bunch = getattr(datasets, f"load_{name}")(as_frame=True)
        names = np.asarray(bunch.target_names).astype(str)
        frame = pl.from_pandas(bunch.frame).with_columns(pl.Series("target", names[bunch.target.to_numpy()]))
        return Table(name, frame, "target", "scikit-learn")

    return load


def diabetes() -> Table:
    """scikit-learn's 442 diabetes patients, unscaled, ``sex`` as a category; no label."""
    datasets = _require("sklearn.datasets", "scikit-learn")
    frame = pl.from_pandas(datasets.load_diabetes(as_frame=True, scaled=False).frame)
    frame = frame.with_columns(pl.col("sex").cast(pl.Int64).cast(pl.String))
    return Table("diabetes", frame, None, "scikit-learn")


def _as_categories(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """Whole-number codes as text categories."""
    return frame.with_columns(pl.col(names).cast(pl.Int64).cast(pl.String))


def anes96() -> Table:
    """statsmodels' 944 voters of 1996; label ``vote``."""
    datasets = _require("statsmodels.datasets", "statsmodels")
    frame = pl.from_pandas(datasets.anes96.load_pandas().data).drop("logpopul")
    return Table("anes96", _as_categories(frame, ["PID", "educ", "vote"]), "vote", "statsmodels")


def fair() -> Table:
    """statsmodels' 6,366 answers to the affairs survey; label ``affair`` (any affairs)."""
    datasets = _require("statsmodels.datasets", "statsmodels")
    frame = pl.from_pandas(datasets.fair.load_pandas().data)
    frame = _as_categories(frame, ["occupation", "occupation_husb"]).with_columns(
        pl.when(pl.col("affairs") > 0).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("affair")
    )
    return Table("fair", frame.drop("affairs"), "affair", "statsmodels")


def seattle_weather() -> Table:
    """vega_datasets' local 1,461 days of Seattle weather; label ``weather``, ``date`` a datetime."""
    module = _require("vega_datasets", "vega_datasets")
    frame = pl.from_pandas(module.local_data.seattle_weather())
    return Table("seattle_weather", frame, "weather", "vega_datasets")


def star98() -> Table:
    """statsmodels' 303 California school districts of 1998 (22 numeric columns); no label."""
    datasets = _require("statsmodels.datasets", "statsmodels")
    return Table("star98", pl.from_pandas(datasets.star98.load_pandas().data), None, "statsmodels")


def randhie() -> Table:
    """statsmodels' 20,190 person-years of the RAND health insurance experiment; no label."""
    datasets = _require("statsmodels.datasets", "statsmodels")
    return Table("randhie", pl.from_pandas(datasets.randhie.load_pandas().data), None, "statsmodels")


MIXED: dict[str, Callable[[], Table]] = {
    "penguins": penguins,
    "cars": cars,
    "iris": _sklearn("iris"),
    "wine": _sklearn("wine"),
    "breast_cancer": _sklearn("breast_cancer"),
    "diabetes": diabetes,
    "anes96": anes96,
    "fair": fair,
    "seattle_weather": seattle_weather,
    "star98": star98,
    "randhie": randhie,
}


def _odds(name: str) -> Callable[[], Table]:
    """Loader of one ODDS table, its ``label`` column dropped."""

    def load() -> Table:
        path = ODDS / f"{name}.parquet"
        if not path.is_file():
            raise Unavailable(f"{path} is absent (ODDS tables sit beside a CI checkout only)")
        return Table(name, pl.read_parquet(path).drop("label"), None, "ODDS")

    return load


def odds_tables() -> dict[str, Callable[[], Table]]:
    """A loader per ODDS table in ``../shared/data/anomaly/``; none when the folder is absent."""
    return {path.stem: _odds(path.stem) for path in sorted(ODDS.glob("*.parquet"))}


def column_kinds(frame: pl.DataFrame) -> dict[str, str]:
    """Each column's kind: ``numeric``, ``datetime``, ``category`` (text) or ``boolean``."""
    kinds = {}
    for name, dtype in frame.schema.items():
        if dtype == pl.Boolean:
            kinds[name] = "boolean"
        elif dtype.is_numeric():
            kinds[name] = "numeric"
        elif dtype.is_temporal():
            kinds[name] = "datetime"
        else:
            kinds[name] = "category"
    return kinds


def as_numbers(column: pl.Series) -> np.ndarray:
    """A numeric, boolean or datetime column as float64 with NaN where missing; dates in days."""
    if column.dtype.is_temporal():
        column = column.cast(pl.Datetime("us")).dt.epoch("us") / 86_400e6
    return column.cast(pl.Float64).fill_nan(None).to_numpy().astype(np.float64)


def from_numbers(values: np.ndarray, dtype: pl.DataType, name: str) -> pl.Series:
    """The inverse of :func:`as_numbers` into ``dtype``: whole-number columns rounded, days to dates."""
    if dtype.is_temporal():
        micros = pl.Series(name, np.round(values * 86_400e6), nan_to_null=True).cast(pl.Int64)
        return micros.cast(pl.Datetime("us")).cast(dtype)
    if dtype.is_integer():
        values = np.round(values)
    return pl.Series(name, values, nan_to_null=True).cast(dtype)


def levels_of(column: pl.Series) -> list[Any]:
    """A categorical or boolean column's observed levels, sorted."""
    return sorted(column.drop_nulls().unique().to_list())


def level_codes(column: pl.Series, levels: list[Any]) -> np.ndarray:
    """Each cell's position in ``levels`` as float64; NaN where missing or not one of the levels."""
    codes = column.replace_strict(levels, list(range(len(levels))), default=None)
    return codes.cast(pl.Float64).to_numpy().astype(np.float64)


def cap_rows(frame: pl.DataFrame, max_rows: int, seed: int) -> pl.DataFrame:
    """At most ``max_rows`` rows, drawn without replacement (seeded), in their original order."""
    if frame.height <= max_rows:
        return frame
    keep = np.sort(np.random.default_rng(seed).choice(frame.height, max_rows, replace=False))
    return frame[keep]


def split_rows(rows: int, train_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of a seeded random split: ``train_share`` of the rows, then the rest, each sorted."""
    order = np.random.default_rng(seed).permutation(rows)
    cut = int(round(train_share * rows))
    return np.sort(order[:cut]), np.sort(order[cut:])


def load_tables(names: list[str], loaders: dict[str, Callable[[], Table]]) -> tuple[list[Table], list[str]]:
    """The tables that load, and a line per table that was skipped with its reason."""
    tables, skipped = [], []
    for name in names:
        try:
            tables.append(loaders[name]())
        except Unavailable as reason:
            skipped.append(f"skipping {name}: {reason}")
    return tables, skipped

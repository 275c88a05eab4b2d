"""Outlier tables built the way ADBench builds its tables, from data shipped inside PyPI packages.

A labelled table becomes an outlier table by keeping some classes as the normal rows and a few
rows of another class (a fixed share, drawn once with a fixed seed) as the outliers, as ADBench's
wine (129 rows, 10 outliers) and hepatitis (80 rows) are made. Nothing is downloaded: the data
comes from scikit-learn, palmerpenguins and vega_datasets when they are installed;
a table whose package is missing is skipped by :func:`available`. Several tables have under 300
rows, where a network trained too long learns its outliers too.

Each table says whether the defaults were tuned on it (``TUNED``); the rest are held out and
reported as their own group.

Examples
--------
>>> features, labels = load("iris-virginica")
>>> features.height, int(labels.sum())
(105, 5)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

ODDS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "anomaly"
ODDS_TABLES = ("cardio", "thyroid", "satellite", "shuttle", "pendigits", "ionosphere")
SMALL_ROWS = 300  # tables under this many rows are reported as a group of their own
# The tables the defaults were chosen on; every other table is held out.
TUNED = ("wine", "iris-virginica", "breast-small", "cardio", "ionosphere")


def _outlier_table(
    frame: pd.DataFrame, label: pd.Series, normal: set[object], outliers: int, seed: int = 0
) -> tuple[pl.DataFrame, np.ndarray]:
    """Rows of the ``normal`` classes, plus ``outliers`` rows drawn from the other classes."""
    is_normal = label.isin(normal).to_numpy()
    rng = np.random.default_rng(seed)
    picked = rng.choice(np.flatnonzero(~is_normal), size=outliers, replace=False)
    keep = np.sort(np.concatenate([np.flatnonzero(is_normal), picked]))
    numeric = frame.iloc[keep].reset_index(drop=True)
    return pl.from_pandas(numeric), ~is_normal[keep]


def _sklearn(
    name: str, normal: set[object], outliers: int, rows: int | None = None
) -> Callable[[], tuple[pl.DataFrame, np.ndarray]]:
    def load_table() -> tuple[pl.DataFrame, np.ndarray]:
        import sklearn.datasets

        data = getattr(sklearn.datasets, f"load_{name}")(as_frame=True)
        frame, label = data.frame.drop(columns=["target"]), data.frame["target"]
        if rows is not None:  # a small table: the first ``rows`` normal rows and all others
            normal_rows = np.flatnonzero(label.isin(normal).to_numpy())[:rows]
            other = np.flatnonzero(~label.isin(normal).to_numpy())
            keep = np.sort(np.concatenate([normal_rows, other]))
            frame, label = frame.iloc[keep], label.iloc[keep]
        frame = frame.loc[:, frame.std() > 0]  # digits: blank pixels say nothing
        return _outlier_table(frame, label, normal, outliers)

    return load_table


def _penguins() -> tuple[pl.DataFrame, np.ndarray]:
    import palmerpenguins

    data = palmerpenguins.load_penguins().dropna()
    numeric = data[["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]]
    return _outlier_table(numeric.astype(float), data["species"], {"Adelie", "Gentoo"}, 8)


def _cars() -> tuple[pl.DataFrame, np.ndarray]:
    from vega_datasets import local_data

    data = local_data.cars().dropna()
    numeric = data.drop(columns=["Name", "Origin", "Year"]).astype(float)
    return _outlier_table(numeric, data["Origin"], {"USA"}, 8)


def _odds(name: str) -> Callable[[], tuple[pl.DataFrame, np.ndarray]]:
    def load_table() -> tuple[pl.DataFrame, np.ndarray]:
        frame = pl.read_parquet(ODDS / f"{name}.parquet")
        return frame.drop("label"), frame["label"].to_numpy().astype(bool)

    return load_table


TABLES: dict[str, Callable[[], tuple[pl.DataFrame, np.ndarray]]] = {
    # under 300 rows
    "wine": _sklearn("wine", {1, 2}, 10),  # ADBench's wine: 119 normal rows, 10 outliers
    "iris-virginica": _sklearn("iris", {0, 1}, 5),
    "iris-versicolor": _sklearn("iris", {0, 2}, 5),
    "breast-small": _sklearn("breast_cancer", {1}, 8, rows=200),
    "digits-small": _sklearn("digits", {0, 1}, 8, rows=250),
    "penguins": _penguins,
    "cars": _cars,
    # larger
    "breast_cancer": _sklearn("breast_cancer", {1}, 21),  # WBC-like: 357 benign, 21 malignant
    "digits": _sklearn("digits", {0, 1, 2, 3, 4, 5, 6, 8, 9}, 50),
    **{name: _odds(name) for name in ODDS_TABLES},
}


def load(name: str) -> tuple[pl.DataFrame, np.ndarray]:
    """Features and outlier labels of one table."""
    return TABLES[name]()


def available(names: list[str]) -> dict[str, tuple[pl.DataFrame, np.ndarray]]:
    """The tables whose package (or ODDS file) is here, loaded; the others are named on stderr."""
    import sys

    found = {}
    for name in names:
        try:
            found[name] = load(name)
        except (ImportError, FileNotFoundError) as error:
            print(f"{name}: skipped ({error})", file=sys.stderr)
    return found

"""What little variation in the training rows means for the model, said at fit.

A constant column gives the network nothing to learn. When many training rows get one and the
same ``ae_error`` (a table whose columns are all constant, or all but a few cells), the
percentiles cannot rank those rows: each gets the middle of the tied percentiles, and the fit
says so, naming the columns that hardly vary, instead of scoring as if the ranking meant
something. Each check is one pass over the columns.

Examples
--------
>>> import numpy as np, polars as pl
>>> frame = pl.DataFrame({"a": [1.0] * 20, "b": [2] * 19 + [3]})
>>> constant_columns(frame)
['a']
>>> print(tied_errors_warning(frame, np.full(20, 0.5), lambda e: np.full(len(e), 50.0)))  # doctest: +ELLIPSIS
all 20 training rows have the same ae_error: ae_error_pct cannot rank them (each gets 50); ...
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

TIED_SHARE = 0.5  # warn when at least this share of the training rows tie on ae_error
HARDLY_VARIES = 0.99  # a column "hardly varies" when one value (or null) fills this share of rows
MAX_NAMED = 10  # columns a message names before it counts the rest


def constant_columns(features: pl.DataFrame) -> list[str]:
    """The columns with one value in every row (a missing value counts as a value)."""
    if not features.height:
        return []
    counts = features.select(pl.all().n_unique()).row(0)
    return [name for name, count in zip(features.columns, counts, strict=True) if count <= 1]


def constant_columns_warning(features: pl.DataFrame) -> str | None:
    """A warning naming the constant columns, or ``None``; not when every column is constant
    (:func:`tied_errors_warning` says what that means)."""
    constant = constant_columns(features)
    if not constant or len(constant) == features.width:
        return None
    return (
        f"{_named(constant)} {'has' if len(constant) == 1 else 'have'} one value in every training row: "
        f"nothing to learn from; leave {'it' if len(constant) == 1 else 'them'} out with --exclude "
        + ",".join(constant[:MAX_NAMED])
    )


def tied_errors_warning(
    features: pl.DataFrame, errors: np.ndarray, percentile: Callable[[np.ndarray], np.ndarray]
) -> str | None:
    """A warning when at least :data:`TIED_SHARE` of the training rows share one ``ae_error``.

    Such rows cannot be ranked against each other: ``percentile`` (the model's) gives each the
    middle of the tie, which the message quotes. It names the columns that hardly vary (one
    value in :data:`HARDLY_VARIES` of the rows), the cause when the table has no variation.
    """
    if len(errors) < 2:
        return None
    values, counts = np.unique(errors, return_counts=True)
    tied = int(counts.max())
    if tied < max(2, TIED_SHARE * len(errors)):  # one row alone ties with nothing
        return None
    middle = float(percentile(values[np.argmax(counts) : np.argmax(counts) + 1])[0])
    rows = f"all {tied}" if tied == len(errors) else f"{tied} of {len(errors)}"
    flat = _hardly_varying(features)
    cause = (
        f"every column hardly varies ({_named(flat)})"
        if len(flat) == features.width
        else f"the rows are largely the same{f'; {_named(flat)} hardly {_vary(flat)}' if flat else ''}"
    )
    return (
        f"{rows} training rows have the same ae_error: ae_error_pct cannot rank them "
        f"(each gets {middle:.3g}); {cause}. ae_error still measures how far a new row is from them: "
        "compare rows by ae_error, or fit on data that varies"
    )


def _hardly_varying(features: pl.DataFrame) -> list[str]:
    """Columns where one value (or null) fills :data:`HARDLY_VARIES` of the rows, in one pass."""
    if not features.height:
        return []
    shares = features.select(  # by position: a name such as '^a.*$' would be read as a pattern
        pl.nth(i).value_counts(sort=True, name=f"{name}\0n").struct.field(f"{name}\0n").first().alias(f"{i}")
        for i, name in enumerate(features.columns)
    ).row(0)
    return [
        name
        for name, top in zip(features.columns, shares, strict=True)
        if top >= HARDLY_VARIES * features.height
    ]


def _named(columns: list[str]) -> str:
    shown = ", ".join(repr(name) for name in columns[:MAX_NAMED])
    more = len(columns) - MAX_NAMED
    label = "column" if len(columns) == 1 else "columns"
    return f"{label} {shown}" + (f" and {more} more" if more > 0 else "")


def _vary(columns: list[str]) -> str:
    return "varies" if len(columns) == 1 else "vary"

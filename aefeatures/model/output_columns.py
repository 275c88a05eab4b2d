"""The columns a model appends: their names, their values as series, and the refusal of inputs
that already hold them.

Examples
--------
>>> output_names("ae_", 2, ["a", "b"], per_feature_errors=True)
['ae_z0', 'ae_z1', 'ae_error', 'ae_error_pct', 'ae_outlier', 'ae_error__a', 'ae_error__b']
>>> refuse_collisions(["x", "ae_error"], ["ae_z0", "ae_error"])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
aefeatures.errors.DataError: column 'ae_error' already exists in the input and would be overwritten.
Hint: drop it from the data first ...
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from aefeatures.errors import DataError
from aefeatures.model.scoring import Scores


def output_names(
    prefix: str,
    latent_dim: int,
    columns: Sequence[str],
    per_feature_errors: bool = False,
    expected: bool = False,
) -> list[str]:
    """Names of the appended columns, in order: the codes, the row's error, its percentile and
    outlier flag, then each column's error (``per_feature_errors``) or each column's error and
    expected value (``expected``, which implies the errors)."""
    p = prefix
    names = [f"{p}z{i}" for i in range(latent_dim)] + [f"{p}error", f"{p}error_pct", f"{p}outlier"]
    if expected:
        names += [name for c in columns for name in (f"{p}error__{c}", f"{p}expected__{c}")]
    elif per_feature_errors:
        names += [f"{p}error__{c}" for c in columns]
    return names


def output_series(
    prefix: str,
    columns: Sequence[str],
    scores: Scores,
    percentiles: np.ndarray,
    flags: np.ndarray,
    expected: pl.DataFrame | None = None,
) -> list[pl.Series]:
    """The appended columns of :func:`output_names`' order from a batch's ``scores``: the codes,
    the error with its ``percentiles`` and outlier ``flags``, each column's error when the scores
    hold them, and beside each its ``expected`` value (the decoded reconstruction) when given."""
    p, k = prefix, scores.codes.shape[1]
    series = [pl.Series(f"{p}z{i}", scores.codes[:, i], dtype=pl.Float32) for i in range(k)]
    series += [
        pl.Series(f"{p}error", scores.errors, dtype=pl.Float64),
        pl.Series(f"{p}error_pct", percentiles, dtype=pl.Float64),
        pl.Series(f"{p}outlier", flags, dtype=pl.Boolean),
    ]
    if scores.column_errors is None:
        return series
    errors = [
        pl.Series(f"{p}error__{c}", scores.column_errors[:, j], dtype=pl.Float64)
        for j, c in enumerate(columns)
    ]
    if expected is None:
        return series + errors
    return series + [
        s
        for error, c in zip(errors, columns, strict=True)
        for s in (error, expected[c].alias(f"{p}expected__{c}"))
    ]


def refuse_collisions(columns: Sequence[str], outputs: Sequence[str]) -> None:
    """Raise a :class:`DataError` naming the input ``columns`` that the ``outputs`` would overwrite."""
    clash = sorted(set(columns) & set(outputs))
    if clash:
        raise DataError(
            f"column {clash[0]!r} already exists in the input and would be overwritten"
            + (f" (and {_listed(clash[1:])})." if len(clash) > 1 else "."),
            hint=f"drop {'them' if len(clash) > 1 else 'it'} from the data first (e.g. df.drop({clash[:5]!r}) "
            "in polars, or transform the data the columns were added to), or use a model fitted with "
            "another prefix (aefeatures fit ... --prefix ae2_)",
        )


def _listed(names: Sequence[str], shown: int = 3) -> str:
    """``'a', 'b', 'c'`` and, past ``shown`` names, how many more: ``'a', 'b', 'c' and 2 more``."""
    rest = len(names) - shown
    return ", ".join(map(repr, names[:shown])) + (f" and {rest} more" if rest > 0 else "")

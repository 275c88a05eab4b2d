"""The columns a model appends: their names, and the refusal of inputs that already hold them.

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

from aefeatures.errors import DataError


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


def refuse_collisions(columns: Sequence[str], outputs: Sequence[str]) -> None:
    """Raise a :class:`DataError` naming the input ``columns`` that the ``outputs`` would overwrite."""
    clash = sorted(set(columns) & set(outputs))
    if clash:
        raise DataError(
            f"column {clash[0]!r} already exists in the input and would be overwritten"
            + (
                f" (and {len(clash) - 1} more: {', '.join(map(repr, clash[1:4]))})."
                if len(clash) > 1
                else "."
            ),
            hint=f"drop {'them' if len(clash) > 1 else 'it'} from the data first (e.g. df.drop({clash[:5]!r}) "
            "in polars, or transform the data the columns were added to), or use a model fitted with "
            "another prefix (aefeatures fit ... --prefix ae2_)",
        )

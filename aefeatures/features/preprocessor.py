"""Tabular preprocessing of a whole frame: feature selection, the input matrix, its loss terms,
and network outputs decoded back into a frame of the training dtypes."""

from __future__ import annotations

import dataclasses
import difflib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl
import polars.selectors as cs

from aefeatures.errors import DataError, leave_out
from aefeatures.features.columns import check_feature_types, learn_spec, unsupported_reason
from aefeatures.features.types import ColumnSpec, Term, describe, spec_from_dict, type_of

log = logging.getLogger("aefeatures")
BASELINE_FLOOR = 0.05
ERROR_SCALE_FLOOR = 0.01  # a column reconstructed 100x better than its marginal weighs at most 100x
MIN_BASELINE = BASELINE_FLOOR * ERROR_SCALE_FLOOR  # the smallest baseline fit stores (refused below, at load)


@dataclass(frozen=True)
class Encoded:
    """A frame turned into network inputs."""

    inputs: np.ndarray  # (n, D) float32, what the network sees and reconstructs
    observed: np.ndarray  # (n, C) bool, False where a column's cell was missing
    targets: np.ndarray  # (n, n_targets) int64 level index of each categorical column, -1 when missing

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.inputs.shape[0])


def select_features(
    schema: pl.Schema,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    *,
    prefix: str | None = None,
) -> list[str]:
    """Feature columns: ``columns`` if given, else every usable column not in ``exclude``.

    With ``prefix`` (the model's output prefix, ``FitConfig.prefix``), a feature named like a
    column the model appends is refused (see :func:`output_name_clashes`): transform could never
    take it.
    """
    names = list(schema.names())
    _require_present(columns or (), "--columns", names)
    _require_present(exclude, "--exclude", names)
    if columns:
        unusable = [c for c in columns if type_of(schema[c]) is None]
        if unusable:
            c = unusable[0]
            raise DataError(
                f"column {c!r} has type {schema[c]}, which cannot be a feature: {unsupported_reason(schema[c])}.",
                hint=f"features must be {describe()}; drop {c!r} from --columns",
            )
        wanted, left_out = set(columns), set(exclude)  # once: a set per name would be quadratic
        chosen = [c for c in names if c in wanted and c not in left_out]
    else:
        left_out = set(exclude)
        chosen = [c for c in names if c not in left_out]
        skipped = [c for c in chosen if type_of(schema[c]) is None]
        if skipped:
            log.warning(
                "skipping columns of unsupported types: %s",
                "; ".join(f"{c!r} ({unsupported_reason(schema[c])})" for c in skipped),
            )
        unsupported = set(skipped)
        chosen = [c for c in chosen if c not in unsupported]
    if not chosen:
        raise DataError(
            "no feature columns are left to train on.",
            hint=f"check --columns / --exclude; features must be {describe()}",
        )
    if "" in chosen:
        raise DataError(
            f"feature column {chosen.index('')} has an empty name: it cannot be named in a schema, "
            "an option or an output file.",
            hint=f"rename the column (e.g. df.rename({{'': 'value'}})), or leave it out: {leave_out('')}",
        )
    clashes = output_name_clashes(names, prefix, chosen) if prefix is not None else []
    if clashes and prefix is not None:
        shown = ", ".join(map(repr, clashes[:5])) + (", ..." if len(clashes) > 5 else "")
        free = free_prefix(names, chosen, prefix)
        raise DataError(
            f"column {clashes[0]!r} is named like a column the model appends (prefix {prefix!r}): "
            f"transform could never take this data, feature or not. Clashing: {shown}"
            + (" (it looks like the output of an earlier transform)." if len(clashes) > 1 else "."),
            hint=f"fit with another prefix (--prefix {free}; prefix={free!r} in Python), or drop "
            f"{'those columns' if len(clashes) > 1 else 'the column'} from the data first "
            f"(e.g. df.drop({clashes[:5]!r}) in polars)",
        )
    return chosen


def output_name_clashes(
    names: Sequence[str], prefix: str, features: Sequence[str] | None = None
) -> list[str]:
    """The columns ``names`` that a model with ``prefix`` would overwrite at transform:
    ``{prefix}z<k>``, ``{prefix}error``, ``{prefix}error_pct``, ``{prefix}outlier``,
    ``{prefix}imputed`` (impute's count) and ``{prefix}error__<feature>`` /
    ``{prefix}expected__<feature>`` for each of ``features`` (``names`` when not given).

    Every ``{prefix}z<k>`` counts, whatever the bottleneck size turns out to be.

    Examples
    --------
    >>> output_name_clashes(["x", "ae_error", "ae_z12"], "ae_")
    ['ae_error', 'ae_z12']
    """
    fixed = {f"{prefix}error", f"{prefix}error_pct", f"{prefix}outlier", f"{prefix}imputed"}
    per_feature = {
        f"{prefix}{what}__{name}" for name in (features or names) for what in ("error", "expected")
    }
    code = re.compile(re.escape(prefix) + r"z(0|[1-9][0-9]*)")
    return [
        name for name in names if name in fixed or name in per_feature or code.fullmatch(name) is not None
    ]


def free_prefix(names: Sequence[str], features: Sequence[str], prefix: str) -> str:
    """The first of ``{prefix}2_``, ``{prefix}3_`` ... whose output columns clash with none of ``names``.

    Examples
    --------
    >>> free_prefix(["ae_error", "ae2_error"], ["x"], "ae_")
    'ae3_'
    """
    stem = prefix.rstrip("_") or "ae"
    return next(
        candidate
        for candidate in (f"{stem}{n}_" for n in range(2, len(names) + 3))
        if not output_name_clashes(names, candidate, features)
    )


def _require_present(requested: Sequence[str], option: str, names: list[str]) -> None:
    """Refuse a name of ``option`` (``--columns`` / ``columns=``, ``--exclude`` / ``exclude=``) that
    is not a column, suggesting the nearest one.

    Examples
    --------
    >>> _require_present(["lable"], "--exclude", ["id", "label"])
    Traceback (most recent call last):
    aefeatures.errors.DataError: column 'lable' (from --exclude) is not in the data.
    Hint: did you mean 'label'? The data has columns: 'id', 'label'
    """
    present = set(names)
    missing = [c for c in requested if c not in present]
    if missing:
        near = difflib.get_close_matches(missing[0], names, n=1, cutoff=0.75)
        guess = f"did you mean {near[0]!r}? The data" if near else "the data"
        raise DataError(
            f"column {missing[0]!r} (from {option}) is not in the data.",
            hint=f"{guess} has columns: {', '.join(map(repr, names[:30]))}",
        )


@dataclass(frozen=True)
class Preprocessor:
    """Learned preprocessing of every feature column plus the loss normaliser of each term."""

    specs: tuple[ColumnSpec, ...]
    baselines: tuple[float, ...]

    @classmethod
    def fit(cls, frame: pl.DataFrame, *, max_levels: int, min_level_count: int) -> Preprocessor:
        """Learn from the feature columns of ``frame`` (all of them are used)."""
        _reject_empty_columns(frame)
        specs = tuple(
            learn_spec(frame[name], max_levels=max_levels, min_level_count=min_level_count)
            for name in frame.columns
        )
        _warn_identifier_like(frame, specs)
        unscaled = cls(specs=specs, baselines=())
        return cls(specs=specs, baselines=unscaled.marginal_losses(unscaled.encode(frame)))

    @property
    def columns(self) -> list[str]:
        """Feature column names in input order."""
        return [spec.name for spec in self.specs]

    @property
    def n_inputs(self) -> int:
        """Width of the network input."""
        return sum(spec.width for spec in self.specs)

    @cached_property
    def terms(self) -> tuple[Term, ...]:
        """Loss terms of all columns, in input order."""
        columns = enumerate(zip(self.specs, self.starts, strict=True))
        return tuple(term for column, (spec, start) in columns for term in spec.terms(column, start))

    @cached_property
    def starts(self) -> tuple[int, ...]:
        """First input position of every column."""
        return tuple(np.cumsum([0, *(spec.width for spec in self.specs[:-1])]).tolist())

    @cached_property
    def n_targets(self) -> int:
        """Columns with a target level index per row (the width of ``Encoded.targets``)."""
        return sum(spec.has_target for spec in self.specs)

    @cached_property
    def _by_type(self) -> dict[type[ColumnSpec], list[int]]:
        """Column indices of each type, in order of first appearance."""
        groups: dict[type[ColumnSpec], list[int]] = {}
        for column, spec in enumerate(self.specs):
            groups.setdefault(type(spec), []).append(column)
        return groups

    def encode(self, frame: pl.DataFrame) -> Encoded:
        """Turn the feature columns of ``frame`` into network inputs (row-major arrays).

        A type that encodes many columns at once (numeric) does so in one vectorised block;
        when that block is the whole input (no other type, no indicator) it is used as is.
        """
        check_feature_types(frame.schema, self.specs)
        n = frame.height
        blocks = {
            kind: kind.encode_block([self.specs[c] for c in columns], frame)
            for kind, columns in self._by_type.items()
        }
        if len(blocks) == 1 and self.n_inputs == len(self.specs):
            block = next(iter(blocks.values()))
            if block is not None:
                return Encoded(block[0], ~block[1], np.zeros((n, 0), dtype=np.int64))
        inputs = np.zeros((n, self.n_inputs), dtype=np.float32)
        observed = np.ones((n, len(self.specs)), dtype=bool)
        for kind, block in blocks.items():
            if block is not None:
                self._place(block, self._by_type[kind], inputs, observed)
        targets = []
        for column, spec in enumerate(self.specs):
            if blocks[type(spec)] is None:
                observed[:, column], target = spec.encode(frame[spec.name], inputs, self.starts[column])
                if target is not None:
                    targets.append(target)
        stacked = np.column_stack(targets) if targets else np.zeros((n, 0), dtype=np.int64)
        return Encoded(inputs, observed, stacked.astype(np.int64, copy=False))

    def _place(
        self,
        block: tuple[np.ndarray, np.ndarray],
        columns: list[int],
        inputs: np.ndarray,
        observed: np.ndarray,
    ) -> None:
        """Write a vectorised block (one input per column) and its indicators into the input matrix."""
        values, missing = block
        positions = [self.starts[c] for c in columns]
        inputs[:, positions] = values
        observed[:, columns] = ~missing
        flagged = [j for j, c in enumerate(columns) if self.specs[c].has_missing]
        inputs[:, [positions[j] + 1 for j in flagged]] = missing[:, flagged]

    def decode(self, recon: np.ndarray, missing: np.ndarray | None = None) -> pl.DataFrame:
        """Network outputs ``recon`` (n, D) as a frame of the feature columns in their training dtypes.

        Each column's type decodes its value positions (:meth:`ColumnSpec.decode`): numbers in
        original units, booleans where the logit is positive, the most likely kept level, times
        from the scaled epoch. Where ``missing[:, c]`` (n, C) is True the cell is null; pass
        ``self.missing_logits(recon) > 0`` for the network's own guess.

        Examples
        --------
        >>> frame = pl.DataFrame({"n": [1, 2, 3, 4], "c": ["a", "b", "a", "a"]})
        >>> pre = Preprocessor.fit(frame, max_levels=64, min_level_count=1)
        >>> pre.decode(pre.encode(frame).inputs).equals(frame)
        True
        """
        columns = []
        for column, (spec, start) in enumerate(zip(self.specs, self.starts, strict=True)):
            series = spec.decode(recon[:, start : start + spec.value_width])
            if missing is not None:
                nulls = pl.Series(spec.name, [None] * len(series), dtype=series.dtype)
                series = series.zip_with(pl.Series(~missing[:, column]), nulls)
            columns.append(series.alias(spec.name))
        return pl.DataFrame(columns)

    def missing_logits(self, recon: np.ndarray) -> np.ndarray:
        """Logit (n, C) that each cell is missing: the indicator's output, ``-inf`` for columns
        that had no missing values at fit (they have no indicator).

        Examples
        --------
        >>> pre = Preprocessor.fit(pl.DataFrame({"n": [1.0, None, 3.0]}), max_levels=64, min_level_count=1)
        >>> pre.missing_logits(pre.encode(pl.DataFrame({"n": [None, 2.0]})).inputs * 4 - 2).tolist()
        [[2.0], [-2.0]]
        """
        logits = np.full((recon.shape[0], len(self.specs)), -np.inf, dtype=np.float64)
        for column, (spec, start) in enumerate(zip(self.specs, self.starts, strict=True)):
            if spec.has_missing:
                logits[:, column] = recon[:, start + spec.value_width]
        return logits

    def marginal_losses(self, data: Encoded) -> tuple[float, ...]:
        """Loss of predicting each term's training marginal, floored; normalises the terms.

        Dividing each term's loss by this baseline makes 1.0 mean "no better than the
        column's average" for every type, so no type drowns the others.
        """
        baselines = []
        cat = 0
        for term in self.terms:
            rows = np.ones(data.n_rows, bool) if term.is_indicator else data.observed[:, term.column]
            if term.loss == "ce":
                counts = np.bincount(data.targets[rows, cat], minlength=term.width)
                value = _entropy(counts / max(counts.sum(), 1))
                cat += 1
            else:
                values = data.inputs[rows, term.start].astype(np.float64)
                if values.size == 0:
                    value = 0.0
                elif term.loss == "mse":
                    value = float(values.var())
                else:
                    p = float(values.mean())
                    value = _entropy(np.array([p, 1.0 - p]))
            baselines.append(max(value, BASELINE_FLOOR) if value > 1e-9 else 1.0)
        return tuple(baselines)

    def with_error_scales(self, column_errors: np.ndarray) -> Preprocessor:
        """Rescale each column's terms so that its median error on the training rows is 1.

        Training normalises by the marginal loss; scoring also divides by the error the
        trained network typically leaves in the column (floored), so a deviation in a column
        the network reconstructs well counts more than the same deviation in a noisy one
        (on the ODDS benchmark this lifts the mean ROC-AUC of ``ae_error``).

        Parameters
        ----------
        column_errors
            Per-column errors (n, C) of the training rows under the current baselines.
        """
        typical = np.median(column_errors, axis=0) if len(column_errors) else np.ones(len(self.specs))
        scales = np.maximum(typical, ERROR_SCALE_FLOOR)
        pairs = zip(self.baselines, self.terms, strict=True)
        baselines = tuple(b * float(scales[term.column]) for b, term in pairs)
        return dataclasses.replace(self, baselines=baselines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"columns": [s.to_dict() for s in self.specs], "baselines": list(self.baselines)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessor:
        """Rebuild from :meth:`to_dict` output."""
        specs = tuple(spec_from_dict(s) for s in data["columns"])
        return cls(specs=specs, baselines=tuple(float(b) for b in data["baselines"]))


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _reject_empty_columns(frame: pl.DataFrame) -> None:
    if not frame.height:
        return
    # Two passes over the whole frame, not a query per column; by dtype, so no name is parsed.
    missing = dict(zip(frame.columns, frame.null_count().row(0), strict=True))
    floats = frame.select(cs.float().is_nan().sum())
    for name, nans in zip(floats.columns, floats.row(0) if floats.width else (), strict=True):
        missing[name] += nans
    for name, count in missing.items():
        if count == frame.height:
            raise DataError(
                f"column {name!r} has no values in the training data (all {frame.height} are missing): nothing can be learned from it.",
                hint=f"leave it out ({leave_out(name)}), or fit on data where it is filled",
            )


def _warn_identifier_like(frame: pl.DataFrame, specs: tuple[ColumnSpec, ...]) -> None:
    for spec in specs:
        warning = spec.fit_warning(frame.height)
        if warning is not None:
            log.warning("%s", warning)

"""The one sequence every source of a fit's rows goes through, and what a source must say.

:class:`FitSource` is a source of a fit's rows (its kinds are in :mod:`aefeatures.fitting.sources`
and :mod:`aefeatures.fitting.distributed`); :meth:`FitSource.rows` is the sequence, written
once: require at least :data:`MIN_FIT_ROWS` rows, select the features (leaving out text
columns that look like identifiers, with a warning), read, choose the schema (the user's
completed with inferred columns, or inferred: :func:`fit_schema`), validate. A kind of source
says only how many rows it has, which columns it offers, how it reads and infers
(:class:`Drawn`), and what it knows beyond the validated rows (:meth:`FitSource.fit_rows`).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandera.polars as pa
import polars as pl

from aefeatures.config import FitConfig
from aefeatures.errors import DataError
from aefeatures.features.preprocessor import select_features
from aefeatures.features.types.categorical import CategoricalSpec
from aefeatures.features.types.numeric import counter_like
from aefeatures.fitting.rows import FitRows
from aefeatures.fitting.sampling import Sample
from aefeatures.schema.schemas import load_schema_file, uncovered_columns, validate, with_columns_of

Infer = Callable[[list[str]], pa.DataFrameSchema]  # the inferred schema of the named columns
log = logging.getLogger("aefeatures")
MIN_FIT_ROWS = 2  # one row has no spread: every scale and the outlier threshold would be arbitrary
SchemaLike = str | Path | pa.DataFrameSchema | None


def require_fit_rows(rows: int) -> None:
    """Refuse training data with fewer than :data:`MIN_FIT_ROWS` rows.

    Examples
    --------
    >>> require_fit_rows(1)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    aefeatures.errors.DataError: the training data has 1 row(s); fit needs at least 2.
    """
    if rows < MIN_FIT_ROWS:
        raise DataError(
            f"the training data has {rows} row(s); fit needs at least {MIN_FIT_ROWS}.",
            hint="check the input path or filter; a model learns nothing about spread from one row",
        )


def fit_schema(given: pa.DataFrameSchema | None, features: Sequence[str], infer: Infer) -> pa.DataFrameSchema:
    """The schema a model enforces: the user's, with every feature it has no column for added as
    ``infer`` (the training rows) sees it, or the inferred schema of all features.

    The model validates every column it reads at every transform: a user schema with the checks
    of a few columns still leaves no feature unchecked. A column of the user's schema that is not
    a feature (an id or a label left out with ``--exclude``) is checked where present but not
    required, so unlabelled data can be transformed.

    Examples
    --------
    >>> import polars as pl
    >>> from functools import partial
    >>> from aefeatures.schema.schemas import infer_schema
    >>> frame = pl.DataFrame({"x": [1.0], "y": ["a"]})
    >>> sorted(fit_schema(None, ["x", "y"], partial(infer_schema, frame)).columns)
    ['x', 'y']
    >>> fit_schema(infer_schema(frame), ["x"], partial(infer_schema, frame)).columns["y"].required
    False
    """
    if given is None:
        return infer(list(features))
    unread = [n for n, c in given.columns.items() if n not in features and not c.regex and c.required]
    if unread:  # an id or label the model does not read: checked where present, never required
        given = given.update_columns({name: {"required": False} for name in unread})
    missing = uncovered_columns(given, features)
    if missing:
        log.info("the schema has no column for %s: their inferred type and nullability are used", missing)
    return with_columns_of(given, infer(missing)) if missing else given


@dataclass(frozen=True)
class Drawn:
    """The rows a source read for a fit, and how a schema is inferred from them."""

    frame: pl.DataFrame
    infer: Infer
    sample: Sample | None = None  # what a pass over every row counted, for sources that sample


@dataclass(frozen=True)
class Checked:
    """A source's rows after the sequence: validated features, their schema, the kept columns."""

    features: pl.DataFrame
    schema: pa.DataFrameSchema
    kept: pl.DataFrame | None
    drawn: Drawn


class FitSource(ABC):
    """Where a fit's rows come from; each kind is a frozen dataclass deriving from this."""

    @abstractmethod
    def n_rows(self) -> int:
        """The rows the fit stands on, required to be at least :data:`MIN_FIT_ROWS`."""

    @abstractmethod
    def columns(self) -> pl.Schema:
        """The columns the features are chosen from."""

    @abstractmethod
    def read(self, columns: list[str], given: pa.DataFrameSchema | None) -> Drawn:
        """The rows to validate (holding at least ``columns``) and how to infer their schema."""

    def features(self, config: FitConfig) -> list[str]:
        """The feature columns: ``config``'s choice among :meth:`columns`."""
        return select_features(self.columns(), config.columns, config.exclude, prefix=config.prefix)

    def fit_rows(self, checked: Checked) -> FitRows:
        """What the pipeline gets: here the validated rows alone."""
        return FitRows(checked.features, checked.schema, kept=checked.kept)

    def rows(self, config: FitConfig, schema: SchemaLike = None, *, keep: Sequence[str] = ()) -> FitRows:
        """The one sequence: require rows, select features, read, choose the schema, validate.

        ``schema`` is the user's (a pandera schema or a file holding one); ``keep`` names
        columns left out of the features to carry along for the same rows (compare's label)
        in :attr:`FitRows.kept`.

        Examples
        --------
        >>> import polars as pl
        >>> from aefeatures.config import FitConfig
        >>> from aefeatures.fitting.sources import InMemory
        >>> rows = InMemory(pl.DataFrame({"x": [1.0, None, 3.0]})).rows(FitConfig())
        >>> rows.schema.columns["x"].nullable
        True
        """
        require_fit_rows(self.n_rows())
        features = self.features(config)
        given = load_schema_file(schema) if isinstance(schema, (str, Path)) else schema
        drawn = self.read([*features, *keep], given)
        if not config.columns:  # columns the user names are kept whatever they hold
            features = _without_identifiers(drawn.frame, features)
        chosen = fit_schema(given, features, drawn.infer)
        valid = validate(drawn.frame, chosen)
        kept = valid.select(keep) if keep else None
        return self.fit_rows(Checked(valid.select(features), chosen, kept, drawn))


def _without_identifiers(frame: pl.DataFrame, features: list[str]) -> list[str]:
    """``features`` without the columns that look like identifiers, each named in a warning that
    says how to include it: text columns whose values are nearly all distinct (a categorical of
    them flags every new batch) and integer columns that count rows (a row number as a number
    makes every later row look out of range)."""
    identifiers = [
        name for name in features if CategoricalSpec.identifier_like(frame[name]) or counter_like(frame[name])
    ]
    if not identifiers:
        return features
    named = ", ".join(
        f"{name!r} ({frame[name].n_unique()} distinct of {frame.height})" for name in identifiers
    )
    include = "to include one, list the features with --columns naming it (API: columns=[...])"
    if len(identifiers) == len(features):
        raise DataError(f"every feature column looks like an identifier: {named}.", hint=include)
    log.warning("left out of the features, as they look like identifiers: %s; %s", named, include)
    return [name for name in features if name not in identifiers]

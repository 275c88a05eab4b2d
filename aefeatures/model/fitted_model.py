"""A fitted model and its transform: one Arrow/polars batch core behind every input type."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandera.polars as pa
import polars as pl
import pyarrow

from aefeatures.config import FitConfig, NetConfig
from aefeatures.defaults import (
    DEFAULT_DRIFT_LEVEL,
    DEFAULT_DRIFT_TOLERANCE,
    DEFAULT_ON_DRIFT,
    check_sample_rows,
    check_seed,
)
from aefeatures.features.preprocessor import Encoded, Preprocessor
from aefeatures.io.sinks import check_output
from aefeatures.io.sources import read_frame
from aefeatures.model.description import schema_description, segments_description
from aefeatures.model.files import ModelParts, read_model, save_model
from aefeatures.model.filling import fill_frame, in_input_dtypes
from aefeatures.model.generation import generate, require_state
from aefeatures.model.input_types import as_batch, on_every_type, with_pandas_index, with_pandas_rows
from aefeatures.model.output_columns import output_names, output_series, refuse_collisions
from aefeatures.model.scoring import Calibration, Scores, score_rows
from aefeatures.model.segments import Segments, count_segmented, needs_errors, segmented_summary, warn_unseen
from aefeatures.model.summary import training_summary
from aefeatures.model.validation import stored_validation
from aefeatures.nn.losses import ReconstructionLoss
from aefeatures.nn.network import Autoencoder
from aefeatures.schema.schemas import check_lazy_schema, validate

log = logging.getLogger("aefeatures")


class AutoencoderModel:
    """A fitted autoencoder: preprocessing, network, schema and error calibration.

    Create one with :func:`aefeatures.fit` or :func:`aefeatures.load`.

    Examples
    --------
    >>> import aefeatures as aef, polars as pl
    >>> df = pl.DataFrame({"a": [float(i % 7) for i in range(200)], "b": [i % 3 == 0 for i in range(200)]})
    >>> model = aef.fit(df, epochs=2)
    >>> model.transform(df).columns[:3]
    ['a', 'b', 'ae_z0']
    """

    def __init__(
        self,
        *,
        config: FitConfig,
        net_config: NetConfig,
        preprocessor: Preprocessor,
        net: Autoencoder,
        schema: pa.DataFrameSchema,
        calibration: Calibration,
        metadata: dict[str, Any],
    ) -> None:
        self.config = config
        self.net_config = net_config
        self.preprocessor = preprocessor
        self.net = net.eval()
        self.schema = schema
        self.calibration = calibration
        self.metadata = metadata
        self.loss_fn = ReconstructionLoss(preprocessor.terms, preprocessor.baselines, len(preprocessor.specs))
        self.device = next(net.parameters()).device
        self.loss_fn.to(self.device)

    @property
    def columns(self) -> list[str]:
        """Feature columns the model reads."""
        return self.preprocessor.columns

    @property
    def latent_dim(self) -> int:
        """Width of the bottleneck embedding."""
        return self.net_config.latent_dim

    @property
    def threshold(self) -> float:
        """``ae_error`` above which ``ae_outlier`` is true."""
        return self.calibration.threshold

    def output_names(self, per_feature_errors: bool = False, expected: bool = False) -> list[str]:
        """Names of the appended columns, in order (``expected`` implies the per-feature errors:
        each column's error, then its expected value)."""
        return output_names(self.config.prefix, self.latent_dim, self.columns, per_feature_errors, expected)

    def output_schema(
        self, input_schema: pl.Schema, per_feature_errors: bool = False, expected: bool = False
    ) -> pl.Schema:
        """Schema of the transform output for an input of ``input_schema``."""
        p = self.config.prefix
        dtypes = self.feature_dtypes()
        types: dict[str, pl.DataType] = {}
        for name in self.output_names(per_feature_errors, expected):
            if name.startswith(f"{p}expected__"):
                types[name] = dtypes[name.removeprefix(f"{p}expected__")]
            elif name == f"{p}outlier":
                types[name] = pl.Boolean()
            else:
                types[name] = pl.Float32() if name.startswith(f"{p}z") else pl.Float64()
        return pl.Schema({**dict(input_schema), **types})

    def feature_dtypes(self) -> dict[str, pl.DataType]:
        """Each feature column's training dtype: what expected, filled and sampled values have."""
        empty = self.preprocessor.decode(np.zeros((0, self.preprocessor.n_inputs), np.float32))
        return dict(empty.schema)

    def transform(self, data: Any, *, per_feature_errors: bool = False, expected: bool = False) -> Any:
        """Append the feature columns to ``data``, keeping every input column and the row order.

        Parameters
        ----------
        data
            polars DataFrame or LazyFrame, pandas DataFrame, pyarrow Table or a Parquet path.
            A LazyFrame gives a LazyFrame processed in batches; the others give their own type
            (a path gives a polars DataFrame).
        per_feature_errors
            Also append ``ae_error__<column>``, each column's share of the error.
        expected
            Also append ``ae_expected__<column>`` beside each ``ae_error__<column>``: the model's
            reconstruction of the cell in the column's own type and units (for a missing cell,
            the model's fill).
        """
        names = self.output_names(per_feature_errors, expected)

        def lazy_schema(schema: pl.Schema) -> pl.Schema:
            check_lazy_schema(schema, self.schema)
            self.reject_name_collisions(list(schema.names()), per_feature_errors, expected)
            return self.output_schema(schema, per_feature_errors, expected)

        return on_every_type(
            data,
            lambda frame: self.transform_frame(frame, per_feature_errors, expected=expected),
            lazy_schema,
            lambda pandas, out: with_pandas_rows(pandas, out.select(names)),
        )

    def transform_batch(
        self, batch: pyarrow.RecordBatch, *, per_feature_errors: bool = False, expected: bool = False
    ) -> pyarrow.RecordBatch:
        """The Arrow-batch core: one RecordBatch in, the same rows with features appended out."""
        frame = pl.DataFrame(pl.from_arrow(batch))
        return as_batch(self.transform_frame(frame, per_feature_errors, expected=expected), batch.schema)

    def transform_frame(
        self,
        frame: pl.DataFrame,
        per_feature_errors: bool = False,
        on_features: Callable[[pl.DataFrame], None] | None = None,
        *,
        expected: bool = False,
    ) -> pl.DataFrame:
        """Validate ``frame`` against the schema and append the feature columns.

        ``on_features`` sees the validated feature columns (the streaming transform measures
        drift there, so each batch is validated once).
        """
        self.reject_name_collisions(frame.columns, per_feature_errors, expected)
        features = validate(frame, self.schema).select(self.columns)
        if on_features is not None:
            on_features(features)
        scores = self.score(
            self.preprocessor.encode(features), column_errors=per_feature_errors or expected, recon=expected
        )
        return frame.hstack(self._feature_series(scores, features))

    def validated_features(self, data: Any) -> pl.DataFrame:
        """The feature columns of ``data`` (anything :meth:`transform` takes but a LazyFrame),
        validated against the model's schema."""
        return validate(read_frame(data), self.schema).select(self.columns)

    def score(self, encoded: Encoded, *, column_errors: bool = True, recon: bool = False) -> Scores:
        """Embeddings and errors of encoded rows (per-column errors unless told not to, and the
        reconstructions when asked)."""
        return score_rows(
            self.net, self.loss_fn, self.preprocessor.terms, encoded, column_errors=column_errors, recon=recon
        )

    def impute(self, data: Any, *, count_filled: bool = False) -> Any:
        """``data`` with every missing cell of the feature columns filled from the model.

        Columns, dtypes, row order (and a pandas index) are kept; present cells are left bitwise
        as they were (see :mod:`aefeatures.model.filling`). ``count_filled`` appends
        ``ae_imputed``, how many cells of the row were filled. Takes what :meth:`transform`
        takes and gives the same type back (a LazyFrame stays lazy, processed in batches).

        Examples
        --------
        >>> import aefeatures as aef, polars as pl
        >>> df = pl.DataFrame({"a": [float(i % 9) for i in range(200)], "b": [i % 9 > 4 for i in range(200)]})
        >>> model = aef.fit(df, goal="imputation", epochs=20, threads=1)
        >>> holed = pl.DataFrame({"a": [8.0, None], "b": [None, False]})
        >>> model.impute(holed, count_filled=True).null_count().sum_horizontal().item()
        0
        """

        def lazy_schema(schema: pl.Schema) -> pl.Schema:
            check_lazy_schema(schema, self.schema)
            dtypes = self.feature_dtypes()  # a column keeps its own dtype, but Null (see impute_frame)
            untyped = {name: dtypes[name] for name in self.columns if schema[name] == pl.Null}
            imputed = {f"{self.config.prefix}imputed": pl.Int32()} if count_filled else {}
            return pl.Schema({**dict(schema), **untyped, **imputed})

        return on_every_type(
            data, lambda frame: self.impute_frame(frame, count_filled), lazy_schema, with_pandas_index
        )

    def impute_frame(
        self,
        frame: pl.DataFrame,
        count_filled: bool = False,
        on_features: Callable[[pl.DataFrame], None] | None = None,
    ) -> pl.DataFrame:
        """Validate ``frame`` against the schema and fill the missing cells of its feature columns,
        each kept in ``frame``'s dtype (see :func:`~aefeatures.model.filling.in_input_dtypes`;
        ``on_features`` sees the validated feature columns, as in :meth:`transform_frame`)."""
        name = f"{self.config.prefix}imputed"
        if count_filled:
            self.reject_name_collisions(frame.columns, names=[name])
        out, counts = self.impute_counted(frame, on_features)
        return out.with_columns(pl.Series(name, counts, pl.Int32)) if count_filled else out

    def impute_counted(
        self, frame: pl.DataFrame, on_features: Callable[[pl.DataFrame], None] | None = None
    ) -> tuple[pl.DataFrame, np.ndarray]:
        """:meth:`impute_frame` without ``ae_imputed``: the filled frame, and how many cells of
        each row were filled (an input column named ``ae_imputed`` is passed through)."""
        features = validate(frame, self.schema).select(self.columns)
        if on_features is not None:
            on_features(features)
        masked = self.config.kind == "denoising" and self.config.noise == "masking"
        filled, counts = fill_frame(self.net, self.preprocessor, features, masked=masked)
        return frame.with_columns(in_input_dtypes(frame, features, filled)), counts

    def sample(self, n: int, *, seed: int = 0, where: dict[str, str] | None = None) -> pl.DataFrame:
        """``n`` synthetic rows of the feature columns in their own dtypes (see
        :mod:`aefeatures.model.generation`): bitwise the same for the same model and seed.

        ``where`` keeps rows whose categorical column has a level, e.g. ``{"species": "Adelie"}``.

        Examples
        --------
        >>> import aefeatures as aef, polars as pl
        >>> df = pl.DataFrame({"a": [float(i % 9) for i in range(200)], "c": [str(i % 3) for i in range(200)]})
        >>> model = aef.fit(df, epochs=5, threads=1)
        >>> rows = model.sample(50, seed=1)
        >>> rows.shape, rows.schema == df.schema, rows.equals(model.sample(50, seed=1))
        ((50, 2), True, True)
        """
        frames = list(self.sample_batches(n, seed=seed, where=where))
        return (
            pl.concat(frames)
            if frames
            else self.preprocessor.decode(np.zeros((0, self.preprocessor.n_inputs), np.float32))
        )

    def sample_batches(
        self, n: int, *, seed: int = 0, where: dict[str, str] | None = None
    ) -> Iterator[pl.DataFrame]:
        """:meth:`sample` in frames of at most :data:`~aefeatures.model.generation.CHUNK_ROWS` rows
        (bounded memory for any ``n``); ``n``, ``seed``, ``where`` and the model are checked
        before it returns, so a bad request fails before an output is opened."""
        check_sample_rows(n)
        check_seed(seed)
        state = require_state(self.metadata, gaussian_inputs=self.net_config.gaussian_inputs > 0)
        statistics = (self.metadata.get("drift") or {}).get("columns", {})
        return generate(self.net, self.preprocessor, state, statistics, n, seed=seed, where=where)

    def drift(
        self,
        data: Any,
        *,
        tolerance: float = DEFAULT_DRIFT_TOLERANCE,
        level: float = DEFAULT_DRIFT_LEVEL,
        on_drift: str = DEFAULT_ON_DRIFT,
    ) -> pl.DataFrame:
        """Drift of ``data`` against the training data (see :mod:`aefeatures.schema.drift`).

        One row per feature column (missing, unseen-category and out-of-range rates, PSI,
        Jensen-Shannon distance, the Holm-adjusted p-value, ``status``, ``drifted``, ``reason``),
        then one for the rows as a whole (``ae_error`` against the validation rows'); with
        segments (``fit --segment-by``) the same lines per segment follow. A batch
        without drift flags a line with probability at most ``level``; a flagged effect is at
        least ``tolerance``. ``on_drift="warn"`` also logs drifted lines, ``"fail"`` raises
        ``DriftError``.
        """
        from aefeatures.defaults import check_level, check_tolerance
        from aefeatures.schema.drift import check_drift

        check_tolerance(tolerance)
        check_level(level)
        features = validate(read_frame(data), self.schema).select(self.columns)
        statistics, segments = self.metadata.get("drift"), self.segments
        errors = None
        if needs_errors(statistics, segments) and features.height:
            errors = self.score(self.preprocessor.encode(features), column_errors=False).errors
        counts = count_segmented(features, self.preprocessor.specs, statistics, segments, errors)
        specs = self.preprocessor.specs
        summary = segmented_summary(counts, specs, statistics, segments, tolerance=tolerance, level=level)
        warn_unseen(counts.unseen)
        check_drift(summary, on_drift)
        return summary

    def save(self, path: str | Path, *, overwrite: bool = False, inputs: Iterable[object] = ()) -> Path:
        """Write the model directory atomically (see :mod:`aefeatures.model.files`).

        ``overwrite`` replaces an earlier model directory only, never other files or directories
        (see :mod:`aefeatures.io.sinks`); ``path`` may never be, or hold, one of ``inputs`` (the
        training data, for instance).
        """
        check_output(path, overwrite, kind="model", inputs=inputs)
        parts = ModelParts(
            config=self.config,
            net_config=self.net_config,
            preprocessor=self.preprocessor,
            net=self.net,
            schema=self.schema,
            calibration=self.calibration,
            metadata=self.metadata,
        )
        return save_model(parts, path, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto") -> AutoencoderModel:
        """Rebuild a model from its directory alone; checksums and format are checked first."""
        parts = read_model(path, device=device)
        return cls(**{field.name: getattr(parts, field.name) for field in dataclasses.fields(parts)})

    def info(self) -> dict[str, Any]:
        """What the model is: goal, kind, sizes, columns, schema, threshold (and the segments'),
        training summary and history (each epoch's losses), versions."""
        return {
            "goal": self.config.goal,
            "kind": self.config.kind,
            "latent_dim": self.latent_dim,
            "hidden": list(self.net_config.hidden),
            "n_inputs": self.net_config.n_inputs,
            "columns": [
                {"name": s.name, "kind": s.kind, "dtype": s.dtype, "has_missing": s.has_missing}
                for s in self.preprocessor.specs
            ],
            "schema": schema_description(self.schema),
            "threshold": self.threshold,
            "segments": segments_description(self.segments),
            "contamination": self.config.contamination,
            "training": training_summary(self.metadata),
            "history": self.metadata.get("history", {}),
            "validation": stored_validation(self.metadata),
            "seed": self.config.seed,
            "versions": self.metadata.get("versions", {}),
            "output_columns": self.output_names(),
        }

    @property
    def segments(self) -> Segments | None:
        """Per-segment thresholds, percentiles and drift statistics (``fit --segment-by``), or ``None``."""
        stored = self.metadata.get("segments")
        return None if stored is None else Segments.from_dict(stored)

    def _feature_series(self, scores: Scores, features: pl.DataFrame) -> list[pl.Series]:
        segments = self.segments
        if segments is None:
            percentiles, flags = self.calibration.percentile(scores.errors), scores.errors > self.threshold
        else:
            percentiles, flags = segments.percentiles_and_flags(
                features[segments.column], scores.errors, self.calibration
            )
        expected = None if scores.recon is None else self.preprocessor.decode(scores.recon)
        return output_series(self.config.prefix, self.columns, scores, percentiles, flags, expected)

    def reject_name_collisions(
        self,
        columns: list[str],
        per_feature_errors: bool = False,
        expected: bool = False,
        *,
        names: list[str] | None = None,
    ) -> None:
        """Refuse input ``columns`` that the output columns (or ``names``) would overwrite."""
        refuse_collisions(
            columns, names if names is not None else self.output_names(per_feature_errors, expected)
        )

"""Synthetic rows: codes drawn where the training rows lie, decoded into the table's own types.

How a row is made:

1. a code: from the prior N(0, I) for the variational kind, which was trained to make its codes
   look like draws from it; for every other kind from a Gaussian mixture fitted on the training
   rows' codes at fit (:class:`~aefeatures.model.density.CodeDensity`), since nothing else made
   their codes follow a known law;
2. the decoder's output for the code, and from it each cell by the column type's own loss: a
   number is the output plus Gaussian noise of the spread the training rows' reconstructions
   missed by (so a column keeps its spread, not only its trend), a boolean and a missingness
   indicator are drawn with the output's probability, a category from the output's softmax
   over the levels kept at fit (never the internal rare/unknown markers);
3. each number and time mapped from the generator's quantiles onto the training quantiles,
   keeping its rank (:mod:`~aefeatures.model.marginals`);
4. the values decoded into each column's type and dtype, numbers and times kept inside the
   training range, missing where the drawn indicator says so (columns that had nulls at fit have
   them at about the same rate).

Rows are made in chunks of :data:`CHUNK_ROWS`, chunk ``i`` from its own generator seeded by
``(seed, i)``, on one torch thread: the same seed and model give bitwise the same rows whatever
the thread count or the number of rows asked for at a time.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from aefeatures.devices import one_thread
from aefeatures.errors import ConfigError, DataError, ModelFileError
from aefeatures.features.preprocessor import Encoded, Preprocessor
from aefeatures.features.types import Term
from aefeatures.features.types.categorical import CategoricalSpec
from aefeatures.features.types.dtypes import parse_dtype
from aefeatures.model.batches import SCORE_ROWS, decode_codes
from aefeatures.model.density import CodeDensity
from aefeatures.model.marginals import REFERENCE_ROWS, REFERENCE_SEED, MarginalMap, apply_maps, marginal_maps
from aefeatures.nn.network import Autoencoder

CHUNK_ROWS = SCORE_ROWS  # rows generated per seeded chunk
SURE_LOGIT = 30.0  # the logit a drawn 0/1 or level is written as before decoding
MAX_CHUNKS_WITHOUT_MATCH = 64  # conditional sampling gives up after this many chunks with no match


@dataclass(frozen=True)
class GenerationState:
    """What fit stores for sampling: the code density (``None``: the prior), the noise of each
    squared-error input position and the logit shift of each binary or categorical position
    (0 elsewhere)."""

    density: CodeDensity | None
    noise: tuple[float, ...]
    shift: tuple[float, ...] = ()  # () for models saved before shifts existed: no shift

    @classmethod
    def learn(
        cls,
        net: Autoencoder,
        preprocessor: Preprocessor,
        encoded: Encoded,
        recon: np.ndarray,
        codes: np.ndarray,
        *,
        prior: bool,
        seed: int,
    ) -> GenerationState:
        """From the training rows: their encoding, reconstructions and codes.

        The shifts make each boolean, missingness indicator and category come out at its
        training rate: the decoder's probabilities are right row by row on average over
        *training* codes, not over codes drawn from the mixture, so the rates drawn would drift
        (measured: nulls at 21% where fit saw 12%). Each shift is solved on
        :data:`CALIBRATION_ROWS` decoded draws.
        """
        noise = np.zeros(encoded.inputs.shape[1])
        for term in preprocessor.terms:
            if term.loss == "mse" and not term.is_indicator:
                rows = encoded.observed[:, term.column]
                if rows.any():
                    missed = recon[rows, term.start] - encoded.inputs[rows, term.start]
                    noise[term.start] = float(np.sqrt(np.mean(missed.astype(np.float64) ** 2)))
        density = None if prior else CodeDensity.fit(codes, seed=seed)
        unshifted = cls(density=density, noise=tuple(float(v) for v in noise))
        rng = np.random.default_rng([seed, 2**32 - 1])
        draws = decode_codes(net, unshifted.codes(CALIBRATION_ROWS, net.config.latent_dim, rng))
        shift = _rate_shifts(draws, preprocessor.terms, encoded)
        return cls(density=density, noise=unshifted.noise, shift=tuple(float(v) for v in shift))

    def codes(self, n: int, width: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` codes (n, ``width``) float32: from the mixture, or the prior N(0, I) of a
        variational kind."""
        if self.density is not None:
            return self.density.sample(n, rng)
        return rng.standard_normal((n, width)).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "density": None if self.density is None else self.density.to_dict(),
            "noise": list(self.noise),
            "shift": list(self.shift),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationState:
        """Rebuild from :meth:`to_dict` output."""
        density = data.get("density")
        return cls(
            density=None if density is None else CodeDensity.from_dict(density),
            noise=tuple(float(v) for v in data["noise"]),
            shift=tuple(float(v) for v in data.get("shift", ())),
        )


CALIBRATION_ROWS = 4096  # decoded draws the logit shifts are solved on


def _rate_shifts(draws: np.ndarray, terms: Sequence[Term], encoded: Encoded) -> np.ndarray:
    """Per input position, the logit shift that makes the drawn rate of each boolean value,
    missingness indicator and kept level equal its rate in the training rows."""
    shift = np.zeros(draws.shape[1])
    for term in terms:
        start = term.start
        rows = slice(None) if term.is_indicator else encoded.observed[:, term.column]
        if term.loss == "bce":
            rate = float(np.clip(encoded.inputs[rows, start].mean(), 1e-6, 1 - 1e-6))
            shift[start] = _binary_shift(draws[:, start].astype(np.float64), rate)
        elif term.loss == "ce" and term.width > 2:
            kept = term.width - 2
            levels = encoded.inputs[rows, start : start + kept].astype(np.float64).sum(axis=0)
            if levels.sum() > 0:
                target = np.maximum(levels / levels.sum(), 1e-6)
                shift[start : start + kept] = _level_shifts(
                    draws[:, start : start + kept].astype(np.float64), target
                )
    return shift


def _binary_shift(logits: np.ndarray, rate: float) -> float:
    """``b`` with mean(sigmoid(logits + b)) = ``rate``, by bisection."""
    low, high = -40.0, 40.0
    for _ in range(60):
        middle = (low + high) / 2
        if np.mean(1.0 / (1.0 + np.exp(-(logits + middle)))) < rate:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _level_shifts(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Shifts that make the mean softmax over the draws equal ``target`` (iterative scaling)."""
    shift = np.zeros(logits.shape[1])
    for _ in range(50):
        z = logits + shift
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        shift += np.log(target / np.maximum(p.mean(axis=0), 1e-12))
    return shift - shift.max()


def generate(
    net: Autoencoder,
    preprocessor: Preprocessor,
    state: GenerationState,
    statistics: Mapping[str, Mapping[str, Any]],
    n: int,
    *,
    seed: int = 0,
    where: Mapping[str, str] | None = None,
) -> Iterator[pl.DataFrame]:
    """``n`` synthetic rows of the feature columns, in frames of at most :data:`CHUNK_ROWS` rows,
    made on one torch thread as they are read.

    ``statistics`` holds each column's training drift statistics (``metadata["drift"]["columns"]``):
    numbers and times are given their training quantiles and kept inside their training range
    (:mod:`~aefeatures.model.marginals`). ``where`` keeps only rows whose categorical column has
    the given level (rows are drawn until ``n`` match); it is checked before this returns.
    """
    conditions = _conditions(preprocessor, {} if where is None else where)
    return _generated(net, preprocessor, state, statistics, n, seed, conditions)


def _generated(
    net: Autoencoder,
    preprocessor: Preprocessor,
    state: GenerationState,
    statistics: Mapping[str, Mapping[str, Any]],
    n: int,
    seed: int,
    conditions: Mapping[str, str],
) -> Iterator[pl.DataFrame]:
    """:func:`generate`'s rows, once its arguments are checked."""
    remaining, misses = n, 0
    ranges = _range_clips(statistics, preprocessor)
    with one_thread():
        maps = _maps(net, preprocessor, state, statistics) if n > 0 else ()
        for chunk in itertools.count():
            if remaining <= 0:
                return
            rng = np.random.default_rng([seed, chunk])
            values, missing = _cells(net, preprocessor, state, CHUNK_ROWS, rng)
            frame = apply_maps(maps, preprocessor, values, missing).with_columns(ranges)
            for name, level in conditions.items():
                frame = frame.filter(pl.col(name).cast(pl.String) == level)
            misses = misses + 1 if frame.height == 0 else 0
            if misses >= MAX_CHUNKS_WITHOUT_MATCH:
                shown = ", ".join(f"{k}={v}" for k, v in conditions.items())
                raise DataError(
                    f"no generated row matched {shown} in {misses * CHUNK_ROWS:,} draws: the model almost never makes such rows.",
                    hint="the level may be too rare at fit; fit with more rows of it, or without --where and filter",
                )
            if frame.height:
                yield frame.head(remaining)
                remaining -= min(frame.height, remaining)


def _cells(
    net: Autoencoder, preprocessor: Preprocessor, state: GenerationState, rows: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` drawn rows as :func:`draw_cells` gives them: encoded values and the missing mask."""
    codes = state.codes(rows, net.config.latent_dim, rng)
    recon = decode_codes(net, codes)
    if state.shift:
        recon += np.asarray(state.shift, np.float32)
    return draw_cells(recon, preprocessor.terms, state.noise, rng)


def _maps(
    net: Autoencoder,
    preprocessor: Preprocessor,
    state: GenerationState,
    statistics: Mapping[str, Mapping[str, Any]],
) -> tuple[MarginalMap, ...]:
    """The marginal maps, from a reference draw seeded by the model alone (not the caller's seed)."""
    rng = np.random.default_rng(REFERENCE_SEED)
    values, missing = _cells(net, preprocessor, state, REFERENCE_ROWS, rng)
    return marginal_maps(preprocessor.specs, preprocessor.starts, statistics, values, missing)


def draw_cells(
    recon: np.ndarray, terms: Sequence[Term], noise: Sequence[float], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Cells drawn from the decoder's output (n, D): values ready for ``Preprocessor.decode`` and
    the missing mask (n, C) from the drawn indicators."""
    n = len(recon)
    values = recon.copy()
    missing = np.zeros((n, max((t.column for t in terms), default=-1) + 1), bool)
    for term in terms:
        start = term.start
        if term.loss == "mse":
            values[:, start] += noise[start] * rng.standard_normal(n).astype(np.float32)
        elif term.loss == "bce":
            drawn = rng.random(n) < 1.0 / (1.0 + np.exp(-recon[:, start].astype(np.float64)))
            values[:, start] = np.where(drawn, SURE_LOGIT, -SURE_LOGIT)
            if term.is_indicator:
                missing[:, term.column] = drawn
        else:
            values[:, start : start + term.width] = _drawn_levels(recon[:, start : start + term.width], rng)
    return values, missing


def _drawn_levels(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A one-hot logit block with one level drawn per row from the softmax over the kept levels."""
    kept = logits.shape[1] - 2  # the block ends with the rare and unknown levels
    block = np.full(logits.shape, -SURE_LOGIT, np.float32)
    if kept <= 0:
        return logits  # nothing kept at fit: the column decodes to its most frequent level
    z = logits[:, :kept].astype(np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    cumulative = np.cumsum(p, axis=1)
    chosen = (cumulative < rng.random(len(z))[:, None] * cumulative[:, -1:]).sum(axis=1)
    block[np.arange(len(z)), np.minimum(chosen, kept - 1)] = SURE_LOGIT
    return block


def _conditions(preprocessor: Preprocessor, where: Mapping[str, str]) -> dict[str, str]:
    """``where`` checked: a mapping, each name a categorical feature, each level one kept at fit."""
    if not isinstance(where, Mapping):
        raise ConfigError(
            f"where={where!r} is a {type(where).__name__}; where takes a dict of categorical column to level.",
            hint="e.g. where={'species': 'Adelie'} (--where species=Adelie on the command line)",
        )
    specs = {spec.name: spec for spec in preprocessor.specs if isinstance(spec, CategoricalSpec)}
    for name, level in where.items():
        spec = specs.get(name)
        if spec is None:
            categorical = list(specs)
            raise ConfigError(
                f"--where {name}={level}: {name!r} is not a categorical feature of this model.",
                hint=f"condition on one of: {', '.join(map(repr, categorical)) or '(the model has none)'}",
            )
        if level not in spec.levels:
            raise ConfigError(
                f"--where {name}={level}: {level!r} is not a level the model generates for {name!r}.",
                hint=f"choose one of: {', '.join(map(repr, spec.levels[:30]))}",
            )
    return dict(where)


def require_state(metadata: Mapping[str, Any], *, gaussian_inputs: bool) -> GenerationState:
    """The stored :class:`GenerationState`, or a clear error for a model that cannot sample: one
    whose network corrects a Gaussian fill (``gaussian_inputs``) or one saved before sampling existed."""
    if gaussian_inputs:
        raise ConfigError(
            "this model cannot sample rows: it was fitted with gaussian_start (the imputation "
            "goal's default), so its network corrects a Gaussian fill of a given row instead of "
            "decoding a code into a row.",
            hint="fit a model to sample from with the default goal (aefeatures fit DATA --model DIR), "
            "or --goal imputation --set gaussian_start=false",
        )
    stored = metadata.get("generation")
    if stored is None:
        raise ModelFileError(
            "this model was saved by a version of aefeatures that could not sample rows: it lacks what sampling needs.",
            hint="re-fit the model with this version (aefeatures fit ...), then sample from it",
        )
    return GenerationState.from_dict(stored)


def _range_clips(statistics: Mapping[str, Mapping[str, Any]], preprocessor: Preprocessor) -> list[pl.Expr]:
    """Each numeric and datetime feature clipped to its training minimum and maximum, in its own
    dtype and time zone (from the stored drift statistics, in their units: numbers, epoch seconds)."""
    clips = []
    for spec in preprocessor.specs:
        stats = statistics.get(spec.name) or {}
        low, high = stats.get("low"), stats.get("high")
        dtype = parse_dtype(spec.dtype)
        if not isinstance(low, (int, float)) or not isinstance(high, (int, float)):
            continue
        if dtype.is_numeric():
            clips.append(pl.col(spec.name).clip(low, high))
        elif dtype.is_temporal():
            clips.append(pl.col(spec.name).clip(_time(low, dtype), _time(high, dtype)))
    return clips


def _time(seconds: float, dtype: pl.DataType) -> pl.Expr:
    """Epoch ``seconds`` as a literal of the date or datetime ``dtype`` (to the microsecond).

    >>> pl.select(_time(86_400.0, pl.Date)).item(), pl.select(_time(1.5, pl.Datetime("ms", "Europe/Paris"))).item()
    (datetime.date(1970, 1, 2), datetime.datetime(1970, 1, 1, 1, 0, 1, 500000, tzinfo=zoneinfo.ZoneInfo(key='Europe/Paris')))
    """
    micros = pl.lit(round(seconds * 1e6), pl.Int64).cast(pl.Datetime("us"))
    if not isinstance(dtype, pl.Datetime):
        return micros.cast(pl.Date)
    stamp = micros.dt.cast_time_unit(dtype.time_unit or "us")
    return (
        stamp.dt.replace_time_zone("UTC").dt.convert_time_zone(dtype.time_zone) if dtype.time_zone else stamp
    )

"""Defaults, allowed values and checks of the transform settings, each written once.

The API (:meth:`AutoencoderModel.drift`, :func:`aefeatures.streaming.transform_path`) and the
command line (``aefeatures transform``) take their defaults from here, and both run the checks
below: the API raises their :class:`~aefeatures.errors.ConfigError`, the CLI shows it as a usage
error (exit 2). The module imports nothing heavy, so the CLI reads it when it starts.
(Fit settings are declared in :mod:`aefeatures.settings`.)
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import TypeGuard

from aefeatures.errors import ConfigError

ON_DRIFT: tuple[str, ...] = ("ignore", "warn", "fail")
# Drift must show in a scheduled job's log without failing it, unless "fail" is asked for.
DEFAULT_ON_DRIFT = "warn"
DEFAULT_DRIFT_TOLERANCE = 0.02  # the smallest effect that counts: a rate moved by 2 points, or PSI 0.02
DEFAULT_DRIFT_LEVEL = 0.01  # the chance that a batch without drift raises an alarm
DEFAULT_BATCH_ROWS = 65_536
COMPRESSIONS: tuple[str, ...] = ("snappy", "zstd", "lz4", "gzip", "none")
DEFAULT_COMPRESSION = "snappy"  # Spark's and pyarrow's default; writes 40% faster than zstd
MAX_SAMPLE_ROWS = 2**32 - 1  # rows one sampling run makes: the most one polars DataFrame holds


def check_choice(name: str, value: object, allowed: Sequence[str]) -> None:
    """Raise :class:`ConfigError` naming ``name`` and the allowed values unless ``value`` is one."""
    if value not in allowed:
        raise ConfigError(
            f"{name}={value!r} is not one of {', '.join(allowed)}.",
            hint=f"on the command line: --{name.replace('_', '-')} {'|'.join(allowed)}",
        )


def check_on_drift(on_drift: str) -> None:
    """``on_drift`` is ``"ignore"``, ``"warn"`` or ``"fail"``."""
    check_choice("on_drift", on_drift, ON_DRIFT)


def check_tolerance(tolerance: float) -> None:
    """A drift tolerance is a share, from 0 to 1."""
    if not 0.0 <= tolerance <= 1.0:
        raise ConfigError(f"drift tolerance {tolerance!r} must be between 0 and 1.", hint="e.g. 0.02 for 2%")


def check_level(level: float) -> None:
    """A drift test level is a probability above 0 and below 1."""
    if not 0.0 < level < 1.0:
        raise ConfigError(
            f"drift level {level!r} must be above 0 and below 1.", hint="e.g. 0.01: 1% false alarms"
        )


def check_batch_rows(batch_rows: int) -> None:
    """A batch holds at least one row."""
    if batch_rows < 1:
        raise ConfigError(f"batch_rows={batch_rows} must be at least 1.", hint="e.g. 65536")


def check_compression(compression: str) -> None:
    """``compression`` is a Parquet codec aefeatures writes."""
    check_choice("compression", compression, COMPRESSIONS)


def check_sample_rows(rows: object) -> None:
    """``rows`` to sample is a whole number from 0 to :data:`MAX_SAMPLE_ROWS`."""
    if not _whole(rows) or not 0 <= rows <= MAX_SAMPLE_ROWS:
        shown = f"{rows:,}" if _whole(rows) else repr(rows)
        raise ConfigError(
            f"rows={shown} must be a whole number from 0 to {MAX_SAMPLE_ROWS:,} (the most rows one table holds).",
            hint="e.g. --rows 1000 (rows=1000 in Python); for more rows, sample several times with different seeds",
        )


def check_seed(seed: object) -> None:
    """A sampling ``seed`` is a whole number, 0 or more."""
    if not _whole(seed) or seed < 0:
        raise ConfigError(
            f"seed={seed!r} must be a whole number, 0 or more.", hint="e.g. --seed 7 (seed=7 in Python)"
        )


def _whole(value: object) -> TypeGuard[int]:
    """A Python or numpy integer, not a boolean (both compare as ints)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)

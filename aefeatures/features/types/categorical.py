"""Categorical columns: one-hot over the kept levels plus ``rare`` and ``unknown``, cross-entropy.

A level is kept when it was seen at least ``min_level_count`` times and is among the
``max_levels`` most frequent; the others fold into ``rare``. Values never seen at fit map to
``unknown`` (no input, still a target). Rare levels are remembered: the ``MAX_STORED_RARE``
most frequent by name, the next ``MAX_RARE_HASHES`` as sorted 32-bit hashes.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from aefeatures.features.types.base import DISTINCT, ColumnSpec, LearnOptions, Term
from aefeatures.features.types.dtypes import parse_dtype

MAX_STORED_RARE = 2000  # rare levels stored by name (readable in aefeatures.json)
MAX_RARE_HASHES = 100_000  # further rare levels stored as 32-bit hashes: at most 400 kB (533 kB base64)
HASH_SPACE = 2**32
IDENTIFIER_ROWS = 50  # with this many rows, a column without a kept level looks like an identifier
IDENTIFIER_DISTINCT = 0.7  # ... and so does a text column with at least this share of its values distinct


@dataclass(frozen=True)
class CategoricalSpec(ColumnSpec):
    """A categorical column: its kept ``levels``, the rare ones, and its most frequent level.

    Rare levels beyond the ``MAX_STORED_RARE`` named ones are sorted 32-bit hashes
    (:func:`value_hashes`), base64. When there were more than ``MAX_RARE_HASHES`` of them only
    the smallest hashes are kept, up to ``rare_hash_limit``; a value hashing above it cannot be
    decided (see :attr:`seen_share`). ``most_frequent`` is ``None`` in models written before it
    was stored.

    Examples
    --------
    >>> series = pl.Series("c", ["a"] * 6 + ["b"] * 5 + ["z"])
    >>> spec = CategoricalSpec.learn(series, LearnOptions(max_levels=64, min_level_count=5))
    >>> spec.levels, spec.rare_levels, spec.value_width
    (('a', 'b'), ('z',), 4)
    >>> spec.decode(np.array([[0.1, 2.0, 9.0, 9.0]], dtype=np.float32)).to_list()  # never rare/unknown
    ['b']
    """

    kind = "categorical"
    takes = "string/categorical/enum"
    loss = "ce"
    has_target = True

    levels: tuple[str, ...] = dataclasses.field(default=(), metadata=DISTINCT)
    rare_levels: tuple[str, ...] = dataclasses.field(default=(), metadata=DISTINCT)
    rare_hashes: str = ""
    rare_hash_limit: int | None = dataclasses.field(default=None, metadata={"low": 0, "high": HASH_SPACE - 1})
    most_frequent: str | None = None

    @classmethod
    def accepts(cls, dtype: pl.DataType) -> bool:
        """``String``, ``Categorical`` and ``Enum``."""
        return dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)

    @classmethod
    def learn(cls, series: pl.Series, options: LearnOptions) -> CategoricalSpec:
        """Kept levels, named rare levels, the hashes of the other rare levels and their limit."""
        counts = (
            series.cast(pl.String)
            .drop_nulls()
            .value_counts(sort=True, name="n")
            .sort(["n", series.name], descending=[True, False])
        )
        names = counts[series.name].to_list()
        frequent = counts["n"].to_numpy() >= options.min_level_count
        top = zip(names[: options.max_levels], frequent[: options.max_levels], strict=True)
        kept = [name for name, ok in top if ok]
        chosen = set(kept)
        rare = [name for name in names if name not in chosen]
        hashes, limit = np.unique(value_hashes(rare[MAX_STORED_RARE:])), None
        if hashes.size > MAX_RARE_HASHES:
            hashes = hashes[:MAX_RARE_HASHES]
            limit = int(hashes[-1])
        encoded = base64.b64encode(hashes.astype("<u4").tobytes()).decode("ascii") if hashes.size else ""
        return cls(
            **cls.common(series),
            levels=tuple(sorted(kept)),
            rare_levels=tuple(sorted(rare[:MAX_STORED_RARE])),
            rare_hashes=encoded,
            rare_hash_limit=limit,
            most_frequent=names[0] if names else None,
        )

    @staticmethod
    def identifier_like(series: pl.Series) -> bool:
        """Whether a text column's values are nearly all distinct (names, ids, free text): at
        least :data:`IDENTIFIER_DISTINCT` of its values, over :data:`IDENTIFIER_ROWS` or more.

        >>> CategoricalSpec.identifier_like(pl.Series([f"car {i}" for i in range(80)] + ["a"] * 20))
        True
        >>> CategoricalSpec.identifier_like(pl.Series(["a", "b"] * 50))
        False
        """
        if series.dtype not in (pl.String, pl.Categorical):
            return False
        present = series.drop_nulls()
        return present.len() >= IDENTIFIER_ROWS and present.n_unique() >= IDENTIFIER_DISTINCT * present.len()

    def fit_warning(self, rows: int) -> str | None:
        """A column of many rows but no kept level looks like an identifier."""
        if self.levels or rows < IDENTIFIER_ROWS:
            return None
        return (
            f"column {self.name!r} has no frequent value: it looks like an identifier; "
            f"leave it out with --exclude {self.name}"
        )

    @property
    def value_width(self) -> int:
        """Kept levels, ``rare`` and ``unknown``."""
        return len(self.levels) + 2

    def value_terms(self, column: int, start: int) -> list[Term]:
        """One cross-entropy term over the whole one-hot block."""
        return [Term(column, "ce", start, self.value_width)]

    @property
    def seen_share(self) -> float:
        """Share of possible values whose seen-at-fit status can be decided (1.0: all of them).

        Below 1 only when a column had more than ``MAX_STORED_RARE + MAX_RARE_HASHES`` rare
        levels; the unseen-category rate of drift is then estimated from the decidable values.
        """
        return 1.0 if self.rare_hash_limit is None else (self.rare_hash_limit + 1) / HASH_SPACE

    def encode_values(self, series: pl.Series, missing: np.ndarray, block: np.ndarray) -> np.ndarray:
        """One-hot of the level (none for ``unknown`` and missing); returns the level index."""
        target = self.level_index(series)
        rows = np.flatnonzero(~missing & (target < len(self.levels) + 1))
        block[rows, target[rows]] = 1.0
        return target

    def level_index(self, series: pl.Series) -> np.ndarray:
        """Index of each value: kept levels, then ``rare``, then ``unknown``; -1 when missing.

        ``rare`` holds every level seen at fit but not kept (named in ``rare_levels`` or hashed in
        ``rare_hashes``); ``unknown`` only values never seen at fit. A value whose hash is above
        ``rare_hash_limit`` cannot be decided and counts as rare.
        """
        n_kept = len(self.levels)
        mapping = {level: i for i, level in enumerate(self.levels)}
        mapping.update({level: n_kept for level in self.rare_levels})
        text = series.cast(pl.String)
        index = text.replace_strict(mapping, default=n_kept + 1, return_dtype=pl.Int64).to_numpy().copy()
        missing = series.is_null().to_numpy()
        if self.rare_hashes:
            rows = np.flatnonzero((index == n_kept + 1) & ~missing)
            if rows.size:
                candidates = text.gather(rows)
                values = candidates.unique()
                seen = self._hashed_rare(value_hashes(values.to_list()))
                rare = candidates.is_in(values.filter(pl.Series(seen)).implode()).to_numpy()
                index[rows[rare]] = n_kept
        return np.where(missing, -1, index)

    def _hashed_rare(self, hashes: np.ndarray) -> np.ndarray:
        known = np.frombuffer(base64.b64decode(self.rare_hashes), dtype="<u4")
        at = np.searchsorted(known, hashes).clip(0, max(known.size - 1, 0))
        seen = (known[at] == hashes) if known.size else np.zeros(hashes.size, bool)
        if self.rare_hash_limit is not None:
            seen |= hashes > self.rare_hash_limit
        return seen

    def decode(self, block: np.ndarray) -> pl.Series:
        """The most likely kept level (never ``rare`` or ``unknown``).

        A column that kept no level decodes to its most frequent level at fit (models written
        before it was stored: the first named rare level).
        """
        if self.levels:
            values = [self.levels[i] for i in np.argmax(block[:, : len(self.levels)], axis=1)]
        else:
            fallback = self.most_frequent or next(iter(self.rare_levels), None)
            values = [fallback] * block.shape[0]
        return pl.Series(self.name, values, dtype=pl.String).cast(parse_dtype(self.dtype))

    def drift_labels(self) -> tuple[str, ...]:
        """The kept levels, then ``(rare)`` and ``(unseen)``, in :meth:`level_index` order."""
        return (*self.levels, "(rare)", "(unseen)")

    def drift_codes(self, series: pl.Series) -> np.ndarray:
        """:meth:`level_index`."""
        return self.level_index(series)

    def drift_unseen(self, counts: np.ndarray) -> float:
        """Non-missing values never seen at fit (estimated, see :attr:`seen_share`)."""
        return float(counts[-1]) / self.seen_share

    def signature_type(self, nullable: bool) -> str:
        """``string``."""
        return "string"

    def example(self, rows: int) -> list[Any]:
        """The kept levels in turn (else the rare ones, else the empty string)."""
        levels = list(self.levels or self.rare_levels) or [""]
        return [levels[i % len(levels)] for i in range(rows)]


def value_hashes(values: Sequence[str]) -> np.ndarray:
    """A stable 32-bit hash (BLAKE2b of the UTF-8 text) of each value: the same in every process,
    platform and version, unlike Python's ``hash`` or polars' ``Series.hash``.

    Examples
    --------
    >>> value_hashes(["a"]).tolist()
    [1431053258]
    """
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(v.encode(), digest_size=4).digest(), "little") for v in values),
        dtype=np.uint32,
        count=len(values),
    )

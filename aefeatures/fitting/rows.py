"""Training rows: encoded rows as tensors, other sources of shuffled batches, the validation split."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple, Protocol

import numpy as np
import torch

from aefeatures.features.preprocessor import Encoded


class Batch(NamedTuple):
    """Rows of encoded data as tensors on the training device."""

    inputs: torch.Tensor  # (B, D) float32
    observed: torch.Tensor  # (B, C) bool
    targets: torch.Tensor  # (B, n_categorical) int64

    @classmethod
    def from_encoded(cls, data: Encoded, device: torch.device) -> Batch:
        """Move encoded numpy arrays to ``device``."""
        return cls(
            torch.from_numpy(data.inputs).to(device),
            torch.from_numpy(data.observed).to(device),
            torch.from_numpy(data.targets).to(device),
        )

    def take(self, index: torch.Tensor | slice) -> Batch:
        """Rows at ``index``: one gather (or view) per tensor, no per-row Python."""
        if isinstance(index, slice):
            return Batch(self.inputs[index], self.observed[index], self.targets[index])
        # index_select is ~15x faster than advanced indexing on CPU for a batch of rows.
        return Batch(*(part.index_select(0, index) for part in self))

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def batches(self, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        """One epoch: the rows in a fresh random order, ``batch_size`` at a time."""
        order = torch.randperm(len(self), generator=generator).to(self.inputs.device)
        for begin in range(0, len(self), batch_size):
            yield self.take(order[begin : begin + batch_size])


class RowSource(Protocol):
    """Training rows that do not fit in memory: each epoch streams shuffled batches.

    ``Batch`` is the in-memory source; :class:`aefeatures.fitting.sampling.StreamingRows` reads
    Parquet row groups through a shuffle buffer. Shuffling draws from ``generator`` so a
    seeded run (and a resumed one) sees the same batches.
    """

    def batches(self, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        """Yield one epoch of batches on the training device."""
        ...

    def __len__(self) -> int:
        """Rows in one epoch."""
        ...


def split_rows(n_rows: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/validation row indices; no validation when there are too few rows."""
    order = np.random.default_rng(seed).permutation(n_rows)
    n_valid = int(round(n_rows * fraction)) if n_rows >= 20 else 0
    return np.sort(order[n_valid:]), np.sort(order[:n_valid])

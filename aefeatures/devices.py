"""Choosing the torch device and thread count."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Iterator

import torch

from aefeatures.errors import ConfigError

log = logging.getLogger("aefeatures")


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available; asking for CUDA without one is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "device 'cuda' was asked for but torch sees no CUDA GPU.",
            hint="use --device cpu (or auto), or install a CUDA build of torch on a GPU machine",
        )
    if name not in ("cpu", "cuda"):
        raise ConfigError(f"device {name!r} is not allowed; choose auto, cpu or cuda.")
    return torch.device(name)


def set_threads(threads: int | None) -> None:
    """Cap torch's intra-op threads; ``None`` keeps torch's default (all cores).

    With several threads on cores other processes keep busy, torch's OpenMP threads spin while
    they wait for each other (measured here: 6k-90k instead of 310k rows/s), so that case is
    logged with the fix.
    """
    if threads is not None:
        torch.set_num_threads(threads)
        return
    count, busy = torch.get_num_threads(), _busy_cores()
    if count > 1 and busy >= 1:
        log.warning(
            "the load average shows about %d core(s) of %d busy with other work; torch on %d threads can run many "
            "times slower than on 1 while other processes compete: pass --threads 1 (or threads=1)",
            busy,
            os.cpu_count() or 1,
            count,
        )


def _busy_cores() -> int:
    """Cores other processes keep busy: the 1-minute load average less this process's own share."""
    try:
        return max(0, round(os.getloadavg()[0] - 1.0))
    except (OSError, AttributeError):
        return 0


@functools.cache
def warn_if_scores_depend_on_the_batch() -> None:
    """Warn once when CPU matrix products depend on where a row sits in memory.

    aefeatures sets ``MKL_CBWR=AUTO`` on import; when torch ran a product before that, MKL keeps
    its default mode and scores may differ in the last bits between batchings.
    """
    x = torch.sin(torch.arange(64 * 18, dtype=torch.float32)).reshape(64, 18)  # (64, 18)
    w = torch.cos(torch.arange(3 * 18, dtype=torch.float32)).reshape(3, 18)  # (3, 18)
    shifted = torch.nn.functional.linear(torch.roll(x, 1, 0), w)  # the same rows one place down
    if not torch.equal(torch.nn.functional.linear(x, w)[:-1], shifted[1:]):
        log.warning(
            "CPU matrix products here depend on memory alignment, so a row's scores may differ in the "
            "last bits with the rows scored beside it: import aefeatures before torch computes "
            "anything, or set MKL_CBWR=AUTO in the environment"
        )


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one intra-op thread inside the block; restore the thread count after.

    A network call's values then do not depend on the thread count (scoring workers, sampling).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)

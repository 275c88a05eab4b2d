"""Choosing the torch device and thread count."""

from __future__ import annotations

import logging
import os

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

"""Choosing the torch device and thread count."""

from __future__ import annotations

import torch

from aefeatures.errors import ConfigError


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
    """Cap torch's intra-op threads; ``None`` keeps torch's default (all cores)."""
    if threads is not None:
        torch.set_num_threads(threads)

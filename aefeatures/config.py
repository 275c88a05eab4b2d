"""Frozen configuration of a fit, checked in one place and round-tripped through JSON.

Configuration never imports torch: a model is rebuilt from ``aefeatures.json`` alone.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from aefeatures.errors import ConfigError
from aefeatures.nn.kinds.registry import KINDS, entry

NOISES = ("gaussian", "masking", "swap")
DEVICES = ("auto", "cpu", "cuda")
DEFAULT_KIND = "denoising"
# Small batches converge in fewer seconds despite fewer rows/s: on benchmarks/training.py batch 256
# with learning rate 4e-3 reaches PyOD's error 1.9x sooner than batch 1024 with 2e-3.
MAX_DEFAULT_BATCH = 256


@dataclass(frozen=True)
class FitConfig:
    """Everything that decides what ``fit`` learns.

    ``None`` for ``latent_dim``, ``hidden`` and ``batch_size`` means "derive from the data";
    :func:`resolve_sizes` fills them in before training and the resolved values are stored.
    """

    kind: str = DEFAULT_KIND
    latent_dim: int | None = None
    hidden: tuple[int, ...] | None = None
    input_clip: float | None = 3.0
    trim: float = 0.35  # share of each numeric column's worst cells in a batch left out of the gradient
    epochs: int = 60
    batch_size: int | None = None
    learning_rate: float = 4e-3
    weight_decay: float = 0.0
    validation_fraction: float = 0.1
    patience: int = 12
    max_seconds: float | None = None
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    contamination: float = 0.01
    max_levels: int = 64
    min_level_count: int = 5
    columns: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    prefix: str = "ae_"
    # Regularisers of the autoencoder family; each is used only by its kind.
    l1_weight: float = 1e-3
    l1_hidden: bool = False  # sparse-l1: also penalise the encoder's hidden activations
    sparsity_target: float = 0.05
    sparsity_weight: float = 0.1
    noise: str = "swap"
    noise_level: float = 0.3
    contractive_weight: float = 1e-3
    beta: float = 1.0
    kl_warmup_epochs: int = 10

    def validate(self) -> FitConfig:
        """Raise :class:`ConfigError` for the first parameter outside its allowed values."""
        for name, allowed in _CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(
                    f"{name}={value!r} is not allowed; choose one of {', '.join(allowed)}.",
                    hint=_cli_hint(name, "one of the listed values"),
                )
        for name, (low, high) in _RANGES.items():
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(
                    f"{name}={value!r} must be a finite number.", hint=f"pass a number from {low} to {high}"
                )
            if not low <= value <= high:
                raise ConfigError(
                    f"{name}={value!r} is out of range; allowed: {low} to {high}.",
                    hint=_cli_hint(name, f"a value from {low} to {high}"),
                )
        if self.hidden is not None and any(width < 1 for width in self.hidden):
            raise ConfigError(
                f"hidden={list(self.hidden)} must contain positive layer widths.", hint="e.g. --hidden 64,32"
            )
        if not self.prefix or not self.prefix.replace("_", "").isalnum():
            raise ConfigError(
                f"prefix={self.prefix!r} must be letters, digits and underscores, e.g. 'ae_'.",
                hint="pass --prefix with letters, digits and underscores only",
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (tuples become lists)."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FitConfig:
        """Rebuild from :meth:`to_dict` output; unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown configuration keys: {', '.join(unknown)}.")
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)


def _cli_hint(name: str, allowed: str) -> str:
    return f"give {name} {allowed} (command line: --{name.replace('_', '-')} where it is an option, else --set {name}=VALUE)"


_CHOICES: dict[str, tuple[str, ...]] = {"kind": KINDS, "noise": NOISES, "device": DEVICES}
_RANGES: dict[str, tuple[float, float]] = {
    "latent_dim": (1, 4096),
    "epochs": (1, 100_000),
    "batch_size": (1, 1_000_000),
    "learning_rate": (1e-7, 10.0),
    "weight_decay": (0.0, 1.0),
    "validation_fraction": (0.0, 0.5),
    "patience": (1, 100_000),
    "max_seconds": (0.0, 1e9),
    "seed": (0, 2**63 - 1),
    "threads": (1, 1024),
    "contamination": (0.0, 0.5),
    "max_levels": (2, 100_000),
    "min_level_count": (1, 1_000_000_000),
    "l1_weight": (0.0, 1e3),
    "sparsity_target": (1e-4, 0.9999),
    "sparsity_weight": (0.0, 1e3),
    "noise_level": (0.0, 1.0),
    "contractive_weight": (0.0, 1e3),
    "input_clip": (0.1, 1e6),
    "trim": (0.0, 0.5),
    "beta": (0.0, 1e3),
    "kl_warmup_epochs": (0, 100_000),
}


@dataclass(frozen=True)
class NetConfig:
    """Shape of the network: what :mod:`aefeatures.nn.network` needs to build it."""

    kind: str
    n_inputs: int
    latent_dim: int
    hidden: tuple[int, ...] = field(default_factory=tuple)
    input_clip: float | None = None  # the network sees inputs clipped to +/- this; the loss does not

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {**dataclasses.asdict(self), "hidden": list(self.hidden)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetConfig:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            kind=str(data["kind"]),
            n_inputs=int(data["n_inputs"]),
            latent_dim=int(data["latent_dim"]),
            hidden=tuple(int(width) for width in data["hidden"]),
            input_clip=None if data.get("input_clip") is None else float(data["input_clip"]),
        )


def resolve_sizes(config: FitConfig, n_inputs: int, n_columns: int) -> NetConfig:
    """Derive bottleneck and hidden widths from the data's width unless given.

    The bottleneck is about a third of the source columns (2 to 32): small enough that the
    network cannot copy its input, large enough to keep the main structure. One hidden layer
    per side, half the input width rounded up to a power of two (8 to 256, at least twice the
    bottleneck), so capacity grows with the data. Chosen on ``benchmarks/anomaly.py``: a
    second hidden layer learnt to reconstruct the outliers too and lowered the ROC-AUC of
    ``ae_error``.

    The network sees its scaled inputs clipped to +/- ``input_clip`` (3 robust units) while
    the loss compares with the unclipped values: an extreme value cannot be copied through
    the bottleneck, so it stays visible in ``ae_error`` (+3.6 mean ROC-AUC on the benchmark).
    A kind's registry line (:mod:`aefeatures.nn.kinds.registry`) can opt out of the hidden
    layer (``undercomplete``, ``pca``) and of the clipping (``pca``).
    """
    line = entry(config.kind)
    latent = config.latent_dim or int(min(32, max(2, math.ceil(n_columns / 3))))
    if config.hidden is not None:
        hidden = config.hidden
    elif not line.hidden:
        hidden = ()
    else:
        width = int(min(512, max(16, 2 ** math.ceil(math.log2(max(n_inputs, 2))))))
        hidden = (max(latent * 2, width // 2),)
    clip = config.input_clip if line.input_clip else None
    return NetConfig(kind=config.kind, n_inputs=n_inputs, latent_dim=latent, hidden=hidden, input_clip=clip)


def resolve_batch_size(config: FitConfig, n_rows: int) -> int:
    """Batch size: given, or grown with the data so small tables get enough steps per epoch."""
    if config.batch_size is not None:
        return int(min(config.batch_size, max(n_rows, 1)))
    return int(min(max(n_rows // 64, 64), MAX_DEFAULT_BATCH, max(n_rows, 1)))

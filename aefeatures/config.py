"""Frozen configuration of a fit, checked in one place and round-tripped through JSON.

Configuration never imports torch: a model is rebuilt from ``aefeatures.json`` alone.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aefeatures.errors import ConfigError
from aefeatures.goals import DEFAULT_GOAL, GOALS
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

    goal: str = DEFAULT_GOAL  # recorded: the goal whose settings (GOALS) the others started from
    kind: str = DEFAULT_KIND
    latent_dim: int | None = None
    hidden: tuple[int, ...] | None = None
    input_clip: float | None = 3.0
    trim: float = 0.35  # share of each numeric column's worst cells in a batch left out of the gradient
    epochs: int | None = None  # at most this many epochs; None: as many as `steps` needs
    steps: int = 4_000  # optimiser steps to budget for when `epochs` is None
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
    clean_weight: float = 1.0  # denoising: loss weight of the columns the noise left untouched
    contractive_weight: float = 1e-3
    beta: float = 1.0
    kl_warmup_epochs: int = 10

    def validate(self) -> FitConfig:
        """The checked configuration: raise :class:`ConfigError` for the first bad parameter.

        Every field is checked against its annotation first, one rule for the API, the CLI's
        ``--set`` and a manifest: an ``int`` field takes a whole number, never a bool or ``2.5``;
        a ``float`` field a real number; a ``str`` field text; a ``tuple[...]`` field a list,
        tuple or other iterable, never a string (``columns="income"`` is not six columns). Then
        the allowed values and ranges, and the size of the network. Returns the configuration
        with values normalised: lists become tuples (a set sorted), numpy scalars Python numbers,
        ints floats where the field is a float.
        """
        config = dataclasses.replace(
            self, **{f.name: _typed(f.name, getattr(self, f.name), hint) for f, hint in _field_types()}
        )
        for name, allowed in _CHOICES.items():
            value = getattr(config, name)
            if value not in allowed:
                raise ConfigError(
                    f"{name}={value!r} is not allowed; choose one of {', '.join(allowed)}.",
                    hint=_cli_hint(name, "one of the listed values"),
                )
        for name, (low, high) in _RANGES.items():
            value = getattr(config, name)
            if value is None:
                continue
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(
                    f"{name}={value!r} must be a finite number.",
                    hint=_cli_hint(name, f"a number from {low} to {high}"),
                )
            if not low <= value <= high:
                raise ConfigError(
                    f"{name}={value!r} is out of range; allowed: {low} to {high}.",
                    hint=_cli_hint(name, f"a value from {low} to {high}"),
                )
        if config.columns == ():
            raise ConfigError(
                "columns=() names no column; None (the default) means every usable column.",
                hint="pass the feature columns, e.g. columns=['income', 'age'] (--columns income,age), or leave it out",
            )
        if config.hidden is not None:
            check_hidden(config.hidden)
            check_network_size(1, config.hidden, config.latent_dim or 1)
        if not config.prefix or not config.prefix.replace("_", "").isalnum():
            raise ConfigError(
                f"prefix={config.prefix!r} must be letters, digits and underscores, e.g. 'ae_'.",
                hint="pass --prefix with letters, digits and underscores only",
            )
        return config

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


# --- the checks of validate(), written once -------------------------------------------------------

MAX_LAYER_WIDTH = 65_536  # a 65k-wide layer is already 4 billion weights when two of them meet
MAX_HIDDEN_LAYERS = 32
MAX_PARAMETERS = 200_000_000  # 0.8 GB of float32 weights, ~3 GB with Adam's moments and gradients
_KINDS_OF_VALUE: dict[type, tuple[str, str]] = {  # what a field of this type needs: (one, several)
    int: ("a whole number", "whole numbers"),
    float: ("a number", "numbers"),
    str: ("a string", "strings"),
    bool: ("true or false", "booleans"),
}
_FALLBACK_EXAMPLES: dict[type, object] = {int: 2, float: 0.5, str: "text", bool: True}


@functools.cache
def _field_types() -> tuple[tuple[dataclasses.Field[Any], Any], ...]:
    """Each field of :class:`FitConfig` with its resolved annotation (checked to be supported)."""
    hints = typing.get_type_hints(FitConfig)
    fields = tuple((f, hints[f.name]) for f in dataclasses.fields(FitConfig))
    for _, hint in fields:
        _plain(hint)  # raises TypeError for an annotation the checks below do not understand (a bug)
    return fields


def _plain(hint: Any) -> tuple[Any, bool]:
    """``(type, optional)`` of an annotation: ``int | None`` -> ``(int, True)``."""
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            raise TypeError(f"unsupported FitConfig annotation {hint!r}: one type or that type | None")
        return _plain(rest[0])[0], True
    if typing.get_origin(hint) is tuple:
        if len(args) != 2 or args[1] is not Ellipsis or args[0] not in _KINDS_OF_VALUE:
            raise TypeError(f"unsupported FitConfig annotation {hint!r}: use tuple[T, ...]")
        return hint, False
    if hint not in _KINDS_OF_VALUE:
        raise TypeError(f"unsupported FitConfig annotation {hint!r}")
    return hint, False


def _typed(name: str, value: Any, hint: Any) -> Any:
    """``value`` checked against the field's annotation and normalised; :class:`ConfigError` if not."""
    kind, optional = _plain(hint)
    if value is None:
        if optional:
            return None
        raise _type_error(name, value, kind)
    if typing.get_origin(kind) is tuple:
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
            raise _type_error(name, value, kind)  # a string is one name, not a list of letters
        item = typing.get_args(kind)[0]
        items = tuple(_scalar(name, v, item, index=i) for i, v in enumerate(value))
        return tuple(sorted(items)) if isinstance(value, (set, frozenset)) else items  # a set has no order
    return _scalar(name, value, kind)


def _scalar(name: str, value: Any, kind: type, *, index: int | None = None) -> Any:
    if kind is bool:
        if _is_bool(value):
            return bool(value)
    elif kind is int:
        if isinstance(value, numbers.Integral) and not _is_bool(value):
            return int(value)
    elif kind is float:
        if isinstance(value, numbers.Real) and not _is_bool(value):
            return float(value)
    elif isinstance(value, str):
        return value
    raise _type_error(name, value, kind, index=index)


def _type_error(name: str, value: Any, kind: Any, *, index: int | None = None) -> ConfigError:
    """``epochs=2.5 is a float; epochs takes a whole number, e.g. epochs=60.`` and how to give one."""
    field_type, _ = _plain(_field_types_by_name()[name])
    default: Any = next(f.default for f in dataclasses.fields(FitConfig) if f.name == name)
    if typing.get_origin(field_type) is tuple:
        item = typing.get_args(field_type)[0]
        needed = f"a list of {_KINDS_OF_VALUE[item][1]}"
        example: Any = (
            list(default) if default not in (None, ()) else (["x", "y"] if item is str else [64, 32])
        )
    else:
        needed = _KINDS_OF_VALUE[field_type][0]
        example = default if default not in (None, dataclasses.MISSING) else _FALLBACK_EXAMPLES[field_type]
    if value is None:
        what = f"{name}=None is not allowed; {name} takes {needed}"
    elif index is not None:
        what = f"{name}[{index}]={value!r} is {_a(value)}; each item of {name} must be {_KINDS_OF_VALUE[kind][0]}"
    else:
        what = f"{name}={value!r} is {_a(value)}; {name} takes {needed}"
    return ConfigError(
        f"{what}, e.g. {name}={example!r}.", hint=_cli_hint(name, f"{needed}, e.g. {example!r}")
    )


def _field_types_by_name() -> dict[str, Any]:
    return {f.name: hint for f, hint in _field_types()}


def _is_bool(value: object) -> bool:
    """A Python or numpy bool (numpy is not imported for this: ``import aefeatures`` stays light)."""
    return isinstance(value, bool) or (
        type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_")
    )


def _a(value: object) -> str:
    """What ``value`` is, for a message: 'a string', 'a float', 'a list'."""
    if _is_bool(value):
        return "a boolean"
    if isinstance(value, float) and value.is_integer():
        return "a float (write it without the decimal point)"
    names = {
        str: "a string",
        float: "a float",
        int: "an integer",
        list: "a list",
        tuple: "a tuple",
        dict: "a mapping",
    }
    return next(
        (text for cls, text in names.items() if isinstance(value, cls)), f"of type {type(value).__name__}"
    )


def check_hidden(hidden: tuple[int, ...]) -> None:
    """Hidden layer widths: positive, at most :data:`MAX_LAYER_WIDTH`, at most :data:`MAX_HIDDEN_LAYERS` layers."""
    if any(width < 1 for width in hidden):
        raise ConfigError(
            f"hidden={list(hidden)} must contain positive layer widths.",
            hint="e.g. --hidden 64,32; --hidden none for no hidden layer",
        )
    if len(hidden) > MAX_HIDDEN_LAYERS:
        raise ConfigError(
            f"hidden has {len(hidden)} layers; at most {MAX_HIDDEN_LAYERS} are allowed.",
            hint="one or two hidden layers are usually best, e.g. --hidden 64,32",
        )
    if max(hidden, default=0) > MAX_LAYER_WIDTH:
        raise ConfigError(
            f"hidden={list(hidden)}: a layer of {max(hidden):,} units is wider than the {MAX_LAYER_WIDTH:,} allowed.",
            hint="use layers about as wide as the encoded inputs, e.g. --hidden 256,64 (default: from the data's width)",
        )


def parameter_count(n_inputs: int, hidden: tuple[int, ...], latent_dim: int) -> int:
    """Weights and biases of the network ``n_inputs -> hidden -> latent -> reversed hidden -> n_inputs``
    (the code layer counted twice, as a variational kind has it)."""
    forward = [n_inputs, *hidden, latent_dim]
    back = [latent_dim, *reversed(hidden), n_inputs]
    layers = sum((a + 1) * b for a, b in zip(forward[:-1], forward[1:], strict=True))
    layers += sum((a + 1) * b for a, b in zip(back[:-1], back[1:], strict=True))
    return layers + (forward[-2] + 1) * latent_dim


def check_network_size(n_inputs: int, hidden: tuple[int, ...], latent_dim: int) -> None:
    """Refuse a network of more than :data:`MAX_PARAMETERS` parameters before anything is allocated."""
    count = parameter_count(n_inputs, hidden, latent_dim)
    if count > MAX_PARAMETERS:
        raise ConfigError(
            f"the network {n_inputs} -> {','.join(map(str, hidden)) or '(no hidden layer)'} -> {latent_dim} would have "
            f"{count:,} parameters (about {count * 16 / 2**30:,.1f} GiB to train); at most {MAX_PARAMETERS:,} are allowed.",
            hint="use narrower hidden layers (--hidden 256,64) or a smaller --latent-dim; "
            "the defaults are sized from the data's width",
        )


MAX_THREADS = 1024  # torch threads; the command line's --threads has the same bound
_CHOICES: dict[str, tuple[str, ...]] = {
    "goal": tuple(GOALS),
    "kind": KINDS,
    "noise": NOISES,
    "device": DEVICES,
}
_RANGES: dict[str, tuple[float, float]] = {
    "latent_dim": (1, 4096),
    "epochs": (1, 100_000),
    "steps": (1, 100_000_000),
    "batch_size": (1, 1_000_000),
    "learning_rate": (1e-7, 10.0),
    "weight_decay": (0.0, 1.0),
    "validation_fraction": (0.0, 0.5),
    "patience": (1, 100_000),
    "max_seconds": (0.0, 1e9),
    "seed": (0, 2**63 - 1),
    "threads": (1, MAX_THREADS),
    "contamination": (0.0, 0.5),
    "max_levels": (2, 100_000),
    "min_level_count": (1, 1_000_000_000),
    "l1_weight": (0.0, 1e3),
    "sparsity_target": (1e-4, 0.9999),
    "sparsity_weight": (0.0, 1e3),
    "noise_level": (0.0, 1.0),
    "clean_weight": (0.0, 1.0),
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
    check_network_size(n_inputs, hidden, latent)  # before torch allocates it
    return NetConfig(kind=config.kind, n_inputs=n_inputs, latent_dim=latent, hidden=hidden, input_clip=clip)


def resolve_batch_size(config: FitConfig, n_rows: int) -> int:
    """Batch size: given, or grown with the data so small tables get enough steps per epoch."""
    if config.batch_size is not None:
        return int(min(config.batch_size, max(n_rows, 1)))
    return int(min(max(n_rows // 64, 64), MAX_DEFAULT_BATCH, max(n_rows, 1)))

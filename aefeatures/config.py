"""Frozen configuration of a fit, checked in one place and round-tripped through JSON.

:class:`FitConfig`'s fields are the declared settings (:mod:`aefeatures.settings`). Configuration
never imports torch: a model is rebuilt from ``aefeatures.json`` alone.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from aefeatures.errors import ConfigError
from aefeatures.settings import SETTINGS, uses
from aefeatures.settings.kinds import KINDS as KINDS  # config.KINDS: the kinds a FitConfig takes
from aefeatures.settings.kinds import entry

# Small batches converge in fewer seconds despite fewer rows/s: on benchmarks/training.py batch 256
# with learning rate 4e-3 reaches PyOD's error 1.9x sooner than batch 1024 with 2e-3.
MAX_DEFAULT_BATCH = 256
# Settings added after models were saved without them: the value those models were trained with.
SAVED_BEFORE: dict[str, Any] = {
    "epoch_cap": 2_000,
    "pca_start": False,
    "gaussian_start": False,
    "gaussian_components": 1,
}
_T = TypeVar("_T")

if TYPE_CHECKING:

    class _Declared(type):
        """What type checkers see of the class: a setting's default is ``FitConfig.<name>``."""

        def __getattr__(cls, name: str) -> Any: ...

else:
    _Declared = type


def _declared_fields(cls: type[_T]) -> type[_T]:
    """``cls`` as a frozen dataclass with one field per declared setting, in declaration order."""
    cls.__annotations__ = {setting.name: setting.type for setting in SETTINGS}
    for setting in SETTINGS:
        setattr(cls, setting.name, setting.default)  # every default is immutable: None, a number, text, ()
    return dataclass(frozen=True)(cls)


@_declared_fields
class FitConfig(metaclass=_Declared):
    """Everything that decides what ``fit`` learns: one field per declared setting.

    The fields and their defaults are the declarations of :mod:`aefeatures.settings` (the shared
    sections, then each kind's own settings), so ``FitConfig(kind="deep", l1_weight=0.1)``,
    ``config.l1_weight`` and :func:`dataclasses.replace` work as on any frozen dataclass. ``None``
    for ``latent_dim``, ``hidden`` and ``batch_size`` means "derive from the data";
    :func:`resolve_sizes` fills them in before training and the resolved values are stored.

    Examples
    --------
    >>> config = FitConfig(kind="sparse-l1", l1_weight=0.1).validate()
    >>> config.kind, config.l1_weight, config.steps
    ('sparse-l1', 0.1, 4000)
    >>> FitConfig.from_dict(config.to_dict()) == config
    True
    """

    if TYPE_CHECKING:  # the fields are added from the declarations when the class is built
        __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

        def __init__(self, **settings: Any) -> None: ...
        def __getattr__(self, name: str) -> Any: ...

    def validate(self) -> FitConfig:
        """The checked configuration: raise :class:`ConfigError` for the first bad parameter.

        Every value is checked against its setting's type first (:meth:`Setting.typed
        <aefeatures.settings.declare.Setting.typed>`), one rule for the API, the CLI's ``--set``
        and a manifest; then the allowed values and ranges, and the size of the network.
        Returns the configuration with values normalised: lists become tuples (a set sorted),
        numpy scalars Python numbers, ints floats where the setting is a float.
        """
        config = dataclasses.replace(self, **{s.name: s.typed(getattr(self, s.name)) for s in SETTINGS})
        for setting in SETTINGS:
            setting.check_choice(getattr(config, setting.name))
        for setting in SETTINGS:
            setting.check_range(getattr(config, setting.name))
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

    def applied(self) -> FitConfig:
        """The configuration with every setting its kind does not use back at its default.

        What a fit records: a setting that had no effect (``trim`` for ``pca``, ``noise`` for
        ``deep``) is not stored as if it had (see :func:`aefeatures.settings.uses`).

        Examples
        --------
        >>> FitConfig(kind="pca", trim=0.1, latent_dim=2).applied() == FitConfig(kind="pca", latent_dim=2)
        True
        """
        if self.kind not in KINDS:  # validate() says what is wrong with it
            return self
        used = uses(self.kind, dataclasses.asdict(self))
        return dataclasses.replace(self, **{s.name: s.default for s in SETTINGS if s.name not in used})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary of the settings the kind uses (tuples become lists).

        Examples
        --------
        >>> "noise" in FitConfig(kind="deep").to_dict(), "noise" in FitConfig(kind="denoising").to_dict()
        (False, True)
        """
        values = dataclasses.asdict(self)
        used = uses(self.kind, values) if self.kind in KINDS else set(values)
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(self).items()
            if key in used
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FitConfig:
        """Rebuild from :meth:`to_dict` output; unknown keys are an error.

        A setting the output predates takes the value the model was trained with
        (:data:`SAVED_BEFORE`); one the kind does not use, as older manifests recorded, is read and
        set back to its default (:meth:`applied`).
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown configuration keys: {', '.join(unknown)}.")
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**{**SAVED_BEFORE, **values}).applied()


# --- the checks of the network's size, written once -----------------------------------------------

MAX_LAYER_WIDTH = 65_536  # a 65k-wide layer is already 4 billion weights when two of them meet
MAX_HIDDEN_LAYERS = 32
MAX_PARAMETERS = 200_000_000  # 0.8 GB of float32 weights, ~3 GB with Adam's moments and gradients


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


@dataclass(frozen=True)
class NetConfig:
    """Shape of the network: what :mod:`aefeatures.nn.network` needs to build it."""

    kind: str
    n_inputs: int
    latent_dim: int
    hidden: tuple[int, ...] = field(default_factory=tuple)
    input_clip: float | None = None  # the network sees inputs clipped to +/- this; the loss does not
    linear_path: bool = False  # a linear encoder and decoder beside the network, started at PCA
    gaussian_inputs: int = 0  # value inputs whose holes start at a Gaussian's conditional mean; 0: none

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
            linear_path=bool(data.get("linear_path", False)),
            gaussian_inputs=int(data.get("gaussian_inputs", 0)),
        )


def resolve_sizes(config: FitConfig, n_inputs: int, n_columns: int, n_values: int = 0) -> NetConfig:
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
    A kind's registry line (:mod:`aefeatures.settings.kinds`) can opt out of the hidden
    layer (``undercomplete``, ``pca``) and of the clipping (``pca``). ``pca_start`` adds the
    linear path to the kinds whose line takes one (not ``pca`` or ``variational``);
    ``gaussian_start`` a Gaussian over the ``n_values`` value inputs (the inputs but the
    missingness indicators) to the kinds that train.
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
    linear = config.pca_start and line.does("linear_path")
    return NetConfig(
        kind=config.kind,
        n_inputs=n_inputs,
        latent_dim=latent,
        hidden=hidden,
        input_clip=clip,
        linear_path=linear,
        gaussian_inputs=n_values if config.applied().gaussian_start else 0,
    )


def resolve_batch_size(config: FitConfig, n_rows: int) -> int:
    """Batch size: given, or grown with the data so small tables get enough steps per epoch."""
    if config.batch_size is not None:
        return int(min(config.batch_size, max(n_rows, 1)))
    return int(min(max(n_rows // 64, 64), MAX_DEFAULT_BATCH, max(n_rows, 1)))

"""What a fit setting declares (:class:`Setting`), and the checks of a value against it.

One rule for the API, the CLI's ``--set`` and a manifest: an ``int`` setting takes a whole
number, never a bool or ``2.5``; a ``float`` setting a real number; a ``str`` setting text; a
``tuple[...]`` setting a list, tuple or other iterable, never a string. Then its allowed values
or its range. Imports only :mod:`aefeatures.errors`: no torch, no numpy.
"""

from __future__ import annotations

import math
import numbers
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aefeatures.errors import ConfigError

_KINDS_OF_VALUE: dict[type, tuple[str, str]] = {  # what a setting of this type needs: (one, several)
    int: ("a whole number", "whole numbers"),
    float: ("a number", "numbers"),
    str: ("a string", "strings"),
    bool: ("true or false", "booleans"),
}
_FALLBACK_EXAMPLES: dict[type, object] = {int: 2, float: 0.5, str: "text", bool: True}
# What a setting can need of a kind, and what a kind without it is: training by gradient descent
# (a closed-form kind has no loss to trim, no epochs, no optimiser) and clipping its inputs.
NEEDS: dict[str, str] = {
    "training": "is solved in closed form, not trained",
    "input_clip": "does not clip the encoder's inputs",
    "linear_path": "takes no linear path started at PCA (pca is one; a variational code is a distribution)",
}


@dataclass(frozen=True)
class Setting:
    """One fit setting: name, type, default, allowed values or range, and a one-line help.

    ``type`` is ``int``, ``float``, ``str`` or ``bool``, or ``tuple[T, ...]`` of one of them,
    each optionally ``| None``. ``none_means`` says what a ``None`` value stands for (``"from
    the data's width"``), for help texts. ``needs`` names what a kind must do for the setting
    to have any effect (one of :data:`NEEDS`: ``"training"``, ``"input_clip"``, ``"linear_path"``); ``None``: every
    kind uses it. ``only_when`` names other settings and the values under which this one has an
    effect at all (``clean_weight`` only weighs columns that ``swap`` or ``masking`` noise picks).

    Examples
    --------
    >>> epochs = Setting("epochs", int | None, None, "Maximum epochs", range=(1, 100_000))
    >>> epochs.typed(7), epochs.typed(None)
    (7, None)
    >>> try:
    ...     epochs.check_range(0)
    ... except ConfigError as exc:
    ...     print(exc.args[0])
    epochs=0 is out of range; allowed: 1 to 100000.
    """

    name: str
    type: Any
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    range: tuple[float, float] | None = None
    none_means: str | None = None
    needs: str | None = None
    only_when: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    option: bool = False  # `aefeatures fit` has its own --name option for it (else: --set name=VALUE)

    def __post_init__(self) -> None:
        _plain(self.type)  # a TypeError at import for a type the checks do not understand (a bug)
        if self.needs is not None and self.needs not in NEEDS:
            raise TypeError(f"setting {self.name!r} needs {self.needs!r}; known: {', '.join(NEEDS)}")

    def typed(self, value: Any) -> Any:
        """``value`` checked against the type and normalised: lists become tuples (a set sorted),
        numpy scalars Python numbers, ints floats where the type is a float."""
        kind, optional = _plain(self.type)
        if value is None:
            if optional:
                return None
            raise self._type_error(value, kind)
        if typing.get_origin(kind) is tuple:
            if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
                raise self._type_error(value, kind)  # a string is one name, not a list of letters
            item = typing.get_args(kind)[0]
            items = tuple(self._scalar(v, item, index=i) for i, v in enumerate(value))
            return (
                tuple(sorted(items)) if isinstance(value, (set, frozenset)) else items
            )  # a set has no order
        return self._scalar(value, kind)

    def check_choice(self, value: Any) -> None:
        """Raise :class:`ConfigError` unless ``value`` is one of :attr:`choices` (if any)."""
        if self.choices is not None and value not in self.choices:
            raise ConfigError(
                f"{self.name}={value!r} is not allowed; choose one of {', '.join(self.choices)}.",
                hint=self.hint("one of the listed values"),
            )

    def check_range(self, value: Any) -> None:
        """Raise :class:`ConfigError` unless ``value`` is ``None`` or finite and within :attr:`range`."""
        if self.range is None or value is None:
            return
        low, high = self.range
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(
                f"{self.name}={value!r} must be a finite number.",
                hint=self.hint(f"a number from {low} to {high}"),
            )
        if not low <= value <= high:
            raise ConfigError(
                f"{self.name}={value!r} is out of range; allowed: {low} to {high}.",
                hint=self.hint(f"a value from {low} to {high}"),
            )

    def hint(self, allowed: str) -> str:
        """How to give the setting ``allowed``, in Python and on the command line."""
        return f"give {self.name} {allowed} (command line: {self.command_line()})"

    def command_line(self) -> str:
        """How ``aefeatures fit`` gives the setting: ``--latent-dim`` or ``--set trim=VALUE``."""
        return f"--{self.name.replace('_', '-')}" if self.option else f"--set {self.name}=VALUE"

    def _scalar(self, value: Any, kind: type, *, index: int | None = None) -> Any:
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
        raise self._type_error(value, kind, index=index)

    def _type_error(self, value: Any, kind: Any, *, index: int | None = None) -> ConfigError:
        """``epochs=2.5 is a float; epochs takes a whole number, e.g. epochs=60.`` and how to give one."""
        name, default = self.name, self.default
        setting_type, _ = _plain(self.type)
        if typing.get_origin(setting_type) is tuple:
            item = typing.get_args(setting_type)[0]
            needed = f"a list of {_KINDS_OF_VALUE[item][1]}"
            example: Any = (
                list(default) if default not in (None, ()) else (["x", "y"] if item is str else [64, 32])
            )
        else:
            needed = _KINDS_OF_VALUE[setting_type][0]
            example = default if default is not None else _FALLBACK_EXAMPLES[setting_type]
        if value is None:
            what = f"{name}=None is not allowed; {name} takes {needed}"
        elif index is not None:
            what = f"{name}[{index}]={value!r} is {_a(value)}; each item of {name} must be {_KINDS_OF_VALUE[kind][0]}"
        else:
            what = f"{name}={value!r} is {_a(value)}; {name} takes {needed}"
        return ConfigError(f"{what}, e.g. {name}={example!r}.", hint=self.hint(f"{needed}, e.g. {example!r}"))


def _plain(hint: Any) -> tuple[Any, bool]:
    """``(type, optional)`` of a setting's type: ``int | None`` -> ``(int, True)``."""
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            raise TypeError(f"unsupported setting type {hint!r}: one type or that type | None")
        return _plain(rest[0])[0], True
    if typing.get_origin(hint) is tuple:
        if len(args) != 2 or args[1] is not Ellipsis or args[0] not in _KINDS_OF_VALUE:
            raise TypeError(f"unsupported setting type {hint!r}: use tuple[T, ...]")
        return hint, False
    if hint not in _KINDS_OF_VALUE:
        raise TypeError(f"unsupported setting type {hint!r}")
    return hint, False


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

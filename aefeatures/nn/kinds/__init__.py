"""Kinds of autoencoder: each is one module declaring how it differs from plain reconstruction.

Importing this package does not load torch: the names, summaries, sizing facts and each kind's
settings come from the torch-free registry :mod:`aefeatures.settings.kinds` (which configuration
reads too), and :func:`get` imports a kind's module on first use. Adding a kind means writing
``aefeatures/nn/kinds/<module>.py`` with a :class:`~aefeatures.nn.kinds.base.Kind` named ``KIND``
and adding its line, with its settings, to the registry.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from aefeatures.settings.kinds import KINDS, NEURAL_KINDS, SUMMARIES, Entry, entry

if TYPE_CHECKING:
    from aefeatures.nn.kinds.base import Kind


def get(name: str) -> Kind:
    """The :class:`~aefeatures.nn.kinds.base.Kind` registered as ``name`` (imports torch).

    Raises
    ------
    ConfigError
        ``name`` is not a registered kind; the message lists the allowed ones.

    Examples
    --------
    >>> from aefeatures.nn import kinds
    >>> kinds.get("variational").penalty_name
    'kl'
    >>> kinds.get("pca").solve is not None
    True
    """
    kind: Kind = importlib.import_module(f"{__name__}.{entry(name).module}").KIND
    return kind


__all__ = ["KINDS", "NEURAL_KINDS", "SUMMARIES", "Entry", "entry", "get"]

"""Kinds of autoencoder: each is one module declaring how it differs from plain reconstruction.

Importing this package does not load torch: the names, summaries and sizing facts come from
:mod:`aefeatures.nn.kinds.registry`, and :func:`get` imports a kind's module on first use.
Adding a kind means writing ``aefeatures/nn/kinds/<module>.py`` with a
:class:`~aefeatures.nn.kinds.base.Kind` named ``KIND`` and adding its line to the registry.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from aefeatures.nn.kinds.registry import KINDS, NEURAL_KINDS, SUMMARIES, Entry, entry

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

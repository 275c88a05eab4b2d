"""Column types: each is one module declaring what fit learns about a column of that type.

A type is a frozen :class:`~aefeatures.features.types.base.ColumnSpec` subclass: its fields are
what it learns (JSON round-tripped), its methods which dtypes it takes, how a value becomes
network inputs and loss terms and back (``decode``), its drift statistics and MLflow type.
Adding a type means writing ``aefeatures/features/types/<name>.py`` and adding its line to
:data:`~aefeatures.features.types.registry.TYPES`.
"""

from __future__ import annotations

from aefeatures.features.types.base import ColumnSpec, LearnOptions, LossKind, Term
from aefeatures.features.types.registry import TYPES, describe, get, spec_from_dict, type_of

__all__ = [
    "TYPES",
    "ColumnSpec",
    "LearnOptions",
    "LossKind",
    "Term",
    "describe",
    "get",
    "spec_from_dict",
    "type_of",
]

"""aefeatures: autoencoder features (embeddings and reconstruction errors) for tabular data.

The heavy parts (torch, pandera) load on first use of :func:`fit`, :func:`load` or
:class:`AutoencoderModel`, so the CLI answers ``--help`` and usage errors at once.

>>> import aefeatures as aef
>>> sorted(aef.KINDS)[:3]
['contractive', 'deep', 'denoising']
"""

from __future__ import annotations

import importlib
import os
import warnings
from typing import TYPE_CHECKING, Any

from aefeatures.config import FitConfig
from aefeatures.errors import (
    AEFeaturesError,
    ConfigError,
    DataError,
    DriftError,
    ModelFileError,
    NotFittedError,
    OutputExistsError,
    SchemaValidationError,
)
from aefeatures.settings.kinds import KINDS

if TYPE_CHECKING:
    from aefeatures.api import fit, load
    from aefeatures.model.fitted_model import AutoencoderModel

# MKL's conditional numerical reproducibility: without it a matrix product's row depends on where
# the row sits in memory, so a row scored in a batch would differ from the same row scored alone.
# It must be set before torch runs its first product; same speed on the shapes aefeatures uses.
os.environ.setdefault("MKL_CBWR", "AUTO")

# pandera imports pyspark.pandas when pyspark is installed, which warns about pandas 3 on every run.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

__version__ = "0.1.0"

_LAZY = {
    "fit": "aefeatures.api",
    "load": "aefeatures.api",
    "AutoencoderModel": "aefeatures.model.fitted_model",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'aefeatures' has no attribute {name!r}")


__all__ = [
    "KINDS",
    "AEFeaturesError",
    "AutoencoderModel",
    "ConfigError",
    "DataError",
    "DriftError",
    "FitConfig",
    "ModelFileError",
    "NotFittedError",
    "OutputExistsError",
    "SchemaValidationError",
    "fit",
    "load",
]

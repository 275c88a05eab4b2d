"""aefeatures: autoencoder features (embeddings and reconstruction errors) for tabular data.

>>> import aefeatures as aef
>>> sorted(aef.KINDS)[:3]
['contractive', 'deep', 'denoising']
"""

from aefeatures.api import fit, load
from aefeatures.config import KINDS, FitConfig
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
from aefeatures.model import AutoencoderModel

__version__ = "0.1.0"

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

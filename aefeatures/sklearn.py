"""``aefeatures.sklearn``, the documented path of :mod:`aefeatures.integrations.sklearn`."""

from aefeatures.integrations.sklearn import AutoencoderImputer, AutoencoderTransformer

__all__ = ["AutoencoderImputer", "AutoencoderTransformer"]

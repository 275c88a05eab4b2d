"""``aefeatures.sklearn``, the documented path of :mod:`aefeatures.integrations.sklearn`."""

from aefeatures.integrations.sklearn import AutoencoderTransformer

__all__ = ["AutoencoderTransformer"]
